package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Migrate applies an engine's migrations (the *.sql files of its migration folder)
// that db has not seen yet, holding locker so that processes starting together apply
// them once.
func Migrate(ctx context.Context, db *sql.DB, kind string, dialect database.Dialect, migrations fs.FS, locker lock.SessionLocker, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migration")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("%s: migrations: %w", kind, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", kind, err)
	}
	for _, r := range results {
		log.Info("migration applied", "engine", kind, "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
