package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// Email changes that wait for confirmation (roster.SurfacePolicy.ConfirmEmail), and the
// outbox their messages go through.
//
// A change of email through such a surface stores a pending change holding the hash of
// a new random key, and queues a message to the new address with the link
// /email_confirm/KEY, in the transaction of the rest of the change, with an audit entry
// that names the new address but never the key. Following the link (ConfirmEmailChange)
// changes the address, ends the pending change, and notifies both addresses, again in
// one transaction. Messages are delivered later by workers (internal/mail), which lease
// them here.

// requestEmailChange records a pending change of a's email to addr, replacing any, and
// queues the message with its link, in tx. An address another account holds gives no
// pending change and no message, and no error: the caller must not learn from the
// answer whether the address is registered. It returns the audit entry to append, or
// nil when it dropped the address.
func (s *Service) requestEmailChange(ctx context.Context, p *policy, tx roster.Tx, a *roster.Account, addr, origin string) (*roster.AuditEntry, error) {
	if roster.FoldKey(addr) != roster.FoldKey(a.Email) { // a change of case is the account's own address
		n, err := tx.CountAccounts(ctx, roster.AccountSelection{AnyState: true,
			Where: roster.Match{Attr: p.schema.Attr("email"), Lookup: roster.IExact, Value: addr}})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, nil
		}
	}
	base, err := s.linkBase(origin)
	if err != nil {
		return nil, err
	}
	key, err := secret.NewToken()
	if err != nil {
		return nil, roster.Internal("core.requestEmailChange", err)
	}
	now := s.now()
	ch := &roster.EmailChange{AccountID: a.ID, NewEmail: addr, KeyHash: secret.HashToken(key), CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.EmailChangeLifetime)}
	if err := tx.SetEmailChange(ctx, ch); err != nil {
		return nil, err
	}
	link := base + roster.ConfirmEmailPath + key
	m := s.newMessage(base, roster.MessageEmailConfirm, a, addr, "Confirm your new email address", fmt.Sprintf(
		"Hello %s,\n\nSomeone, hopefully you, asked that the email address of the account %s become this one, %s.\n\n"+
			"To confirm it, open this link and press Confirm:\n\n%s\n\n"+
			"The link works once, until %s. If you did not ask for this, ignore this message: nothing changes.\n",
		a.Username, a.Username, addr, link, ch.ExpiresAt.Format("2006-01-02 15:04 MST")), ch.ExpiresAt)
	if err := s.queue(ctx, tx, m); err != nil {
		return nil, err
	}
	// The audit entry names the new address and the message, never the key: whoever
	// reads the log must not be able to confirm the change.
	return roster.NewAuditEntry(ctx, now, "account.email_change_request", "account", a.ID, a.Username,
		[]roster.Change{{Field: "pending_email", New: addr}, {Field: "message", New: m.ID}}), nil
}

// linkBase is the scheme and host links point at: the configured public address, else
// the request's.
func (s *Service) linkBase(origin string) (string, error) {
	base := strings.TrimSuffix(s.cfg.PublicURL, "/")
	if base == "" {
		base = strings.TrimSuffix(origin, "/")
	}
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", roster.Internal("core.linkBase", fmt.Errorf("no public address for links (set the public URL): %q", base))
	}
	return base, nil
}

