package server_test

import (
	"net/url"
	"testing"
)

var brainstemPortals = []string{"public", "private", "super", "nope"}

// FuzzBrainSTEMUsers calls BrainSTEM's users endpoint through the production handler,
// from each kind of caller, on each portal: the list with any query string (dynamic-rest's
// filter{…}, sort[], limit and offset, raw or percent-encoded), or a PATCH of any user
// with any body. No input may get a 500, and a refused call writes nothing.
func FuzzBrainSTEMUsers(f *testing.F) {
	fx := newFuzzFixture(f)
	f.Add(uint8(0), uint8(2), false, "", "filter{email.icontains}=a%20b&filter{first_name}=Pe&sort[]=-last_name&include[]=groups.*", []byte(nil))
	f.Add(uint8(1), uint8(1), true, "target", "", []byte(`{"website": "www.someweb.com", "email": "x"}`))
	f.Add(uint8(0), uint8(2), true, "1", "", []byte(`{"is_superuser": false}`))
	f.Add(uint8(3), uint8(0), false, "", "filter%7B-id.in%7D=1,2&limit=0&offset=-5&sort%5B%5D=nonsense", []byte(nil))
	f.Fuzz(func(t *testing.T, who uint8, portal uint8, patch bool, ref, query string, body []byte) {
		base := "/api/" + brainstemPortals[int(portal)%len(brainstemPortals)] + "/users/user/"
		if !patch {
			path := base
			if query != "" {
				path += "?" + queryText(query)
			}
			fx.do(t, who, "GET", path, "")
			return
		}
		if ref == "" {
			ref = "2"
		}
		fx.do(t, who, "PATCH", base+url.PathEscape(ref)+"/", string(body), "Content-Type", "application/json")
	})
}
