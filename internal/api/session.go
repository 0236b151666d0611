package api

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

type sessionBody struct {
	CSRFToken string         `json:"csrf_token"`
	ExpiresAt any            `json:"expires_at,omitempty"`
	Account   *roster.Record `json:"account"`
}

// login signs in with a username (or email) and password, sets the session cookie and
// returns the CSRF token that unsafe requests on this session must carry.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Login    string `json:"login"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	login := strings.TrimSpace(body.Login)
	if login == "" {
		login = strings.TrimSpace(body.Username)
	}
	s, err := h.dir.Login(r.Context(), roster.Credentials{Login: login, Password: body.Password, DeviceToken: httpx.DeviceToken(r)}, h.auth.Client(r))
	if err != nil {
		return err
	}
	cookies := httpx.Cookies{Secure: h.opts.SecureCookies}
	cookies.Session(w, s.Token, s.ExpiresAt)
	if s.DeviceToken != "" {
		cookies.Device(w, s.DeviceToken)
	}
	return ok(w, http.StatusCreated, sessionBody{CSRFToken: s.CSRFToken, ExpiresAt: isoTime(s.ExpiresAt), Account: s.Account})
}

// session returns the signed-in account and, for a cookie session, its CSRF token.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) error {
	actor := roster.ActorFromContext(r.Context())
	var body sessionBody
	if actor.SessionID != 0 {
		body.CSRFToken = h.dir.CSRFToken(httpx.SessionToken(r))
	}
	if actor.AccountID != 0 {
		rec, err := h.dir.GetAccount(r.Context(), roster.RefID(actor.AccountID), roster.ReadOptions{})
		if err != nil {
			return err
		}
		body.Account = rec
	}
	return ok(w, http.StatusOK, body)
}

// logout ends the cookie's session. Like every unsafe request on a cookie session it
// carries the CSRF token; a page that lost it can read it again from GET /v1/session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if token := httpx.SessionToken(r); token != "" {
		if err := h.dir.Logout(r.Context(), token); err != nil {
			return err
		}
	}
	httpx.Cookies{Secure: h.opts.SecureCookies}.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
