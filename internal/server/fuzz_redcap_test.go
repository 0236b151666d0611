package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// redcapFixture is a project in which the fixture's owner holds every right and a token,
// and the other user a token with export rights only; its tokens, with one that names
// no member and none at all, are the callers of REDCap's API.
type redcapFixture struct {
	*fuzzFixture
	tokens []string
}

var (
	redcapContents = []string{"user", "userRole", "userRoleMapping", "dag", "userDagMapping", "version", "project", "metadata",
		"formEventMapping", "record", "nonsense"}
	redcapActions = []string{"", "export", "import", "delete", "switch", "list"}
	redcapFormats = []string{"json", "csv", "xml", "odm", ""}
)

// reset makes the project afresh: an input that wrote (members deleted, rights taken,
// everyone moved into a DAG) would otherwise leave the next inputs a project where
// everything is refused, and a failure should replay on the project as made.
func (rf *redcapFixture) reset(tb testing.TB) {
	tb.Helper()
	op, e := testkit.Operator(), rf.e
	p, err := e.Projects.CreateProject(op, &roster.Project{Title: "Demo Study", Purpose: 2,
		Forms: []roster.Form{{Name: "demographics"}, {Name: "day_3"}, {Name: "other", Label: "Other things"}}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.Projects.ImportProjectDAGs(op, p.ID, roster.NewSliceRows([]roster.DAGRow{{Label: "CA Site"}, {Label: "FL Site"}}, "data_access_group_name", "unique_group_name")); err != nil {
		tb.Fatal(err)
	}
	rows := []roster.MemberRow{
		roster.MemberRowFromJSON(map[string]any{"username": "target", "design": "1", "user_rights": "1", "data_access_groups": "1",
			"api_export": "1", "api_import": "1", "record_delete": "1", "forms": map[string]any{"demographics": "1", "day_3": "1", "other": "1"},
			"forms_export": map[string]any{"demographics": "1"}}),
		roster.MemberRowFromJSON(map[string]any{"username": "other", "api_export": "1", "data_access_group": "ca_site"}),
	}
	if _, err := e.Projects.ImportProjectUsers(op, p.ID, roster.NewSliceRows(rows)); err != nil {
		tb.Fatal(err)
	}
	rf.tokens = rf.tokens[:0]
	for _, u := range []string{"target", "other"} {
		tok, err := e.Projects.IssueProjectToken(op, p.ID, u)
		if err != nil {
			tb.Fatal(err)
		}
		rf.tokens = append(rf.tokens, tok.Token)
	}
	bad := make([]byte, 16)
	rand.Read(bad)
	rf.tokens = append(rf.tokens, strings.ToUpper(hex.EncodeToString(bad)), "")
	rf.watch.settle(tb)
}

// FuzzREDCapAPI posts REDCap API calls through the production handler: each content
// and action, data in each format (and anything as data), from a full-rights token, an
// export-only one, an unknown one and none, form-encoded with any extra fields (arrays
// such as users[0]=…, a second token or data) or multipart. The form reader, the
// decoders and the project service are all on the path: no input may get a 500, and a
// refused call writes nothing.
func FuzzREDCapAPI(f *testing.F) {
	rf := &redcapFixture{fuzzFixture: newFuzzFixture(f)}
	rf.reset(f)
	f.Fuzz(func(t *testing.T, who, content, action, format, returnFormat uint8, asMultipart bool, data []byte, extra string) {
		fields := [][2]string{{"content", redcapContents[int(content)%len(redcapContents)]}}
		if tok := rf.tokens[int(who)%len(rf.tokens)]; tok != "" {
			fields = append([][2]string{{"token", tok}}, fields...)
		}
		if a := redcapActions[int(action)%len(redcapActions)]; a != "" {
			fields = append(fields, [2]string{"action", a})
		}
		if fm := redcapFormats[int(format)%len(redcapFormats)]; fm != "" {
			fields = append(fields, [2]string{"format", fm})
		}
		if rf := redcapFormats[int(returnFormat)%len(redcapFormats)]; rf != "" {
			fields = append(fields, [2]string{"returnFormat", rf})
		}
		if len(data) > 0 {
			fields = append(fields, [2]string{"data", string(data)})
		}
		var body, ct string
		if asMultipart {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for _, kv := range fields {
				mw.WriteField(kv[0], kv[1])
			}
			if extra != "" {
				mw.WriteField("extra", extra)
			}
			mw.Close()
			body, ct = b.String(), mw.FormDataContentType()
		} else {
			parts := make([]string, 0, len(fields)+1)
			for _, kv := range fields {
				parts = append(parts, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
			}
			if extra != "" {
				parts = append(parts, extra)
			}
			body, ct = strings.Join(parts, "&"), "application/x-www-form-urlencoded"
		}
		r := rf.e.Do(t, "POST", "/api/", body, "Content-Type", ct, "User-Agent", "python-requests/2.31.0")
		if rf.watch.check(t, rf.e, "POST /api/ "+strconv.Quote(body), r.Status, r.Body) {
			rf.restore(t)
			rf.reset(t)
		}
	})
}
