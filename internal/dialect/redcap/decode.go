package redcap

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// An import's data is read one record at a time, whatever its format, so a file of any
// size is parsed as the core applies it.

// field is one key of a record: a text value, or (form rights in JSON and XML) a nested
// list of keys and values.
type field struct {
	key    string
	value  string
	nested []field
	isMap  bool // nested: a JSON object or list, or XML child elements
	isList bool // a JSON list
	isXML  bool // nested XML elements, shown as markup
	typed  bool // a JSON number or boolean, not text
	null   bool // JSON's null
	// shown is a number's or boolean's text as sent, for messages.
	shown string
}

// sent is the field's value as the client sent it. A nested value is written out only
// when a message asks for it: writing each level's text as it was read copied every
// inner level again at each level above it, time and memory quadratic in the depth.
func (f *field) sent() string {
	switch {
	case f.isMap:
		var b strings.Builder
		f.writeNested(&b)
		return b.String()
	case f.shown != "":
		return f.shown
	}
	return f.value
}

// writeNested writes a nested value as it was sent: XML child elements as markup, a
// JSON object or list as JSON.
func (f *field) writeNested(b *strings.Builder) {
	if f.isXML {
		for i := range f.nested {
			n := &f.nested[i]
			b.WriteString("<" + n.key + ">")
			if n.isMap {
				n.writeNested(b)
			} else {
				b.WriteString(n.value)
			}
			b.WriteString("</" + n.key + ">")
		}
		return
	}
	open, end := byte('{'), byte('}')
	if f.isList {
		open, end = '[', ']'
	}
	b.WriteByte(open)
	for i := range f.nested {
		n := &f.nested[i]
		if i > 0 {
			b.WriteByte(',')
		}
		if !f.isList {
			k, _ := json.Marshal(n.key)
			b.Write(k)
			b.WriteByte(':')
		}
		n.writeJSON(b)
	}
	b.WriteByte(end)
}

// writeJSON writes a JSON value as it was sent, inside the list or object that holds it.
func (f *field) writeJSON(b *strings.Builder) {
	switch {
	case f.null:
		b.WriteString("null")
	case f.isMap:
		f.writeNested(b)
	case f.typed:
		b.WriteString(f.shown)
	default:
		q, _ := json.Marshal(f.value)
		b.Write(q)
	}
}

type record []field

func (r record) get(key string) (string, bool) {
	for _, f := range r {
		if f.key == key {
			return f.value, true
		}
	}
	return "", false
}

// recordReader yields records; io.EOF ends them.
type recordReader interface {
	next() (record, error)
}

func newRecordReader(format string, r io.Reader) (recordReader, error) {
	b := &recordBudget{r: r}
	b.reset()
	var rd recordReader
	switch format {
	case "json":
		jr, err := newJSONReader(b)
		if err != nil {
			return nil, b.refusal(err)
		}
		rd = jr
	case "csv":
		rd = newCSVReader(b)
	default:
		rd = newXMLReader(b)
	}
	return &budgeted{rd: rd, b: b}, nil
}

// MaxRecordBytes bounds one record of an import's data (a user, role, DAG or mapping,
// or CSV's header), as sent. Data is read a record at a time so that its size does not
// matter, but a record is held whole, as a tree of its values, several times its size:
// without a bound, one record could be the whole import. Real records are a few
// kilobytes; this is the form reader's bound on every field but data.
const MaxRecordBytes = httpx.MaxFieldBytes

// recordSlack is what the readers may have read ahead of the record they are in.
const recordSlack = 64 << 10

var errRecordTooLarge = errors.New("a record of the data is too large")

// recordBudget stops the data's reading once one record has read more than
// MaxRecordBytes of it, wherever the parser is.
type recordBudget struct {
	r        io.Reader
	left     int
	exceeded bool
}

func (b *recordBudget) reset() { b.left = MaxRecordBytes + recordSlack }

