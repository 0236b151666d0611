package roster_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func TestDefaultSchema(t *testing.T) {
	s, err := roster.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	// Every attribute the five seed pages name has a home, under its dialect's name.
	for dialect, names := range map[string][]string{
		"ckan": {"state", "name", "id", "apikey", "about", "password", "fullname", "email", "sysadmin", "user_reviewed", "poc", "poc_email",
			"user_deactivated", "doe_affiliation", "affiliation_type", "organization", "occupation", "phone", "reason_for_suspension",
			"suspension_automated", "duid", "orcid"},
		"openedx": {"bio", "country", "date_joined", "email", "gender", "goals", "is_active", "language", "language_proficiencies",
			"level_of_education", "mailing_address", "name", "requires_parental_consent", "username", "year_of_birth", "account_privacy",
			"time_zone"},
		"pybossa": {"admin", "api_key", "category", "ckan_api", "confirmation_email_sent", "created", "email_addr", "facebook_user_id",
			"flags", "fullname", "google_user_id", "id", "info", "locale", "name", "newsletter_prompted", "passwd_hash", "privacy_mode",
			"pro", "subscribed", "twitter_user_id", "valid_email"},
		"brainstem": {"id", "email", "first_name", "last_name", "website", "google_scholar", "orcid_id", "atlas_preference", "is_superuser",
			"is_project_admin", "is_group_admin", "is_taxonomies_admin", "is_resources_admin", "is_attributes_admin", "is_contact_form_email_receiver"},
		"redcap": {"username", "email", "firstname", "lastname"},
	} {
		for _, n := range names {
			if s.ByWireName(dialect, n) == nil {
				t.Errorf("%s %s has no attribute", dialect, n)
			}
		}
	}
	// Things two platforms share are one attribute.
	for _, same := range [][3]string{{"ckan", "orcid", "brainstem:orcid_id"}, {"ckan", "fullname", "openedx:name"}, {"ckan", "sysadmin", "pybossa:admin"},
		{"openedx", "account_privacy", "pybossa:privacy_mode"}, {"ckan", "about", "openedx:bio"}, {"openedx", "language", "pybossa:locale"}} {
		d2, n2, _ := strings.Cut(same[2], ":")
		if s.ByWireName(same[0], same[1]) != s.ByWireName(d2, n2) {
			t.Errorf("%s:%s and %s are different attributes", same[0], same[1], same[2])
		}
	}
	if s.Attr("password").Readable() || s.Attr("apikey").Readable() {
		t.Error("a secret is readable")
	}
	if got := s.Capabilities(); !slices.Contains(got, "project_admin") || len(got) != 6 {
		t.Errorf("capabilities %v", got)
	}
}

