package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// testDeviceAuthorizations: a device authorization round-trips by either code's hash,
// both of which are unique; it is decided once, polls record their time and interval,
// and an approved one completes once.
func testDeviceAuthorizations(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	_, err := s.GetDeviceAuthorization(ctx, hash("nothing"))
	wantCode(t, err, roster.ENOTFOUND)
	_, err = s.GetDeviceAuthorizationByUserCode(ctx, hash("nothing"))
	wantCode(t, err, roster.ENOTFOUND)

	d := &roster.DeviceAuthorization{DeviceCodeHash: hash("device 1"), UserCodeHash: hash("user 1"), ClientName: "brainstem-python",
		ClientIP: "192.0.2.1", CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute), Interval: 5, State: roster.DevicePending}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateDeviceAuthorization(ctx, d) })
	if d.ID == 0 {
		t.Fatal("CreateDeviceAuthorization set no id")
	}
	wantConflict(t, write(s, func(tx roster.Tx) error {
		return tx.CreateDeviceAuthorization(ctx, &roster.DeviceAuthorization{DeviceCodeHash: hash("device 2"), UserCodeHash: hash("user 1"),
			CreatedAt: base, ExpiresAt: base, State: roster.DevicePending})
	}), "user_code")
	wantConflict(t, write(s, func(tx roster.Tx) error {
		return tx.CreateDeviceAuthorization(ctx, &roster.DeviceAuthorization{DeviceCodeHash: hash("device 1"), UserCodeHash: hash("user 2"),
			CreatedAt: base, ExpiresAt: base, State: roster.DevicePending})
	}), "device_code")

	check := func(what string, want roster.DeviceAuthorization) {
		t.Helper()
		for _, get := range []func() (*roster.DeviceAuthorization, error){
			func() (*roster.DeviceAuthorization, error) { return s.GetDeviceAuthorization(ctx, hash("device 1")) },
			func() (*roster.DeviceAuthorization, error) {
				return s.GetDeviceAuthorizationByUserCode(ctx, hash("user 1"))
			},
		} {
			got, err := get()
			mustNil(t, err)
			if got.ID != want.ID || string(got.DeviceCodeHash) != string(want.DeviceCodeHash) || string(got.UserCodeHash) != string(want.UserCodeHash) ||
				got.ClientName != want.ClientName || got.ClientIP != want.ClientIP || !got.CreatedAt.Equal(want.CreatedAt) ||
				!got.ExpiresAt.Equal(want.ExpiresAt) || got.Interval != want.Interval || !got.PolledAt.Equal(want.PolledAt) ||
				got.State != want.State || got.AccountID != want.AccountID || !got.DecidedAt.Equal(want.DecidedAt) || got.GrantID != want.GrantID ||
				got.CreatedAt.Location() != time.UTC {
				t.Fatalf("%s: got %+v, want %+v", what, got, want)
			}
		}
	}
	check("created", *d)

	// Polls record their time and interval.
	inTx(t, s, func(tx roster.Tx) error { return tx.PollDeviceAuthorization(ctx, d.ID, base.Add(time.Second), 10) })
	d.PolledAt, d.Interval = base.Add(time.Second), 10
	check("polled", *d)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.PollDeviceAuthorization(ctx, d.ID+100, base, 5) }), roster.ENOTFOUND)

	// Completing a pending one is refused; deciding is once.
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.CompleteDeviceAuthorization(ctx, d.ID, 7) }), roster.ECONFLICT)
	inTx(t, s, func(tx roster.Tx) error {
		return tx.DecideDeviceAuthorization(ctx, d.ID, roster.DeviceApproved, a.ID, base.Add(time.Minute))
	})
	d.State, d.AccountID, d.DecidedAt = roster.DeviceApproved, a.ID, base.Add(time.Minute)
	check("approved", *d)
	wantCode(t, write(s, func(tx roster.Tx) error {
		return tx.DecideDeviceAuthorization(ctx, d.ID, roster.DeviceDenied, a.ID, base.Add(2*time.Minute))
	}), roster.ECONFLICT)
	wantCode(t, write(s, func(tx roster.Tx) error {
		return tx.DecideDeviceAuthorization(ctx, d.ID+100, roster.DeviceDenied, a.ID, base)
	}), roster.ENOTFOUND)
	check("decided once", *d)

	// An approved one completes once.
	inTx(t, s, func(tx roster.Tx) error { return tx.CompleteDeviceAuthorization(ctx, d.ID, 7) })
	d.State, d.GrantID = roster.DeviceDone, 7
	check("done", *d)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.CompleteDeviceAuthorization(ctx, d.ID, 8) }), roster.ECONFLICT)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.CompleteDeviceAuthorization(ctx, d.ID+100, 8) }), roster.ENOTFOUND)
	check("done once", *d)

	// A change rolled back leaves it as it was.
	_ = write(s, func(tx roster.Tx) error {
		if err := tx.PollDeviceAuthorization(ctx, d.ID, base.Add(time.Hour), 60); err != nil {
			return err
		}
		return roster.Errorf(roster.EINVALID, "roll back")
	})
	check("rolled back", *d)
}