func (b *recordBudget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.exceeded = true
		return 0, errRecordTooLarge
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

// refusal is err, or the budget's refusal when the budget stopped the parser: a parser
// may word a failed read as a syntax error.
func (b *recordBudget) refusal(err error) error {
	if b.exceeded {
		return &roster.Error{Code: roster.ETOOLARGE,
			Message: fmt.Sprintf("A record of the data is larger than %d bytes, more than this server accepts.", MaxRecordBytes)}
	}
	return err
}

// budgeted gives each record a fresh budget.
type budgeted struct {
	rd recordReader
	b  *recordBudget
}

func (r *budgeted) next() (record, error) {
	r.b.reset()
	rec, err := r.rd.next()
	if err != nil && err != io.EOF {
		return nil, r.b.refusal(err)
	}
	return rec, err
}

// Nesting limits, as REDCap's parsers have them: PHP's json_decode refuses lists and
// objects nested deeper than 512, libxml2 elements deeper than 256. The readers recurse
// per level, so without a limit a few megabytes of "[" or "<a>" exhaust the goroutine's
// stack, which Go cannot recover from: the whole server would exit.
const (
	maxJSONDepth = 512
	maxXMLDepth  = 256
)

var errJSONDepth = errors.New("nested too deeply")

func jsonDataError(err error) error {
	if errors.Is(err, errJSONDepth) {
		return badRequest("The data being imported is not formatted correctly. PHP error from JSON decoder: Maximum stack depth exceeded. The JSON must be in an array, as in [{ ... }].")
	}
	if errors.Is(err, errInvalidUTF8) {
		return badRequest("The data being imported is not formatted correctly. PHP error from JSON decoder: Malformed UTF-8 characters, possibly incorrectly encoded. The JSON must be in an array, as in [{ ... }].")
	}
	return badRequest("The data being imported is not formatted correctly. PHP error from JSON decoder: Syntax error. The JSON must be in an array, as in [{ ... }].")
}

type jsonReader struct {
	d *json.Decoder
}

func newJSONReader(r io.Reader) (*jsonReader, error) {
	// PHP's json_decode refuses invalid UTF-8, where Go's decoder would replace it.
	br := bufio.NewReader(&validUTF8{r: r})
	// An empty data field is an empty list, as REDCap reads it.
	if _, err := br.Peek(1); err == io.EOF {
		return &jsonReader{}, nil
	}
	d := json.NewDecoder(br)
	d.UseNumber()
	t, err := d.Token()
	if err != nil || t != json.Delim('[') {
		return nil, jsonDataError(err)
	}
	return &jsonReader{d: d}, nil
}

func (j *jsonReader) next() (record, error) {
	if j.d == nil {
		return nil, io.EOF
	}
	if !j.d.More() {
		if t, err := j.d.Token(); err != nil || t != json.Delim(']') {
			return nil, jsonDataError(err)
		}
		if _, err := j.d.Token(); err != io.EOF {
			return nil, jsonDataError(err)
		}
		j.d = nil
		return nil, io.EOF
	}
	t, err := j.d.Token()
	if err != nil || t != json.Delim('{') {
		return nil, jsonDataError(err)
	}
	rec, err := j.object(2)
	if err != nil {
		return nil, jsonDataError(err)
	}
	return rec, nil
}

// object reads an object's members after its opening brace, keeping their order. depth
// is the object's own: the list of records is 1.
func (j *jsonReader) object(depth int) (record, error) {
	var rec record
	for j.d.More() {
		t, err := j.d.Token()
		if err != nil {
			return nil, err
		}
		key, ok := t.(string)
		if !ok {
			return nil, errors.New("key")
		}
		f, err := j.value(depth + 1)
		if err != nil {
			return nil, err
		}
		f.key = key
		rec = append(rec, f)
	}
	_, err := j.d.Token() // }
	return rec, err
}

// value reads one value, a list or object being at depth. Scalars become text as PHP
// would read them (true is 1); objects and lists are nested, a list's items keyed by
// position.
func (j *jsonReader) value(depth int) (field, error) {
	t, err := j.d.Token()
	if err != nil {
		return field{}, err
	}
	switch t := t.(type) {
	case json.Delim:
		if depth > maxJSONDepth {
			return field{}, errJSONDepth
		}
		var f field
		switch t {
		case '{':
			rec, err := j.object(depth)
			if err != nil {
				return field{}, err
			}
			f.nested = rec
		case '[': // PHP writes an empty map as []
			f.isList = true
			for j.d.More() {
				item, err := j.value(depth + 1)
				if err != nil {
					return field{}, err
				}
				item.key = strconv.Itoa(len(f.nested))
				f.nested = append(f.nested, item)
			}
			if _, err := j.d.Token(); err != nil { // ]
				return field{}, err
			}
		default:
			return field{}, errors.New("delimiter")
		}
		if f.nested == nil {
			f.nested = []field{}
		}
		f.isMap = true
		return f, nil
	case json.Number:
		return field{value: t.String(), typed: true, shown: t.String()}, nil
	case string:
		return field{value: t}, nil
	case bool:
		if t {
			return field{value: "1", typed: true, shown: "true"}, nil
		}
		return field{value: "0", typed: true, shown: "false"}, nil
	}
	return field{null: true}, nil
}

type csvReader struct {
	r      *csv.Reader
	header []string
	// padded are the header's columns that a row too short to reach reads as empty:
	// of each column an import reads, its last (see csvPadded).
	padded []int
	done   bool
}

// csvPadded are the columns a CSV row too short to reach them reads as empty (a right
// left out so is 0): those some import reads (memberRow, mappingRow and dagRow, and the
// project service through them). A column no import reads is left out of such a row:
// padding every column cost each short row the header's width, whatever the row's own
// size, and a header of 20,000 names with a thousand rows of "s" (131 KB) held 1.25 GB.
var csvPadded = func() map[string]bool {
	m := map[string]bool{"username": true, "expiration": true, "data_access_group": true, "data_export": true,
		"role_label": true, "unique_role_name": true, "forms": true, "forms_export": true,
		"redcap_data_access_group": true, "data_access_group_name": true, "unique_group_name": true}
	for _, r := range roster.ProjectRights {
		m[r.Name] = true
	}
	return m
}()

func newCSVReader(r io.Reader) *csvReader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return &csvReader{r: cr}
}

