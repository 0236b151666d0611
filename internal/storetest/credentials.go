package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func hash(s string) []byte { return append(bytes.Repeat([]byte{0}, 32-len(s)), s...) }

func testAPIKeys(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	b := MustCreate(t, s, newAccount(2))
	k1 := &roster.APIKey{AccountID: a.ID, Label: "laptop", Prefix: "rk_abcd", Hash: hash("one"), CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour)}
	k2 := &roster.APIKey{AccountID: a.ID, Label: "ci", Prefix: "rk_efgh", Hash: hash("two"), ReadOnly: true, CreatedAt: base}
	k3 := &roster.APIKey{AccountID: b.ID, Prefix: "rk_ijkl", Hash: hash("three"), CreatedAt: base}
	for _, k := range []*roster.APIKey{k1, k2, k3} {
		inTx(t, s, func(tx roster.Tx) error { return tx.CreateAPIKey(ctx, k) })
		if k.ID == 0 {
			t.Fatal("CreateAPIKey set no id")
		}
	}
	wantCode(t, write(s, func(tx roster.Tx) error {
		return tx.CreateAPIKey(ctx, &roster.APIKey{AccountID: b.ID, Prefix: "x", Hash: hash("one"), CreatedAt: base})
	}), roster.ECONFLICT)

	k, acct, err := s.GetAPIKeyByHash(ctx, hash("two"))
	mustNil(t, err)
	if k.ID != k2.ID || !k.ReadOnly || k.AccountID != a.ID || acct.ID != a.ID || acct.Username != a.Username || !acct.Sysadmin != !a.Sysadmin {
		t.Fatalf("GetAPIKeyByHash = %+v, %+v", k, acct)
	}
	if !k.ExpiresAt.IsZero() || !k.LastUsedAt.IsZero() || !k.RevokedAt.IsZero() {
		t.Fatalf("key times = %+v", k)
	}
	_, _, err = s.GetAPIKeyByHash(ctx, hash("nope"))
	wantCode(t, err, roster.ENOTFOUND)

	keys, err := s.ListAPIKeys(ctx, a.ID)
	mustNil(t, err)
	if len(keys) != 2 || keys[0].ID != k1.ID || keys[1].ID != k2.ID || !keys[0].ExpiresAt.Equal(base.Add(24*time.Hour)) {
		t.Fatalf("ListAPIKeys = %+v", keys)
	}
	mustNil(t, s.TouchAPIKey(ctx, k1.ID, base.Add(time.Hour)))
	inTx(t, s, func(tx roster.Tx) error { return tx.RevokeAPIKey(ctx, k1.ID, base.Add(2*time.Hour)) })
	got, err := s.GetAPIKey(ctx, k1.ID)
	mustNil(t, err)
	if !got.LastUsedAt.Equal(base.Add(time.Hour)) || !got.RevokedAt.Equal(base.Add(2*time.Hour)) || got.Live(base.Add(3*time.Hour)) {
		t.Fatalf("after touch and revoke: %+v", got)
	}
	if !k2.Live(base.Add(1000*time.Hour)) || k1.Live(base.Add(25*time.Hour)) {
		t.Fatal("Live ignores expiry")
	}
	_, err = s.GetAPIKey(ctx, 999)
	wantCode(t, err, roster.ENOTFOUND)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.RevokeAPIKey(ctx, 999, base) }), roster.ENOTFOUND)
}

func testSessions(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	s1 := &roster.Session{AccountID: a.ID, Hash: hash("s1"), CreatedAt: base, ExpiresAt: base.Add(time.Hour), LastSeenAt: base, ClientIP: "10.0.0.1", UserAgent: "test"}
	s2 := &roster.Session{AccountID: a.ID, Hash: hash("s2"), CreatedAt: base, ExpiresAt: base.Add(48 * time.Hour), LastSeenAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSession(ctx, s1) })
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSession(ctx, s2) })
	got, acct, err := s.GetSessionByHash(ctx, hash("s1"))
	mustNil(t, err)
	if got.ID != s1.ID || acct.ID != a.ID || got.ClientIP != "10.0.0.1" || got.UserAgent != "test" || !got.ExpiresAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("GetSessionByHash = %+v, %+v", got, acct)
	}
	mustNil(t, s.TouchSession(ctx, s1.ID, base.Add(time.Minute)))
	got, _, _ = s.GetSessionByHash(ctx, hash("s1"))
	if !got.LastSeenAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("LastSeenAt = %v", got.LastSeenAt)
	}
	n, err := s.DeleteExpiredSessions(ctx, base.Add(2*time.Hour))
	mustNil(t, err)
	if n != 1 {
		t.Fatalf("DeleteExpiredSessions removed %d, want 1", n)
	}
	_, _, err = s.GetSessionByHash(ctx, hash("s1"))
	wantCode(t, err, roster.ENOTFOUND)
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteAccountSessions(ctx, a.ID, 0) })
	_, _, err = s.GetSessionByHash(ctx, hash("s2"))
	wantCode(t, err, roster.ENOTFOUND)
	wantCode(t, s.DeleteSession(ctx, s2.ID), roster.ENOTFOUND)
}

func testThrottle(t *testing.T, s roster.Store) {
	ctx := context.Background()
	_, err := s.GetThrottle(ctx, "ip:1.2.3.4")
	wantCode(t, err, roster.ENOTFOUND)
	block := func(n int) time.Duration {
		if n >= 3 {
			return time.Duration(n) * time.Minute
		}
		return 0
	}
	window := base.Add(-15 * time.Minute)
	for i := 1; i <= 4; i++ {
		th, err := s.RecordFailure(ctx, "ip:1.2.3.4", base, window, block)
		mustNil(t, err)
		if th.Failures != i {
			t.Fatalf("failure %d counted as %d", i, th.Failures)
		}
		if i < 3 && !th.BlockedUntil.IsZero() || i >= 3 && !th.BlockedUntil.Equal(base.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("after %d failures blocked until %v", i, th.BlockedUntil)
		}
	}
	got, err := s.GetThrottle(ctx, "ip:1.2.3.4")
	mustNil(t, err)
	if got.Failures != 4 || !got.BlockedUntil.Equal(base.Add(4*time.Minute)) || !got.WindowStart.Equal(base) {
		t.Fatalf("GetThrottle = %+v", got)
	}
	// A failure after the window began anew restarts the count, and never shortens a block.
	later := base.Add(time.Hour)
	th, err := s.RecordFailure(ctx, "ip:1.2.3.4", later, later.Add(-15*time.Minute), func(int) time.Duration { return 0 })
	mustNil(t, err)
	if th.Failures != 1 || !th.WindowStart.Equal(later) || !th.BlockedUntil.Equal(base.Add(4*time.Minute)) {
		t.Fatalf("new window: %+v", th)
	}
	mustNil(t, s.ClearThrottle(ctx, "ip:1.2.3.4"))
	_, err = s.GetThrottle(ctx, "ip:1.2.3.4")
	wantCode(t, err, roster.ENOTFOUND)

	// Concurrent failures, as from several replicas, are all counted.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.RecordFailure(ctx, "user:bob", base, window, block); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err = s.GetThrottle(ctx, "user:bob")
	mustNil(t, err)
	if got.Failures != 20 {
		t.Fatalf("20 concurrent failures counted as %d", got.Failures)
	}
}
