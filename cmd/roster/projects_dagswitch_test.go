package main

import (
	"strings"
	"testing"
)

// TestProjectsCLIDAGSwitch: projects add-user sets the DAGs a member may switch among
// through --rights-json's dag_switch, checked by the core like the rights beside it.
func TestProjectsCLIDAGSwitch(t *testing.T) {
	te := newStore(t)
	te.mustCLI(t, "", "projects", "create", "--title", "Sites", "--forms", "f1")
	te.mustCLI(t, "", "projects", "add-user", "--project", "1", "--username", "jane", "--rights-json", `{"calendar":1,"dag_switch":[""]}`)
	code, _, errs := te.cli(t, "", "projects", "add-user", "--project", "1", "--username", "jane", "--rights-json", `{"calendar":0,"dag_switch":["nowhere"]}`)
	if code != 1 || !strings.Contains(errs, `The project has no Data Access Group named "nowhere".`) {
		t.Fatalf("unknown DAG: exit %d, %q", code, errs)
	}
	out := te.mustCLI(t, "", "projects", "members", "--project", "1", "--json")
	if !strings.Contains(out, `"calendar":1`) {
		t.Fatalf("a refused add-user changed the member: %s", out)
	}
}
