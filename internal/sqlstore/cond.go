package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/roster"
)

// JSONSyntax is how an engine reads one key of the profile document (a.profile) in SQL.
// Keys are attribute names ([a-z][a-z0-9_]*), so they are written into the SQL as they
// are. Each function returns an expression that is NULL when the key is absent or holds
// a value of another type.
type JSONSyntax struct {
	Text   func(key string) string
	Number func(key string) string
	Bool   func(key string) string
	// Time is the instant as the engine's bound time parameters compare (SQLite: integer
	// microseconds; PostgreSQL: timestamptz).
	Time func(key string) string
	// Holds is true when the list under key holds the value of placeholder ph.
	Holds func(key, ph string) string
}

// attrSQL is how one attribute reads in SQL.
type attrSQL struct {
	expr string // its value
	// fold is the value case-folded: a column kept folded by Roster (username_key…) or
	// lower() of expr.
	fold string
	// empty is what the store holds for "no value" when it is not NULL: '' for text
	// columns, the zero time for time columns.
	empty any
	// ordered: fold is a column kept folded and indexed in byte order (SQLite's BINARY
	// collation, PostgreSQL's "C"), so a prefix of it is a range of its index.
	ordered bool
}

// columnAttrs are the attributes stored in columns of accounts.
var columnAttrs = map[string]attrSQL{
	"id":         {expr: "a.id"},
	"uuid":       {expr: "a.uuid", fold: "a.uuid", ordered: true},
	"username":   {expr: "a.username", fold: "a.username_key", ordered: true},
	"email":      {expr: "a.email", fold: "a.email_key", ordered: true},
	"name":       {expr: "a.name", fold: "a.name_key", empty: "", ordered: true},
	"first_name": {expr: "a.first_name", empty: ""},
	"last_name":  {expr: "a.last_name", empty: ""},
	"state":      {expr: "a.state"},
	"sysadmin":   {expr: "a.sysadmin"},
	"staff":      {expr: "a.staff"},
	"created":    {expr: "a.created_at", empty: zeroTime},
	"updated":    {expr: "a.updated_at", empty: zeroTime},
	"last_login": {expr: "a.last_login_at", empty: zeroTime},
}

// attr returns how an attribute reads in SQL. A profile attribute without a value reads
// as its default.
func (q *q) attr(at *roster.Attribute) (attrSQL, error) {
	switch at.Storage {
	case roster.StoreColumn:
		s, ok := columnAttrs[at.Name]
		if !ok {
			return s, fmt.Errorf("no column for attribute %q", at.Name)
		}
		if s.fold == "" {
			s.fold = "lower(" + s.expr + ")"
		}
		return s, nil
	case roster.StoreProfile:
		j := q.e.JSON
		var expr string
		switch at.Type {
		case roster.TypeString, roster.TypeText:
			expr = j.Text(at.Name)
		case roster.TypeInt:
			expr = j.Number(at.Name)
		case roster.TypeBool:
			expr = j.Bool(at.Name)
		case roster.TypeTime:
			expr = j.Time(at.Name)
		default:
			return attrSQL{}, fmt.Errorf("attribute %q of type %s cannot be compared", at.Name, at.Type)
		}
		if at.Default != nil {
			// A literal, not a parameter: the expression may appear several times in
			// one statement, and a ? placeholder binds once.
			lit, err := sqlLiteral(at.Default)
			if err != nil {
				return attrSQL{}, fmt.Errorf("attribute %q: default: %w", at.Name, err)
			}
			expr = "COALESCE(" + expr + ", " + lit + ")"
		}
		return attrSQL{expr: expr, fold: "lower(" + expr + ")"}, nil
	}
	return attrSQL{}, fmt.Errorf("attribute %q (storage %s) cannot be compared", at.Name, at.Storage)
}

