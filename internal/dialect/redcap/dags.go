package redcap

import (
	"net/http"

	"github.com/rosterhq/roster/internal/roster"
)

func (h *Handler) exportDAGs(req *request) error {
	dags, err := h.dir.ExportProjectDAGs(req.ctx, req.project)
	if err != nil {
		return err
	}
	t := newTable(req.w, req.format, "dags", true)
	t.emptyCSV = "data_access_group_name,unique_group_name,data_access_group_id\n"
	cells := make([]cell, 3)
	for _, d := range dags {
		cells[0], cells[1], cells[2] = str("data_access_group_name", d.Label), str("unique_group_name", d.UniqueName), num("data_access_group_id", int(d.ID))
		if err := t.row(cells); err != nil {
			return nil // the client went away
		}
	}
	return t.end(nil)
}

func (h *Handler) importDAGs(req *request) error {
	rows, err := importRows(req, dagRow)
	if err != nil {
		return err
	}
	n, err := h.dir.ImportProjectDAGs(req.ctx, req.project, rows)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}

func (h *Handler) deleteDAGs(req *request) error {
	dags, err := arrayOrError(req, "dags")
	if err != nil {
		return err
	}
	n, err := h.dir.DeleteProjectDAGs(req.ctx, req.project, dags)
	if err != nil {
		return err
	}
	return writeCount(req, n)
}

// switchDAG answers as REDCap's DAG switcher does: 200 and "1", or 200 and an
// "ERROR: …" line, whatever the formats asked.
func (h *Handler) switchDAG(req *request) error {
	err := h.dir.SwitchDAG(req.ctx, req.project, req.form.Get("dag"))
	switch roster.ErrorCode(err) {
	case "":
		writeBody(req.w, http.StatusOK, req.returnFormat, []byte("1"))
		return nil
	case roster.EINVALID, roster.EFORBIDDEN:
		writeBody(req.w, http.StatusOK, req.returnFormat, []byte("ERROR: "+req.message(roster.AsError(err))))
		return nil
	}
	return err
}
