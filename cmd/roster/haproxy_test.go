package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// haproxyBinary finds Debian's haproxy (in /usr/sbin, which a user's PATH may lack).
// Without it the test is skipped with a notice, except in CI (CI set, as .ci/run sets
// it to true), which installs it and must not pass by skipping.
func haproxyBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/haproxy", "/usr/local/sbin/haproxy"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("haproxy is not installed, and CI is set: .ci/run installs it (apt-get install haproxy)")
	}
	t.Skip("haproxy is not installed: skipping the load-balancer test (apt-get install haproxy; CI installs it)")
	return ""
}

// documentedHAProxy returns the haproxy configuration docs/deployment.md shows, with
// only its addresses and certificate path replaced, so that the configuration tested
// is the one operators copy.
func documentedHAProxy(t *testing.T, front, pemPath, stats string, servers []string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```haproxy\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/deployment.md shows no ```haproxy block")
	}
	var (
		out      []string
		section  string
		binds    = map[string]bool{}
		serverNo int
	)
	bindRE := regexp.MustCompile(`^(\s+bind\s+)(\S+)(.*)$`)
	crtRE := regexp.MustCompile(`crt\s+\S+`)
	serverRE := regexp.MustCompile(`^(\s+server\s+\S+\s+)(\S+)(.*)$`)
	for _, line := range strings.Split(string(m[1]), "\n") {
		if line != "" && !strings.HasPrefix(line, " ") {
			section = strings.Fields(line)[0]
		}
		switch {
		case section == "frontend" && bindRE.MatchString(line):
			if !crtRE.MatchString(line) {
				t.Fatalf("the documented frontend does not terminate TLS: %q", line)
			}
			line = bindRE.ReplaceAllString(line, "${1}"+front+"${3}")
			line = crtRE.ReplaceAllString(line, "crt "+pemPath)
			binds["frontend"] = true
		case section == "listen" && bindRE.MatchString(line):
			line = bindRE.ReplaceAllString(line, "${1}"+stats+"${3}")
			binds["stats"] = true
		case section == "backend" && serverRE.MatchString(line):
			if serverNo >= len(servers) {
				t.Fatalf("the documented backend has more than %d servers", len(servers))
			}
			line = serverRE.ReplaceAllString(line, "${1}"+servers[serverNo]+"${3}")
			serverNo++
		}
		out = append(out, line)
	}
	if !binds["frontend"] || !binds["stats"] || serverNo != len(servers) {
		t.Fatalf("the documented configuration lacks a frontend bind, the stats listener or %d servers:\n%s", len(servers), m[1])
	}
	// Debian's global section sends the log to syslog; here it goes to stderr, shown
	// when the test fails.
	return "global\n    log stderr format raw local0\n\n" + strings.Join(out, "\n")
}

// selfSigned writes a certificate for 127.0.0.1 and its key, as haproxy reads them
// (one PEM file), and returns the pool that trusts it.
func selfSigned(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "roster test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// clientFrom is an HTTPS client whose connections come from the loopback address ip,
// so that the balancer (at 127.0.0.1) and each client have addresses of their own.
func clientFrom(ip string, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// haproxyStates reads each backend server's state from the stats page's CSV.
func haproxyStates(statsURL string) map[string]string {
	resp, err := http.Get(statsURL + "/;csv")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(name, "# ")] = i
	}
	out := map[string]string{}
	for _, row := range rows[1:] {
		if row[col["pxname"]] == "roster_replicas" && row[col["svname"]] != "BACKEND" {
			out[row[col["svname"]]] = strings.Fields(row[col["status"]] + " ")[0]
		}
	}
	return out
}

