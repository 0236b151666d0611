"""Shared parts of run_v02.py and run_v20.py (the parent side and the child's output).

The parent copies a client package into a fresh temporary folder, points HOME at a
temporary folder, and starts the child (the same interpreter, `-s`) under pexpect. The
child prints one line per step: '@@' + JSON. The parent reads those lines and checks them.
"""
import io
import json
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MARK = "@@"


# ---- child side -------------------------------------------------------------------

def emit(step, **fields):
    print(MARK + json.dumps(dict(step=step, **fields), sort_keys=True), flush=True)


def body_of(resp):
    try:
        return resp.json()
    except ValueError:
        return resp.text


def emit_response(step, resp, **extra):
    emit(step, method=resp.request.method, url=resp.request.url, status=resp.status_code,
         body=body_of(resp), content_type=resp.headers.get("Content-Type"), **extra)


# ---- parent side ------------------------------------------------------------------

class Failed(Exception):
    pass


def check(cond, what, detail=None):
    if not cond:
        raise Failed(what + ("" if detail is None else ": " + short(detail, 400)))
    print("  ok  " + what)


def short(obj, n=160):
    s = obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True)
    return s if len(s) <= n else s[:n] + "..."


def env(name, default=None, required=False):
    v = os.environ.get(name, default)
    if required and not v:
        sys.exit("set %s (see the header of %s)" % (name, os.path.basename(sys.argv[0])))
    return v


class Secrets:
    """Strings never printed as they are (passwords, tokens)."""

    def __init__(self):
        self.values = set()

    def add(self, v):
        if v and len(v) >= 4:
            self.values.add(v)

    def mask(self, text):
        for v in sorted(self.values, key=len, reverse=True):
            text = text.replace(v, v[:4] + "…(%d chars)" % len(v))
        return text


def prepare(package_dir, label):
    """A temporary folder with a copy of the package under pkg/ and an empty home/."""
    tmp = tempfile.mkdtemp(prefix="brainstem-%s-" % label)
    shutil.copytree(os.path.join(HERE, package_dir, "brainstem_api_tools"),
                    os.path.join(tmp, "pkg", "brainstem_api_tools"))
    os.makedirs(os.path.join(tmp, "home"))
    return tmp


def child_env(tmp, extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("PYTHON") and k not in ("ADMIN_PASSWORD", "APPROVER_PASSWORD")}
    e.update(HOME=os.path.join(tmp, "home"), PYTHONPATH=os.pathsep.join([os.path.join(tmp, "pkg"), HERE]),
             PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", TERM="dumb", BRAINSTEM_TMP=tmp)
    e.update(extra)
    return e


def spawn(script, args, tmp, extra_env, timeout=60):
    import pexpect
    child = pexpect.spawn(sys.executable, ["-s", script] + args, cwd=tmp, env=child_env(tmp, extra_env),
                          encoding="utf-8", codec_errors="replace", timeout=timeout, dimensions=(50, 4000))
    child.transcript = io.StringIO()
    child.logfile_read = child.transcript
    return child


def finish(child, timeout):
    import pexpect
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    return child.exitstatus, child.signalstatus


def results(child):
    """The child's '@@' lines as dicts, and its [wire] lines, in order."""
    steps, wire = [], []
    for line in child.transcript.getvalue().replace("\r", "").split("\n"):
        if line.startswith(MARK):
            steps.append(json.loads(line[len(MARK):]))
        elif line.startswith("[wire] "):
            wire.append(line[len("[wire] "):])
    return steps, wire


def step(steps, name):
    found = [s for s in steps if s["step"] == name]
    if not found:
        raise Failed("the child did not reach step %r" % name)
    return found[-1]


def path_of(url):
    m = re.match(r"https?://[^/]+(/.*)$", url)
    return m.group(1) if m else url


# ---- checks of list results against the filters and sort asked for -----------------

def _matches(val, op, arg):
    s, a = str(val), str(arg)
    table = {"": s == a, "exact": s == a, "iexact": s.lower() == a.lower(), "icontains": a.lower() in s.lower(),
             "contains": a in s, "istartswith": s.lower().startswith(a.lower()), "startswith": s.startswith(a),
             "iendswith": s.lower().endswith(a.lower()), "endswith": s.endswith(a)}
    return table.get(op, True)  # gt/gte/lt/lte and others: not checked here


def filter_problems(rows, filters):
    bad = []
    for key, arg in (filters or {}).items():
        field, _, op = key.partition(".")
        for r in rows:
            if field in r and not _matches(r[field], op, arg):
                bad.append((r.get("id"), field, r[field]))
    return bad


def sorted_as_asked(rows, sort):
    """True when rows are ordered by sort (['-last_name', 'email']); text compared as is
    or case-folded (databases differ), numbers as numbers."""
    def ordered(fold):
        def key(r):
            out = []
            for f in sort:
                v = r.get(f.lstrip("-"))
                if isinstance(v, str) and fold:
                    v = v.casefold()
                out.append(v)
            return out
        for a, b in zip(rows, rows[1:]):
            ka, kb = key(a), key(b)
            for f, x, y in zip(sort, ka, kb):
                if x == y:
                    continue
                if (x > y) != f.startswith("-"):
                    return False
                break
        return True
    return ordered(False) or ordered(True)
