package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/accountfile"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
)

// BenchmarkImport imports accounts from CSV into an empty SQLite database, the path
// roster users import takes; ns/op is per import of ROSTER_BENCH_IMPORT_ROWS (20,000)
// accounts.
func BenchmarkImport(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("ROSTER_BENCH_IMPORT_ROWS")); err == nil && v > 0 {
		n = v
	}
	var sb strings.Builder
	sb.WriteString(CSVHeader)
	for i := 1; i <= n; i++ {
		sb.WriteString(CSVRow(i))
	}
	csv := sb.String()
	ctx := roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
	for b.Loop() {
		b.StopTimer()
		dir, _ := os.MkdirTemp("", "roster-import-*")
		st, err := sqlite.Open(context.Background(), filepath.Join(dir, "r.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		svc, _ := core.New(st, core.Config{})
		b.StartTimer()
		res, err := svc.ImportAccounts(ctx, accountfile.Read(accountfile.CSV, strings.NewReader(csv)), roster.ImportOptions{})
		if err != nil || res.Created != n {
			b.Fatal(err, res)
		}
		b.StopTimer()
		st.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
