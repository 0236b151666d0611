package openedx_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// joined is when every fixture account was made: the core's clock stands still.
var joined = time.Now().UTC().Truncate(time.Second).Add(250 * time.Millisecond)

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Run(t, testkit.Setup{Core: func(c *core.Config) { c.Now = func() time.Time { return joined } }}, fn)
}

type fixture struct {
	e   *testkit.Env
	key map[string]string // username → API key
	id  map[string]int64
}

func newFixture(t *testing.T, e *testkit.Env) *fixture {
	f := &fixture{e: e, key: map[string]string{}, id: map[string]int64{}}
	year := joined.Year()
	for _, in := range []map[string]any{
		{"username": "alice", "email": "alice@example.com", "name": "Alice Smith", "privacy": "all_users", "year_of_birth": 1990,
			"bio": "Hi <b>there</b>", "country": "US", "region": "MA", "gender": "f", "level_of_education": "m", "goals": "world peace",
			"mailing_address": "Park Ave", "phone": "+1 (800) 555-5555", "language_proficiencies": []any{"fr", "en"},
			"social_links": map[string]any{"facebook": "alice"}, "locale": "en"},
		{"username": "bob", "email": "bob@example.com", "name": "Bob Jones", "year_of_birth": 1985, "password": "bob password 1"},
		{"username": "watcher", "email": "watcher@example.com", "staff": true, "year_of_birth": 1980},
		{"username": "carol", "email": "carol@example.com", "name": "Carol Custom", "privacy": "custom", "year_of_birth": 1991,
			"shared_fields": []any{"bio", "language_proficiencies", "name"}, "bio": "Carol's bio", "country": "FR",
			"language_proficiencies": []any{"de"}},
		{"username": "dave", "email": "dave@example.com", "name": "Dave Private", "privacy": "private", "year_of_birth": 1970, "country": "NO"},
		{"username": "kid", "email": "kid@example.com", "name": "Kid", "privacy": "all_users", "year_of_birth": year - 10, "bio": "I am ten"},
	} {
		rec, key := e.Account(t, in)
		f.key[rec.Username], f.id[rec.Username] = key, rec.ID
	}
	return f
}

func (f *fixture) get(t *testing.T, who, path string) testkit.Reply {
	t.Helper()
	var h []string
	if who != "" {
		h = []string{"Authorization", "Bearer " + f.key[who]}
	}
	return f.e.Do(t, "GET", path, "", h...)
}

func (f *fixture) patch(t *testing.T, who, path, body string, header ...string) testkit.Reply {
	t.Helper()
	h := []string{"Authorization", "Bearer " + f.key[who], "Content-Type", "application/merge-patch+json"}
	return f.e.Do(t, "PATCH", path, body, append(h, header...)...)
}

func want(t *testing.T, r testkit.Reply, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("got %d %s\nwant %d %s", r.Status, r.Body, status, body)
	}
	switch {
	case body == "" && r.Header.Get("Content-Type") != "":
		t.Fatalf("an empty answer with Content-Type %q", r.Header.Get("Content-Type"))
	case body != "" && r.Header.Get("Content-Type") != "application/json":
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
}

func images(e *testkit.Env) string {
	host := strings.TrimPrefix(e.URL, "http://")
	return fmt.Sprintf(`{"has_image":false,"image_url_full":"http://%[1]s/static/images/profiles/default_500.png",`+
		`"image_url_large":"http://%[1]s/static/images/profiles/default_120.png",`+
		`"image_url_medium":"http://%[1]s/static/images/profiles/default_50.png",`+
		`"image_url_small":"http://%[1]s/static/images/profiles/default_30.png"}`, host)
}

var dateJoined = joined.Truncate(time.Second).Format("2006-01-02T15:04:05Z")

// aliceFull is alice's account as she and staff see it: Open edX's 28 keys and the seed
// page's language and accomplishments_shared.
func (f *fixture) aliceFull() string {
	return `{"account_privacy":"all_users","profile_image":` + images(f.e) + `,"username":"alice","bio":"Hi <b>there</b>",` +
		`"course_certificates":null,"country":"US","date_joined":"` + dateJoined + `","language_proficiencies":[{"code":"en"},{"code":"fr"}],` +
		`"level_of_education":"m","social_links":[{"platform":"facebook","social_link":"https://www.facebook.com/alice"}],"time_zone":null,` +
		`"name":"Alice Smith","email":"alice@example.com","id":` + fmt.Sprint(f.id["alice"]) + `,"verified_name":null,"extended_profile":[],` +
		`"gender":"f","state":"MA","goals":"world peace","is_active":true,"last_login":null,"mailing_address":"Park Ave",` +
		`"requires_parental_consent":false,"secondary_email":null,"secondary_email_enabled":null,"year_of_birth":1990,` +
		`"phone_number":"+18005555555","pending_name_change":null,"language":"en","accomplishments_shared":false}`
}

