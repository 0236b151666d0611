package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

const replicaAdminPassword = "replica admin password 1"

// startReplicas starts n 'roster serve' processes on the database at db together, as
// an orchestrator starting a deployment would, and waits until each listens and is
// ready. The first start of an empty schema races them to migrate and to make the
// first administrator: exactly one must do each.
func startReplicas(t *testing.T, env []string, n int, args ...string) []*proc {
	t.Helper()
	ps := make([]*proc, n)
	for i := range ps {
		ps[i] = startProc(t, fmt.Sprintf("replica %d", i+1), env,
			append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	}
	stores, admins := 0, 0
	for _, p := range ps {
		p.waitListening(t)
		if strings.Contains(p.stdout.String(), "Created a new Roster store") {
			stores++
		}
		if strings.Contains(p.stdout.String(), "Created the system administrator") {
			admins++
		}
	}
	if stores != 1 || admins != 1 {
		t.Fatalf("%d replicas created the store and %d the first administrator; want one each", stores, admins)
	}
	for _, p := range ps {
		must(t, 200, "GET", p.url+"/readyz", "")
	}
	return ps
}

func replicaEnv(db string, vars ...string) []string {
	// A small pool each: the test database serves other tests too.
	return procEnv(append([]string{"ROSTER_DB=" + db, "ROSTER_ADMIN_PASSWORD=" + replicaAdminPassword, "ROSTER_PG_MAX_CONNS=4"}, vars...)...)
}

// newReplicaAccount makes an account through a replica and returns its id.
func newReplicaAccount(t *testing.T, url string, admin []string, username, password string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"email":"%s@example.org","password":%q}`, username, username, password)
	r := must(t, 201, "POST", url+"/v1/users", body, admin...)
	id, _ := r.json(t)["id"].(float64)
	if id == 0 {
		t.Fatalf("no id in %s", r.body)
	}
	return int64(id)
}

// signIn opens a session on a replica and returns the header that carries its cookie,
// and its CSRF token.
func signIn(t *testing.T, url, username, password string) ([]string, string) {
	t.Helper()
	r := must(t, 201, "POST", url+"/v1/session", fmt.Sprintf(`{"login":%q,"password":%q}`, username, password))
	csrf, _ := r.json(t)["csrf_token"].(string)
	if r.cookie["roster_session"] == "" || csrf == "" {
		t.Fatalf("sign-in set no session cookie or CSRF token: %v %s", r.header, r.body)
	}
	return []string{"Cookie", "roster_session=" + r.cookie["roster_session"]}, csrf
}

// Three replicas on one PostgreSQL schema behave as one server: whatever one of them
// writes (a session, a revocation, a deactivation, a new password, a failed sign-in)
// governs the very next request on every other, and SIGKILL of one in the middle of
// writes loses nothing another replica acknowledged.
func TestReplicas(t *testing.T) {
	db := pgtest.URL(t)
	env := replicaEnv(db)
	ps := startReplicas(t, env, 3)
	admin := []string{"Authorization", "Bearer " + strings.TrimSpace(cliProc(t, env, "", "keys", "create", "--username", "admin"))}
	url := func(i int) string { return ps[i].url }

	t.Run("session", func(t *testing.T) {
		newReplicaAccount(t, url(0), admin, "sam", "sam password 1")
		cookie, csrf := signIn(t, url(0), "sam", "sam password 1")
		r := must(t, 200, "GET", url(1)+"/v1/session", "", cookie...)
		if got, _ := r.json(t)["csrf_token"].(string); got != csrf {
			t.Fatalf("replica 2 derives the CSRF token %q; replica 1 gave %q", got, csrf)
		}
		must(t, 200, "PATCH", url(2)+"/v1/me", `{"bio":"written through replica 3"}`, append(cookie, "X-CSRF-Token", csrf)...)
		must(t, 403, "PATCH", url(1)+"/v1/me", `{"bio":"no token"}`, cookie...)
		must(t, 403, "PATCH", url(1)+"/v1/me", `{"bio":"a wrong token"}`, append(cookie, "X-CSRF-Token", csrf+"x")...)
		if r := must(t, 200, "GET", url(0)+"/v1/me", "", cookie...); !strings.Contains(r.body, "written through replica 3") {
			t.Fatalf("replica 1 does not show what replica 3 wrote: %s", r.body)
		}
		r, err := send(plainClient, "DELETE", url(1)+"/v1/session", "", append(cookie, "X-CSRF-Token", csrf)...)
		if err != nil || r.status >= 300 {
			t.Fatalf("sign-out on replica 2: %v %+v", err, r)
		}
		for i := range ps {
			must(t, 401, "GET", url(i)+"/v1/me", "", cookie...)
		}
	})

	t.Run("revoked key", func(t *testing.T) {
		newReplicaAccount(t, url(0), admin, "kim", "kim password 1")
		r := must(t, 201, "POST", url(0)+"/v1/users/kim/keys", `{"label":"replicas"}`, admin...)
		m := r.json(t)
		key := []string{"Authorization", "Bearer " + m["key"].(string)}
		for i := range ps { // every replica has used it, and could have kept it
			must(t, 200, "GET", url(i)+"/v1/me", "", key...)
		}
		must(t, 200, "DELETE", url(1)+"/v1/keys/"+strconv.Itoa(int(m["id"].(float64))), "", admin...)
		for _, i := range []int{2, 0, 1} {
			must(t, 401, "GET", url(i)+"/v1/me", "", key...)
		}
	})

	t.Run("deactivated account", func(t *testing.T) {
		newReplicaAccount(t, url(0), admin, "dee", "dee password 1")
		key := []string{"Authorization", "Bearer " + strings.TrimSpace(cliProc(t, env, "", "keys", "create", "--username", "dee"))}
		var sessions [][]string
		for i := range ps {
			cookie, _ := signIn(t, url(i), "dee", "dee password 1")
			sessions = append(sessions, cookie)
			must(t, 200, "GET", url(i)+"/v1/me", "", key...)
		}
		for i := range ps {
			for _, s := range sessions {
				must(t, 200, "GET", url(i)+"/v1/me", "", s...)
			}
		}
		must(t, 200, "POST", url(2)+"/v1/users/dee/deactivate", "", admin...)
		for i := range ps {
			must(t, 401, "GET", url(i)+"/v1/me", "", key...)
			for _, s := range sessions {
				must(t, 401, "GET", url(i)+"/v1/me", "", s...)
			}
			must(t, 401, "POST", url(i)+"/v1/session", `{"login":"dee","password":"dee password 1"}`)
		}
	})

	t.Run("password change", func(t *testing.T) {
		newReplicaAccount(t, url(0), admin, "pat", "pat password 1")
		s1, _ := signIn(t, url(0), "pat", "pat password 1")
		s2, _ := signIn(t, url(1), "pat", "pat password 1")
		for i := range ps {
			must(t, 200, "GET", url(i)+"/v1/me", "", s1...)
			must(t, 200, "GET", url(i)+"/v1/me", "", s2...)
		}
		r, err := send(plainClient, "PUT", url(2)+"/v1/users/pat/password", `{"password":"pat password 2"}`, admin...)
		if err != nil || r.status >= 300 {
			t.Fatalf("new password through replica 3: %v %+v", err, r)
		}
		for i := range ps {
			must(t, 401, "GET", url(i)+"/v1/me", "", s1...)
			must(t, 401, "GET", url(i)+"/v1/me", "", s2...)
			must(t, 401, "POST", url(i)+"/v1/session", `{"login":"pat","password":"pat password 1"}`)
		}
		signIn(t, url(1), "pat", "pat password 2")
	})

	t.Run("throttle", func(t *testing.T) {
		newReplicaAccount(t, url(0), admin, "tom", "tom password 1")
		wrong := `{"login":"tom","password":"a wrong guess"}`
		// Five failures, the most one address may make against one account, spread so
		// that no replica sees more than two.
		for _, i := range []int{0, 1, 2, 0, 1} {
			must(t, 401, "POST", url(i)+"/v1/session", wrong)
		}
		blocked := func(i int) {
			t.Helper()
			r := must(t, 429, "POST", url(i)+"/v1/session", wrong)
			if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
				t.Fatalf("replica %d answered 429 with Retry-After %q", i+1, r.header.Get("Retry-After"))
			}
		}
		// The sixth, on the replica that has seen one, blocks; and every replica then
		// refuses the client. Once the first block (a second) has passed, a further
		// failure blocks again for longer, so the answer is 429 either way, and would be
		// 401 only from a replica that counted alone.
		blocked(2)
		for _, i := range []int{0, 1, 2} {
			blocked(i)
		}
	})

	t.Run("SIGKILL mid-writes", func(t *testing.T) {
		testKillMidWrites(t, db, env, ps, admin)
	})
}

// writerAccount is what the replicas acknowledged of one account a writer made: value
// k of a write sets bio, city (and, from 1, organization) to "v<k>", so a row showing
// two values was half written.
type writerAccount struct {
	username string
	created  bool // the create was acknowledged
	k        int  // the last acknowledged value
	pending  int  // the value of a write sent without an answer (-1: none)
}

// testKillMidWrites: six writers, two per replica, create accounts and change each
// twice; replica 2 gets SIGKILL while they run. Every write a replica acknowledged must
// be there; a write left without an answer may be there or not, but whole, with its
// audit entry, and nothing else.
func testKillMidWrites(t *testing.T, db string, env []string, ps []*proc, admin []string) {
	const victim = 1
	var (
		mu       sync.Mutex
		accounts []*writerAccount
		acked    atomic.Int64
		onVictim atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for g := 0; g < 6; g++ {
		replica := g % 3
		wg.Add(1)
		go func() {
			defer wg.Done()
			ack := func() {
				acked.Add(1)
				if replica == victim {
					onVictim.Add(1)
				}
			}
			// A write without an answer ends the writer: its replica is gone. Any
			// other failure is the test's.
			answered := func(r *reply, err error, want int) bool {
				if err != nil {
					if replica != victim {
						t.Errorf("writer %d on replica %d: %v", g, replica+1, err)
					}
					return false
				}
				if r.status != want {
					t.Errorf("writer %d on replica %d: %d %s", g, replica+1, r.status, r.body)
					return false
				}
				return true
			}
			for i := 0; !stop.Load(); i++ {
				a := &writerAccount{username: fmt.Sprintf("w%d-%03d", g, i), pending: 0}
				mu.Lock()
				accounts = append(accounts, a)
				mu.Unlock()
				r, err := send(client, "POST", ps[replica].url+"/v1/users",
					fmt.Sprintf(`{"username":%q,"email":"%s@example.org","bio":"v0","city":"v0"}`, a.username, a.username), admin...)
				if !answered(r, err, 201) {
					return
				}
				mu.Lock()
				a.created, a.pending = true, -1
				mu.Unlock()
				ack()
				for k := 1; k <= 2; k++ {
					mu.Lock()
					a.pending = k
					mu.Unlock()
					r, err := send(client, "PATCH", ps[replica].url+"/v1/users/"+a.username,
						fmt.Sprintf(`{"bio":"v%d","city":"v%d","organization":"v%d"}`, k, k, k), admin...)
					if !answered(r, err, 200) {
						return
					}
					mu.Lock()
					a.k, a.pending = k, -1
					mu.Unlock()
					ack()
				}
			}
		}()
	}
	waitFor(t, 60*time.Second, "writes on every replica", func() bool { return acked.Load() >= 60 && onVictim.Load() >= 10 })
	ps[victim].kill()
	atKill := acked.Load()
	waitFor(t, 60*time.Second, "writes after the kill", func() bool { return acked.Load() >= atKill+90 || t.Failed() })
	stop.Store(true)
	wg.Wait()
	if t.Failed() {
		return
	}

	ctx := context.Background()
	st, err := postgres.Open(ctx, db, postgres.Options{MaxConns: 2, Access: sqlstore.UseExisting}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	unanswered, applied, present := 0, 0, map[int64]bool{}
	for _, a := range accounts {
		if a.pending >= 0 {
			unanswered++
		}
		got, err := st.GetAccount(ctx, roster.AccountRef{Username: a.username})
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			if a.created {
				t.Errorf("%s: its creation was acknowledged, and it is gone", a.username)
			}
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		present[got.ID] = true
		// The value the row holds, which must be the last acknowledged one or the one
		// sent without an answer, in every field it sets.
		k := int(got.Version) - 1
		ok := k == a.k && a.created || k == a.pending
		v := fmt.Sprintf("v%d", k)
		whole := got.Profile["bio"] == v && got.Profile["city"] == v && (k == 0 && got.Profile["organization"] == nil || got.Profile["organization"] == v)
		if !ok || !whole {
			t.Errorf("%s holds version %d (%v); acknowledged v%d (created: %v), unanswered v%d", a.username, got.Version, got.Profile, a.k, a.created, a.pending)
			continue
		}
		if k == a.pending {
			applied++
		}
		entries, err := st.ListAudit(ctx, roster.AuditFilter{TargetType: "account", TargetID: got.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != k+1 || entries[0].Action != "account.create" {
			t.Errorf("%s at version %d has %d audit entries; want its creation and %d changes", a.username, got.Version, len(entries), k)
			continue
		}
		for j, e := range entries[1:] {
			if !auditSets(e, "bio", fmt.Sprintf("v%d", j+1)) || e.Action != "account.update" {
				t.Errorf("%s: audit entry %d is %s %v; want account.update setting bio to v%d", a.username, e.Seq, e.Action, e.Changes, j+1)
			}
		}
	}
	// Nothing written that no writer sent: every account created by the writers' user
	// is one the test knows, and is present.
	all, err := st.ListAudit(ctx, roster.AuditFilter{Action: "account.create"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if strings.HasPrefix(e.TargetName, "w") && !present[e.TargetID] {
			t.Errorf("the audit log records the creation of %s (%d), which is not there", e.TargetName, e.TargetID)
		}
	}
	t.Logf("%d writes acknowledged (%d before the kill), %d accounts; %d writes were in flight on the killed replica, %d of them committed",
		acked.Load(), atKill, len(accounts), unanswered, applied)
	if out := cliProc(t, env, "", "check"); !strings.Contains(out, "passed all") {
		t.Fatalf("roster check:\n%s", out)
	}

	// The replica comes back on the same database and serves what the others wrote.
	again := serveProc(t, "replica 2, restarted", env)
	must(t, 200, "GET", again.url+"/readyz", "")
	for _, a := range accounts {
		if a.created {
			must(t, 200, "GET", again.url+"/v1/users/"+a.username, "", admin...)
			break
		}
	}
}

// auditSets reports whether e records field set to v.
func auditSets(e *roster.AuditEntry, field string, v any) bool {
	for _, c := range e.Changes {
		if c.Field == field {
			b, _ := json.Marshal(c.New)
			w, _ := json.Marshal(v)
			return string(b) == string(w)
		}
	}
	return false
}
