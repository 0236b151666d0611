package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Projects in the manner of REDCap. The project service decides who may see and change
// what; the rights and their names are REDCap's, the messages refusing bad values
// Roster's own.

type projectRoleJSON struct {
	UniqueRoleName string         `json:"unique_role_name"`
	RoleLabel      string         `json:"role_label"`
	Rights         map[string]int `json:"rights"`
	Forms          map[string]int `json:"forms"`
	FormsExport    map[string]int `json:"forms_export"`
}

type dagJSON struct {
	ID              int64  `json:"id"`
	Label           string `json:"label"`
	UniqueGroupName string `json:"unique_group_name"`
}

type projectTokenJSON struct {
	Token    string `json:"token"`
	Username string `json:"username"`
}

func projectID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, roster.Errorf(roster.ENOTFOUND, "Project not found.")
	}
	return id, nil
}

// parseForms reads a project's forms as sent: form names, or {"name", "label"} objects.
// Absent or null is no forms.
func parseForms(raw json.RawMessage) ([]roster.Form, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errFormsShape()
	}
	out := make([]roster.Form, 0, len(items))
	for _, it := range items {
		var name string
		if err := json.Unmarshal(it, &name); err == nil {
			out = append(out, roster.Form{Name: name})
			continue
		}
		var f struct {
			Name  *string `json:"name"`
			Label string  `json:"label"`
		}
		if err := json.Unmarshal(it, &f); err != nil || f.Name == nil {
			return nil, errFormsShape()
		}
		out = append(out, roster.Form{Name: *f.Name, Label: f.Label})
	}
	return out, nil
}

func errFormsShape() error {
	return roster.Invalid(roster.Problem{Field: "forms", Code: roster.PType,
		Message: `forms must be a list of form names, or of {"name", "label"} objects.`})
}

func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.projects.ListProjects(r.Context())
	if err != nil {
		return err
	}
	out := make([]ProjectDoc, len(ps))
	for i, p := range ps {
		out[i] = ToProjectDoc(p)
	}
	return ok(w, http.StatusOK, map[string]any{"projects": out})
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Title        string          `json:"title"`
		Purpose      int             `json:"purpose"`
		PurposeOther string          `json:"purpose_other"`
		Notes        string          `json:"notes"`
		Forms        json.RawMessage `json:"forms"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	forms, err := parseForms(body.Forms)
	if err != nil {
		return err
	}
	p, err := h.projects.CreateProject(r.Context(), &roster.Project{Title: body.Title, Purpose: body.Purpose,
		PurposeOther: body.PurposeOther, Notes: body.Notes, Forms: forms})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/projects/"+strconv.FormatInt(p.ID, 10))
	return ok(w, http.StatusCreated, ToProjectDoc(p))
}

func (h *Handler) getProject(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	p, err := h.projects.GetProject(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, ToProjectDoc(p))
}

func (h *Handler) addProjectForms(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	var body struct {
		Forms json.RawMessage `json:"forms"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	forms, err := parseForms(body.Forms)
	if err != nil {
		return err
	}
	p, err := h.projects.AddProjectForms(r.Context(), id, forms)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, ToProjectDoc(p))
}

// listProjectMembers streams {"members": [...]} as the core reads the members, so a
// project of any size is listed in constant memory. The head goes out with the first
// member: an error before it gets the normal error response; one after it can only end
// the response early, which leaves the JSON unterminated for the client to notice.
func (h *Handler) listProjectMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	out := &httpx.Stream{W: w, R: r, ContentType: "application/json", Head: `{"members":[`, Sep: ",", Tail: "]}\n",
		Log: h.log, What: "member list"}
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	enc.SetEscapeHTML(false)
	_, err = h.projects.ExportProjectUsers(r.Context(), id, func(v *roster.ProjectView, m *roster.ProjectMember) error {
		item.Reset()
		if err := enc.Encode(ToMemberDoc(m, v.Project)); err != nil {
			return roster.Internal("api.listProjectMembers", err)
		}
		return out.Item(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
	})
	return out.End(err)
}

