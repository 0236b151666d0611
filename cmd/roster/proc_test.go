package main

// Helpers for tests that run the real roster binary as separate processes: replicas
// on one database, and commands and servers killed with SIGKILL.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// rosterBinary builds cmd/roster once per test binary, without -race even when the
// tests run with it: the processes under test are the binary operators run, and the
// race detector would slow the imports the crash tests kill several-fold.
func rosterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "roster-bin-")
		if buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is needed to build the roster binary: %w", err)
			return
		}
		builtBin = filepath.Join(builtDir, "roster")
		cmd := exec.Command(goTool, "build", "-o", builtBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// procEnv is the environment of a roster process: this one's without any ROSTER_
// setting, so that an operator's own cannot leak in, and USER for the audit log.
func procEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") && !strings.HasPrefix(kv, "USER=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "USER=tester"), vars...)
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a roster process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	exited         chan struct{}
	waitErr        error
	url            string // of a server, once it listens
}

// startProc starts the roster binary; the process is killed, if still running, when
// the test ends, and its output shown if the test failed.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	return startCmd(t, name, rosterBinary(t), env, args...)
}

// startCmd is startProc for any program.
func startCmd(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s (%s) stdout:\n%s\nstderr (last 4 KiB):\n%s", p.name, strings.Join(args, " "), p.stdout.String(), tail(p.stderr.String(), 4096))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// kill sends SIGKILL, as the kernel's OOM killer or a power cut would end the process:
// no deferred function, no shutdown, no flush. It waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// exitCode waits for the process to end and returns its exit status.
func (p *proc) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %s", p.name, within)
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		t.Fatalf("%s: %v", p.name, p.waitErr)
	}
	return 0
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// serveProc starts 'roster serve' on a free loopback port and waits until it listens.
func serveProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := startProc(t, name, env, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	p.waitListening(t)
	return p
}

func (p *proc) waitListening(t *testing.T) {
	t.Helper()
	waitFor(t, 60*time.Second, p.name+" listening", func() bool {
		if m := listeningRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.url = m[1]
			return true
		}
		if !p.running() {
			t.Fatalf("%s exited before listening: %v\n%s", p.name, p.waitErr, p.stderr.String())
		}
		return false
	})
}

// cliProc runs a roster command to its end and returns its standard output.
func cliProc(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(rosterBinary(t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("roster %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// waitFor polls cond until it holds, failing the test at the deadline: tests wait for
// conditions, never for a guessed time.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   string
	cookie map[string]string
}

func (r *reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.status, r.body)
	}
	return m
}

var plainClient = &http.Client{Timeout: 60 * time.Second}

// send makes a request (a JSON body when body is not empty) and returns the answer,
// or the error of a request that got none.
func send(c *http.Client, method, url, body string, header ...string) (*reply, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, body: string(b), cookie: map[string]string{}}
	for _, c := range resp.Cookies() {
		r.cookie[c.Name] = c.Value
	}
	return r, nil
}

// must is send for requests that must get an answer with the given status.
func must(t *testing.T, status int, method, url, body string, header ...string) *reply {
	t.Helper()
	r, err := send(plainClient, method, url, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if r.status != status {
		t.Fatalf("%s %s: %d %s; want %d", method, url, r.status, r.body, status)
	}
	return r
}
