// Package accountfile reads and writes files of accounts, for roster users import and
// export: CSV with one column per attribute (canonical names), and JSON (an array of
// objects, or one object per line). What Write produces, Read reads back unchanged.
package accountfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Format names a file format.
type Format string

const (
	CSV  Format = "csv"
	JSON Format = "json"
)

// FormatOf picks the format: the one given, else the file's extension.
func FormatOf(path, given string) (Format, error) {
	f := strings.ToLower(given)
	if f == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			f = "csv"
		case ".json", ".jsonl", ".ndjson":
			f = "json"
		default:
			return "", fmt.Errorf("cannot tell the format of %q from its extension: give --format csv or --format json", path)
		}
	}
	switch Format(f) {
	case CSV, JSON:
		return Format(f), nil
	}
	return "", fmt.Errorf("unknown format %q: use csv or json", given)
}

// Columns are the attributes a file holds: every attribute a sysadmin can read, in
// schema order. Secrets are never among them.
func Columns(s *roster.Schema) []*roster.Attribute {
	var out []*roster.Attribute
	for _, a := range s.Attrs() {
		if a.Readable() {
			out = append(out, a)
		}
	}
	return out
}

// Writer writes records one at a time, so exports stream.
type Writer interface {
	Write(*roster.Record) error
	Close() error // finishes the file; it does not close the underlying writer
}

// NewWriter returns a writer of the format.
func NewWriter(f Format, w io.Writer, s *roster.Schema) Writer {
	if f == JSON {
		return &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	return &csvWriter{bw: bw, w: csv.NewWriter(bw), cols: Columns(s)}
}

type csvWriter struct {
	bw     *bufio.Writer
	w      *csv.Writer
	cols   []*roster.Attribute
	header bool
	row    []string
}

func (c *csvWriter) writeHeader() error {
	c.header = true
	names := make([]string, len(c.cols))
	for i, a := range c.cols {
		names[i] = a.Name
	}
	return c.w.Write(names)
}

func (c *csvWriter) Write(r *roster.Record) error {
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	c.row = c.row[:0]
	for _, a := range c.cols {
		v, _ := r.Get(a.Name)
		c.row = append(c.row, roster.GuardCSVCell(cell(v)))
	}
	return c.w.Write(c.row)
}

func (c *csvWriter) Close() error {
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// cell is a value's CSV form: lists and objects as JSON, times in RFC 3339, no value as
// an empty cell.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

type jsonWriter struct {
	w     *bufio.Writer
	count int
}

func (j *jsonWriter) Write(r *roster.Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	sep := ",\n"
	if j.count == 0 {
		sep = "[\n"
	}
	j.count++
	if _, err := j.w.WriteString(sep); err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

func (j *jsonWriter) Close() error {
	end := "\n]\n"
	if j.count == 0 {
		end = "[]\n"
	}
	if _, err := j.w.WriteString(end); err != nil {
		return err
	}
	return j.w.Flush()
}

// Read returns the rows of a file, as they are read.
func Read(f Format, r io.Reader) iter.Seq2[roster.ImportRow, error] {
	if f == JSON {
		return readJSON(r)
	}
	return readCSV(r)
}

// readCSV reads a header of attribute names, then one account per record. An empty cell
// is "no value".
func readCSV(r io.Reader) iter.Seq2[roster.ImportRow, error] {
	return func(yield func(roster.ImportRow, error) bool) {
		cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
		cr.ReuseRecord = true
		header, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			yield(roster.ImportRow{}, fmt.Errorf("reading the CSV header: %w", err))
			return
		}
		cols := make([]string, len(header))
		seen := map[string]bool{}
		for i, h := range header {
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff") // the file's byte order mark
			}
			h = strings.TrimSpace(h)
			if seen[h] {
				yield(roster.ImportRow{}, fmt.Errorf("line 1: column %q appears twice", h))
				return
			}
			seen[h] = true
			cols[i] = h
		}
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(roster.ImportRow{}, err) // csv.ParseError names the line
				return
			}
			line, _ := cr.FieldPos(0)
			values := make(map[string]any, len(cols))
			for i, v := range rec {
				if v == "" {
					values[cols[i]] = nil
				} else {
					values[cols[i]] = roster.UnguardCSVCell(v)
				}
			}
			if !yield(roster.ImportRow{Line: line, Values: values}, nil) {
				return
			}
		}
	}
}

// lineCounter remembers where the newlines of a stream are, to turn offsets into lines.
// It is asked about offsets that never go back, so it forgets the newlines before the
// last one asked about: it holds those of the decoder's read-ahead, not of the file.
type lineCounter struct {
	r        io.Reader
	offset   int64
	newlines []int64 // after the last offset asked about
	before   int     // newlines forgotten
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.newlines = append(l.newlines, l.offset+int64(i))
		}
	}
	l.offset += int64(n)
	return n, err
}

func (l *lineCounter) line(offset int64) int {
	i := sort.Search(len(l.newlines), func(i int) bool { return l.newlines[i] >= offset })
	l.before += i
	l.newlines = append(l.newlines[:0], l.newlines[i:]...)
	return 1 + l.before
}

// readJSON reads an array of objects, or objects one after another (JSON Lines).
func readJSON(r io.Reader) iter.Seq2[roster.ImportRow, error] {
	return func(yield func(roster.ImportRow, error) bool) {
		lc := &lineCounter{r: r}
		dec := json.NewDecoder(bufio.NewReaderSize(lc, 64<<10))
		// A leading [ means an array; otherwise the stream is a sequence of objects.
		first, ok := firstNonSpace(dec)
		if !ok { // the end of a blank file, or a read that failed
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				yield(roster.ImportRow{}, err)
			}
			return
		}
		array := first == '['
		if array {
			if _, err := dec.Token(); err != nil {
				yield(roster.ImportRow{}, err)
				return
			}
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				yield(roster.ImportRow{}, fmt.Errorf("line %d: %w", lc.line(dec.InputOffset()), err))
				return
			}
			line := lc.line(dec.InputOffset() - int64(len(raw)))
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			var values map[string]any
			if err := d.Decode(&values); err != nil || values == nil {
				yield(roster.ImportRow{}, fmt.Errorf("line %d: each account must be a JSON object", line))
				return
			}
			if !yield(roster.ImportRow{Line: line, Values: values}, nil) {
				return
			}
		}
		if array {
			if _, err := dec.Token(); err != nil {
				yield(roster.ImportRow{}, fmt.Errorf("line %d: %w", lc.line(dec.InputOffset()), err))
				return
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				yield(roster.ImportRow{}, fmt.Errorf("line %d: unexpected data after the closing ]", lc.line(dec.InputOffset())))
			}
			return
		}
		// More stops at a ] or } as if the objects had ended; only the end of the file
		// ends them.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			yield(roster.ImportRow{}, fmt.Errorf("line %d: %w", lc.line(dec.InputOffset()), err))
		}
	}
}

// firstNonSpace peeks at the first significant byte of the stream, if there is one.
func firstNonSpace(dec *json.Decoder) (byte, bool) {
	// More reads past spaces to the next byte and leaves it buffered, a ] or } too
	// (for which it reports that nothing more follows).
	dec.More()
	var b [1]byte
	if n, _ := dec.Buffered().Read(b[:]); n == 1 {
		return b[0], true
	}
	return 0, false
}
