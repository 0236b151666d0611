package main

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/rosterhq/roster/internal/postgres/pgtest"
)

// storeCommands are the commands that act on an existing store, each with arguments
// that would be valid on one.
func storeCommands(t *testing.T) [][]string {
	in := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte("username,email\nnew,new@example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return [][]string{
		{"users", "list"}, {"users", "show", "alice"}, {"users", "create", "--username", "bob", "--email", "bob@example.org"},
		{"users", "set-password", "alice", "--password-stdin"}, {"users", "deactivate", "alice"}, {"users", "activate", "alice"},
		{"users", "delete", "alice"}, {"users", "import", in}, {"users", "import", "--dry-run", in}, {"users", "export"},
		{"keys", "create", "--username", "alice"}, {"keys", "list", "alice"}, {"keys", "revoke", "1"},
		{"projects", "create", "--title", "T", "--forms", "f"}, {"projects", "list"}, {"projects", "members", "--project", "1"},
		{"projects", "add-user", "--project", "1", "--username", "u"}, {"projects", "remove-user", "--project", "1", "--username", "u"},
		{"projects", "token", "--project", "1", "--username", "u"}, {"projects", "revoke-token", "--project", "1", "--username", "u"},
		{"oauth2", "apps", "create", "--name", "A", "--owner", "alice", "--grant", "password"}, {"oauth2", "apps", "list"},
		{"oauth2", "apps", "show", "1"}, {"oauth2", "apps", "update", "1", "--name", "B"}, {"oauth2", "apps", "rotate-secret", "1"},
		{"oauth2", "apps", "revoke", "1"}, {"oauth2", "keys", "list"}, {"oauth2", "keys", "rotate"}, {"oauth2", "keys", "retire", "k"},
		{"migrate"}, {"check"},
	}
}

