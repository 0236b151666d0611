package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// DefaultDB is where Roster keeps its data unless told otherwise.
const DefaultDB = "sqlite://roster-data/roster.db"

// common are the settings every command shares.
type common struct {
	db     string
	schema string
}

func (c *common) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&c.db, "db", envOr(e, "ROSTER_DB", DefaultDB), "the store's database `URL`: sqlite://PATH or postgres://… (default: $ROSTER_DB, else "+DefaultDB+")")
	fs.StringVar(&c.schema, "schema", e.getenv("ROSTER_SCHEMA"), "profile schema extension, a JSON `FILE` (default: $ROSTER_SCHEMA)")
	// Help shows where the defaults come from, not their values: $ROSTER_DB may hold a
	// password.
	fs.Lookup("db").DefValue = ""
	fs.Lookup("schema").DefValue = ""
}

func envOr(e *env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// dbTarget is a parsed database URL.
type dbTarget struct {
	kind string // sqlite or postgres
	path string // sqlite file, absolute
	url  string // postgres URL
}

// parseDB reads sqlite:///abs/path.db, sqlite://rel/path.db, postgres://… (or
// postgresql://…), or a bare file path as SQLite.
func parseDB(s string) (dbTarget, error) {
	var p string
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return dbTarget{kind: "postgres", url: s}, nil
	case strings.HasPrefix(s, "sqlite://"):
		p = strings.TrimPrefix(s, "sqlite://")
		if p == "" || p == "/" {
			return dbTarget{}, usagef("database URL %q names no file", s)
		}
	case strings.Contains(s, "://"):
		return dbTarget{}, usagef("unsupported database URL %q: use sqlite://PATH or postgres://…", s)
	case s == "":
		return dbTarget{}, usagef("no database given")
	default:
		p = s
	}
	// Messages name the file absolutely: a relative path means little in a log, or to
	// an operator who ran the command from another directory.
	abs, err := filepath.Abs(p)
	if err != nil {
		return dbTarget{}, err
	}
	return dbTarget{kind: "sqlite", path: abs}, nil
}

// String names the database without credentials, for logs.
func (t dbTarget) String() string {
	if t.kind == "sqlite" {
		return "sqlite://" + t.path
	}
	if i := strings.Index(t.url, "@"); i >= 0 {
		if j := strings.Index(t.url, "://"); j >= 0 && j < i {
			return t.url[:j+3] + "…" + t.url[i:]
		}
	}
	return t.url
}

// where names the store in messages: the file, or the database without credentials.
func (t dbTarget) where() string {
	if t.kind == "sqlite" {
		return t.path
	}
	return t.String()
}

// use is what a command does with the store, which decides what opening it may do.
type use int

const (
	reads    use = iota // an existing store at the current schema
	writes              // the same, and it must be writable
	migrates            // an existing store, migrated (roster migrate)
	creates             // a new store (roster init)
	serves              // created if missing, migrated if older (roster serve)
)

func (u use) access() sqlstore.Access {
	switch u {
	case migrates:
		return sqlstore.MigrateExisting
	case creates:
		return sqlstore.CreateNew
	case serves:
		return sqlstore.CreateOrMigrate
	}
	return sqlstore.UseExisting
}

func openStore(ctx context.Context, e *env, c *common, log *slog.Logger, u use) (*sqlstore.DB, dbTarget, error) {
	t, err := parseDB(c.db)
	if err != nil {
		return nil, t, err
	}
	var st *sqlstore.DB
	switch t.kind {
	case "sqlite":
		st, err = sqlite.OpenWith(ctx, t.path, sqlite.Options{Access: u.access(), Log: log})
	default:
		conns, _ := strconv.Atoi(e.getenv("ROSTER_PG_MAX_CONNS"))
		st, err = postgres.Open(ctx, t.url, postgres.Options{MaxConns: conns, Access: u.access()}, log)
	}
	if err != nil {
		return nil, t, storeError(t, err)
	}
	return st, t, nil
}

