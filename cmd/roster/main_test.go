package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/testkit"
)

// testEnv is an environment with a database of its own.
type testEnv struct {
	db   string
	vars map[string]string
}

func newTestEnv(t *testing.T) *testEnv {
	return &testEnv{db: "sqlite://" + filepath.Join(t.TempDir(), "roster.db"), vars: map[string]string{"USER": "tester"}}
}

// newStore is newTestEnv with an empty store, made by 'roster init --no-admin'.
func newStore(t *testing.T) *testEnv {
	t.Helper()
	te := newTestEnv(t)
	te.mustCLI(t, "", "init", "--no-admin")
	return te
}

func (te *testEnv) getenv(k string) string {
	if k == "ROSTER_DB" {
		return te.db
	}
	return te.vars[k]
}

// cli runs one command line in process and returns its exit status and output.
func (te *testEnv) cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, te.getenv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (te *testEnv) mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := te.cli(t, stdin, args...)
	if code != 0 {
		t.Fatalf("roster %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// running is a server started with run("serve") on a free loopback port.
type running struct {
	url    string
	stdout *testkit.SyncBuffer
	stderr *testkit.SyncBuffer
	stop   func() int
}

func (te *testEnv) serve(t *testing.T, extra ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...), te.getenv, strings.NewReader(""), out, errb)
	}()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	// A bound for a server that hangs, not a timing: under -race on a loaded machine,
	// migrating PostgreSQL and hashing the first password take many seconds.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			r := &running{url: m[1], stdout: out, stderr: errb}
			var once sync.Once
			code := 0
			r.stop = func() int {
				once.Do(func() { cancel(); code = <-done })
				return code
			}
			t.Cleanup(func() { r.stop() })
			return r
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	return request(t, "GET", url, "", header...)
}

func request(t *testing.T, method, url, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeFreshStart(t *testing.T) {
	te := newTestEnv(t)
	srv := te.serve(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, srv.url+path); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	// The first start made the admin and showed its password once, outside the log.
	m := regexp.MustCompile(`password, shown only this once:\s+(\S+)`).FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no admin password shown: %s", srv.stdout.String())
	}
	if strings.Contains(srv.stderr.String(), m[1]) {
		t.Fatal("the admin password is in the log")
	}
	code, body := request(t, "POST", srv.url+"/v1/session", fmt.Sprintf(`{"login":"admin","password":%q}`, m[1]))
	if code != 201 || !strings.Contains(body, `"sysadmin":true`) {
		t.Fatalf("admin sign-in: %d %s", code, body)
	}
	get(t, srv.url+"/v1/users/1", "Authorization", "Bearer nope")
	code, metrics := get(t, srv.url+"/metrics")
	for _, want := range []string{
		`roster_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`roster_http_requests_total{code="401",method="GET",route="GET /v1/users/{ref}"} 1`,
		`roster_http_request_duration_seconds_bucket{method="POST",route="POST /v1/session"`,
		`go_sql_open_connections{db_name="roster_read"}`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Every log line is JSON with a request id.
	sc := bufio.NewScanner(strings.NewReader(srv.stderr.String()))
	requests := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "request" {
			requests++
			if id, _ := line["request_id"].(string); id == "" {
				t.Fatalf("request log without request id: %s", sc.Text())
			}
		}
	}
	if requests < 4 {
		t.Fatalf("%d request log lines", requests)
	}
	// A second start does not make another admin.
	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	again := te.serve(t)
	if strings.Contains(again.stdout.String(), "Created the system administrator") {
		t.Fatal("a second admin was made")
	}
}

func TestServeFinishesInFlightRequests(t *testing.T) {
	te := newTestEnv(t)
	srv := te.serve(t)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.url+"/v1/session", pr)
	req.Header.Set("Content-Type", "application/json")
	result := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	io.WriteString(pw, `{"login": "admin", `)
	time.Sleep(200 * time.Millisecond) // the request is in flight
	stopped := make(chan int, 1)
	go func() { stopped <- srv.stop() }()
	time.Sleep(200 * time.Millisecond)
	io.WriteString(pw, `"password": "wrong password"}`)
	pw.Close()
	if code := <-result; code != 401 {
		t.Fatalf("the in-flight request got %d, want its answer (401)", code)
	}
	if code := <-stopped; code != 0 {
		t.Fatalf("serve exited %d after SIGTERM", code)
	}
	// New connections are refused after shutdown.
	if _, err := http.Get(srv.url + "/healthz"); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}

func TestServeBadUsage(t *testing.T) {
	te := newTestEnv(t)
	for _, args := range [][]string{
		{"serve", "--addr"}, {"serve", "extra"}, {"serve", "--log-level", "loud"}, {"serve", "--db", "mysql://x"},
		{"serve", "--trusted-proxies", "not-an-ip"}, {"nonsense"}, {},
	} {
		code, _, errs := te.cli(t, "", args...)
		if code != 2 || len(errorLines(errs)) != 1 {
			t.Errorf("roster %v: exit %d, stderr %q; want 2 and one roster: line", args, code, errs)
		}
	}
	code, _, errs := te.cli(t, "", "serve", "--addr", "256.0.0.1:1")
	if code != 1 || len(errorLines(errs)) != 1 {
		t.Errorf("unusable address: exit %d, %q", code, errs)
	}
}

func TestServePostgres(t *testing.T) {
	te := &testEnv{db: pgtest.URL(t), vars: map[string]string{"ROSTER_ADMIN_PASSWORD": "admin password 1"}}
	srv := te.serve(t)
	if code, body := get(t, srv.url+"/readyz"); code != 200 || !strings.Contains(body, "postgres") {
		t.Fatalf("readyz: %d %s", code, body)
	}
	if code, _ := request(t, "POST", srv.url+"/v1/session", `{"login":"admin","password":"admin password 1"}`); code != 201 {
		t.Fatal("admin password from ROSTER_ADMIN_PASSWORD does not work")
	}
	if strings.Contains(srv.stdout.String(), "admin password 1") {
		t.Fatal("the operator's password was echoed")
	}
	// The CLI works on the same database while the server runs.
	id := strings.TrimSpace(te.mustCLI(t, "", "users", "create", "--username", "pg", "--email", "pg@example.org"))
	key := strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "admin"))
	if code, body := get(t, srv.url+"/v1/users/"+id, "Authorization", "Bearer "+key); code != 200 || !strings.Contains(body, `"pg"`) {
		t.Fatalf("account made by the CLI: %d %s", code, body)
	}
	// A backup of PostgreSQL is an SQLite file Roster can serve.
	path := filepath.Join(t.TempDir(), "pg-backup.db")
	te.mustCLI(t, "", "backup", path)
	copyEnv := &testEnv{db: "sqlite://" + path}
	out := copyEnv.mustCLI(t, "", "users", "show", "pg")
	if !strings.Contains(out, "pg@example.org") {
		t.Fatalf("backup lacks the account: %s", out)
	}
	_ = os.Remove(path)
}

// errorLines are the lines of stderr that report an error (log lines are JSON).
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "roster: ") {
			out = append(out, l)
		}
	}
	return out
}
