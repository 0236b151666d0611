package projects

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const maxDAGLabel = 100

// unknownDAG is the problem of a unique DAG name the project does not have.
func unknownDAG(field, name string) roster.Problem {
	return roster.Problem{Field: field, Code: roster.PUnknown, Reason: roster.RUnknownDAG, Value: name,
		Message: fmt.Sprintf("The project has no Data Access Group named %q.", name)}
}

// unknownNames refuses a deletion naming what the project does not have (missing, in the
// list field): then nothing is deleted.
func unknownNames(field, reason string, missing []string, msg string) error {
	return &roster.Error{Code: roster.EINVALID, Message: msg,
		Problems: []roster.Problem{{Field: field, Code: roster.PUnknown, Reason: reason, Value: missing, Message: msg}}}
}

// ExportProjectDAGs returns the project's DAGs sorted by label, with their unique names.
// Needs the Data Access Groups right; a member confined to a DAG may not.
func (s *Service) ExportProjectDAGs(ctx context.Context, id int64) ([]*roster.DAG, error) {
	_, err := s.readAccess(ctx, id, func(a *access) error { return checkDAGs(a, roster.RightAPIExport, errNoAPIExport) })
	if err != nil {
		return nil, err
	}
	return s.store.ListProjectDAGs(ctx, id)
}

func checkDAGWrite(a *access) error { return checkDAGs(a, roster.RightAPIImport, errNoAPIImport) }

// checkDAGs lets through a member with the API right api (refused with noAPI) and the
// Data Access Groups right who is confined to no DAG.
func checkDAGs(a *access, api roster.Right, noAPI error) error {
	if err := a.apiRight(api, noAPI); err != nil {
		return err
	}
	if a.dag() != 0 {
		return errInDAG
	}
	if a.right(roster.RightDataAccessGroups) != 1 {
		return errDAGs
	}
	return nil
}

// ImportProjectDAGs creates DAGs (rows with an empty unique_group_name) and renames
// existing ones (rows naming one by the unique name it had before the import). Unique
// names follow from the labels. All or nothing.
func (s *Service) ImportProjectDAGs(ctx context.Context, id int64, rows roster.Rows[roster.DAGRow]) (int, error) {
	count := 0
	err := s.importTx(ctx, id, checkDAGWrite, func(tx roster.Tx, a *access, now time.Time) error {
		dags, err := tx.ListProjectDAGs(ctx, id)
		if err != nil {
			return err
		}
		byName := dagsByName(dags)
		var ps problems
		var created, renamed []*roster.DAG
		before := map[*roster.DAG]string{}
		count, err = inChunks(rows, func(keys []string) error { return requireKeys(keys, "data_access_group_name", "unique_group_name") },
			func(line int, chunk []roster.DAGRow) error {
				for i, row := range chunk {
					name, label := strings.TrimSpace(row.UniqueName), strings.TrimSpace(row.Label)
					var d *roster.DAG
					if name != "" {
						if d = byName[name]; d == nil {
							p := unknownDAG("unique_group_name", name)
							p.Message += " Unique names follow from the labels: to create a Data Access Group, leave unique_group_name blank."
							ps.add(line+i, p)
							continue
						}
					}
					switch {
					case !roster.ValidText(label):
						ps.add(line+i, roster.Problem{Field: "data_access_group_name", Code: roster.PFormat, Subject: name, Message: "The data access group name: " + roster.TextMessage})
						continue
					case label == "":
						ps.add(line+i, roster.Problem{Field: "data_access_group_name", Code: roster.PRequired, Subject: name, Message: "A Data Access Group needs a name."})
						continue
					case len([]rune(label)) > maxDAGLabel:
						ps.add(line+i, roster.Problem{Field: "data_access_group_name", Code: roster.PTooLong, Subject: name, Value: label, Limit: maxDAGLabel,
							Message: fmt.Sprintf("The Data Access Group name %q is longer than %d characters.", label, maxDAGLabel)})
						continue
					}
					if d == nil {
						created = append(created, &roster.DAG{ProjectID: id, Label: label, CreatedAt: now})
						continue
					}
					if _, seen := before[d]; !seen {
						before[d] = d.Label
						renamed = append(renamed, d)
					}
					d.Label = label
				}
				return nil
			})
		if err != nil {
			return err
		}
		if ps.any() {
			return ps.err()
		}
		var entries []*roster.AuditEntry
		for _, d := range created {
			if err := tx.CreateProjectDAG(ctx, d); err != nil {
				return err
			}
			entries = append(entries, projectAudit(ctx, now, "project.dag.create", a.project, []roster.Change{{Field: "data_access_group_name", New: d.Label}}))
		}
		for _, d := range renamed {
			if before[d] == d.Label {
				continue
			}
			if err := tx.RenameProjectDAG(ctx, d); err != nil {
				return err
			}
			entries = append(entries, projectAudit(ctx, now, "project.dag.rename", a.project, []roster.Change{{Field: "data_access_group_name", Old: before[d], New: d.Label}}))
		}
		return tx.AppendAudit(ctx, entries...)
	})
	return count, err
}

// DeleteProjectDAGs deletes DAGs by unique name, all or none; their members are then in
// no DAG.
func (s *Service) DeleteProjectDAGs(ctx context.Context, id int64, names []string) (int, error) {
	n := 0
	err := s.projectTx(ctx, id, checkDAGWrite, func(tx roster.Tx, a *access, now time.Time) error {
		dags, err := tx.ListProjectDAGs(ctx, id)
		if err != nil {
			return err
		}
		byName := dagsByName(dags)
		var missing []string
		var ids []int64
		var entries []*roster.AuditEntry
		seen := map[int64]bool{}
		for _, name := range names {
			d := byName[strings.TrimSpace(name)]
			if d == nil {
				missing = append(missing, name)
				continue
			}
			if seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			ids = append(ids, d.ID)
			entries = append(entries, projectAudit(ctx, now, "project.dag.delete", a.project, []roster.Change{
				{Field: "unique_group_name", Old: d.UniqueName}, {Field: "data_access_group_name", Old: d.Label}}))
		}
		if len(missing) > 0 {
			return unknownNames("dags", roster.RUnknownDAG, missing,
				"The project has no Data Access Group named: "+strings.Join(missing, ", ")+". No Data Access Group was deleted.")
		}
		if err := tx.DeleteProjectDAGs(ctx, id, ids); err != nil {
			return err
		}
		n = len(ids)
		return tx.AppendAudit(ctx, entries...)
	})
	return n, err
}
