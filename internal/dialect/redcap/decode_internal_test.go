package redcap

import (
	"io"
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
