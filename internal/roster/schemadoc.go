package roster

import (
	"fmt"
	"strings"
)

// MarkdownTable renders the schema as the attribute table of docs/accounts.md.
func (s *Schema) MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| attribute | type | storage | read | write | validation | lists | ckan | openedx | pybossa | brainstem | redcap |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, a := range s.attrs {
		var v []string
		if a.Required {
			v = append(v, "required")
		}
		if a.Format != "" {
			v = append(v, a.Format)
		}
		if a.MinLength > 0 {
			v = append(v, fmt.Sprintf("min %d", a.MinLength))
		}
		if a.MaxLength > 0 {
			v = append(v, fmt.Sprintf("max %d", a.MaxLength))
		}
		if len(a.Enum) > 0 {
			v = append(v, strings.Join(a.Enum, "/"))
		}
		if a.Default != nil {
			v = append(v, fmt.Sprintf("default %v", a.Default))
		}
		names := make([]string, len(Dialects))
		for i, d := range Dialects {
			if w := a.WireName(d); w != "" {
				names[i] = "`" + w + "`"
			}
		}
		read := a.Read.String()
		for _, au := range a.Audiences {
			read += " + " + au
		}
		var lists []string
		if len(a.Filter) > 0 {
			ls := make([]string, len(a.Filter))
			for i, l := range a.Filter {
				ls[i] = string(l)
			}
			lists = append(lists, "filter "+strings.Join(ls, "/"))
		}
		if a.Sort {
			lists = append(lists, "sort")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", a.Name, a.Type, a.Storage, read, a.Write,
			strings.Join(v, ", "), strings.Join(lists, "; "), strings.Join(names, " | "))
	}
	return b.String()
}
