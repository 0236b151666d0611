package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/api"
)

// TestOpenAPICoversEveryRoute checks the served document against the routes the API
// registers: each one must be described, and nothing described must be missing.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		r := s.do(t, call{method: "GET", path: "/v1/openapi.json"}).want(t, 200)
		if r.json["openapi"] != "3.1.0" {
			t.Fatalf("openapi = %v", r.json["openapi"])
		}
		paths := r.json["paths"].(map[string]any)
		described := map[string]bool{}
		for p, item := range paths {
			for m := range item.(map[string]any) {
				if m != "parameters" {
					described[strings.ToUpper(m)+" "+p] = true
				}
			}
		}
		registered := api.Routes()
		for _, rt := range registered {
			if !described[rt] {
				t.Errorf("route %s is not in the OpenAPI document", rt)
			}
			delete(described, rt)
		}
		for rt := range described {
			t.Errorf("the OpenAPI document describes %s, which is not registered", rt)
		}
		// Every $ref resolves.
		schemas := r.json["components"].(map[string]any)["schemas"].(map[string]any)
		for _, ref := range strings.Split(string(r.raw), `"$ref": "#/components/schemas/`)[1:] {
			name := ref[:strings.Index(ref, `"`)]
			if schemas[name] == nil {
				t.Errorf("$ref to undefined schema %q", name)
			}
		}
		// The account schema is the profile schema.
		props := schemas["Account"].(map[string]any)["properties"].(map[string]any)
		if props["orcid"] == nil || props["password"] != nil {
			t.Fatalf("Account schema has orcid=%v password=%v", props["orcid"], props["password"])
		}
		if !strings.Contains(props["orcid"].(map[string]any)["description"].(string), "brainstem: orcid_id") {
			t.Fatalf("orcid description %v", props["orcid"])
		}
		// And every registered route is really served (none answers with the catch-all).
		for _, rt := range registered {
			method, path, _ := strings.Cut(rt, " ")
			path = strings.NewReplacer("{ref}", "1", "{id}", "1", "{username}", "alice").Replace(path)
			req, _ := http.NewRequest(method, s.URL+path, nil)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s is registered but answers 405", rt)
			}
		}
	})
}
