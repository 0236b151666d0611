package api

import (
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// ProjectDoc is a project in Roster's own JSON: /v1's, which the command line prints too.
type ProjectDoc struct {
	ID           int64     `json:"id"`
	Title        string    `json:"title"`
	Purpose      int       `json:"purpose"`
	PurposeOther string    `json:"purpose_other"`
	Notes        string    `json:"notes"`
	Forms        []FormDoc `json:"forms"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// FormDoc is a form in Roster's own JSON.
type FormDoc struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// ToProjectDoc returns the project in Roster's own JSON.
func ToProjectDoc(p *roster.Project) ProjectDoc {
	d := ProjectDoc{ID: p.ID, Title: p.Title, Purpose: p.Purpose, PurposeOther: p.PurposeOther, Notes: p.Notes,
		Forms: make([]FormDoc, len(p.Forms)), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for i, f := range p.Forms {
		d.Forms[i] = FormDoc(f)
	}
	return d
}

// MemberDoc is a member in Roster's own JSON: the privileges that apply to it (its
// role's when it has one), every right and every form named.
type MemberDoc struct {
	Username        string         `json:"username"`
	AccountID       int64          `json:"account_id,omitempty"`
	Email           string         `json:"email"`
	FirstName       string         `json:"first_name"`
	LastName        string         `json:"last_name"`
	Expiration      string         `json:"expiration"`
	DataAccessGroup string         `json:"data_access_group"`
	Role            string         `json:"role"`
	Rights          map[string]int `json:"rights"`
	Forms           map[string]int `json:"forms"`
	FormsExport     map[string]int `json:"forms_export"`
	HasToken        bool           `json:"has_token"`
	AddedAt         time.Time      `json:"added_at"`
	// DAGSwitch is shown when one member is read.
	DAGSwitch *[]string `json:"dag_switch,omitempty"`
}

// ToMemberDoc returns the member of p in Roster's own JSON.
func ToMemberDoc(m *roster.ProjectMember, p *roster.Project) MemberDoc {
	priv := m.Effective()
	text := func(name string) string {
		if m.Record == nil {
			return ""
		}
		v, _ := m.Record.Get(name)
		str, _ := v.(string)
		return str
	}
	d := MemberDoc{Username: m.Username, AccountID: m.AccountID, Email: text("email"), FirstName: text("first_name"), LastName: text("last_name"),
		Expiration: m.Expiration, DataAccessGroup: m.DAGName, Role: m.RoleName, HasToken: m.HasToken, AddedAt: m.AddedAt,
		Rights: make(map[string]int, roster.NumRights), Forms: make(map[string]int, len(p.Forms)), FormsExport: make(map[string]int, len(p.Forms))}
	for i, def := range roster.ProjectRights {
		d.Rights[def.Name] = priv.Rights[i]
	}
	for _, f := range p.Forms {
		d.Forms[f.Name] = roster.FormValue(priv.Forms, f.Name)
		d.FormsExport[f.Name] = roster.FormValue(priv.FormsExport, f.Name)
	}
	if m.DAGSwitch != nil {
		ds := m.DAGSwitch
		d.DAGSwitch = &ds
	}
	return d
}
