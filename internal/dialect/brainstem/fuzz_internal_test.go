package brainstem

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

// FuzzParseListQuery: whatever the query string, the parser neither panics nor hands the
// core anything but a field with a BrainSTEM name, one of the lookups its schema entry
// declares, and a page of 1 to 100 users at an offset that is not negative; a refusal
// says which parameter it refuses.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"", "filter{email.icontains}=a%20b&filter{first_name}=Pe&sort[]=-last_name&sort[]=email&include[]=groups.*",
		"filter%7Bfirst_name.icontains%7D=pe&sort%5B%5D=-id&include%5B%5D=groups.%2A&limit=5&offset=10",
		"filter{-id.in}=1,2,3&filter{id.range}=1,9&filter{orcid_id.isnull}=true", "filter{groups.name}=x",
		"filter{email.contains}=x", "filter{=1", "filter{}=", "filter{-}=x", "filter{.exact}=x", "sort[]=--id",
		"limit=0&offset=-1", "limit=99999999999999999999&page=3", "per_page=7&page=1099511627777", "filter{id.in}=",
	} {
		f.Add(s)
	}
	sch, err := roster.LoadSchema()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, qe := parseListQuery(q, sch)
		if qe != nil {
			if qe.param != "filter" && qe.param != "sort" || qe.detail == "" {
				t.Fatalf("%q: refusal %+v", raw, qe)
			}
			return
		}
		if lq.limit < 1 || lq.limit > maxLimit || lq.offset < 0 {
			t.Fatalf("%q: limit %d offset %d", raw, lq.limit, lq.offset)
		}
		for _, ff := range lq.filters {
			a := sch.Attr(ff.Attr)
			if a == nil || a.Names[roster.ViaBrainSTEM] == "" || !slices.Contains(a.Filter, ff.Lookup) {
				t.Fatalf("%q: filter %+v", raw, ff)
			}
			if len(ff.Values) == 0 {
				t.Fatalf("%q: filter without a value %+v", raw, ff)
			}
		}
		for _, by := range lq.sorts {
			if a := sch.Attr(string(by.Sort)); a == nil || !a.Sort || a.Names[roster.ViaBrainSTEM] == "" {
				t.Fatalf("%q: sort %q", raw, by.Sort)
			}
		}
		if strings.Contains(raw, "contains}") && !strings.Contains(raw, "icontains}") && strings.Contains(raw, "filter{") && len(lq.filters) > 0 {
			for _, ff := range lq.filters {
				if ff.Lookup == "contains" {
					t.Fatalf("%q: contains reached the core", raw)
				}
			}
		}
	})
}
