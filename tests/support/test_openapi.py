"""Tests for ``tests/support/openapi.py``: loading, conversion, fault repairs, validators.

Tests that need the official description take the ``openapi`` fixture and skip without it; the
loading and skipping tests build tiny Swagger files of their own and run either way.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support import openapi as oa
from tests.support.openapi import SpecViolation, UnknownOperation
from tests.support.openapi import openapi as _openapi_fixture  # noqa: F401  (the fixture)

CONTACT_ID = "4d88f172-21d1-11ea-b5ae-fa163e56c9b0"
LIST_ID = "07936f78-662a-11eb-af0a-fa163e56c9b0"
ACTIVITY_ID = "86b90820-cc52-11ea-9dad-fa163e3d9194"


def ids(n: int) -> list[str]:
    """``n`` distinct, well-formed UUIDs."""
    return [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]


# ---- the example bodies of cc-v3-api.md §3 (values invented there) --------------------------

CONTACTS_PAGE: dict[str, Any] = {  # §3.1, GET /contacts 200
    "contacts": [
        {
            "contact_id": "1618ae62-4752-11e9-9c8a-fa163e6b01c1",
            "email_address": {
                "address": "pat@example.org",
                "permission_to_send": "implicit",
                "created_at": "2021-03-03T10:53:04-05:00",
                "updated_at": "2024-02-01T09:12:00-05:00",
                "opt_in_source": "Account",
                "opt_in_date": "2021-03-03T10:53:04-05:00",
                "confirm_status": "off",
            },
            "first_name": "Pat",
            "last_name": "Lee",
            "update_source": "Account",
            "create_source": "Account",
            "created_at": "2021-03-03T15:53:04Z",
            "updated_at": "2024-02-01T14:12:00Z",
            "list_memberships": [LIST_ID],
        }
    ],
    "contacts_count": 1,
    "_links": {"next": {"href": "/v3/contacts?cursor=<opaque>"}},
}

UNSUBSCRIBE_PUT: dict[str, Any] = {  # §3.3, PUT /contacts/{contact_id} body
    "email_address": {
        "address": "pat@example.org",
        "permission_to_send": "unsubscribed",
        "opt_out_reason": "Upgraded to paid membership",
    },
    "first_name": "Pat",
    "last_name": "Lee",
    "update_source": "Account",
}

LISTS_PAGE: dict[str, Any] = {  # §3.5, GET /contact_lists 200
    "lists": [
        {
            "list_id": LIST_ID,
            "name": "Free members",
            "description": "Everyone on the free tier",
            "favorite": False,
            "created_at": "2020-01-23T13:48:44.108Z",
            "updated_at": "2024-03-03T10:56:29-05:00",
            "membership_count": 3249,
        }
    ],
    "lists_count": 12,
    "_links": {"next": {"href": "/v3/contact_lists?cursor=<opaque>"}},
}

REMOVE_BODY: dict[str, Any] = {  # §3.6 request ("…" replaced by a second id)
    "source": {"contact_ids": [CONTACT_ID, "5e88f172-21d1-11ea-b5ae-fa163e56c9b9"]},
    "list_ids": [LIST_ID],
}

ACTIVITY_201: dict[str, Any] = {  # §3.6 response
    "activity_id": ACTIVITY_ID,
    "state": "initialized",
    "created_at": "2024-05-01T13:48:44.108Z",
    "updated_at": "2024-05-01T13:48:44.108Z",
    "percent_done": 0,
    "activity_errors": [],
    "status": {"items_total_count": 500, "items_completed_count": 0, "list_count": 1},
    "_links": {"self": {"href": f"/v3/activities/{ACTIVITY_ID}"}},
}

ACTIVITY_DONE: dict[str, Any] = {  # §3.8, GET /activities/{activity_id} once finished
    **ACTIVITY_201,
    "state": "completed",
    "started_at": "2024-05-01T13:48:45Z",
    "completed_at": "2024-05-01T13:48:50Z",
    "percent_done": 100,
    "status": {"items_total_count": 500, "items_completed_count": 500, "list_count": 1},
}


def violation(call: Any, *args: Any, **kwargs: Any) -> SpecViolation:
    with pytest.raises(SpecViolation) as caught:
        call(*args, **kwargs)
    return caught.value


# ---- finding and loading the file -----------------------------------------------------------


def write_swagger(path: Path, title: str = "tiny") -> Path:
    path.write_text(
        textwrap.dedent(
            f"""\
            swagger: "2.0"
            info: {{title: {title}, version: "1"}}
            basePath: /v3
            paths:
              /things/{{thing_id}}:
                get:
                  operationId: getThing
                  parameters:
                  - {{name: thing_id, in: path, required: true, type: string}}
                  responses:
                    200: {{description: ok, schema: {{$ref: "#/definitions/Thing"}}}}
            definitions:
              Thing:
                type: object
                properties:
                  made: {{type: string, format: date, example: 2016-07-08}}
            """
        ),
        encoding="utf-8",
    )
    return path


def test_spec_path_prefers_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(oa.SPEC_ENV, raising=False)
    expected = oa.DEFAULT_SPEC_PATH if oa.DEFAULT_SPEC_PATH.is_file() else None
    assert oa.spec_path() == expected
    repo = Path(oa.__file__).resolve().parents[2]
    assert repo.parent / "shared" / "cc-v3-openapi.yaml" == oa.DEFAULT_SPEC_PATH
    copy_ = write_swagger(tmp_path / "copy.yaml")
    monkeypatch.setenv(oa.SPEC_ENV, str(copy_))
    assert oa.spec_path() == copy_
    monkeypatch.setenv(oa.SPEC_ENV, str(tmp_path / "missing.yaml"))
    assert oa.spec_path() is None  # an explicit override never falls back to the default


def test_absent_file_skips_with_a_clear_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(oa.SPEC_ENV, str(tmp_path / "missing.yaml"))
    for call in (
        oa.require_spec,
        lambda: oa.find_operation("GET", "/v3/contacts"),
        lambda: oa.validate_response("GET", "/v3/contacts", 200, {}),
        lambda: oa.validate_query("GET", "/v3/contacts", {}),
    ):
        with pytest.raises(pytest.skip.Exception, match=r"cc-v3-openapi\.yaml is absent"):
            call()
    with pytest.raises(oa.SpecUnavailable, match=r"missing\.yaml"):
        oa.load_spec()


def test_a_real_run_reports_the_skip(tmp_path: Path) -> None:
    """End to end, in a fresh interpreter: the fixture skips and pytest shows why."""
    (tmp_path / "test_uses_spec.py").write_text(
        "from tests.support.openapi import openapi  # noqa: F401\n\n"
        "def test_needs_spec(openapi):\n    raise AssertionError('must not run')\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        oa.SPEC_ENV: str(tmp_path / "missing.yaml"),
        "PYTHONPATH": str(oa.REPO_ROOT),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # Qt, hypothesis… cost a second and are not needed
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "test_uses_spec.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "../shared/cc-v3-openapi.yaml is absent" in done.stdout


def test_load_is_cached_per_process_and_as_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(oa, "CACHE_DIR", tmp_path / "cache")
    spec_file = write_swagger(tmp_path / "tiny.yaml")
    monkeypatch.setenv(oa.SPEC_ENV, str(spec_file))

    first = oa.load_spec()
    assert oa.load_spec() is first  # per process
    # YAML oddities are normalised so the JSON cache reads back the very same document:
    assert first["paths"]["/things/{thing_id}"]["get"]["responses"]["200"]["description"] == "ok"
    assert first["definitions"]["Thing"]["properties"]["made"]["example"] == "2016-07-08"
    digest = hashlib.sha256(spec_file.read_bytes()).hexdigest()
    (cached,) = (tmp_path / "cache").glob("spec-*.json")
    assert (tmp_path / "cache" / ".gitignore").read_text(encoding="utf-8").endswith("*\n")
    assert digest in cached.name
    assert json.loads(cached.read_text(encoding="utf-8")) == first

    # Across runs the JSON cache is what is read: plant one for new content and see it used.
    other = write_swagger(tmp_path / "other.yaml", title="other")
    planted = copy.deepcopy(first) | {"info": {"title": "from the cache"}}
    name = cached.name.replace(digest, hashlib.sha256(other.read_bytes()).hexdigest())
    (tmp_path / "cache" / name).write_text(json.dumps(planted), encoding="utf-8")
    monkeypatch.setenv(oa.SPEC_ENV, str(other))
    assert oa.load_spec()["info"]["title"] == "from the cache"

    # A damaged cache file is ignored and rewritten (a new mtime makes the process re-read).
    (tmp_path / "cache" / name).write_text("{not json", encoding="utf-8")
    os.utime(other, ns=(other.stat().st_atime_ns, other.stat().st_mtime_ns + 10**9))
    assert oa.load_spec()["info"]["title"] == "other"
    assert json.loads((tmp_path / "cache" / name).read_text(encoding="utf-8"))["info"]["title"] == "other"

    # The tiny file is a spec like any other.
    assert oa.find_operation("GET", "/v3/things/t1").operation_id == "getThing"
    oa.validate_response("GET", "/v3/things/t1", 200, {"made": "2016-07-08"})
    assert "made" in str(violation(oa.validate_response, "GET", "/v3/things/t1", 200, {"made": "x"}))

    before = oa.load_spec()
    oa.clear_caches()
    assert oa.load_spec() == before and oa.load_spec() is not before


def test_the_json_cache_equals_a_fresh_yaml_parse(openapi: dict[str, Any]) -> None:
    path = oa.spec_path()
    assert path is not None
    assert oa._parse_yaml(path.read_bytes()) == openapi


def test_the_fixture_gives_the_description(openapi: dict[str, Any]) -> None:
    assert openapi["swagger"] == "2.0"
    assert openapi["basePath"] == "/v3"
    assert openapi["info"] == oa.load_spec()["info"]


# ---- the faults of the file -------------------------------------------------------------------


def test_the_worked_around_faults_are_still_in_the_file(openapi: dict[str, Any]) -> None:
    """If Constant Contact fixes one of these, retire its workaround in openapi.py."""
    definitions = openapi["definitions"]
    remove = definitions["ListActivityRemoveContacts"]["properties"]
    for array in (
        remove["source"]["properties"]["contact_ids"],
        remove["source"]["properties"]["list_ids"],
        remove["source"]["properties"]["tag_ids"],
        remove["list_ids"],
        definitions["ListActivityAddContacts"]["properties"]["source"]["properties"]["tag_ids"],
    ):
        assert array["maxItems"] == 0
    get_contacts = {p["name"]: p for p in openapi["paths"]["/contacts"]["get"]["parameters"]}
    for name in ("status", "include", "sms_status"):
        assert get_contacts[name]["format"] == "csv" and len(get_contacts[name]["enum"]) > 1
    assert (get_contacts["lists"]["maximum"], get_contacts["tags"]["maximum"]) == (25, 50)
    lists_status = {p["name"]: p for p in openapi["paths"]["/contact_lists"]["get"]["parameters"]}
    assert "format" not in lists_status["status"]
    assert "comma-separated" in lists_status["status"]["description"]


def test_documented_limits_replace_max_items_zero(openapi: dict[str, Any]) -> None:
    remove = oa.definition_schema("ListActivityRemoveContacts", request=True)["definitions"][
        "ListActivityRemoveContacts"
    ]["properties"]
    source = remove["source"]["properties"]
    assert (source["contact_ids"]["maxItems"], source["list_ids"]["maxItems"]) == (500, 50)
    assert (source["tag_ids"]["maxItems"], remove["list_ids"]["maxItems"]) == (50, 50)
    custom = oa.definition_schema("CustomFieldId100")["definitions"]["CustomFieldId100"]
    assert "maxItems" not in custom["properties"]["custom_field_ids"]  # undocumented: dropped


REMOVE = "/v3/activities/remove_list_memberships"
ADD = "/v3/activities/add_list_memberships"
ONE_LIST = [LIST_ID]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (REMOVE, {"source": {"contact_ids": ids(500)}, "list_ids": ids(50)}),
        (REMOVE, {"source": {"list_ids": ids(50)}, "list_ids": ONE_LIST}),
        (REMOVE, {"source": {"tag_ids": ids(50)}, "list_ids": ONE_LIST}),
        (
            REMOVE,
            {
                "source": {"all_active_contacts": True},
                "exclude": {"contact_ids": ids(3)},
                "list_ids": ONE_LIST,
            },
        ),
        (ADD, {"source": {"contact_ids": ids(500)}, "list_ids": ids(50)}),
        (ADD, {"source": {"tag_ids": ids(50)}, "list_ids": ONE_LIST}),
        (ADD, {"source": {"segment_id": 14}, "list_ids": ONE_LIST}),
        (REMOVE, {"source": {"contact_ids": [CONTACT_ID]}, "list_ids": []}),  # no minItems in the spec
    ],
)
def test_bulk_bodies_within_the_documented_limits_pass(openapi: dict[str, Any], path: str, body: Any) -> None:
    oa.validate_request_body("POST", path, body)


@pytest.mark.parametrize(
    ("path", "source", "targets", "expected"),
    [
        (REMOVE, {"contact_ids": ids(501)}, ONE_LIST, "$.source.contact_ids: 501 items; at most 500"),
        (REMOVE, {"contact_ids": [CONTACT_ID]}, ids(51), "$.list_ids: 51 items; at most 50"),
        (REMOVE, {"list_ids": ids(51)}, ONE_LIST, "$.source.list_ids: 51 items; at most 50"),
        (REMOVE, {"tag_ids": ids(51)}, ONE_LIST, "$.source.tag_ids: 51 items; at most 50"),
        (ADD, {"tag_ids": ids(51)}, ONE_LIST, "$.source.tag_ids: 51 items; at most 50"),
        (ADD, {"contact_ids": ids(501)}, ONE_LIST, "$.source.contact_ids: 501 items; at most 500"),
        (REMOVE, {}, ONE_LIST, "$.source: has 0 properties; at least 1 needed"),
        (
            REMOVE,
            {"contact_ids": [CONTACT_ID], "all_active_contacts": True},
            ONE_LIST,
            "$.source: has 2 properties (all_active_contacts, contact_ids); at most 1 (they are mutually",
        ),
        (REMOVE, {"contact_ids": ["not-a-uuid"]}, ONE_LIST, "$.source.contact_ids[0]: 'not-a-uuid' is not a"),
    ],
)
def test_bulk_bodies_outside_the_limits_fail(
    openapi: dict[str, Any], path: str, source: Any, targets: list[str], expected: str
) -> None:
    body = {"source": source, "list_ids": targets}
    error = violation(oa.validate_request_body, "POST", path, body)
    assert any(e.startswith(expected) for e in error.errors), error.errors


def test_bulk_bodies_need_source_and_targets_and_nothing_else(openapi: dict[str, Any]) -> None:
    error = violation(oa.validate_request_body, "POST", REMOVE, {"list_ids": ONE_LIST, "lists": []})
    assert error.errors == (
        "$: 'source' is a required property",
        "$: Additional properties are not allowed ('lists' was unexpected)",
    )


# ---- responses --------------------------------------------------------------------------------


CONTACT = f"/v3/contacts/{CONTACT_ID}"
ACTIVITY = f"/v3/activities/{ACTIVITY_ID}"
ACCOUNT = {"encoded_account_id": "p07e1l8cdif9dl", "organization_name": "Friends of the Park"}
ACTIVITIES = {"activities": [ACTIVITY_DONE], "_links": {"next": {"href": "/v3/activities?cursor=x"}}}


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/v3/contacts?status=all&include=list_memberships", 200, CONTACTS_PAGE),
        ("GET", CONTACT, 200, CONTACTS_PAGE["contacts"][0]),
        ("PUT", CONTACT, 200, CONTACTS_PAGE["contacts"][0]),
        ("GET", "/v3/contact_lists", 200, LISTS_PAGE),
        ("GET", f"/v3/contact_lists/{LIST_ID}", 200, LISTS_PAGE["lists"][0]),
        ("POST", REMOVE, 201, ACTIVITY_201),
        ("POST", ADD, 201, ACTIVITY_201),
        ("GET", ACTIVITY, 200, ACTIVITY_DONE),
        ("GET", "/v3/activities", 200, ACTIVITIES),
        ("GET", "/v3/contacts", 200, {"contacts": []}),  # a not-found e-mail
        ("GET", "/v3/contacts", 202, {"contacts": [], "status": "processing"}),  # segment_id
        ("GET", "/v3/account/summary", 200, ACCOUNT),
    ],
)
def test_documented_examples_validate(
    openapi: dict[str, Any], method: str, path: str, status: int, body: Any
) -> None:
    oa.validate_response(method, path, status, body)


def test_documented_request_examples_validate(openapi: dict[str, Any]) -> None:
    oa.validate_request_body("PUT", f"/v3/contacts/{CONTACT_ID}", UNSUBSCRIBE_PUT)
    oa.validate_request_body("POST", REMOVE, REMOVE_BODY)
    oa.validate_request("POST", ADD, REMOVE_BODY)


def test_strict_mode_rejects_an_invented_field(openapi: dict[str, Any]) -> None:
    page = copy.deepcopy(CONTACTS_PAGE)
    page["contacts"][0]["status"] = "active"  # V3 contacts have no status (cc-v3-api.md §3.1)
    page["contacts"][0]["email_address"]["bounced"] = False
    error = violation(oa.validate_response, "GET", "/v3/contacts", 200, page)
    assert "[strict]" in error.headline and "#/definitions/Contacts" in error.headline
    assert error.errors == (
        "$.contacts[0]: Additional properties are not allowed ('status' was unexpected)",
        "$.contacts[0].email_address: Additional properties are not allowed ('bounced' was unexpected)",
    )
    oa.validate_response("GET", "/v3/contacts", 200, page, strict=False)

    activity = ACTIVITY_201 | {"status": ACTIVITY_201["status"] | {"person_count": 1}}
    # ActivityListsMembership's inline status has 3 fields; ActivityStatus (GET) has 7.
    error = violation(oa.validate_response, "POST", REMOVE, 201, activity)
    assert "'person_count' was unexpected" in str(error)
    oa.validate_response("GET", ACTIVITY, 200, activity)


def test_strict_mode_leaves_open_schemas_open(openapi: dict[str, Any]) -> None:
    strict = oa.definition_schema("ContactList")["definitions"]
    assert strict["ContactList"]["additionalProperties"] is False
    assert strict["MapOfstringAndstring"]["additionalProperties"] == {"type": "string"}
    settings = strict["ProfileDto"]["properties"]["settings"]
    assert settings["additionalProperties"] == {"type": "object", "properties": {}}
    loose = oa.definition_schema("ContactList", strict=False)["definitions"]["ContactList"]
    assert "additionalProperties" not in loose
    text = json.dumps(strict)
    assert '"readOnly":' not in text and '"example":' not in text and '"x-' not in text


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (ACTIVITY, ACTIVITY_DONE | {"percent_done": "100"}, "$.percent_done: '100' is not of type 'integer'"),
        (ACTIVITY, ACTIVITY_DONE | {"percent_done": 99.5}, "$.percent_done: 99.5 is not of type 'integer'"),
        (
            ACTIVITY,
            ACTIVITY_DONE | {"activity_errors": [{"message": "x"}]},
            "$.activity_errors[0]: {'message': 'x'} is not of type 'string'",
        ),
        ("/v3/contact_lists", {"lists": [{"list_id": LIST_ID, "name": 5}]}, "$.lists[0].name: 5 is not of"),
        ("/v3/contact_lists", {"lists": [{"list_id": LIST_ID}]}, "$.lists[0]: 'name' is a required property"),
        ("/v3/contact_lists", {"lists_count": True}, "$.lists_count: True is not of type 'integer'"),
        ("/v3/contacts", {"contacts": {}}, "$.contacts: {} is not of type 'array'"),
        ("/v3/contacts", [], "$: [] is not of type 'object'"),
        (
            CONTACT,
            {"created_at": "2021-03-03T15:53:04"},
            "$.created_at: '2021-03-03T15:53:04' is not a 'date-",
        ),
        (
            CONTACT,
            {"deleted_at": "2016-07-08T00:00:00Z"},
            "$.deleted_at: '2016-07-08T00:00:00Z' is not a 'date'",
        ),
        (CONTACT, {"list_memberships": ids(51)}, "$.list_memberships: 51 items; at most 50 allowed"),
        (CONTACT, {"email_address": {}}, "$.email_address: 'address' is a required property"),
    ],
)
def test_wrong_values_are_rejected_with_their_json_path(
    openapi: dict[str, Any], path: str, body: Any, expected: str
) -> None:
    error = violation(oa.validate_response, "GET", path, 200, body)
    assert any(e.startswith(expected) for e in error.errors), error.errors


def test_every_error_is_listed(openapi: dict[str, Any]) -> None:
    contacts = [{"contact_id": f"bad-{i}"} for i in range(3)]
    error = violation(oa.validate_response, "GET", "/v3/contacts", 200, {"contacts": contacts})
    assert [e.split(":")[0] for e in error.errors] == [f"$.contacts[{i}].contact_id" for i in range(3)]
    assert all(line in str(error) for line in error.errors)
    many = [{"contact_id": f"bad-{i}"} for i in range(250)]
    error = violation(oa.validate_response, "GET", "/v3/contacts", 200, {"contacts": many})
    assert len(error.errors) == 250 and str(error).endswith("… and 50 more (see .errors)")


def test_validate_definition_and_request(openapi: dict[str, Any]) -> None:
    contact = CONTACTS_PAGE["contacts"][0]
    oa.validate_definition("ContactResource", contact)
    with pytest.raises(SpecViolation, match="'status' was unexpected"):
        oa.validate_definition("ContactResource", contact | {"status": "active"})
    with pytest.raises(KeyError, match="Contactz"):
        oa.validate_definition("Contactz", contact)
    with pytest.raises(SpecViolation, match="include: 'bogus'"):
        oa.validate_request("GET", "/v3/contacts?include=bogus")
    with pytest.raises(SpecViolation, match="update_source"):
        oa.validate_request("PUT", CONTACT, {"first_name": "Pat"})


def test_statuses(openapi: dict[str, Any]) -> None:
    error = violation(oa.validate_response, "GET", "/v3/contacts", 201, CONTACTS_PAGE)
    assert "status 201 is not declared" in str(error) and "200, 202, 400" in str(error)
    # 429 is declared on the bulk POSTs only, but rate limits apply to every call (cc-v3-api.md §5).
    assert "429" not in oa.find_operation("GET", "/v3/contacts").responses
    quota = {"error_key": "quota_exceeded", "error_message": "Limit Exceeded"}
    oa.validate_response("GET", "/v3/contacts", 429, quota, check_error_body=True)
    assert "status 418 is not declared" in str(violation(oa.validate_response, "GET", CONTACT, 418, {}))
    # Declared errors carry no schema: anything goes, unless the error shape is asked for.
    oa.validate_response("GET", CONTACT, 404, "<html>")
    throttled = {"error_key": "throttled", "error_message": "Too Many Requests"}
    oa.validate_response("POST", REMOVE, 429, throttled, check_error_body=True)
    with pytest.raises(SpecViolation, match="neither a JSON array nor an object"):
        oa.validate_response("GET", CONTACT, 404, "<html>", check_error_body=True)
    oa.validate_response("DELETE", CONTACT, 204, None)


@pytest.mark.parametrize(
    "body",
    [
        [{"error_key": "contacts.api.not_found", "error_message": "contact_id is in an invalid format."}],
        [{"error_key": "a", "error_message": "b"}, {"error_key": "c", "error_message": "d"}],
        {"error_key": "unauthorized", "error_message": "Unauthorized"},
        {"error_key": "quota_exceeded", "error_message": "Limit Exceeded"},
    ],
)
def test_error_bodies_of_both_shapes_pass(openapi: dict[str, Any], body: Any) -> None:
    oa.validate_error_body(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], "$: 0 items; at least 1 allowed"),
        ({"error_key": "x"}, "$: 'error_message' is a required property"),
        ([{"error_key": "x", "error_message": 3}], "$[0].error_message: 3 is not of type 'string'"),
        ({"error": "invalid_grant", "error_description": "x"}, "$: 'error_key' is a required property"),
        ({"error_key": "x", "error_message": "y", "status": 400}, "'status' was unexpected"),
        ("Bad request", "str"),
    ],
)
def test_other_error_bodies_fail(openapi: dict[str, Any], body: Any, expected: str) -> None:
    error = violation(oa.validate_error_body, body)
    assert any(expected in e for e in error.errors), error.errors


# ---- requests ---------------------------------------------------------------------------------


def test_request_bodies_where_none_or_one_is_due(openapi: dict[str, Any]) -> None:
    assert "declares no request body" in str(violation(oa.validate_request_body, "GET", "/v3/contacts", {}))
    oa.validate_request_body("GET", "/v3/contacts", None)
    assert "is required" in str(violation(oa.validate_request_body, "POST", REMOVE, None))
    error = violation(oa.validate_request_body, "PUT", f"/v3/contacts/{CONTACT_ID}", {"first_name": "Pat"})
    assert error.errors == ("$: 'update_source' is a required property",)


def test_a_get_response_is_not_a_put_body(openapi: dict[str, Any]) -> None:
    """Echoing a GET'd contact back in a PUT is refused: the PUT schema is narrower."""
    echoed = copy.deepcopy(CONTACTS_PAGE["contacts"][0])
    error = violation(oa.validate_request_body, "PUT", f"/v3/contacts/{CONTACT_ID}", echoed)
    assert error.errors == (
        "$: Additional properties are not allowed ('contact_id', 'create_source', 'created_at', "
        "'updated_at' were unexpected)",
        "$.email_address: Additional properties are not allowed ('opt_in_source' was unexpected)",
    )


