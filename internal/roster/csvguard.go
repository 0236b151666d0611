package roster

import "strings"

// CSV exports guard cells that a spreadsheet would run as a formula, as REDCap does: such
// a cell gets a TAB in front. A cell starting with = + - or @ is a formula; one starting
// with a TAB or a CR is guarded too, since spreadsheets skip leading whitespace before
// deciding. Imports take off exactly what the guard added: one TAB before a trigger.
// Since a TAB is itself a trigger, a value that really starts with a TAB (or a CR) is
// exported with one more, and every value comes back as it was.

// formulaTriggers are the first bytes that get a cell guarded.
const formulaTriggers = "=+-@\t\r"

func isFormulaTrigger(c byte) bool { return strings.IndexByte(formulaTriggers, c) >= 0 }

// GuardCSVCell returns a cell's value as a CSV export writes it.
func GuardCSVCell(s string) string {
	if s != "" && isFormulaTrigger(s[0]) {
		return "\t" + s
	}
	return s
}

// UnguardCSVCell returns the value a CSV import reads from a cell: GuardCSVCell undone.
// A leading TAB before anything else is the value's own, and stays.
func UnguardCSVCell(s string) string {
	if len(s) > 1 && s[0] == '\t' && isFormulaTrigger(s[1]) {
		return s[1:]
	}
	return s
}
