package redcap

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// A cell is one key and value of an exported row. REDCap's exports mix value types:
// rights are numbers in user exports and strings in role exports, and form rights are a
// map; the formats write each kind their own way.
type cell struct {
	key   string
	kind  byte // 's' string, 'i' integer, 'f' form rights
	s     string
	n     int
	forms []roster.FormRight
}

func str(key, s string) cell     { return cell{key: key, kind: 's', s: s} }
func num(key string, n int) cell { return cell{key: key, kind: 'i', n: n} }

// table writes rows in one of REDCap's formats as they come, so an export of any size
// takes constant memory (an httpx.Stream). Nothing is written before the first row or
// end, so an error before then can still be answered with an error status.
type table struct {
	stream httpx.Stream
	format string
	// xmlRoot wraps the rows; cdata writes XML values in CDATA sections (REDCap does for
	// mappings, DAGs and project settings, not for users and roles).
	xmlRoot string
	cdata   bool
	// single: the export is one object, not a list (project settings).
	single bool
	// emptyCSV is the CSV body when there are no rows (some exports still have a header).
	emptyCSV string
	rows     int
	header   []string
	line     bytes.Buffer
}

func newTable(w http.ResponseWriter, format, xmlRoot string, cdata bool) *table {
	return &table{stream: httpx.Stream{W: w, ContentType: contentTypes[format]}, format: format, xmlRoot: xmlRoot, cdata: cdata}
}

// frame sets the stream's head, separator and tail, once the export has said whether
// it is one object or a list.
func (t *table) frame() {
	s := &t.stream
	switch t.format {
	case "json":
		if !t.single {
			s.Head, s.Sep, s.Tail = "[", ",", "]"
		}
	case "xml":
		s.Head, s.Tail = `<?xml version="1.0" encoding="UTF-8" ?>`+"\n<"+t.xmlRoot+">", "</"+t.xmlRoot+">\n"
		if !t.single {
			s.Head, s.Tail = s.Head+"\n", "\n"+s.Tail
		}
	case "csv":
		s.Empty = t.emptyCSV
	}
}

// row writes one row.
func (t *table) row(cells []cell) error {
	if !t.stream.Started() {
		t.frame()
	}
	b := &t.line
	b.Reset()
	switch t.format {
	case "json":
		b.WriteByte('{')
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(',')
			}
			appendJSONString(b, c.key)
			b.WriteByte(':')
			switch c.kind {
			case 'i':
				b.WriteString(strconv.Itoa(c.n))
			case 'f':
				appendJSONForms(b, c.forms)
			default:
				appendJSONString(b, c.s)
			}
		}
		b.WriteByte('}')
	case "csv":
		if t.rows == 0 {
			for i, c := range cells {
				if i > 0 {
					b.WriteByte(',')
				}
				appendCSV(b, c.key, false)
				t.header = append(t.header, c.key)
			}
			b.WriteByte('\n')
		}
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(',')
			}
			switch c.kind {
			case 'i':
				b.WriteString(strconv.Itoa(c.n))
			case 'f':
				appendCSV(b, roster.EncodeFormRights(c.forms), true)
			default:
				appendCSV(b, c.s, true)
			}
		}
		b.WriteByte('\n')
	default:
		if !t.single {
			b.WriteString("<item>")
		}
		for _, c := range cells {
			b.WriteByte('<')
			b.WriteString(c.key)
			b.WriteByte('>')
			switch c.kind {
			case 'i':
				t.xmlText(b, strconv.Itoa(c.n))
			case 'f':
				for _, f := range c.forms {
					b.WriteByte('<')
					b.WriteString(f.Form)
					b.WriteByte('>')
					b.WriteString(strconv.Itoa(f.Value))
					b.WriteString("</")
					b.WriteString(f.Form)
					b.WriteByte('>')
				}
			default:
				t.xmlText(b, c.s)
			}
			b.WriteString("</")
			b.WriteString(c.key)
			b.WriteByte('>')
		}
		if !t.single {
			b.WriteString("</item>")
		}
	}
	t.rows++
	return t.stream.Item(b.Bytes())
}

func (t *table) xmlText(b *bytes.Buffer, s string) {
	if t.cdata {
		b.WriteString("<![CDATA[")
		b.WriteString(strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>"))
		b.WriteString("]]>")
		return
	}
	appendXMLEscaped(b, s)
}

// end finishes the body: err is how producing the rows ended (see httpx.Stream.End).
func (t *table) end(err error) error {
	if !t.stream.Started() {
		t.frame()
	}
	return t.stream.End(err)
}

// started reports whether the response has begun.
func (t *table) started() bool { return t.stream.Started() }

// appendCSV writes a CSV field as REDCap does: quoted only when it holds a comma, a
// quote, a line break, a tab or a space; and, for values, guarded against spreadsheet
// formulas (roster.GuardCSVCell).
func appendCSV(b *bytes.Buffer, s string, value bool) {
	if value {
		s = roster.GuardCSVCell(s)
	}
	if !strings.ContainsAny(s, ",\"\n\r\t ") {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(s, `"`, `""`))
	b.WriteByte('"')
}

// appendJSONString writes s as PHP's json_encode does: / escaped, and everything beyond
// ASCII as \u escapes (UTF-16).
func appendJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\', '/':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				if c < 0x20 {
					b.WriteString(`\u00`)
					b.WriteByte(hex[c>>4])
					b.WriteByte(hex[c&0xf])
				} else {
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		write := func(u rune) {
			b.WriteString(`\u`)
			b.WriteByte(hex[u>>12&0xf])
			b.WriteByte(hex[u>>8&0xf])
			b.WriteByte(hex[u>>4&0xf])
			b.WriteByte(hex[u&0xf])
		}
		if r >= 0x10000 {
			r -= 0x10000
			write(0xd800 + r>>10)
			write(0xdc00 + r&0x3ff)
		} else {
			write(r)
		}
	}
	b.WriteByte('"')
}

// appendJSONForms writes form rights as an object, or [] when there are none (PHP's
// empty array).
func appendJSONForms(b *bytes.Buffer, forms []roster.FormRight) {
	if len(forms) == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteByte('{')
	for i, f := range forms {
		if i > 0 {
			b.WriteByte(',')
		}
		appendJSONString(b, f.Form)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Value))
	}
	b.WriteByte('}')
}

func appendXMLEscaped(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
}
