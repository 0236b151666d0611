"""Drive Roster's PYBOSSA dialect as PYBOSSA's users' scripts do, with requests.

Usage: pybossa_check.py BASE_URL ADMIN_LOGIN ADMIN_PASSWORD ADMIN_KEY USER_KEY

The admin signs in through /account/signin in JSON mode, lists the admins, searches with
the form's CSRF token (the sequence of PYBOSSA's docs), adds and removes an admin, and
signs out; the same calls are made with an API key (?api_key= and Authorization), and
refusals are checked. Every response is checked; the first difference stops the script.
"""
import sys

import requests

base, login, password, admin_key, user_key = sys.argv[1:6]
JSON = {"Content-Type": "application/json"}


def check(cond, what, r=None):
    if not cond:
        detail = "" if r is None else " (%d %s)" % (r.status_code, r.text[:300])
        sys.exit("FAILED: " + what + detail)


print("requests", requests.__version__)

# A browser-like session: cookies kept, redirects not followed.
s = requests.Session()
r = s.get(base + "/admin/users", headers=JSON, allow_redirects=False)
check(r.status_code == 302 and r.headers["Location"] == "/account/signin?next=%2Fadmin%2Fusers", "anonymous is sent to sign in", r)
print("anonymous GET /admin/users:", r.status_code, r.headers["Location"])

r = s.get(base + "/account/signin", headers=JSON)
form = r.json()["form"]
print("GET /account/signin form keys:", sorted(form))
r = s.post(base + "/account/signin", json={"email": login, "password": "not the password"},
           headers={"X-CSRFToken": form["csrf"]})
check(r.json().get("flash") == "Ooops, Incorrect email/password", "a wrong password is refused", r)
print("wrong password:", r.json()["flash"], r.json()["status"])
r = s.post(base + "/account/signin", json={"email": "nobody@example.org", "password": "not the password"},
           headers={"X-CSRFToken": form["csrf"]})
check(r.json().get("flash") == "Ooops, Incorrect email/password", "an unknown account gets the same answer", r)
r = s.post(base + "/account/signin", json={"email": login, "password": password}, headers={"X-CSRFToken": form["csrf"]})
check(r.json().get("status") == "success", "the admin signs in", r)
print("sign-in:", r.json())

# The sequence PYBOSSA's docs give: GET for form.csrf, then POST with X-CSRFToken.
r = s.get(base + "/admin/users", headers=JSON)
page = r.json()
check(r.status_code == 200 and list(page) == sorted(page), "the page's keys are sorted", r)
print("GET /admin/users keys:", list(page), "form:", {k: v for k, v in page["form"].items() if k != "csrf"},
      "admins:", [u["name"] for u in page["users"]])
print("user object keys:", sorted(page["users"][0]) if page["users"] else [])
r = s.post(base + "/admin/users", json={"user": "joe"}, headers={"X-CSRFToken": page["form"]["csrf"], **JSON})
found = r.json()["found"]
check(r.status_code == 200 and [u["name"] for u in found] == ["joe"], "the search finds joe", r)
print("POST /admin/users user=joe found:", [(u["name"], u["fullname"], u["admin"]) for u in found],
      "api_key:", repr(found[0]["api_key"]), "passwd_hash:", repr(found[0]["passwd_hash"]))
r = s.post(base + "/admin/users", json={"user": "joe"}, headers=JSON)
check(r.status_code == 400 and r.json()["description"] == "CSRF validation failed.", "a POST without the token is refused", r)
print("POST without X-CSRFToken:", r.status_code, r.json())
r = s.post(base + "/admin/users", json={"user": "nothingexists"}, headers={"X-CSRFToken": page["form"]["csrf"], **JSON})
print("no match:", r.json()["flash"], r.json()["status"])

# add and del: GETs; a script with a session cookie says where it comes from.
joe = found[0]["id"]
here = {"Referer": base + "/admin/users", **JSON}
r = s.get(base + "/admin/users/add/%d" % joe, headers=JSON)
check(r.status_code == 403, "a GET change through a session without its origin is refused", r)
print("add without Referer:", r.status_code, r.json()["description"])
r = s.get(base + "/admin/users/add/%d" % joe, headers=here)
check(r.json() == {"next": "/admin/users"}, "add", r)
print("add:", r.json())
r = s.get(base + "/admin/users", headers=JSON)
check("joe" in [u["name"] for u in r.json()["users"]], "joe is an admin", r)
r = s.get(base + "/admin/users/del/%d" % joe, headers=here)
check(r.json() == {"next": "/admin/users"}, "del", r)
print("del:", r.json())
r = s.get(base + "/admin/users/add/999999", headers=here)
print("add of an unknown id:", r.status_code, r.json())
r = s.post(base + "/admin/users/add/%d" % joe, headers=here)
print("POST to add:", r.status_code, r.json())

r = s.get(base + "/account/signout", headers=here)
print("sign-out:", r.json())
r = s.get(base + "/admin/users", headers=JSON, allow_redirects=False)
check(r.status_code == 302, "signed out", r)

# API keys, as PYBOSSA takes them: ?api_key= and the raw Authorization header.
r = requests.get(base + "/admin/users", params={"api_key": admin_key, "response_format": "json"})
check(r.status_code == 200, "?api_key= of an admin", r)
print("?api_key= admins:", [u["name"] for u in r.json()["users"]])
r = requests.get(base + "/admin/users", headers={"Authorization": admin_key, **JSON})
check(r.status_code == 200, "Authorization of an admin", r)
r = requests.get(base + "/admin/users/add/%d" % joe, params={"api_key": admin_key, "response_format": "json"})
check(r.json() == {"next": "/admin/users"}, "add by key", r)
r = requests.get(base + "/admin/users/del/%d" % joe, params={"api_key": admin_key, "response_format": "json"})
print("add and del by key:", r.json())
r = requests.get(base + "/admin/users", headers={"Authorization": user_key, **JSON})
check(r.status_code == 403, "a user who is no admin", r)
print("a user's key:", r.status_code, r.json())
r = requests.get(base + "/admin/users", params={"api_key": "rk_unknown"}, headers=JSON, allow_redirects=False)
check(r.status_code == 302, "an unknown key is no key", r)
print("an unknown key:", r.status_code, r.headers["Location"])
print("all checks passed")
