package roster

// CheckResult is the outcome of one check a store makes of itself (Store.Check, and the
// operator's 'roster check').
type CheckResult struct {
	// Name says what was checked: "sqlite integrity_check", "audit sequence", ….
	Name string
	// Detail says what the check covered, such as how many rows it read, so that a
	// pass says something.
	Detail string
	// Problems are what the check found wrong, one sentence each; none means it passed.
	// A check lists at most MaxCheckProblems of them and counts the rest in a last one,
	// so that a badly damaged store still gives a report of readable length.
	Problems []string
}

// MaxCheckProblems is how many problems one check lists.
const MaxCheckProblems = 10

// OK reports whether the check passed.
func (r CheckResult) OK() bool { return len(r.Problems) == 0 }
