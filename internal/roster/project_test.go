package roster

import (
	"fmt"
	"testing"
)

func TestUniqueDAGNames(t *testing.T) {
	var dags []*DAG
	for i, l := range []string{"Test DAG", "  New DAG  ", "abcdefghijklmnopq rst", "Ünïcode only", "***", "New DAG"} {
		dags = append(dags, &DAG{ID: int64(i + 1), Label: l})
	}
	UniqueDAGNames(dags)
	var got []string
	for _, d := range dags {
		got = append(got, d.UniqueName)
	}
	// Sorted by trimmed label, bytewise; of two "New DAG", the older keeps the name.
	want := "[8a7ab20ec0 new_dag new_dagb test_dag abcdefghijklmnopq ncode_only]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got  %v\nwant %s", got, want)
	}
	// Repeats beyond the alphabet take two letters.
	many := make([]*DAG, 30)
	for i := range many {
		many[i] = &DAG{ID: int64(i + 1), Label: "Site"}
	}
	UniqueDAGNames(many)
	for i, want := range map[int]string{0: "site", 1: "siteb", 25: "sitez", 26: "siteaa", 29: "sitead"} {
		if many[i].UniqueName != want {
			t.Errorf("repeat %d: %q, want %q", i, many[i].UniqueName, want)
		}
	}
}

func TestRightsEncoding(t *testing.T) {
	var p Privileges
	p.Rights[RightUserRights], p.Rights[RightLockRecords], p.Rights[RightDesign] = 2, 2, 1
	enc := p.EncodeRights()
	if len(enc) != int(NumRights) || enc[:3] != "102" {
		t.Fatalf("EncodeRights = %q", enc)
	}
	var q Privileges
	q.DecodeRights(enc[:5]) // a string written before rights were added reads them as 0
	if q.Rights[RightUserRights] != 2 || q.Rights[RightLockRecords] != 0 {
		t.Fatalf("DecodeRights of a short string: %v", q.Rights)
	}
	forms := []FormRight{{"a", 1}, {"b_2", 154}}
	if s := EncodeFormRights(forms); s != "a:1,b_2:154" || fmt.Sprint(DecodeFormRights(s)) != fmt.Sprint(forms) {
		t.Fatalf("form rights round trip: %q", s)
	}
	if DecodeFormRights("") != nil {
		t.Fatal("empty form rights decode to something")
	}
}

func TestMemberRowFromJSON(t *testing.T) {
	row := MemberRowFromJSON(map[string]any{"username": "u", "design": float64(1), "api_export": true, "expiration": nil,
		"forms": map[string]any{"b": float64(2), "a": "3"}, "forms_export": "a:1, b:2"})
	if row.Fields["design"] != "1" || row.Fields["api_export"] != "1" || row.Fields["expiration"] != "" {
		t.Fatalf("fields %v", row.Fields)
	}
	if fmt.Sprint(row.Forms) != "[{a 3 false} {b 2 false}]" || fmt.Sprint(row.FormsExport) != "[{a 1 false} {b 2 false}]" || row.Malformed != nil {
		t.Fatalf("forms %v, forms_export %v, malformed %v", row.Forms, row.FormsExport, row.Malformed)
	}
	// Values of the wrong shape are listed, kept as JSON for messages.
	row = MemberRowFromJSON(map[string]any{"design": []any{float64(1)}, "forms": float64(5), "forms_export": map[string]any{"a": []any{}}})
	if !row.IsMalformed("design") || !row.IsMalformed("forms") || row.IsMalformed("forms_export") || row.Fields["design"] != "[1]" ||
		row.Fields["forms"] != "5" || row.Forms != nil || fmt.Sprint(row.FormsExport) != "[{a [] true}]" {
		t.Fatalf("malformed %v, fields %v, forms %v, forms_export %v", row.Malformed, row.Fields, row.Forms, row.FormsExport)
	}
}
