package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Tables lists every table that holds Roster's data, parents before children. Backups
// copy these; throttles are transient and left out. The profile images and the seed of
// their names are data: a store restored without them would show broken images.
var Tables = []string{"accounts", "profile_images", "profile_image_seed", "api_keys", "sessions", "login_devices", "oauth_apps", "oauth_grants", "oauth_tokens", "signing_keys", "device_authorizations", "groups", "group_members",
	"projects", "project_forms", "project_roles", "project_dags", "project_members", "project_dag_switch", "policy", "policy_counter", "email_changes", "outbox", "audit_log", "audit_counter"}

// CopyTables copies every table of src into dst, replacing what dst held, reading src
// from one snapshot so the copy is consistent while src stays in use.
func CopyTables(ctx context.Context, src, dst *DB, progress func(table string, rows int64)) error {
	stx, err := src.readDB.BeginTx(ctx, src.snapshot())
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer stx.Rollback()
	dtx, err := dst.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer dtx.Rollback()
	for i := len(Tables) - 1; i >= 0; i-- { // children first
		if _, err := dtx.ExecContext(ctx, "DELETE FROM "+Tables[i]); err != nil {
			return fmt.Errorf("copy: clear %s: %w", Tables[i], err)
		}
	}
	for _, t := range Tables {
		n, err := copyTable(ctx, stx, dtx, t, dst.base.args(), progress)
		if err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
		progress(t, n)
	}
	return dtx.Commit()
}

// maxBatchBytes bounds the binary values one batch of a copy holds.
const maxBatchBytes = 8 << 20

func copyTable(ctx context.Context, src, dst *sql.Tx, table string, a args, progress func(string, int64)) (int64, error) {
	rows, err := src.QueryContext(ctx, "SELECT * FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return 0, err
	}
	binary := make([]bool, len(cols))
	for i, ct := range types {
		switch strings.ToUpper(ct.DatabaseTypeName()) {
		case "BYTEA", "BLOB":
			binary[i] = true
		}
	}
	per := max(1, batchSize*8/len(cols))
	var (
		n     int64
		tuple []string
		// held is the bytes of binary values in the batch: profile images are tens of
		// kilobytes each, so batches are cut by size too, to bound the copy's memory.
		held int
	)
	flush := func() error {
		if len(tuple) == 0 {
			return nil
		}
		_, err := dst.ExecContext(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES "+strings.Join(tuple, ","), a.vals...)
		a.vals, tuple, held = a.vals[:0], tuple[:0], 0
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		ph := make([]string, len(cols))
		for i, v := range vals {
			if b, ok := v.([]byte); ok && !binary[i] {
				v = string(b) // JSON and text arrive as bytes from some drivers
			} else if ok {
				held += len(b)
			}
			ph[i] = a.add(v)
		}
		tuple = append(tuple, "("+strings.Join(ph, ",")+")")
		n++
		if len(tuple) >= per || held >= maxBatchBytes {
			if err := flush(); err != nil {
				return n, err
			}
			progress(table, n)
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
