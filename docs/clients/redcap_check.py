"""Drive Roster's REDCap dialect with REDCap's Python client, PyCap, through every user,
role and DAG method the REDCap issue lists, checking what each returns.

    python3 docs/clients/redcap_check.py URL TOKEN PYCAP_DIR ADMIN_KEY

URL ends with /api/. TOKEN belongs to jane, a project member with User Rights, Data
Access Groups, API export and import and Delete Records rights, in a project whose forms
are demographics, day_3 and other (see docs/clients.md). PYCAP_DIR is a copy of
redcap-tools/PyCap outside this repository; nothing of it is part of Roster. ADMIN_KEY
is a Roster API key of a project administrator: REDCap's API cannot assign the DAGs a
member may switch among (REDCap's DAG Switcher), so the script does it once through
Roster's own API.
"""
import sys

import requests

url, token, pycap_dir, admin_key = sys.argv[1:5]
sys.path.insert(0, pycap_dir)
from redcap import Project, RedcapError  # noqa: E402


def check(what, got, want):
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"{what}: {got!r}")


def fails(what, call):
    try:
        call()
    except RedcapError as e:
        print(f"{what}: RedcapError {e}")
        return
    raise SystemExit(f"{what}: no error")


proj = Project(url, token)
print("redcap_version:", proj.redcap_version)
check("is_longitudinal", proj.is_longitudinal, False)
check("forms (PyCap returns a set, as a list)", sorted(proj.forms), ["day_3", "demographics", "other"])
check("def_field", proj.def_field, "record_id")
info = proj.export_project_info()
print("export_project_info:", {k: info[k] for k in ("project_id", "project_title", "purpose", "is_longitudinal")})

users = proj.export_users()
print("export_users (json):", [u["username"] for u in users], "keys:", list(users[0]))
print("export_users (csv):")
print(proj.export_users(format_type="csv"), end="")

# import_users: a new user (only username is required), an update, a bad row.
check("import_users new", proj.import_users([{"username": "new_user", "design": 1, "forms": {"demographics": 2}}]), 1)
check("import_users update", proj.import_users([{"username": "new_user", "reports": 1, "forms": {"day_3": 3}}],
                                               return_format_type="csv"), "1")
new = [u for u in proj.export_users() if u["username"] == "new_user"][0]
check("new_user after the update", (new["design"], new["reports"], new["forms"]), (1, 1, {"demographics": 0, "day_3": 3, "other": 0}))
fails("import_users bad row", lambda: proj.import_users([{"username": "new_user", "design": 5}, {"username": "bad user!"}]))
# The seed page's "all currently valid options" example, as written.
check("import_users seed example", proj.import_users([
    {"username": "pandeharris@gmail.com", "email": "pandeharris@gmail.com",
     "firstname": "REDCap Trial", "lastname": "User", "expiration": "",
     "data_access_group": "", "data_access_group_id": "", "design": 0,
     "user_rights": 0, "data_export": 2, "reports": 1, "stats_and_charts": 1,
     "manage_survey_participants": 1, "calendar": 1, "data_access_groups": 0,
     "data_import_tool": 0, "data_comparison_tool": 0, "logging": 0,
     "file_repository": 1, "data_quality_create": 0, "data_quality_execute": 0,
     "api_export": 0, "api_import": 0, "mobile_app": 0,
     "mobile_app_download_data": 0, "record_create": 1, "record_rename": 0,
     "record_delete": 0, "lock_records_all_forms": 0, "lock_records": 0,
     "lock_records_customization": 0, "forms": {"demographics": 3}}]), 1)
check("delete_users (xml)", proj.delete_users(["pandeharris@gmail.com"], return_format_type="xml"), "1")

# User roles and role assignments.
check("import_user_roles", proj.import_user_roles([{"role_label": "Monitor", "reports": 1, "forms": {"day_3": 2}}]), 1)
roles = proj.export_user_roles()
role = roles[0]["unique_role_name"]
print("export_user_roles:", [(r["unique_role_name"], r["role_label"], r["reports"], r["forms"]) for r in roles])
check("import_user_role_assignment", proj.import_user_role_assignment([{"username": "new_user", "unique_role_name": role}]), 1)
check("export_user_role_assignment", proj.export_user_role_assignment(),
      [{"username": "jane", "unique_role_name": ""}, {"username": "new_user", "unique_role_name": role}])
in_role = [u for u in proj.export_users() if u["username"] == "new_user"][0]
check("new_user has the role's rights", (in_role["design"], in_role["reports"], in_role["forms"]["day_3"]), (0, 1, 2))

# DAGs and user-DAG assignments.
check("import_dags", proj.import_dags([{"data_access_group_name": "Test DAG", "unique_group_name": ""}]), 1)
dags = proj.export_dags()
print("export_dags:", dags)
check("import_user_dag_assignment", proj.import_user_dag_assignment([{"username": "new_user", "redcap_data_access_group": "test_dag"}]), 1)
check("export_user_dag_assignment", proj.export_user_dag_assignment(),
      [{"username": "jane", "redcap_data_access_group": ""}, {"username": "new_user", "redcap_data_access_group": "test_dag"}])
fails("switch_dag before any DAG is assigned", lambda: proj.switch_dag("test_dag"))
# Roster's own API: let jane switch between test_dag and no DAG.
assigned = requests.put(f"{url[:-len('/api/')]}/v1/projects/{info['project_id']}/members/jane",
                        json={"dag_switch": ["test_dag", ""]}, headers={"Authorization": "Bearer " + admin_key})
check("PUT /v1/…/members/jane dag_switch", (assigned.status_code, assigned.json()["dag_switch"]), (200, ["", "test_dag"]))
check("switch_dag into test_dag", proj.switch_dag("test_dag"), "1")
fails("export_dags while in a DAG", proj.export_dags)
check("switch_dag out", proj.switch_dag(""), "1")
fails("switch_dag to an unknown DAG", lambda: proj.switch_dag("nowhere"))

# Deletes, all or nothing.
fails("delete_users with an unknown name", lambda: proj.delete_users(["new_user", "ghost"]))
check("delete_user_roles", proj.delete_user_roles([role]), 1)
check("export_user_roles after the delete", proj.export_user_roles(), [])
check("delete_dags", proj.delete_dags(["test_dag"]), 1)
check("delete_users", proj.delete_users(["new_user"]), 1)
check("export_users at the end", [u["username"] for u in proj.export_users()], ["jane"])

fails("a wrong token", lambda: Project(url, "0" * 32).export_users())
print("all checks passed")
