package pybossa_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// The browser tests drive Debian's Chromium through chromedp against the production
// handler: a person signs in, searches, promotes and demotes an admin through the pages,
// and pages of other origins try to make those changes with the person's cookie. Each
// step leaves a screenshot in the test's artifact directory (go test -artifacts keeps
// them under -outputdir).

// chromium finds the browser, or skips (fails in CI, which installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed; .ci/run installs Debian's chromium")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); skipping the browser tests")
	return ""
}

// browser is one headless Chromium with a fresh profile, closed with the test.
type browser struct {
	ctx   context.Context
	t     *testing.T
	shots int
	// dialogs counts JavaScript dialogs opened: a page that ran an injected script.
	dialogs atomic.Int32
}

func newBrowser(t *testing.T) *browser {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs the tests as root
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1100, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx, t: t}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			b.dialogs.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

// do runs steps, each bounded so that a page that never comes fails the test.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func get[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// load runs a step that leads to a new page (a click on a link, a form's submission),
// and waits for that page.
func (b *browser) load(step chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	get(b, chromedp.WaitEvent(page.LoadEventFired, nil, step))
}

// shot saves a screenshot of the whole page as NN-name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	png := get(b, chromedp.FullScreenshot(100))
	b.shots++
	file := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) location() string { return get(b, chromedp.Location()) }

func (b *browser) text(sel string) string { return get(b, chromedp.Text(chromedp.CSS(sel))) }

// signIn signs in through the page, from a page that needs it.
func (b *browser) signIn(base, login, password string) {
	b.load(chromedp.Navigate(base + "/admin/users"))
	if loc := b.location(); !strings.HasPrefix(loc, base+"/account/signin?next=%2Fadmin%2Fusers") {
		b.t.Fatalf("not sent to sign in: %s", loc)
	}
	if flash := b.text(".flash"); flash != "Please sign in to access this page." {
		b.t.Fatalf("sign-in page flash %q", flash)
	}
	b.shot("signin")
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), login), chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.load(chromedp.Click(chromedp.CSS("main button[type=submit]")))
	if loc := b.location(); loc != base+"/admin/users" {
		b.t.Fatalf("after signing in: %s", loc)
	}
}

func isAdmin(t *testing.T, e *testkit.Env, id int64) bool {
	t.Helper()
	rec, err := e.Svc.GetAccount(testkit.Operator(), roster.RefID(id), roster.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := rec.Get("sysadmin")
	return v == true
}

// sqlite runs fn on SQLite only: the browser tests are about pages, which the engines
// do not change.
func sqlite(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		if strings.HasSuffix(t.Name(), "/postgres") {
			t.Skip("the browser tests run on SQLite")
		}
		fn(t, e)
	})
}