def test_read_only_properties_in_requests(openapi: dict[str, Any]) -> None:
    body = copy.deepcopy(UNSUBSCRIBE_PUT)
    body["email_address"]["created_at"] = "2021-03-03T10:53:04-05:00"
    oa.validate_request_body("PUT", CONTACT, body)  # tolerated by default
    error = violation(oa.validate_request_body, "PUT", CONTACT, body, forbid_read_only=True)
    assert error.errors == (
        "$.email_address.created_at: 'created_at' is readOnly in the description: a request must not send it",
    )
    # A read-only property is never required of a request (Swagger 2.0 readOnly semantics).
    put_post = "ContactListPutPost"
    assert oa.definition_schema(put_post)["definitions"][put_post]["required"] == ["list_id", "name"]
    assert oa.definition_schema(put_post, request=True)["definitions"][put_post]["required"] == ["name"]


# ---- query strings ----------------------------------------------------------------------------

ALL_INCLUDES = "custom_fields,list_memberships,phone_numbers,street_addresses,taggings,notes"
GOOD_QUERIES = [
    ("GET", "/v3/contacts", {"include": "custom_fields,list_memberships"}),
    ("GET", "/v3/contacts", {"include": ALL_INCLUDES}),
    ("GET", "/v3/contacts", {"status": "all", "email": "pat@example.org", "include_count": "true"}),
    ("GET", "/v3/contacts", {"status": "unsubscribed,deleted", "sms_status": "all", "limit": "500"}),
    ("GET", "/v3/contacts", {"lists": ",".join(ids(25)), "limit": 1}),
    ("GET", "/v3/contacts", {"tags": ",".join(ids(50))}),
    ("GET", "/v3/contacts", {"segment_id": "14", "limit": "50"}),
    ("GET", "/v3/contacts", {"updated_after": "2022-01-01T16:37:59.091Z"}),
    ("GET", "/v3/contacts?cursor=bGltaXQ9MSZuZXh0PTJjZDgwMjdh&limit=50", None),  # a _links.next.href
    ("GET", "/v3/contacts", {"email": ["pat@example.org"]}),  # parse_qs style
    ("GET", "/v3/contacts", [("email", "pat@example.org"), ("status", None)]),  # None: not sent
    ("GET", CONTACT, {"include": "list_memberships"}),
    ("GET", "/v3/contact_lists", {"limit": "1000", "include_count": "true"}),
    ("GET", "/v3/contact_lists", {"include_membership_count": "all", "channel_type": "email"}),
    ("GET", "/v3/contact_lists", {"status": "active,deleted", "name": "Free members"}),
    ("GET", "/v3/contact_lists?cursor=abc", None),
    ("GET", "/v3/activities", {"limit": "500", "state": "timed_out"}),
    ("GET", "/v3/account/summary", {"extra_fields": "physical_address,company_logo"}),
    ("POST", REMOVE, {}),
]


