package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const deviceCols = "id, device_code_hash, user_code_hash, client_name, client_ip, created_at, expires_at, poll_interval, polled_at, state, account_id, decided_at, grant_id"

func (q *q) getDevice(ctx context.Context, op, where string, arg any) (*roster.DeviceAuthorization, error) {
	var d roster.DeviceAuthorization
	err := q.r.QueryRowContext(ctx, "SELECT "+deviceCols+" FROM device_authorizations WHERE "+where, arg).Scan(&d.ID, &d.DeviceCodeHash,
		&d.UserCodeHash, &d.ClientName, &d.ClientIP, &d.CreatedAt, &d.ExpiresAt, &d.Interval, &d.PolledAt, &d.State, &d.AccountID, &d.DecidedAt, &d.GrantID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Device authorization")
	}
	if err != nil {
		return nil, q.wrap(op, err)
	}
	d.CreatedAt, d.ExpiresAt, d.PolledAt, d.DecidedAt = utc(d.CreatedAt), utc(d.ExpiresAt), utc(d.PolledAt), utc(d.DecidedAt)
	return &d, nil
}

func (q *q) GetDeviceAuthorization(ctx context.Context, deviceCodeHash []byte) (*roster.DeviceAuthorization, error) {
	return q.getDevice(ctx, "store.GetDeviceAuthorization", "device_code_hash = $1", deviceCodeHash)
}

func (q *q) GetDeviceAuthorizationByUserCode(ctx context.Context, userCodeHash []byte) (*roster.DeviceAuthorization, error) {
	return q.getDevice(ctx, "store.GetDeviceAuthorizationByUserCode", "user_code_hash = $1", userCodeHash)
}

func (q *q) CreateDeviceAuthorization(ctx context.Context, d *roster.DeviceAuthorization) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO device_authorizations (device_code_hash, user_code_hash, client_name, client_ip, created_at,
		expires_at, poll_interval, polled_at, state, account_id, decided_at, grant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		d.DeviceCodeHash, d.UserCodeHash, d.ClientName, d.ClientIP, dbTime(d.CreatedAt), dbTime(d.ExpiresAt), d.Interval, dbTime(d.PolledAt),
		d.State, d.AccountID, dbTime(d.DecidedAt), d.GrantID).Scan(&d.ID)
	return q.wrap("store.CreateDeviceAuthorization", err)
}

// changeDevice runs an UPDATE whose condition names the state it expects: no row is
// ENOTFOUND when there is no such authorization, else ECONFLICT.
func (q *q) changeDevice(ctx context.Context, op string, id int64, msg, query string, a ...any) error {
	res, err := q.w.ExecContext(ctx, query, a...)
	if err != nil {
		return q.wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	if err := q.w.QueryRowContext(ctx, "SELECT 1 FROM device_authorizations WHERE id = $1", id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return notFound("Device authorization")
	} else if err != nil {
		return q.wrap(op, err)
	}
	return roster.Errorf(roster.ECONFLICT, "%s", msg)
}

func (q *q) DecideDeviceAuthorization(ctx context.Context, id int64, state string, accountID int64, at time.Time) error {
	return q.changeDevice(ctx, "store.DecideDeviceAuthorization", id, "The code was approved or denied already.",
		"UPDATE device_authorizations SET state = $1, account_id = $2, decided_at = $3 WHERE id = $4 AND state = $5",
		state, accountID, dbTime(at), id, roster.DevicePending)
}

func (q *q) PollDeviceAuthorization(ctx context.Context, id int64, at time.Time, interval int) error {
	return q.execOne(ctx, "store.PollDeviceAuthorization", "Device authorization",
		"UPDATE device_authorizations SET polled_at = $1, poll_interval = $2 WHERE id = $3", dbTime(at), interval, id)
}

func (q *q) CompleteDeviceAuthorization(ctx context.Context, id, grantID int64) error {
	return q.changeDevice(ctx, "store.CompleteDeviceAuthorization", id, "The device code was used already.",
		"UPDATE device_authorizations SET state = $1, grant_id = $2 WHERE id = $3 AND state = $4",
		roster.DeviceDone, grantID, id, roster.DeviceApproved)
}
