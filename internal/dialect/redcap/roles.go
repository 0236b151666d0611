package redcap

import (
	"strconv"

	"github.com/rosterhq/roster/internal/roster"
)

// exportRoles writes the roles, oldest first, with their rights as strings (REDCap's
// role export differs from its user export there).
func (h *Handler) exportRoles(req *request) error {
	v, err := h.dir.ExportProjectRoles(req.ctx, req.project)
	if err != nil {
		return err
	}
	t := newTable(req.w, req.format, "userRoles", false)
	cells := make([]cell, 0, 2+roster.NumRights+2)
	var forms, formsExport []roster.FormRight
	for _, r := range v.Roles {
		cells = append(cells[:0], str("unique_role_name", r.UniqueName), str("role_label", r.Label))
		for _, right := range roleRightsOrder {
			cells = append(cells, str(right.String(), strconv.Itoa(r.Privileges.Rights[right])))
		}
		forms = projectForms(v.Project, r.Privileges.Forms, forms)
		formsExport = projectForms(v.Project, r.Privileges.FormsExport, formsExport)
		cells = append(cells, cell{key: "forms", kind: 'f', forms: forms}, cell{key: "forms_export", kind: 'f', forms: formsExport})
		if err := t.row(cells); err != nil {
			return nil // the client went away
		}
	}
	return t.end(nil)
}

func (h *Handler) importRoles(req *request) error {
	rows, err := importRows(req, memberRow)
	if err != nil {
		return err
	}
	n, err := h.dir.ImportProjectRoles(req.ctx, req.project, rows)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}

func (h *Handler) deleteRoles(req *request) error {
	roles, err := arrayOrError(req, "roles")
	if err != nil {
		return err
	}
	n, err := h.dir.DeleteProjectRoles(req.ctx, req.project, roles)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}