// tree lists every path under dir, with dir itself first.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil || !os.IsNotExist(err) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A mistyped --db must not create and migrate a new store: every command but serve and
// init fails with one line naming the absolute path it looked at, and creates nothing.
func TestMissingStoreSQLite(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	outside := t.TempDir()
	for _, db := range []struct{ flag, abs string }{
		{"sqlite://" + filepath.Join(work, "no", "such", "dir", "roster.db"), filepath.Join(work, "no", "such", "dir", "roster.db")},
		{filepath.Join(work, "roster.db"), filepath.Join(work, "roster.db")},
		{"sqlite://data/roster.db", filepath.Join(work, "data", "roster.db")},
		{"roster.db", filepath.Join(work, "roster.db")},
	} {
		te := newTestEnv(t)
		te.db = db.flag
		cmds := append(storeCommands(t),
			[]string{"backup", filepath.Join(outside, "backup.db")},
			[]string{"users", "export", "--out", filepath.Join(outside, "export.csv")})
		for _, args := range cmds {
			code, out, errs := te.cli(t, "a password\n", args...)
			want := "roster: no Roster store at " + db.abs + " (create one with 'roster init' or 'roster serve', with the same --db)"
			if code != 1 || out != "" || strings.TrimSpace(errs) != want {
				t.Errorf("roster %s --db %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), db.flag, code, out, errs, want)
			}
			if got := tree(t, work); len(got) != 1 {
				t.Fatalf("roster %s --db %s created %v", strings.Join(args, " "), db.flag, got[1:])
			}
			if got := tree(t, outside); len(got) != 1 {
				t.Fatalf("roster %s --db %s created %v", strings.Join(args, " "), db.flag, got[1:])
			}
		}
	}
}

// pgSchema is the schema a pgtest URL points at.
func pgSchema(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query().Get("search_path")
}

func pgTables(t *testing.T, u string) []string {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", pgSchema(t, u))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// On PostgreSQL a missing store is a reachable database whose schema holds no Roster
// tables; commands other than serve and init must not migrate it.
func TestMissingStorePostgres(t *testing.T) {
	u := pgtest.URL(t)
	te := &testEnv{db: u, vars: map[string]string{"USER": "tester"}}
	redacted := (dbTarget{kind: "postgres", url: u}).String()
	if strings.Contains(redacted, "roster:roster@") {
		t.Fatalf("the password is not redacted: %s", redacted)
	}
	outside := t.TempDir()
	for _, args := range append(storeCommands(t), []string{"backup", filepath.Join(outside, "backup.db")}) {
		code, out, errs := te.cli(t, "a password\n", args...)
		want := "roster: no Roster store at " + redacted + ` (schema "` + pgSchema(t, u) + `" holds none; create one with 'roster init' or 'roster serve', with the same --db)`
		if code != 1 || out != "" || strings.TrimSpace(errs) != want {
			t.Errorf("roster %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, out, errs, want)
		}
		if tables := pgTables(t, u); len(tables) != 0 {
			t.Fatalf("roster %s created %v", strings.Join(args, " "), tables)
		}
		if got := tree(t, outside); len(got) != 1 {
			t.Fatalf("roster %s created %v", strings.Join(args, " "), got[1:])
		}
	}
}

// A second serve on a busy port must fail before it creates or migrates anything.
func TestServeBindsBeforeTouchingTheStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	te := newTestEnv(t)
	te.db = "sqlite://" + filepath.Join(dir, "data", "roster.db")
	code, out, errs := te.cli(t, "", "serve", "--addr", ln.Addr().String())
	if code != 1 || len(errorLines(errs)) != 1 || !strings.Contains(errs, "address already in use") {
		t.Errorf("serve on a busy port: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if got := tree(t, dir); len(got) != 1 {
		t.Errorf("serve on a busy port created %v", got[1:])
	}
	if os.Getenv(pgtest.EnvVar) == "" {
		return
	}
	te.db = pgtest.URL(t)
	if code, _, errs := te.cli(t, "", "serve", "--addr", ln.Addr().String()); code != 1 {
		t.Errorf("serve on a busy port: exit %d, %q", code, errs)
	}
	if tables := pgTables(t, te.db); len(tables) != 0 {
		t.Errorf("serve on a busy port migrated PostgreSQL: %v", tables)
	}
}

// serve says when it creates a store, naming its absolute path, on stdout and in the log.
func TestServeAnnouncesANewStore(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	te := newTestEnv(t)
	te.db = "sqlite://data/roster.db"
	abs := filepath.Join(dir, "data", "roster.db")
	srv := te.serve(t)
	if want := "Created a new Roster store at " + abs + "\n"; !strings.Contains(srv.stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, srv.stdout.String())
	}
	if !regexp.MustCompile(`"msg":"created a new store","store":"` + regexp.QuoteMeta(abs) + `"`).MatchString(srv.stderr.String()) {
		t.Errorf("the log does not report the new store:\n%s", srv.stderr.String())
	}
	srv.stop()
	again := te.serve(t)
	if strings.Contains(again.stdout.String(), "Created a new Roster store") || strings.Contains(again.stderr.String(), "created a new store") {
		t.Errorf("a second start reports a new store:\n%s\n%s", again.stdout.String(), again.stderr.String())
	}
}

// init creates and migrates the store and its first admin, as serve's first start does;
// on an existing store it changes nothing and fails.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	te := newTestEnv(t)
	te.db = "sqlite://data/roster.db"
	abs := filepath.Join(dir, "data", "roster.db")
	code, out, errs := te.cli(t, "", "init")
	if code != 0 || !strings.HasPrefix(out, "Created a new Roster store at "+abs+"\n") {
		t.Fatalf("init: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	m := regexp.MustCompile(`Created the system administrator "admin". Its password, shown only this once:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil || strings.Contains(errs, m[1]) {
		t.Fatalf("init did not show the admin password once, on stdout only: %q %q", out, errs)
	}
	if show := te.mustCLI(t, "", "users", "show", "admin"); !regexp.MustCompile(`sysadmin\s+true`).MatchString(show) {
		t.Fatalf("no sysadmin admin: %s", show)
	}
	before, _ := os.ReadFile(abs)
	code, out, errs = te.cli(t, "", "init")
	want := "roster: a Roster store already exists at " + abs + "; init changed nothing (bring it up to date with 'roster migrate'; serve it with 'roster serve')"
	if code != 1 || out != "" || strings.TrimSpace(errs) != want {
		t.Fatalf("init on an existing store: exit %d, stdout %q, stderr %q; want %q", code, out, errs, want)
	}
	if after, _ := os.ReadFile(abs); string(after) != string(before) {
		t.Fatal("init changed an existing store")
	}

	t.Run("NoAdmin", func(t *testing.T) {
		te := newTestEnv(t)
		out := te.mustCLI(t, "", "init", "--no-admin")
		if strings.Contains(out, "administrator") {
			t.Fatalf("init --no-admin made an admin: %s", out)
		}
		if n := strings.Count(te.mustCLI(t, "", "users", "list", "--state", "any"), "\n"); n != 1 {
			t.Fatalf("init --no-admin: %d lines in the list, want the header alone", n)
		}
	})
	t.Run("PasswordFromEnvironment", func(t *testing.T) {
		te := newTestEnv(t)
		te.vars["ROSTER_ADMIN_PASSWORD"] = "operator's password"
		out := te.mustCLI(t, "", "init")
		if !strings.Contains(out, `Created the system administrator "admin" with the password from ROSTER_ADMIN_PASSWORD.`) || strings.Contains(out, "operator's password") {
			t.Fatalf("init: %s", out)
		}
	})
	t.Run("Postgres", func(t *testing.T) {
		te := &testEnv{db: pgtest.URL(t), vars: map[string]string{"ROSTER_ADMIN_PASSWORD": "operator's password"}}
		redacted := (dbTarget{kind: "postgres", url: te.db}).String()
		if out := te.mustCLI(t, "", "init"); !strings.HasPrefix(out, "Created a new Roster store at "+redacted+` (schema "`+pgSchema(t, te.db)+`")`) {
			t.Fatalf("init: %s", out)
		}
		code, _, errs := te.cli(t, "", "init")
		if code != 1 || !strings.Contains(errs, "roster: a Roster store already exists at "+redacted) {
			t.Fatalf("init on an existing store: exit %d, %q", code, errs)
		}
	})
}

// olderStore makes a store at schema version 3 with the engine's own migrations.
func olderStore(t *testing.T, driver string, dialect database.Dialect, dsn, migrations string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(dialect, db, os.DirFS(migrations))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
}

func schemaVersion(t *testing.T, dbURL string) int64 {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if p, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		driver, dsn = "sqlite", "file:"+p+"?mode=ro"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int64
	if err := db.QueryRow("SELECT MAX(version_id) FROM goose_db_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Only serve, init and migrate migrate a store; other commands refuse an older schema
// rather than change it behind the operator's back.
func TestOlderStoreNeedsMigrate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "roster.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	olderStore(t, "sqlite", database.DialectSQLite3, path, "../../internal/sqlite/migration")
	pgURL := ""
	if os.Getenv(pgtest.EnvVar) != "" {
		pgURL = pgtest.URL(t)
		olderStore(t, "pgx", database.DialectPostgres, pgURL, "../../internal/postgres/migration")
	}
	// The newest migration's version: other migrations may be added after this test.
	target := func(dir string) int64 {
		names, err := filepath.Glob(filepath.Join(dir, "*.sql"))
		if err != nil || len(names) == 0 {
			t.Fatalf("no migrations in %s: %v", dir, err)
		}
		slices.Sort(names)
		v, err := strconv.ParseInt(strings.SplitN(filepath.Base(names[len(names)-1]), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		db, where string
		target    int64
	}{
		{"sqlite://" + path, path, target("../../internal/sqlite/migration")},
		{pgURL, (dbTarget{kind: "postgres", url: pgURL}).String(), target("../../internal/postgres/migration")},
	} {
		if c.db == "" {
			continue
		}
		te := &testEnv{db: c.db, vars: map[string]string{"USER": "tester"}}
		for _, args := range [][]string{{"users", "list"}, {"users", "create", "--username", "bob", "--email", "bob@example.org"}, {"backup", filepath.Join(t.TempDir(), "b.db")}} {
			code, out, errs := te.cli(t, "", args...)
			want := fmt.Sprintf("roster: the store at %s has schema version 3 and this roster needs %d (bring it up to date with 'roster migrate', with the same --db)", c.where, c.target)
			if code != 1 || out != "" || strings.TrimSpace(errs) != want {
				t.Errorf("roster %s on %s: exit %d, stdout %q, stderr %q; want %q", strings.Join(args, " "), c.where, code, out, errs, want)
			}
		}
		if v := schemaVersion(t, c.db); v != 3 {
			t.Fatalf("refused commands moved %s to schema version %d", c.where, v)
		}
		if c.db == pgURL {
			code, _, errs := te.cli(t, "", "migrate")
			if code != 0 || !strings.Contains(errs, "is up to date") {
				t.Fatalf("migrate: exit %d, %q", code, errs)
			}
		} else {
			te.serve(t).stop()
		}
		if v := schemaVersion(t, c.db); v != c.target {
			t.Fatalf("%s is at schema version %d after migrating", c.where, v)
		}
		te.mustCLI(t, "", "users", "list")
	}
}

// Every command and subcommand explains itself with --help (and -h): usage on standard
// output, exit 0, and nothing done.
func TestEveryCommandExplainsItself(t *testing.T) {
	dir := t.TempDir()
	te := newTestEnv(t)
	te.db = "sqlite://" + filepath.Join(dir, "roster.db")
	groups := map[string][]string{
		"users":       {"create", "list", "show", "set-password", "deactivate", "activate", "delete", "import", "export"},
		"keys":        {"create", "list", "revoke"},
		"projects":    {"create", "list", "members", "add-user", "remove-user", "token", "revoke-token"},
		"outbox":      {"list", "show"},
		"oauth2":      nil,
		"oauth2 apps": {"create", "list", "show", "update", "rotate-secret", "revoke"},
		"oauth2 keys": {"list", "rotate", "retire"},
	}
	cmds := [][]string{{"serve"}, {"init"}, {"backup"}, {"schema"}, {"migrate"}, {"check"}}
	for g, subs := range groups {
		cmds = append(cmds, strings.Fields(g))
		for _, s := range subs {
			cmds = append(cmds, append(strings.Fields(g), s))
		}
	}
	for _, cmd := range cmds {
		for _, h := range []string{"--help", "-h", "-help"} {
			code, out, errs := te.cli(t, "", append(cmd, h)...)
			name := "roster " + strings.Join(cmd, " ")
			if code != 0 || errs != "" || !strings.HasPrefix(out, "Usage:\n") || !strings.Contains(out, "  "+name) {
				t.Errorf("%s %s: exit %d, stderr %q, stdout:\n%s", name, h, code, errs, out)
			}
			if _, group := groups[strings.Join(cmd, " ")]; !group {
				if !strings.Contains(out, "-db URL") {
					t.Errorf("%s %s does not describe its flags:\n%s", name, h, out)
				}
			}
		}
	}
	code, out, _ := te.cli(t, "", "help")
	if code != 0 || !strings.Contains(out, "roster init") {
		t.Errorf("roster help: exit %d:\n%s", code, out)
	}
	if got := tree(t, dir); len(got) != 1 {
		t.Errorf("asking for help created %v", got[1:])
	}
}