// requestIDPrefix is the part of an X-Request-ID that names the process that made it.
func requestIDPrefix(r *reply) string {
	id := r.header.Get("X-Request-ID")
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// readOnlyDB is the database URL with every transaction read-only, as on a standby.
func readOnlyDB(t *testing.T, db string) string {
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-c default_transaction_read_only=on")
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx does not read + as a space
	return u.String()
}

// Three replicas behind haproxy, configured as docs/deployment.md shows: the health
// check on /readyz keeps requests off a replica that is up but not ready and off one
// that died, client addresses come through X-Forwarded-For from the trusted balancer
// only, and throttling counts the client, not the balancer.
func TestReplicasBehindHAProxy(t *testing.T) {
	haproxy := haproxyBinary(t)
	db := pgtest.URL(t)
	env := replicaEnv(db)
	args := []string{"--trusted-proxies", "127.0.0.1", "--secure-cookies"}
	ps := startReplicas(t, env, 2, args...)
	// Up, but not ready: its connection is read-only.
	notReady := serveProc(t, "replica 3 (read-only)", replicaEnv(readOnlyDB(t, db)), args...)
	must(t, 503, "GET", notReady.url+"/readyz", "")
	ps = append(ps, notReady)
	prefix := make([]string, len(ps))
	var servers []string
	for i, p := range ps {
		prefix[i] = requestIDPrefix(must(t, 200, "GET", p.url+"/healthz", ""))
		servers = append(servers, strings.TrimPrefix(p.url, "http://"))
	}
	cliProc(t, env, "hal password 1\n", "users", "create", "--username", "hal", "--email", "hal@example.org", "--password-stdin")

	dir := t.TempDir()
	roots := selfSigned(t, filepath.Join(dir, "roster.pem"))
	front, stats := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(documentedHAProxy(t, front, filepath.Join(dir, "roster.pem"), stats, servers)), 0o600); err != nil {
		t.Fatal(err)
	}
	hp := startCmd(t, "haproxy", haproxy, os.Environ(), "-db", "-f", cfg)
	statsURL, lb := "http://"+stats, "https://"+front
	wantStates := func(want map[string]string) {
		t.Helper()
		waitFor(t, 30*time.Second, fmt.Sprintf("haproxy to see %v", want), func() bool {
			if !hp.running() {
				t.Fatalf("haproxy exited: %v\n%s", hp.waitErr, hp.stderr.String())
			}
			got := haproxyStates(statsURL)
			for k, v := range want {
				if got[k] != v {
					return false
				}
			}
			return true
		})
	}
	wantStates(map[string]string{"roster1": "UP", "roster2": "UP", "roster3": "DOWN"})

	// A client at 127.0.0.2 signs in, claiming another address; it writes through
	// the balancer, which spreads the requests over the ready replicas only.
	alice := clientFrom("127.0.0.2", roots)
	r, err := send(alice, "POST", lb+"/v1/session", `{"login":"hal","password":"hal password 1"}`, "X-Forwarded-For", "198.51.100.7")
	if err != nil || r.status != 201 {
		t.Fatalf("sign-in through haproxy: %v %+v", err, r)
	}
	if sc := strings.Join(r.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "roster_session=") || !strings.Contains(sc, "Secure") {
		t.Fatalf("the session cookie is not marked Secure: %s", sc)
	}
	cookie, csrf := []string{"Cookie", "roster_session=" + r.cookie["roster_session"]}, r.json(t)["csrf_token"].(string)
	served := map[string]int{}
	for i := 0; i < 20; i++ {
		r, err := send(alice, "PATCH", lb+"/v1/me", fmt.Sprintf(`{"bio":"write %d"}`, i), append(cookie, "X-CSRF-Token", csrf)...)
		if err != nil || r.status != 200 {
			t.Fatalf("write %d through haproxy: %v %+v", i, err, r)
		}
		served[requestIDPrefix(r)]++
	}
	if served[prefix[0]] == 0 || served[prefix[1]] == 0 || served[prefix[2]] != 0 || len(served) != 2 {
		t.Fatalf("requests served by %v; want both ready replicas (%s, %s) and never the one not ready (%s)", served, prefix[0], prefix[1], prefix[2])
	}

	// The audit log names the client, not the balancer nor the address it claimed.
	st, err := postgres.Open(context.Background(), db, postgres.Options{MaxConns: 1, Access: sqlstore.UseExisting}, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.ListAudit(context.Background(), roster.AuditFilter{Action: "session.login"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ClientIP != "127.0.0.2" {
		var ips []string
		for _, e := range entries {
			ips = append(ips, e.ClientIP)
		}
		t.Fatalf("session.login entries from %q; want one from 127.0.0.2", ips)
	}

	// Failed sign-ins block the client that made them; another client behind the
	// same balancer signs in.
	wrong := `{"login":"hal","password":"a wrong guess"}`
	for i := 0; i < 5; i++ {
		if r, err := send(alice, "POST", lb+"/v1/session", wrong); err != nil || r.status != 401 {
			t.Fatalf("failed sign-in %d: %v %+v", i+1, err, r)
		}
	}
	if r, err := send(alice, "POST", lb+"/v1/session", wrong); err != nil || r.status != 429 {
		t.Fatalf("the sixth failed sign-in from 127.0.0.2: %v %+v; want 429", err, r)
	}
	bob := clientFrom("127.0.0.3", roots)
	if r, err := send(bob, "POST", lb+"/v1/session", `{"login":"hal","password":"hal password 1"}`); err != nil || r.status != 201 {
		t.Fatalf("sign-in from 127.0.0.3 while 127.0.0.2 is blocked: %v %+v; want 201", err, r)
	}

	// A replica that dies is taken out; the other answers every request. Started
	// again on its address, it is put back.
	ps[0].kill()
	wantStates(map[string]string{"roster1": "DOWN", "roster2": "UP"})
	for i := 0; i < 10; i++ {
		r, err := send(alice, "GET", lb+"/v1/me", "", cookie...)
		if err != nil || r.status != 200 || requestIDPrefix(r) != prefix[1] {
			t.Fatalf("request %d with replica 1 down: %v %+v", i, err, r)
		}
	}
	again := startProc(t, "replica 1, restarted", env, append([]string{"serve", "--addr", servers[0], "--log-level", "warn"}, args...)...)
	again.waitListening(t)
	restarted := requestIDPrefix(must(t, 200, "GET", again.url+"/healthz", ""))
	wantStates(map[string]string{"roster1": "UP", "roster2": "UP", "roster3": "DOWN"})
	served = map[string]int{}
	for i := 0; i < 10; i++ {
		r, err := send(alice, "GET", lb+"/v1/me", "", cookie...)
		if err != nil || r.status != 200 {
			t.Fatalf("request %d after the restart: %v %+v", i, err, r)
		}
		served[requestIDPrefix(r)]++
	}
	if served[restarted] == 0 || served[prefix[1]] == 0 {
		t.Fatalf("after the restart, requests were served by %v; want the restarted replica (%s) and replica 2 (%s)", served, restarted, prefix[1])
	}
}
