package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/postgres"
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
	fs.StringVar(&c.db, "db", envOr(e, "ROSTER_DB", DefaultDB), "database URL")
	fs.StringVar(&c.schema, "schema", e.getenv("ROSTER_SCHEMA"), "profile schema extension (JSON file)")
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
	path string // sqlite file
	url  string // postgres URL
}

// parseDB reads sqlite:///abs/path.db, sqlite://rel/path.db, postgres://… (or
// postgresql://…), or a bare file path as SQLite.
func parseDB(s string) (dbTarget, error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return dbTarget{kind: "postgres", url: s}, nil
	case strings.HasPrefix(s, "sqlite://"):
		p := strings.TrimPrefix(s, "sqlite://")
		if p == "" || p == "/" {
			return dbTarget{}, usagef("database URL %q names no file", s)
		}
		return dbTarget{kind: "sqlite", path: filepath.Clean(p)}, nil
	case strings.Contains(s, "://"):
		return dbTarget{}, usagef("unsupported database URL %q: use sqlite://PATH or postgres://…", s)
	case s == "":
		return dbTarget{}, usagef("no database given")
	}
	return dbTarget{kind: "sqlite", path: filepath.Clean(s)}, nil
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

func openStore(ctx context.Context, e *env, c *common, log *slog.Logger) (*sqlstore.DB, dbTarget, error) {
	t, err := parseDB(c.db)
	if err != nil {
		return nil, t, err
	}
	var st *sqlstore.DB
	switch t.kind {
	case "sqlite":
		st, err = sqlite.Open(ctx, t.path, log)
	default:
		conns, _ := strconv.Atoi(e.getenv("ROSTER_PG_MAX_CONNS"))
		st, err = postgres.Open(ctx, t.url, postgres.Options{MaxConns: conns}, log)
	}
	if err != nil {
		return nil, t, fmt.Errorf("opening %s: %w", t, err)
	}
	return st, t, nil
}

func loadSchema(c *common) (*roster.Schema, error) {
	if c.schema == "" {
		return roster.LoadSchema()
	}
	b, err := os.ReadFile(c.schema)
	if err != nil {
		return nil, fmt.Errorf("schema extension: %w", err)
	}
	return roster.LoadSchema(b)
}

// serviceConfig reads the core's settings from the environment.
func serviceConfig(e *env, schema *roster.Schema, log *slog.Logger) (core.Config, error) {
	cfg := core.Config{Schema: schema, Log: log}
	if v := e.getenv("ROSTER_SESSION_LIFETIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, usagef("ROSTER_SESSION_LIFETIME=%q is not a duration such as 12h", v)
		}
		cfg.SessionLifetime = d
	}
	if v := e.getenv("ROSTER_PARENTAL_CONSENT_AGE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return cfg, usagef("ROSTER_PARENTAL_CONSENT_AGE=%q is not an age", v)
		}
		cfg.ParentalConsentAge = n
	}
	return cfg, nil
}

// app is an open store and the service over it.
type app struct {
	store  *sqlstore.DB
	target dbTarget
	svc    *core.Service
	log    *slog.Logger
}

func (a *app) Close() {
	a.svc.Quiesce()
	a.store.Close()
}

// openApp opens the database and the service for a command.
func openApp(ctx context.Context, e *env, c *common, log *slog.Logger) (*app, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	schema, err := loadSchema(c)
	if err != nil {
		return nil, err
	}
	cfg, err := serviceConfig(e, schema, log)
	if err != nil {
		return nil, err
	}
	st, t, err := openStore(ctx, e, c, log)
	if err != nil {
		return nil, err
	}
	svc, err := core.New(st, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &app{store: st, target: t, svc: svc, log: log}, nil
}

// operator is the actor of CLI commands: whoever can run the binary against the database
// can do anything, and the audit log records the OS user.
func operator(ctx context.Context, e *env) context.Context {
	name := e.getenv("USER")
	if name == "" {
		name = "unknown"
	}
	return roster.NewContextWithActor(ctx, roster.Actor{Trusted: true, Username: "cli:" + name, Via: roster.ViaCLI})
}
