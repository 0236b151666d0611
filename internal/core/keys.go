package core

import (
	"context"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

const maxKeyLabel = 100

// CreateAPIKey makes a new API key for the account. Owners make their own keys, system
// administrators anyone's. Read-only keys cannot make keys.
func (s *Service) CreateAPIKey(ctx context.Context, ref roster.AccountRef, req roster.KeyRequest) (*roster.NewKey, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	var problems []roster.Problem
	req.Label = strings.TrimSpace(req.Label)
	if p := roster.TextProblem("label", req.Label); p != nil {
		problems = append(problems, *p)
	} else if len([]rune(req.Label)) > maxKeyLabel {
		problems = append(problems, roster.Problem{Field: "label", Code: roster.PTooLong, Limit: maxKeyLabel, Message: "Ensure this field has no more than 100 characters."})
	}
	now := s.now()
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		problems = append(problems, roster.Problem{Field: "expires_at", Code: roster.PRange, Message: "The expiry must be in the future."})
	}
	if len(problems) > 0 {
		return nil, roster.Invalid(problems...)
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.loadForWrite(ctx, p, s.store, actor, ref)
	if err != nil {
		return nil, err
	}
	if a.State != roster.StateActive {
		return nil, roster.Errorf(roster.ECONFLICT, "The account is not active.")
	}
	key, err := secret.NewKey()
	if err != nil {
		return nil, roster.Internal("core.CreateAPIKey", err)
	}
	k := &roster.APIKey{AccountID: a.ID, Label: req.Label, Prefix: key[:len(secret.KeyPrefix)+6], Hash: secret.HashToken(key),
		ReadOnly: req.ReadOnly, CreatedAt: now, ExpiresAt: req.ExpiresAt.UTC().Truncate(time.Microsecond)}
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		changes := []roster.Change{{Field: "label", New: k.Label}, {Field: "read_only", New: k.ReadOnly}, {Field: "prefix", New: k.Prefix}}
		if !k.ExpiresAt.IsZero() {
			changes = append(changes, roster.Change{Field: "expires_at", New: roster.JSONValue(k.ExpiresAt)})
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "key.create", "api_key", k.ID, a.Username, changes))
	})
	if err != nil {
		return nil, err
	}
	return &roster.NewKey{Secret: key, Key: k}, nil
}

// ListAPIKeys lists an account's keys (never their secrets). Owners, staff and system
// administrators may.
func (s *Service) ListAPIKeys(ctx context.Context, ref roster.AccountRef) ([]*roster.APIKey, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, false); err != nil {
		return nil, err
	}
	a, err := s.store.GetAccount(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !actor.IsStaff() && !actor.Is(a.ID) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You may list only your own keys.")
	}
	return s.store.ListAPIKeys(ctx, a.ID)
}

// RevokeAPIKey revokes a key by id. Its owner and system administrators may.
func (s *Service) RevokeAPIKey(ctx context.Context, id int64) (*roster.APIKey, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	var out *roster.APIKey
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		k, err := tx.GetAPIKey(ctx, id)
		if err != nil {
			return err
		}
		if !actor.IsSysadmin() && !actor.Is(k.AccountID) {
			return roster.Errorf(roster.ENOTFOUND, "API key not found.")
		}
		if !k.RevokedAt.IsZero() {
			out = k
			return nil // revoking twice is not an error, and not a second change
		}
		owner, err := tx.GetAccount(ctx, roster.RefID(k.AccountID))
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.RevokeAPIKey(ctx, id, now); err != nil {
			return err
		}
		k.RevokedAt = now
		out = k
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "key.revoke", "api_key", id, owner.Username,
			[]roster.Change{{Field: "revoked_at", New: roster.JSONValue(now)}}))
	})
	return out, err
}
