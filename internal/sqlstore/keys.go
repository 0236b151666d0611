package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const keyCols = "k.id, k.account_id, k.label, k.prefix, k.hash, k.read_only, k.created_at, k.expires_at, k.last_used_at, k.revoked_at"

// authKeyCols are the key columns authenticating a request needs.
const authKeyCols = "k.id, k.account_id, k.read_only, k.expires_at, k.last_used_at, k.revoked_at"

func keyDest(k *roster.APIKey) []any {
	return []any{&k.ID, &k.AccountID, &k.Label, &k.Prefix, &k.Hash, &k.ReadOnly, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt}
}

func fixKeyTimes(k *roster.APIKey) *roster.APIKey {
	k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt = utc(k.CreatedAt), utc(k.ExpiresAt), utc(k.LastUsedAt), utc(k.RevokedAt)
	return k
}

func scanKey(row scanner) (*roster.APIKey, error) {
	var k roster.APIKey
	if err := row.Scan(keyDest(&k)...); err != nil {
		return nil, err
	}
	return fixKeyTimes(&k), nil
}

func (q *q) CreateAPIKey(ctx context.Context, k *roster.APIKey) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO api_keys (account_id, label, prefix, hash, read_only, created_at, expires_at, last_used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		k.AccountID, k.Label, k.Prefix, k.Hash, k.ReadOnly, dbTime(k.CreatedAt), dbTime(k.ExpiresAt), dbTime(k.LastUsedAt), dbTime(k.RevokedAt)).Scan(&k.ID)
	return q.wrap("store.CreateAPIKey", err)
}

func (q *q) GetAPIKeyByHash(ctx context.Context, hash []byte) (*roster.APIKey, *roster.Account, error) {
	ctx = q.pointCtx(ctx)
	var row *sql.Row
	if q.stmts != nil {
		row = q.stmts.keyByHash.QueryRowContext(ctx, hash)
	} else {
		row = q.r.QueryRowContext(ctx, sqlKeyByHash, hash)
	}
	var k roster.APIKey
	acct, err := scanPrincipal(row, &k.PolicyVersion, &k.ID, &k.AccountID, &k.ReadOnly, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("API key")
	}
	if err != nil {
		return nil, nil, q.wrap("store.GetAPIKeyByHash", err)
	}
	return fixKeyTimes(&k), acct, nil
}

func (q *q) GetAPIKey(ctx context.Context, id int64) (*roster.APIKey, error) {
	k, err := scanKey(q.r.QueryRowContext(ctx, "SELECT "+keyCols+" FROM api_keys k WHERE k.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key")
	}
	return k, q.wrap("store.GetAPIKey", err)
}

func (q *q) ListAPIKeys(ctx context.Context, accountID int64) ([]*roster.APIKey, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT "+keyCols+" FROM api_keys k WHERE k.account_id = $1 ORDER BY k.id", accountID)
	if err != nil {
		return nil, q.wrap("store.ListAPIKeys", err)
	}
	defer rows.Close()
	var out []*roster.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, q.wrap("store.ListAPIKeys", err)
		}
		out = append(out, k)
	}
	return out, q.wrap("store.ListAPIKeys", rows.Err())
}

func (q *q) RevokeAPIKey(ctx context.Context, id int64, at time.Time) error {
	return q.execOne(ctx, "store.RevokeAPIKey", "API key", "UPDATE api_keys SET revoked_at = $1 WHERE id = $2", dbTime(at), id)
}

func (q *q) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	return bookkeeping(q.execOne(ctx, "store.TouchAPIKey", "API key", "UPDATE api_keys SET last_used_at = $1 WHERE id = $2", dbTime(at), id))
}

// bookkeeping drops a read-only store's refusal of a last-used time: every
// authenticated request would otherwise log it, and the time is not worth an error.
func bookkeeping(err error) error {
	if IsReadOnly(err) {
		return nil
	}
	return err
}

const sessionCols = "s.id, s.account_id, s.hash, s.created_at, s.expires_at, s.last_seen_at, s.client_ip, s.user_agent"

func sessionDest(s *roster.Session) []any {
	return []any{&s.ID, &s.AccountID, &s.Hash, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt, &s.ClientIP, &s.UserAgent}
}

func (q *q) CreateSession(ctx context.Context, s *roster.Session) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO sessions (account_id, hash, created_at, expires_at, last_seen_at, client_ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		s.AccountID, s.Hash, dbTime(s.CreatedAt), dbTime(s.ExpiresAt), dbTime(s.LastSeenAt), s.ClientIP, s.UserAgent).Scan(&s.ID)
	return q.wrap("store.CreateSession", err)
}

