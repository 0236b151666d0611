package api

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// route is one operation of the API. The table is the whole API surface; the OpenAPI
// document must describe every entry (openapi_test.go checks).
type route struct {
	method, pattern string
	access          access
	handle          func(h *Handler, w http.ResponseWriter, r *http.Request) error
}

var routes = []route{
	{"GET", "/v1/openapi.json", open, (*Handler).openapi},
	{"GET", "/v1/schema", signedIn, (*Handler).schema},
	{"POST", "/v1/session", signIn, (*Handler).login},
	{"GET", "/v1/session", signedIn, (*Handler).session},
	{"DELETE", "/v1/session", open, (*Handler).logout},

	{"GET", "/v1/me", signedIn, (*Handler).getMe},
	{"PATCH", "/v1/me", signedIn, (*Handler).patchMe},
	{"GET", "/v1/users", signedIn, (*Handler).listUsers},
	{"POST", "/v1/users", signedIn, (*Handler).createUser},
	{"GET", "/v1/users/{ref}", signedIn, (*Handler).getUser},
	{"PATCH", "/v1/users/{ref}", signedIn, (*Handler).patchUser},
	{"DELETE", "/v1/users/{ref}", signedIn, stateHandler(roster.StateDeleted)},
	{"POST", "/v1/users/{ref}/deactivate", signedIn, stateHandler(roster.StateDeactivated)},
	{"POST", "/v1/users/{ref}/activate", signedIn, stateHandler(roster.StateActive)},
	{"PUT", "/v1/users/{ref}/password", signedIn, (*Handler).setPassword},
	{"GET", "/v1/users/{ref}/access", signedIn, (*Handler).accountAccess},

	{"GET", "/v1/users/{ref}/keys", signedIn, (*Handler).listKeys},
	{"POST", "/v1/users/{ref}/keys", signedIn, (*Handler).createKey},
	{"DELETE", "/v1/keys/{id}", signedIn, (*Handler).revokeKey},
	// An account's OAuth2 token families are its credentials too, listed and revoked
	// beside its keys.
	{"GET", "/v1/users/{ref}/oauth2-grants", signedIn, (*Handler).listOAuthGrants},
	{"DELETE", "/v1/oauth2/grants/{id}", signedIn, (*Handler).revokeOAuthGrant},

	{"GET", "/v1/roles", signedIn, (*Handler).roles},
	{"GET", "/v1/groups", signedIn, (*Handler).listGroups},
	{"POST", "/v1/groups", signedIn, (*Handler).createGroup},
	{"GET", "/v1/groups/{id}", signedIn, (*Handler).getGroup},
	{"PATCH", "/v1/groups/{id}", signedIn, (*Handler).patchGroup},
	{"DELETE", "/v1/groups/{id}", signedIn, (*Handler).deleteGroup},
	{"PUT", "/v1/groups/{id}/members/{ref}", signedIn, (*Handler).putMember},
	{"DELETE", "/v1/groups/{id}/members/{ref}", signedIn, (*Handler).deleteMember},

	{"GET", "/v1/projects", signedIn, (*Handler).listProjects},
	{"POST", "/v1/projects", signedIn, (*Handler).createProject},
	{"GET", "/v1/projects/{id}", signedIn, (*Handler).getProject},
	{"POST", "/v1/projects/{id}/forms", signedIn, (*Handler).addProjectForms},
	{"GET", "/v1/projects/{id}/members", signedIn, (*Handler).listProjectMembers},
	{"GET", "/v1/projects/{id}/members/{username}", signedIn, (*Handler).getProjectMember},
	{"PUT", "/v1/projects/{id}/members/{username}", signedIn, (*Handler).putProjectMember},
	{"DELETE", "/v1/projects/{id}/members/{username}", signedIn, (*Handler).deleteProjectMember},
	{"POST", "/v1/projects/{id}/members/{username}/token", signedIn, (*Handler).issueProjectToken},
	{"DELETE", "/v1/projects/{id}/members/{username}/token", signedIn, (*Handler).revokeProjectToken},
	{"GET", "/v1/projects/{id}/roles", signedIn, (*Handler).listProjectRoles},
	{"GET", "/v1/projects/{id}/dags", signedIn, (*Handler).listProjectDAGs},

	{"GET", "/v1/projects/{id}/access", signedIn, (*Handler).projectAccess},

	{"GET", "/v1/policy", signedIn, (*Handler).getPolicy},
	{"PUT", "/v1/policy/{name}", signedIn, (*Handler).putPolicySetting},
	{"DELETE", "/v1/policy/{name}", signedIn, (*Handler).deletePolicySetting},

	{"GET", "/v1/audit", signedIn, (*Handler).audit},

	{"GET", "/v1/outbox", signedIn, (*Handler).listOutbox},
	{"GET", "/v1/outbox/{id}", signedIn, (*Handler).getMessage},

	{"GET", "/v1/oauth2/applications", signedIn, (*Handler).listOAuthApps},
	{"POST", "/v1/oauth2/applications", signedIn, (*Handler).createOAuthApp},
	{"GET", "/v1/oauth2/applications/{id}", signedIn, (*Handler).getOAuthApp},
	{"PATCH", "/v1/oauth2/applications/{id}", signedIn, (*Handler).patchOAuthApp},
	{"DELETE", "/v1/oauth2/applications/{id}", signedIn, (*Handler).revokeOAuthApp},
	{"POST", "/v1/oauth2/applications/{id}/secret", signedIn, (*Handler).rotateOAuthSecret},
	{"GET", "/v1/oauth2/signing-keys", signedIn, (*Handler).listSigningKeys},
	{"POST", "/v1/oauth2/signing-keys", signedIn, (*Handler).rotateSigningKeys},
	{"DELETE", "/v1/oauth2/signing-keys/{kid}", signedIn, (*Handler).retireSigningKey},
}

// Register adds every route to the router, so the route's pattern labels metrics and
// logs.
func (h *Handler) Register(mux *httpx.Router) {
	for _, rt := range routes {
		handle := rt.handle
		mux.Handle(h.surface, rt.method+" "+rt.pattern, h.serve(rt.access, func(w http.ResponseWriter, r *http.Request) error {
			return handle(h, w, r)
		}))
	}
	// Anything else under /v1/ gets the native error shape: 405 with Allow when the path
	// exists under other methods, else 404.
	probe := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		if _, seen := allowed[rt.pattern]; !seen {
			probe.Handle(rt.pattern, http.NotFoundHandler())
		}
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
	}
	mux.HandleFunc(h.surface, "/v1/", func(w http.ResponseWriter, r *http.Request) {
		if _, pat := probe.Handler(r); len(allowed[pat]) > 0 {
			w.Header().Set("Allow", strings.Join(allowed[pat], ", "))
			httpx.WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": map[string]any{
				"code": "method_not_allowed", "message": "Use " + strings.Join(allowed[pat], " or ") + " for this path."}})
			return
		}
		httpx.WriteJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"code": "not_found", "message": "No such API path; see /v1/openapi.json."}})
	})
}

// Routes lists "METHOD pattern" of every operation, for the OpenAPI coverage test.
func Routes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + rt.pattern
	}
	return out
}
