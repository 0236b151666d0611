package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// TestEmailChangeQueueFailureRollsBack: when the confirmation cannot be queued (a
// fault injected after the message's row is written, in its transaction), the whole
// PATCH is undone: no pending change, no message, no audit entry, and the other fields
// of the PATCH unchanged. Open edX's client hears what Open edX says when it cannot
// mail the link.
func TestEmailChangeQueueFailureRollsBack(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		rec, key := e.Account(t, map[string]any{"username": "alice", "email": "alice@example.com", "bio": "before"})
		audit := func() int {
			es, err := e.Store.ListAudit(ctx, roster.AuditFilter{})
			mustNil(t, err)
			return len(es)
		}
		entries := audit()
		core.SetHookBeforeQueue(e.Svc, func(*roster.Message) error { return errors.New("injected: the outbox refuses") })
		r := e.Do(t, "PATCH", "/api/user/v1/accounts/alice", `{"email": "alice.new@example.org", "bio": "after"}`,
			"Authorization", "Bearer "+key, "Content-Type", "application/merge-patch+json")
		want := `{"developer_message":"Error thrown from do_email_change_request: 'Unable to send email activation link. Please try again later.'",` +
			`"user_message":"Unable to send email activation link. Please try again later."}`
		if r.Status != 400 || r.Body != want {
			t.Fatalf("PATCH: %d %s", r.Status, r.Body)
		}
		a, err := e.Store.GetAccount(ctx, roster.RefID(rec.ID))
		mustNil(t, err)
		if a.Profile["bio"] != "before" || a.Email != "alice@example.com" {
			t.Fatalf("the PATCH was kept in part: bio %v, email %s", a.Profile["bio"], a.Email)
		}
		if _, err := e.Store.GetEmailChange(ctx, rec.ID); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("a pending change survived: %v", err)
		}
		ms, err := e.Store.ListMessages(ctx, roster.MessageFilter{})
		mustNil(t, err)
		if len(ms) != 0 || audit() != entries {
			t.Fatalf("%d messages and %d new audit entries after a rolled-back PATCH", len(ms), audit()-entries)
		}

		// The same PATCH once the outbox takes messages again.
		core.SetHookBeforeQueue(e.Svc, nil)
		r = e.Do(t, "PATCH", "/api/user/v1/accounts/alice", `{"email": "alice.new@example.org", "bio": "after"}`,
			"Authorization", "Bearer "+key, "Content-Type", "application/merge-patch+json")
		if r.Status != 200 || !strings.Contains(r.Body, `"bio":"after"`) || !strings.Contains(r.Body, `"email":"alice@example.com"`) {
			t.Fatalf("PATCH: %d %s", r.Status, r.Body)
		}
		if ms, _ := e.Store.ListMessages(ctx, roster.MessageFilter{}); len(ms) != 1 {
			t.Fatalf("%d messages queued", len(ms))
		}
	})
}

// TestConfirmEmailOnAnotherSurface: an operator may require confirmation on a surface
// whose platform does not (the rule only narrows); /v1 then answers a change of email
// with the account unchanged and queues the link.
func TestConfirmEmailOnAnotherSurface(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		ctx := context.Background()
		rec, key := e.Account(t, map[string]any{"username": "bob", "email": "bob@example.com"})
		patch := func() testkit.Reply {
			return e.Do(t, "PATCH", "/v1/me", `{"email": "bob.new@example.org"}`, "Authorization", "Bearer "+key, "Content-Type", "application/json")
		}
		if _, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingSurfaces, `{"v1": {"confirm_email": true}}`); err != nil {
			t.Fatal(err)
		}
		if r := patch(); r.Status != 200 || !strings.Contains(r.Body, `"email":"bob@example.com"`) {
			t.Fatalf("PATCH /v1/me: %d %s", r.Status, r.Body)
		}
		ch, err := e.Store.GetEmailChange(ctx, rec.ID)
		if err != nil || ch.NewEmail != "bob.new@example.org" {
			t.Fatalf("pending change %+v, %v", ch, err)
		}
		// Unset, /v1 changes the address at once again.
		if _, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingSurfaces, ""); err != nil {
			t.Fatal(err)
		}
		if r := patch(); r.Status != 200 || !strings.Contains(r.Body, `"email":"bob.new@example.org"`) {
			t.Fatalf("PATCH /v1/me without the rule: %d %s", r.Status, r.Body)
		}
	})
}
