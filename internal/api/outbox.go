package api

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/roster"
)

// messageJSON is a message of the outbox as system administrators read it. Body is
// present when one message is read, and only while it is pending: it is purged once
// the message is sent, refused or expired.
type messageJSON struct {
	ID            int64   `json:"id"`
	MessageID     string  `json:"message_id"`
	Kind          string  `json:"kind"`
	AccountID     int64   `json:"account_id"`
	To            string  `json:"to"`
	Subject       string  `json:"subject"`
	State         string  `json:"state"`
	Attempts      int     `json:"attempts"`
	CreatedAt     any     `json:"created_at"`
	NextAttemptAt any     `json:"next_attempt_at"`
	ExpiresAt     any     `json:"expires_at"`
	SentAt        any     `json:"sent_at"`
	LeaseOwner    string  `json:"lease_owner,omitempty"`
	LeaseUntil    any     `json:"lease_until"`
	LastError     string  `json:"last_error,omitempty"`
	Body          *string `json:"body,omitempty"`
}

func toMessageJSON(m *roster.Message, body bool) messageJSON {
	out := messageJSON{ID: m.ID, MessageID: m.MessageID, Kind: m.Kind, AccountID: m.AccountID, To: m.To, Subject: m.Subject,
		State: string(m.State), Attempts: m.Attempts, CreatedAt: isoTime(m.CreatedAt), NextAttemptAt: isoTime(m.NextAttemptAt),
		ExpiresAt: isoTime(m.ExpiresAt), SentAt: isoTime(m.SentAt), LeaseOwner: m.LeaseOwner, LeaseUntil: isoTime(m.LeaseUntil),
		LastError: m.LastError}
	if body {
		out.Body = &m.Body
	}
	return out
}

// listOutbox lists messages of the outbox, oldest first, without their bodies:
// after=ID returns the ones that follow.
func (h *Handler) listOutbox(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var ps []roster.Problem
	f := roster.MessageFilter{State: roster.MessageState(q.Get("state")), After: wholeNumber(q, "after", &ps), Limit: pageLimit(q, &ps)}
	if len(ps) > 0 {
		return roster.Invalid(ps...)
	}
	ms, err := h.dir.ListOutbox(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = toMessageJSON(m, false)
	}
	body := map[string]any{"messages": out}
	if len(ms) > 0 {
		body["last_id"] = ms[len(ms)-1].ID
	}
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, http.StatusOK, body)
}

// getMessage reads one message, with its body while it is pending.
func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		id = 0 // no message has it: the core still says who may ask first
	}
	m, err := h.dir.ReadMessage(r.Context(), id)
	if err != nil {
		return err
	}
	// The body may hold a confirmation link: no cache keeps it.
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, http.StatusOK, toMessageJSON(m, true))
}