// messageIDHost is a host name fit for the right side of a Message-ID.
var messageIDHost = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// newMessage builds a pending message to addr about a, with a Message-ID of its own,
// expiring at expires (zero: after MessageLifetime).
func (s *Service) newMessage(base, kind string, a *roster.Account, addr, subject, body string, expires time.Time) *roster.Message {
	now := s.now()
	if expires.IsZero() {
		expires = now.Add(s.cfg.MessageLifetime)
	}
	host := "roster.invalid"
	if u, err := url.Parse(base); err == nil {
		h := u.Host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		if messageIDHost.MatchString(h) {
			host = h
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &roster.Message{MessageID: "<" + hex.EncodeToString(b[:]) + ".roster@" + host + ">", Kind: kind, AccountID: a.ID,
		To: addr, Subject: subject, Body: body, CreatedAt: now, NextAttemptAt: now, ExpiresAt: expires}
}

// queue writes a message to the outbox in tx. A failure fails the change it belongs
// to: the transaction rolls back, and the caller hears that the message could not be
// queued (Reason RQueue), so that a surface can word it as its platform words a mail
// that could not be sent.
func (s *Service) queue(ctx context.Context, tx roster.Tx, m *roster.Message) error {
	err := tx.QueueMessage(ctx, m)
	if s.hooks.beforeQueue != nil && err == nil {
		err = s.hooks.beforeQueue(m)
	}
	if err != nil {
		return &roster.Error{Code: roster.EUNAVAILABLE, Reason: roster.RQueue, Op: "core.queue", Err: err,
			Message: "The message could not be queued, so nothing was changed. Try again later."}
	}
	return nil
}

func (s *Service) messageQueued() {
	if s.cfg.MessageQueued != nil {
		s.cfg.MessageQueued()
	}
}

// errLinkUnknown is a key that names no pending change: never issued, replaced by a
// later request, or already used.
var errLinkUnknown = &roster.Error{Code: roster.ENOTFOUND,
	Message: "This confirmation link is not valid: it was already used, a newer request replaced it, or it was never issued."}

// errLinkExpired is a key whose pending change expired.
var errLinkExpired = &roster.Error{Code: roster.ENOTFOUND, Reason: roster.RLinkExpired,
	Message: "This confirmation link has expired. Change the email address again to be sent a new one."}

// LookupEmailChange returns the pending change a confirmation link's key names, for its
// page. The key is the only credential: anyone holding the link may see what it
// confirms. A key that names none is ENOTFOUND; an expired one, ENOTFOUND with Reason
// RLinkExpired.
func (s *Service) LookupEmailChange(ctx context.Context, key string) (*roster.PendingEmail, error) {
	ch, a, err := s.pendingByKey(ctx, s.store, key)
	if err != nil {
		return nil, err
	}
	return &roster.PendingEmail{Username: a.Username, OldEmail: a.Email, NewEmail: ch.NewEmail, ExpiresAt: ch.ExpiresAt}, nil
}

// pendingByKey reads the pending change of key and its account, refusing expired
// changes and accounts no longer in use.
func (s *Service) pendingByKey(ctx context.Context, rd roster.Reader, key string) (*roster.EmailChange, *roster.Account, error) {
	if key == "" || len(key) > 128 || !roster.ValidText(key) {
		return nil, nil, errLinkUnknown
	}
	ch, err := rd.GetEmailChangeByHash(ctx, secret.HashToken(key))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil, errLinkUnknown
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.now().Before(ch.ExpiresAt) {
		return nil, nil, errLinkExpired
	}
	a, err := rd.GetAccount(ctx, roster.RefID(ch.AccountID))
	if roster.ErrorCode(err) == roster.ENOTFOUND || err == nil && a.State != roster.StateActive && a.State != roster.StatePending {
		return nil, nil, errLinkUnknown // a deactivated or deleted account changes nothing
	}
	if err != nil {
		return nil, nil, err
	}
	return ch, a, nil
}

// ConfirmEmailChange follows a confirmation link: in one transaction, it replaces the
// account's email with the pending one if no other account holds it meanwhile
// (ECONFLICT with Reason REmailTaken otherwise, and nothing changes), ends the pending
// change so that the key works once, records the change in the audit log, and queues a
// notice to the old address and one to the new. origin is the address the page was
// reached at (roster.WriteOptions.Origin), for the notices' Message-IDs.
func (s *Service) ConfirmEmailChange(ctx context.Context, key, origin string) (*roster.PendingEmail, error) {
	var out *roster.PendingEmail
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		ch, a, err := s.pendingByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		// The account's row lock, then the delete: of two confirmations at once, the
		// second waits for the first and then finds nothing to delete.
		if a, err = tx.GetAccountForUpdate(ctx, roster.RefID(a.ID)); err != nil {
			return err
		}
		if ok, err := tx.DeleteEmailChange(ctx, a.ID, ch.KeyHash); err != nil {
			return err
		} else if !ok || a.State != roster.StateActive && a.State != roster.StatePending {
			return errLinkUnknown
		}
		if roster.FoldKey(ch.NewEmail) != roster.FoldKey(a.Email) {
			email, _ := emailAttr()
			n, err := tx.CountAccounts(ctx, roster.AccountSelection{AnyState: true,
				Where: roster.Match{Attr: email, Lookup: roster.IExact, Value: ch.NewEmail}})
			if err != nil {
				return err
			}
			if n > 0 {
				return errEmailTaken
			}
		}
		old := a.Email
		now := s.now()
		a.Email, a.UpdatedAt = ch.NewEmail, now
		if err := tx.UpdateAccount(ctx, a); err != nil {
			if e := roster.AsError(err); e.Code == roster.ECONFLICT && len(e.Problems) > 0 && e.Problems[0].Field == "email" {
				return errEmailTaken // taken by a change that committed after the count
			}
			return err
		}
		base, err := s.linkBase(origin)
		if err != nil {
			base = "" // the notices carry no link: base only names their Message-IDs' host
		}
		for _, m := range []*roster.Message{
			s.newMessage(base, roster.MessageEmailChangedOld, a, old, "The email address of your account was changed", fmt.Sprintf(
				"Hello %s,\n\nThe email address of the account %s was changed from %s to %s on %s.\n\n"+
					"Messages about the account now go to the new address. If you did not make this change, "+
					"tell the site's administrators at once.\n", a.Username, a.Username, old, a.Email, now.Format("2006-01-02 15:04 MST")), time.Time{}),
			s.newMessage(base, roster.MessageEmailChangedNew, a, a.Email, "Your email address was changed", fmt.Sprintf(
				"Hello %s,\n\nThis address, %s, is now the email address of the account %s (it was %s).\n",
				a.Username, a.Email, a.Username, old), time.Time{}),
		} {
			if err := s.queue(ctx, tx, m); err != nil {
				return err
			}
		}
		// The one who confirms is the account's owner, by the link mailed to the address
		// it gave; the entry names the account as its actor.
		e := roster.NewAuditEntry(ctx, now, "account.email_change_confirm", "account", a.ID, a.Username,
			[]roster.Change{{Field: "email", Old: old, New: a.Email}})
		e.ActorID, e.ActorName = a.ID, a.Username
		out = &roster.PendingEmail{Username: a.Username, OldEmail: old, NewEmail: a.Email}
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	s.messageQueued()
	return out, nil
}

var errEmailTaken = &roster.Error{Code: roster.ECONFLICT, Reason: roster.REmailTaken,
	Message: "Another account uses this email address now, so the change was not made."}

// The worker's side of the outbox. These run as the system, for internal/mail's
// workers; no surface reaches them.

// LeaseMessages leases up to limit due messages to owner for d, so that no other worker
// sends them meanwhile.
func (s *Service) LeaseMessages(ctx context.Context, owner string, limit int, d time.Duration) ([]*roster.Message, error) {
	var out []*roster.Message
	now := s.now()
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		var err error
		out, err = tx.LeaseMessages(ctx, owner, now, now.Add(d), limit)
		return err
	})
	return out, err
}

