package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// brainstemLists are the list requests of issue 15, on the super portal as a system
// administrator, against the seeded accounts user000001 … user100000
// (user%06d@example.org).
var brainstemLists = []struct{ name, query string }{
	// A prefix filter, sorted by email: user001000 … user001999 match (1,000 accounts).
	{"prefix", "filter%7Bemail.istartswith%7D=user001&sort%5B%5D=email&limit=20"},
	// An exact filter (BrainSTEM has no username: email is the unique name it shows).
	{"exact", "filter%7Bemail%7D=user012345%40example.org&sort%5B%5D=email&limit=20"},
	// A sorted page of every account, unfiltered: its count is of the whole table.
	{"sorted", "sort%5B%5D=email&limit=20"},
}

const brainstemListPath = "/api/super/users/user/?"

// selectionRecorder is the store with the selection of the last ListAccounts kept, so
// that the statements a request ran can be rebuilt and explained.
type selectionRecorder struct {
	*sqlstore.DB
	mu   sync.Mutex
	last roster.AccountSelection
}

func (r *selectionRecorder) ListAccounts(ctx context.Context, f roster.AccountSelection) (*roster.AccountPage, error) {
	r.mu.Lock()
	r.last = f
	r.mu.Unlock()
	return r.DB.ListAccounts(ctx, f)
}

// adminServer serves the production handler over store (s, or a wrapper of it) and
// returns a system administrator's API key.
func adminServer(tb testing.TB, store roster.Store, s *sqlstore.DB) (*httptest.Server, string) {
	svc, err := core.New(store, core.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	op := roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
	name := fmt.Sprintf("bench-admin-%d", time.Now().UnixNano())
	rec, err := svc.CreateAccount(op, map[string]any{"username": name, "email": name + "@example.org", "sysadmin": true})
	if err != nil {
		tb.Fatal(err)
	}
	k, err := svc.CreateAPIKey(op, roster.RefID(rec.ID), roster.KeyRequest{})
	if err != nil {
		tb.Fatal(err)
	}
	return serve(tb, svc, nil, s), k.Secret
}

// get sends one GET with the key (none when key is "") and returns the body; anything
// but 200 fails tb.
func get(tb testing.TB, url, key string) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %v %.200s", url, resp.StatusCode, err, body)
	}
	return body
}

