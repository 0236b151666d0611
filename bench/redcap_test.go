package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// The REDCap benchmarks: an import of many members' rights from CSV into one project
// through POST /api/ (what PyCap's import_users sends), and the export of them as CSV,
// each beside its raw baseline on the same store: batched INSERTs of the same member
// rows, and a SELECT of the same columns. Members are the seeded accounts, so exports
// join their email and names as a real project's would.

// Members is how many members the REDCap benchmarks use (ROSTER_BENCH_MEMBERS), at most
// Users().
func Members() int {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("ROSTER_BENCH_MEMBERS")); err == nil && v > 0 {
		n = v
	}
	return min(n, Users())
}

var benchForms = []roster.Form{{Name: "demographics"}, {Name: "baseline"}, {Name: "day_3"}, {Name: "follow_up"}}

// memberCSV is n members' rights as REDCap's user import CSV.
func memberCSV(n int) string {
	var b strings.Builder
	b.WriteString("username,expiration,design,user_rights,data_access_groups,reports,stats_and_charts,calendar,data_import_tool,api_export,api_import,record_create,record_delete,lock_records,forms,forms_export\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "user%06d,%s,%d,%d,0,1,1,%d,0,%d,%d,1,0,%d,\"demographics:1,baseline:%d,day_3:2,follow_up:%d\",\"demographics:%d,baseline:1\"\n",
			i, []string{"", "2031-01-31"}[i%2], i%2, i%3, i%2, i%2, i%5/4, i%3, i%4, []int{0, 1, 2, 3, 128, 130}[i%6], i%4)
	}
	return b.String()
}

// redcapServices are the services behind a REDCap server: the accounts core, and the
// project service the dialect speaks to.
type redcapServices struct {
	accounts *core.Service
	projects *projects.Service
}

// redcapProject makes a project with an administering member and returns its token.
func redcapProject(b *testing.B, svc redcapServices) (int64, string) {
	op := roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
	p, err := svc.projects.CreateProject(op, &roster.Project{Title: "Bench", Forms: benchForms})
	if err != nil {
		b.Fatal(err)
	}
	admin := fmt.Sprintf("bench-rc-%d", time.Now().UnixNano())
	if _, err := svc.accounts.CreateAccount(op, map[string]any{"username": admin, "email": admin + "@example.org"}); err != nil {
		b.Fatal(err)
	}
	row := roster.MemberRowFromJSON(map[string]any{"username": admin, "user_rights": 1, "api_export": 1, "api_import": 1})
	if _, err := svc.projects.ImportProjectUsers(op, p.ID, roster.NewSliceRows([]roster.MemberRow{row})); err != nil {
		b.Fatal(err)
	}
	tok, err := svc.projects.IssueProjectToken(op, p.ID, admin)
	if err != nil {
		b.Fatal(err)
	}
	return p.ID, tok.Token
}

