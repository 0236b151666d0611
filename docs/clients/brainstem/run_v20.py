#!/usr/bin/python3 -s
"""brainstem_python_api_tools v2.0 (BrainstemClient load/save/delete) against Roster.

    ROSTER_URL=http://127.0.0.1:8080 ADMIN_USER=admin ADMIN_PASSWORD=... TARGET=17 \
        /usr/bin/python3 -s run_v20.py

The untouched v2.0 package (./v20) is copied into a temporary folder and imported by a
child python (same interpreter) started under pexpect, with HOME pointed at a temporary
folder (the client caches its token in $HOME/.config/brainstem/token). The child makes
BrainstemClient(headless=True, url=ROSTER_URL): no cached token, so the client runs the
device flow and prints "Open <verification_uri> and enter: <user_code>", then polls.
This script reads that line, signs in on Roster's web page as a person (APPROVER_USER,
default ADMIN_USER) with requests and approves the code on Roster's approval page
(approve_device() below: the one place to adjust to the page as built). The child then,
with the token it got: checks the token cache, lists users with filters, sort, include,
limit and offset, load_all (pages of LIST_PAGE), loads TARGET, PATCHes its website,
tries a POST without id, deletes TARGET, loads it again (404) and tries load_all with a
bad token (AuthenticationError).

Environment:
  ROSTER_URL, ADMIN_USER, ADMIN_PASSWORD, TARGET   required (TARGET: a user id; it is deleted)
  APPROVER_USER, APPROVER_PASSWORD   who approves the device code (default: the admin);
                     the token belongs to this person, so it must be an administrator for
                     the super portal, PATCH of TARGET and DELETE
  PORTAL        portal for every call (default super)
  LIST_FILTER   JSON dict of filters     (default {"email.icontains": "@"})
  LIST_SORT     comma-separated sort     (default -last_name,email)
  LIST_INCLUDE  comma-separated include  (default groups -> include[]=groups.*; set "" for none)
  LIST_PAGE     limit for the page and load_all's page size (default 2); offset is 1
  DEVICE_TIMEOUT  seconds to wait for the client after approval (default 120)
  APPROVE_DELAY seconds to wait before approving, so the client sees authorization_pending (default 0)
  CHECK_DENY=1  first run a device flow that is denied (decision=deny) and expect AuthenticationError
  KEEP_TMP=1    keep the temporary folder
"""
import json
import os
import re
import shutil
import sys
import time
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import harness as h

WEBSITE_IN, WEBSITE_OUT = "www.someweb.com", "http://www.someweb.com"

# ---- Roster's web pages: signing in and approving a device code -----------------------
# Adjust these (and approve_device) to the approval page as built.
SIGNIN_PATH = "/account/signin"      # GET: form with hidden csrf_token; POST email, password, csrf_token
SESSION_COOKIE = "roster_session"    # set by a successful sign-in
APPROVAL_PATH = "/device"            # GET APPROVAL_PATH?user_code=<code> while signed in
APPROVAL_CODE_FIELD = "user_code"    # query parameter and form field carrying the code
APPROVE = ("decision", "approve")    # the submit button's name and value
DENY = ("decision", "deny")          # (used only with CHECK_DENY=1)