// sqlLiteral writes a schema default (a string, a number or a boolean) as SQL.
func sqlLiteral(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case bool:
		if x {
			return "TRUE", nil
		}
		return "FALSE", nil
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err != nil {
			return "", err
		}
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("no SQL literal for %T", v)
}

// bindValue converts a compared value into what the drivers bind.
func bindValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return dbTime(x)
	case int:
		return int64(x)
	}
	return v
}

// cond writes c as SQL; "" means it always holds.
func (q *q) cond(c roster.Cond, a *args) (string, error) {
	switch x := c.(type) {
	case nil:
		return "", nil
	case roster.Never:
		return "1 = 0", nil
	case roster.All, roster.AnyOf:
		parts, join := []roster.Cond(nil), " AND "
		if all, ok := x.(roster.All); ok {
			parts = all
		} else {
			parts, join = x.(roster.AnyOf), " OR "
		}
		var out []string
		for _, p := range parts {
			s, err := q.cond(p, a)
			if err != nil {
				return "", err
			}
			if s == "" {
				if join == " OR " {
					return "", nil
				}
				continue
			}
			out = append(out, "("+s+")")
		}
		if len(out) == 0 {
			if join == " OR " {
				return "1 = 0", nil
			}
			return "", nil
		}
		return strings.Join(out, join), nil
	case roster.Not:
		s, err := q.cond(x.C, a)
		if err != nil || s == "" {
			return "1 = 0", err
		}
		return "NOT (" + s + ")", nil
	case roster.IsAccount:
		return "a.id = " + a.add(x.ID), nil
	case roster.MemberOf:
		var places []string
		for _, pl := range x.Places {
			c := "pm.project_id = " + a.add(pl.ProjectID)
			if pl.DAGID != 0 {
				c += " AND pm.dag_id = " + a.add(pl.DAGID)
			}
			places = append(places, "("+c+")")
		}
		in := ""
		if len(places) > 0 {
			in = " AND (" + strings.Join(places, " OR ") + ")"
		}
		return "EXISTS (SELECT 1 FROM project_members pm WHERE pm.username = a.username_key" + in + ")", nil
	case roster.Holds:
		if x.Attr.Storage != roster.StoreProfile || x.Attr.Type != roster.TypeList {
			return "", fmt.Errorf("attribute %q is not a list", x.Attr.Name)
		}
		return "COALESCE(" + q.e.JSON.Holds(x.Attr.Name, a.add(x.Value)) + ", FALSE)", nil
	case roster.Match:
		return q.match(x, a)
	}
	return "", fmt.Errorf("unknown condition %T", c)
}