// storeError words the engine's verdict on a store for the operator, naming the store.
func storeError(t dbTarget, err error) error {
	var missing *sqlstore.NoStoreError
	var outdated *sqlstore.OutdatedError
	const sameDB = "with the same --db"
	switch {
	case errors.As(err, &missing) && t.kind == "sqlite":
		return fmt.Errorf("no Roster store at %s (create one with 'roster init' or 'roster serve', %s)", t.where(), sameDB)
	case errors.As(err, &missing):
		return fmt.Errorf("no Roster store at %s (%s holds none; create one with 'roster init' or 'roster serve', %s)", t.where(), missing.Where, sameDB)
	case errors.Is(err, sqlstore.ErrReadOnlyCreate):
		return fmt.Errorf("no Roster store at %s, and none can be made there: the database is read-only", t.where())
	case errors.Is(err, sqlstore.ErrExists):
		return fmt.Errorf("a Roster store already exists at %s; init changed nothing (bring it up to date with 'roster migrate'; serve it with 'roster serve')", t.where())
	case errors.As(err, &outdated) && outdated.ReadOnly:
		return fmt.Errorf("the store at %s is read-only and has schema version %d; this roster needs %d, and can migrate it only where it is writable", t.where(), outdated.Current, outdated.Target)
	case errors.As(err, &outdated):
		return fmt.Errorf("the store at %s has schema version %d and this roster needs %d (bring it up to date with 'roster migrate', %s)", t.where(), outdated.Current, outdated.Target, sameDB)
	}
	return fmt.Errorf("opening %s: %w", t, err)
}

// startupSettings are the policy settings given at start, by flag or environment: the
// store keeps each once given, and a stored value wins over a different one given later
// (core.Service.ApplyStartup).
func startupSettings(e *env, c *common) (map[string]string, error) {
	out := map[string]string{}
	if c.schema != "" {
		b, err := os.ReadFile(c.schema)
		if err != nil {
			return nil, fmt.Errorf("schema extension: %w", err)
		}
		if _, err := roster.LoadSchema(b); err != nil {
			return nil, fmt.Errorf("schema extension %s: %w", c.schema, err)
		}
		out[roster.SettingSchema] = string(b)
	}
	if v := e.getenv("ROSTER_PARENTAL_CONSENT_AGE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 120 {
			return nil, usagef("ROSTER_PARENTAL_CONSENT_AGE=%q is not an age", v)
		}
		out[roster.SettingParentalConsentAge] = strconv.Itoa(n)
	}
	if v := e.getenv("ROSTER_DEFAULT_PRIVACY"); v != "" {
		b, _ := json.Marshal(v)
		out[roster.SettingDefaultPrivacy] = string(b)
	}
	return out, nil
}

// serviceConfig reads the core's settings from the environment.
func serviceConfig(e *env, log *slog.Logger) (core.Config, error) {
	cfg := core.Config{Log: log}
	if v := e.getenv("ROSTER_SESSION_LIFETIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, usagef("ROSTER_SESSION_LIFETIME=%q is not a duration such as 12h", v)
		}
		cfg.SessionLifetime = d
	}
	// Profile image limits. Like the body limits, they are each process's own: give
	// every replica the same.
	for _, lim := range []struct {
		env string
		n   *int64
		max int64
	}{
		{"ROSTER_PROFILE_IMAGE_MIN_BYTES", &cfg.ProfileImages.MinBytes, 1 << 30},
		{"ROSTER_PROFILE_IMAGE_MAX_BYTES", &cfg.ProfileImages.MaxBytes, 1 << 30},
		// A decoded pixel takes up to 12 bytes: past 100 megapixels one upload could
		// take more than a gigabyte.
		{"ROSTER_PROFILE_IMAGE_MAX_PIXELS", &cfg.ProfileImages.MaxPixels, 100_000_000},
	} {
		if v := e.getenv(lim.env); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > lim.max {
				return cfg, usagef("%s=%q is not a number from 1 to %d", lim.env, v, lim.max)
			}
			*lim.n = n
		}
	}
	if l := cfg.ProfileImages.WithDefaults(); l.MinBytes > l.MaxBytes {
		return cfg, usagef("ROSTER_PROFILE_IMAGE_MIN_BYTES (%d) is more than ROSTER_PROFILE_IMAGE_MAX_BYTES (%d)", l.MinBytes, l.MaxBytes)
	}
	if v := e.getenv("ROSTER_EMAIL_CHANGE_LIFETIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, usagef("ROSTER_EMAIL_CHANGE_LIFETIME=%q is not a duration such as 24h", v)
		}
		cfg.EmailChangeLifetime = d
	}
	cfg.PublicURL = e.getenv("ROSTER_PUBLIC_URL")
	return cfg, nil
}

