package api

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

type groupJSON struct {
	ID          int64        `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	CreatedAt   any          `json:"created_at"`
	UpdatedAt   any          `json:"updated_at"`
	Members     []memberJSON `json:"members,omitempty"`
}

type memberJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	AddedAt  any    `json:"added_at"`
}

func toGroupJSON(g *roster.Group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: isoTime(g.CreatedAt), UpdatedAt: isoTime(g.UpdatedAt)}
}

func groupID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, roster.Errorf(roster.ENOTFOUND, "Group not found.")
	}
	return id, nil
}

func (h *Handler) roles(w http.ResponseWriter, r *http.Request) error {
	roles, err := h.dir.Roles(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"roles": toRoles(roles)})
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := h.dir.ListGroups(r.Context())
	if err != nil {
		return err
	}
	out := make([]groupJSON, len(gs))
	for i, g := range gs {
		out[i] = toGroupJSON(g)
	}
	return ok(w, http.StatusOK, map[string]any{"groups": out})
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	g, err := h.dir.CreateGroup(r.Context(), body.Name, body.Description)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/groups/"+strconv.FormatInt(g.ID, 10))
	return ok(w, http.StatusCreated, toGroupJSON(g))
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	g, ms, err := h.dir.GetGroup(r.Context(), id)
	if err != nil {
		return err
	}
	out := toGroupJSON(g)
	out.Members = make([]memberJSON, len(ms))
	for i, m := range ms {
		out.Members[i] = memberJSON{ID: m.AccountID, Username: m.Username, Role: string(m.Role), AddedAt: isoTime(m.AddedAt)}
	}
	return ok(w, http.StatusOK, out)
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	var body struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	g, err := h.dir.UpdateGroup(r.Context(), id, roster.GroupUpdate{Name: body.Name, Description: body.Description})
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, toGroupJSON(g))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	if err := h.dir.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) putMember(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	body := struct {
		Role string `json:"role"`
	}{Role: string(roster.GroupMember)}
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(r, &body); err != nil {
			return err
		}
	}
	if err := h.dir.SetGroupMember(r.Context(), id, refOf(r), roster.GroupRole(body.Role)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) deleteMember(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	if err := h.dir.RemoveGroupMember(r.Context(), id, refOf(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
