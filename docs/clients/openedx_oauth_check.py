"""Drive a server with openedx/edx-rest-api-client's OAuthAPIClient, unchanged.

Environment:
    ROSTER_URL     base URL (the client appends /oauth2/access_token for the token)
    CLIENT_ID      OAuth2 client id (client_credentials grant)
    CLIENT_SECRET  OAuth2 client secret
    USERNAME       optional: the account to read and patch; default: the token's
                   preferred_username claim
    JWT_AUDIENCE   optional: if set, the token's aud is checked against it
    JWT_ISSUER     optional: if set, the token's iss is checked against it

Run with PYTHONPATH pointing at this directory (the client package plus stand-ins for
edx_django_utils and crum) and an interpreter that has requests and PyJWT (+cryptography).
Exits non-zero with "FAILED: ..." on the first failed check; prints "all checks passed".
"""
import json
import os
import sys

# The client reads this once at import time for its User-Agent; without it the
# User-Agent ends in this machine's IP address. Set it so the output is stable.
os.environ.setdefault("EDX_REST_API_CLIENT_NAME", "roster-openedx-oauth-check")

import jwt  # noqa: E402
import requests  # noqa: E402

import edx_rest_api_client  # noqa: E402
from edx_rest_api_client import client as edx_client  # noqa: E402
from edx_rest_api_client.client import OAuthAPIClient  # noqa: E402
from edx_django_utils import cache as standin_cache  # noqa: E402

TIMEOUT = (3.05, 10)
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
BIO = "Written by openedx_oauth_check.py through edx-rest-api-client OAuthAPIClient."
REDACT = {"exp", "iat", "nbf", "jti", "sub", "auth_time", "id", "user_id"}


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None or value == "":
        sys.exit(f"FAILED: environment variable {name} is required")
    return value


def fail(what, r=None):
    detail = ""
    if r is not None:
        detail = f" (HTTP {r.status_code} {r.request.method} {r.url}: {r.text[:500]})"
    sys.exit(f"FAILED: {what}{detail}")


def check(cond, what, r=None):
    if not cond:
        fail(what, r)


def body(r):
    try:
        return r.json()
    except ValueError:
        fail("response is not JSON", r)


def redacted(claims):
    return {k: ("<redacted>" if k in REDACT else v) for k, v in sorted(claims.items())}


def checked_call(what, call):
    """Run a client call; token-endpoint failures surface here as requests exceptions."""
    try:
        return call()
    except requests.HTTPError as e:  # raise_for_status() on the token response
        fail(f"{what}: token request failed", e.response)
    except requests.RequestException as e:  # missing access_token/expires_in, bad JSON, network
        r = e.response
        if r is not None:  # a 2xx the client could not use; do not print a token
            try:
                shape = "JSON keys " + str(sorted(r.json()))
            except ValueError:
                shape = "not JSON: " + r.text[:200]
            fail(f"{what}: token response unusable, the client needs JSON with access_token and expires_in"
                 f" (HTTP {r.status_code} {r.request.method} {r.url}: {shape})")
        fail(f"{what}: {type(e).__name__}: {e}")


