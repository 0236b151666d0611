package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/internal/accountfile"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// Users is how many accounts the store benchmarks run against (ROSTER_BENCH_USERS).
func Users() int {
	if n, err := strconv.Atoi(os.Getenv("ROSTER_BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// Seed fills a store with Users() accounts in one transaction.
func Seed(tb testing.TB, s roster.Store) {
	tb.Helper()
	n := Users()
	ctx := context.Background()
	err := s.InTx(ctx, func(tx roster.Tx) error {
		batch := make([]*roster.Account, 0, 5000)
		for i := 1; i <= n; i++ {
			batch = append(batch, Account(i))
			if len(batch) == cap(batch) || i == n {
				if err := tx.CreateAccounts(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

var (
	sqliteOnce  sync.Once
	sqliteStore *sqlstore.DB
	pgOnce      sync.Once
	pgStore     *sqlstore.DB
	cleanups    []func() error
)

// TestMain drops what the benchmarks made once they have all run.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range cleanups {
		if err := c(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// engines gives each benchmark a seeded store per engine, seeded once per process.
func engines(b *testing.B, fn func(b *testing.B, s *sqlstore.DB)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) { fn(b, engineStore(b, kind)) })
	}
}

// engineStore is the process's seeded store of one engine ("sqlite" or "postgres"),
// made on first use; it skips tb when PostgreSQL is not configured.
func engineStore(tb testing.TB, kind string) *sqlstore.DB {
	tb.Helper()
	if kind == "sqlite" {
		sqliteOnce.Do(func() {
			dir, err := os.MkdirTemp("", "roster-bench-*")
			if err != nil {
				tb.Fatal(err)
			}
			s, err := sqlite.Open(context.Background(), filepath.Join(dir, "bench.db"), nil)
			if err != nil {
				tb.Fatal(err)
			}
			Seed(tb, s)
			sqliteStore = s
			cleanups = append(cleanups, s.Close, func() error { return os.RemoveAll(dir) })
		})
		if sqliteStore == nil {
			tb.Skip("the SQLite store could not be made")
		}
		return sqliteStore
	}
	url := os.Getenv(pgtest.EnvVar)
	if url == "" {
		tb.Skipf("%s is not set", pgtest.EnvVar)
	}
	pgOnce.Do(func() {
		u, drop, err := pgtest.NewSchema(url)
		if err != nil {
			tb.Fatal(err)
		}
		cleanups = append(cleanups, drop)
		s, err := postgres.Open(context.Background(), u, postgres.Options{MaxConns: 8}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		Seed(tb, s)
		pgStore = s
		cleanups = append([]func() error{s.Close}, cleanups...)
	})
	if pgStore == nil {
		tb.Skip("the PostgreSQL store could not be made")
	}
	return pgStore
}

func randomUser(r *rand.Rand) int { return 1 + r.IntN(Users()) }

// BenchmarkBareSelectByUsername is the baseline of BenchmarkGetByUsername: a prepared
// SELECT of the same columns on the same pool, scanned without any decoding.
func BenchmarkBareSelectByUsername(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		stmt, err := s.ReadDB().Prepare(sqlstore.AccountByUsernameSQL)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		r := rand.New(rand.NewPCG(1, 2))
		dest := make([]any, sqlstore.AccountColumns)
		raw := make([]sql.RawBytes, len(dest))
		for i := range dest {
			dest[i] = &raw[i]
		}
		b.ResetTimer()
		for b.Loop() {
			rows, err := stmt.Query(fmt.Sprintf("user%06d", randomUser(r)))
			if err != nil {
				b.Fatal(err)
			}
			if !rows.Next() {
				b.Fatal("no row")
			}
			if err := rows.Scan(dest...); err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
	})
}

func BenchmarkGetByUsername(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if _, err := s.GetAccount(ctx, roster.AccountRef{Username: fmt.Sprintf("user%06d", randomUser(r))}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetByID(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if _, err := s.GetAccount(ctx, roster.RefID(int64(randomUser(r)))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var created = Users() + 1_000_000

// BenchmarkCreate creates one account per transaction. Writes are on roster.Tx only, so
// the transaction is an explicit BEGIN … COMMIT, as every create of the core's is, where
// until then it was the statement's own autocommit: on PostgreSQL two more round trips.
func BenchmarkCreate(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		ctx := context.Background()
		for b.Loop() {
			created++
			a := Account(created)
			if err := s.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdate reads an account outside a transaction and updates it in one of its
// own, with BEGIN … COMMIT as BenchmarkCreate.
func BenchmarkUpdate(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(3, 4))
		for b.Loop() {
			a, err := s.GetAccount(ctx, roster.RefID(int64(randomUser(r))))
			if err != nil {
				b.Fatal(err)
			}
			a.Profile["bio"] = fmt.Sprintf("Updated %d", r.IntN(1000))
			if err := s.InTx(ctx, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, a) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListPage reads a 50-account page, sorted by name, deep in the list.
func BenchmarkListPage(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		ctx := context.Background()
		first, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		cursor := first.NextCursor
		for b.Loop() {
			p, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Limit: 50, Cursor: cursor})
			if err != nil || len(p.Accounts) == 0 {
				b.Fatal(err)
			}
			cursor = p.NextCursor
			if cursor == "" { // the end of the list: start again
				cursor = first.NextCursor
			}
		}
	})
}

// BenchmarkImport runs last: it leaves a large heap behind, which would tax the
// allocating benchmarks after it.
//
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