// app is an open store and the services over it.
type app struct {
	store    *sqlstore.DB
	target   dbTarget
	svc      *core.Service
	projects *projects.Service
	oauth    *oauth.Service
	log      *slog.Logger
}

func (a *app) Close() {
	a.svc.Quiesce()
	a.store.Close()
}

// describe names the store as it was opened: a file, or a database and its schema.
func (a *app) describe() string {
	if a.target.kind == "sqlite" {
		return a.store.Where()
	}
	return a.target.String() + " (" + a.store.Where() + ")"
}

// openApp opens the database and the service for a command. Without a log, warnings
// go to standard error as plain lines.
// Each of adjust changes the core's configuration first (serve's flags).
func openApp(ctx context.Context, e *env, c *common, log *slog.Logger, u use, adjust ...func(*core.Config)) (*app, error) {
	if log == nil {
		log = slog.New(&warnings{w: e.stderr})
	}
	settings, err := startupSettings(e, c)
	if err != nil {
		return nil, err
	}
	cfg, err := serviceConfig(e, log)
	if err != nil {
		return nil, err
	}
	for _, f := range adjust {
		f(&cfg)
	}
	st, t, err := openStore(ctx, e, c, log, u)
	if err != nil {
		return nil, err
	}
	if u == writes {
		// Refused here, with the store named, rather than by the first write.
		ro, err := st.ReadOnly(ctx)
		if err == nil && ro {
			err = fmt.Errorf("the store at %s is read-only: this command would change it", t.where())
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	svc, err := core.New(st, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := applyStartup(ctx, st, svc, settings, log); err != nil {
		st.Close()
		return nil, err
	}
	return &app{store: st, target: t, svc: svc, projects: projects.New(st, svc, projects.Config{}),
		oauth: oauth.New(st, svc, oauth.Config{Log: log}), log: log}, nil
}

// applyStartup stores the settings given at start that the store holds no value for,
// and warns once for each the store holds another value of. A read-only store takes
// none: the warning says so.
func applyStartup(ctx context.Context, st *sqlstore.DB, svc *core.Service, settings map[string]string, log *slog.Logger) error {
	if len(settings) == 0 {
		return nil
	}
	if ro, err := st.ReadOnly(ctx); err == nil && ro {
		for name := range settings {
			log.Warn("the store is read-only: a setting given at start is not stored", "setting", name)
		}
		return nil
	}
	warnings, err := svc.ApplyStartup(ctx, settings)
	for _, w := range warnings {
		log.Warn(w)
	}
	return err
}

// warnings is the log of commands other than serve: warnings and errors, one plain
// line each, for an operator at a terminal.
type warnings struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *warnings) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("roster: warning: ")
	b.WriteString(r.Message)
	var kv []string
	for _, a := range h.attrs {
		kv = append(kv, a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		kv = append(kv, a.String())
		return true
	})
	if len(kv) > 0 {
		b.WriteString(" (" + strings.Join(kv, " ") + ")")
	}
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *warnings) WithAttrs(as []slog.Attr) slog.Handler {
	return &warnings{w: h.w, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *warnings) WithGroup(string) slog.Handler { return h }

// operator is the actor of CLI commands: whoever can run the binary against the database
// can do anything, and the audit log records the OS user.
func operator(ctx context.Context, e *env) context.Context {
	name := e.getenv("USER")
	if name == "" {
		name = "unknown"
	}
	return roster.NewContextWithActor(ctx, roster.Actor{Trusted: true, Username: "cli:" + name, Via: roster.ViaCLI})
}
