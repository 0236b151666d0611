package projects_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// The REDCap dialect words refusals from what the service says about them, not from
// its messages: these tests hold the service to what each refusal carries.

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Engines(t, fn)
}

func asError(t *testing.T, err error) *roster.Error {
	t.Helper()
	var e *roster.Error
	if !errors.As(err, &e) {
		t.Fatalf("not a roster error: %v", err)
	}
	return e
}

func wantReason(t *testing.T, err error, code, reason, subject string) {
	t.Helper()
	e := asError(t, err)
	if e.Code != code || e.Reason != reason || e.Subject != subject || e.Message == "" {
		t.Fatalf("got %s/%s/%q (%q), want %s/%s/%q", e.Code, e.Reason, e.Subject, e.Message, code, reason, subject)
	}
}

// fixture is a project with forms f1 and f2, a DAG north, and members: alice (full User
// Rights and the API rights, by token), bob (no rights, with an account and an API key),
// and carol (in north).
type fixture struct {
	id        int64
	aliceTok  context.Context // alice through her project token
	bobKey    context.Context // bob through his API key
	aliceRows func(rows ...map[string]any) error
}

func setup(t *testing.T, e *testkit.Env) fixture {
	t.Helper()
	op := testkit.Operator()
	p, err := e.Projects.CreateProject(op, &roster.Project{Title: "P", Forms: []roster.Form{{Name: "f1"}, {Name: "f2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Projects.ImportProjectDAGs(op, p.ID, roster.NewSliceRows([]roster.DAGRow{{Label: "North"}}, "data_access_group_name", "unique_group_name")); err != nil {
		t.Fatal(err)
	}
	e.Account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
	_, bobKey := e.Account(t, map[string]any{"username": "bob", "email": "bob@example.org"})
	rows := func(ctx context.Context, in ...map[string]any) error {
		rs := make([]roster.MemberRow, len(in))
		for i, m := range in {
			rs[i] = roster.MemberRowFromJSON(m)
		}
		_, err := e.Projects.ImportProjectUsers(ctx, p.ID, roster.NewSliceRows(rs))
		return err
	}
	if err := rows(op, map[string]any{"username": "alice", "user_rights": 1, "api_export": 1, "api_import": 1},
		map[string]any{"username": "bob"}, map[string]any{"username": "carol", "data_access_group": "north"}); err != nil {
		t.Fatal(err)
	}
	tok, err := e.Projects.IssueProjectToken(op, p.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	c := roster.Client{IP: "192.0.2.7"}
	alice, err := e.Projects.AuthenticateProjectToken(context.Background(), tok.Token, c)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.Svc.AuthenticateKey(context.Background(), bobKey, c)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{id: p.ID, aliceTok: roster.NewContextWithActor(context.Background(), alice),
		bobKey: roster.NewContextWithActor(context.Background(), bob)}
	f.aliceRows = func(in ...map[string]any) error { return rows(f.aliceTok, in...) }
	return f
}

func TestRefusalReasons(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		_, err := e.Projects.DeleteProjectRoles(f.aliceTok, f.id, []string{"x"})
		wantReason(t, err, roster.EFORBIDDEN, roster.RTokenRight, "record_delete")
		_, err = e.Projects.ExportProjectUsers(f.bobKey, f.id, func(*roster.ProjectView, *roster.ProjectMember) error { return nil })
		wantReason(t, err, roster.EFORBIDDEN, roster.RNoRight, "user_rights")
		_, err = e.Projects.ExportProjectDAGs(f.aliceTok, f.id)
		wantReason(t, err, roster.EFORBIDDEN, roster.RNoRight, "data_access_groups")

		err = e.Projects.SwitchDAG(f.aliceTok, f.id, "south")
		wantReason(t, err, roster.EINVALID, roster.RUnknownDAG, "south")
		err = e.Projects.SwitchDAG(f.aliceTok, f.id, "north")
		wantReason(t, err, roster.EFORBIDDEN, roster.RDAGSwitchNotAssigned, "north")
		root := roster.NewContextWithActor(context.Background(), roster.Actor{AccountID: 999, Username: "root", Sysadmin: true})
		err = e.Projects.SwitchDAG(root, f.id, "north")
		wantReason(t, err, roster.EINVALID, roster.RNotMember, "")

		// Expired rights, by token and by key alike.
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		if err := f.aliceRows(map[string]any{"username": "bob", "expiration": yesterday}); err != nil {
			t.Fatal(err)
		}
		_, err = e.Projects.GetProject(f.bobKey, f.id)
		wantReason(t, err, roster.EFORBIDDEN, roster.RExpired, yesterday)
	})
}

func TestProblemReasons(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		err := f.aliceRows(
			map[string]any{"username": "dora", "user_rights": 3, "forms": map[string]any{"nope": 1, "f1": 9}, "forms_export": 5, "data_access_group": "south"},
			map[string]any{"username": "bad name!"},
		)
		e1 := asError(t, err)
		type got struct {
			Field, Code, Reason, Subject string
			Value                        any
			Line                         int
		}
		var ps []got
		for _, p := range e1.Problems {
			if p.Message == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
			ps = append(ps, got{p.Field, p.Code, p.Reason, p.Subject, p.Value, p.Line})
		}
		want := []got{
			{"data_access_group", roster.PUnknown, roster.RUnknownDAG, "", "south", 1},
			{"user_rights", roster.PChoice, roster.RBadRight, "dora", "3", 1},
			{"forms_export", roster.PType, roster.RBadRight, "dora", "5", 1},
			{"forms", roster.PChoice, roster.RBadRight, "dora", roster.RawFormRight{Form: "f1", Value: "9"}, 1},
			{"forms", roster.PUnknown, roster.RUnknownForm, "dora", roster.RawFormRight{Form: "nope", Value: "1"}, 1},
			{"username", roster.PFormat, "", "", "bad name!", 2},
		}
		if e1.Code != roster.EINVALID || !reflect.DeepEqual(ps, want) {
			t.Fatalf("problems:\n got %+v\nwant %+v", ps, want)
		}

		_, err = e.Projects.DeleteProjectUsers(f.aliceTok, f.id, []string{"bob", "ghost", "nemo"})
		if p := asError(t, err).Problems; len(p) != 1 || p[0].Reason != roster.RNotMember || !reflect.DeepEqual(p[0].Value, []string{"ghost", "nemo"}) {
			t.Fatalf("deleting non-members: %+v", p)
		}
		_, err = e.Projects.ImportRoleMappings(f.aliceTok, f.id, roster.NewSliceRows([]roster.Mapping{{Username: "bob"}}, "username"))
		if p := asError(t, err).Problems; len(p) != 1 || p[0].Reason != roster.RMissingColumn || !reflect.DeepEqual(p[0].Expected, []string{"username", "unique_role_name"}) {
			t.Fatalf("a missing column: %+v", p)
		}
	})
}

// TestUnlistedProblems: past the problems an import lists, the rest are counted.
func TestUnlistedProblems(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		rows := make([]map[string]any, core.MaxImportProblems+2)
		for i := range rows {
			rows[i] = map[string]any{"username": fmt.Sprintf("u%d", i), "design": 7}
		}
		e1 := asError(t, f.aliceRows(rows...))
		if len(e1.Problems) != core.MaxImportProblems || e1.Unlisted != 2 {
			t.Fatalf("%d problems listed, %d unlisted", len(e1.Problems), e1.Unlisted)
		}
	})
}