@pytest.mark.parametrize(("method", "path", "params"), GOOD_QUERIES)
def test_good_queries_pass(openapi: dict[str, Any], method: str, path: str, params: Any) -> None:
    oa.validate_query(method, path, params)


BAD_QUERIES = [
    ("GET", "/v3/contacts", {"include": "bogus"}, "include: 'bogus' is not one of"),
    ("GET", "/v3/contacts", {"include": "custom_fields,bogus"}, "include: 'bogus' is not one of"),
    ("GET", "/v3/contacts", {"include": "custom_fields,"}, "include: empty item"),
    ("GET", "/v3/contacts", {"status": "removed"}, "status: 'removed' is not one of"),
    ("GET", "/v3/contacts", {"limit": "501"}, "limit: 501 is above the maximum 500"),
    ("GET", "/v3/contacts", {"limit": "0"}, "limit: 0 is below the minimum 1"),
    ("GET", "/v3/contacts", {"limit": "fifty"}, "limit: 'fifty' is not an integer"),
    ("GET", "/v3/contacts", {"include_count": True}, "include_count: 'True' is not a boolean"),
    ("GET", "/v3/contacts", {"include_count": "1"}, "include_count: '1' is not a boolean"),
    ("GET", "/v3/contacts", {"lists": ",".join(ids(26))}, "lists: 26 comma-separated values; at most 25"),
    ("GET", "/v3/contacts", {"tags": ",".join(ids(51))}, "tags: 51 comma-separated values; at most 50"),
    ("GET", "/v3/contacts", {"tags": "fa85f64-5717-4562-b3fc-2c963f66afa6"}, "is not a valid uuid"),
    ("GET", "/v3/contacts", {"segment_id": "14,15"}, "segment_id: 2 comma-separated values; at most 1"),
    ("GET", "/v3/contacts", {"updated_after": "2022-01-01"}, "updated_after: '2022-01-01' is not a valid"),
    ("GET", "/v3/contacts", {"email": ["a@example.org", "b@example.org"]}, "email: given 2 times"),
    ("GET", "/v3/contacts", {"email": ""}, "email: empty value"),
    ("GET", "/v3/contacts", {"list_id": LIST_ID}, "list_id: not a query parameter of GET /contacts"),
    ("GET", CONTACT, {"cursor": "abc"}, "cursor: not a query parameter"),
    ("GET", "/v3/contacts?limit=600", None, "limit: 600 is above the maximum 500"),
    ("GET", "/v3/contact_lists", {"limit": "1001"}, "limit: 1001 is above the maximum 1000"),
    ("GET", "/v3/contact_lists", {"status": "active,removed"}, "status: 'removed' is not one of"),
    ("GET", "/v3/contact_lists", {"include_membership_count": "mailable"}, "is not one of ['all', 'active']"),
    ("GET", "/v3/activities", {"state": "time_out"}, "state: 'time_out' is not one of"),  # §0
    ("GET", "/v3/activities", {"state": "initialized"}, "state: 'initialized' is not one of"),
    ("POST", REMOVE, {"limit": "5"}, "limit: not a query parameter"),
]