func redcapServer(b *testing.B, s *sqlstore.DB) (redcapServices, *httptest.Server) {
	accounts, err := core.New(s, core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	svc := redcapServices{accounts: accounts, projects: projects.New(s, accounts, projects.Config{})}
	return svc, serve(b, accounts, svc.projects, s)
}

func postForm(b *testing.B, srv *httptest.Server, body string) *http.Response {
	resp, err := http.Post(srv.URL+"/api/", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

// BenchmarkREDCapImport posts Members() members' rights as CSV, form-encoded as PyCap
// sends it, into a new project per round; rows/s is the figure.
func BenchmarkREDCapImport(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		svc, srv := redcapServer(b, s)
		n := Members()
		data := url.QueryEscape(memberCSV(n))
		for b.Loop() {
			b.StopTimer()
			_, tok := redcapProject(b, svc)
			body := "token=" + tok + "&content=user&format=csv&returnFormat=json&data=" + data
			b.StartTimer()
			resp := postForm(b, srv, body)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != strconv.Itoa(n) {
				b.Fatalf("import answered %d %s", resp.StatusCode, got)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkRawMemberInsert is BenchmarkREDCapImport's baseline: the same member rows,
// already built, written with batched multi-row INSERTs in one transaction and nothing
// else (no parsing, checking, lookups or audit).
func BenchmarkRawMemberInsert(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		svc, _ := redcapServer(b, s)
		n := Members()
		const cols = 11
		now := time.Now().UTC()
		rows := make([][]any, n)
		for i := range rows {
			p := roster.Privileges{}
			p.Rights[roster.RightDesign] = i % 2
			p.Rights[roster.RightReports] = 1
			rows[i] = []any{int64(0), fmt.Sprintf("user%06d", i+1), "", int64(0), int64(0), p.EncodeRights(),
				"demographics:1,day_3:2", "baseline:1", time.Time{}, now, now}
		}
		positional := s.Kind() == "sqlite"
		for b.Loop() {
			b.StopTimer()
			id, _ := redcapProject(b, svc)
			b.StartTimer()
			ctx := context.Background()
			tx, err := s.WriteDB().BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 1000
			for lo := 0; lo < n; lo += batch {
				hi := min(lo+batch, n)
				vals := make([]any, 0, (hi-lo)*cols)
				var ph strings.Builder
				for r, row := range rows[lo:hi] {
					row[0] = id
					vals = append(vals, row...)
					if r > 0 {
						ph.WriteByte(',')
					}
					ph.WriteByte('(')
					for c := range cols {
						if c > 0 {
							ph.WriteByte(',')
						}
						if positional {
							ph.WriteByte('?')
						} else {
							fmt.Fprintf(&ph, "$%d", r*cols+c+1)
						}
					}
					ph.WriteByte(')')
				}
				q := "INSERT INTO project_members (project_id, username, expiration, dag_id, role_id, rights, forms, forms_export, token_at, added_at, updated_at) VALUES " + ph.String()
				if _, err := tx.ExecContext(ctx, q, vals...); err != nil {
					tx.Rollback()
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// exportProjects are projects of 10,000 and of Members() members per store, imported
// once, for the export benchmarks.
var exportProjects = map[*sqlstore.DB]map[int]struct {
	id    int64
	token string
}{}

func exportProject(b *testing.B, s *sqlstore.DB, svc redcapServices, srv *httptest.Server, n int) (int64, string) {
	if p, ok := exportProjects[s][n]; ok {
		return p.id, p.token
	}
	id, tok := redcapProject(b, svc)
	resp := postForm(b, srv, "token="+tok+"&content=user&format=csv&returnFormat=json&data="+url.QueryEscape(memberCSV(n)))
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != strconv.Itoa(n) {
		b.Fatalf("seeding the export project: %s", got)
	}
	if exportProjects[s] == nil {
		exportProjects[s] = map[int]struct {
			id    int64
			token string
		}{}
	}
	exportProjects[s][n] = struct {
		id    int64
		token string
	}{id, tok}
	return id, tok
}

// BenchmarkREDCapExport exports every member of a project as CSV (export_users with
// format csv) while a sampler records the largest heap in use: heap-MB stays flat from
// 10,000 members to Members(), since rows are written as they are read.
func BenchmarkREDCapExport(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		svc, srv := redcapServer(b, s)
		for _, n := range []int{10_000, Members()} {
			b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
				_, tok := exportProject(b, s, svc, srv, n)
				runtime.GC()
				peak := sampleHeap()
				var bytes int64
				for b.Loop() {
					resp := postForm(b, srv, "token="+tok+"&content=user&format=csv")
					lines := 0
					buf := make([]byte, 64<<10)
					for {
						k, err := resp.Body.Read(buf)
						bytes += int64(k)
						for _, c := range buf[:k] {
							if c == '\n' {
								lines++
							}
						}
						if err != nil {
							break
						}
					}
					resp.Body.Close()
					if lines != n+2 { // header, the admin, the members
						b.Fatalf("exported %d lines, want %d", lines, n+2)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(bytes)/float64(b.N)/1e6, "MB/response")
				b.ReportMetric(float64(peak())/1e6, "heap-MB")
			})
		}
	})
}

// sampleHeap samples the heap in use until the returned function is called, which
// gives the largest value seen.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// BenchmarkRawMemberSelect is BenchmarkREDCapExport's baseline: the same rows and
// columns (members joined with their accounts) read with one SELECT and nothing else.
func BenchmarkRawMemberSelect(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		svc, srv := redcapServer(b, s)
		n := Members()
		id, _ := exportProject(b, s, svc, srv, n)
		q := `SELECT m.username, m.expiration, m.dag_id, m.role_id, m.rights, m.forms, m.forms_export,
			COALESCE(a.email, ''), COALESCE(a.first_name, ''), COALESCE(a.last_name, '')
			FROM project_members m LEFT JOIN accounts a ON a.username_key = m.username WHERE m.project_id = $1 ORDER BY m.id`
		for b.Loop() {
			rows, err := s.ReadDB().QueryContext(context.Background(), q, id)
			if err != nil {
				b.Fatal(err)
			}
			var u, exp, rights, forms, formsExport, email, first, last string
			var dag, role int64
			count := 0
			for rows.Next() {
				if err := rows.Scan(&u, &exp, &dag, &role, &rights, &forms, &formsExport, &email, &first, &last); err != nil {
					b.Fatal(err)
				}
				count++
			}
			rows.Close()
			if count != n+1 {
				b.Fatalf("selected %d rows", count)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
