// Package pgtest gives tests a fresh PostgreSQL store: a new schema in the database named
// by ROSTER_TEST_POSTGRES_URL, migrated, and dropped when the test ends. Without that
// variable the test is skipped with a notice; CI always sets it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// EnvVar names the database the tests may create schemas in.
const EnvVar = "ROSTER_TEST_POSTGRES_URL"

// URL returns a connection URL to a new, empty schema, dropped when tb ends.
func URL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		tb.Skipf("%s is not set: skipping the PostgreSQL run (CI sets it; see README.md)", EnvVar)
	}
	u, drop, err := NewSchema(base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return u
}

// NewSchema makes a schema in the database at base and returns a URL that uses it, and a
// function that drops it.
func NewSchema(base string) (string, func() error, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "roster_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() error {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// Open returns a migrated store on a new schema. The caller closes it (before the schema
// is dropped, since cleanups run last-in first-out).
func Open(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	s, err := postgres.Open(context.Background(), URL(tb), postgres.Options{MaxConns: 8}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
