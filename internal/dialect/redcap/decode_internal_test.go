package redcap

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

// readAll reads every record of data, returning the first error.
func readAll(format, data string) ([]record, error) {
	rd, err := newRecordReader(format, strings.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []record
	for {
		rec, err := rd.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func nestedJSON(depth int) string {
	// The list of records and the record are two levels; forms holds the rest.
	return `[{"username":"sam","forms":` + strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2) + `}]`
}

func nestedXML(depth int) string {
	// The root, the item and forms are three levels.
	return "<users><item><username>sam</username><forms>" + strings.Repeat("<a>", depth-3) + strings.Repeat("</a>", depth-3) + "</forms></item></users>"
}

// TestDeepNesting: data nested deeper than REDCap's parsers accept (PHP's json_decode
// 512 levels, libxml2 256) is refused as malformed. Before, the readers recursed once
// per level without a bound, and 8 MB of "[" in an import's data (within the default
// import limit) overflowed the goroutine's stack: a fatal error that ended the server.
func TestDeepNesting(t *testing.T) {
	for _, c := range []struct {
		format  string
		ok, bad string
		huge    string
		message string
	}{
		{"json", nestedJSON(maxJSONDepth), nestedJSON(maxJSONDepth + 1), `[{"forms":` + strings.Repeat("[", 8<<20),
			"The data being imported is not formatted correctly. PHP error from JSON decoder: Maximum stack depth exceeded. The JSON must be in an array, as in [{ ... }]."},
		{"xml", nestedXML(maxXMLDepth), nestedXML(maxXMLDepth + 1), "<users><item><forms>" + strings.Repeat("<a>", 3<<20),
			"The data being imported is not formatted correctly. Error: XML syntax error on line 1: elements nested deeper than 256"},
	} {
		if recs, err := readAll(c.format, c.ok); err != nil || len(recs) != 1 {
			t.Fatalf("%s nested %d levels: %d records, %v", c.format, map[string]int{"json": maxJSONDepth, "xml": maxXMLDepth}[c.format], len(recs), err)
		}
		for _, data := range []string{c.bad, c.huge} {
			_, err := readAll(c.format, data)
			if roster.ErrorCode(err) != roster.EINVALID || roster.AsError(err).Message != c.message {
				t.Fatalf("%s nested too deeply (%d bytes): %v", c.format, len(data), err)
			}
		}
	}
}

// TestNestedValuesCostLinearTime: reading nested data and converting its records costs
// memory in proportion to its size, whatever its depth. Before, each level's text was
// written out as it was read, copying every inner level again at each level above it: a
// megabyte of JSON nested 500 levels deep allocated 300 MB and held most of it for the
// record's life; an import's data may be hundreds of megabytes.
func TestNestedValuesCostLinearTime(t *testing.T) {
	for _, c := range []struct{ format, data string }{
		{"json", `[{"username":"sam","forms":[` + strings.Repeat(strings.Repeat("[", 500)+strings.Repeat("]", 500)+",", 1000) + `1]}]`},
		{"xml", "<users><item><username>sam</username><forms>" + strings.Repeat(strings.Repeat("<a>", 250)+strings.Repeat("</a>", 250), 600) + "</forms></item></users>"},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		recs, err := readAll(c.format, c.data)
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %d records, %v", c.format, len(recs), err)
		}
		row := memberRow(recs[0])
		runtime.ReadMemStats(&after)
		// The values are still shown whole: forms, a list, is the wrong shape in JSON;
		// each form's rights, nested elements, in XML.
		switch {
		case c.format == "json" && (len(row.Malformed) != 1 || row.Fields["forms"] != c.data[len(`[{"username":"sam","forms":`):len(c.data)-2]):
			t.Fatalf("json: malformed %v, forms shown in %d bytes", row.Malformed, len(row.Fields["forms"]))
		case c.format == "xml" && (len(row.Forms) != 600 || !row.Forms[0].Malformed || row.Forms[0].Value != strings.Repeat("<a>", 249)+strings.Repeat("</a>", 249)):
			t.Fatalf("xml: %d form rights, the first %.40q", len(row.Forms), row.Forms[0].Value)
		}
		if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(c.data)); n > limit {
			t.Fatalf("%s: reading %d bytes allocated %d, more than %d", c.format, len(c.data), n, limit)
		}
	}
}

