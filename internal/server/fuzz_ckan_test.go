package server_test

import (
	"net/url"
	"testing"
)

// ckanActions are CKAN's user actions Roster serves, and one it does not.
var ckanActions = []string{"user_show", "user_list", "user_create", "user_update", "user_patch", "user_delete", "user_metadata", "package_show"}

// ckanTypes are the content types CKAN's clients send (see requestData).
var ckanTypes = []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZfuzzBoundary", "", "text/plain"}

// FuzzCKANAction calls CKAN's actions through the production handler, from each kind of
// caller, by GET with any query string or by POST with any body in each content type
// CKAN's clients use. The dialect translates (names, user_list's q, order_by, limit and
// offset, JSONP) and the core decides: no input may get a 500, and a refused call writes
// nothing.
func FuzzCKANAction(f *testing.F) {
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, who uint8, action uint8, get bool, contentType uint8, query string, body []byte) {
		path := "/api/3/action/" + url.PathEscape(ckanActions[int(action)%len(ckanActions)])
		if query != "" {
			path += "?" + queryText(query)
		}
		method, h := "POST", []string{"User-Agent", "ckanapi/4.11 (+https://github.com/ckan/ckanapi)"}
		if get {
			method, body = "GET", nil
		} else if ct := ckanTypes[int(contentType)%len(ckanTypes)]; ct != "" {
			h = append(h, "Content-Type", ct)
		}
		fx.do(t, who, method, path, string(body), h...)
	})
}