def main():
    base = env("ROSTER_URL").rstrip("/")
    client_id = env("CLIENT_ID")
    client_secret = env("CLIENT_SECRET")

    print("edx-rest-api-client", edx_rest_api_client.__version__,
          "| requests", requests.__version__, "| PyJWT", jwt.__version__)
    print("token endpoint:", edx_client._get_oauth_url(base).replace(base, "ROSTER_URL"))
    print("User-Agent:", edx_client.USER_AGENT)

    client = OAuthAPIClient(base_url=base, client_id=client_id, client_secret=client_secret)

    # (a) /me -- the first request fetches the token (POST .../oauth2/access_token).
    r = checked_call("GET /api/user/v1/me", lambda: client.get(base + "/api/user/v1/me", timeout=TIMEOUT))
    print("(a) GET /api/user/v1/me:", r.status_code, json.dumps(body(r), sort_keys=True))
    check(r.status_code == 200, "GET /api/user/v1/me is 200", r)
    auth_header = r.request.headers.get("Authorization", "")
    check(auth_header.startswith("JWT ") and auth_header[4:] == client.auth.token,
          "the client sent Authorization: JWT <its token>")
    print("    Authorization scheme sent: JWT")
    token = client.auth.token

    claims = jwt.decode(token, options={"verify_signature": False})
    username = os.environ.get("USERNAME") or claims.get("preferred_username")
    check(username, "USERNAME not set and the token has no preferred_username claim")
    print("    account under test:", username,
          "(from USERNAME)" if os.environ.get("USERNAME") else "(from the token's preferred_username)")

    # (b) read the account.
    account_url = f"{base}/api/user/v1/accounts/{username}"
    r = checked_call("GET account", lambda: client.get(account_url, timeout=TIMEOUT))
    account = body(r)
    check(r.status_code == 200, f"GET /api/user/v1/accounts/{username} is 200", r)
    check(isinstance(account, dict) and account.get("username") == username, "the account's username matches", r)
    selected = {k: account.get(k) for k in ("username", "name", "email", "bio", "country", "is_active")
                if k in account}
    print(f"(b) GET /api/user/v1/accounts/{username}:", r.status_code, json.dumps(selected, sort_keys=True))

    # (c) merge-patch the bio.
    r = checked_call("PATCH account", lambda: client.patch(
        account_url, data=json.dumps({"bio": BIO}), headers=MERGE_PATCH, timeout=TIMEOUT))
    check(r.request.headers.get("Content-Type") == "application/merge-patch+json",
          "the PATCH went out as application/merge-patch+json")
    patched = body(r)
    print(f"(c) PATCH /api/user/v1/accounts/{username}:", r.status_code, "bio =", json.dumps(patched.get("bio")))
    check(r.status_code == 200, "PATCH is 200", r)
    check(patched.get("bio") == BIO, "the PATCH response carries the new bio", r)
    r = checked_call("GET account again", lambda: client.get(account_url, timeout=TIMEOUT))
    check(r.status_code == 200 and body(r).get("bio") == BIO, "a fresh GET shows the new bio", r)
    print("    GET again: bio persisted")

    # (d) look the account up by email.
    email = account.get("email")
    check(email, "the account has an email to look up", None)
    r = checked_call("GET accounts?email=", lambda: client.get(
        base + "/api/user/v1/accounts", params={"email": email}, timeout=TIMEOUT))
    found = body(r)
    check(r.status_code == 200, "GET /api/user/v1/accounts?email=... is 200", r)
    check(isinstance(found, list), "the email lookup answers a JSON list", r)
    usernames = [a.get("username") for a in found if isinstance(a, dict)]
    print("(d) GET /api/user/v1/accounts?email=<email>:", r.status_code, "usernames =", usernames)
    check(username in usernames, "the email lookup finds the account", r)

    # (e) the token the client cached.
    check(client.get_jwt_access_token() == token, "the client reused its token for every call")
    cached = standin_cache._peek_all()
    keys = [k for k in cached if k.startswith("edx_rest_api_client.access_token.")]
    check(len(keys) == 1 and cached[keys[0]][0] == token, "exactly one cached token, the one sent")
    print("(e) token cached under:", keys[0].replace(client_id, "<CLIENT_ID>").replace(base, "ROSTER_URL"))
    header = jwt.get_unverified_header(token)
    print("    JWT header:", json.dumps({k: header.get(k) for k in ("alg", "typ", "kid")}, sort_keys=True))
    print("    JWT claims (unverified, for display):", json.dumps(redacted(claims), sort_keys=True))

    jwks_url = base + "/.well-known/jwks.json"
    audience = os.environ.get("JWT_AUDIENCE") or None
    issuer = os.environ.get("JWT_ISSUER") or None
    options = {"require": ["exp", "iat"], "verify_aud": audience is not None}
    try:
        try:
            from jwt import PyJWKClient
            signing_key = PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
        except ImportError:  # PyJWT < 2.0: fetch the set by hand
            jwks = requests.get(jwks_url, timeout=TIMEOUT)
            jwks.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(jwks.json())
            signing_key = next(k for k in keyset.keys if k.key_id == header.get("kid"))
        verified = jwt.decode(token, signing_key.key, algorithms=["RS512"], options=options,
                              audience=audience, issuer=issuer)
    except Exception as e:  # noqa: BLE001 -- any failure here is a failed check
        fail(f"JWT verification against {jwks_url.replace(base, 'ROSTER_URL')}: {type(e).__name__}: {e}")
    check(verified == claims, "verified claims equal the displayed ones")
    print("    signature verified with kid", signing_key.key_id, "(RS512, exp checked,",
          "aud " + ("checked" if audience else "not checked") + ",",
          "iss " + ("checked" if issuer else "not checked") + ")")

    print("all checks passed")


if __name__ == "__main__":
    main()
