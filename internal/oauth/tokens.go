package oauth

import (
	"context"
	"crypto/rsa"
	"crypto/subtle"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// TokenRequest is a request to the token endpoint, as its form names the fields.
type TokenRequest struct {
	GrantType    string
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	RefreshToken string
	// Scope is the scopes asked for, space-separated; empty: all the application may.
	Scope string
	// TokenType is "jwt" for a JWT, else an opaque bearer token (Open edX's default).
	TokenType string
}

// Token is the token endpoint's answer.
type Token struct {
	AccessToken  string
	TokenType    string // "JWT" or "Bearer", as Open edX writes them
	ExpiresIn    int    // seconds
	ExpiresAt    time.Time
	Scope        string
	RefreshToken string // password and refresh grants only
}

// JWT claims' version, as Open edX's JWT_SUPPORTED_VERSION.
const claimsVersion = "1.2.0"

// Limits on what a token request may hold, checked before anything is looked up.
const maxField = 1000

func refuse(reason, msg string) error {
	code := roster.EINVALID
	if reason == roster.RInvalidClient {
		code = roster.EUNAUTHENTICATED
	}
	return &roster.Error{Code: code, Reason: reason, Message: msg}
}

// Token answers a token request: it authenticates the client, checks the grant, and
// issues an access token (and, for the password and refresh grants, a refresh token).
// Bad client secrets are throttled like bad API keys, bad passwords like sign-ins.
func (s *Service) Token(ctx context.Context, req TokenRequest, c roster.Client) (*Token, error) {
	for _, v := range []string{req.GrantType, req.ClientID, req.ClientSecret, req.Username, req.Password, req.RefreshToken, req.Scope, req.TokenType} {
		if len(v) > maxField {
			return nil, refuse(roster.RInvalidRequest, "A field of the request is too long.")
		}
	}
	switch req.GrantType {
	case roster.GrantClientCredentials, roster.GrantPassword, roster.GrantRefreshToken:
	case "":
		return nil, refuse(roster.RInvalidRequest, "Request is missing grant_type.")
	default:
		return nil, refuse(roster.RUnsupportedGrantType, "The grant type is not supported.")
	}
	app, err := s.authenticateClient(ctx, req, c)
	if err != nil {
		return nil, err
	}
	need := req.GrantType
	if need == roster.GrantRefreshToken {
		need = roster.GrantPassword // refresh tokens come with password grants alone
	}
	if !app.Allows(need) {
		return nil, refuse(roster.RUnauthorizedClient, "The client is not authorized to use this grant type.")
	}
	jwtType := strings.EqualFold(req.TokenType, "jwt")
	switch req.GrantType {
	case roster.GrantClientCredentials:
		scopes, err := s.scopes(app, req.Scope)
		if err != nil {
			return nil, err
		}
		owner, err := s.store.GetAccount(ctx, roster.RefID(app.OwnerID))
		if err != nil {
			return nil, err
		}
		if owner.State != roster.StateActive {
			return nil, refuse(roster.RInvalidGrant, "The application's account is not active.")
		}
		return s.issue(ctx, app, owner, roster.GrantClientCredentials, scopes, jwtType, false, 0)
	case roster.GrantPassword:
		if req.Username == "" || req.Password == "" {
			return nil, refuse(roster.RInvalidRequest, "Request is missing username or password.")
		}
		scopes, err := s.scopes(app, req.Scope)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(scopes, roster.ScopeUserID) { // as Open edX adds it to every password grant
			scopes = append(scopes, roster.ScopeUserID)
		}
		a, err := s.accounts.VerifyPassword(ctx, req.Username, req.Password, c)
		if err != nil {
			if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
				return nil, refuse(roster.RInvalidGrant, "Invalid credentials given.")
			}
			return nil, err
		}
		return s.issue(ctx, app, a, roster.GrantPassword, scopes, jwtType, true, 0)
	default:
		return s.refresh(ctx, app, req, jwtType, c)
	}
}

// authenticateClient finds the application and checks its secret. A confidential
// client must show its secret; a public one shows only its id.
func (s *Service) authenticateClient(ctx context.Context, req TokenRequest, c roster.Client) (*roster.OAuthApp, error) {
	bad := refuse(roster.RInvalidClient, "Client authentication failed.")
	if req.ClientID == "" {
		return nil, bad
	}
	app, err := s.store.GetOAuthAppByClientID(ctx, req.ClientID)
	switch {
	case roster.ErrorCode(err) == roster.ENOTFOUND:
		return nil, s.accounts.FailKey(ctx, c, bad)
	case err != nil:
		return nil, err
	case !app.Live():
		return nil, bad
	case app.Confidential && subtle.ConstantTimeCompare(app.SecretHash, secret.HashToken(req.ClientSecret)) != 1:
		return nil, s.accounts.FailKey(ctx, c, bad)
	}
	return app, nil
}

