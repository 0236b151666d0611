package redcap

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/roster"
)

// The decoders of an import's data read what any project member with import rights
// sends, up to the import limit: these fuzzers hold them to never panicking, refusing
// only with REDCap's 400 (or 413) wording, and handing the project service no more than
// a constant times what they were sent.

// decodeAll reads every record of data in format, converting each as every import
// does, and returns the records and the size of what the conversions produced: the
// bytes of their values and the number of their entries (a key is the data's own string,
// shared by every row that has it).
func decodeAll(t *testing.T, format string, data []byte) ([]record, int, error) {
	t.Helper()
	rd, err := newRecordReader(format, bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	var recs []record
	size := 0
	for {
		rec, err := rd.next()
		if err == io.EOF {
			return recs, size, nil
		}
		if err != nil {
			return recs, size, err
		}
		recs = append(recs, rec)
		row := memberRow(rec)
		for _, v := range row.Fields {
			size += 1 + len(v)
		}
		for _, fr := range append(row.Forms, row.FormsExport...) {
			size += 1 + len(fr.Form) + len(fr.Value)
		}
		for _, conv := range []func(record) roster.Mapping{mappingRow("unique_role_name"), mappingRow("redcap_data_access_group")} {
			m := conv(rec)
			size += len(m.Username) + len(m.Name) + len(m.DAG)
		}
		d := dagRow(rec)
		size += len(d.Label) + len(d.UniqueName)
	}
}

// checkDecoded holds every format to the common properties.
func checkDecoded(t *testing.T, format string, data []byte, err error, size int) {
	t.Helper()
	if code := roster.ErrorCode(err); err != nil && code != roster.EINVALID && code != roster.ETOOLARGE {
		t.Fatalf("%s data refused with %v, not REDCap's 400 or 413", format, err)
	}
	// JSON's escapes (\u003c for <) are the largest growth of a value shown back, 6
	// times; a CSV row of one character reads as empty the 40-odd columns imports know.
	if limit := 32*len(data) + 2048; size > limit {
		t.Fatalf("%s data of %d bytes became %d bytes and entries", format, len(data), size)
	}
}

// jsonDepth is the deepest nesting of lists and objects in a valid JSON document.
func jsonDepth(data []byte) int {
	d := json.NewDecoder(bytes.NewReader(data))
	depth, deepest := 0, 0
	for {
		t, err := d.Token()
		if err != nil {
			return deepest
		}
		switch t {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// FuzzJSONData feeds format=json data to the JSON record reader. Beyond the common
// properties, it must agree with encoding/json: a document of valid UTF-8 that is a
// list of objects, nested no deeper than PHP's json_decode accepts, reads as that many
// records with the same keys; anything else (but an empty field, REDCap's empty list)
// is refused.
func FuzzJSONData(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, size, err := decodeAll(t, "json", data)
		checkDecoded(t, "json", data, err, size)

		var items []json.RawMessage
		wellFormed := utf8.Valid(data) && json.Unmarshal(data, &items) == nil && items != nil && jsonDepth(data) <= maxJSONDepth
		for _, it := range items {
			wellFormed = wellFormed && bytes.HasPrefix(bytes.TrimSpace(it), []byte("{"))
		}
		switch {
		case len(data) == 0:
			if err != nil || len(recs) != 0 {
				t.Fatalf("empty data: %d records, %v", len(recs), err)
			}
		case !wellFormed:
			if err == nil {
				t.Fatalf("accepted what encoding/json, UTF-8 or PHP's depth refuses: %d records", len(recs))
			}
		case err != nil:
			t.Fatalf("refused a well-formed list of %d objects: %v", len(items), err)
		case len(recs) != len(items):
			t.Fatalf("read %d records of %d", len(recs), len(items))
		default:
			for i, it := range items {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(it, &m); err != nil {
					t.Fatal(err)
				}
				keys := map[string]bool{}
				for _, fl := range recs[i] {
					keys[fl.key] = true
				}
				if len(keys) != len(m) {
					t.Fatalf("record %d has keys %v, encoding/json %d", i, keys, len(m))
				}
				for k := range m {
					if !keys[k] {
						t.Fatalf("record %d lacks key %q", i, k)
					}
				}
			}
		}

		// The UTF-8 check under the reader agrees with the standard library however the
		// reads split the runes.
		got, verr := io.ReadAll(&validUTF8{r: iotest.OneByteReader(bytes.NewReader(data))})
		if valid := utf8.Valid(data); valid != (verr == nil) || !bytes.HasPrefix(data, got) || valid && len(got) != len(data) {
			t.Fatalf("validUTF8: %d of %d bytes, %v; utf8.Valid %v", len(got), len(data), verr, valid)
		}
		if verr != nil && !errors.Is(verr, errInvalidUTF8) {
			t.Fatalf("validUTF8 failed with %v", verr)
		}
	})
}

// FuzzCSVData feeds format=csv data to the CSV record reader: every record it reads
// holds its cells under the header's names, in order, and reads as empty each column
// an import reads that the row is too short to reach.
func FuzzCSVData(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, size, err := decodeAll(t, "csv", data)
		checkDecoded(t, "csv", data, err, size)
		if err != nil || len(recs) == 0 {
			return
		}
		rd := newCSVReader(bytes.NewReader(data))
		for range recs {
			if _, err := rd.next(); err != nil {
				t.Fatal(err)
			}
		}
		for i, rec := range recs {
			keys := map[string]bool{}
			for j, fl := range rec {
				switch {
				case fl.nested != nil || fl.isMap:
					t.Fatalf("record %d field %d is nested: %+v", i, j, fl)
				case j < len(rd.header) && fl.key == rd.header[j]:
				case fl.value != "" || !csvPadded[fl.key]:
					t.Fatalf("record %d field %d is %+v; the header is %q", i, j, fl, rd.header)
				}
				keys[fl.key] = true
			}
			for _, k := range rd.header {
				if csvPadded[k] && !keys[k] {
					t.Fatalf("record %d lacks the column %q", i, k)
				}
			}
		}
	})
}

// FuzzXMLData feeds format=xml data to the XML record reader, which must refuse what
// is not one well-formed root element and nest no deeper than libxml2 accepts.
func FuzzXMLData(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, size, err := decodeAll(t, "xml", data)
		checkDecoded(t, "xml", data, err, size)
		if err == nil && len(recs) > 0 && !bytes.Contains(data, []byte("<")) {
			t.Fatalf("read %d records from data without an element", len(recs))
		}
	})
}