func csvDataError(err error) error {
	return badRequest("The data being imported is not formatted correctly. Error: " + err.Error())
}

func (c *csvReader) next() (record, error) {
	if c.done {
		return nil, io.EOF
	}
	if c.header == nil {
		h, err := c.r.Read()
		if err == io.EOF {
			c.done = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, csvDataError(err)
		}
		for _, k := range h {
			c.header = append(c.header, strings.TrimSpace(k))
		}
		// A name given twice reads as its last column, as a map of the row does.
		last := map[string]int{}
		for i, k := range c.header {
			if csvPadded[k] {
				last[k] = i
			}
		}
		for _, i := range last {
			c.padded = append(c.padded, i)
		}
		slices.Sort(c.padded)
	}
	for {
		cells, err := c.r.Read()
		if err == io.EOF {
			c.done = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, csvDataError(err)
		}
		if len(cells) == 1 && strings.TrimSpace(cells[0]) == "" {
			continue // a blank line
		}
		n := min(len(cells), len(c.header))
		rec := make(record, 0, n+len(c.padded))
		for i, v := range cells[:n] {
			rec = append(rec, field{key: c.header[i], value: roster.UnguardCSVCell(v)})
		}
		for _, i := range c.padded {
			if i >= n {
				rec = append(rec, field{key: c.header[i]})
			}
		}
		return rec, nil
	}
}