// aliceShared is alice's account as another user sees it, all_users: 11 keys.
func (f *fixture) aliceShared() string {
	return `{"account_privacy":"all_users","profile_image":` + images(f.e) + `,"username":"alice","bio":"Hi <b>there</b>",` +
		`"course_certificates":null,"country":"US","date_joined":"` + dateJoined + `","language_proficiencies":[{"code":"en"},{"code":"fr"}],` +
		`"level_of_education":"m","social_links":[{"platform":"facebook","social_link":"https://www.facebook.com/alice"}],"time_zone":null}`
}

func (f *fixture) private(name string) string {
	return `{"account_privacy":"private","profile_image":` + images(f.e) + `,"username":"` + name + `"}`
}

func TestAuthentication(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		noCreds := `{"detail":"Authentication credentials were not provided."}`
		for _, p := range []string{"/api/user/v1/me", "/api/user/v1/accounts", "/api/user/v1/accounts/alice"} {
			r := e.Do(t, "GET", p, "")
			want(t, r, 401, noCreds)
			if r.Header.Get("WWW-Authenticate") != `JWT realm="api"` {
				t.Errorf("%s: WWW-Authenticate %q", p, r.Header.Get("WWW-Authenticate"))
			}
		}
		want(t, e.Do(t, "PATCH", "/api/user/v1/accounts/alice", `{"bio": "x"}`, "Content-Type", "application/merge-patch+json"), 401, noCreds)
		want(t, e.Do(t, "GET", "/api/user/v1/me", "", "Authorization", "Bearer rk_no-such-key"), 401,
			`{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}`)
		want(t, f.get(t, "bob", "/api/user/v1/me"), 200, `{"username":"bob"}`)
		for _, m := range []string{"PUT", "POST", "DELETE"} {
			want(t, e.Do(t, m, "/api/user/v1/accounts/bob", "{}", "Authorization", "Bearer "+f.key["bob"]), 405,
				`{"detail":"Method \"`+m+`\" not allowed."}`)
		}
	})
}

func TestVisibility(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		acct := func(u string) string { return "/api/user/v1/accounts/" + u }
		// Own account and staff: the full view, whatever the privacy.
		want(t, f.get(t, "alice", acct("alice")), 200, f.aliceFull())
		want(t, f.get(t, "watcher", acct("alice")), 200, f.aliceFull())
		// The seed's trailing slash.
		want(t, f.get(t, "alice", acct("alice")+"/"), 200, f.aliceFull())
		// Others: what the owner shares.
		want(t, f.get(t, "bob", acct("alice")), 200, f.aliceShared())
		want(t, f.get(t, "bob", acct("dave")), 200, f.private("dave"))
		want(t, f.get(t, "bob", acct("carol")), 200, `{"account_privacy":"custom","profile_image":`+images(e)+
			`,"username":"carol","bio":"Carol's bio","language_proficiencies":[{"code":"de"}],"name":"Carol Custom"}`)
		// view=shared is the shared view for everyone, the owner and staff too.
		want(t, f.get(t, "alice", acct("alice")+"?view=shared"), 200, f.aliceShared())
		want(t, f.get(t, "watcher", acct("alice")+"?view=shared"), 200, f.aliceShared())
		want(t, f.get(t, "dave", acct("dave")+"?view=shared"), 200, f.private("dave"))
		// Roster's default: the parental-consent rule is off, so a ten-year-old who shares
		// is shared.
		r := f.get(t, "bob", acct("kid"))
		if !strings.Contains(r.Body, `"bio":"I am ten"`) {
			t.Fatalf("with the consent rule off, kid's shared bio: %s", r.Body)
		}
		// Unknown users: 404, empty.
		want(t, f.get(t, "bob", acct("nobody")), 404, "")
		want(t, f.get(t, "bob", acct("no/such")), 404, "")

		// Open edX's own rule, turned on: minors (and accounts without a year of birth)
		// are private to others, and requires_parental_consent says so to themselves.
		if _, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingParentalConsentAge, "13"); err != nil {
			t.Fatal(err)
		}
		want(t, f.get(t, "bob", acct("kid")), 200, f.private("kid"))
		r = f.get(t, "kid", acct("kid"))
		if !strings.Contains(r.Body, `"account_privacy":"private"`) || !strings.Contains(r.Body, `"requires_parental_consent":true`) {
			t.Fatalf("kid's own view with the consent rule on: %s", r.Body)
		}
		want(t, f.get(t, "bob", acct("alice")), 200, f.aliceShared())
	})
}

