package redcap

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// formulaValues start with what a spreadsheet would run as a formula, or with what the
// guard itself adds, or are plain; every one must survive export and import exactly.
var formulaValues = []string{"=1+1", "+1", "-1", "@SUM(A1)", "\t", "\tindented", "\t=1+1", "\t\t=x", "\r", "\rcarriage",
	"\r=1", "plain", "a=b", "", " spaced", "-", "\t-"}

// TestCSVFormulaGuardRoundTrip: a CSV export guards every cell a spreadsheet would run
// (= + - @ TAB CR), and a CSV import takes back exactly the value that was exported.
func TestCSVFormulaGuardRoundTrip(t *testing.T) {
	w := httptest.NewRecorder()
	tb := newTable(w, "csv", "users", false)
	for i, v := range formulaValues {
		// A key column, so that no row reads as a blank line.
		if err := tb.row([]cell{num("k", i), str("v", v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.end(nil); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	for _, guarded := range []string{"\"\t\t\"", "\"\t\rcarriage\"", "\"\t=1+1\"", "\"\t-1\"", "\"\t\t=1+1\""} {
		if !strings.Contains(body, guarded) {
			t.Errorf("export lacks the guarded cell %q:\n%q", guarded, body)
		}
	}
	rd := newCSVReader(strings.NewReader(body))
	for _, v := range formulaValues {
		rec, err := rd.next()
		if err != nil {
			t.Fatalf("reading back %q: %v", v, err)
		}
		if got, _ := rec.get("v"); got != v {
			t.Errorf("%q came back as %q", v, got)
		}
	}
}
