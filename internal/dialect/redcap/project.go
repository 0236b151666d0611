package redcap

import (
	"slices"

	"github.com/rosterhq/roster/internal/roster"
)

// projectInfo answers content=project: one object with REDCap's keys in its order. Roster
// keeps a project's title, purpose and notes; the rest describes what a Roster project
// is: a classic project in development, without surveys, events or randomization.
func (h *Handler) projectInfo(req *request) error {
	p, err := h.dir.ProjectInfo(req.ctx, req.project)
	if err != nil {
		return err
	}
	t := newTable(req.w, req.format, "items", true)
	t.single = true
	t.row([]cell{
		num("project_id", int(p.ID)),
		str("project_title", p.Title),
		str("creation_time", p.CreatedAt.Format("2006-01-02 15:04:05")),
		str("production_time", ""),
		num("in_production", 0),
		str("project_language", "English"),
		num("purpose", p.Purpose),
		str("purpose_other", p.PurposeOther),
		str("project_notes", p.Notes),
		str("custom_record_label", ""),
		str("secondary_unique_field", ""),
		num("is_longitudinal", 0),
		num("has_repeating_instruments_or_events", 0),
		num("surveys_enabled", 0),
		num("scheduling_enabled", 0),
		num("record_autonumbering_enabled", 0),
		num("randomization_enabled", 0),
		num("ddp_enabled", 0),
		str("project_irb_number", ""),
		str("project_grant_number", ""),
		str("project_pi_firstname", ""),
		str("project_pi_lastname", ""),
		num("display_today_now_button", 1),
		str("missing_data_codes", ""),
		str("external_modules", ""),
		num("bypass_branching_erase_field_prompt", 0),
	})
	return t.end(nil)
}

var metadataKeys = []string{"field_name", "form_name", "section_header", "field_type", "field_label",
	"select_choices_or_calculations", "field_note", "text_validation_type_or_show_slider_number", "text_validation_min",
	"text_validation_max", "identifier", "branching_logic", "required_field", "custom_alignment", "question_number",
	"matrix_group_name", "matrix_ranking", "field_annotation"}

// metadataFields is the data dictionary of a Roster project. Roster keeps instruments,
// not their fields, so it describes each form by one field: the record id on the first
// form (PyCap's def_field), and a descriptive field named <form>_intro carrying the
// form's label on each of the others. That is what clients read it for: the forms, in
// order, and the record id field.
func metadataFields(p *roster.Project) [][2]string {
	var out [][2]string // field name, form name; labels follow from them
	for i, f := range p.Forms {
		if i == 0 {
			out = append(out, [2]string{"record_id", f.Name})
		} else {
			out = append(out, [2]string{f.Name + "_intro", f.Name})
		}
	}
	return out
}

func (h *Handler) metadata(req *request) error {
	p, err := h.dir.ProjectInfo(req.ctx, req.project)
	if err != nil {
		return err
	}
	fields, _ := arrayParam(req.form, "fields")
	forms, _ := arrayParam(req.form, "forms")
	t := newTable(req.w, req.format, "records", true)
	cells := make([]cell, len(metadataKeys))
	for i, f := range metadataFields(p) {
		if len(fields) > 0 && !slices.Contains(fields, f[0]) || len(forms) > 0 && !slices.Contains(forms, f[1]) {
			continue
		}
		for j, k := range metadataKeys {
			cells[j] = str(k, "")
		}
		cells[0].s, cells[1].s = f[0], f[1]
		if i == 0 {
			cells[3].s, cells[4].s = "text", "Record ID"
		} else {
			cells[3].s, cells[4].s = "descriptive", p.Forms[i].Label
		}
		if err := t.row(cells); err != nil {
			return nil
		}
	}
	return t.end(nil)
}

func (h *Handler) formEventMapping(req *request) error {
	if _, err := h.dir.ProjectInfo(req.ctx, req.project); err != nil {
		return err
	}
	return badRequest("You cannot export form/event mappings for classic projects")
}
