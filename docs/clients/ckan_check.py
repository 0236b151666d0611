"""Drive Roster's CKAN dialect with CKAN's own client, ckanapi, and with the EDX seed
page's two requests examples, as written (only the URL changed).

    python3 docs/clients/ckan_check.py URL SYSADMIN_KEY CKANAPI_DIR

CKANAPI_DIR is a copy of ckan/ckanapi (4.x) outside this repository; see
docs/clients.md. Nothing of it is part of Roster.
"""
import sys

url, admin_key, ckanapi_dir = sys.argv[1:4]
sys.path.insert(0, ckanapi_dir)
import ckanapi  # noqa: E402
import requests  # noqa: E402
from ckanapi import NotAuthorized, NotFound, ValidationError  # noqa: E402

print("ckanapi", ckanapi.version.__version__)
admin = ckanapi.RemoteCKAN(url, apikey=admin_key)
anonymous = ckanapi.RemoteCKAN(url)

# user_create, with the dict CKAN returns to a sysadmin, and an API token.
bob = admin.action.user_create(name="bob", email="bob@example.org", password="bob-secret-1",
                               fullname="Bob Builder", about="Builds things")
print("user_create:", bob["name"], bob["fullname"], bob["email"], "keys:", list(bob))
carol = admin.action.user_create(name="carol", email="carol@example.org", password="carol-secret-1",
                                 with_apitoken=True)
carol_key = carol["token"]
print("user_create with_apitoken: token", carol_key[:3] + "…", "length", len(carol_key))
carol_client = ckanapi.RemoteCKAN(url, apikey=carol_key)

# user_show: by name, by id, as the user itself, anonymously.
print("user_show by name:", admin.action.user_show(id="bob")["display_name"])
print("user_show by id:", admin.action.user_show(id=bob["id"])["name"])
print("user_show of oneself (no id):", carol_client.action.user_show()["name"])
print("user_show anonymous keys:", list(anonymous.action.user_show(id="bob")))

# user_list: q, order_by, all_fields, email (sysadmins), and the limit/offset extension;
# also through GET (get_only), as ckanapi sends it for read-only use.
print("user_list q=o:", [u["name"] for u in admin.action.user_list(q="o")])
print("user_list names only:", admin.action.user_list(all_fields=False, order_by="name"))
print("user_list email:", [u["name"] for u in admin.action.user_list(email="CAROL@example.org")])
print("user_list limit:", [u["name"] for u in admin.action.user_list(order_by="name", limit=2, offset=1)])
getter = ckanapi.RemoteCKAN(url, apikey=admin_key, get_only=True)
print("user_list via GET:", [u["name"] for u in getter.action.user_list(q="car")])

# user_patch and user_update (a full replace of the dict: about is cleared).
patched = carol_client.action.user_patch(id="carol", fullname="Carol Jones")
print("user_patch by the owner:", patched["fullname"], "| about kept:", admin.action.user_show(id="bob")["about"])
updated = admin.action.user_update(id="bob", email="bob@example.org", fullname="Robert Builder")
print("user_update:", updated["fullname"], "| about after a full replace:", updated["about"])

# Error classes.
try:
    carol_client.action.user_delete(id="bob")
except NotAuthorized as e:
    print("NotAuthorized (user_delete by a non-sysadmin):", e.extra_msg)
try:
    carol_client.action.user_update(id="bob", email="x@example.org")
except NotAuthorized as e:
    print("NotAuthorized (user_update of someone else):", e.extra_msg["message"])
try:
    anonymous.action.user_create(name="eve", email="eve@example.org", password="eve-secret-1")
except NotAuthorized as e:
    print("NotAuthorized (anonymous user_create):", e.extra_msg["message"])
try:
    admin.action.user_show(id="nobody")
except NotFound as e:
    print("NotFound (user_show):", repr(e.extra_msg))
try:
    admin.action.user_update(id="nobody", email="x@example.org")
except NotFound as e:
    print("NotFound (user_update):", repr(e.extra_msg))
try:
    admin.action.user_create(name="Bad Name", email="not-an-email", password="short")
except ValidationError as e:
    print("ValidationError (user_create):", e.error_dict)
try:
    admin.action.user_create(name="bob", email="BOB@example.org", password="long-enough")
except ValidationError as e:
    print("ValidationError (duplicates):", e.error_dict)
try:
    admin.action.user_update(id="bob")
except ValidationError as e:
    print("ValidationError (user_update without email):", e.error_dict)

# EDX's user_metadata through ckanapi.
meta = admin.call_action("user_metadata", {"ids": ["bob", carol["id"], "nobody"],
                                           "fields": ["name", "fullname", "email", "password", "apikey"]})
for row in meta:
    print("user_metadata:", row)
try:
    carol_client.call_action("user_metadata", {"ids": ["bob"], "fields": ["*"]})
except NotAuthorized as e:
    print("NotAuthorized (user_metadata by a non-sysadmin):", e.extra_msg)
try:
    admin.call_action("user_metadata", {"ids": ["bob"], "fields": ["name", "shoe_size"]})
except ValidationError as e:
    print("ValidationError (user_metadata):", e.error_dict)
everything = admin.call_action("user_metadata", {"ids": ["bob"], "fields": ["*"]})[0]
print("user_metadata '*' columns:", list(everything))

# user_delete: soft; the user leaves user_list.
print("user_delete:", admin.action.user_delete(id="bob"))
print("user_list after delete:", [u["name"] for u in admin.action.user_list()])

# The EDX seed page's examples, as written, with the URL pointed at Roster.
ids = [admin.action.user_show(id=n)["id"] for n in ("admin", "carol")]
for example, data in (("Example 1", {'ids': ['carol'], 'fields': ['name']}),
                      ("Example 2", {'ids': [ids[0], ids[1], 'carol'], 'fields': ['name', 'email', 'sysadmin']})):
    headers = {
        "EDX-API-Key": admin_key,
        "User-Agent": 'EDX-USER',
        'Content-Type': 'application/json',
        'Accept': 'application/json'
    }
    r = requests.post(
        url + '/api/3/action/user_metadata',  # URL to API endpoint
        headers=headers,  # Headers dictionary
        json=data,  # Dictionary of data params
    )
    r_json = r.json()
    print(example, r.status_code, r.json())
headers = {"EDX-API-Key": carol_key, "User-Agent": 'EDX-USER', 'Content-Type': 'application/json',
           'Accept': 'application/json'}
r = requests.post(url + '/api/3/action/user_metadata', headers=headers, json={'ids': ['carol'], 'fields': ['name']})
print("Example 1 with a non-sysadmin key:", r.status_code, r.json())
# EDX scripts post form-encoded dicts too.
r = requests.post(url + '/api/3/action/user_metadata', headers={"EDX-API-Key": admin_key, "User-Agent": "EDX-USER"},
                  data={'ids': ['carol', 'admin'], 'fields': ['name', 'state']})
print("form-encoded:", r.status_code, r.json()["result"])
