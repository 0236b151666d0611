package projects

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
)

var formName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

const maxProjectTitle = 500

// CreateProject creates a project with its forms. System and project administrators may.
func (s *Service) CreateProject(ctx context.Context, p *roster.Project) (*roster.Project, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	if !actor.AdministersProjects() {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only project administrators may create projects.")
	}
	now := s.now()
	np := &roster.Project{Title: strings.TrimSpace(p.Title), Purpose: p.Purpose, PurposeOther: p.PurposeOther, Notes: p.Notes,
		CreatedAt: now, UpdatedAt: now}
	var ps []roster.Problem
	if err := roster.CheckText("title", np.Title, "purpose_other", np.PurposeOther, "notes", np.Notes); err != nil {
		return nil, err
	}
	switch n := len([]rune(np.Title)); {
	case n == 0:
		ps = append(ps, roster.Problem{Field: "title", Code: roster.PRequired, Message: "The project title is required."})
	case n > maxProjectTitle:
		ps = append(ps, roster.Problem{Field: "title", Code: roster.PTooLong, Limit: maxProjectTitle, Message: "The project title may have at most 500 characters."})
	}
	if np.Purpose < 0 || np.Purpose > roster.MaxProjectPurpose {
		ps = append(ps, roster.Problem{Field: "purpose", Code: roster.PRange, Message: "The purpose must be 0 (practice), 1 (other), 2 (research), 3 (quality improvement) or 4 (operational support)."})
	}
	forms, fps := checkForms(p.Forms, nil)
	np.Forms = forms
	ps = append(ps, fps...)
	if len(np.Forms) == 0 && len(fps) == 0 {
		ps = append(ps, roster.Problem{Field: "forms", Code: roster.PRequired, Message: "A project needs at least one form."})
	}
	if len(ps) > 0 {
		return nil, roster.Invalid(ps...)
	}
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateProject(ctx, np); err != nil {
			return err
		}
		names := make([]string, len(np.Forms))
		for i, f := range np.Forms {
			names[i] = f.Name
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.create", np, []roster.Change{
			{Field: "title", New: np.Title}, {Field: "forms", New: strings.Join(names, ",")}}))
	})
	if err != nil {
		return nil, err
	}
	return np, nil
}

// checkForms checks new forms against each other and the existing ones, and labels those
// without a label after their name.
func checkForms(in, existing []roster.Form) ([]roster.Form, []roster.Problem) {
	var ps []roster.Problem
	seen := map[string]bool{}
	for _, f := range existing {
		seen[f.Name] = true
	}
	out := make([]roster.Form, 0, len(in))
	for _, f := range in {
		f.Name, f.Label = strings.TrimSpace(f.Name), strings.TrimSpace(f.Label)
		switch {
		case !roster.ValidText(f.Label):
			ps = append(ps, roster.Problem{Field: "forms", Code: roster.PFormat, Message: "A form label: " + roster.TextMessage})
		case !formName.MatchString(f.Name):
			ps = append(ps, roster.Problem{Field: "forms", Code: roster.PFormat, Value: f.Name,
				Message: fmt.Sprintf("The form name %q must start with a lower-case letter and hold only lower-case letters, digits and underscores (at most 64).", f.Name)})
		case seen[f.Name]:
			ps = append(ps, roster.Problem{Field: "forms", Code: roster.PDuplicate, Value: f.Name, Message: fmt.Sprintf("The form %q is listed twice.", f.Name)})
		}
		seen[f.Name] = true
		if f.Label == "" {
			f.Label = formLabel(f.Name)
		}
		out = append(out, f)
	}
	return out, ps
}

// formLabel is REDCap's way of naming a form after its variable name in reverse:
// "day_3_visit" → "Day 3 Visit".
func formLabel(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.TrimSpace(strings.Join(words, " "))
}

// GetProject returns a project the actor administers or belongs to.
func (s *Service) GetProject(ctx context.Context, id int64) (*roster.Project, error) {
	a, err := s.projectAccess(ctx, s.store, id, false)
	if err != nil {
		return nil, err
	}
	return a.project, nil
}

// ProjectInfo returns a project for REDCap's project and metadata exports, which need
// API export rights.
func (s *Service) ProjectInfo(ctx context.Context, id int64) (*roster.Project, error) {
	a, err := s.projectAccess(ctx, s.store, id, false)
	if err != nil {
		return nil, err
	}
	if err := a.apiRight(roster.RightAPIExport, errNoAPIExport); err != nil {
		return nil, err
	}
	return a.project, nil
}

// ListProjects lists the projects the actor administers or belongs to.
func (s *Service) ListProjects(ctx context.Context) ([]*roster.Project, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, false); err != nil {
		return nil, err
	}
	if actor.Project != nil {
		p, err := s.store.GetProject(ctx, actor.Project.ProjectID)
		if err != nil {
			return nil, err
		}
		return []*roster.Project{p}, nil
	}
	if actor.AdministersProjects() {
		return s.store.ListProjects(ctx)
	}
	return s.store.ListMemberProjects(ctx, actor.Username)
}

// AddProjectForms appends forms to a project. Project administrators and members with
// the design right may.
func (s *Service) AddProjectForms(ctx context.Context, id int64, forms []roster.Form) (*roster.Project, error) {
	var out *roster.Project
	err := s.projectTx(ctx, id, func(a *access) error {
		if a.token || a.right(roster.RightDesign) != 1 {
			return errDesign
		}
		return nil
	}, func(tx roster.Tx, a *access, now time.Time) error {
		if len(forms) == 0 {
			return roster.Invalid(roster.Problem{Field: "forms", Code: roster.PRequired, Message: "Send at least one form to add."})
		}
		add, ps := checkForms(forms, a.project.Forms)
		if len(ps) > 0 {
			return roster.Invalid(ps...)
		}
		p := *a.project
		p.Forms = append(append([]roster.Form(nil), p.Forms...), add...)
		p.UpdatedAt = now
		if err := tx.UpdateProject(ctx, &p); err != nil {
			return err
		}
		out = &p
		names := make([]string, len(add))
		for i, f := range add {
			names[i] = f.Name
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.forms.add", &p, []roster.Change{{Field: "forms", New: strings.Join(names, ",")}}))
	})
	return out, err
}
