package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

type settingJSON struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	Version   int64           `json:"version"`
	UpdatedAt time.Time       `json:"updated_at"`
	UpdatedBy string          `json:"updated_by"`
}

type policyJSON struct {
	Version  int64         `json:"version"`
	Settings []settingJSON `json:"settings"`
}

func toPolicyJSON(pv *roster.PolicyView) policyJSON {
	out := policyJSON{Version: pv.Version, Settings: []settingJSON{}}
	for _, s := range pv.Settings {
		out.Settings = append(out.Settings, settingJSON{Name: s.Name, Value: json.RawMessage(s.Value), Version: s.Version,
			UpdatedAt: s.UpdatedAt, UpdatedBy: s.UpdatedBy})
	}
	return out
}

// getPolicy shows the stored settings (staff).
func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request) error {
	pv, err := h.dir.GetPolicy(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toPolicyJSON(pv))
}

// putPolicySetting sets one setting: the body is its JSON value (system administrators).
func (h *Handler) putPolicySetting(w http.ResponseWriter, r *http.Request) error {
	var v json.RawMessage
	if err := decodeJSONValue(r, &v); err != nil {
		return err
	}
	pv, err := h.dir.SetPolicy(r.Context(), r.PathValue("name"), string(v))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toPolicyJSON(pv))
}

// deletePolicySetting unsets a setting: Roster's default applies again.
func (h *Handler) deletePolicySetting(w http.ResponseWriter, r *http.Request) error {
	pv, err := h.dir.SetPolicy(r.Context(), r.PathValue("name"), "")
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toPolicyJSON(pv))
}

// accountAccess explains what the caller (or, for a system administrator, the caller
// named by ?as=, "anonymous" included, through the surface named by ?surface=) may do
// with an account, field by field, naming the rule behind each answer.
func (h *Handler) accountAccess(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	acc, err := h.dir.AccountAccess(r.Context(), refOf(r), q.Get("as"), q.Get("surface"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toAccountAccess(acc))
}

// projectAccess explains what the caller may do in a project, right by right.
func (h *Handler) projectAccess(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	acc, err := h.projects.ProjectAccess(r.Context(), id, r.URL.Query().Get("as"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toProjectAccess(acc))
}

// decodeJSONValue reads any one JSON value.
func decodeJSONValue(r *http.Request, v *json.RawMessage) error {
	switch mt := httpx.MediaType(r); mt {
	case "application/json", "":
	default:
		return roster.Errorf(roster.EINVALID, "Unsupported Content-Type %q: send application/json.", mt)
	}
	var x any
	if err := httpx.DecodeJSON(r, &x); err != nil {
		return err
	}
	b, _ := json.Marshal(x)
	*v = b
	return nil
}
