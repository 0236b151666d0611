package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// keyJSON is a key as the API shows it: never its secret or hash.
type keyJSON struct {
	ID         int64  `json:"id"`
	Label      string `json:"label"`
	Prefix     string `json:"prefix"`
	ReadOnly   bool   `json:"read_only"`
	CreatedAt  any    `json:"created_at"`
	ExpiresAt  any    `json:"expires_at"`
	LastUsedAt any    `json:"last_used_at"`
	RevokedAt  any    `json:"revoked_at"`
	// Key is the secret, present only in the response that created it.
	Key string `json:"key,omitempty"`
}

func toKeyJSON(k *roster.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Label: k.Label, Prefix: k.Prefix, ReadOnly: k.ReadOnly, CreatedAt: isoTime(k.CreatedAt),
		ExpiresAt: isoTime(k.ExpiresAt), LastUsedAt: isoTime(k.LastUsedAt), RevokedAt: isoTime(k.RevokedAt)}
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := h.dir.ListAPIKeys(r.Context(), refOf(r))
	if err != nil {
		return err
	}
	out := make([]keyJSON, len(ks))
	for i, k := range ks {
		out[i] = toKeyJSON(k)
	}
	return ok(w, http.StatusOK, map[string]any{"keys": out})
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Label     string `json:"label"`
		ExpiresAt string `json:"expires_at"`
		ReadOnly  bool   `json:"read_only"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	req := roster.KeyRequest{Label: body.Label, ReadOnly: body.ReadOnly}
	if body.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, body.ExpiresAt)
		if err != nil {
			return roster.Invalid(roster.Problem{Field: "expires_at", Code: roster.PFormat, Message: "expires_at is an RFC 3339 time."})
		}
		req.ExpiresAt = t
	}
	nk, err := h.dir.CreateAPIKey(r.Context(), refOf(r), req)
	if err != nil {
		return err
	}
	out := toKeyJSON(nk.Key)
	out.Key = nk.Secret
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, http.StatusCreated, out)
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return roster.Errorf(roster.ENOTFOUND, "API key not found.")
	}
	k, err := h.dir.RevokeAPIKey(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toKeyJSON(k))
}
