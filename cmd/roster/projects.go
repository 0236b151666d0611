package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/roster"
)

func cmdProjects(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("projects needs a subcommand: create, list, members, add-user, remove-user, token, revoke-token")
	}
	if groupHelp(e, "projects", args) {
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return projectsCreate(ctx, e, rest)
	case "list":
		return projectsList(ctx, e, rest)
	case "members":
		return projectsMembers(ctx, e, rest)
	case "add-user":
		return projectsAddUser(ctx, e, rest)
	case "remove-user":
		return projectsMemberOp(ctx, e, "remove-user", rest, func(ctx context.Context, a *app, id int64, u string) error {
			_, err := a.projects.DeleteProjectUsers(ctx, id, []string{u})
			return err
		})
	case "token":
		return projectsMemberOp(ctx, e, "token", rest, func(ctx context.Context, a *app, id int64, u string) error {
			t, err := a.projects.IssueProjectToken(ctx, id, u)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, t.Token)
			return nil
		})
	case "revoke-token":
		return projectsMemberOp(ctx, e, "revoke-token", rest, func(ctx context.Context, a *app, id int64, u string) error {
			return a.projects.RevokeProjectToken(ctx, id, u)
		})
	default:
		return usagef("unknown projects subcommand %q", sub)
	}
}

func projectsCreate(ctx context.Context, e *env, args []string) error {
	fs := flags("projects create", e)
	var c common
	c.register(fs, e)
	title := fs.String("title", "", "the project's title (required)")
	forms := fs.String("forms", "", "its forms (instruments), comma-separated (required)")
	purpose := fs.Int("purpose", 0, "REDCap's purpose: 0 practice, 1 other, 2 research, 3 quality improvement, 4 operational support")
	notes := fs.String("notes", "", "notes about the project")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *title == "" || *forms == "" {
		return usagef("projects create needs --title and --forms and takes no arguments")
	}
	p := &roster.Project{Title: *title, Purpose: *purpose, Notes: *notes}
	for _, f := range strings.Split(*forms, ",") {
		p.Forms = append(p.Forms, roster.Form{Name: strings.TrimSpace(f)})
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err = a.projects.CreateProject(operator(ctx, e), p)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, p.ID)
	return nil
}

func projectsList(ctx context.Context, e *env, args []string) error {
	fs := flags("projects list", e)
	var c common
	c.register(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("projects list takes no arguments")
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	ps, err := a.projects.ListProjects(operator(ctx, e))
	if err != nil {
		return err
	}
	if *asJSON {
		docs := make([]api.ProjectDoc, len(ps))
		for i, p := range ps {
			docs[i] = api.ToProjectDoc(p)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(docs)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tFORMS\tCREATED")
	for _, p := range ps {
		names := make([]string, len(p.Forms))
		for i, f := range p.Forms {
			names[i] = f.Name
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", p.ID, p.Title, strings.Join(names, ","), fmtTime(p.CreatedAt))
	}
	return tw.Flush()
}

// projectFlags registers --project and returns a function that reads it.
func projectFlag(fs *flag.FlagSet) func() (int64, error) {
	s := fs.String("project", "", "the project's id (required)")
	return func() (int64, error) {
		id, err := strconv.ParseInt(strings.TrimSpace(*s), 10, 64)
		if err != nil || id <= 0 {
			return 0, usagef("--project %q is not a project id (see roster projects list)", *s)
		}
		return id, nil
	}
}

func projectsMembers(ctx context.Context, e *env, args []string) error {
	fs := flags("projects members", e)
	var c common
	c.register(fs, e)
	project := projectFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON, one member per line")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := project()
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("projects members takes no arguments")
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	bw := bufio.NewWriter(e.stdout)
	defer bw.Flush()
	tw := tabwriter.NewWriter(bw, 2, 8, 2, ' ', 0)
	enc := json.NewEncoder(bw)
	if !*asJSON {
		fmt.Fprintln(tw, "USERNAME\tNAME\tEMAIL\tROLE\tDAG\tEXPIRES\tTOKEN")
	}
	_, err = a.projects.ExportProjectUsers(operator(ctx, e), id, func(v *roster.ProjectView, m *roster.ProjectMember) error {
		if *asJSON {
			return enc.Encode(api.ToMemberDoc(m, v.Project))
		}
		token := "-"
		if m.HasToken {
			token = "yes"
		}
		d := api.ToMemberDoc(m, v.Project)
		name := strings.TrimSpace(d.FirstName + " " + d.LastName)
		if m.AccountID == 0 {
			name = "(no account)"
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Username, name, d.Email, dash(m.RoleName), dash(m.DAGName), dash(m.Expiration), token)
		return err
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		return tw.Flush()
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func projectsAddUser(ctx context.Context, e *env, args []string) error {
	fs := flags("projects add-user", e)
	var c common
	c.register(fs, e)
	project := projectFlag(fs)
	username := fs.String("username", "", "the member's username (required); it need not have an account yet")
	rightsJSON := fs.String("rights-json", "", `rights as JSON, REDCap's names: '{"user_rights":1,"api_export":1,"forms":{"form_1":1}}'; "dag_switch": ["site_a", ""] sets the DAGs it may switch among`)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := project()
	if err != nil {
		return err
	}
	if len(pos) > 0 || *username == "" {
		return usagef("projects add-user needs --project and --username and takes no arguments")
	}
	in := map[string]any{}
	if *rightsJSON != "" {
		if err := json.Unmarshal([]byte(*rightsJSON), &in); err != nil {
			return usagef("--rights-json: %v", err)
		}
	}
	in["username"] = *username
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.projects.PutProjectMember(operator(ctx, e), id, roster.MemberRowFromJSON(in))
}

// projectsMemberOp runs a command of the form: --project ID --username U.
func projectsMemberOp(ctx context.Context, e *env, name string, args []string, fn func(context.Context, *app, int64, string) error) error {
	fs := flags("projects "+name, e)
	var c common
	c.register(fs, e)
	project := projectFlag(fs)
	username := fs.String("username", "", "the member's username (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := project()
	if err != nil {
		return err
	}
	if len(pos) > 0 || *username == "" {
		return usagef("projects %s needs --project and --username and takes no arguments", name)
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(operator(ctx, e), a, id, *username)
}
