#!/usr/bin/python3 -s
"""brainstem_python_api_tools v0.2 (load_model/save_model/delete_model) against Roster.

    ROSTER_URL=http://127.0.0.1:8080 ADMIN_USER=admin ADMIN_PASSWORD=... TARGET=16 \
        /usr/bin/python3 -s run_v02.py

The untouched v0.2 package (./v02) is copied into a temporary folder and imported by a
child python (same interpreter) started under pexpect, with HOME pointed at a temporary
folder. redirect.install() mounts a transport adapter that sends the client's hard-coded
https://www.brainstem.org/ requests to ROSTER_URL. pexpect answers the client's
username and password prompts (the password never reaches the child's environment).
As that administrator the child then lists users with a filter and a sort, loads
TARGET, PATCHes its website, deletes it and loads it again (404 expected).

Environment:
  ROSTER_URL, ADMIN_USER, ADMIN_PASSWORD, TARGET   required (TARGET: a user id; it is deleted)
  PORTAL        portal for every call (default super)
  LIST_FILTER   JSON dict of filters   (default {"email.icontains": "@"})
  LIST_SORT     comma-separated sort   (default -last_name,email)
  LIST_INCLUDE  comma-separated include (default empty: no include[])
  CHECK_BAD_PASSWORD  1 (default) first tries a wrong password and expects LoginError
  KEEP_TMP=1    keep the temporary folder
"""
import json
import os
import shutil
import sys

import harness as h

WEBSITE_IN, WEBSITE_OUT = "www.someweb.com", "http://www.someweb.com"


# ---- child: runs inside the temporary folder under pexpect ------------------------------

def child(mode):
    import redirect
    redirect.install(os.environ["ROSTER_URL"], log=True)
    import brainstem_api_tools
    from brainstem_api_tools import BrainstemClient
    tmp = os.environ["BRAINSTEM_TMP"]
    assert brainstem_api_tools.__file__.startswith(tmp), brainstem_api_tools.__file__
    h.emit("imported", file=brainstem_api_tools.__file__)
    try:
        client = BrainstemClient()  # prompts: username/email, then password (getpass)
    except Exception as e:  # v0.2 raises LoginError on any non-200 from /api/token/
        h.emit("login_error", type=type(e).__name__, message=str(e))
        return 0 if mode == "bad-password" else 3
    if mode == "bad-password":
        h.emit("login_unexpected")
        return 4
    h.emit("login", token=client._token, address=client._address)

    portal = os.environ["PORTAL"]
    target = os.environ["TARGET"]
    filters = json.loads(os.environ["LIST_FILTER"])
    sort = [s for s in os.environ["LIST_SORT"].split(",") if s]
    include = [s for s in os.environ["LIST_INCLUDE"].split(",") if s] or None

    h.emit_response("list", client.load_model("user", portal=portal, filters=filters, sort=sort, include=include))
    h.emit_response("load", client.load_model("user", portal=portal, id=target))
    h.emit_response("save", client.save_model("user", portal=portal, id=target, data={"website": WEBSITE_IN}))
    h.emit_response("delete", client.delete_model("user", portal=portal, id=target))
    h.emit_response("load_after_delete", client.load_model("user", portal=portal, id=target))
    h.emit("done")
    return 0


# ---- parent ---------------------------------------------------------------------------------

PROMPT_USER = r"Please enter your username(?:/email)?:"  # '/email' since commit 0d01619 (2025-07)
PROMPT_PASSWORD = r"Please enter your password:"


def run_child(tmp, mode, password, cfg, secrets):
    c = h.spawn(os.path.abspath(__file__), ["--child", mode], tmp, cfg, timeout=60)
    try:
        c.expect(PROMPT_USER)
        c.sendline(cfg["ADMIN_USER"])
        c.expect(PROMPT_PASSWORD)
        c.sendline(password)
        status, signal = h.finish(c, timeout=120)
    except Exception as e:
        raise h.Failed("child stopped: %s; output:\n%s" % (type(e).__name__, secrets.mask(c.transcript.getvalue()[-3000:])))
    steps, wire = h.results(c)
    for s in steps:
        if s["step"] == "login":
            secrets.add(s["token"])
    return status, signal, steps, wire, c


