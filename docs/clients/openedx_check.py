"""Drive Roster's Open edX dialect as Open edX's account micro-frontend and scripts do.

Usage: openedx_check.py BASE_URL USERNAME PASSWORD OTHER_USERNAME STAFF_KEY

The calls follow frontend-app-account's src/account-settings/data/service.js and
frontend-platform's CSRF handling: a browser session, the CSRF token from
/csrf/api/v1/token sent as X-CSRFToken, GET of the account, merge-patches as the
settings page sends them, field_errors shown by user_message, the time zone and site
language saved as preferences; then a third-party script's GET /accounts?username=a,b
with a bearer token, and a staff lookup by email.
Every response is checked; the first difference stops the script.
"""
import sys

import requests

base, username, password, other, staff_key = sys.argv[1:6]
MERGE = {"Content-Type": "application/merge-patch+json"}


def check(cond, what, r=None):
    if not cond:
        detail = "" if r is None else " (%d %s)" % (r.status_code, r.text[:400])
        sys.exit("FAILED: " + what + detail)


print("requests", requests.__version__)
s = requests.Session()
r = s.get(base + "/api/user/v1/accounts/" + username)
check(r.status_code == 401 and r.json() == {"detail": "Authentication credentials were not provided."}, "anonymous is refused", r)
print("anonymous GET:", r.status_code, r.json(), r.headers.get("WWW-Authenticate"))

r = s.post(base + "/v1/session", json={"username": username, "password": password})
check(r.status_code == 201, "sign-in", r)
r = s.get(base + "/csrf/api/v1/token")
csrf = r.json()["csrfToken"]
check(r.status_code == 200 and csrf, "CSRF token", r)
print("csrf token: %d characters" % len(csrf))

r = s.get(base + "/api/user/v1/accounts/" + username)
account = r.json()
check(r.status_code == 200 and len(account) == 30, "own account, full view", r)
print("own account keys:", list(account))
print("profile_image:", sorted(account["profile_image"]))

# The settings page saves one field at a time, as merge-patches.
patches = [
    {"name": "Alice Example"},
    {"bio": "Physicist."},
    {"country": "NO"},
    {"language_proficiencies": [{"code": "nb"}]},
    {"social_links": [{"platform": "linkedin", "social_link": "https://www.linkedin.com/in/alice-example/"}]},
    {"year_of_birth": None},
    {"level_of_education": "other"},
]
for patch in patches:
    r = s.patch(base + "/api/user/v1/accounts/" + username, json=patch, headers={**MERGE, "X-CSRFToken": csrf})
    check(r.status_code == 200, "PATCH %s" % patch, r)
    key = list(patch)[0]
    print("PATCH %s -> %s: %r" % (key, r.status_code, r.json()[key]))
r = s.patch(base + "/api/user/v1/accounts/" + username, json={"bio": "x"}, headers=MERGE)
check(r.status_code == 403, "a PATCH without the CSRF token", r)
print("PATCH without X-CSRFToken:", r.status_code, r.json())
r = s.patch(base + "/api/user/v1/accounts/" + username, json={"gender": "x", "country": "XY"}, headers={**MERGE, "X-CSRFToken": csrf})
errors = r.json()["field_errors"]
check(r.status_code == 400 and sorted(errors) == ["country", "gender"], "field errors", r)
print("field_errors user messages:", {k: v["user_message"] for k, v in errors.items()})
r = s.patch(base + "/api/user/v1/accounts/" + username, json={"bio": "x"}, headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
check(r.status_code == 415, "JSON instead of merge-patch", r)
print("application/json:", r.status_code, r.json())

# The profile page shares fields through the preferences API.
r = s.patch(base + "/api/user/v1/preferences/" + username,
            json={"account_privacy": "custom", "visibility.bio": "all_users", "visibility.name": "all_users", "visibility.country": "private"},
            headers={**MERGE, "X-CSRFToken": csrf})
check(r.status_code == 204, "preferences", r)
# The settings page saves the time zone (patchSettings) and the site language
# (site-language's patchPreferences, pref_lang sent as pref-lang) as preferences.
for prefs in ({"time_zone": "Europe/Oslo"}, {"pref-lang": "nb"}):
    r = s.patch(base + "/api/user/v1/preferences/" + username, json=prefs, headers={**MERGE, "X-CSRFToken": csrf})
    check(r.status_code == 204, "PATCH preferences %s" % prefs, r)
r = s.patch(base + "/api/user/v1/preferences/" + username, json={"time_zone": "Asia/Africa"}, headers={**MERGE, "X-CSRFToken": csrf})
check(r.status_code == 400 and list(r.json()["field_errors"]) == ["time_zone"], "an unknown time zone", r)
print("unknown time zone:", r.status_code, r.json()["field_errors"]["time_zone"]["user_message"])
r = s.get(base + "/api/user/v1/preferences/" + username)
check(r.status_code == 200 and r.json().get("time_zone") == "Europe/Oslo" and r.json().get("pref-lang") == "nb", "preferences read back", r)
print("preferences:", r.json())
r = s.get(base + "/api/user/v1/accounts/" + username)
check(r.status_code == 200 and r.json()["language"] == "nb" and r.json()["time_zone"] is None, "language and time_zone in the account", r)
print("account language, time_zone:", r.json()["language"], r.json()["time_zone"])

# A third-party script with a bearer token, and a staff service looking up by email.
bearer = {"Authorization": "Bearer " + staff_key}
r = requests.get(base + "/api/user/v1/accounts", params={"username": username + "," + other}, headers=bearer)
check(r.status_code == 200 and len(r.json()) == 2, "accounts by username", r)
print("accounts?username=a,b:", sorted(a["username"] for a in r.json()))
r = requests.get(base + "/api/user/v1/accounts", params={"email": account["email"]}, headers=bearer)
check(r.status_code == 200 and r.json()[0]["username"] == username, "staff lookup by email", r)
print("accounts?email= (staff):", [a["username"] for a in r.json()])
r = s.get(base + "/api/user/v1/accounts/" + other)
print("another user's account, as a user:", r.status_code, sorted(r.json()))
print("all checks passed")