// scopes are the scopes asked for, each of which the application must allow.
func (s *Service) scopes(app *roster.OAuthApp, asked string) ([]string, error) {
	if strings.TrimSpace(asked) == "" {
		return app.Scopes, nil
	}
	var out []string
	for _, sc := range strings.Fields(asked) {
		if !slices.Contains(app.Scopes, sc) {
			return nil, refuse(roster.RInvalidScope, "The requested scope is invalid, unknown, or malformed.")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// refresh exchanges a refresh token for a new access token and a new refresh token in
// the same family. A refresh token works once: showing a used one again means it was
// copied, so the whole family is revoked.
func (s *Service) refresh(ctx context.Context, app *roster.OAuthApp, req TokenRequest, jwtType bool, c roster.Client) (*Token, error) {
	invalid := refuse(roster.RInvalidGrant, "The refresh token is invalid, expired or revoked.")
	if req.RefreshToken == "" {
		return nil, refuse(roster.RInvalidRequest, "Request is missing refresh_token.")
	}
	hash := secret.HashToken(req.RefreshToken)
	t, err := s.store.GetOAuthToken(ctx, hash)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, s.accounts.FailKey(ctx, c, invalid)
	} else if err != nil {
		return nil, err
	}
	if t.Kind != roster.TokenRefresh {
		return nil, s.accounts.FailKey(ctx, c, invalid)
	}
	g, err := s.store.GetOAuthGrant(ctx, t.GrantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if g.AppID != app.ID || !g.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, invalid
	}
	if !t.UsedAt.IsZero() {
		s.revokeReused(ctx, g)
		return nil, invalid
	}
	a, err := s.store.GetAccount(ctx, roster.RefID(g.AccountID))
	if err != nil {
		return nil, err
	}
	if a.State != roster.StateActive {
		return nil, invalid
	}
	scopes := g.Scopes
	if strings.TrimSpace(req.Scope) != "" { // a refresh may narrow the scopes, never widen them
		asked, err := s.scopes(&roster.OAuthApp{Scopes: g.Scopes}, req.Scope)
		if err != nil {
			return nil, err
		}
		scopes = asked
	}
	tok, err := s.issueIn(ctx, app, a, g, scopes, jwtType, true, func(tx roster.Tx, now time.Time) error { return tx.UseOAuthToken(ctx, hash, now) })
	if roster.ErrorCode(err) == roster.ECONFLICT { // another request used it first
		s.revokeReused(ctx, g)
		return nil, invalid
	}
	return tok, err
}

// revokeReused revokes a family whose used refresh token came back, and logs it: a
// copy of the token is in someone else's hands.
func (s *Service) revokeReused(ctx context.Context, g *roster.OAuthGrant) {
	s.log.Warn("refresh token reused: revoking its grant", "grant_id", g.ID, "account_id", g.AccountID)
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		return s.revokeGrantTx(ctx, tx, g, "refresh token reused")
	})
	if err != nil {
		s.log.Error("revoking a reused refresh token's grant", "grant_id", g.ID, "err", err)
	}
}

// issue starts a new family for account a and issues its first tokens.
func (s *Service) issue(ctx context.Context, app *roster.OAuthApp, a *roster.Account, grantType string, scopes []string, jwtType, withRefresh bool, sessionID int64) (*Token, error) {
	g := &roster.OAuthGrant{AccountID: a.ID, SessionID: sessionID, GrantType: grantType, Scopes: scopes, CreatedAt: s.now()}
	if app != nil {
		g.AppID, g.ClientID = app.ID, app.ClientID
	}
	return s.issueIn(ctx, app, a, g, scopes, jwtType, withRefresh, nil)
}

