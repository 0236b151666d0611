package redcap

import (
	"fmt"

	"github.com/rosterhq/roster/internal/roster"
)

// userRightsOrder is the order of rights in a user export: roster's own order.
// roleRightsOrder is a role export's, whose record-locking rights come the other way round.
var (
	userRightsOrder = func() []roster.Right {
		out := make([]roster.Right, roster.NumRights)
		for i := range out {
			out[i] = roster.Right(i)
		}
		return out
	}()
	roleRightsOrder = func() []roster.Right {
		out := append([]roster.Right(nil), userRightsOrder...)
		n := len(out)
		// …record_delete, lock_records_customization, lock_records, lock_records_all_forms
		out[n-3], out[n-1] = out[n-1], out[n-3]
		return out
	}()
)

// projectForms lists rights over every form of the project, in its order, 0 for forms
// the rights leave out.
func projectForms(p *roster.Project, rights []roster.FormRight, buf []roster.FormRight) []roster.FormRight {
	buf = buf[:0]
	for _, f := range p.Forms {
		buf = append(buf, roster.FormRight{Form: f.Name, Value: roster.FormValue(rights, f.Name)})
	}
	return buf
}

// streamed runs an export that streams rows into t (see httpx.Stream for what a failure
// before and after the first row gives).
func (h *Handler) streamed(req *request, t *table, export func() error) error {
	t.stream.R, t.stream.Log, t.stream.What = req.r, h.log, "REDCap "+req.content+" export"
	return t.end(export())
}

// redcapAttrs are the account attributes REDCap names (email, firstname, lastname by
// default), in schema order, but the username, which a member has without an account.
func redcapAttrs(sch *roster.Schema) []*roster.Attribute {
	var out []*roster.Attribute
	for _, a := range sch.Attrs() {
		if a.WireName("redcap") != "" && a.Name != "username" {
			out = append(out, a)
		}
	}
	return out
}

// accountCells appends attrs of the member's account as the core rendered them for the
// caller: empty where there is no account or the caller may not see the value.
func accountCells(cells []cell, attrs []*roster.Attribute, rec *roster.Record) []cell {
	for _, a := range attrs {
		v := ""
		if rec != nil {
			switch x, _ := rec.Get(a.Name); x := x.(type) {
			case nil:
			case string:
				v = x
			default:
				v = fmt.Sprint(roster.JSONValue(x))
			}
		}
		cells = append(cells, str(a.WireName("redcap"), v))
	}
	return cells
}

func (h *Handler) exportUsers(req *request) error {
	t := newTable(req.w, req.format, "users", false)
	cells := make([]cell, 0, 7+roster.NumRights+2)
	var forms, formsExport []roster.FormRight
	var attrs []*roster.Attribute
	var attrsOf *roster.Schema
	return h.streamed(req, t, func() error {
		_, err := h.dir.ExportProjectUsers(req.ctx, req.project, func(v *roster.ProjectView, m *roster.ProjectMember) error {
			if attrsOf != v.Schema {
				attrs, attrsOf = redcapAttrs(v.Schema), v.Schema // once: one schema for the whole export
			}
			priv := m.Effective()
			cells = append(cells[:0], str("username", m.Username))
			cells = accountCells(cells, attrs, m.Record)
			cells = append(cells, str("expiration", m.Expiration), str("data_access_group", m.DAGName))
			if m.DAGID != 0 {
				cells = append(cells, num("data_access_group_id", int(m.DAGID)))
			} else {
				cells = append(cells, str("data_access_group_id", ""))
			}
			for _, r := range userRightsOrder {
				cells = append(cells, num(r.String(), priv.Rights[r]))
			}
			forms = projectForms(v.Project, priv.Forms, forms)
			formsExport = projectForms(v.Project, priv.FormsExport, formsExport)
			cells = append(cells, cell{key: "forms", kind: 'f', forms: forms}, cell{key: "forms_export", kind: 'f', forms: formsExport})
			return t.row(cells)
		})
		return err
	})
}

func (h *Handler) importUsers(req *request) error {
	rows, err := importRows(req, memberRow)
	if err != nil {
		return err
	}
	n, err := h.dir.ImportProjectUsers(req.ctx, req.project, rows)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}

// arrayOrError reads a delete's list parameter.
func arrayOrError(req *request, name string) ([]string, error) {
	list, ok := arrayParam(req.form, name)
	if !ok {
		return nil, badRequest("The '" + name + "' parameter is either missing or is not an array. It must be provided as an array even if it only contains one value.")
	}
	return list, nil
}

func (h *Handler) deleteUsers(req *request) error {
	users, err := arrayOrError(req, "users")
	if err != nil {
		return err
	}
	n, err := h.dir.DeleteProjectUsers(req.ctx, req.project, users)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}

func (h *Handler) exportRoleMappings(req *request) error {
	t := newTable(req.w, req.format, "items", true)
	t.emptyCSV = "username,unique_role_name\n"
	cells := make([]cell, 0, 3)
	return h.streamed(req, t, func() error {
		_, err := h.dir.ExportRoleMappings(req.ctx, req.project, func(v *roster.ProjectView, m *roster.ProjectMember) error {
			cells = append(cells[:0], str("username", m.Username), str("unique_role_name", m.RoleName))
			if len(v.DAGs) > 0 {
				cells = append(cells, str("data_access_group", m.DAGName))
			}
			return t.row(cells)
		})
		return err
	})
}

func (h *Handler) importRoleMappings(req *request) error {
	rows, err := importRows(req, mappingRow("unique_role_name"))
	if err != nil {
		return err
	}
	n, err := h.dir.ImportRoleMappings(req.ctx, req.project, rows)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}

func (h *Handler) exportDAGMappings(req *request) error {
	t := newTable(req.w, req.format, "items", true)
	t.emptyCSV = "username,redcap_data_access_group\n"
	cells := make([]cell, 0, 2)
	return h.streamed(req, t, func() error {
		_, err := h.dir.ExportDAGMappings(req.ctx, req.project, func(v *roster.ProjectView, m *roster.ProjectMember) error {
			cells = append(cells[:0], str("username", m.Username), str("redcap_data_access_group", m.DAGName))
			return t.row(cells)
		})
		return err
	})
}

func (h *Handler) importDAGMappings(req *request) error {
	rows, err := importRows(req, mappingRow("redcap_data_access_group"))
	if err != nil {
		return err
	}
	n, err := h.dir.ImportDAGMappings(req.ctx, req.project, rows)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}
