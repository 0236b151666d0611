package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// AppRequest registers an application.
type AppRequest struct {
	Name string
	// ClientID, when empty, is made up: 40 random hex digits. Portals that configure a
	// well-known id (Open edX's "login-service-client-id") give theirs.
	ClientID string
	// Owner is the account a client-credentials token acts as.
	Owner roster.AccountRef
	// Public: a client that cannot keep a secret (a mobile app); it authenticates with
	// its client id alone and may use only the password grant.
	Public       bool
	Grants       []string
	RedirectURIs []string
	Scopes       []string // default: read write email profile
}

// NewApp is a registered application with its secret, shown this once.
type NewApp struct {
	App    *roster.OAuthApp
	Secret string // empty for public clients
}

// Grants an application may be allowed. Refresh tokens come with password grants.
var appGrants = []string{roster.GrantClientCredentials, roster.GrantPassword}

var defaultScopes = []string{roster.ScopeRead, roster.ScopeWrite, roster.ScopeEmail, roster.ScopeProfile}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,100}$`)

const maxAppName = 100

func checkApp(name string, grants, uris, scopes []string, public bool) []roster.Problem {
	var problems []roster.Problem
	if p := roster.TextProblem("name", name); p != nil {
		problems = append(problems, *p)
	} else if name == "" {
		problems = append(problems, roster.Problem{Field: "name", Code: roster.PRequired, Message: "This field is required."})
	} else if len([]rune(name)) > maxAppName {
		problems = append(problems, roster.Problem{Field: "name", Code: roster.PTooLong, Limit: maxAppName, Message: "Ensure this field has no more than 100 characters."})
	}
	if len(grants) == 0 {
		problems = append(problems, roster.Problem{Field: "grants", Code: roster.PRequired, Message: "Name at least one grant: client_credentials or password."})
	}
	for _, g := range grants {
		if !slices.Contains(appGrants, g) {
			problems = append(problems, roster.Problem{Field: "grants", Code: roster.PChoice, Value: g, Message: "Unknown grant " + quote(g) + "; the grants are client_credentials and password."})
		} else if public && g == roster.GrantClientCredentials {
			problems = append(problems, roster.Problem{Field: "grants", Code: roster.PChoice, Value: g, Message: "A public client has no secret, so it cannot use client_credentials."})
		}
	}
	for _, sc := range scopes {
		if !slices.Contains(roster.Scopes, sc) {
			problems = append(problems, roster.Problem{Field: "scopes", Code: roster.PChoice, Value: sc, Message: "Unknown scope " + quote(sc) + "; the scopes are " + strings.Join(roster.Scopes, ", ") + "."})
		}
	}
	if len(uris) > 20 {
		problems = append(problems, roster.Problem{Field: "redirect_uris", Code: roster.PTooLong, Limit: 20, Message: "Give at most 20 redirect URIs."})
	}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil || len(u) > 500 || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.Fragment != "" {
			problems = append(problems, roster.Problem{Field: "redirect_uris", Code: roster.PFormat, Value: u, Message: "A redirect URI is an absolute http or https address without a fragment."})
		}
	}
	return problems
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}

// dedupe keeps the first of each value, in order, dropping empty ones.
func dedupe(in []string) []string {
	var out []string
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// CreateApp registers an application. System administrators may.
func (s *Service) CreateApp(ctx context.Context, req AppRequest) (*NewApp, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSysadmin(actor, true); err != nil {
		return nil, err
	}
	req.Name = strings.TrimSpace(req.Name)
	req.Grants, req.RedirectURIs, req.Scopes = dedupe(req.Grants), dedupe(req.RedirectURIs), dedupe(req.Scopes)
	if req.Scopes == nil {
		req.Scopes = defaultScopes
	}
	problems := checkApp(req.Name, req.Grants, req.RedirectURIs, req.Scopes, req.Public)
	if req.ClientID != "" && !clientIDPattern.MatchString(req.ClientID) {
		problems = append(problems, roster.Problem{Field: "client_id", Code: roster.PFormat,
			Message: "A client id is 1 to 100 letters, digits, dots, dashes, underscores or tildes."})
	}
	if req.Owner == (roster.AccountRef{}) {
		problems = append(problems, roster.Problem{Field: "owner", Code: roster.PRequired, Message: "Name the account the application acts as."})
	}
	if len(problems) > 0 {
		return nil, roster.Invalid(problems...)
	}
	if req.ClientID == "" {
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			return nil, roster.Internal("oauth.CreateApp", err)
		}
		req.ClientID = hex.EncodeToString(b)
	}
	now := s.now()
	app := &roster.OAuthApp{ClientID: req.ClientID, Name: req.Name, Confidential: !req.Public, Grants: req.Grants,
		RedirectURIs: req.RedirectURIs, Scopes: req.Scopes, CreatedAt: now, UpdatedAt: now}
	out := &NewApp{App: app}
	if app.Confidential {
		sec, err := secret.NewToken()
		if err != nil {
			return nil, roster.Internal("oauth.CreateApp", err)
		}
		out.Secret, app.SecretHash, app.SecretPrefix = sec, secret.HashToken(sec), sec[:6]
	}
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		owner, err := tx.GetAccount(ctx, req.Owner)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return roster.Invalid(roster.Problem{Field: "owner", Code: roster.PChoice, Message: "No such account."})
		} else if err != nil {
			return err
		}
		if owner.State != roster.StateActive {
			return roster.Invalid(roster.Problem{Field: "owner", Code: roster.PChoice, Message: "The owner's account is not active."})
		}
		if _, err := tx.GetOAuthAppByClientID(ctx, app.ClientID); err == nil {
			return &roster.Error{Code: roster.ECONFLICT, Message: "An application with that client id exists already.",
				Problems: []roster.Problem{{Field: "client_id", Code: roster.PTaken, Message: "An application with that client id exists already."}}}
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		app.OwnerID, app.Owner = owner.ID, owner.Username
		if err := tx.CreateOAuthApp(ctx, app); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "oauth2_app.create", "oauth2_app", app.ID, app.ClientID, []roster.Change{
			{Field: "name", New: app.Name}, {Field: "owner", New: owner.Username}, {Field: "confidential", New: app.Confidential},
			{Field: "grants", New: roster.JoinScopes(app.Grants)}, {Field: "redirect_uris", New: roster.JoinScopes(app.RedirectURIs)},
			{Field: "scopes", New: roster.JoinScopes(app.Scopes)}}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListApps lists the applications (never their secrets). System administrators may.
func (s *Service) ListApps(ctx context.Context) ([]*roster.OAuthApp, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	return s.store.ListOAuthApps(ctx)
}

// GetApp reads an application by id. System administrators may.
func (s *Service) GetApp(ctx context.Context, id int64) (*roster.OAuthApp, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	return s.store.GetOAuthApp(ctx, id)
}

// UpdateApp changes an application's name, grants, redirect URIs or scopes. Tokens
// already issued keep the scopes they were issued with until they expire; a grant
// taken away stops new tokens and refreshes at once.
func (s *Service) UpdateApp(ctx context.Context, id int64, ch roster.OAuthAppChange) (*roster.OAuthApp, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), true); err != nil {
		return nil, err
	}
	var out *roster.OAuthApp
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		app, err := tx.GetOAuthApp(ctx, id)
		if err != nil {
			return err
		}
		if !app.Live() {
			return roster.Errorf(roster.ECONFLICT, "The application is revoked.")
		}
		next := *app
		var changes []roster.Change
		set := func(field string, dst *[]string, v *[]string) {
			if v == nil {
				return
			}
			nv := dedupe(*v)
			if !slices.Equal(nv, *dst) {
				changes = append(changes, roster.Change{Field: field, Old: roster.JoinScopes(*dst), New: roster.JoinScopes(nv)})
			}
			*dst = nv
		}
		if ch.Name != nil {
			if n := strings.TrimSpace(*ch.Name); n != next.Name {
				changes = append(changes, roster.Change{Field: "name", Old: next.Name, New: n})
				next.Name = n
			}
		}
		set("grants", &next.Grants, ch.Grants)
		set("redirect_uris", &next.RedirectURIs, ch.RedirectURIs)
		set("scopes", &next.Scopes, ch.Scopes)
		if problems := checkApp(next.Name, next.Grants, next.RedirectURIs, next.Scopes, !next.Confidential); len(problems) > 0 {
			return roster.Invalid(problems...)
		}
		out = &next
		if len(changes) == 0 {
			return nil
		}
		next.UpdatedAt = s.now()
		if err := tx.UpdateOAuthApp(ctx, &next); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, next.UpdatedAt, "oauth2_app.update", "oauth2_app", app.ID, app.ClientID, changes))
	})
	return out, err
}

// RotateSecret gives a confidential application a new secret, shown this once; the
// old one stops working at once. Tokens already issued stay valid.
func (s *Service) RotateSecret(ctx context.Context, id int64) (*NewApp, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), true); err != nil {
		return nil, err
	}
	sec, err := secret.NewToken()
	if err != nil {
		return nil, roster.Internal("oauth.RotateSecret", err)
	}
	var out *NewApp
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		app, err := tx.GetOAuthApp(ctx, id)
		if err != nil {
			return err
		}
		if !app.Confidential {
			return roster.Errorf(roster.ECONFLICT, "A public client has no secret.")
		}
		if !app.Live() {
			return roster.Errorf(roster.ECONFLICT, "The application is revoked.")
		}
		now := s.now()
		app.SecretHash, app.SecretPrefix, app.UpdatedAt = secret.HashToken(sec), sec[:6], now
		if err := tx.SetOAuthAppSecret(ctx, id, app.SecretHash, app.SecretPrefix, now); err != nil {
			return err
		}
		out = &NewApp{App: app, Secret: sec}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "oauth2_app.rotate_secret", "oauth2_app", app.ID, app.ClientID,
			[]roster.Change{{Field: "secret_prefix", New: app.SecretPrefix}}))
	})
	return out, err
}

// RevokeApp revokes an application: it obtains no more tokens, and every token it
// obtained stops working on the next request, on every replica.
func (s *Service) RevokeApp(ctx context.Context, id int64) (*roster.OAuthApp, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), true); err != nil {
		return nil, err
	}
	var out *roster.OAuthApp
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		app, err := tx.GetOAuthApp(ctx, id)
		if err != nil {
			return err
		}
		out = app
		if !app.Live() {
			return nil
		}
		now := s.now()
		if err := tx.RevokeOAuthApp(ctx, id, now); err != nil {
			return err
		}
		app.RevokedAt, app.UpdatedAt = now, now
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "oauth2_app.revoke", "oauth2_app", app.ID, app.ClientID,
			[]roster.Change{{Field: "revoked_at", New: roster.JSONValue(now)}}))
	})
	return out, err
}
