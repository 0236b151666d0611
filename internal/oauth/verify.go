package oauth

import (
	"context"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// leeway forgives clocks of replicas and services that differ by a few seconds.
const leeway = 5 * time.Second

// maxToken bounds a token before anything parses it.
const maxToken = 8 << 10

func tokenRefusal(reason, msg string) error {
	return &roster.Error{Code: roster.EUNAUTHENTICATED, Reason: reason, Message: msg}
}

// IsJWT reports whether token has a JWT's compact form: three parts.
func IsJWT(token string) bool { return strings.Count(token, ".") == 2 }

// Verify returns the actor a token Roster issued stands for: a JWT signed by one of its
// keys, or an opaque bearer token. On every request it checks, in the store that every
// replica shares, that the token's family, its application and its signing key are not
// revoked or retired and that its account is active. Tokens that are not Roster's, or
// whose signature does not verify, are counted against the client like bad API keys.
func (s *Service) Verify(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	if len(token) > maxToken || token == "" {
		return roster.Actor{}, s.accounts.FailKey(ctx, c, tokenRefusal(roster.RTokenInvalid, "Invalid token."))
	}
	if IsJWT(token) {
		return s.verifyJWT(ctx, token, c)
	}
	return s.verifyOpaque(ctx, token, c)
}

func (s *Service) verifyJWT(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	invalid := func() (roster.Actor, error) {
		return roster.Actor{}, s.accounts.FailKey(ctx, c, tokenRefusal(roster.RTokenInvalid, "Invalid token."))
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Algorithm})
	if err != nil || len(parsed.Headers) != 1 || parsed.Headers[0].KeyID == "" {
		return invalid()
	}
	kid := parsed.Headers[0].KeyID
	pub, err := s.publicKey(ctx, kid)
	if err != nil {
		return roster.Actor{}, err
	}
	if pub == nil {
		return invalid()
	}
	var cl claims
	if err := parsed.Claims(pub, &cl); err != nil {
		return invalid()
	}
	now := s.cfg.Now()
	err = cl.Claims.ValidateWithLeeway(jwt.Expected{Issuer: s.cfg.Issuer, AnyAudience: jwt.Audience{s.cfg.Audience}, Time: now}, leeway)
	switch {
	case err == jwt.ErrExpired:
		return roster.Actor{}, tokenRefusal(roster.RTokenExpired, "Signature has expired.")
	case err != nil || cl.Expiry == nil || cl.GrantID == 0:
		return invalid()
	}
	return s.grantActor(ctx, cl.GrantID, kid, now)
}

func (s *Service) verifyOpaque(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	none := tokenRefusal(roster.RTokenInvalid, "The provided access token does not match any valid tokens.")
	t, err := s.store.GetOAuthToken(ctx, secret.HashToken(token))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return roster.Actor{}, s.accounts.FailKey(ctx, c, none)
	} else if err != nil {
		return roster.Actor{}, err
	}
	if t.Kind != roster.TokenAccess { // a refresh token is no access token
		return roster.Actor{}, s.accounts.FailKey(ctx, c, none)
	}
	now := s.cfg.Now()
	if !now.Before(t.ExpiresAt) {
		return roster.Actor{}, tokenRefusal(roster.RTokenExpired, "The provided access token has expired.")
	}
	return s.grantActor(ctx, t.GrantID, "", now)
}

// grantActor checks a token's family and returns its account's actor.
func (s *Service) grantActor(ctx context.Context, grantID int64, kid string, now time.Time) (roster.Actor, error) {
	g, a, err := s.store.GetOAuthGrantForAuth(ctx, grantID, kid, now)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return roster.Actor{}, tokenRefusal(roster.RTokenRevoked, "The token has been revoked.")
	} else if err != nil {
		return roster.Actor{}, err
	}
	switch {
	case !g.RevokedAt.IsZero(), g.AppID != 0 && !g.AppRevokedAt.IsZero(), g.SessionID != 0 && !g.SessionLive:
		return roster.Actor{}, tokenRefusal(roster.RTokenRevoked, "The token has been revoked.")
	case kid != "" && (!g.KeyKnown || (!g.KeyRetireAt.IsZero() && !now.Before(g.KeyRetireAt))):
		return roster.Actor{}, tokenRefusal(roster.RTokenRevoked, "The token's signing key has been retired.")
	case a.State != roster.StateActive:
		return roster.Actor{}, tokenRefusal(roster.RAccountInactive, "User account is disabled.")
	}
	actor := core.ActorOf(a)
	actor.GrantID, actor.PolicyVersion = g.ID, g.PolicyVersion
	actor.ReadOnly = !g.HasScope(roster.ScopeWrite)
	return actor, nil
}