class Forms(HTMLParser):
    """The forms of a page: action, method, named input values, submit buttons."""

    def __init__(self, text):
        super().__init__()
        self.forms, self._cur = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._cur = {"action": a.get("action"), "method": (a.get("method") or "get").lower(), "fields": {}, "submits": []}
            self.forms.append(self._cur)
        elif self._cur is not None and tag in ("input", "button") and a.get("name"):
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            if kind in ("submit", "image"):
                self._cur["submits"].append((a["name"], a.get("value") or ""))
            elif kind not in ("checkbox", "radio", "file", "reset", "button") or "checked" in a:
                self._cur["fields"][a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._cur = None


def page_text(html_text, n=300):
    body = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", html_text)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()[:n]


def sign_in(base, login, password):
    """A requests.Session signed in through Roster's HTML sign-in form."""
    import requests
    s = requests.Session()
    url = base + SIGNIN_PATH
    r = s.get(url, allow_redirects=False)
    h.check(r.status_code == 200, "GET %s: %d" % (SIGNIN_PATH, r.status_code), r.text[:300])
    forms = [f for f in Forms(r.text).forms if "csrf_token" in f["fields"] and "password" in f["fields"]]
    h.check(bool(forms), "the sign-in page has a form with csrf_token and password", r.text[:300])
    fields = dict(forms[0]["fields"], email=login, password=password)
    post = urljoin(r.url, forms[0]["action"] or SIGNIN_PATH)
    r = s.post(post, data=fields, headers={"Origin": base, "Referer": url}, allow_redirects=False)
    h.check(r.status_code in (302, 303) and SESSION_COOKIE in s.cookies,
            "sign-in as %s: %d to %s with the %s cookie" % (login, r.status_code, r.headers.get("Location"), SESSION_COOKIE),
            "%d, cookies %s, page text: %s" % (r.status_code, sorted(s.cookies.keys()), page_text(r.text)))
    return s


def approve_device(s, base, user_code, verification_uri, decision=APPROVE):
    """Approve (or deny) user_code on Roster's page with the signed-in session s.

    Assumed page: GET {APPROVAL_PATH}?user_code=<code> answers 200 with a form holding a
    hidden csrf_token and user_code and a submit button name="action" value="approve";
    the form is POSTed (form-encoded, to its action, else to the same URL) with those
    fields plus action=approve; 200, 302 or 303 is success."""
    page = base + APPROVAL_PATH + "?" + urlencode({APPROVAL_CODE_FIELD: user_code})
    r = s.get(page, allow_redirects=False)
    h.check(r.status_code == 200, "GET %s: %d%s" % (h.path_of(page), r.status_code,
            " to " + r.headers.get("Location", "") if r.is_redirect else ""), r.text[:300])
    forms = Forms(r.text).forms
    chosen = [f for f in forms if decision in f["submits"]] or [f for f in forms if "csrf_token" in f["fields"]]
    h.check(bool(chosen), "the approval page has a form with %s=%s or csrf_token" % decision,
            [(f["action"], f["fields"], f["submits"]) for f in forms] or r.text[:300])
    form = chosen[0]
    fields = dict(form["fields"])
    h.check("csrf_token" in fields, "the approval form carries csrf_token", fields)
    if not fields.get(APPROVAL_CODE_FIELD):
        fields[APPROVAL_CODE_FIELD] = user_code
    fields[decision[0]] = decision[1]
    post = urljoin(r.url, form["action"] or page)
    r = s.post(post, data=fields, headers={"Origin": base, "Referer": page}, allow_redirects=False)
    h.check(r.status_code in (200, 302, 303), "POST %s %s: %d%s" % (
        h.path_of(post), sorted(k for k in fields if k != "csrf_token") + ["csrf_token"], r.status_code,
        " to " + r.headers.get("Location", "") if r.is_redirect else ""), "%d %s" % (r.status_code, page_text(r.text)))
    return r


# ---- child: runs inside the temporary folder under pexpect ------------------------------

def child(mode):
    import stat
    import redirect
    redirect.log_requests()  # only prints [wire] lines; v2.0 takes url= itself
    import brainstem_api_tools
    from brainstem_api_tools import BrainstemClient, AuthenticationError
    from brainstem_api_tools.brainstem_api_client import _TOKEN_FILE
    tmp = os.environ["BRAINSTEM_TMP"]
    assert brainstem_api_tools.__file__.startswith(tmp), brainstem_api_tools.__file__
    h.emit("imported", file=brainstem_api_tools.__file__, version=brainstem_api_tools.__version__,
           token_file=str(_TOKEN_FILE), token_file_exists=_TOKEN_FILE.exists())
    url = os.environ["ROSTER_URL"]
    try:
        client = BrainstemClient(headless=True, url=url)  # no cached token: the device flow
    except AuthenticationError as e:
        h.emit("login_error", type="AuthenticationError", message=str(e))
        return 0 if mode == "deny" else 3
    if mode == "deny":
        h.emit("login_unexpected")
        return 4
    mode_bits = stat.S_IMODE(_TOKEN_FILE.stat().st_mode) if _TOKEN_FILE.exists() else None
    h.emit("login", token=client._token, address=client._address, cached=_TOKEN_FILE.exists(),
           cached_same=_TOKEN_FILE.exists() and _TOKEN_FILE.read_text() == client._token,
           mode=oct(mode_bits) if mode_bits is not None else None)
    again = BrainstemClient(headless=True, url=url)  # must take the cached token, no device flow
    h.emit("cache_reuse", same=again._token == client._token)

    portal, target = os.environ["PORTAL"], os.environ["TARGET"]
    filters = json.loads(os.environ["LIST_FILTER"])
    sort = [s for s in os.environ["LIST_SORT"].split(",") if s]
    include = [s for s in os.environ["LIST_INCLUDE"].split(",") if s] or None
    page = int(os.environ["LIST_PAGE"])

    h.emit_response("list", client.load("user", portal=portal, filters=filters, sort=sort, include=include,
                                         limit=page, offset=1))
    combined = client.load("user", portal=portal, filters=filters, sort=sort, include=include, limit=page, load_all=True)
    h.emit("load_all", keys=sorted(combined), users=combined.get("users"), count=combined.get("count"))
    h.emit_response("list_unfiltered", client.load("user", portal=portal, limit=1))
    h.emit_response("load", client.load("user", portal=portal, id=target))
    h.emit_response("save", client.save("user", portal=portal, id=target, data={"website": WEBSITE_IN}))
    h.emit_response("create", client.save("user", portal=portal, data={"email": "new.user@example.org"}))
    h.emit_response("delete", client.delete("user", portal=portal, id=target))
    h.emit_response("load_after_delete", client.load("user", portal=portal, id=target))
    bad = BrainstemClient(token="0" * 40, url=url)
    try:
        bad.load("user", portal=portal, load_all=True)
        h.emit("bad_token", raised=None)
    except AuthenticationError as e:
        h.emit("bad_token", raised="AuthenticationError", message=str(e))
    except Exception as e:
        h.emit("bad_token", raised=type(e).__name__, message=str(e))
    h.emit("done")
    return 0


# ---- parent ---------------------------------------------------------------------------------

# v2.0 headless prints: f"Open {data['verification_uri']} and enter: {data['user_code']}"
OPEN_LINE = r"(?:^|\n)Open (https?://\S+) and enter: (\S+)\r?\n"


def device_round(tmp, mode, cfg, approver, secrets, decision):
    c = h.spawn(os.path.abspath(__file__), ["--child", mode], tmp, cfg, timeout=30)
    try:
        import pexpect
        if c.expect([OPEN_LINE, pexpect.EOF]) == 1:
            raise h.Failed("the client did not print the verification URI and code; output:\n"
                           + secrets.mask(c.transcript.getvalue()[-3000:]))
        uri, code = c.match.group(1), c.match.group(2)
        print("  client printed: Open %s and enter: %s" % (uri, code))
        if not uri.startswith(cfg["ROSTER_URL"]):
            print("  note: verification_uri is not under ROSTER_URL")
        if float(cfg["APPROVE_DELAY"]) > 0:  # let the client poll and see authorization_pending first
            time.sleep(float(cfg["APPROVE_DELAY"]))
        s = sign_in(cfg["ROSTER_URL"], approver[0], approver[1])
        approve_device(s, cfg["ROSTER_URL"], code, uri, decision)
        status, signal = h.finish(c, timeout=int(cfg["DEVICE_TIMEOUT"]))
    except h.Failed:
        c.terminate(force=True)
        raise
    except Exception as e:
        c.terminate(force=True)
        raise h.Failed("child stopped: %s; output:\n%s" % (type(e).__name__, secrets.mask(c.transcript.getvalue()[-3000:])))
    steps, wire = h.results(c)
    for st in steps:
        if st["step"] == "login":
            secrets.add(st["token"])
    return status, signal, steps, wire, c


def main():
    cfg = {
        "ROSTER_URL": h.env("ROSTER_URL", required=True).rstrip("/"),
        "ADMIN_USER": h.env("ADMIN_USER", required=True),
        "TARGET": h.env("TARGET", required=True),
        "PORTAL": h.env("PORTAL", "super"),
        "LIST_FILTER": h.env("LIST_FILTER", '{"email.icontains": "@"}'),
        "LIST_SORT": h.env("LIST_SORT", "-last_name,email"),
        "LIST_INCLUDE": h.env("LIST_INCLUDE", "groups"),
        "LIST_PAGE": h.env("LIST_PAGE", "2"),
        "DEVICE_TIMEOUT": h.env("DEVICE_TIMEOUT", "120"),
        "APPROVE_DELAY": h.env("APPROVE_DELAY", "0"),
    }
    password = h.env("ADMIN_PASSWORD", required=True)
    approver = (h.env("APPROVER_USER", cfg["ADMIN_USER"]), h.env("APPROVER_PASSWORD", password))
    secrets = h.Secrets()
    secrets.add(password)
    secrets.add(approver[1])
    import requests
    import pexpect
    print("interpreter %s (Python %s), requests %s, pexpect %s" % (
        sys.executable, sys.version.split()[0], requests.__version__, pexpect.__version__))
    tmp = h.prepare("v20", "v20")
    print("v2.0 copy run from %s (HOME=%s/home)" % (tmp, tmp))
    base = cfg["ROSTER_URL"]
    try:
        if os.environ.get("CHECK_DENY") == "1":
            print("[v2.0] device flow, denied on the page")
            status, _, steps, wire, c = device_round(tmp, "deny", cfg, approver, secrets, DENY)
            for w in wire:
                print("  wire " + w)
            e = h.step(steps, "login_error")
            h.check(status == 0, "a denied code ends in AuthenticationError: " + e["message"], e)

        print("[v2.0] device flow (headless), approved on the page by %s" % approver[0])
        status, signal, steps, wire, c = device_round(tmp, "main", cfg, approver, secrets, APPROVE)
        for w in wire:
            print("  wire " + w)
        out = secrets.mask(c.transcript.getvalue())
        if status != 0 or not any(s["step"] == "done" for s in steps):
            raise h.Failed("child exit %s signal %s; output:\n%s" % (status, signal, out[-3000:]))

        imp = h.step(steps, "imported")
        h.check(imp["token_file"] == os.path.join(tmp, "home", ".config", "brainstem", "token") and not imp["token_file_exists"],
                "token cache under the temporary HOME, empty at start: " + imp["token_file"])
        polls = [w for w in wire if w.startswith("POST %s/api/auth/device/token/ " % base)]
        h.check(wire[0].startswith("POST %s/api/auth/device/ -> 200" % base) and polls and polls[-1].endswith("-> 200"),
                "device flow: POST /api/auth/device/, then %d poll(s) of /api/auth/device/token/" % len(polls), wire[:3])
        login = h.step(steps, "login")
        h.check(login["cached"] and login["cached_same"] and login["mode"] == "0o600",
                "token (%d chars) cached with mode %s" % (len(login["token"]), login["mode"]), login)
        h.check(h.step(steps, "cache_reuse")["same"], "a second client takes the cached token (no device flow)")
        h.check(len([w for w in wire if "/api/auth/device/ " in w]) == 1, "only one device flow was started")

        filters = json.loads(cfg["LIST_FILTER"])
        sort = [s for s in cfg["LIST_SORT"].split(",") if s]
        page = int(cfg["LIST_PAGE"])
        r = h.step(steps, "list")
        print("  list  GET %s -> %d" % (h.path_of(r["url"]), r["status"]))
        b = r["body"]
        h.check(r["status"] == 200 and isinstance(b, dict) and isinstance(b.get("users"), list), "list: 200 {\"users\": [...]}", b)
        print("        keys %s count=%s next=%s previous=%s; rows %s" % (
            sorted(b), b.get("count"), b.get("next"), b.get("previous"),
            h.short([(u.get("id"), u.get("last_name"), u.get("email")) for u in b["users"]], 300)))
        h.check(isinstance(b.get("count"), int), "list: count is an integer", b.get("count"))

        a = h.step(steps, "load_all")
        rows = a["users"] or []
        ids = [u.get("id") for u in rows]
        print("  load_all (page size %d) -> keys %s, %d users, count=%s" % (page, a["keys"], len(rows), a["count"]))
        h.check(a["count"] == len(rows) == b["count"], "load_all: every user once (%d = count)" % len(rows), a["keys"])
        h.check(len(set(map(str, ids))) == len(ids), "load_all: no user twice", ids)
        h.check(not h.filter_problems(rows, filters), "every row matches %s" % filters, h.filter_problems(rows, filters))
        h.check(h.sorted_as_asked(rows, sort), "rows ordered by %s" % sort, [(u.get("last_name"), u.get("email")) for u in rows])
        h.check([u.get("id") for u in b["users"]] == ids[1:1 + page], "limit=%d&offset=1 is rows 2..%d of load_all" % (page, page + 1),
                ([u.get("id") for u in b["users"]], ids[1:1 + page]))
        pages = [w for w in wire if "/users/user/?" in w and re.search(r"[?&]limit=%d(&| )" % page, w)
                 and not re.search(r"[?&]offset=1(&| )", w)]
        print("        load_all requests: %s" % [h.path_of(w.split(" ")[1]) for w in pages])

        r = h.step(steps, "list_unfiltered")
        print("  list  GET %s -> %d count=%s" % (h.path_of(r["url"]), r["status"], r["body"].get("count") if isinstance(r["body"], dict) else None))
        h.check(r["status"] == 200 and len(r["body"]["users"]) <= 1, "limit=1 gives at most one user", r["body"])

        r = h.step(steps, "load")
        print("  load  GET %s -> %d %s" % (h.path_of(r["url"]), r["status"], h.short(r["body"])))
        h.check(r["status"] == 200 and isinstance(r["body"], dict) and str((r["body"].get("user") or {}).get("id")) == cfg["TARGET"],
                "load: 200 {\"user\": {id: %s}}" % cfg["TARGET"], r["body"])

        r = h.step(steps, "save")
        print("  save  PATCH %s {\"website\": %r} -> %d website=%r" % (
            h.path_of(r["url"]), WEBSITE_IN, r["status"], (r["body"].get("user") or {}).get("website") if isinstance(r["body"], dict) else r["body"]))
        h.check(r["status"] == 200 and r["body"]["user"]["website"] == WEBSITE_OUT, "save: website came back %r" % WEBSITE_OUT, r["body"])

        r = h.step(steps, "create")
        print("  save without id  POST %s -> %d %s" % (h.path_of(r["url"]), r["status"], h.short(r["body"])))
        h.check(r["status"] in (403, 405), "POST create refused (403 or 405)", r["body"])

        r = h.step(steps, "delete")
        print("  delete DELETE %s -> %d body=%r" % (h.path_of(r["url"]), r["status"], r["body"]))
        h.check(r["status"] == 204 and r["body"] == "", "delete: 204, no body", r)

        r = h.step(steps, "load_after_delete")
        print("  load  GET %s -> %d %s" % (h.path_of(r["url"]), r["status"], h.short(r["body"])))
        h.check(r["status"] == 404, "load after delete: 404", r["body"])

        r = h.step(steps, "bad_token")
        h.check(r["raised"] == "AuthenticationError", "load_all with a bad token: 401 -> AuthenticationError", r)
    except h.Failed as e:
        print("FAILED: " + secrets.mask(str(e)))
        return 1
    finally:
        if os.environ.get("KEEP_TMP") == "1":
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(child(sys.argv[2]))
    sys.exit(main())