func TestNormalize(t *testing.T) {
	s, _ := roster.LoadSchema()
	for _, c := range []struct {
		attr string
		in   any
		want any
		code string
	}{
		{"website", "www.x.org", "http://www.x.org", ""},
		{"website", "ftp://x.org", nil, roster.PFormat},
		{"website", strings.Repeat("a", 200) + ".org", nil, roster.PTooLong},
		{"atlas_preference", "12345678", nil, roster.PTooLong},
		{"username", "  Alice.B@x  ", "Alice.B@x", ""},
		{"username", "a b", nil, roster.PFormat},
		{"username", "1234", nil, roster.PFormat},
		{"username", "00000000-0000-4000-8000-000000000001", nil, roster.PFormat},
		{"username", "", nil, roster.PRequired},
		{"username", "x", nil, roster.PTooShort},
		{"email", "a@b", "a@b", ""},
		{"email", "Alice <a@b.org>", nil, roster.PFormat},
		{"country", "DK", "DK", ""},
		{"country", "dk", nil, roster.PChoice},
		{"country", "", nil, ""},
		{"gender", "x", nil, roster.PChoice},
		{"year_of_birth", json.Number("1990"), int64(1990), ""},
		{"year_of_birth", "1990", int64(1990), ""},
		{"year_of_birth", 1990.5, nil, roster.PType},
		{"subscribed", "yes", true, ""},
		{"subscribed", "0", false, ""},
		{"subscribed", "perhaps", nil, roster.PType},
		{"phone", "+1 (800) 555-5555", "+18005555555", ""},
		{"language_proficiencies", []any{"fr", "en"}, []string{"en", "fr"}, ""},
		{"language_proficiencies", `["en"]`, []string{"en"}, ""},
		{"language_proficiencies", "en,kw", []string{"en", "kw"}, ""},
		{"language_proficiencies", []any{"kw", "kw"}, nil, roster.PDuplicate},
		{"language_proficiencies", []any{"xx"}, nil, roster.PChoice},
		{"info", `{"a": 1}`, map[string]any{"a": json.Number("1")}, ""},
		{"info", "[1]", nil, roster.PType},
		{"name", "two\nlines", nil, roster.PFormat},
		{"bio", "two\nlines", "two\nlines", ""},
		{"bio", strings.Repeat("é", 301), nil, roster.PTooLong},
		{"notified_at", "2024-02-03T04:05:06.1234567+02:00", time.Date(2024, 2, 3, 2, 5, 6, 123456000, time.UTC), ""},
		{"notified_at", "yesterday", nil, roster.PFormat},
		{"time_zone", "Europe/Paris", "Europe/Paris", ""},
		{"time_zone", " America/Argentina/Buenos_Aires ", "America/Argentina/Buenos_Aires", ""},
		{"time_zone", "UTC", "UTC", ""},
		{"time_zone", "", nil, ""},
		{"time_zone", "Local", nil, roster.PChoice},
		{"time_zone", "Mars/Olympus_Mons", nil, roster.PChoice},
		{"time_zone", "Europe/../Europe/Paris", nil, roster.PChoice},
		{"time_zone", "../../etc/passwd", nil, roster.PChoice},
		{"time_zone", "/usr/share/zoneinfo/Europe/Paris", nil, roster.PChoice},
		{"time_zone", "Europe", nil, roster.PChoice},
		{"time_zone", 1, nil, roster.PType},
	} {
		got, p := s.Normalize(s.Attr(c.attr), c.in)
		code := ""
		if p != nil {
			code = p.Code
			if p.Field != c.attr {
				t.Errorf("%s: problem names %q", c.attr, p.Field)
			}
		}
		if code != c.code || !equal(got, c.want) {
			t.Errorf("Normalize(%s, %#v) = %#v, %q; want %#v, %q", c.attr, c.in, got, code, c.want, c.code)
		}
	}
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestSchemaExtension(t *testing.T) {
	s, err := roster.LoadSchema([]byte(`{"attributes": [
		{"name": "lab_room", "type": "string", "read": "self", "write": "self", "maxLength": 10, "names": {"brainstem": "lab_room"}},
		{"name": "website", "type": "string", "read": "public", "write": "self", "format": "url", "names": {"brainstem": "website"}},
		{"name": "data_steward", "type": "bool", "storage": "capability", "read": "staff", "write": "sysadmin"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.Attr("lab_room"); a == nil || a.Storage != roster.StoreProfile || s.ByWireName("brainstem", "lab_room") != a {
		t.Fatalf("lab_room = %+v", a)
	}
	if s.Attr("website").Read != roster.LevelPublic {
		t.Fatal("a profile attribute was not redefined")
	}
	if !slices.Contains(s.Capabilities(), "data_steward") {
		t.Fatal("capability not added")
	}
	for doc, want := range map[string]string{
		`{"attributes": [{"name": "email", "type": "string", "read": "public", "write": "self"}]}`:                               "built in",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "storage": "column"}]}`:              "reserved",
		`{"attributes": [{"name": "Bad-Name", "type": "string", "read": "public", "write": "self"}]}`:                            "names are",
		`{"attributes": [{"name": "x", "type": "colour", "read": "public", "write": "self"}]}`:                                   "unknown type",
		`{"attributes": [{"name": "x", "type": "string", "read": "everyone", "write": "self"}]}`:                                 "unknown read level",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "names": {"ckan": "email"}}]}`:       "already used",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "names": {"myspace": "x"}}]}`:        "unknown dialect",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "pattern": "("}]}`:                   "pattern",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "maxLength": 2, "default": "abc"}]}`: "default",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "colour": "red"}]}`:                  "unknown field",
		`{"attributes": [{"name": "x", "type": "string", "read": "public", "write": "self", "storage": "capability"}]}`:          "capability is a bool",
	} {
		if _, err := roster.LoadSchema([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadSchema(%s) = %v, want an error about %q", doc, err, want)
		}
	}
}

func TestParseAccountRef(t *testing.T) {
	for in, want := range map[string]roster.AccountRef{
		"42":                                   {ID: 42},
		"5A918B1F-33E2-4F72-AA46-899340C36BEB": {UUID: "5a918b1f-33e2-4f72-aa46-899340c36beb"},
		"alice":                                {Username: "alice"},
		"a42":                                  {Username: "a42"},
		"12345678901234567890":                 {Username: "12345678901234567890"},
	} {
		if got := roster.ParseAccountRef(in); got != want {
			t.Errorf("ParseAccountRef(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestChangesRoundTrip(t *testing.T) {
	in := []roster.Change{
		{Field: "email", Old: nil, New: "a@b.org"},
		{Field: "password", Redacted: true},
		{Field: "year_of_birth", Old: json.Number("1990"), New: json.Number("12345678901234567890")},
		{Field: "info", Old: map[string]any{"a": "x\"y"}, New: []any{"é", false}},
	}
	b, err := roster.MarshalChanges(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `[["email",null,"a@b.org"],["password"],["year_of_birth",1990,12345678901234567890],["info",{"a":"x\"y"},["é",false]]]` {
		t.Fatalf("encoded %s", b)
	}
	out, err := roster.UnmarshalChanges(b)
	if err != nil || !equal(out, in) {
		t.Fatalf("decoded %+v, %v", out, err)
	}
	if _, err := roster.UnmarshalChanges([]byte(`[["a",1]]`)); err == nil {
		t.Fatal("a two-element change was accepted")
	}
}

// TestAccountsDocMatchesSchema keeps the attribute table of docs/accounts.md true.
func TestAccountsDocMatchesSchema(t *testing.T) {
	s, _ := roster.LoadSchema()
	b, err := os.ReadFile("../../docs/accounts.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- schema table: begin -->\n", "<!-- schema table: end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatal("docs/accounts.md lacks the schema table markers")
	}
	if got, want := doc[i+len(begin):j], s.MarkdownTable(); got != want {
		t.Fatalf("docs/accounts.md's attribute table is out of date; regenerate it with\n  go run ./cmd/roster schema --markdown\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestSocialLinks(t *testing.T) {
	sch, err := roster.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	attr := sch.Attr("social_links")
	got, p := sch.Normalize(attr, map[string]any{"facebook": "https://www.Facebook.com/alice/", "twitter": "bob", "linkedin": "  ", "x": "carol"})
	if p != nil {
		t.Fatal(p)
	}
	want := map[string]any{"facebook": "https://www.facebook.com/alice", "x": "https://www.x.com/carol"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for in, reason := range map[string]string{`{"myspace": "a"}`: roster.RSocialPlatform, `{"x": "a/b"}`: roster.RSocialUsername, `{"x": "https://x.com/a/b"}`: roster.RSocialUsername} {
		var m map[string]any
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatal(err)
		}
		if _, p := sch.Normalize(attr, m); p == nil || p.Reason != reason {
			t.Errorf("%s: %+v, want reason %s", in, p, reason)
		}
	}
	if _, p := sch.Normalize(attr, map[string]any{"x": strings.Repeat("a", 100)}); p == nil || p.Code != roster.PTooLong {
		t.Errorf("a long link: %+v", p)
	}
}
