"""Send a client's hard-coded https://www.brainstem.org/ requests to another server.

brainstem_python_api_tools v0.2 fixes its address in BrainstemClient._address
('https://www.brainstem.org/api/') and calls the module-level requests.get/post/
patch/delete, each of which builds a fresh requests.Session. install() wraps
requests.Session.__init__ so that every session, those included, has a transport
adapter mounted for the prefix https://www.brainstem.org/ that rewrites the prepared
request's URL onto TARGET (e.g. http://127.0.0.1:8080/) before sending it. The
client's code is not touched: the path and the query string go out byte for byte as
requests prepared them for www.brainstem.org.

Set REDIRECT_LOG=1 (or call log_requests()) to print one line per response to stderr,
with the URL as sent after the rewrite:
  [wire] GET http://127.0.0.1:8080/api/super/users/user/?... -> 200
"""
import ipaddress
import os
import sys
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

PREFIX = "https://www.brainstem.org/"


def _loopback(url):
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RedirectAdapter(HTTPAdapter):
    """An HTTPAdapter that moves URLs starting with prefix onto target."""

    def __init__(self, prefix, target, **kwargs):
        super().__init__(**kwargs)
        self.prefix = prefix
        self.target = target.rstrip("/") + "/"

    def send(self, request, **kwargs):
        if request.url.lower().startswith(self.prefix.lower()):
            request.url = self.target + request.url[len(self.prefix):]
            # The session chose proxies for www.brainstem.org; choose them for the new URL.
            kwargs["proxies"] = {} if _loopback(request.url) else get_environ_proxies(request.url)
        return super().send(request, **kwargs)


def _log_hook(resp, *args, **kwargs):
    print("[wire] %s %s -> %d" % (resp.request.method, resp.request.url, resp.status_code), file=sys.stderr, flush=True)


_settings = {"redirect": None, "log": False}


def _patch_session_class():
    if getattr(requests.Session.__init__, "_brainstem_redirect", False):
        return
    original_init = requests.Session.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if _settings["redirect"]:
            prefix, target = _settings["redirect"]
            self.mount(prefix, RedirectAdapter(prefix, target))
        if _settings["log"]:
            self.hooks["response"].append(_log_hook)

    __init__._brainstem_redirect = True
    requests.Session.__init__ = __init__


def install(target, prefix=PREFIX, log=None):
    """Mount RedirectAdapter(prefix -> target) on every requests.Session made from now on
    (module-level requests.get/post/... included: each makes a requests.Session)."""
    _settings["redirect"] = (prefix, target)
    _settings["log"] = os.environ.get("REDIRECT_LOG") == "1" if log is None else log
    _patch_session_class()


def log_requests(log=True):
    """Only print a [wire] line per response (no redirect); for clients that take a URL."""
    _settings["log"] = log
    _patch_session_class()
