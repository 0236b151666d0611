package brainstem

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

// Page sizes: dynamic-rest's (and the seed's clients'): 20 by default, at most 100. A
// larger limit is cut to 100 and one that is not a positive number is the default, as
// Django REST framework's LimitOffsetPagination does.
const (
	defaultLimit = 20
	maxLimit     = 100
	// maxPage bounds page, so that page × per_page stays a number.
	maxPage = 1 << 40
)

// listQuery is a list request in the core's terms.
type listQuery struct {
	filters       []roster.FieldFilter
	sorts         []roster.SortBy // by canonical attribute, in order; none orders by id
	limit, offset int
}

func (q listQuery) filter() roster.AccountFilter {
	f := roster.AccountFilter{Fields: q.filters, Limit: q.limit, Offset: q.offset, WantTotal: true}
	if len(q.sorts) > 0 {
		f.Sort, f.Desc, f.Then = q.sorts[0].Sort, q.sorts[0].Desc, q.sorts[1:]
	}
	return f
}

// queryError is a refused query parameter: BrainSTEM's 400
// {"error": "Invalid filter parameter", "detail": "Field 'x' does not exist on model 'User'"}.
type queryError struct {
	param  string // "filter" or "sort"
	detail string
}

func noField(param, field string) *queryError {
	return &queryError{param, "Field '" + field + "' does not exist on model 'User'"}
}

// lookups are dynamic-rest's lookups that Roster's lists know. Its "contains" (case
// sensitive) is not one of them: Roster compares text without regard to case or exactly.
var lookups = []roster.Lookup{roster.Exact, roster.IExact, roster.StartsWith, roster.IStartsWith, roster.EndsWith,
	roster.IEndsWith, roster.IContains, roster.GT, roster.GTE, roster.LT, roster.LTE, roster.In, roster.Range, roster.IsNull}

// parseListQuery reads dynamic-rest's query syntax, by BrainSTEM's field names:
// filter{field}, filter{field.lookup} and filter{-field…} (negated), sort[] (each key
// orders the ties of those before it; id breaks the ties left), limit and offset (or page and per_page), and
// include[], exclude[] and format, which are accepted and change nothing. Any other
// parameter is ignored, as Django ignores it. Keys are read in order, so the first
// refusal is the same whatever the order of the query.
func parseListQuery(q url.Values, sch *roster.Schema) (listQuery, *queryError) {
	out := listQuery{limit: defaultLimit}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		inner, ok := strings.CutPrefix(k, "filter{")
		if !ok {
			continue
		}
		inner, ok = strings.CutSuffix(inner, "}")
		if !ok {
			return out, noField("filter", strings.TrimPrefix(k, "filter{"))
		}
		ff, qe := parseFilter(inner, q[k], sch)
		if qe != nil {
			return out, qe
		}
		out.filters = append(out.filters, ff)
	}
	sorts := append(slices.Clone(q["sort[]"]), q["sort"]...)
	for _, s := range sorts {
		for _, s := range strings.Split(s, ",") {
			desc := strings.HasPrefix(s, "-")
			name := strings.TrimPrefix(s, "-")
			if name == "" {
				continue
			}
			a := sch.ByWireName(roster.ViaBrainSTEM, name)
			if a == nil {
				return out, noField("sort", name)
			}
			if !a.Sort {
				return out, &queryError{"sort", "Field '" + name + "' cannot be sorted"}
			}
			out.sorts = append(out.sorts, roster.SortBy{Sort: roster.AccountSort(a.Name), Desc: desc})
		}
	}
	limitKey, offsetKey := "limit", "offset"
	if !q.Has("limit") && q.Has("per_page") {
		limitKey = "per_page"
	}
	if n, ok := positive(q.Get(limitKey), true); ok {
		out.limit = min(n, maxLimit)
	}
	if n, ok := positive(q.Get(offsetKey), false); ok {
		out.offset = n
	} else if p, ok := positive(q.Get("page"), true); ok && !q.Has("offset") && p <= maxPage {
		out.offset = (p - 1) * out.limit
	}
	return out, nil
}

// parseFilter reads one filter{…} key and its values.
func parseFilter(inner string, values []string, sch *roster.Schema) (roster.FieldFilter, *queryError) {
	ff := roster.FieldFilter{Lookup: roster.Exact}
	inner, ff.Not = strings.CutPrefix(inner, "-")
	name, lookup, hasLookup := strings.Cut(inner, ".")
	if hasLookup {
		ff.Lookup = roster.Lookup(lookup)
		if !slices.Contains(lookups, ff.Lookup) {
			if lookup == "contains" {
				return ff, &queryError{"filter", "Lookup 'contains' is not supported for field '" + name + "': use icontains"}
			}
			return ff, noField("filter", inner) // dynamic-rest reads it as a relation
		}
	}
	a := sch.ByWireName(roster.ViaBrainSTEM, name)
	if a == nil {
		return ff, noField("filter", name)
	}
	if !slices.Contains(a.Filter, ff.Lookup) {
		return ff, &queryError{"filter", "Lookup '" + string(ff.Lookup) + "' is not supported for field '" + name + "'"}
	}
	ff.Attr = a.Name
	switch ff.Lookup {
	case roster.In, roster.Range:
		for _, v := range values {
			ff.Values = append(ff.Values, strings.Split(v, ",")...)
		}
	default:
		ff.Values = []string{values[len(values)-1]}
	}
	return ff, nil
}

// positive reads a count as Django REST framework's positive_int does: a whole number,
// not negative, and with strict not 0 either.
func positive(s string, strict bool) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || strict && n == 0 {
		return 0, false
	}
	return n, true
}