def main():
    cfg = {
        "ROSTER_URL": h.env("ROSTER_URL", required=True).rstrip("/"),
        "ADMIN_USER": h.env("ADMIN_USER", required=True),
        "TARGET": h.env("TARGET", required=True),
        "PORTAL": h.env("PORTAL", "super"),
        "LIST_FILTER": h.env("LIST_FILTER", '{"email.icontains": "@"}'),
        "LIST_SORT": h.env("LIST_SORT", "-last_name,email"),
        "LIST_INCLUDE": h.env("LIST_INCLUDE", ""),
    }
    password = h.env("ADMIN_PASSWORD", required=True)
    secrets = h.Secrets()
    secrets.add(password)
    import requests
    import pexpect
    print("interpreter %s (Python %s), requests %s, pexpect %s" % (
        sys.executable, sys.version.split()[0], requests.__version__, pexpect.__version__))
    tmp = h.prepare("v02", "v02")
    print("v0.2 copy run from %s (HOME=%s/home)" % (tmp, tmp))
    try:
        if h.env("CHECK_BAD_PASSWORD", "1") == "1":
            print("[v0.2] wrong password")
            status, _, steps, wire, c = run_child(tmp, "bad-password", password + "-wrong", cfg, secrets)
            for w in wire:
                print("  wire " + w)
            e = h.step(steps, "login_error")
            h.check(status == 0 and e["type"] == "LoginError", "a wrong password raises LoginError (%s)" % e["message"], e)
            h.check(any(w.startswith("POST %s/api/token/ -> " % cfg["ROSTER_URL"]) and not w.endswith("-> 200") for w in wire),
                    "POST /api/token/ answered non-200", wire)

        print("[v0.2] sign in through the prompts, then users as %s on /api/%s/" % (cfg["ADMIN_USER"], cfg["PORTAL"]))
        status, signal, steps, wire, c = run_child(tmp, "main", password, cfg, secrets)
        for w in wire:
            print("  wire " + w)
        out = secrets.mask(c.transcript.getvalue())
        if status != 0 or not any(s["step"] == "done" for s in steps):
            raise h.Failed("child exit %s signal %s; output:\n%s" % (status, signal, out[-3000:]))

        login = h.step(steps, "login")
        tok = login["token"]
        h.check(isinstance(tok, str) and len(tok) > 0, "POST /api/token/ gave a token (%d chars%s)" % (
            len(tok), ", 40 hex" if len(tok) == 40 and all(ch in "0123456789abcdef" for ch in tok) else ""))
        h.check(login["address"] == "https://www.brainstem.org/api/", "client _address untouched: " + login["address"])
        h.check(wire and wire[0].startswith("POST %s/api/token/ -> 200" % cfg["ROSTER_URL"]),
                "the hard-coded address went to ROSTER_URL", wire[:1])

        filters, sort = json.loads(cfg["LIST_FILTER"]), [s for s in cfg["LIST_SORT"].split(",") if s]
        r = h.step(steps, "list")
        print("  list  GET %s -> %d" % (h.path_of(r["url"]), r["status"]))
        b = r["body"]
        h.check(r["status"] == 200 and isinstance(b, dict) and isinstance(b.get("users"), list), "list: 200 {\"users\": [...]}", b)
        rows = b["users"]
        print("        keys %s count=%s next=%s previous=%s; %d rows: %s" % (
            sorted(b), b.get("count"), b.get("next"), b.get("previous"), len(rows),
            h.short([(u.get("id"), u.get("last_name"), u.get("email")) for u in rows], 300)))
        h.check(not h.filter_problems(rows, filters), "every row matches %s" % filters, h.filter_problems(rows, filters))
        h.check(h.sorted_as_asked(rows, sort), "rows ordered by %s" % sort)

        r = h.step(steps, "load")
        print("  load  GET %s -> %d %s" % (h.path_of(r["url"]), r["status"], h.short(r["body"])))
        h.check(r["status"] == 200 and isinstance(r["body"], dict) and isinstance(r["body"].get("user"), dict)
                and str(r["body"]["user"].get("id")) == cfg["TARGET"], "load: 200 {\"user\": {id: %s}}" % cfg["TARGET"], r["body"])

        r = h.step(steps, "save")
        print("  save  PATCH %s {\"website\": %r} -> %d website=%r" % (
            h.path_of(r["url"]), WEBSITE_IN, r["status"], (r["body"].get("user") or {}).get("website") if isinstance(r["body"], dict) else r["body"]))
        h.check(r["status"] == 200 and r["body"]["user"]["website"] == WEBSITE_OUT, "save: website came back %r" % WEBSITE_OUT, r["body"])

        r = h.step(steps, "delete")
        print("  delete DELETE %s -> %d body=%r" % (h.path_of(r["url"]), r["status"], r["body"]))
        h.check(r["status"] == 204 and r["body"] == "", "delete: 204, no body", r)

        r = h.step(steps, "load_after_delete")
        print("  load  GET %s -> %d %s" % (h.path_of(r["url"]), r["status"], h.short(r["body"])))
        h.check(r["status"] == 404, "load after delete: 404", r["body"])
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