func (q *q) GetSessionByHash(ctx context.Context, hash []byte) (*roster.Session, *roster.Account, error) {
	ctx = q.pointCtx(ctx)
	var row *sql.Row
	if q.stmts != nil {
		row = q.stmts.sessionByHash.QueryRowContext(ctx, hash)
	} else {
		row = q.r.QueryRowContext(ctx, sqlSessionByHash, hash)
	}
	var s roster.Session
	acct, err := scanPrincipal(row, append([]any{&s.PolicyVersion}, sessionDest(&s)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("Session")
	}
	if err != nil {
		return nil, nil, q.wrap("store.GetSessionByHash", err)
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = utc(s.CreatedAt), utc(s.ExpiresAt), utc(s.LastSeenAt)
	return &s, acct, nil
}

func (q *q) TouchSession(ctx context.Context, id int64, at time.Time) error {
	return bookkeeping(q.execOne(ctx, "store.TouchSession", "Session", "UPDATE sessions SET last_seen_at = $1 WHERE id = $2", dbTime(at), id))
}

func (q *q) DeleteSession(ctx context.Context, id int64) error {
	return q.execOne(ctx, "store.DeleteSession", "Session", "DELETE FROM sessions WHERE id = $1", id)
}

func (q *q) DeleteAccountSessions(ctx context.Context, accountID, keep int64) error {
	_, err := q.w.ExecContext(ctx, "DELETE FROM sessions WHERE account_id = $1 AND id <> $2", accountID, keep)
	return q.wrap("store.DeleteAccountSessions", err)
}

func (q *q) CreateLoginDevice(ctx context.Context, d *roster.LoginDevice) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO login_devices (account_id, hash, created_at, last_used_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, d.AccountID, d.Hash, dbTime(d.CreatedAt), dbTime(d.LastUsedAt)).Scan(&d.ID)
	return q.wrap("store.CreateLoginDevice", err)
}

func (q *q) GetLoginDevice(ctx context.Context, hash []byte) (*roster.LoginDevice, error) {
	var d roster.LoginDevice
	err := q.r.QueryRowContext(ctx, "SELECT id, account_id, hash, created_at, last_used_at FROM login_devices WHERE hash = $1", hash).
		Scan(&d.ID, &d.AccountID, &d.Hash, &d.CreatedAt, &d.LastUsedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Device")
	}
	if err != nil {
		return nil, q.wrap("store.GetLoginDevice", err)
	}
	d.CreatedAt, d.LastUsedAt = utc(d.CreatedAt), utc(d.LastUsedAt)
	return &d, nil
}

func (q *q) TouchLoginDevice(ctx context.Context, id int64, at time.Time) error {
	return q.execOne(ctx, "store.TouchLoginDevice", "Device", "UPDATE login_devices SET last_used_at = $1 WHERE id = $2", dbTime(at), id)
}

func (q *q) DeleteAccountLoginDevices(ctx context.Context, accountID int64) error {
	_, err := q.w.ExecContext(ctx, "DELETE FROM login_devices WHERE account_id = $1", accountID)
	return q.wrap("store.DeleteAccountLoginDevices", err)
}

func (q *q) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := q.w.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < $1", dbTime(now))
	if err != nil {
		return 0, q.wrap("store.DeleteExpiredSessions", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (q *q) GetThrottle(ctx context.Context, key string) (*roster.Throttle, error) {
	t := roster.Throttle{Key: key}
	err := q.r.QueryRowContext(ctx, "SELECT failures, window_start, blocked_until FROM throttles WHERE key = $1", key).
		Scan(&t.Failures, &t.WindowStart, &t.BlockedUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Throttle")
	}
	if err != nil {
		return nil, q.wrap("store.GetThrottle", err)
	}
	t.WindowStart, t.BlockedUntil = utc(t.WindowStart), utc(t.BlockedUntil)
	return &t, nil
}

func (q *q) RecordFailure(ctx context.Context, key string, now, windowStart time.Time, block func(int) time.Duration) (*roster.Throttle, error) {
	t := roster.Throttle{Key: key}
	// One statement increments the count, so replicas recording at once never lose one.
	err := q.w.QueryRowContext(ctx, `INSERT INTO throttles (key, failures, window_start, blocked_until) VALUES ($1, 1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttles.window_start < $4 THEN 1 ELSE throttles.failures + 1 END,
			window_start = CASE WHEN throttles.window_start < $4 THEN $2 ELSE throttles.window_start END
		RETURNING failures, window_start, blocked_until`,
		key, dbTime(now), zeroTime, dbTime(windowStart)).Scan(&t.Failures, &t.WindowStart, &t.BlockedUntil)
	if err != nil {
		return nil, q.wrap("store.RecordFailure", err)
	}
	t.WindowStart, t.BlockedUntil = utc(t.WindowStart), utc(t.BlockedUntil)
	if d := block(t.Failures); d > 0 {
		until := dbTime(now.Add(d))
		if until.After(t.BlockedUntil) {
			// Only ever extends a block, whichever replica writes last.
			if _, err := q.w.ExecContext(ctx, "UPDATE throttles SET blocked_until = $1 WHERE key = $2 AND blocked_until < $1", until, key); err != nil {
				return nil, q.wrap("store.RecordFailure", err)
			}
			t.BlockedUntil = until
		}
	}
	return &t, nil
}

func (q *q) ClearThrottle(ctx context.Context, key string) error {
	_, err := q.w.ExecContext(ctx, "DELETE FROM throttles WHERE key = $1", key)
	return q.wrap("store.ClearThrottle", err)
}