// memberDoc reads one member back as the caller may see it; nil when it is not visible
// (a member confined to a DAG sees that DAG's members only).
func (h *Handler) memberDoc(r *http.Request, id int64, username string) (*MemberDoc, error) {
	v, m, err := h.projects.GetProjectMember(r.Context(), id, username)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := ToMemberDoc(m, v.Project)
	return &d, nil
}

// getProjectMember reads one member, with the DAGs it may switch among.
func (h *Handler) getProjectMember(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	v, m, err := h.projects.GetProjectMember(r.Context(), id, r.PathValue("username"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, ToMemberDoc(m, v.Project))
}

// putProjectMember adds a member or changes the rights sent: REDCap's Import Users for
// one user, plus the DAGs it may switch among (dag_switch). The body is the rights by
// REDCap's names, flat as REDCap takes them; the "rights" object of a member as GET
// shows it is read as those flat keys, so a member read can be sent back.
func (h *Handler) putProjectMember(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	in := map[string]any{}
	if r.ContentLength != 0 {
		if in, err = decodeObject(r); err != nil {
			return err
		}
	}
	if rights, isObject := in["rights"].(map[string]any); isObject {
		delete(in, "rights")
		for k, v := range rights {
			if _, dup := in[k]; dup {
				return roster.Invalid(roster.Problem{Field: k, Code: roster.PDuplicate,
					Message: fmt.Sprintf("%q is sent both in rights and on its own; send it once.", k)})
			}
			in[k] = v
		}
	}
	username := r.PathValue("username")
	in["username"] = username
	if err := h.projects.PutProjectMember(r.Context(), id, roster.MemberRowFromJSON(in)); err != nil {
		return err
	}
	doc, err := h.memberDoc(r, id, username)
	if err != nil {
		return err
	}
	if doc == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return ok(w, http.StatusOK, doc)
}

func (h *Handler) deleteProjectMember(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	username := r.PathValue("username")
	if _, err := h.projects.DeleteProjectUsers(r.Context(), id, []string{username}); err != nil {
		// The project service refuses a whole list naming a non-member as invalid input;
		// here the path names one member, so a non-member is a missing resource.
		if e := roster.AsError(err); e.Code == roster.EINVALID && len(e.Problems) == 1 && e.Problems[0].Reason == roster.RNotMember {
			return roster.Errorf(roster.ENOTFOUND, "%s is not a member of this project.", roster.FoldKey(username))
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) issueProjectToken(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	t, err := h.projects.IssueProjectToken(r.Context(), id, r.PathValue("username"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, projectTokenJSON{Token: t.Token, Username: t.Member.Username})
}

func (h *Handler) revokeProjectToken(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	if err := h.projects.RevokeProjectToken(r.Context(), id, r.PathValue("username")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listProjectRoles(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	v, err := h.projects.ExportProjectRoles(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]projectRoleJSON, len(v.Roles))
	for i, role := range v.Roles {
		out[i] = projectRoleJSON{UniqueRoleName: role.UniqueName, RoleLabel: role.Label,
			Rights: make(map[string]int, roster.NumRights), Forms: make(map[string]int, len(v.Project.Forms)),
			FormsExport: make(map[string]int, len(v.Project.Forms))}
		for j, def := range roster.ProjectRights {
			out[i].Rights[def.Name] = role.Privileges.Rights[j]
		}
		for _, f := range v.Project.Forms {
			out[i].Forms[f.Name] = roster.FormValue(role.Privileges.Forms, f.Name)
			out[i].FormsExport[f.Name] = roster.FormValue(role.Privileges.FormsExport, f.Name)
		}
	}
	return ok(w, http.StatusOK, map[string]any{"roles": out})
}

func (h *Handler) listProjectDAGs(w http.ResponseWriter, r *http.Request) error {
	id, err := projectID(r)
	if err != nil {
		return err
	}
	dags, err := h.projects.ExportProjectDAGs(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]dagJSON, len(dags))
	for i, d := range dags {
		out[i] = dagJSON{ID: d.ID, Label: d.Label, UniqueGroupName: d.UniqueName}
	}
	return ok(w, http.StatusOK, map[string]any{"dags": out})
}