func TestList(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		list := "/api/user/v1/accounts"
		want(t, f.get(t, "alice", list), 200, "["+f.aliceFull()+"]")
		for _, q := range []string{"?username=alice,dave,nobody", "?usernames=alice,dave,nobody", "?username=,alice,dave,alice,"} {
			r := f.get(t, "bob", list+q)
			var got []map[string]any
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || r.Status != 200 || len(got) != 2 {
				t.Fatalf("%s: %d %s", q, r.Status, r.Body)
			}
			names := fmt.Sprintf("%v %v", got[0]["username"], got[1]["username"])
			if names != "alice dave" && names != "dave alice" {
				t.Fatalf("%s: %s", q, names)
			}
			for _, a := range got {
				if a["username"] == "dave" && len(a) != 3 || a["username"] == "alice" && len(a) != 11 {
					t.Errorf("%s: %v shows %d keys", q, a["username"], len(a))
				}
			}
		}
		want(t, f.get(t, "bob", list+"?username=nobody"), 404, "")
		// email and lms_user_id are for staff.
		forbidden := `{"detail":"You do not have permission to perform this action."}`
		want(t, f.get(t, "bob", list+"?email=alice@example.com"), 403, forbidden)
		want(t, f.get(t, "bob", list+"?lms_user_id=1"), 403, forbidden)
		want(t, f.get(t, "bob", "/api/user/v1/accounts/bob?email=x"), 403, forbidden)
		want(t, f.patch(t, "bob", "/api/user/v1/accounts/bob?lms_user_id=1", `{"bio": "x"}`), 403, forbidden)
		want(t, f.get(t, "watcher", list+"?email=ALICE@example.com"), 200, "["+f.aliceFull()+"]")
		want(t, f.get(t, "watcher", list+"?email=nobody@example.com"), 404, "")
		want(t, f.get(t, "watcher", list+fmt.Sprintf("?lms_user_id=%d", f.id["alice"])), 200, "["+f.aliceFull()+"]")
		want(t, f.get(t, "watcher", list+"?lms_user_id=99999"), 404, "")
		for _, bad := range []string{"abc", "2f", "1.0", "2/8"} {
			want(t, f.get(t, "watcher", list+"?lms_user_id="+bad), 400, "")
		}
		// username comes first.
		daveFull := f.get(t, "watcher", "/api/user/v1/accounts/dave").Body
		want(t, f.get(t, "watcher", list+"?username=dave&email=alice@example.com"), 200, "["+daveFull+"]")
	})
}

func TestPatch(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		alice := "/api/user/v1/accounts/alice"
		// The media type is checked first, exactly as sent.
		for _, ct := range []string{"application/json", "application/merge-patch+json; charset=utf-8"} {
			for _, who := range []string{"alice", "bob"} {
				r := e.Do(t, "PATCH", alice, `{"bio": "x"}`, "Authorization", "Bearer "+f.key[who], "Content-Type", ct)
				want(t, r, 415, fmt.Sprintf(`{"detail":"Unsupported media type \"%s\" in request."}`, strings.ReplaceAll(ct, `"`, `\"`)))
			}
		}
		// Another's account: 404 for users (its existence stays hidden), 403 for staff.
		want(t, f.patch(t, "bob", alice, `{"bio": "x"}`), 404, "")
		want(t, f.patch(t, "watcher", alice, `{"bio": "x"}`), 403, "")
		want(t, f.patch(t, "bob", "/api/user/v1/accounts/nobody", `{"bio": "x"}`), 404, "")
		want(t, f.patch(t, "alice", alice, `{"bio": `), 400, `{"detail":"JSON parse error - The request body is not valid JSON: unexpected EOF."}`)

		// A good change: 200 with the whole account. Unknown and maintained keys are
		// ignored; a country other than the US clears the state; links merge by
		// platform; languages are replaced.
		r := f.patch(t, "alice", alice, `{"bio": "New bio", "country": "CA", "year_of_birth": "1991", "id": 5, "time_zone": "x", "foo": 1,
			"social_links": [{"platform": "x", "social_link": "https://x.com/AliceX/"}, {"platform": "facebook", "social_link": ""}],
			"language_proficiencies": [{"code": "de"}], "level_of_education": "o", "phone_number": "+47 22 33 44 55"}`)
		wantBody := strings.NewReplacer(`"bio":"Hi <b>there</b>"`, `"bio":"New bio"`, `"country":"US"`, `"country":"CA"`,
			`[{"code":"en"},{"code":"fr"}]`, `[{"code":"de"}]`, `"level_of_education":"m"`, `"level_of_education":"o"`,
			`[{"platform":"facebook","social_link":"https://www.facebook.com/alice"}]`, `[{"platform":"x","social_link":"https://www.x.com/AliceX"}]`,
			`"state":"MA"`, `"state":null`, `"year_of_birth":1990`, `"year_of_birth":1991`, `"+18005555555"`, `"+4722334455"`).Replace(f.aliceFull())
		want(t, r, 200, wantBody)
		want(t, f.get(t, "alice", alice), 200, wantBody)
		if r.Header.Get("Allow") != "GET, HEAD, OPTIONS, PATCH" || r.Header.Get("Vary") != "Accept" {
			t.Errorf("headers %v", r.Header)
		}
	})
}

func TestPatchFieldErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		bob := "/api/user/v1/accounts/bob"
		before := f.get(t, "bob", bob).Body
		invalid := `This value is invalid.`
		cases := []struct{ body, field, developer, user string }{
			{`{"gender": "not a gender"}`, "gender", `Value 'not a gender' is not valid for field 'gender': ['"not a gender" is not a valid choice.']`, invalid},
			{`{"level_of_education": "ȻħȺɍłɇs"}`, "level_of_education", `Value 'ȻħȺɍłɇs' is not valid for field 'level_of_education': ['"ȻħȺɍłɇs" is not a valid choice.']`, invalid},
			{`{"country": "XY"}`, "country", `Value 'XY' is not valid for field 'country': ['"XY" is not a valid choice.']`, invalid},
			{`{"state": "PY"}`, "state", `Value 'PY' is not valid for field 'state': ['"PY" is not a valid choice.']`, invalid},
			{`{"year_of_birth": "not_an_int"}`, "year_of_birth", `Value 'not_an_int' is not valid for field 'year_of_birth': ['A valid integer is required.']`, invalid},
			{`{"year_of_birth": 1990.5}`, "year_of_birth", `Value '1990.5' is not valid for field 'year_of_birth': ['A valid integer is required.']`, invalid},
			{`{"bio": "` + strings.Repeat("a", 301) + `"}`, "bio", `Value '` + strings.Repeat("a", 301) + `' is not valid for field 'bio': ['The about me field must be at most 300 characters long.']`,
				"The about me field must be at most 300 characters long."},
			{`{"name": "` + strings.Repeat("n", 256) + `"}`, "name", `Value '` + strings.Repeat("n", 256) + `' is not valid for field 'name': ['Ensure this field has no more than 255 characters.']`, invalid},
			{`{"username": "bobby"}`, "username", "This field is not editable via this API", "The 'username' field cannot be edited."},
			{`{"date_joined": "2020-01-01T00:00:00Z"}`, "date_joined", "This field is not editable via this API", "The 'date_joined' field cannot be edited."},
			{`{"account_privacy": ""}`, "account_privacy", "Preference 'account_privacy' cannot be set to an empty value.", "Preference 'account_privacy' cannot be set to an empty value."},
			{`{"phone_number": null}`, "phone_number", `Value 'None' is not valid for field 'phone_number': ['This field may not be null.']`, invalid},
			{`{"language_proficiencies": "not_a_list"}`, "language_proficiencies", `Value 'not_a_list' is not valid for field 'language_proficiencies': {'non_field_errors': ['Expected a list of items but got type "str".']}`, invalid},
			{`{"language_proficiencies": ["not_a_JSON_object"]}`, "language_proficiencies", `Value '['not_a_JSON_object']' is not valid for field 'language_proficiencies': [{'non_field_errors': ['Invalid data. Expected a dictionary, but got str.']}]`, invalid},
			{`{"language_proficiencies": [{}]}`, "language_proficiencies", `Value '[{}]' is not valid for field 'language_proficiencies': [{'code': ['This field is required.']}]`, invalid},
			{`{"language_proficiencies": [{"code": "invalid_language_code"}]}`, "language_proficiencies", `Value '[{'code': 'invalid_language_code'}]' is not valid for field 'language_proficiencies': [{'code': ['"invalid_language_code" is not a valid choice.']}]`, invalid},
			{`{"language_proficiencies": [{"code": "kw"}, {"code": "el"}, {"code": "kw"}]}`, "language_proficiencies", `Value '[{'code': 'kw'}, {'code': 'el'}, {'code': 'kw'}]' is not valid for field 'language_proficiencies': ['The language_proficiencies field must consist of unique languages.']`, invalid},
			{`{"social_links": [{"platform": "myspace", "social_link": "bob"}]}`, "social_links", `Value '[{'platform': 'myspace', 'social_link': 'bob'}]' is not valid for field 'social_links': ['The social platform must be facebook, x or linkedin']`, invalid},
			{`{"social_links": [{"platform": "x", "social_link": "a"}, {"platform": "x", "social_link": "b"}]}`, "social_links", `Value '[{'platform': 'x', 'social_link': 'a'}, {'platform': 'x', 'social_link': 'b'}]' is not valid for field 'social_links': ['The social_links field must consist of unique social platforms.']`, invalid},
			{`{"social_links": [{"platform": "linkedin", "social_link": "a/b"}]}`, "social_links",
				`Error when adding new social link: 'Make sure that you are providing a valid username or a URL that contains "linkedin.com/in/". To remove the link from your LinkedIn profile, leave this field blank.'`,
				`Make sure that you are providing a valid username or a URL that contains "linkedin.com/in/". To remove the link from your LinkedIn profile, leave this field blank.`},
		}
		for _, c := range cases {
			r := f.patch(t, "bob", bob, c.body)
			wantErr, _ := json.Marshal(map[string]any{"field_errors": map[string]any{c.field: map[string]string{"developer_message": c.developer, "user_message": c.user}}})
			var got, exp any
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || r.Status != 400 {
				t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
				continue
			}
			_ = json.Unmarshal(wantErr, &exp)
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("%.80s:\n got %s\nwant %s", c.body, r.Body, wantErr)
			}
		}
		// Every error at once, and nothing saved.
		r := f.patch(t, "bob", bob, `{"gender": "x", "country": "XY", "username": "b2", "bio": "kept?", "account_privacy": ""}`)
		var got struct {
			FieldErrors map[string]any `json:"field_errors"`
		}
		if err := json.Unmarshal([]byte(r.Body), &got); err != nil || r.Status != 400 || len(got.FieldErrors) != 4 {
			t.Fatalf("four errors at once: %d %s", r.Status, r.Body)
		}
		want(t, f.get(t, "bob", bob), 200, before)
	})
}

