package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) roster.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