@pytest.mark.parametrize(("method", "path", "params", "expected"), BAD_QUERIES)
def test_bad_queries_fail(
    openapi: dict[str, Any], method: str, path: str, params: Any, expected: str
) -> None:
    error = violation(oa.validate_query, method, path, params)
    assert any(expected in e for e in error.errors), error.errors


def test_query_errors_are_all_listed(openapi: dict[str, Any]) -> None:
    error = violation(oa.validate_query, "GET", "/v3/contacts", {"include": "bogus", "limit": "0", "x": "1"})
    assert [e.split(":")[0] for e in error.errors] == ["include", "limit", "x"]


# ---- finding operations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "operation_id", "template"),
    [
        ("GET", "/v3/contacts", "getContacts", "/contacts"),
        ("GET", f"/v3/contacts/{CONTACT_ID}", "getContact", "/contacts/{contact_id}"),
        ("put", f"/v3/contacts/{CONTACT_ID}", "putContact", "/contacts/{contact_id}"),
        ("GET", "/v3/contacts/counts", "countContact", "/contacts/counts"),
        ("POST", "/v3/contacts/sign_up_form", "createOrUpdateContact", "/contacts/sign_up_form"),
        ("GET", "/v3/contact_lists", "getLists", "/contact_lists"),
        ("GET", f"/v3/contact_lists/{LIST_ID}", "getList", "/contact_lists/{list_id}"),
        ("POST", REMOVE, "postListRemoveContact", "/activities/remove_list_memberships"),
        ("POST", ADD, "postListAddContact", "/activities/add_list_memberships"),
        ("GET", f"/v3/activities/{ACTIVITY_ID}", "getActivity", "/activities/{activity_id}"),
        ("GET", "/v3/activities", "getActivityStatusCollection", "/activities"),
        ("GET", "/v3/account/summary", "getAccountById", "/account/summary"),
        ("GET", "https://api.cc.email/v3/contacts?status=all", "getContacts", "/contacts"),
        ("GET", "http://127.0.0.1:8765/v3/contacts?cursor=abc", "getContacts", "/contacts"),
        ("GET", "/contacts", "getContacts", "/contacts"),  # base path already stripped
    ],
)
def test_find_operation(
    openapi: dict[str, Any], method: str, path: str, operation_id: str, template: str
) -> None:
    operation = oa.find_operation(method, path)
    assert operation.operation_id == operation_id
    assert (operation.path, operation.method) == (template, method.upper())