func TestPreferences(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		prefs := "/api/user/v1/preferences/"
		want(t, f.get(t, "alice", prefs+"alice"), 200, `{"account_privacy":"all_users","pref-lang":"en"}`)
		want(t, f.get(t, "carol", prefs+"carol"), 200,
			`{"account_privacy":"custom","visibility.bio":"all_users","visibility.language_proficiencies":"all_users","visibility.name":"all_users"}`)
		// Staff read anyone's; others read none but their own.
		want(t, f.get(t, "watcher", prefs+"carol"), 200,
			`{"account_privacy":"custom","visibility.bio":"all_users","visibility.language_proficiencies":"all_users","visibility.name":"all_users"}`)
		forbidden := `{"detail":"You do not have permission to perform this action."}`
		want(t, f.get(t, "bob", prefs+"carol"), 403, forbidden)
		want(t, f.get(t, "bob", prefs+"nobody"), 403, forbidden)
		want(t, f.get(t, "watcher", prefs+"nobody"), 404, "")
		want(t, e.Do(t, "GET", prefs+"bob", ""), 401, `{"detail":"Authentication credentials were not provided."}`)

		// PATCH: merge-patch only (a charset is fine); something to change; one's own.
		patch := func(who, path, body, ct string) testkit.Reply {
			return e.Do(t, "PATCH", path, body, "Authorization", "Bearer "+f.key[who], "Content-Type", ct)
		}
		const mp = "application/merge-patch+json"
		want(t, patch("bob", prefs+"bob", `{"account_privacy": "custom"}`, "application/json"), 415, `{"detail":"Unsupported media type \"application/json\" in request."}`)
		noData := `{"developer_message":"No data provided for user preference update","user_message":"No data provided for user preference update"}`
		want(t, patch("bob", prefs+"bob", `{}`, mp), 400, noData)
		want(t, patch("bob", prefs+"bob", `"x"`, mp), 400, noData)
		want(t, patch("bob", prefs+"bob", `{"a": `, mp+"; charset=utf-8"), 400, `{"detail":"JSON parse error - The request body is not valid JSON: unexpected EOF."}`)
		want(t, patch("bob", prefs+"carol", `{"account_privacy": "all_users"}`, mp), 403, forbidden)
		want(t, patch("watcher", prefs+"carol", `{"account_privacy": "all_users"}`, mp), 403, "")
		// Bob shares his bio and name, but not his country.
		if _, err := e.Svc.MergeAccount(testkit.Operator(), roster.AccountRef{Username: "bob"}, map[string]any{"bio": "Bob's bio", "country": "SE"}, roster.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		want(t, patch("bob", prefs+"bob", `{"account_privacy": "custom", "visibility.bio": "all_users", "visibility.name": "all_users",
			"visibility.country": "private", "visibility.time_zone": "all_users"}`, mp+"; charset=utf-8"), 204, "")
		// time_zone is shareable (Open edX's bulk_shareable_fields): shared, the key shows,
		// null as in Open edX's accounts API.
		sharing := `{"account_privacy":"custom","visibility.bio":"all_users","visibility.name":"all_users","visibility.time_zone":"all_users"}`
		want(t, f.get(t, "bob", prefs+"bob"), 200, sharing)
		want(t, f.get(t, "alice", "/api/user/v1/accounts/bob"), 200, `{"account_privacy":"custom","profile_image":`+images(e)+
			`,"username":"bob","bio":"Bob's bio","time_zone":null,"name":"Bob Jones"}`)
		want(t, patch("bob", prefs+"bob", `{"visibility.name": null, "visibility.time_zone": "private"}`, mp), 204, "")
		want(t, f.get(t, "bob", prefs+"bob"), 200, `{"account_privacy":"custom","visibility.bio":"all_users"}`)
		// Errors, all at once (the dialect's and the core's), and nothing saved.
		r := patch("bob", prefs+"bob", `{"account_privacy": " ", "foo": "bar", "time_zone": "Mars/Olympus_Mons", "visibility.bio": "private"}`, mp)
		want(t, r, 400, `{"field_errors":{"account_privacy":{"developer_message":"Preference 'account_privacy' cannot be set to an empty value.",`+
			`"user_message":"Preference 'account_privacy' cannot be set to an empty value."},"foo":{"developer_message":`+
			`"Roster keeps only the preferences account_privacy, visibility.<field>, time_zone and pref-lang, not 'foo'.",`+
			`"user_message":"The preference 'foo' cannot be saved."},"time_zone":{"developer_message":`+
			`"Value 'Mars/Olympus_Mons' not valid for preference 'time_zone': Not in timezone set.",`+
			`"user_message":"Value 'Mars/Olympus_Mons' is not a valid time zone selection."}}}`)
		want(t, patch("bob", prefs+"bob", `{"account_privacy": "friends"}`, mp), 400, `{"field_errors":{"account_privacy":{"developer_message":`+
			`"Value 'friends' not valid for preference 'account_privacy': {'value': ['\"friends\" is not a valid choice.']}",`+
			`"user_message":"Value 'friends' is not valid for user preference 'account_privacy'."}}}`)
		want(t, f.get(t, "bob", prefs+"bob"), 200, `{"account_privacy":"custom","visibility.bio":"all_users"}`)

		// One key at a time: only keys without a dot have a route.
		one := prefs + "bob/account_privacy"
		want(t, f.get(t, "bob", one), 200, `"custom"`)
		want(t, f.get(t, "bob", prefs+"bob/visibility.bio"), 404, "")
		put := func(body string) testkit.Reply {
			return e.Do(t, "PUT", one, body, "Authorization", "Bearer "+f.key["bob"], "Content-Type", "application/json")
		}
		want(t, put(`"all_users"`), 204, "")
		want(t, f.get(t, "bob", one), 200, `"all_users"`)
		want(t, put(`null`), 400, `{"developer_message":"Preference 'account_privacy' cannot be set to an empty value.","user_message":"Preference 'account_privacy' cannot be set to an empty value."}`)
		want(t, e.Do(t, "PUT", prefs+"bob/email-optin", `"True"`, "Authorization", "Bearer "+f.key["bob"], "Content-Type", "application/json"), 404, "")
		want(t, e.Do(t, "PUT", prefs+"bob/dark_mode", `"on"`, "Authorization", "Bearer "+f.key["bob"], "Content-Type", "application/json"), 400,
			`{"developer_message":"Roster keeps only the preferences account_privacy, visibility.<field>, time_zone and pref-lang, not 'dark_mode'.","user_message":"The preference 'dark_mode' cannot be saved."}`)
		want(t, e.Do(t, "DELETE", one, "", "Authorization", "Bearer "+f.key["bob"]), 204, "")
		// Without a privacy of its own, an account has Roster's default: private.
		want(t, f.get(t, "bob", one), 200, `"private"`)
		want(t, e.Do(t, "DELETE", prefs+"bob/time_zone", "", "Authorization", "Bearer "+f.key["bob"]), 404, "")
		want(t, e.Do(t, "POST", one, "", "Authorization", "Bearer "+f.key["bob"]), 405, `{"detail":"Method \"POST\" not allowed."}`)
	})
}

