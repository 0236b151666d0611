package sqlstore

import (
	"context"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// The policy version, read with every credential: see sqlKeyByHash.
const sqlPolicyVersion = "(SELECT version FROM policy_counter WHERE id = 1)"

func (q *q) PolicyVersion(ctx context.Context) (int64, error) {
	var v int64
	err := q.r.QueryRowContext(q.pointCtx(ctx), "SELECT "+sqlPolicyVersion).Scan(&v)
	return v, q.wrap("store.PolicyVersion", err)
}

func (q *q) GetPolicy(ctx context.Context) (*roster.StoredPolicy, error) {
	// One statement, so the settings and the version are of one moment.
	rows, err := q.r.QueryContext(ctx, "SELECT c.version, p.name, p.value, p.version, p.updated_at, p.updated_by "+
		"FROM policy_counter c LEFT JOIN policy p ON TRUE WHERE c.id = 1")
	if err != nil {
		return nil, q.wrap("store.GetPolicy", err)
	}
	defer rows.Close()
	out := &roster.StoredPolicy{Settings: map[string]roster.PolicySetting{}}
	for rows.Next() {
		var name, value, by *string
		var version *int64
		var at *time.Time
		if err := rows.Scan(&out.Version, &name, &value, &version, &at, &by); err != nil {
			return nil, q.wrap("store.GetPolicy", err)
		}
		if name == nil {
			continue // no setting stored yet
		}
		out.Settings[*name] = roster.PolicySetting{Name: *name, Value: *value, Version: *version, UpdatedAt: utc(*at), UpdatedBy: *by}
	}
	return out, q.wrap("store.GetPolicy", rows.Err())
}

func (q *q) LockPolicy(ctx context.Context) error {
	// An UPDATE rather than SELECT … FOR UPDATE, as for the sysadmin guard: every engine
	// takes a write lock for it.
	if err := q.execOne(ctx, "store.LockPolicy", "Lock", "UPDATE policy_counter SET version = version WHERE id = 1"); err != nil {
		return err
	}
	if q.e.HoldAccountWrites != "" {
		if _, err := q.w.ExecContext(ctx, q.e.HoldAccountWrites); err != nil {
			return q.wrap("store.LockPolicy", err)
		}
	}
	return nil
}

func (q *q) SetPolicy(ctx context.Context, settings []roster.PolicySetting) (int64, error) {
	var v int64
	// The counter row's lock serializes policy changes until commit.
	err := q.w.QueryRowContext(ctx, "UPDATE policy_counter SET version = version + 1 WHERE id = 1 RETURNING version").Scan(&v)
	if err != nil {
		return 0, q.wrap("store.SetPolicy", err)
	}
	for _, s := range settings {
		if s.Value == "" {
			if _, err := q.w.ExecContext(ctx, "DELETE FROM policy WHERE name = $1", s.Name); err != nil {
				return 0, q.wrap("store.SetPolicy", err)
			}
			continue
		}
		_, err := q.w.ExecContext(ctx, `INSERT INTO policy (name, value, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET value = $2, version = $3, updated_at = $4, updated_by = $5`,
			s.Name, s.Value, v, dbTime(s.UpdatedAt), s.UpdatedBy)
		if err != nil {
			return 0, q.wrap("store.SetPolicy", err)
		}
	}
	return v, nil
}