// issueIn issues tokens in grant g (a new one when g.ID is 0), in one transaction with
// its audit entry and use (when not nil), which uses up what the tokens are issued for:
// a refresh token, a device code. BrainSTEM's tokens live BrainSTEMLifetime.
func (s *Service) issueIn(ctx context.Context, app *roster.OAuthApp, a *roster.Account, g *roster.OAuthGrant, scopes []string, jwtType, withRefresh bool,
	use func(tx roster.Tx, now time.Time) error) (*Token, error) {
	now := s.now()
	life := s.cfg.BearerLifetime
	switch {
	case jwtType:
		life = s.cfg.AccessLifetime
	case g.GrantType == roster.GrantBrainSTEMPassword || g.GrantType == roster.GrantBrainSTEMDevice:
		life = s.cfg.BrainSTEMLifetime
	}
	exp := now.Add(life)
	out := &Token{TokenType: "Bearer", ExpiresIn: int(life / time.Second), ExpiresAt: exp, Scope: roster.JoinScopes(scopes)}
	var (
		signKey *roster.SigningKey
		priv    *rsa.PrivateKey
		err     error
	)
	if jwtType {
		if signKey, priv, err = s.signer(ctx); err != nil {
			return nil, err
		}
	}
	var access, refreshTok string
	if !jwtType {
		if access, err = secret.NewToken(); err != nil {
			return nil, roster.Internal("oauth.issue", err)
		}
	}
	if withRefresh {
		if refreshTok, err = secret.NewToken(); err != nil {
			return nil, roster.Internal("oauth.issue", err)
		}
	}
	actor := roster.ActorFromContext(ctx)
	owner := core.ActorOf(a)
	owner.Via, owner.RequestID, owner.ClientIP = actor.Via, actor.RequestID, actor.ClientIP
	actx := roster.NewContextWithActor(ctx, owner)
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		action := "oauth2.token"
		if g.ID == 0 {
			g.CreatedAt = now
			if err := tx.CreateOAuthGrant(ctx, g); err != nil {
				return err
			}
		} else {
			action = "oauth2.refresh"
		}
		if use != nil {
			if err := use(tx, now); err != nil {
				return err
			}
		}
		if jwtType {
			tok, err := s.signJWT(signKey, priv, a, g, scopes, now, exp)
			if err != nil {
				return err
			}
			access, out.TokenType = tok, "JWT"
		} else if err := tx.CreateOAuthToken(ctx, &roster.OAuthToken{Hash: secret.HashToken(access), GrantID: g.ID, Kind: roster.TokenAccess, CreatedAt: now, ExpiresAt: exp}); err != nil {
			return err
		}
		if withRefresh {
			if err := tx.CreateOAuthToken(ctx, &roster.OAuthToken{Hash: secret.HashToken(refreshTok), GrantID: g.ID, Kind: roster.TokenRefresh,
				CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshLifetime)}); err != nil {
				return err
			}
		}
		changes := []roster.Change{{Field: "grant_id", New: g.ID}, {Field: "grant_type", New: g.GrantType},
			{Field: "token_type", New: out.TokenType}, {Field: "scopes", New: roster.JoinScopes(scopes)}}
		if app != nil {
			changes = append(changes, roster.Change{Field: "client_id", New: app.ClientID})
		}
		return tx.AppendAudit(actx, roster.NewAuditEntry(actx, now, action, "account", a.ID, a.Username, changes))
	})
	if err != nil {
		return nil, err
	}
	out.AccessToken, out.RefreshToken = access, refreshTok
	return out, nil
}

// claims are a JWT's claims, as Open edX's oauth_dispatch issues them, and the grant
// (token family) Roster checks on every request.
type claims struct {
	jwt.Claims
	PreferredUsername string   `json:"preferred_username"`
	GrantType         string   `json:"grant_type"`
	Scopes            []string `json:"scopes"`
	Filters           []string `json:"filters"`
	Version           string   `json:"version"`
	IsRestricted      bool     `json:"is_restricted"`
	EmailVerified     bool     `json:"email_verified"`
	Email             string   `json:"email,omitempty"`
	Name              string   `json:"name,omitempty"`
	GivenName         string   `json:"given_name,omitempty"`
	FamilyName        string   `json:"family_name,omitempty"`
	Administrator     *bool    `json:"administrator,omitempty"`
	Superuser         *bool    `json:"superuser,omitempty"`
	UserID            int64    `json:"user_id,omitempty"`
	GrantID           int64    `json:"grant_id"`
}