// bareServer is the baseline: a net/http handler that answers every request with body,
// as bench/cmd/bare does, in process and over loopback like the server it is set against.
func bareServer(tb testing.TB, body []byte) *httptest.Server {
	size := strconv.Itoa(len(body))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", size)
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// analyze brings PostgreSQL's statistics up to date after the seed, as autovacuum does
// within a minute of a bulk load, so that plans do not depend on when it last ran.
// Roster never runs ANALYZE on SQLite, so neither does this.
func analyze(tb testing.TB, s *sqlstore.DB) {
	if s.Kind() == "postgres" {
		if _, err := s.WriteDB().Exec("ANALYZE accounts"); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkBrainSTEMList times BrainSTEM's list (issue 15): a filtered (prefix or
// exact) or unfiltered page of 20, sorted by email, with its count, as a system
// administrator with an API key, through the production handler over loopback, on
// 100,000 accounts. Each case runs the bare handler serving Roster's response first
// ("bare"), then Roster ("roster"), which reports bare/roster: the ratio of Roster's
// throughput to the baseline's (the median of its rounds), measured in the same run.
func BenchmarkBrainSTEMList(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		analyze(b, s)
		srv, key := adminServer(b, s, s)
		for _, c := range brainstemLists {
			url := srv.URL + brainstemListPath + c.query
			body := get(b, url, key)
			bare := bareServer(b, body)
			// With -count, each of bare's rounds runs before roster's first: roster's
			// ratio is against the median of bare's rounds.
			var bareNs []float64
			b.Run(c.name, func(b *testing.B) {
				b.Run("bare", func(b *testing.B) {
					for b.Loop() {
						get(b, bare.URL+brainstemListPath+c.query, "")
					}
					bareNs = append(bareNs, float64(b.Elapsed().Nanoseconds())/float64(b.N))
				})
				b.Run("roster", func(b *testing.B) {
					for b.Loop() {
						get(b, url, key)
					}
					ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					b.ReportMetric(float64(len(body)), "bytes/response")
					if len(bareNs) > 0 {
						sorted := slices.Sorted(slices.Values(bareNs))
						b.ReportMetric(sorted[len(sorted)/2]/ns, "bare/roster")
					}
				})
			})
		}
	})
}

// TestBrainSTEMListPlans prints the plans of the statements BrainSTEM's list requests
// run (the page and its count), on both engines, and checks that the filtered ones read
// an index rather than the table. It seeds 100,000 accounts, so it runs only when asked:
//
//	ROSTER_BENCH_PLANS=1 go test -run BrainSTEMListPlans -v ./bench/
func TestBrainSTEMListPlans(t *testing.T) {
	if os.Getenv("ROSTER_BENCH_PLANS") == "" {
		t.Skip("set ROSTER_BENCH_PLANS=1 to seed 100,000 accounts and print the plans")
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			s := engineStore(t, kind)
			analyze(t, s)
			rec := &selectionRecorder{DB: s}
			srv, key := adminServer(t, rec, s)
			for _, c := range brainstemLists {
				get(t, srv.URL+brainstemListPath+c.query, key)
				rec.mu.Lock()
				sel := rec.last
				rec.mu.Unlock()
				page, count, err := s.ListStatements(sel)
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range []struct {
					what string
					sqlstore.Statement
				}{{"page", page}, {"count", count}} {
					plan := explain(t, s, st.Statement)
					fmt.Printf("### %s, %s: %s\n\n%s\n%v\n\n%s\n", kind, c.name, st.what, st.SQL, st.Args, plan)
					if c.name == "sorted" && st.what == "count" {
						continue // the count of every account reads every row
					}
					if tableScan.MatchString(plan) {
						t.Errorf("%s %s: the %s scans the table:\n%s", kind, c.name, st.what, plan)
					}
				}
			}
		})
	}
}

// tableScan is a plan step that reads the whole accounts table: SQLite's "SCAN a"
// (not "SCAN a USING INDEX …", which walks an index in order and stops at the page's
// end) and PostgreSQL's sequential scan.
var tableScan = regexp.MustCompile(`(?m)SCAN a$|Seq Scan on accounts`)

// explain returns an engine's plan of a statement with its arguments: SQLite's EXPLAIN
// QUERY PLAN; on PostgreSQL, EXPLAIN of the plan made for these values, then of the
// generic plan a cached prepared statement may switch to after five runs.
func explain(t *testing.T, s *sqlstore.DB, st sqlstore.Statement) string {
	ctx := context.Background()
	conn, err := s.ReadDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lines := func(rows *sql.Rows, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			out = append(out, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	if s.Kind() != "postgres" {
		// id, parent, notused, detail: indent the detail by depth.
		rows, err := conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.SQL, st.Args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		depth := map[int64]int{}
		var out []string
		for rows.Next() {
			var id, parent, unused int64
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			depth[id] = depth[parent] + 1
			out = append(out, strings.Repeat("  ", depth[id]-1)+detail)
		}
		return strings.Join(out, "\n")
	}
	// EXPLAIN takes no bound parameters: pgx's simple protocol writes the values into the
	// statement as literals.
	simple := append([]any{pgx.QueryExecModeSimpleProtocol}, st.Args...)
	custom := lines(conn.QueryContext(ctx, "EXPLAIN "+st.SQL, simple...))
	// The generic plan: the statement prepared by name, explained with the planner told
	// to ignore the values.
	if _, err := conn.ExecContext(ctx, "PREPARE bs_plan AS "+st.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "DEALLOCATE bs_plan", pgx.QueryExecModeSimpleProtocol)
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "RESET plan_cache_mode", pgx.QueryExecModeSimpleProtocol)
	ph := make([]string, len(st.Args))
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	exec := "EXPLAIN EXECUTE bs_plan"
	if len(ph) > 0 {
		exec += "(" + strings.Join(ph, ", ") + ")"
	}
	generic := lines(conn.QueryContext(ctx, exec, simple...))
	return "for these values:\n" + custom + "\ngeneric:\n" + generic
}