// TestTimeZoneAndLanguage: the account micro-frontend saves the time zone and the
// language as preferences (merge-patch, 204); Roster keeps them as the time_zone and
// locale attributes.
func TestTimeZoneAndLanguage(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		prefs, bob := "/api/user/v1/preferences/bob", "/api/user/v1/accounts/bob"
		stored := func(attr string) any {
			t.Helper()
			rec, err := e.Svc.GetAccount(testkit.Operator(), roster.AccountRef{Username: "bob"}, roster.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := rec.Get(attr)
			return v
		}
		want(t, f.patch(t, "bob", prefs, `{"time_zone":"Europe/Paris"}`), 204, "")
		want(t, f.patch(t, "bob", prefs, `{"pref-lang":"fr"}`), 204, "")
		want(t, f.get(t, "bob", prefs), 200, `{"account_privacy":"private","pref-lang":"fr","time_zone":"Europe/Paris"}`)
		want(t, f.get(t, "watcher", prefs), 200, `{"account_privacy":"private","pref-lang":"fr","time_zone":"Europe/Paris"}`)
		if tz, lang := stored("time_zone"), stored("locale"); tz != "Europe/Paris" || lang != "fr" {
			t.Fatalf("stored time_zone %v, locale %v", tz, lang)
		}
		// The accounts API: pref-lang is the account's language; time_zone stays null, as
		// Open edX's accounts API answers it, and its PATCH ignores time_zone.
		r := f.get(t, "bob", bob)
		if !strings.Contains(r.Body, `"language":"fr"`) || !strings.Contains(r.Body, `"time_zone":null`) {
			t.Fatalf("bob's account: %s", r.Body)
		}
		want(t, f.patch(t, "bob", bob, `{"time_zone":"Asia/Tokyo"}`), 200, r.Body)
		if tz := stored("time_zone"); tz != "Europe/Paris" {
			t.Fatalf("an accounts PATCH changed time_zone to %v", tz)
		}
		// Roster's own API shows the attribute, to the owner.
		if r := f.get(t, "bob", "/v1/users/bob"); !strings.Contains(r.Body, `"time_zone":"Europe/Paris"`) {
			t.Fatalf("/v1/users/bob: %d %s", r.Status, r.Body)
		}

		// Open edX's messages for a zone it does not know; nothing saved.
		for _, bad := range []string{"Asia/Africa", "Local", "../../../etc/passwd", "europe/paris", "Europe/Paris/", strings.Repeat("A", 65)} {
			body, _ := json.Marshal(map[string]string{"time_zone": bad})
			want(t, f.patch(t, "bob", prefs, string(body)), 400, `{"field_errors":{"time_zone":{"developer_message":`+
				`"Value '`+bad+`' not valid for preference 'time_zone': Not in timezone set.",`+
				`"user_message":"Value '`+bad+`' is not a valid time zone selection."}}}`)
		}
		want(t, f.patch(t, "bob", prefs, `{"time_zone":5}`), 400, `{"field_errors":{"time_zone":{"developer_message":`+
			`"Value '5' not valid for preference 'time_zone': Not in timezone set.","user_message":"Value '5' is not a valid time zone selection."}}}`)
		// One good key and one bad: nothing is saved, whichever is bad.
		want(t, f.patch(t, "bob", prefs, `{"time_zone":"Europe/Berlin","pref-lang":" "}`), 400, `{"field_errors":{"pref-lang":{`+
			`"developer_message":"Preference 'pref-lang' cannot be set to an empty value.","user_message":"Preference 'pref-lang' cannot be set to an empty value."}}}`)
		want(t, f.patch(t, "bob", prefs, `{"time_zone":"Nowhere/Land","pref-lang":"de"}`), 400, `{"field_errors":{"time_zone":{"developer_message":`+
			`"Value 'Nowhere/Land' not valid for preference 'time_zone': Not in timezone set.","user_message":"Value 'Nowhere/Land' is not a valid time zone selection."}}}`)
		want(t, f.patch(t, "bob", prefs, `{"pref-lang":"`+strings.Repeat("x", 33)+`","account_privacy":"all_users"}`), 400, `{"field_errors":{"pref-lang":{"developer_message":`+
			`"Value '`+strings.Repeat("x", 33)+`' not valid for preference 'pref-lang': {'value': ['Ensure this field has no more than 32 characters.']}",`+
			`"user_message":"Value '`+strings.Repeat("x", 33)+`' is not valid for user preference 'pref-lang'."}}}`)
		want(t, f.get(t, "bob", prefs), 200, `{"account_privacy":"private","pref-lang":"fr","time_zone":"Europe/Paris"}`)

		// One key: time_zone has a route; pref-lang has none (Open edX's key pattern has
		// no dash), so the collection changes it.
		one := prefs + "/time_zone"
		auth := []string{"Authorization", "Bearer " + f.key["bob"]}
		want(t, f.get(t, "bob", one), 200, `"Europe/Paris"`)
		want(t, f.get(t, "bob", prefs+"/pref-lang"), 404, "")
		want(t, e.Do(t, "PUT", one, `"America/New_York"`, append(auth, "Content-Type", "application/json")...), 204, "")
		want(t, f.get(t, "bob", one), 200, `"America/New_York"`)
		want(t, e.Do(t, "PUT", one, `"Mars/Olympus_Mons"`, append(auth, "Content-Type", "application/json")...), 400,
			`{"developer_message":"Value 'Mars/Olympus_Mons' not valid for preference 'time_zone': Not in timezone set.","user_message":"Value 'Mars/Olympus_Mons' is not a valid time zone selection."}`)
		want(t, f.get(t, "bob", one), 200, `"America/New_York"`)
		want(t, e.Do(t, "DELETE", one, "", auth...), 204, "")
		want(t, f.get(t, "bob", one), 404, "")
		want(t, e.Do(t, "DELETE", one, "", auth...), 404, "")
		// null deletes, in the collection too.
		want(t, f.patch(t, "bob", prefs, `{"pref-lang":null}`), 204, "")
		want(t, f.get(t, "bob", prefs), 200, `{"account_privacy":"private"}`)
		if r := f.get(t, "bob", bob); !strings.Contains(r.Body, `"language":null`) {
			t.Fatalf("language after deleting pref-lang: %s", r.Body)
		}
		// Another user changes none of it.
		want(t, f.patch(t, "alice", prefs, `{"time_zone":"UTC"}`), 403, `{"detail":"You do not have permission to perform this action."}`)
		// A surface that hides the attribute neither lists nor takes the preference (the
		// core's refusal, as for the accounts API).
		want(t, f.patch(t, "bob", prefs, `{"time_zone":"UTC"}`), 204, "")
		if _, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingSurfaces, `{"openedx": {"hide": ["time_zone"]}}`); err != nil {
			t.Fatal(err)
		}
		want(t, f.get(t, "bob", prefs), 200, `{"account_privacy":"private"}`)
		want(t, f.patch(t, "bob", prefs, `{"time_zone":"Europe/Rome"}`), 403, `{"detail":"You do not have permission to perform this action."}`)
		if tz := stored("time_zone"); tz != "UTC" {
			t.Fatalf("a hidden time_zone became %v", tz)
		}
	})
}

