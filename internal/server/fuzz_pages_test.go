package server_test

import (
	"net/url"
	"testing"
)

// pageRoutes are the routes of the PYBOSSA and Open edX dialects that read a body or a
// query: method and path, the path's username being the fixture's owner.
var pageRoutes = []struct{ method, path string }{
	{"GET", "/admin/users"},
	{"POST", "/admin/users"},
	{"GET", "/admin/users/add/"},
	{"POST", "/account/signin"},
	{"GET", "/account/signout"},
	{"GET", "/api/user/v1/accounts"},
	{"PATCH", "/api/user/v1/accounts/target"},
	{"PATCH", "/api/user/v1/preferences/target"},
	{"PUT", "/api/user/v1/preferences/target/account_privacy"},
	{"POST", "/api/user/v1/accounts/target/image"},
	{"PUT", "/api/user/v1/preferences/target/time_zone"},
	// BrainSTEM's tokens (issue 15): the password login, the device flow and its page.
	{"POST", "/api/token/"},
	{"POST", "/api/auth/device/"},
	{"POST", "/api/auth/device/token/"},
	{"GET", "/device"},
	{"POST", "/device"},
}

var pageTypes = []string{"application/json", "application/merge-patch+json", "application/x-www-form-urlencoded",
	"multipart/form-data; boundary=b", "image/png", "", "application/merge-patch+json; charset=utf-8"}

// FuzzPages sends the PYBOSSA and Open edX dialects' bodies and queries, as any kind of
// caller: admin searches and sign-in forms in JSON and form encodings, add's id,
// Open edX's merge-patches of accounts and preferences, and image uploads. No input may
// get a 500, and a refused request writes nothing.
func FuzzPages(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, s := range []struct {
		route, ct uint8
		query     string
		body      string
	}{
		{1, 0, "", `{"user": "tess"}`},
		{1, 2, "response_format=json", "user=o&csrf_token=x"},
		{2, 5, "", "3"},
		{3, 2, "next=%2Fadmin%2Fusers", "email=target&password=target-pass-1&csrf_token=x"},
		{5, 0, "username=target,other&view=shared", ""},
		{6, 1, "", `{"bio": "x", "social_links": [{"platform": "x", "social_link": ""}], "language_proficiencies": [{"code": "en"}]}`},
		{6, 1, "", `{"email": "new@example.org", "account_privacy": "", "year_of_birth": "19x"}`},
		{7, 1, "", `{"account_privacy": "custom", "visibility.bio": "all_users", "time_zone": null}`},
		{7, 1, "", `{"time_zone": "Europe/Paris", "pref-lang": "fr", "visibility.time_zone": "all_users", "foo": 1}`},
		{8, 0, "", `"all_users"`},
		{9, 3, "", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b--\r\n"},
		{10, 0, "", `"Europe/Paris"`},
	} {
		f.Add(uint8(1), s.route, s.ct, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, who, route, contentType uint8, query string, body []byte) {
		r := pageRoutes[int(route)%len(pageRoutes)]
		path := r.path
		if r.path == "/admin/users/add/" {
			path += url.PathEscape(string(body))
			body = nil
		}
		if query != "" {
			path += "?" + queryText(query)
		}
		var h []string
		if ct := pageTypes[int(contentType)%len(pageTypes)]; ct != "" {
			h = append(h, "Content-Type", ct)
		}
		if r.method == "GET" {
			body = nil
		}
		fx.do(t, who, r.method, path, string(body), h...)
	})
}