// xmlReader reads <root><item><key>value</key>…</item>…</root>; a key whose content is
// elements (forms) is a nested record. The document must be well-formed: REDCap refuses
// what libxml cannot parse, and a lenient reader would import a guess at what a broken
// document meant. Only whitespace, comments and processing instructions may surround the
// root.
type xmlReader struct {
	d     *xml.Decoder
	root  bool // the root has begun
	ended bool // and ended
}

func newXMLReader(r io.Reader) *xmlReader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3) // a byte order mark is no part of the document
	}
	d := xml.NewDecoder(br)
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) { return input, nil }
	return &xmlReader{d: d}
}

func xmlDataError(err error) error {
	return badRequest("The data being imported is not formatted correctly. Error: " + err.Error())
}

func (x *xmlReader) next() (record, error) {
	for {
		line, _ := x.d.InputPos()
		t, err := x.d.Token()
		if err == io.EOF {
			if !x.root {
				return nil, xmlDataError(errors.New("no root element"))
			}
			return nil, io.EOF
		}
		if err != nil {
			return nil, xmlDataError(err)
		}
		outside := func(what string) error {
			where := "before"
			if x.ended {
				where = "after"
			}
			return xmlDataError(&xml.SyntaxError{Line: line, Msg: what + " " + where + " the root element"})
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case x.ended:
				return nil, outside("element <" + t.Name.Local + ">")
			case !x.root:
				x.root = true
				continue
			}
			rec, err := x.element(2)
			if err != nil {
				return nil, xmlDataError(err)
			}
			return rec, nil
		case xml.EndElement:
			x.ended = true // the root's: read on, to see that nothing follows it
		case xml.CharData:
			if (!x.root || x.ended) && len(bytes.TrimSpace(t)) > 0 {
				return nil, outside("text")
			}
		}
	}
}

// element reads the children of an element whose start was just read, at depth (the
// root is 1): each a key holding text, or (forms) elements.
func (x *xmlReader) element(depth int) (record, error) {
	rec := record{}
	for {
		t, err := x.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			f, err := x.key(t, depth+1)
			if err != nil {
				return nil, err
			}
			rec = append(rec, f)
		case xml.EndElement:
			return rec, nil
		}
	}
}

// key reads an element at depth whose start was just read: its text, or its child
// elements (nested, their markup kept as sent for messages).
func (x *xmlReader) key(start xml.StartElement, depth int) (field, error) {
	if depth > maxXMLDepth {
		line, _ := x.d.InputPos()
		return field{}, &xml.SyntaxError{Line: line, Msg: fmt.Sprintf("elements nested deeper than %d", maxXMLDepth)}
	}
	f := field{key: start.Name.Local}
	var text strings.Builder
	for {
		t, err := x.d.Token()
		if err != nil {
			return field{}, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if !f.isMap {
				text.Write(t)
			}
		case xml.StartElement:
			sub, err := x.key(t, depth+1)
			if err != nil {
				return field{}, err
			}
			f.nested, f.isMap, f.isXML = append(f.nested, sub), true, true
		case xml.EndElement:
			if !f.isMap {
				f.value = text.String()
			}
			return f, nil
		}
	}
}

// rows adapts a record reader to the core's Rows, converting each record.
type rows[T any] struct {
	rd   recordReader
	conv func(record) T
	keys []string
	err  error
}

func newRows[T any](rd recordReader, conv func(record) T) *rows[T] {
	return &rows[T]{rd: rd, conv: conv}
}

func (r *rows[T]) Next() (T, bool) {
	var zero T
	if r.err != nil {
		return zero, false
	}
	rec, err := r.rd.next()
	if err != nil {
		if err != io.EOF {
			r.err = err
		}
		return zero, false
	}
	if r.keys == nil {
		r.keys = make([]string, len(rec))
		for i, f := range rec {
			r.keys[i] = f.key
		}
	}
	return r.conv(rec), true
}

func (r *rows[T]) Err() error     { return r.err }
func (r *rows[T]) Keys() []string { return r.keys }

