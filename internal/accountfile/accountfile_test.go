package accountfile_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/accountfile"
	"github.com/rosterhq/roster/internal/roster"
)

func rows(t *testing.T, f accountfile.Format, in string) ([]roster.ImportRow, error) {
	t.Helper()
	var out []roster.ImportRow
	for r, err := range accountfile.Read(f, strings.NewReader(in)) {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func TestReadJSONLines(t *testing.T) {
	for name, in := range map[string]string{
		"array":       "[\n  {\"username\": \"a\"},\n\n  {\n    \"username\": \"b\",\n    \"n\": 12345678901234567890\n  }\n]\n",
		"jsonl":       "{\"username\": \"a\"}\n\n{\n \"username\": \"b\",\n \"n\": 12345678901234567890}\n",
		"array_oneln": "[{\"username\": \"a\"},\n{\"username\": \"b\", \"n\": 12345678901234567890}]",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := rows(t, accountfile.JSON, in)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][2]int{"array": {2, 4}, "jsonl": {1, 3}, "array_oneln": {1, 2}}[name]
			if len(got) != 2 || got[0].Line != want[0] || got[1].Line != want[1] {
				t.Fatalf("rows %+v, want lines %v", got, want)
			}
			if n := fmt.Sprint(got[1].Values["n"]); n != "12345678901234567890" {
				t.Fatalf("number read as %s", n)
			}
		})
	}
	// A ] or } where an object or the end belongs was read as the end of the file (found
	// by FuzzReadJSON): "]" imported nothing and succeeded, '{"a":1}]' one account.
	for _, bad := range []string{"[1]", "[{\"a\":1},", "{\"a\":", "[{}]x", "]", " }\n", "{\"username\": \"a\"}\n]", "{}}"} {
		if _, err := rows(t, accountfile.JSON, bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got, err := rows(t, accountfile.JSON, "  "); err != nil || len(got) != 0 {
		t.Fatalf("empty input: %v %v", got, err)
	}
}

func TestCSV(t *testing.T) {
	got, err := rows(t, accountfile.CSV, "\ufeffusername,email,bio\r\na,a@x.org,\"two\nlines\"\nb,,\t=1+1\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 4 || got[0].Values["bio"] != "two\nlines" ||
		got[1].Values["email"] != nil || got[1].Values["bio"] != "=1+1" {
		t.Fatalf("rows %+v", got)
	}
	if _, err := rows(t, accountfile.CSV, "username,username\na,b\n"); err == nil {
		t.Fatal("a repeated column was accepted")
	}
	// A byte order mark starts the file, not a column: one before another column's name
	// is part of that name. Before, it was taken off every column's name, and ",\ufeff"
	// was refused as naming the column "" twice (found by FuzzReadCSV).
	got, err = rows(t, accountfile.CSV, "username,\ufeffbio\na,b\n")
	if err != nil || len(got) != 1 || got[0].Values["\ufeffbio"] != "b" {
		t.Fatalf("a byte order mark inside the header: %+v, %v", got, err)
	}
	if _, err := rows(t, accountfile.CSV, ",\ufeff\n"); err != nil {
		t.Fatalf("columns \"\" and \"\\ufeff\" were taken for one: %v", err)
	}
	// Writing guards formulas and lists every readable attribute, never a secret.
	s, _ := roster.LoadSchema()
	var buf bytes.Buffer
	w := accountfile.NewWriter(accountfile.CSV, &buf, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	header := strings.TrimSpace(buf.String())
	if !strings.HasPrefix(header, "id,uuid,username,email,") || strings.Contains(header, "password") || strings.Contains(header, "apikey") {
		t.Fatalf("header %s", header)
	}
}

func TestFormatOf(t *testing.T) {
	for _, c := range []struct{ path, given, want string }{
		{"a.csv", "", "csv"}, {"a.JSON", "", "json"}, {"a.ndjson", "", "json"}, {"a.txt", "csv", "csv"}, {"-", "json", "json"},
	} {
		if f, err := accountfile.FormatOf(c.path, c.given); err != nil || string(f) != c.want {
			t.Errorf("FormatOf(%q, %q) = %v, %v", c.path, c.given, f, err)
		}
	}
	for _, c := range [][2]string{{"a.txt", ""}, {"a.csv", "xml"}} {
		if _, err := accountfile.FormatOf(c[0], c[1]); err == nil {
			t.Errorf("FormatOf(%q, %q) accepted", c[0], c[1])
		}
	}
}

// TestCSVFormulaGuardRoundTrip: an account CSV guards every cell a spreadsheet would run
// (= + - @ TAB CR) and reads back exactly the value written, including values that
// genuinely start with a TAB or a CR.
func TestCSVFormulaGuardRoundTrip(t *testing.T) {
	values := []string{"=1+1", "+1", "-1", "@SUM(A1)", "\t", "\tindented", "\t=1+1", "\t\t=x", "\r", "\rcarriage", "\r=1",
		"plain", "a=b", " spaced", "-", "\t-"}
	s, _ := roster.LoadSchema()
	var buf bytes.Buffer
	w := accountfile.NewWriter(accountfile.CSV, &buf, s)
	for i, v := range values {
		r := roster.NewRecord(s, &roster.Account{ID: int64(i + 1)})
		r.Set("username", fmt.Sprintf("u%d", i))
		r.Set("bio", v)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, guarded := range []string{"\"\t\t\"", "\"\t\rcarriage\"", "\"\t\t=1+1\""} {
		if !strings.Contains(buf.String(), guarded) {
			t.Errorf("export lacks the guarded cell %q", guarded)
		}
	}
	got, err := rows(t, accountfile.CSV, buf.String())
	if err != nil || len(got) != len(values) {
		t.Fatalf("read back %d rows, %v", len(got), err)
	}
	for i, v := range values {
		if got[i].Values["bio"] != v {
			t.Errorf("%q came back as %q", v, got[i].Values["bio"])
		}
	}
	// A hand-written cell that starts with a TAB the guard would not have added keeps it.
	got, err = rows(t, accountfile.CSV, "username,bio\nu,\"\tkept\"\n")
	if err != nil || got[0].Values["bio"] != "\tkept" {
		t.Fatalf("hand-written leading TAB: %q, %v", got[0].Values["bio"], err)
	}
}

// TestReadJSONMemory: reading a JSON file holds memory for the rows in hand, not for
// the file. Before, the reader kept the offset of every newline of the file to number
// lines: 8 bytes a line, 400 MB for a file of 50 million lines.
func TestReadJSONMemory(t *testing.T) {
	const n = 200_000
	in := strings.Repeat("{\"username\": \"a\"}\n"+strings.Repeat("\n", 50), n)
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rows := 0
	for r, err := range accountfile.Read(accountfile.JSON, strings.NewReader(in)) {
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + 51*rows; r.Line != want {
			t.Fatalf("row %d on line %d, want %d", rows, r.Line, want)
		}
		rows++
		if rows == n { // the reader's state, near the end of the file
			runtime.GC()
			runtime.ReadMemStats(&during)
		}
	}
	if rows != n {
		t.Fatalf("%d rows", rows)
	}
	if held := int64(during.HeapAlloc) - int64(before.HeapAlloc); held > 8<<20 {
		t.Fatalf("reading %d lines held %d MB", 51*n, held>>20)
	}
}
