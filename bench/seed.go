// Package bench holds Roster's benchmarks: Go benchmarks of the store on both engines
// (go test -bench . ./bench/) and the load script load.sh, which measures the HTTP API
// and the import against baselines taken in the same run. docs/benchmarks.md has the
// figures and the commands that made them.
package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Account returns the n-th synthetic account: realistic sizes, a few profile
// attributes, distinct usernames and emails.
func Account(n int) *roster.Account {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	return &roster.Account{
		UUID:      fmt.Sprintf("%08x-0000-4000-8000-%012x", n, r.Uint64()&0xffffffffffff),
		Username:  fmt.Sprintf("user%06d", n),
		Email:     fmt.Sprintf("user%06d@example.org", n),
		Name:      first + " " + last,
		FirstName: first,
		LastName:  last,
		State:     roster.StateActive,
		CreatedAt: created,
		UpdatedAt: created,
		Profile: map[string]any{
			"bio":          "Researcher in " + fields[r.IntN(len(fields))] + ".",
			"country":      countries[r.IntN(len(countries))],
			"organization": "University of " + lastNames[r.IntN(len(lastNames))],
			"orcid":        fmt.Sprintf("0000-0002-%04d-%04d", r.IntN(10000), r.IntN(10000)),
			"privacy":      "all_users",
		},
	}
}

// CSVHeader and CSVRow write the same accounts as an import file.
const CSVHeader = "username,email,name,bio,country,organization,orcid,privacy\n"

func CSVRow(n int) string {
	a := Account(n)
	p := a.Profile
	return fmt.Sprintf("%s,%s,%s,%s,%s,%s,%s,%s\n", a.Username, a.Email, a.Name, p["bio"], p["country"], p["organization"], p["orcid"], p["privacy"])
}

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Katherine", "Niklaus", "Radia", "Tim"}
	lastNames  = []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy", "Johnson", "Wirth", "Perlman", "Berners-Lee"}
	fields     = []string{"neuroscience", "energy systems", "genomics", "climate science", "education research", "materials science"}
	countries  = []string{"US", "DK", "DE", "FR", "GB", "JP", "BR", "IN"}
)