func (q *q) match(m roster.Match, a *args) (string, error) {
	if m.Attr.Storage == roster.StoreCapability {
		on, ok := m.Value.(bool)
		if m.Lookup != roster.Exact || !ok {
			return "", fmt.Errorf("capability %q: only exact true or false", m.Attr.Name)
		}
		held := "(',' || a.capabilities || ',') LIKE " + a.add("%,"+escapeLike(m.Attr.Name)+",%") + ` ESCAPE '\'`
		if !on {
			held = "NOT " + held
		}
		return held, nil
	}
	s, err := q.attr(m.Attr)
	if err != nil {
		return "", err
	}
	text := func() (string, error) {
		v, ok := m.Value.(string)
		if !ok {
			return "", fmt.Errorf("%s on %q needs a string", m.Lookup, m.Attr.Name)
		}
		return v, nil
	}
	like := func(pattern string) string { return s.fold + " LIKE " + a.add(pattern) + ` ESCAPE '\'` }
	switch m.Lookup {
	case roster.Exact:
		return s.expr + " = " + a.add(bindValue(m.Value)), nil
	case roster.IExact:
		v, err := text()
		return s.fold + " = " + a.add(strings.ToLower(v)), err
	case roster.IContains:
		v, err := text()
		return like("%" + escapeLike(strings.ToLower(v)) + "%"), err
	case roster.IStartsWith:
		v, err := text()
		if err != nil {
			return "", err
		}
		p := strings.ToLower(v)
		if end, ok := prefixEnd(p); ok && s.ordered {
			// A range of the folded key rather than LIKE: SQLite reads LIKE from an index
			// only with a NOCASE collation, and PostgreSQL only in a plan made for the
			// value, not in the generic plan a cached statement switches to, where the
			// count of a prefix then scanned the table. The key holds no upper case, so
			// the range selects what LIKE did.
			return s.fold + " >= " + a.add(p) + " AND " + s.fold + " < " + a.add(end), nil
		}
		return like(escapeLike(p) + "%"), nil
	case roster.IEndsWith:
		v, err := text()
		return like("%" + escapeLike(strings.ToLower(v))), err
	case roster.StartsWith, roster.EndsWith:
		// LIKE folds ASCII case on SQLite; compare the exact characters instead.
		v, err := text()
		if err != nil {
			return "", err
		}
		runes := int64(len([]rune(v)))
		if m.Lookup == roster.StartsWith {
			return "substr(" + s.expr + ", 1, CAST(" + a.add(runes) + " AS INTEGER)) = " + a.add(v), nil
		}
		return "length(" + s.expr + ") >= " + a.add(runes) + " AND substr(" + s.expr + ", CAST(length(" + s.expr + ") - " +
			a.add(runes) + " + 1 AS INTEGER)) = " + a.add(v), nil
	case roster.GT, roster.GTE, roster.LT, roster.LTE:
		op := map[roster.Lookup]string{roster.GT: ">", roster.GTE: ">=", roster.LT: "<", roster.LTE: "<="}[m.Lookup]
		return s.expr + " " + op + " " + a.add(bindValue(m.Value)), nil
	case roster.Range:
		vs, ok := m.Value.([]any)
		if !ok || len(vs) != 2 {
			return "", fmt.Errorf("range on %q needs two values", m.Attr.Name)
		}
		return s.expr + " >= " + a.add(bindValue(vs[0])) + " AND " + s.expr + " <= " + a.add(bindValue(vs[1])), nil
	case roster.In, roster.IIn:
		vs, ok := m.Value.([]any)
		if !ok {
			return "", fmt.Errorf("%s on %q needs a list", m.Lookup, m.Attr.Name)
		}
		if len(vs) == 0 {
			return "1 = 0", nil
		}
		col := s.expr
		if m.Lookup == roster.IIn {
			col = s.fold
		}
		ph := make([]string, len(vs))
		for i, v := range vs {
			if m.Lookup == roster.IIn {
				str, _ := v.(string)
				v = strings.ToLower(str)
			}
			ph[i] = a.add(bindValue(v))
		}
		return col + " IN (" + strings.Join(ph, ",") + ")", nil
	case roster.IsNull:
		null, _ := m.Value.(bool)
		var is string
		if s.empty != nil {
			is = s.expr + " = " + a.add(bindValue(s.empty))
		} else {
			is = s.expr + " IS NULL"
		}
		if !null {
			return "NOT (" + is + ")", nil
		}
		return is, nil
	}
	return "", fmt.Errorf("unknown lookup %q", m.Lookup)
}

// prefixEnd is the least string greater than every string that starts with p, in byte
// order (which UTF-8 keeps as code point order): p with its last code point increased,
// past any at the greatest code point. ok is false when there is none (p is empty, or
// is not UTF-8, or is all greatest code points).
func prefixEnd(p string) (string, bool) {
	if !utf8.ValidString(p) {
		return "", false
	}
	rs := []rune(p)
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i] + 1
		if r > utf8.MaxRune {
			continue
		}
		if r >= 0xD800 && r <= 0xDFFF { // surrogates are no code points of UTF-8
			r = 0xE000
		}
		rs[i] = r
		return string(rs[:i+1]), true
	}
	return "", false
}