// TestRecordSizeBound: one record of data may hold at most MaxRecordBytes, in every
// format; the records before it, and records of any number, are read. Before, a record
// was bounded only by the import limit (512 MiB by default) and held whole, as a tree
// of its values many times its size: {"forms":[1,1,…]} of 20 MB held 1.1 GB (and
// allocated 5.9 GB) while it was read.
func TestRecordSizeBound(t *testing.T) {
	big := MaxRecordBytes + 2*recordSlack
	for _, c := range []struct{ format, ok, tooLarge string }{
		{"json", `[` + strings.Repeat(`{"username":"u","bio":"`+strings.Repeat("x", 1000)+`"},`, 3000) + `{}]`,
			`[{"username":"a"},{"forms":[` + strings.Repeat("1,", big/2) + `1]}]`},
		{"csv", "username,bio\n" + strings.Repeat("u,"+strings.Repeat("x", 1000)+"\n", 3000),
			"username,bio\na,b\nc,\"" + strings.Repeat("x\n", big/2) + "\"\n"},
		{"xml", "<users>" + strings.Repeat("<item><username>u</username><bio>"+strings.Repeat("x", 1000)+"</bio></item>", 3000) + "</users>",
			"<users><item><username>a</username></item><item><forms>" + strings.Repeat("<f>1</f>", big/8) + "</forms></item></users>"},
	} {
		if recs, err := readAll(c.format, c.ok); err != nil || len(recs) < 3000 {
			t.Fatalf("%s: %d small records (%d bytes in all): %d read, %v", c.format, 3000, len(c.ok), len(recs), err)
		}
		recs, err := readAll(c.format, c.tooLarge)
		if roster.ErrorCode(err) != roster.ETOOLARGE || len(recs) != 1 ||
			roster.AsError(err).Message != "A record of the data is larger than 1048576 bytes, more than this server accepts." {
			t.Fatalf("%s: a record of %d bytes: %d records before it, %v", c.format, big, len(recs), err)
		}
	}
}

// TestCSVShortRows: a CSV row shorter than the header reads as empty each column an
// import reads (a right, forms, a DAG), as it always has, and leaves out
// the columns no import reads, so that a row costs its own size, not the header's
// width. Before, every column was padded: a header of 20,000 names and a thousand rows
// of "s" (131 KB) held 1.25 GB (1,000 rows are what the project service holds at once),
// and took 11 s to read. Found by FuzzCSVData.
func TestCSVShortRows(t *testing.T) {
	recs, err := readAll("csv", "username,design,comment,forms,data_access_group,design\nsam\n")
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	row := memberRow(recs[0])
	if v, ok := row.Fields["design"]; !ok || v != "" || row.Fields["username"] != "sam" || row.Forms == nil || len(row.Forms) != 0 {
		t.Fatalf("a short row read as %+v", row)
	}
	if _, ok := row.Fields["data_access_group"]; !ok {
		t.Fatalf("a short row left out data_access_group: %+v", row)
	}
	if _, ok := row.Fields["comment"]; ok || len(recs[0]) != 4 {
		t.Fatalf("a short row was padded with a column no import reads: %+v", recs[0])
	}

	var b strings.Builder
	b.WriteString("username")
	for i := range 20000 {
		fmt.Fprintf(&b, ",c%d", i)
	}
	b.WriteString("\n" + strings.Repeat("s\n", 1000))
	data := b.String()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	recs, err = readAll("csv", data)
	rows := make([]roster.MemberRow, 0, len(recs))
	for _, rec := range recs {
		rows = append(rows, memberRow(rec))
	}
	runtime.ReadMemStats(&after)
	if err != nil || len(rows) != 1000 || rows[999].Fields["username"] != "s" {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(data)); n > limit {
		t.Fatalf("%d bytes of short rows allocated %d, more than %d", len(data), n, limit)
	}
}
