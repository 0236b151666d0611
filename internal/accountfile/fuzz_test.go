package accountfile_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/accountfile"
	"github.com/rosterhq/roster/internal/roster"
)

// readRows reads a file to its end, holding Read to its contract as it goes: lines
// only grow, every row has values, and an error ends the rows.
func readRows(t *testing.T, f accountfile.Format, data []byte) ([]roster.ImportRow, error) {
	t.Helper()
	var out []roster.ImportRow
	var failed error
	for r, err := range accountfile.Read(f, bytes.NewReader(data)) {
		if failed != nil {
			t.Fatalf("a row after the error %v", failed)
		}
		if err != nil {
			failed = err
			continue
		}
		if r.Values == nil || r.Line < 1 || len(out) > 0 && r.Line < out[len(out)-1].Line {
			t.Fatalf("row %d: line %d after %v, values %v", len(out), r.Line, out, r.Values)
		}
		out = append(out, r)
	}
	return out, failed
}

// FuzzReadCSV feeds roster users import's CSV files to the reader: no panic; a file
// encoding/csv reads (after a header of distinct names) gives one row per record, its
// values keyed by the header, an empty cell as no value; anything else is an error.
func FuzzReadCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := readRows(t, accountfile.CSV, data)
		records, rerr := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if rerr == nil && len(records) > 0 {
			seen := map[string]bool{}
			for i, h := range records[0] {
				h = strings.TrimSpace(h)
				if i == 0 {
					h = strings.TrimSpace(strings.TrimPrefix(records[0][0], "\ufeff"))
				}
				if seen[h] {
					rerr = errors.New("a column appears twice")
				}
				seen[h] = true
			}
		}
		switch {
		case (err == nil) != (rerr == nil):
			t.Fatalf("Read %v, encoding/csv %v", err, rerr)
		case err != nil:
			return
		case len(records) > 0 && len(rows) != len(records)-1:
			t.Fatalf("%d rows of %d records", len(rows), len(records)-1)
		}
		for i, r := range rows {
			if len(r.Values) != len(records[0]) {
				t.Fatalf("row %d has %d values for %d columns", i, len(r.Values), len(records[0]))
			}
			for _, v := range r.Values {
				if s, ok := v.(string); v != nil && (!ok || s == "") {
					t.Fatalf("row %d: value %#v", i, v)
				}
			}
		}
	})
}

// jsonObjects reads data as the JSON account files are documented: one list of
// objects, or objects one after another; blank is no accounts. It returns how many.
func jsonObjects(data []byte) (int, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return 0, nil
	}
	object := func(raw json.RawMessage) error {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber() // numbers are kept as written, however large
		var m map[string]any
		if err := d.Decode(&m); err != nil || m == nil {
			return errors.New("not an object")
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	if trimmed[0] == '[' {
		var list []json.RawMessage
		if err := dec.Decode(&list); err != nil {
			return 0, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return 0, errors.New("data after the list")
		}
		for _, raw := range list {
			if err := object(raw); err != nil {
				return 0, err
			}
		}
		return len(list), nil
	}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if err := object(raw); err != nil {
			return 0, err
		}
		n++
	}
}

// FuzzReadJSON feeds roster users import's JSON files to the reader: no panic; a list
// of objects, or objects one after another, gives one row per object; anything else
// is an error.
func FuzzReadJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := readRows(t, accountfile.JSON, data)
		n, rerr := jsonObjects(data)
		switch {
		case (err == nil) != (rerr == nil):
			t.Fatalf("Read: %d rows, %v; encoding/json: %d objects, %v", len(rows), err, n, rerr)
		case err == nil && len(rows) != n:
			t.Fatalf("%d rows of %d objects", len(rows), n)
		}
	})
}
