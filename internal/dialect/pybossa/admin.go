package pybossa

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strconv"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

// maxFound bounds a search's results: PYBOSSA has no bound, but a page of more than
// this many users helps no one; the core's largest page.
const maxFound = 1000

// adminUsersAction is the surface action the core's policy keeps for system
// administrators (PYBOSSA's admins).
const adminUsersAction = "admin_users"

// userRow is a user as the admin page lists it.
type userRow struct {
	ID                        int64
	Name, Fullname, Email     string
	Created                   string
	Admin                     bool
	AddPath, DelPath, IDLabel string
}

// adminData is the admin page's content.
type adminData struct {
	Query    string
	Searched bool
	Users    []userRow
	Found    []userRow
}

// admin finds the caller of an admin route: anonymous callers are sent to sign in,
// callers the core does not let in are refused; ok is false when answered.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) (roster.Actor, context.Context, bool) {
	actor, ok := h.authenticate(w, r)
	if !ok {
		return actor, nil, false
	}
	if actor.Anonymous() {
		h.toSignin(w, r)
		return actor, nil, false
	}
	ctx := roster.NewContextWithActor(r.Context(), actor)
	if err := h.dir.Authorize(ctx, adminUsersAction); err != nil {
		h.writeError(w, r, err)
		return actor, nil, false
	}
	return actor, ctx, true
}

// adminUsers lists the admins (all but the caller, as PYBOSSA does) and, for a POST,
// the users whose login name or full name holds the query.
func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) {
	actor, ctx, ok := h.admin(w, r)
	if !ok {
		return
	}
	var query string
	var searched bool
	if r.Method == http.MethodPost {
		fields, err := readBody(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		query, searched = fields["user"], true
	}
	admins, err := h.dir.ListAccounts(ctx, roster.AccountFilter{Fields: []roster.FieldFilter{roster.Filter("sysadmin", roster.Exact, "true")},
		Limit: maxFound}, roster.ReadOptions{})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	users := others(admins.Records, actor, true)
	var found []*roster.Record
	if query != "" {
		page, err := h.dir.ListAccounts(ctx, roster.AccountFilter{Query: query, QueryAttrs: []string{"username", "name"}, Limit: maxFound},
			roster.ReadOptions{})
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		found = others(page.Records, actor, false)
	}
	var flash *web.Flash
	if query != "" && len(found) == 0 {
		flash = &web.Flash{Status: "message", Message: "We didn't find a user matching your query: " + query}
	} else if f := h.takeFlash(w, r, actor.Username); f != nil {
		flash = f
	}
	token := h.auth.FormToken(w, r, actor, h.cookies)
	if jsonMode(r) {
		var user any // the seed's null before a search
		if searched {
			user = query
		}
		body := map[string]any{"form": map[string]any{"csrf": token, "errors": map[string]any{}, "user": user},
			"found": objects(found), "template": "/admin/users.html", "title": "Manage Admin Users", "users": objects(users)}
		if flash != nil {
			body["flash"], body["status"] = jsonFlash(flash, query), flash.Status
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	h.pages.Render(w, r, http.StatusOK, h.adminPage, web.View{Title: "Manage Admin Users", Caller: actor.Username, CSRF: token, Flash: flash,
		Data: adminData{Query: query, Searched: query != "", Users: rows(users), Found: rows(found)}})
}

// others drops the caller from a list, and restricted users from the list of admins,
// as PYBOSSA's lists do.
func others(recs []*roster.Record, actor roster.Actor, admins bool) []*roster.Record {
	return slices.DeleteFunc(recs, func(rec *roster.Record) bool {
		if rec.ID == actor.AccountID {
			return true
		}
		restricted, _ := rec.Get("restrict")
		return admins && restricted == true
	})
}

func objects(recs []*roster.Record) []map[string]any {
	out := make([]map[string]any, 0, len(recs))
	for _, rec := range recs {
		out = append(out, userObject(rec))
	}
	return out
}

func rows(recs []*roster.Record) []userRow {
	out := make([]userRow, 0, len(recs))
	for _, rec := range recs {
		u := userObject(rec)
		row := userRow{ID: rec.ID, Name: rec.Username, IDLabel: strconv.FormatInt(rec.ID, 10),
			AddPath: fmt.Sprintf("/admin/users/add/%d", rec.ID), DelPath: fmt.Sprintf("/admin/users/del/%d", rec.ID)}
		row.Fullname, _ = u["fullname"].(string)
		row.Email, _ = u["email_addr"].(string)
		row.Created, _ = u["created"].(string)
		row.Admin, _ = u["admin"].(bool)
		out = append(out, row)
	}
	return out
}

// jsonFlash is a flash message in PYBOSSA's JSON wording, which carries HTML: the
// query is escaped into it, as PYBOSSA's Markup does.
func jsonFlash(f *web.Flash, query string) string {
	if f.Status == "message" && query != "" {
		return "<strong>Ooops!</strong> We didn&#39;t find a user matching your query: <strong>" + html.EscapeString(query) + "</strong>"
	}
	return f.Message
}

// setAdmin adds the user to the admins or removes it: a GET, as in PYBOSSA, which is
// why a session's request must come from this site's own pages.
func (h *Handler) setAdmin(w http.ResponseWriter, r *http.Request, admin bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		h.writeStatus(w, r, http.StatusMethodNotAllowed, descriptions[http.StatusMethodNotAllowed])
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 || r.PathValue("id")[0] == '+' {
		h.notFound(w, r) // not an <int:…>: no such route
		return
	}
	actor, ctx, ok := h.admin(w, r)
	if !ok {
		return
	}
	if err := authn.RequireSameOrigin(r, actor); err != nil {
		h.writeError(w, r, err)
		return
	}
	notFound := "User not found"
	if !admin {
		notFound = "User.id not found"
	}
	if id == 0 {
		userNotFound(w, notFound) // PYBOSSA fails on id 0 (500, 415); Roster has no such id
		return
	}
	_, err = h.dir.MergeAccount(ctx, roster.RefID(id), map[string]any{"sysadmin": admin}, roster.WriteOptions{})
	switch {
	case roster.ErrorCode(err) == roster.ENOTFOUND:
		userNotFound(w, notFound)
	case roster.AsError(err).Reason == roster.RLastSysadmin:
		h.redirect(w, r, "/admin/users", &web.Flash{Status: "error", Message: flashes["last_admin"]}, "last_admin")
	case err != nil:
		h.writeError(w, r, err)
	default:
		h.redirect(w, r, "/admin/users", nil, "")
	}
}
