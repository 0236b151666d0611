package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestNoSecretLeaves drives every path that handles a password, a key or a session
// token, then searches every response, every log line and every audit entry for them.
func TestNoSecretLeaves(t *testing.T) {
	te := newTestEnv(t)
	dbPath := strings.TrimPrefix(te.db, "sqlite://")
	secrets := map[string]string{} // value → what it is
	add := func(what, v string) { secrets[v] = what }
	add("admin password", "admin-Password-1")
	te.vars["ROSTER_ADMIN_PASSWORD"] = "admin-Password-1"
	srv := te.serve(t, "--log-level", "debug")

	var seen bytes.Buffer // everything the server said
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	var sessionTokens []string
	send := func(method, path, body string, keepBody bool, header ...string) string {
		t.Helper()
		req, _ := http.NewRequest(method, srv.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for k, vs := range resp.Header {
			if k == "Set-Cookie" { // the one place a session token must go
				for _, v := range vs {
					if m := regexp.MustCompile(`roster_session=([^;]+)`).FindStringSubmatch(v); m != nil && m[1] != "" {
						sessionTokens = append(sessionTokens, m[1])
					}
				}
				continue
			}
			fmt.Fprintf(&seen, "%s: %s\n", k, strings.Join(vs, ","))
		}
		if keepBody {
			seen.Write(b)
		}
		return string(b)
	}

	adminKey := strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "admin"))
	add("admin key", adminKey)
	auth := []string{"Authorization", "Bearer " + adminKey}
	send("POST", "/v1/users", `{"username":"alice","email":"alice@example.org","password":"alice-Password-1"}`, true, auth...)
	add("alice password 1", "alice-Password-1")
	created := send("POST", "/v1/users/alice/keys", `{"label":"k"}`, false, auth...) // carries the key, by design
	aliceKey := regexp.MustCompile(`"key":"(rk_[0-9a-f]+)"`).FindStringSubmatch(created)[1]
	add("alice key", aliceKey)
	send("PATCH", "/v1/users/alice", `{"password":"alice-Password-2","bio":"b"}`, true, auth...)
	add("alice password 2", "alice-Password-2")
	send("PUT", "/v1/users/alice/password", `{"password":"alice-Password-3","current_password":"alice-Password-2"}`, true, "Authorization", "Bearer "+aliceKey)
	add("alice password 3", "alice-Password-3")
	send("PUT", "/v1/users/alice/password", `{"password":"x-Password-4","current_password":"wrong-Guess-5"}`, true, "Authorization", "Bearer "+aliceKey)
	add("attempted password", "x-Password-4")
	add("wrong current password", "wrong-Guess-5")
	send("POST", "/v1/session", `{"login":"alice","password":"wrong-Guess-6"}`, true)
	add("wrong password", "wrong-Guess-6")
	login := send("POST", "/v1/session", `{"login":"alice","password":"alice-Password-3"}`, true)
	csrf := regexp.MustCompile(`"csrf_token":"([^"]+)"`).FindStringSubmatch(login)[1]
	send("PATCH", "/v1/me", `{"bio":"c"}`, true, "X-CSRF-Token", csrf)
	send("GET", "/v1/me?api_key="+aliceKey, "", true) // PYBOSSA-style key in the query string
	bad := "rk_" + strings.Repeat("ab", 32)
	add("a wrong key", bad)
	send("GET", "/v1/me", "", true, "Authorization", "Bearer "+bad)
	send("GET", "/v1/me", "", true, "X-CKAN-API-Key", "typo-"+adminKey)
	send("GET", "/v1/users?q=alice", "", true, auth...)
	send("GET", "/v1/users/alice/keys", "", true, auth...)
	send("DELETE", "/v1/session", "", true, "X-CSRF-Token", csrf)
	// The CKAN dialect: passwords in, keys in its headers, user_metadata asked for secrets.
	send("POST", "/api/3/action/user_create", `{"name": "ckanuser", "email": "ckan@example.org", "password": "ckan-Password-9"}`, true, "X-CKAN-API-Key", adminKey)
	add("CKAN password", "ckan-Password-9")
	send("POST", "/api/3/action/user_update", `{"id": "ckanuser", "email": "ckan@example.org", "password": "ckan-Password-10"}`, true, "EDX-API-Key", adminKey)
	add("CKAN new password", "ckan-Password-10")
	send("POST", "/api/3/action/user_metadata", `{"ids": ["ckanuser", "alice"], "fields": ["*"]}`, true, "Authorization", adminKey)
	send("POST", "/api/3/action/user_show", `{"id": "alice"}`, true, "X-CKAN-API-Key", "typo-"+aliceKey)
	send("GET", "/api/3/action/user_list?callback=cb", "", true, "X-CKAN-API-Key", adminKey)
	// An email change through Open edX: the confirmation link's key is in the outbox's
	// message only, and its page's address never reaches the log.
	send("PATCH", "/api/user/v1/accounts/alice", `{"email": "alice@new.example.org"}`, true,
		"Authorization", "Bearer "+aliceKey, "Content-Type", "application/merge-patch+json")
	send("GET", "/v1/outbox", "", true, auth...)
	message := send("GET", "/v1/outbox/1", "", false, auth...) // carries the link, by design
	confirmKey := regexp.MustCompile(`/email_confirm/([A-Za-z0-9_-]+)`).FindStringSubmatch(message)[1]
	add("email confirmation key", confirmKey)
	page := send("GET", "/email_confirm/"+confirmKey, "", true)
	formToken := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	// An uncleaned path is redirected (308) to the page, and both are logged without
	// the key.
	if done := send("POST", "//email_confirm/"+confirmKey, "csrf_token="+formToken, true, "Content-Type", "application/x-www-form-urlencoded"); !strings.Contains(done, "Email address changed") {
		t.Fatalf("the confirmation: %.300s", done)
	}
	send("GET", "/email_confirm/"+confirmKey, "", true)
	// The REDCap dialect: a project token made at the command line, sent as a form field.
	te.mustCLI(t, "", "projects", "create", "--title", "P", "--forms", "f1")
	te.mustCLI(t, "", "projects", "add-user", "--project", "1", "--username", "alice", "--rights-json", `{"api_export":1,"api_import":1,"user_rights":1}`)
	redcapToken := strings.TrimSpace(te.mustCLI(t, "", "projects", "token", "--project", "1", "--username", "alice"))
	add("REDCap token", redcapToken)
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	send("POST", "/api/", "token="+redcapToken+"&content=user&format=json", true, form...)
	send("POST", "/api/", "token="+redcapToken+"&content=user&format=json&data=%5B%7B%22username%22%3A%22carol%22%2C%22design%22%3A9%7D%5D", true, form...)
	send("POST", "/api/", "token="+redcapToken+"&content=user&returnFormat=json&data=%5B%7B%22username%22%3A%22carol%22%7D%5D", true, form...)
	wrongToken := strings.Repeat("0", 31) + "1"
	add("a wrong REDCap token", wrongToken)
	send("POST", "/api/", "token="+wrongToken+"&content=project&format=json", true, form...)
	send("GET", "/api/?token="+redcapToken, "", true)
	te.mustCLI(t, "cli-Password-7\n", "users", "set-password", "alice", "--password-stdin")
	add("CLI password", "cli-Password-7")
	imp := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(imp, []byte("username,email,password\nbob,bob@example.org,import-Password-8\n"), 0o600)
	_, _, importErrs := te.cli(t, "", "users", "import", imp)
	seen.WriteString(importErrs)
	add("imported password", "import-Password-8")
	exported := te.mustCLI(t, "", "users", "export", "--format", "json")
	seen.WriteString(exported)
	send("GET", "/v1/audit?limit=1000", "", true, auth...)
	for _, tok := range sessionTokens {
		add("session token", tok)
	}
	if len(sessionTokens) == 0 {
		t.Fatal("no session was opened")
	}

	// The stored hashes are secrets too, and so are the key hashes.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT password_hash FROM accounts WHERE password_hash IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		rows.Scan(&h)
		add("password hash", h)
		parts := strings.Split(h, "$")
		add("password hash digest", parts[len(parts)-1])
		add("password salt", parts[len(parts)-2])
	}
	rows.Close()
	for _, k := range []string{adminKey, aliceKey, redcapToken, confirmKey} {
		sum := sha256.Sum256([]byte(k))
		add("key hash (hex)", hex.EncodeToString(sum[:]))
		add("key hash (base64)", base64.StdEncoding.EncodeToString(sum[:]))
	}
	var audit strings.Builder
	arows, err := db.Query("SELECT seq, action, target_name, changes FROM audit_log")
	if err != nil {
		t.Fatal(err)
	}
	for arows.Next() {
		var seq int64
		var action, target, changes string
		arows.Scan(&seq, &action, &target, &changes)
		fmt.Fprintf(&audit, "%d %s %s %s\n", seq, action, target, changes)
	}
	arows.Close()
	if !strings.Contains(audit.String(), `["password"]`) {
		t.Fatal("no password change was audited as redacted")
	}
	srv.stop()

	for where, text := range map[string]string{
		"responses":      seen.String(),
		"server log":     srv.stderr.String(),
		"server stdout":  srv.stdout.String(),
		"audit log":      audit.String(),
		"CLI import log": importErrs,
	} {
		for v, what := range secrets {
			if len(v) >= 8 && strings.Contains(text, v) {
				t.Errorf("the %s contain the %s", where, what)
			}
		}
	}
	if n := len(secrets); n < 20 {
		t.Fatalf("only %d secrets were tracked; the scenario did not run", n)
	}
}
