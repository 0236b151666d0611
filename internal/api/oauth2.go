package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
)

// The token service's management: OAuth2 applications and signing keys (system
// administrators), and the token families (grants) of an account, which are listed and
// revoked with its API keys. The token service decides who may; a client secret is
// shown in the answer that made it, and never again.

// appID reads an application's id from the path. One that is no id is 0, which no
// application has: the token service still says who may ask first.
func appID(r *http.Request) int64 {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// appBody reads the fields of an application from a JSON object. A field of the wrong
// type, an unknown one and one that cannot be changed are problems named by the field,
// all of them reported together.
type appBody struct {
	raw      map[string]json.RawMessage
	problems []roster.Problem
}

func readAppBody(r *http.Request, fields, fixed []string) (*appBody, error) {
	var raw json.RawMessage
	if err := httpx.DecodeJSON(r, &raw); err != nil {
		return nil, err
	}
	b := &appBody{}
	if raw = bytes.TrimSpace(raw); raw[0] != '{' || json.Unmarshal(raw, &b.raw) != nil {
		return nil, roster.Errorf(roster.EINVALID, "The request body must be a JSON object.")
	}
	names := make([]string, 0, len(b.raw))
	for k := range b.raw {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		switch {
		case slices.Contains(fields, k):
		case slices.Contains(fixed, k):
			b.problem(k, roster.PReadOnly, "This field cannot be changed: register a new application instead.")
		default:
			b.problem(k, roster.PUnknown, "Unknown field; the fields are "+strings.Join(fields, ", ")+".")
		}
	}
	return b, nil
}

func (b *appBody) problem(field, code, msg string) {
	b.problems = append(b.problems, roster.Problem{Field: field, Code: code, Message: msg})
}

// present reports whether name was sent with a value other than null.
func (b *appBody) present(name string) bool {
	v, ok := b.raw[name]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// text reads a string field; nil when it is absent or null.
func (b *appBody) text(name string) *string {
	if !b.present(name) {
		return nil
	}
	var s string
	if json.Unmarshal(b.raw[name], &s) != nil {
		b.problem(name, roster.PType, "Must be text.")
		return nil
	}
	if p := roster.TextProblem(name, s); p != nil {
		b.problems = append(b.problems, *p)
		return nil
	}
	return &s
}

// list reads a list of strings; nil when it is absent or null.
func (b *appBody) list(name string) *[]string {
	if !b.present(name) {
		return nil
	}
	var l []string
	if json.Unmarshal(b.raw[name], &l) != nil {
		b.problem(name, roster.PType, "Must be a list of text.")
		return nil
	}
	for _, s := range l {
		if p := roster.TextProblem(name, s); p != nil {
			b.problems = append(b.problems, *p)
			return nil
		}
	}
	if l == nil {
		l = []string{}
	}
	return &l
}

// flag reads a boolean; false when it is absent or null.
func (b *appBody) flag(name string) bool {
	if !b.present(name) {
		return false
	}
	var v bool
	if json.Unmarshal(b.raw[name], &v) != nil {
		b.problem(name, roster.PType, "Must be true or false.")
	}
	return v
}

// account reads an account named by its username, UUID or numeric id (a string or a
// number).
func (b *appBody) account(name string) roster.AccountRef {
	if !b.present(name) {
		return roster.AccountRef{}
	}
	raw := bytes.TrimSpace(b.raw[name])
	if raw[0] == '"' {
		if s := b.text(name); s != nil {
			return roster.ParseAccountRef(*s)
		}
		return roster.AccountRef{}
	}
	var id int64
	if json.Unmarshal(raw, &id) == nil && id > 0 {
		return roster.RefID(id)
	}
	b.problem(name, roster.PType, "Name the account by its username, UUID or id.")
	return roster.AccountRef{}
}

func orNone(l *[]string) []string {
	if l == nil {
		return nil
	}
	return *l
}

var (
	appFields     = []string{"name", "client_id", "owner", "public", "grants", "redirect_uris", "scopes"}
	appPatchable  = []string{"name", "grants", "redirect_uris", "scopes"}
	appFixedAfter = []string{"client_id", "owner", "public"}
)

// createOAuthApp registers an application; the answer carries its client secret, this
// once.
func (h *Handler) createOAuthApp(w http.ResponseWriter, r *http.Request) error {
	b, err := readAppBody(r, appFields, nil)
	if err != nil {
		return err
	}
	req := oauth.AppRequest{Owner: b.account("owner"), Public: b.flag("public"), Grants: orNone(b.list("grants")),
		RedirectURIs: orNone(b.list("redirect_uris")), Scopes: orNone(b.list("scopes"))}
	if s := b.text("name"); s != nil {
		req.Name = *s
	}
	if s := b.text("client_id"); s != nil {
		req.ClientID = *s
	}
	if len(b.problems) > 0 {
		return roster.Invalid(b.problems...)
	}
	na, err := h.tokens.CreateApp(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/oauth2/applications/"+strconv.FormatInt(na.App.ID, 10))
	return withSecret(w, http.StatusCreated, na)
}

// withSecret writes an application with the secret just made: the one answer that shows
// it, which no cache keeps.
func withSecret(w http.ResponseWriter, status int, na *oauth.NewApp) error {
	out := toOAuthApp(na.App)
	out.ClientSecret = na.Secret
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, status, out)
}

func (h *Handler) listOAuthApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := h.tokens.ListApps(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"applications": each(apps, toOAuthApp)})
}

