package redcap_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/testkit"
)

// TestHostileData: data nested past REDCap's parsers' depth, or with one record larger
// than a record may be, is refused in REDCap's format over HTTP, the server answers
// on, and nothing is imported, not even the records before it.
func TestHostileData(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		before := post(t, e, "token", f.token, "content", "user", "format", "csv").Body
		big := strings.Repeat("x", 2<<20)
		for _, c := range []struct {
			format, data string
			status       int
			msg          string
		}{
			{"json", `[{"username":"sam","forms":` + strings.Repeat("[", 600) + `]}]`, 400,
				"The data being imported is not formatted correctly. PHP error from JSON decoder: Maximum stack depth exceeded. The JSON must be in an array, as in [{ ... }]."},
			{"xml", "<users><item><username>sam</username><forms>" + strings.Repeat("<a>", 300), 400,
				"The data being imported is not formatted correctly. Error: XML syntax error on line 1: elements nested deeper than 256"},
			{"json", `[{"username":"sam","design":"1"},{"username":"tom","bio":"` + big + `"}]`, 413,
				"A record of the data is larger than 1048576 bytes, more than this server accepts."},
			{"csv", "username,design\nsam,1\ntom,\"" + big + "\"\n", 413,
				"A record of the data is larger than 1048576 bytes, more than this server accepts."},
		} {
			r := post(t, e, "token", f.token, "content", "user", "format", c.format, "returnFormat", "json", "data", c.data)
			wantError(t, r, c.status, "json", c.msg)
		}
		if after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body; after != before {
			t.Fatalf("refused imports changed the project's users:\n%s", after)
		}
	})
}