func TestBrowserAdminPages(t *testing.T) {
	sqlite(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		b := newBrowser(t)
		b.signIn(e.URL, "root@example.org", f.rootPassword)
		if got := b.text(".flash"); got != "Welcome back root" {
			t.Errorf("flash after sign-in %q", got)
		}
		if got := b.text("table[aria-labelledby=admins] tbody"); !strings.Contains(got, "jane") || strings.Contains(got, "root") {
			t.Errorf("admins listed: %q", got)
		}
		b.shot("admins")

		// Search, by full name.
		b.do(chromedp.SendKeys(chromedp.CSS("#user"), "bloggs"))
		b.load(chromedp.Submit(chromedp.CSS("#user")))
		if got := b.text("table[aria-labelledby=found] tbody"); !strings.Contains(got, "joe") || !strings.Contains(got, "Make admin") {
			t.Fatalf("search results: %q", got)
		}
		b.shot("search")

		// Promote joe from the results, then demote him from the admins' table.
		b.load(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/admin/users/add/%d"]`, f.joeID))))
		if !isAdmin(t, e, f.joeID) || b.location() != e.URL+"/admin/users" {
			t.Fatalf("joe not promoted (at %s)", b.location())
		}
		if got := b.text("table[aria-labelledby=admins] tbody"); !strings.Contains(got, "joe") {
			t.Fatalf("joe not listed among the admins: %q", got)
		}
		b.shot("promoted")
		b.load(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/admin/users/del/%d"]`, f.joeID))))
		if isAdmin(t, e, f.joeID) {
			t.Fatal("joe not demoted")
		}
		b.shot("demoted")

		// A search posted without its CSRF token fails, and finds nothing.
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('main input[name=csrf_token]').remove()`),
			chromedp.SendKeys(chromedp.CSS("#user"), "joe"))
		b.load(chromedp.Submit(chromedp.CSS("#user")))
		if got := b.text("main"); !strings.Contains(got, "CSRF validation failed.") || strings.Contains(got, "Joe Bloggs") {
			t.Fatalf("search without its token: %q", got)
		}
		b.shot("csrf-refused")

		// Signing out from the page ends the session.
		b.load(chromedp.Navigate(e.URL + "/admin/users"))
		b.load(chromedp.Click(chromedp.CSS("header button[type=submit]")))
		if got := b.text(".flash"); got != "You are now signed out." {
			t.Errorf("after signing out: %q", got)
		}
		b.load(chromedp.Navigate(e.URL + "/admin/users"))
		if loc := b.location(); !strings.Contains(loc, "/account/signin") {
			t.Fatalf("still signed in after signing out: %s", loc)
		}
		b.shot("signed-out")
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d script dialogs opened", n)
		}
	})
}

// attacker serves, on addr, a page that embeds the URL as an image and links to it.
func attacker(t *testing.T, addr, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>A page of another origin</title>
<h1>Win a prize</h1>
<img id="pixel" src="%[1]s" alt="pixel" width="10" height="10">
<p><a id="go" href="%[1]s">Claim the prize</a></p>`, target)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBrowserOtherOriginsChangeNothing(t *testing.T) {
	sqlite(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		b := newBrowser(t)
		b.signIn(e.URL, "root", f.rootPassword)
		target := fmt.Sprintf("%s/admin/users/add/%d", e.URL, f.joeID)
		origins := map[string]string{
			"another port":          attacker(t, "127.0.0.1:0", target),
			"another loopback host": attacker(t, "127.0.0.2:0", target),
		}
		for name, origin := range origins {
			b.load(chromedp.Navigate(origin + "/"))
			// The load event came after the image's request.
			if !get(b, chromedp.Evaluate[bool](`document.getElementById('pixel').complete`)) {
				t.Fatal("the image was not asked for")
			}
			b.shot(strings.ReplaceAll(name, " ", "-") + "-page")
			if isAdmin(t, e, f.joeID) {
				t.Fatalf("the image on %s's page made joe an admin", name)
			}
			b.load(chromedp.Click(chromedp.CSS("#go")))
			if !strings.HasPrefix(b.location(), target) {
				t.Fatalf("the link led to %s", b.location())
			}
			if got := b.text("main"); !strings.Contains(got, "another site's page") {
				t.Errorf("the link from %s's page: %q", name, got)
			}
			b.shot(strings.ReplaceAll(name, " ", "-") + "-link")
			if isAdmin(t, e, f.joeID) {
				t.Fatalf("the link on %s's page made joe an admin", name)
			}
		}
		// The same link on Roster's own page works: the session was live all along.
		b.load(chromedp.Navigate(e.URL + "/admin/users"))
		b.do(chromedp.SendKeys(chromedp.CSS("#user"), "joe"))
		b.load(chromedp.Submit(chromedp.CSS("#user")))
		b.load(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/admin/users/add/%d"]`, f.joeID))))
		if !isAdmin(t, e, f.joeID) {
			t.Fatal("the same link on Roster's own page did not work")
		}
		b.shot("own-page")
	})
}

// TestBrowserEscapesNames: a name made to break out of text and attributes shows as
// text on every page, in the search results too, and runs nothing.
func TestBrowserEscapesNames(t *testing.T) {
	sqlite(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		const evil = `Eve <script>alert(1)</script> "><img src=x onerror=alert(2)> '` + "`"
		e.Account(t, map[string]any{"username": "eve", "email": "eve@example.org", "name": evil, "sysadmin": true})
		b := newBrowser(t)
		// The sign-in page shows back what was typed.
		b.load(chromedp.Navigate(e.URL + "/account/signin"))
		b.do(chromedp.SendKeys(chromedp.CSS("#email"), evil), chromedp.SendKeys(chromedp.CSS("#password"), "wrong password"))
		b.load(chromedp.Click(chromedp.CSS("main button[type=submit]")))
		if got := get(b, chromedp.Value(chromedp.CSS("#email"))); got != evil {
			t.Errorf("the sign-in form holds %q", got)
		}
		if got := b.text(".flash"); got != "Ooops, Incorrect email/password" {
			t.Errorf("the sign-in flash %q", got)
		}
		b.shot("signin-escaped")
		b.signIn(e.URL, "root", f.rootPassword)
		if got := b.text("table[aria-labelledby=admins] tbody"); !strings.Contains(got, evil) {
			t.Errorf("the admins' table shows %q", got)
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#user"), "<script>"))
		b.load(chromedp.Submit(chromedp.CSS("#user")))
		if got := b.text("table[aria-labelledby=found] tbody"); !strings.Contains(got, evil) {
			t.Errorf("the results show %q", got)
		}
		if value := get(b, chromedp.Value(chromedp.CSS("#user"))); value != "<script>" {
			t.Errorf("the search box holds %q", value)
		}
		scripts := get(b, chromedp.Evaluate[int](`document.scripts.length`))
		images := get(b, chromedp.Evaluate[int](`document.images.length`))
		if scripts != 0 || images != 0 || b.dialogs.Load() != 0 {
			t.Errorf("the page has %d scripts, %d images; %d dialogs opened", scripts, images, b.dialogs.Load())
		}
		b.shot("escaped")
	})
}