func (h *Handler) getOAuthApp(w http.ResponseWriter, r *http.Request) error {
	a, err := h.tokens.GetApp(r.Context(), appID(r))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toOAuthApp(a))
}

// patchOAuthApp changes an application's name, grants, redirect URIs or scopes; the
// fields sent replace the application's.
func (h *Handler) patchOAuthApp(w http.ResponseWriter, r *http.Request) error {
	b, err := readAppBody(r, appPatchable, appFixedAfter)
	if err != nil {
		return err
	}
	ch := roster.OAuthAppChange{Name: b.text("name"), Grants: b.list("grants"), RedirectURIs: b.list("redirect_uris"), Scopes: b.list("scopes")}
	if len(b.problems) > 0 {
		return roster.Invalid(b.problems...)
	}
	a, err := h.tokens.UpdateApp(r.Context(), appID(r), ch)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toOAuthApp(a))
}

// rotateOAuthSecret gives an application a new secret, shown in this answer only; the
// old one stops working at once.
func (h *Handler) rotateOAuthSecret(w http.ResponseWriter, r *http.Request) error {
	na, err := h.tokens.RotateSecret(r.Context(), appID(r))
	if err != nil {
		return err
	}
	return withSecret(w, http.StatusOK, na)
}

// revokeOAuthApp revokes an application and every token it obtained; revoking it again
// changes nothing and answers alike.
func (h *Handler) revokeOAuthApp(w http.ResponseWriter, r *http.Request) error {
	a, err := h.tokens.RevokeApp(r.Context(), appID(r))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toOAuthApp(a))
}

func (h *Handler) listSigningKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := h.tokens.ListKeys(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"keys": each(ks, toSigningKey)})
}

// rotateSigningKeys makes a new signing key, which signs from now on; the others retire
// after the overlap.
func (h *Handler) rotateSigningKeys(w http.ResponseWriter, r *http.Request) error {
	k, err := h.tokens.RotateKeys(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, toSigningKey(k))
}

// retireSigningKey retires a key at once: every token it signed stops working.
func (h *Handler) retireSigningKey(w http.ResponseWriter, r *http.Request) error {
	kid := r.PathValue("kid")
	if !roster.ValidText(kid) {
		kid = "" // no key has it
	}
	k, err := h.tokens.RetireKey(r.Context(), kid)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toSigningKey(k))
}

// listOAuthGrants lists an account's live token families, beside its API keys.
func (h *Handler) listOAuthGrants(w http.ResponseWriter, r *http.Request) error {
	gs, err := h.tokens.ListGrants(r.Context(), refOf(r))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"grants": each(gs, toOAuthGrant)})
}

// revokeOAuthGrant revokes a token family: its tokens, JWTs included, stop working.
func (h *Handler) revokeOAuthGrant(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		id = 0 // no grant has it: the token service still says who may ask first
	}
	g, err := h.tokens.RevokeGrant(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toOAuthGrant(g))
}