// TestSessionAndCSRF: the micro-frontends' way: the session cookie, the CSRF token from
// /csrf/api/v1/token, sent back in X-CSRFToken.
func TestSessionAndCSRF(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		newFixture(t, e)
		r := e.Do(t, "POST", "/v1/session", `{"username": "bob", "password": "bob password 1"}`, "Content-Type", "application/json")
		var cookie string
		for _, c := range r.Header["Set-Cookie"] {
			if strings.HasPrefix(c, "roster_session=") {
				cookie = strings.SplitN(c, ";", 2)[0]
			}
		}
		if cookie == "" {
			t.Fatalf("no session: %d %v", r.Status, r.Header)
		}
		r = e.Do(t, "GET", "/csrf/api/v1/token", "", "Cookie", cookie)
		var tok struct{ CSRFToken string }
		if err := json.Unmarshal([]byte(r.Body), &tok); err != nil || r.Status != 200 || tok.CSRFToken == "" {
			t.Fatalf("csrf token: %d %s", r.Status, r.Body)
		}
		bob := "/api/user/v1/accounts/bob"
		want(t, e.Do(t, "PATCH", bob, `{"bio": "From the MFE"}`, "Cookie", cookie, "Content-Type", "application/merge-patch+json"), 403,
			`{"detail":"CSRF Failed: CSRF token missing or incorrect."}`)
		r = e.Do(t, "PATCH", bob, `{"bio": "From the MFE"}`, "Cookie", cookie, "Content-Type", "application/merge-patch+json", "X-CSRFToken", tok.CSRFToken)
		if r.Status != 200 || !strings.Contains(r.Body, `"bio":"From the MFE"`) {
			t.Fatalf("PATCH with the token: %d %s", r.Status, r.Body)
		}
		// Without a session the endpoint still answers, as Open edX's does.
		if r := e.Do(t, "GET", "/csrf/api/v1/token", ""); r.Status != 200 || !strings.HasPrefix(r.Body, `{"csrfToken":"`) {
			t.Fatalf("anonymous csrf token: %d %s", r.Status, r.Body)
		}
	})
}
