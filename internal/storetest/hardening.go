package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// testLookupsByBadText: a name that is not valid text (NUL, invalid UTF-8) names
// nothing, and looking for it is not an error, the same on both engines.
func testLookupsByBadText(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	for _, bad := range []string{"user\x000001", "user\xff"} {
		_, err := s.GetAccount(ctx, roster.AccountRef{Username: bad})
		wantCode(t, err, roster.ENOTFOUND)
		got, err := s.GetAccounts(ctx, []roster.AccountRef{{Username: bad}, {Username: a.Username}})
		mustNil(t, err)
		if len(got) != 1 || got[0].ID != a.ID {
			t.Fatalf("GetAccounts with %q = %v", bad, got)
		}
		inTx(t, s, func(tx roster.Tx) error {
			_, err := tx.GetAccountForUpdate(ctx, roster.AccountRef{Username: bad})
			wantCode(t, err, roster.ENOTFOUND)
			return nil
		})
	}
}

// testRowLocks: GetAccountForUpdate reads the account as stored, and a second writer of
// the account waits for the first to commit and then sees its change; LockSysadminGuard
// likewise serializes its holders. (Both are on Tx only: testWritesOnlyInTx.)
func testRowLocks(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))

	for _, lock := range []struct {
		name string
		take func(tx roster.Tx) error
	}{
		{"row", func(tx roster.Tx) error { _, err := tx.GetAccountForUpdate(ctx, roster.RefID(a.ID)); return err }},
		{"guard", func(tx roster.Tx) error { return tx.LockSysadminGuard(ctx) }},
	} {
		t.Run(lock.name, func(t *testing.T) {
			held := make(chan struct{})
			release := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				inTx(t, s, func(tx roster.Tx) error {
					if err := lock.take(tx); err != nil {
						return err
					}
					cur, err := tx.GetAccountForUpdate(ctx, roster.RefID(a.ID))
					if err != nil {
						return err
					}
					cur.Name = "first " + lock.name
					if err := tx.UpdateAccount(ctx, cur); err != nil {
						return err
					}
					close(held)
					<-release
					return nil
				})
			}()
			<-held
			second := make(chan string, 1)
			go func() {
				var name string
				inTx(t, s, func(tx roster.Tx) error {
					if err := lock.take(tx); err != nil {
						return err
					}
					cur, err := tx.GetAccountForUpdate(ctx, roster.RefID(a.ID))
					if err != nil {
						return err
					}
					name = cur.Name
					cur.Name = "second " + lock.name
					return tx.UpdateAccount(ctx, cur)
				})
				second <- name
			}()
			select {
			case name := <-second:
				t.Fatalf("the second writer went ahead while the first held the lock (it read %q)", name)
			case <-time.After(200 * time.Millisecond):
			}
			close(release)
			wg.Wait()
			if name := <-second; name != "first "+lock.name {
				t.Fatalf("the second writer read %q, want the first writer's change", name)
			}
		})
	}
}

// testLoginDevices: devices are found by hash, touched, and forgotten with their
// account's password; sessions end but one.
func testLoginDevices(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	b := MustCreate(t, s, newAccount(2))
	d := &roster.LoginDevice{AccountID: a.ID, Hash: hash("d1"), CreatedAt: base, LastUsedAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateLoginDevice(ctx, d) })
	inTx(t, s, func(tx roster.Tx) error {
		return tx.CreateLoginDevice(ctx, &roster.LoginDevice{AccountID: b.ID, Hash: hash("d2"), CreatedAt: base, LastUsedAt: base})
	})
	got, err := s.GetLoginDevice(ctx, hash("d1"))
	mustNil(t, err)
	if got.ID != d.ID || got.AccountID != a.ID || !got.LastUsedAt.Equal(base) {
		t.Fatalf("GetLoginDevice = %+v", got)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.TouchLoginDevice(ctx, d.ID, base.Add(time.Hour)) })
	got, _ = s.GetLoginDevice(ctx, hash("d1"))
	if !got.LastUsedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("after a touch: %+v", got)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteAccountLoginDevices(ctx, a.ID) })
	_, err = s.GetLoginDevice(ctx, hash("d1"))
	wantCode(t, err, roster.ENOTFOUND)
	if _, err := s.GetLoginDevice(ctx, hash("d2")); err != nil {
		t.Fatalf("another account's device went too: %v", err)
	}

	s1 := &roster.Session{AccountID: a.ID, Hash: hash("s1"), CreatedAt: base, ExpiresAt: base.Add(time.Hour), LastSeenAt: base}
	s2 := &roster.Session{AccountID: a.ID, Hash: hash("s2"), CreatedAt: base, ExpiresAt: base.Add(time.Hour), LastSeenAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSession(ctx, s1) })
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSession(ctx, s2) })
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteAccountSessions(ctx, a.ID, s1.ID) })
	if _, _, err := s.GetSessionByHash(ctx, hash("s1")); err != nil {
		t.Fatalf("the kept session: %v", err)
	}
	_, _, err = s.GetSessionByHash(ctx, hash("s2"))
	wantCode(t, err, roster.ENOTFOUND)
}