func (s *Service) signJWT(k *roster.SigningKey, priv *rsa.PrivateKey, a *roster.Account, g *roster.OAuthGrant, scopes []string, now, exp time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: priv, KeyID: k.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", roster.Internal("oauth.signJWT", err)
	}
	c := claims{
		Claims: jwt.Claims{Issuer: s.cfg.Issuer, Subject: a.UUID, Audience: jwt.Audience{s.cfg.Audience},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)},
		PreferredUsername: a.Username, GrantType: "password", Scopes: scopes, Filters: []string{"user:me"}, Version: claimsVersion,
		EmailVerified: a.State == roster.StateActive, GrantID: g.ID,
	}
	// Open edX names the application's grant type (its login service, which signs
	// browsers' cookies, is a password client), and confines tokens that act for a
	// person, not for the application itself, to that person ("user:me").
	if g.GrantType == roster.GrantClientCredentials {
		c.GrantType, c.Filters = "client-credentials", []string{}
	}
	if slices.Contains(scopes, roster.ScopeEmail) {
		c.Email = a.Email
	}
	if slices.Contains(scopes, roster.ScopeProfile) {
		staff, super := a.Staff || a.Sysadmin, a.Sysadmin
		c.Name, c.GivenName, c.FamilyName, c.Administrator, c.Superuser = a.Name, a.FirstName, a.LastName, &staff, &super
	}
	if slices.Contains(scopes, roster.ScopeUserID) {
		c.UserID = a.ID
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", roster.Internal("oauth.signJWT", err)
	}
	return tok, nil
}

// SessionToken issues the JWT a signed-in browser carries as cookies (Open edX's
// /login_refresh). Its family is the session: signing out ends it.
func (s *Service) SessionToken(ctx context.Context) (*Token, error) {
	actor := roster.ActorFromContext(ctx)
	if actor.SessionID == 0 {
		return nil, roster.Errorf(roster.EUNAUTHENTICATED, "Sign in first.")
	}
	a, err := s.store.GetAccount(ctx, roster.RefID(actor.AccountID))
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, nil, a, roster.GrantSession, sessionScopes, true, false, actor.SessionID)
}

// A browser's own token may do all its session may.
var sessionScopes = []string{roster.ScopeRead, roster.ScopeWrite, roster.ScopeEmail, roster.ScopeProfile, roster.ScopeUserID}

// ListGrants lists an account's live token families. Owners, staff and system
// administrators may.
func (s *Service) ListGrants(ctx context.Context, ref roster.AccountRef) ([]*roster.OAuthGrant, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, false); err != nil {
		return nil, err
	}
	a, err := s.store.GetAccount(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !actor.IsStaff() && !actor.Is(a.ID) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You may list only your own tokens.")
	}
	all, err := s.store.ListOAuthGrants(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, g := range all {
		if g.RevokedAt.IsZero() {
			live = append(live, g)
		}
	}
	return live, nil
}

// RevokeGrant revokes a token family: its tokens, JWTs included, stop working on the
// next request to any replica. Its account's owner and system administrators may.
func (s *Service) RevokeGrant(ctx context.Context, id int64) (*roster.OAuthGrant, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	var out *roster.OAuthGrant
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		g, err := tx.GetOAuthGrant(ctx, id)
		if err != nil {
			return err
		}
		if !actor.IsSysadmin() && !actor.Is(g.AccountID) {
			return roster.Errorf(roster.ENOTFOUND, "Grant not found.")
		}
		out = g
		return s.revokeGrantTx(ctx, tx, g, "")
	})
	return out, err
}

func (s *Service) revokeGrantTx(ctx context.Context, tx roster.Tx, g *roster.OAuthGrant, why string) error {
	if !g.RevokedAt.IsZero() {
		return nil
	}
	owner, err := tx.GetAccount(ctx, roster.RefID(g.AccountID))
	if err != nil {
		return err
	}
	now := s.now()
	if err := tx.RevokeOAuthGrant(ctx, g.ID, now); err != nil {
		return err
	}
	g.RevokedAt = now
	changes := []roster.Change{{Field: "revoked_at", New: roster.JSONValue(now)}}
	if why != "" {
		changes = append(changes, roster.Change{Field: "reason", New: why})
	}
	return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "oauth2_grant.revoke", "oauth2_grant", g.ID, owner.Username, changes))
}

// ExpireTokens deletes the opaque tokens past their expiry, which verify nothing; a used
// refresh token is kept until then, so that its reuse is still recognised.
func (s *Service) ExpireTokens(ctx context.Context) (int, error) {
	return s.store.DeleteExpiredOAuthTokens(ctx, s.cfg.Now())
}