// memberRow converts a record of a user or role import. Form rights come as a nested
// map (JSON, XML) or as REDCap's CSV string "form:right,…". A value of the wrong shape
// for its key is passed on as malformed, for the core to refuse: a list or object where
// one value belongs, a number or boolean for forms or forms_export (a JSON list for
// them too, but for [], PHP's empty map).
func memberRow(rec record) roster.MemberRow {
	row := roster.MemberRow{Fields: make(map[string]string, len(rec))}
	for _, f := range rec {
		switch f.key {
		case "forms", "forms_export":
			var fr []roster.RawFormRight
			switch {
			case f.isMap && !(f.isList && len(f.nested) > 0):
				fr = make([]roster.RawFormRight, 0, len(f.nested))
				for _, n := range f.nested {
					fr = append(fr, roster.RawFormRight{Form: n.key, Value: n.sent(), Malformed: n.isMap})
				}
			case f.isMap || f.typed:
				row.Malformed = append(row.Malformed, f.key)
				row.Fields[f.key] = f.sent()
				continue
			default:
				fr = roster.ParseFormRights(f.value)
			}
			if f.key == "forms" {
				row.Forms = fr
			} else {
				row.FormsExport = fr
			}
		default:
			if f.isMap {
				row.Malformed = append(row.Malformed, f.key)
				row.Fields[f.key] = f.sent()
				continue
			}
			row.Fields[f.key] = f.value
		}
	}
	return row
}

func mappingRow(nameKey string) func(record) roster.Mapping {
	return func(rec record) roster.Mapping {
		var m roster.Mapping
		m.Username, _ = rec.get("username")
		m.Name, _ = rec.get(nameKey)
		m.DAG, m.HasDAG = rec.get("data_access_group")
		for _, f := range rec {
			if f.isMap && (f.key == "username" || f.key == nameKey || f.key == "data_access_group") {
				m.Malformed = append(m.Malformed, f.key)
			}
		}
		return m
	}
}

func dagRow(rec record) roster.DAGRow {
	var d roster.DAGRow
	d.Label, _ = rec.get("data_access_group_name")
	d.UniqueName, _ = rec.get("unique_group_name")
	return d
}

// importRows opens the request's data as rows for the core.
func importRows[T any](req *request, conv func(record) T) (*rows[T], error) {
	rd, err := newRecordReader(req.format, req.data())
	if err != nil {
		return nil, err
	}
	return newRows(rd, conv), nil
}

// validUTF8 passes a stream through while it is valid UTF-8 and fails at the first byte
// that is not, holding back a rune split between two reads until its end arrives.
type validUTF8 struct {
	r     io.Reader
	buf   []byte
	ready []byte // checked bytes not yet read
	tail  []byte // the start of a rune the last read ended in
	err   error  // to return once ready is read
}

var errInvalidUTF8 = errors.New("the data is not valid UTF-8")

func (v *validUTF8) Read(p []byte) (int, error) {
	for len(v.ready) == 0 {
		if v.err != nil {
			return 0, v.err
		}
		v.fill()
	}
	n := copy(p, v.ready)
	v.ready = v.ready[n:]
	return n, nil
}

// fill reads the next chunk and checks it.
func (v *validUTF8) fill() {
	if v.buf == nil {
		v.buf = make([]byte, 32<<10)
	}
	k := copy(v.buf, v.tail)
	v.tail = v.tail[:0]
	n, err := v.r.Read(v.buf[k:])
	n += k
	b := v.buf[:n]
	i := 0
	for i < n {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		if !utf8.FullRune(b[i:]) {
			if err != nil {
				v.ready, v.err = b[:i], errInvalidUTF8
				return
			}
			v.tail = append(v.tail, b[i:]...)
			break
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			v.ready, v.err = b[:i], errInvalidUTF8
			return
		}
		i += size
	}
	v.ready, v.err = b[:i], err
}
