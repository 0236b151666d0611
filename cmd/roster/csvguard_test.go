package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCSVFormulaGuardCLI: users export --format csv guards cells a spreadsheet would run
// (= + - @ TAB CR), and users import reads each back exactly, so export → import into an
// empty database → export reproduces every value, leading TABs and CRs included.
func TestCSVFormulaGuardCLI(t *testing.T) {
	bios := []string{"=1+1", "+1", "-1", "@SUM(A1)", "\tindented", "\t=1+1", "\t\t=x", "\rcarriage", "\r=1", "plain", "\t-"}
	var in []map[string]any
	for i, b := range bios {
		in = append(in, map[string]any{"username": "user" + string(rune('a'+i)), "email": "u" + string(rune('a'+i)) + "@example.org", "bio": b})
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "in.json")
	b, _ := json.Marshal(in)
	os.WriteFile(src, b, 0o600)

	te := newStore(t)
	te.mustCLI(t, "", "users", "import", src)
	out := filepath.Join(dir, "out.csv")
	te.mustCLI(t, "", "users", "export", "--format", "csv", "--out", out)
	csv, _ := os.ReadFile(out)
	for _, guarded := range []string{"\"\t\tindented\"", "\"\t\t=1+1\"", "\"\t\rcarriage\"", "\t=1+1"} {
		if !strings.Contains(string(csv), guarded) {
			t.Errorf("the CSV export lacks the guarded cell %q", guarded)
		}
	}

	te2 := newStore(t)
	te2.mustCLI(t, "", "users", "import", out)
	back := filepath.Join(dir, "back.json")
	te2.mustCLI(t, "", "users", "export", "--format", "json", "--out", back)
	b, _ = os.ReadFile(back)
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	byName := map[string]any{}
	for _, u := range got {
		byName[u["username"].(string)] = u["bio"]
	}
	for i, want := range in {
		if g := byName[want["username"].(string)]; g != bios[i] {
			t.Errorf("bio %q came back as %q", bios[i], g)
		}
	}
}