def test_every_template_finds_itself(openapi: dict[str, Any]) -> None:
    """Literal segments win everywhere: a templated path filled in finds its own operation."""
    for template, item in openapi["paths"].items():
        concrete = "/v3" + template.replace("{", "x-").replace("}", "")
        for method in set(item) & {"get", "put", "post", "delete", "patch"}:
            assert oa.find_operation(method, concrete).path == template


def test_operation_details(openapi: dict[str, Any]) -> None:
    put = oa.find_operation("PUT", f"/v3/contacts/{CONTACT_ID}")
    assert put.path_arguments(f"/contacts/{CONTACT_ID}") == {"contact_id": CONTACT_ID}
    assert put.request_schema == {"$ref": "#/definitions/ContactPutRequest"} and put.body_required
    assert put.responses["200"] == {"$ref": "#/definitions/ContactResource"}
    assert put.responses["409"] is None
    assert str(put) == "PUT /contacts/{contact_id} (putContact)"
    get = oa.find_operation("GET", "/v3/contacts")
    assert "include" in get.query_parameters and get.request_schema is None


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v3/nothing", "no path of the Constant Contact description matches '/nothing'"),
        ("GET", "/v3/contacts/a/b/c", "no path"),
        ("DELETE", "/v3/activities/remove_list_memberships", "declares only POST"),
        ("PATCH", f"/v3/contacts/{CONTACT_ID}", "declares only DELETE, GET, PUT"),
    ],
)
def test_unknown_operations(openapi: dict[str, Any], method: str, path: str, expected: str) -> None:
    with pytest.raises(UnknownOperation, match=expected):
        oa.find_operation(method, path)


# ---- the schemas as a whole -------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"strict": False}, {"request": True}, {"request": True, "forbid_read_only": True}],
)
def test_every_converted_schema_is_valid_draft4(openapi: dict[str, Any], options: dict[str, bool]) -> None:
    jsonschema.Draft4Validator.check_schema(oa.json_schema({}, **options))


def test_formats() -> None:
    check = oa.FORMAT_CHECKER.conforms
    assert check(CONTACT_ID, "uuid") and check(CONTACT_ID.upper(), "uuid")
    assert not check("4d88f172-21d1-11ea-b5ae-fa163e56c9b", "uuid")
    for good in ("2016-01-23T13:48:44.108Z", "2016-03-03T10:56:29-05:00", "2021-03-03T15:53:04Z"):
        assert check(good, "date-time")
    for bad in ("2021-03-03T15:53:04", "2021-03-03 15:53:04Z", "2021-02-30T00:00:00Z", "2016-07-08"):
        assert not check(bad, "date-time")
    assert check("2016-07-08", "date") and not check("2016-13-08", "date")
    assert check(7, "uuid") and check("anything", "email")  # other types / formats: not checked
