package projects

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const maxDAGLabel = 100

// ExportProjectDAGs returns the project's DAGs sorted by label, with their unique names.
// Needs the Data Access Groups right; a member confined to a DAG may not.
func (s *Service) ExportProjectDAGs(ctx context.Context, id int64) ([]*roster.DAG, error) {
	_, err := s.readAccess(ctx, id, func(a *access) error {
		if err := a.apiRight(roster.RightAPIExport, errNoAPIExport); err != nil {
			return err
		}
		if a.dag() != 0 {
			return errInDAG
		}
		if a.right(roster.RightDataAccessGroups) != 1 {
			return insufficient(msgDAGsExport)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.store.ListProjectDAGs(ctx, id)
}

func checkDAGWrite(a *access) error {
	if err := a.apiRight(roster.RightAPIImport, errNoAPIImport); err != nil {
		return err
	}
	if a.dag() != 0 {
		return errInDAG
	}
	if a.right(roster.RightDataAccessGroups) != 1 {
		return insufficient(msgDAGsImport)
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
							ps.add(line+i, "unique_group_name", roster.PUnknown, fmt.Sprintf("Unique group name %q does not exist in the project. NOTE: The unique group name is auto-generated from the data access group name; to create a new data access group, leave unique_group_name blank.", name))
							continue
						}
					}
					switch {
					case !roster.ValidText(label):
						ps.add(line+i, "data_access_group_name", roster.PFormat, "The data access group name: "+roster.TextMessage)
						continue
					case label == "":
						ps.add(line+i, "data_access_group_name", roster.PRequired, fmt.Sprintf("The data access group name for unique group name %q is blank. A data access group must have a name.", name))
						continue
					case len([]rune(label)) > maxDAGLabel:
						ps.add(line+i, "data_access_group_name", roster.PTooLong, fmt.Sprintf("The data access group name %q must be less than or equal to 100 characters in length.", label))
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
			return &roster.Error{Code: roster.EINVALID, Message: "One or more of the dags provided are not valid unique group names that do not exist in this project. Note: No dags were deleted. DAGs that do not exist: " +
				strings.Join(missing, ", "), Problems: []roster.Problem{{Field: "dags", Code: roster.PUnknown, Message: "Unknown DAGs: " + strings.Join(missing, ", ")}}}
		}
		if err := tx.DeleteProjectDAGs(ctx, id, ids); err != nil {
			return err
		}
		n = len(ids)
		return tx.AppendAudit(ctx, entries...)
	})
	return n, err
}
