package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/bench"
	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// The crash tests kill the real binary with SIGKILL in the middle of a large import, on
// each engine, then reopen the store and require all or nothing: every row with its
// audit entry, or none of them, and a store that passes 'roster check'.

var crashEngines = []string{"sqlite", "postgres"}

// crashStore is a fresh store for one trial, made by 'roster init' (with the first
// administrator, so that the store is sound before the import as after it).
type crashStore struct {
	engine string
	db     string
	tmp    string // TMPDIR of the processes
	env    []string
	app    string // PostgreSQL: the application_name of the processes' connections
}

func newCrashStore(t *testing.T, engine string) *crashStore {
	t.Helper()
	dir := t.TempDir()
	cs := &crashStore{engine: engine, tmp: filepath.Join(dir, "tmp")}
	if err := os.Mkdir(cs.tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	switch engine {
	case "sqlite":
		cs.db = "sqlite://" + filepath.Join(dir, "roster.db")
	case "postgres":
		u, err := url.Parse(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 6)
		rand.Read(b)
		cs.app = "roster-crash-" + hex.EncodeToString(b)
		q := u.Query()
		q.Set("application_name", cs.app)
		u.RawQuery = q.Encode()
		cs.db = u.String()
	}
	cs.env = procEnv("ROSTER_DB="+cs.db, "ROSTER_ADMIN_PASSWORD=crash admin password", "ROSTER_PG_MAX_CONNS=4", "TMPDIR="+cs.tmp)
	cliProc(t, cs.env, "", "init")
	return cs
}

// settle waits until no connection of a killed process is left. PostgreSQL rolls back
// a dead client's transaction when its backend finds the connection closed; a COMMIT
// the client sent just before dying may still complete. Either must be over before the
// store is judged.
func (cs *crashStore) settle(t *testing.T) {
	t.Helper()
	if cs.app == "" {
		return
	}
	db, err := sql.Open("pgx", os.Getenv(pgtest.EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, 60*time.Second, "the killed process's connections to close", func() bool {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", cs.app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

// writing says whether a transaction that has written is open in the store, asked just
// before a kill: it tells whether the kill fell inside the import's transaction, for
// the log only, since when it falls is timing and decides nothing the test asserts.
func (cs *crashStore) writing(t *testing.T) string {
	t.Helper()
	if cs.engine == "sqlite" {
		// Another writer holds the file's write lock when an immediate transaction
		// cannot begin at once.
		db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(cs.db, "sqlite://")+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
			return "while it held SQLite's write lock"
		}
		conn.ExecContext(context.Background(), "ROLLBACK")
		return "while nobody held SQLite's write lock"
	}
	db, err := sql.Open("pgx", os.Getenv(pgtest.EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL", cs.app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		return "while its transaction had written rows"
	}
	return "while it had no transaction that had written"
}

// query opens the store as the next command would, and runs fn on it.
func (cs *crashStore) query(t *testing.T, fn func(db *sql.DB)) {
	t.Helper()
	ctx := context.Background()
	var st *sqlstore.DB
	var err error
	if cs.engine == "sqlite" {
		st, err = sqlite.OpenWith(ctx, strings.TrimPrefix(cs.db, "sqlite://"), sqlite.Options{Access: sqlstore.UseExisting})
	} else {
		st, err = postgres.Open(ctx, cs.db, postgres.Options{MaxConns: 2, Access: sqlstore.UseExisting}, nil)
	}
	if err != nil {
		t.Fatalf("reopening the store after the kill: %v", err)
	}
	defer st.Close()
	fn(st.ReadDB())
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// lastSeq is the audit log's last sequence number.
func (cs *crashStore) lastSeq(t *testing.T) int64 {
	var seq int64
	cs.query(t, func(db *sql.DB) { seq = count(t, db, "SELECT COALESCE(MAX(seq), 0) FROM audit_log") })
	return seq
}

// checked runs 'roster check' on the store, which must pass.
func (cs *crashStore) checked(t *testing.T) {
	t.Helper()
	if out := cliProc(t, cs.env, "", "check"); !strings.Contains(out, "passed all") {
		t.Fatalf("roster check:\n%s", out)
	}
}

// noSpoolLeft: a killed process leaves no temporary file behind, such as a REDCap
// import's spooled data.
func (cs *crashStore) noSpoolLeft(t *testing.T) {
	t.Helper()
	left, _ := os.ReadDir(cs.tmp)
	for _, e := range left {
		t.Errorf("the killed process left %s in its TMPDIR", e.Name())
	}
}

// importRows is the size of the account import the tests kill.
const importRows = 100_000

// SIGKILL of 'roster users import' of 100,000 accounts, at several points of its run,
// on each engine: the store reopens with all of them or none, and their audit entries
// with them; an import killed half-way runs again to the end.
func TestCrashUsersImport(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "users.csv")
	var b strings.Builder
	b.WriteString(bench.CSVHeader)
	for i := 1; i <= importRows; i++ {
		b.WriteString(bench.CSVRow(i))
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Points of the run, by what the command has written to standard error: as it
	// checks rows (the writer follows a chunk behind, in the same transaction), once
	// every row is checked and the last chunks are being written, and once it reports
	// the import done (committed; the process is closing the store).
	killPoints := []string{"checked 10000 rows", "checked 50000 rows", fmt.Sprintf("checked %d rows", importRows), "imported "}
	for _, engine := range crashEngines {
		t.Run(engine, func(t *testing.T) {
			for _, point := range killPoints {
				cs := newCrashStore(t, engine)
				before := cs.lastSeq(t)
				p := startProc(t, "roster users import", cs.env, "users", "import", csv)
				var where string
				how := "killed"
				if !killWhen(t, p, func() bool { return strings.Contains(p.stderr.String(), point) }, func() { where = cs.writing(t) }) {
					how = "exited by itself, before the kill,"
				}
				cs.settle(t)
				cs.checked(t)
				n := cs.importedAccounts(t, before)
				t.Logf("%s at %q, %s: %d of %d accounts", how, point, where, n, importRows)
				if point == "checked 50000 rows" {
					if n != 0 {
						t.Fatalf("the import killed half-way committed %d accounts", n)
					}
					// Run again, it imports every row.
					cliProc(t, cs.env, "", "users", "import", csv)
					if n := cs.importedAccounts(t, before); n != importRows {
						t.Fatalf("the import run again after the kill made %d accounts", n)
					}
					cs.checked(t)
				}
			}
		})
	}
}

// killWhen sends SIGKILL to p as soon as cond holds, after calling before, and
// reports whether the process was still running then. A process that ends without
// reaching the kill point fails the test.
func killWhen(t *testing.T, p *proc, cond func() bool, before func()) bool {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		// Once the process has exited, its output is complete (Wait copies it all
		// first), so the condition is decided.
		if !p.running() && !cond() {
			t.Fatalf("%s ended (%v) before the kill point:\n%s", p.name, p.waitErr, tail(p.stderr.String(), 2000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach the kill point:\n%s", p.name, tail(p.stderr.String(), 2000))
		}
		time.Sleep(2 * time.Millisecond)
	}
	before()
	running := p.running()
	p.kill()
	return running
}

// importedAccounts checks all-or-nothing of an account import after the audit
// sequence number before: the accounts it made, an account.create entry for each (of
// that very account), and nothing else; it returns how many it made.
func (cs *crashStore) importedAccounts(t *testing.T, before int64) int64 {
	t.Helper()
	var accounts, entries, matched int64
	cs.query(t, func(db *sql.DB) {
		accounts = count(t, db, "SELECT COUNT(*) FROM accounts WHERE username <> 'admin'")
		entries = count(t, db, "SELECT COUNT(*) FROM audit_log WHERE seq > $1", before)
		matched = count(t, db, `SELECT COUNT(*) FROM audit_log l JOIN accounts a ON a.id = l.target_id AND a.username = l.target_name
			WHERE l.seq > $1 AND l.action = 'account.create' AND l.target_type = 'account'`, before)
		if accounts == importRows {
			var email, name string
			want := bench.Account(importRows / 2)
			if err := db.QueryRow("SELECT email, name FROM accounts WHERE username = $1", want.Username).Scan(&email, &name); err != nil || email != want.Email || name != want.Name {
				t.Errorf("%s reads back as %q, %q (%v); want %q, %q", want.Username, email, name, err, want.Email, want.Name)
			}
		}
	})
	if accounts != 0 && accounts != importRows || entries != accounts || matched != accounts {
		t.Fatalf("after the kill: %d imported accounts, %d audit entries, %d of them creating those accounts; want all %d of each or none",
			accounts, entries, matched, importRows)
	}
	return accounts
}

// redcapMembers is the size of the REDCap user import the tests kill.
const redcapMembers = 50_000

// redcapUsersCSV is REDCap's Import Users CSV of n members' rights, as PyCap sends it.
func redcapUsersCSV(n int) string {
	var b strings.Builder
	b.WriteString("username,expiration,design,user_rights,data_access_groups,reports,api_export,api_import,record_create,forms,forms_export\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "user%06d,%s,%d,0,0,1,%d,%d,1,\"demographics:1,baseline:%d\",\"demographics:%d\"\n",
			i, []string{"", "2031-01-31"}[i%2], i%2, i%2, i%3/2, i%3, i%4/2)
	}
	return b.String()
}

// redcapProject makes the project and the member whose token imports, with the CLI
// as docs/redcap.md shows, and returns the token.
func (cs *crashStore) redcapProject(t *testing.T) string {
	t.Helper()
	cliProc(t, cs.env, "", "projects", "create", "--title", "Crash Study", "--forms", "demographics,baseline")
	cliProc(t, cs.env, "", "users", "create", "--username", "rcadmin", "--email", "rcadmin@example.org")
	cliProc(t, cs.env, "", "projects", "add-user", "--project", "1", "--username", "rcadmin", "--rights-json", `{"user_rights":1,"api_export":1,"api_import":1}`)
	return strings.TrimSpace(cliProc(t, cs.env, "", "projects", "token", "--project", "1", "--username", "rcadmin"))
}

// eofReader closes sent once its reader is exhausted: the whole body is with the
// transport.
type eofReader struct {
	r    io.Reader
	sent chan struct{}
	done bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		close(e.sent)
	}
	return n, err
}

// redcapImport posts the import to the server; it returns when the whole body has
// been handed over, with a channel that yields the answer (nil when there was none).
func redcapImport(t *testing.T, srv *proc, token, data string) (<-chan *reply, time.Time) {
	t.Helper()
	body := &eofReader{r: strings.NewReader("token=" + token + "&content=user&action=import&format=csv&returnFormat=json&data=" + url.QueryEscape(data)),
		sent: make(chan struct{})}
	req, err := http.NewRequest("POST", srv.url+"/api/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	answer := make(chan *reply, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err != nil {
			answer <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- &reply{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-body.sent:
	case r := <-answer:
		t.Fatalf("the import was answered before its body was sent: %+v", r)
	}
	return answer, time.Now()
}

// SIGKILL of the server in the middle of a REDCap user import of 50,000 members (POST
// /api/, content=user), on each engine: restarted, the server holds every member with
// its audit entry, or none. Later imports run faster than the first, on warm caches,
// so the kills fall early enough to land inside them.
func TestCrashREDCapImport(t *testing.T) {
	data := redcapUsersCSV(redcapMembers)
	for _, engine := range crashEngines {
		t.Run(engine, func(t *testing.T) {
			// A first import runs to its answer and the server is killed after it: every
			// member must be there. Its duration, from the body sent to the answer, places
			// the kills of the others inside the import (the placement only decides how
			// much each trial covers; all or nothing must hold wherever it falls).
			var took time.Duration
			for _, frac := range []float64{-1, 0.1, 0.3, 0.6} {
				cs := newCrashStore(t, engine)
				token := cs.redcapProject(t)
				before := cs.lastSeq(t)
				srv := serveProc(t, "roster serve (REDCap import)", cs.env)
				answer, sent := redcapImport(t, srv, token, data)
				point := "after the answer"
				if frac < 0 {
					r := <-answer
					if r == nil || r.status != 200 || strings.TrimSpace(r.body) != strconv.Itoa(redcapMembers) {
						t.Fatalf("the import: %+v", r)
					}
					took = time.Since(sent)
				} else {
					point = fmt.Sprintf("%.0f%% into the import", frac*100)
					select {
					case r := <-answer:
						t.Logf("answered before the kill %s: %+v", point, r)
					case <-time.After(time.Duration(frac * float64(took))):
					}
				}
				where := cs.writing(t)
				srv.kill()
				cs.settle(t)
				cs.noSpoolLeft(t)
				cs.checked(t)
				n := cs.importedMembers(t, before)
				t.Logf("killed %s (a first import took %s), %s: %d of %d members", point, took.Round(time.Millisecond), where, n, redcapMembers)
				if frac < 0 && n != redcapMembers {
					t.Fatalf("the server answered %d and, killed after, holds %d members", redcapMembers, n)
				}

				// Restarted, the server exports what the store holds: the members and the
				// one who imported.
				again := serveProc(t, "roster serve (restarted)", cs.env)
				exp := must(t, 200, "POST", again.url+"/api/", "token="+token+"&content=user&format=csv&returnFormat=json",
					"Content-Type", "application/x-www-form-urlencoded")
				if rows := strings.Count(exp.body, "\n") - 1; rows != int(n)+1 {
					t.Fatalf("the restarted server exports %d members; the store holds %d and the importer", rows, n)
				}
				again.kill()
			}
		})
	}
}

// importedMembers checks all-or-nothing of a REDCap user import after the audit
// sequence number before: the members it added to project 1, a project.member.add
// entry of that project for each, and nothing else; it returns how many it added.
func (cs *crashStore) importedMembers(t *testing.T, before int64) int64 {
	t.Helper()
	var members, entries, adds int64
	cs.query(t, func(db *sql.DB) {
		members = count(t, db, "SELECT COUNT(*) FROM project_members WHERE project_id = 1 AND username <> 'rcadmin'")
		entries = count(t, db, "SELECT COUNT(*) FROM audit_log WHERE seq > $1", before)
		adds = count(t, db, `SELECT COUNT(*) FROM audit_log WHERE seq > $1 AND action = 'project.member.add'
			AND target_type = 'project' AND target_id = 1`, before)
	})
	if members != 0 && members != redcapMembers || entries != members || adds != members {
		t.Fatalf("after the kill: %d imported members, %d audit entries, %d of them adding members to the project; want all %d of each or none",
			members, entries, adds, redcapMembers)
	}
	return members
}
