package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const emailChangeCols = "account_id, new_email, key_hash, created_at, expires_at"

func scanEmailChange(row scanner) (*roster.EmailChange, error) {
	var c roster.EmailChange
	if err := row.Scan(&c.AccountID, &c.NewEmail, &c.KeyHash, &c.CreatedAt, &c.ExpiresAt); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt = utc(c.CreatedAt), utc(c.ExpiresAt)
	return &c, nil
}

func (q *q) GetEmailChange(ctx context.Context, accountID int64) (*roster.EmailChange, error) {
	c, err := scanEmailChange(q.r.QueryRowContext(ctx, "SELECT "+emailChangeCols+" FROM email_changes WHERE account_id = $1", accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Email change")
	}
	return c, q.wrap("store.GetEmailChange", err)
}

func (q *q) GetEmailChangeByHash(ctx context.Context, hash []byte) (*roster.EmailChange, error) {
	c, err := scanEmailChange(q.r.QueryRowContext(ctx, "SELECT "+emailChangeCols+" FROM email_changes WHERE key_hash = $1", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Email change")
	}
	return c, q.wrap("store.GetEmailChangeByHash", err)
}

func (q *q) SetEmailChange(ctx context.Context, c *roster.EmailChange) error {
	// One statement replaces the account's change: a concurrent request of the same
	// account waits on the row and then replaces it in turn.
	_, err := q.w.ExecContext(ctx, `INSERT INTO email_changes (account_id, new_email, key_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id) DO UPDATE SET new_email = excluded.new_email, key_hash = excluded.key_hash,
			created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.AccountID, c.NewEmail, c.KeyHash, dbTime(c.CreatedAt), dbTime(c.ExpiresAt))
	return q.wrap("store.SetEmailChange", err)
}

func (q *q) DeleteEmailChange(ctx context.Context, accountID int64, hash []byte) (bool, error) {
	res, err := q.w.ExecContext(ctx, "DELETE FROM email_changes WHERE account_id = $1 AND key_hash = $2", accountID, hash)
	if err != nil {
		return false, q.wrap("store.DeleteEmailChange", err)
	}
	n, err := res.RowsAffected()
	return n == 1, q.wrap("store.DeleteEmailChange", err)
}

const messageCols = `id, message_id, kind, account_id, recipient, subject, body, state, attempts, created_at, next_attempt_at,
	expires_at, sent_at, lease_owner, lease_until, last_error`

func scanMessage(row scanner) (*roster.Message, error) {
	var m roster.Message
	var state string
	if err := row.Scan(&m.ID, &m.MessageID, &m.Kind, &m.AccountID, &m.To, &m.Subject, &m.Body, &state, &m.Attempts,
		&m.CreatedAt, &m.NextAttemptAt, &m.ExpiresAt, &m.SentAt, &m.LeaseOwner, &m.LeaseUntil, &m.LastError); err != nil {
		return nil, err
	}
	m.State = roster.MessageState(state)
	m.CreatedAt, m.NextAttemptAt, m.ExpiresAt = utc(m.CreatedAt), utc(m.NextAttemptAt), utc(m.ExpiresAt)
	m.SentAt, m.LeaseUntil = utc(m.SentAt), utc(m.LeaseUntil)
	return &m, nil
}

func (q *q) GetMessage(ctx context.Context, id int64) (*roster.Message, error) {
	m, err := scanMessage(q.r.QueryRowContext(ctx, "SELECT "+messageCols+" FROM outbox WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Message")
	}
	return m, q.wrap("store.GetMessage", err)
}

// MaxMessagePage caps one page of the outbox.
const MaxMessagePage = 1000

func (q *q) ListMessages(ctx context.Context, f roster.MessageFilter) ([]*roster.Message, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxMessagePage {
		limit = MaxMessagePage
	}
	query := "SELECT " + messageCols + " FROM outbox WHERE id > $1 AND ($2 = '' OR state = $2) ORDER BY id LIMIT $3"
	return q.messages(ctx, "store.ListMessages", query, f.After, string(f.State), limit)
}

func (q *q) messages(ctx context.Context, op, query string, a ...any) ([]*roster.Message, error) {
	rows, err := q.r.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, q.wrap(op, err)
	}
	defer rows.Close()
	var out []*roster.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, q.wrap(op, err)
		}
		out = append(out, m)
	}
	return out, q.wrap(op, rows.Err())
}

func (q *q) QueueMessage(ctx context.Context, m *roster.Message) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO outbox (message_id, kind, account_id, recipient, subject, body, state, attempts,
		created_at, next_attempt_at, expires_at, sent_at, lease_owner, lease_until, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, $9, $10, '', $10, '') RETURNING id`,
		m.MessageID, m.Kind, m.AccountID, m.To, m.Subject, m.Body, dbTime(m.CreatedAt), dbTime(m.NextAttemptAt),
		dbTime(m.ExpiresAt), zeroTime).Scan(&m.ID)
	if err != nil {
		return q.wrap("store.QueueMessage", err)
	}
	m.State, m.Attempts, m.SentAt, m.LeaseOwner, m.LeaseUntil, m.LastError = roster.MessagePending, 0, time.Time{}, "", time.Time{}, ""
	return nil
}

// sqlLease takes one message for a worker. Its condition is the lease rule: the message
// is pending, due, not expired, and no lease holds it. Of two workers that run it on one
// row at once, one waits for the other: on PostgreSQL the second UPDATE blocks on the
// row lock and, under READ COMMITTED, checks its condition again on the row the first
// committed, which now holds a lease; on SQLite the one writer runs them one after the
// other. Either way the second updates nothing, so a message is never leased twice.
const sqlLease = `UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
	WHERE id = $3 AND state = 'pending' AND next_attempt_at <= $4 AND expires_at > $4 AND lease_until <= $4
	RETURNING ` + messageCols

func (q *q) LeaseMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*roster.Message, error) {
	if owner == "" || limit <= 0 {
		return nil, nil
	}
	now, until = dbTime(now), dbTime(until)
	// The candidates are read first and each is then taken by its own conditional
	// UPDATE, in id order, so that concurrent workers lock rows in one order and never
	// deadlock. A candidate another worker took meanwhile is skipped.
	rows, err := q.r.QueryContext(ctx, `SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 AND expires_at > $1
		AND lease_until <= $1 ORDER BY next_attempt_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, q.wrap("store.LeaseMessages", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, q.wrap("store.LeaseMessages", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, q.wrap("store.LeaseMessages", err)
	}
	slices.Sort(ids)
	var out []*roster.Message
	for _, id := range ids {
		m, err := scanMessage(q.w.QueryRowContext(ctx, sqlLease, owner, until, id, now))
		if errors.Is(err, sql.ErrNoRows) {
			continue // another worker holds it, or it changed since it was read
		}
		if err != nil {
			return nil, q.wrap("store.LeaseMessages", err)
		}
		out = append(out, m)
	}
	return out, nil
}

func (q *q) ReleaseMessage(ctx context.Context, id int64, owner string, r roster.MessageRelease) (bool, error) {
	var res sql.Result
	var err error
	switch r.State {
	case roster.MessagePending:
		res, err = q.w.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1, last_error = $2, lease_owner = '', lease_until = $3
			WHERE id = $4 AND lease_owner = $5 AND state = 'pending'`, dbTime(r.NextAttemptAt), r.Error, zeroTime, id, owner)
	case roster.MessageSent, roster.MessageFailed:
		res, err = q.w.ExecContext(ctx, `UPDATE outbox SET state = $1, sent_at = $2, body = '', last_error = $3, lease_owner = '', lease_until = $4
			WHERE id = $5 AND lease_owner = $6 AND state = 'pending'`, string(r.State), dbTime(r.At), r.Error, zeroTime, id, owner)
	default:
		return false, roster.Internal("store.ReleaseMessage", errors.New("a release must send, fail or retry"))
	}
	if err != nil {
		return false, q.wrap("store.ReleaseMessage", err)
	}
	n, err := res.RowsAffected()
	return n == 1, q.wrap("store.ReleaseMessage", err)
}

func (q *q) ExpireMessages(ctx context.Context, now time.Time) (int, error) {
	now = dbTime(now)
	res, err := q.w.ExecContext(ctx, `UPDATE outbox SET state = 'expired', sent_at = $1, body = ''
		WHERE state = 'pending' AND expires_at <= $1 AND lease_until <= $1`, now)
	if err != nil {
		return 0, q.wrap("store.ExpireMessages", err)
	}
	n, err := res.RowsAffected()
	return int(n), q.wrap("store.ExpireMessages", err)
}
