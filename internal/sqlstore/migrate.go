package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Access says what opening a store may do to it. Only the commands that are meant to
// make a store may create one: a mistyped location must not become a new, empty store.
type Access int

const (
	// CreateOrMigrate creates a missing store and migrates an older one: serve, and the
	// tests and tools that make stores of their own.
	CreateOrMigrate Access = iota
	// CreateNew creates a store and refuses one that exists: init, and backups.
	CreateNew
	// MigrateExisting migrates a store that exists: migrate.
	MigrateExisting
	// UseExisting opens a store that exists at this binary's schema version, and
	// creates and migrates nothing.
	UseExisting
)

// Creates reports whether a missing store is created.
func (a Access) Creates() bool { return a == CreateOrMigrate || a == CreateNew }

// NoStoreError reports that there is no Roster store where one was looked for.
type NoStoreError struct {
	Where string // an absolute path, or a schema
}

func (e *NoStoreError) Error() string { return "no Roster store at " + e.Where }

// ErrExists is CreateNew finding a store already there.
var ErrExists = errors.New("a Roster store already exists")

// OutdatedError reports a store whose schema is older than this binary's, where it
// may not be migrated: because access forbids it, or because the store is read-only.
type OutdatedError struct {
	Current, Target int64
	ReadOnly        bool
}

func (e *OutdatedError) Error() string {
	if e.ReadOnly {
		return fmt.Sprintf("the store is read-only and has schema version %d; this roster needs %d", e.Current, e.Target)
	}
	return fmt.Sprintf("the store has schema version %d and this roster needs %d", e.Current, e.Target)
}

// ErrReadOnlyCreate is a missing store that cannot be created because the database
// refuses writes.
var ErrReadOnlyCreate = errors.New("the database is read-only, so no store can be created in it")

// Migrations are an engine's schema migrations.
type Migrations struct {
	Kind    string
	Dialect database.Dialect
	FS      fs.FS // holds migration/*.sql
	// Locker is held while migrations run, so processes starting together apply them
	// once. It is called only when there is something to apply.
	Locker lock.SessionLocker
	// VersionTable is a query answering whether goose's version table exists where the
	// store's unqualified table names resolve: its absence means there is no store.
	VersionTable string
	// Where names the store in a NoStoreError.
	Where string
}

// Prepare checks db's schema and, as access and readOnly allow, creates or migrates it
// to this binary's version. It reports whether it created the store.
func Prepare(ctx context.Context, db *sql.DB, m Migrations, access Access, readOnly bool, log *slog.Logger) (created bool, err error) {
	fsys, err := fs.Sub(m.FS, "migration")
	if err != nil {
		return false, err
	}
	var exists bool
	if err := db.QueryRowContext(ctx, m.VersionTable).Scan(&exists); err != nil {
		return false, fmt.Errorf("%s: looking for the store's schema: %w", m.Kind, err)
	}
	switch {
	case !exists && !access.Creates():
		return false, &NoStoreError{Where: m.Where}
	case !exists && readOnly:
		return false, ErrReadOnlyCreate
	case exists && access == CreateNew:
		return false, ErrExists
	case exists:
		// The version table exists, so goose only reads here: HasPending would create
		// the table otherwise.
		check, err := goose.NewProvider(m.Dialect, db, fsys)
		if err != nil {
			return false, fmt.Errorf("%s: migrations: %w", m.Kind, err)
		}
		pending, err := check.HasPending(ctx)
		if err != nil {
			return false, fmt.Errorf("%s: migrations: %w", m.Kind, err)
		}
		if !pending {
			return false, nil
		}
		if access == UseExisting || readOnly {
			current, target, err := check.GetVersions(ctx)
			if err != nil {
				return false, fmt.Errorf("%s: migrations: %w", m.Kind, err)
			}
			return false, &OutdatedError{Current: current, Target: target, ReadOnly: readOnly}
		}
	}
	p, err := goose.NewProvider(m.Dialect, db, fsys, goose.WithSessionLocker(m.Locker))
	if err != nil {
		return false, fmt.Errorf("%s: migrations: %w", m.Kind, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: migrate: %w", m.Kind, err)
	}
	first := p.ListSources()[0].Version
	for _, r := range results {
		// Replicas starting together on an empty database race to create it; the one
		// that applied the first migration made it.
		created = created || r.Source.Version == first
		log.Info("migration applied", "engine", m.Kind, "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return created, nil
}