// MessageSent records that the mail server accepted a leased message, purging its body.
// It reports false when owner no longer held the lease (another worker took it).
func (s *Service) MessageSent(ctx context.Context, id int64, owner string) (bool, error) {
	return s.release(ctx, id, owner, roster.MessageRelease{State: roster.MessageSent, At: s.now()})
}

// MessageRefused records that the mail server refused a leased message for good,
// purging its body.
func (s *Service) MessageRefused(ctx context.Context, id int64, owner, reason string) (bool, error) {
	return s.release(ctx, id, owner, roster.MessageRelease{State: roster.MessageFailed, At: s.now(), Error: reason})
}

// MessageRetry records a failed attempt at a leased message, to be tried again after d.
func (s *Service) MessageRetry(ctx context.Context, id int64, owner, reason string, d time.Duration) (bool, error) {
	return s.release(ctx, id, owner, roster.MessageRelease{State: roster.MessagePending, NextAttemptAt: s.now().Add(d), Error: reason})
}

func (s *Service) release(ctx context.Context, id int64, owner string, r roster.MessageRelease) (bool, error) {
	var ok bool
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		var err error
		ok, err = tx.ReleaseMessage(ctx, id, owner, r)
		return err
	})
	return ok, err
}

// ExpireOutbox gives up the messages that expired undelivered, purging their bodies,
// and returns how many. Every replica may run it; it is idempotent.
func (s *Service) ExpireOutbox(ctx context.Context) (int, error) {
	var n int
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		var err error
		n, err = tx.ExpireMessages(ctx, s.now())
		return err
	})
	return n, err
}

// The operators' side: system administrators read the outbox, where messages wait when
// no mail server is configured. Every read is audited, in the transaction that reads:
// the log says who read which message.

// ListOutbox returns the messages f selects, without their bodies (ReadMessage shows
// one). Only system administrators may; the read is audited (outbox.list, naming the
// messages listed).
func (s *Service) ListOutbox(ctx context.Context, f roster.MessageFilter) ([]*roster.Message, error) {
	if err := RequireSysadmin(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	if f.State != "" && !f.State.Valid() {
		return nil, roster.Invalid(roster.Problem{Field: "state", Code: roster.PChoice,
			Message: "state is one of pending, sent, failed, expired.", Value: string(f.State)})
	}
	var out []*roster.Message
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		ms, err := tx.ListMessages(ctx, f)
		if err != nil {
			return err
		}
		ids := make([]any, len(ms))
		for i, m := range ms {
			m.Body = ""
			ids[i] = m.ID
		}
		out = ms
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, s.now(), "outbox.list", "outbox", 0, string(f.State),
			[]roster.Change{{Field: "messages", New: ids}}))
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*roster.Message{}
	}
	return out, nil
}

// ReadMessage returns one message of the outbox, with its body while it is pending.
// Only system administrators may; the read is audited (outbox.read).
func (s *Service) ReadMessage(ctx context.Context, id int64) (*roster.Message, error) {
	if err := RequireSysadmin(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	var out *roster.Message
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		m, err := tx.GetMessage(ctx, id)
		if err != nil {
			return err
		}
		out = m
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, s.now(), "outbox.read", "outbox", m.ID, m.MessageID, nil))
	})
	return out, err
}
