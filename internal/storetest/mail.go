package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// testEmailChanges: an account has at most one pending change, found by its key's hash;
// a new one replaces it (and its key), and a key is deleted once: of two deletes with it,
// one reports true.
func testEmailChanges(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	_, err := s.GetEmailChange(ctx, a.ID)
	wantCode(t, err, roster.ENOTFOUND)
	c1 := &roster.EmailChange{AccountID: a.ID, NewEmail: "new1@example.org", KeyHash: hash("key1"), CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour)}
	inTx(t, s, func(tx roster.Tx) error { return tx.SetEmailChange(ctx, c1) })
	got, err := s.GetEmailChangeByHash(ctx, hash("key1"))
	mustNil(t, err)
	if got.AccountID != a.ID || got.NewEmail != "new1@example.org" || !got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(base.Add(24*time.Hour)) {
		t.Fatalf("GetEmailChangeByHash = %+v", got)
	}
	// A second request replaces the first, and its key.
	c2 := &roster.EmailChange{AccountID: a.ID, NewEmail: "new2@example.org", KeyHash: hash("key2"), CreatedAt: base.Add(time.Hour), ExpiresAt: base.Add(25 * time.Hour)}
	inTx(t, s, func(tx roster.Tx) error { return tx.SetEmailChange(ctx, c2) })
	_, err = s.GetEmailChangeByHash(ctx, hash("key1"))
	wantCode(t, err, roster.ENOTFOUND)
	got, err = s.GetEmailChange(ctx, a.ID)
	mustNil(t, err)
	if got.NewEmail != "new2@example.org" || string(got.KeyHash) != string(hash("key2")) {
		t.Fatalf("after the second request: %+v", got)
	}
	// Another account's key never ends this one's change.
	b := MustCreate(t, s, newAccount(2))
	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetEmailChange(ctx, &roster.EmailChange{AccountID: b.ID, NewEmail: "b@example.org", KeyHash: hash("keyb"), CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	})
	var deleted []bool
	for _, h := range [][]byte{hash("key1"), hash("keyb"), hash("key2"), hash("key2")} {
		inTx(t, s, func(tx roster.Tx) error {
			ok, err := tx.DeleteEmailChange(ctx, a.ID, h)
			deleted = append(deleted, ok)
			return err
		})
	}
	if fmt.Sprint(deleted) != "[false false true false]" {
		t.Fatalf("deletes with the old key, another's, the key, the key again: %v", deleted)
	}
	_, err = s.GetEmailChange(ctx, a.ID)
	wantCode(t, err, roster.ENOTFOUND)
	if _, err := s.GetEmailChange(ctx, b.ID); err != nil {
		t.Fatalf("b's change went with a's: %v", err)
	}
	// Keys are unique across accounts.
	wantCode(t, write(s, func(tx roster.Tx) error {
		return tx.SetEmailChange(ctx, &roster.EmailChange{AccountID: a.ID, NewEmail: "x@example.org", KeyHash: hash("keyb"), CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	}), roster.ECONFLICT)
}

// newMessage is an unsaved message n for the account, due at base and expiring a day
// later.
func newMessage(accountID int64, n int) *roster.Message {
	return &roster.Message{MessageID: fmt.Sprintf("<m%d.test@roster.example>", n), Kind: roster.MessageEmailConfirm, AccountID: accountID,
		To: fmt.Sprintf("to%d@example.org", n), Subject: fmt.Sprintf("Subject %d", n), Body: fmt.Sprintf("Body %d: https://roster.example/email_confirm/k%d", n, n),
		CreatedAt: base, NextAttemptAt: base, ExpiresAt: base.Add(24 * time.Hour)}
}

func queue(t *testing.T, s roster.Store, ms ...*roster.Message) {
	t.Helper()
	inTx(t, s, func(tx roster.Tx) error {
		for _, m := range ms {
			if err := tx.QueueMessage(context.Background(), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func lease(t *testing.T, s roster.Store, owner string, now time.Time, limit int) []*roster.Message {
	t.Helper()
	var out []*roster.Message
	inTx(t, s, func(tx roster.Tx) error {
		var err error
		out, err = tx.LeaseMessages(context.Background(), owner, now, now.Add(time.Minute), limit)
		return err
	})
	return out
}

func release(t *testing.T, s roster.Store, id int64, owner string, r roster.MessageRelease) bool {
	t.Helper()
	var ok bool
	inTx(t, s, func(tx roster.Tx) error {
		var err error
		ok, err = tx.ReleaseMessage(context.Background(), id, owner, r)
		return err
	})
	return ok
}

func ids(ms []*roster.Message) string {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return fmt.Sprint(out)
}

// testOutbox: messages are queued pending, listed and read back whole; Message-IDs are
// unique; a rolled-back transaction queues nothing.
func testOutbox(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	m1, m2, m3 := newMessage(a.ID, 1), newMessage(a.ID, 2), newMessage(a.ID, 3)
	queue(t, s, m1, m2, m3)
	if m1.ID == 0 || m2.ID <= m1.ID || m3.ID <= m2.ID || m1.State != roster.MessagePending {
		t.Fatalf("queued %+v %+v %+v", m1, m2, m3)
	}
	got, err := s.GetMessage(ctx, m2.ID)
	mustNil(t, err)
	if got.MessageID != m2.MessageID || got.To != m2.To || got.Subject != m2.Subject || got.Body != m2.Body || got.Kind != m2.Kind ||
		got.AccountID != a.ID || got.State != roster.MessagePending || got.Attempts != 0 || !got.CreatedAt.Equal(base) ||
		!got.ExpiresAt.Equal(base.Add(24*time.Hour)) || !got.SentAt.IsZero() || !got.LeaseUntil.IsZero() || got.LeaseOwner != "" {
		t.Fatalf("GetMessage = %+v", got)
	}
	_, err = s.GetMessage(ctx, 9999)
	wantCode(t, err, roster.ENOTFOUND)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.QueueMessage(ctx, newMessage(a.ID, 1)) }), roster.ECONFLICT)
	_ = s.InTx(ctx, func(tx roster.Tx) error {
		mustNil(t, tx.QueueMessage(ctx, newMessage(a.ID, 4)))
		return fmt.Errorf("roll back")
	})
	all, err := s.ListMessages(ctx, roster.MessageFilter{})
	mustNil(t, err)
	if ids(all) != ids([]*roster.Message{m1, m2, m3}) {
		t.Fatalf("ListMessages = %s", ids(all))
	}
	page, err := s.ListMessages(ctx, roster.MessageFilter{After: m1.ID, Limit: 1})
	mustNil(t, err)
	if ids(page) != ids([]*roster.Message{m2}) {
		t.Fatalf("after m1, limit 1: %s", ids(page))
	}
	if !release(t, s, lease(t, s, "w", base, 1)[0].ID, "w", roster.MessageRelease{State: roster.MessageSent, At: base}) {
		t.Fatal("the release of a leased message did nothing")
	}
	pending, err := s.ListMessages(ctx, roster.MessageFilter{State: roster.MessagePending})
	mustNil(t, err)
	sent, err := s.ListMessages(ctx, roster.MessageFilter{State: roster.MessageSent})
	mustNil(t, err)
	if ids(pending) != ids([]*roster.Message{m2, m3}) || ids(sent) != ids([]*roster.Message{m1}) {
		t.Fatalf("pending %s, sent %s", ids(pending), ids(sent))
	}
}

// testOutboxLease: the lease protocol. A message is leased by one worker at a time, only
// when due and not expired; the lease expires; only its holder records the outcome; a
// sent or refused message loses its body; a retry waits for its next attempt; expired
// messages are given up, their bodies purged, unless a worker holds them.
func testOutboxLease(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	ms := []*roster.Message{newMessage(a.ID, 1), newMessage(a.ID, 2), newMessage(a.ID, 3)}
	ms[2].NextAttemptAt = base.Add(time.Hour) // not due yet
	queue(t, s, ms...)

	got := lease(t, s, "A", base, 10)
	if ids(got) != ids(ms[:2]) || got[0].LeaseOwner != "A" || !got[0].LeaseUntil.Equal(base.Add(time.Minute)) || got[0].Attempts != 1 {
		t.Fatalf("A leased %s: %+v", ids(got), got)
	}
	if got := lease(t, s, "B", base.Add(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("B leased %s while A's leases hold", ids(got))
	}
	// A's lease expires: B takes the messages; A can no longer record their outcome.
	later := base.Add(2 * time.Minute)
	got = lease(t, s, "B", later, 1)
	if ids(got) != ids(ms[:1]) || got[0].Attempts != 2 {
		t.Fatalf("B leased %s after A's lease expired", ids(got))
	}
	if release(t, s, ms[0].ID, "A", roster.MessageRelease{State: roster.MessageSent, At: later}) {
		t.Fatal("A released a message B holds")
	}
	if !release(t, s, ms[0].ID, "B", roster.MessageRelease{State: roster.MessageSent, At: later}) {
		t.Fatal("B could not release its message")
	}
	m, err := s.GetMessage(ctx, ms[0].ID)
	mustNil(t, err)
	if m.State != roster.MessageSent || m.Body != "" || !m.SentAt.Equal(later) || m.LeaseOwner != "" || !m.LeaseUntil.IsZero() || m.Subject != ms[0].Subject {
		t.Fatalf("sent: %+v", m)
	}
	if release(t, s, ms[0].ID, "B", roster.MessageRelease{State: roster.MessageSent, At: later}) {
		t.Fatal("a sent message was released again")
	}

	// A retry waits for its next attempt, keeping its body and saying why.
	got = lease(t, s, "A", later, 10)
	if ids(got) != ids(ms[1:2]) {
		t.Fatalf("A leased %s", ids(got))
	}
	if !release(t, s, ms[1].ID, "A", roster.MessageRelease{State: roster.MessagePending, NextAttemptAt: later.Add(10 * time.Minute), Error: "421 try later"}) {
		t.Fatal("the retry was not recorded")
	}
	m, _ = s.GetMessage(ctx, ms[1].ID)
	if m.State != roster.MessagePending || m.Body == "" || m.LastError != "421 try later" || m.LeaseOwner != "" || !m.NextAttemptAt.Equal(later.Add(10*time.Minute)) {
		t.Fatalf("retried: %+v", m)
	}
	if got := lease(t, s, "A", later.Add(5*time.Minute), 10); len(got) != 0 {
		t.Fatalf("leased %s before its next attempt", ids(got))
	}
	got = lease(t, s, "A", base.Add(time.Hour), 10)
	if ids(got) != ids(ms[1:]) {
		t.Fatalf("an hour on, A leased %s", ids(got))
	}
	if !release(t, s, ms[1].ID, "A", roster.MessageRelease{State: roster.MessageFailed, At: base.Add(time.Hour), Error: "550 no such user"}) {
		t.Fatal("the failure was not recorded")
	}
	m, _ = s.GetMessage(ctx, ms[1].ID)
	if m.State != roster.MessageFailed || m.Body != "" || m.LastError != "550 no such user" {
		t.Fatalf("failed: %+v", m)
	}

	// Expiry: a message past its expiry is neither leased nor kept; one a worker leased
	// before it expired is left to that worker until its lease ends. (m3's lease, taken
	// an hour on, has ended.)
	m4, m5 := newMessage(a.ID, 4), newMessage(a.ID, 5)
	queue(t, s, m4, m5)
	end := base.Add(24 * time.Hour)
	inTx(t, s, func(tx roster.Tx) error {
		got, err := tx.LeaseMessages(ctx, "C", end.Add(-time.Second), end.Add(time.Hour), 10)
		if err == nil && ids(got) != ids([]*roster.Message{ms[2], m4, m5}) {
			err = fmt.Errorf("C leased %s", ids(got))
		}
		if err == nil {
			_, err = tx.ReleaseMessage(ctx, m4.ID, "C", roster.MessageRelease{State: roster.MessagePending, NextAttemptAt: end.Add(-time.Second)})
		}
		if err == nil {
			_, err = tx.ReleaseMessage(ctx, ms[2].ID, "C", roster.MessageRelease{State: roster.MessagePending, NextAttemptAt: end.Add(-time.Second)})
		}
		return err
	})
	if got := lease(t, s, "A", end, 10); len(got) != 0 {
		t.Fatalf("leased expired messages %s", ids(got))
	}
	var n int
	inTx(t, s, func(tx roster.Tx) error {
		var err error
		n, err = tx.ExpireMessages(ctx, end)
		return err
	})
	if n != 2 {
		t.Fatalf("expired %d messages; want 2 (m3 and m4; m5 is leased)", n)
	}
	for _, id := range []int64{ms[2].ID, m4.ID} {
		m, _ = s.GetMessage(ctx, id)
		if m.State != roster.MessageExpired || m.Body != "" || !m.SentAt.Equal(end) {
			t.Fatalf("expired: %+v", m)
		}
	}
	if m, _ := s.GetMessage(ctx, m5.ID); m.State != roster.MessagePending || m.Body == "" {
		t.Fatalf("a leased message was expired under its worker: %+v", m)
	}
}

// testOutboxConcurrentLease: workers leasing at once, each in its own transaction, never
// get the same message: every message is leased exactly once.
func testOutboxConcurrentLease(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	const messages, workers = 40, 4
	var ms []*roster.Message
	for i := range messages {
		ms = append(ms, newMessage(a.ID, i))
	}
	queue(t, s, ms...)
	var mu sync.Mutex
	leased := map[int64][]string{}
	total := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("worker%d", w)
			for {
				var got []*roster.Message
				err := s.InTx(ctx, func(tx roster.Tx) error {
					var err error
					got, err = tx.LeaseMessages(ctx, owner, base, base.Add(time.Minute), 3)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, m := range got {
					leased[m.ID] = append(leased[m.ID], owner)
					total++
				}
				// A broken lease rule hands out the same messages forever: stop at twice
				// as many leases as messages, and let the check below say so.
				done := len(got) == 0 || total >= 2*messages
				mu.Unlock()
				if done {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(leased) != messages {
		t.Fatalf("%d of %d messages leased", len(leased), messages)
	}
	for id, owners := range leased {
		if len(owners) != 1 {
			t.Errorf("message %d leased by %v", id, owners)
		}
	}
}
