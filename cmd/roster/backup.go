package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func cmdBackup(ctx context.Context, e *env, args []string) error {
	fs := flags("backup", e)
	var c common
	c.register(fs, e)
	path, err := parseOne(fs, args, "destination file")
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	start := time.Now()
	err = a.store.Backup(ctx, path, func(table string, rows int64) {
		fmt.Fprintf(e.stderr, "backup: %s: %d rows\n", table, rows)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "backup: wrote %s in %s; serve it with: roster serve --db sqlite://%s\n", path, time.Since(start).Round(time.Millisecond), path)
	return nil
}

func cmdSchema(ctx context.Context, e *env, args []string) error {
	fs := flags("schema", e)
	var c common
	c.register(fs, e)
	markdown := fs.Bool("markdown", false, "print the embedded default schema as the attribute table of docs/accounts.md (needs no store)")
	def := fs.Bool("default", false, "print the embedded default schema, not the store's (needs no store)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var s *roster.Schema
	var err error
	if *markdown || *def {
		s, err = roster.LoadSchema()
	} else {
		var a *app
		if a, err = openApp(ctx, e, &c, nil, reads); err != nil {
			return err
		}
		defer a.Close()
		s, err = a.svc.Schema(operator(ctx, e))
	}
	if err != nil {
		return err
	}
	if *markdown {
		fmt.Fprint(e.stdout, s.MarkdownTable())
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	return nil
}

// cmdMigrate brings the database schema up to date and exits (serve does it too).
func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags("migrate", e)
	var c common
	c.register(fs, e)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, migrates)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(e.stderr, "migrate: %s is up to date\n", a.target)
	return nil
}

// cmdInit creates a store, migrated, and its first administrator as serve's first start
// does. It refuses a store that exists: init never changes one.
func cmdInit(ctx context.Context, e *env, args []string) error {
	fs := flags("init", e)
	var c common
	c.register(fs, e)
	noAdmin := fs.Bool("no-admin", false, "create no administrator: the store stays empty, say for 'roster users import'")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("init takes no arguments, got %q", strings.Join(pos, " "))
	}
	a, err := openApp(ctx, e, &c, nil, creates)
	if err != nil {
		return err
	}
	defer a.Close()
	announceNewStore(e, a)
	if *noAdmin {
		return nil
	}
	return bootstrapAdmin(ctx, e, a)
}
