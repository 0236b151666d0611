package openedx

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

// FuzzTranslatePatch feeds Open edX PATCH bodies to the translation into a canonical
// patch: no input may panic, every key of the patch is an attribute the PATCH may act on,
// every error names a field that was sent, and the errors render as JSON.
func FuzzTranslatePatch(f *testing.F) {
	for _, seed := range []string{
		`{"bio": "x", "country": "CA"}`,
		`{"language_proficiencies": [{"code": "en"}, {"code": "fr"}]}`,
		`{"language_proficiencies": "not_a_list"}`,
		`{"language_proficiencies": ["x", {}, {"code": 3}]}`,
		`{"social_links": [{"platform": "x", "social_link": ""}, {"platform": "facebook", "social_link": "https://www.facebook.com/a/"}]}`,
		`{"social_links": [{"platform": "x"}, {"platform": "x"}]}`,
		`{"social_links": {"x": "a"}}`,
		`{"account_privacy": "", "phone_number": null, "username": "u", "year_of_birth": 1990.5}`,
		`{"name": "ȻħȺɍłɇs", "foo": {"a": [1, 2, {"b": null}]}}`,
	} {
		f.Add(seed)
	}
	sch, err := roster.LoadSchema()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in map[string]any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&in) != nil {
			return
		}
		patch, sent, errs := translatePatch(sch, in)
		for k := range patch {
			attr := sch.Attr(k)
			if attr == nil || !writableKeys[attr.WireName(roster.ViaOpenEdX)] {
				t.Fatalf("the patch sets %q", k)
			}
			if _, ok := sent[k]; !ok {
				t.Fatalf("%q patched but not recorded as sent", k)
			}
		}
		for _, k := range errs.keys {
			if _, ok := in[k]; !ok {
				t.Fatalf("an error for %q, which was not sent", k)
			}
		}
		if _, err := marshal(errs.body()); err != nil {
			t.Fatal(err)
		}
		for _, v := range in {
			_ = pyRepr(v)
		}
	})
}
