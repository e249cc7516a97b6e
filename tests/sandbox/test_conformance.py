"""Every answer the sandbox gives validates against Constant Contact's official description.

The description is ``../shared/cc-v3-openapi.yaml`` (read at run time, never copied; the tests
skip with a reason when it is absent). Validation is strict: an answer may not carry a field the
description does not declare. The known faults of the file are repaired in
``tests/support/openapi.py`` (see there, each with its reason); nothing is relaxed here.

Only the operations the sandbox serves are exercised, in as many states as ccdesk meets: empty
and full pages, every include, deleted and unsubscribed contacts, activities before, during and
after processing, and the error answers (whose bodies are checked for the API's error shapes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from ccdesk.sandbox import Sandbox
from tests.support.openapi import (
    SpecViolation,
    find_operation,
    require_spec,
    validate_error_body,
    validate_response,
)

SUB_RESOURCES = "custom_fields,list_memberships,phone_numbers,street_addresses,taggings,notes"


@dataclass
class Seen:
    method: str
    path: str
    status: int
    body: Any


@pytest.fixture
def recorded(sandbox: Sandbox, api: requests.Session):
    """The api session, recording every answer to /v3 for validation after the test's calls."""
    require_spec()
    sandbox.set_limits(rate_limit=0)
    seen: list[Seen] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = requests.utils.urlparse(response.request.url).path
        if path.startswith("/v3/"):
            body = response.json() if response.content else None
            seen.append(Seen(response.request.method, path, response.status_code, body))

    api.hooks["response"].append(hook)
    return api, seen


def check_all(seen: list[Seen]) -> set[str]:
    """Validate every recorded answer; returns the operations covered."""
    assert seen, "nothing was recorded"
    problems = []
    covered = set()
    for item in seen:
        operation = find_operation(item.method, item.path)
        covered.add(f"{operation.method} {operation.path} {item.status}")
        try:
            validate_response(item.method, item.path, item.status, item.body,
                              check_error_body=True)
            if item.status >= 400:
                validate_error_body(item.body)
        except SpecViolation as exc:
            problems.append(str(exc))
    assert not problems, "\n\n".join(problems)
    return covered


def test_reading_answers_conform(recorded, sandbox) -> None:
    api, seen = recorded
    base = api.base
    api.get(f"{base}/account/summary")
    api.get(f"{base}/account/summary", params={"extra_fields": "physical_address"})
    api.get(f"{base}/contact_lists", params={"include_membership_count": "all",
                                             "include_count": "true"})
    r = api.get(f"{base}/contact_lists", params={"limit": 1, "include_membership_count": "active"})
    api.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
    api.get(f"{base}/contact_lists/{sandbox.list_id('Sustainers')}",
            params={"include_membership_count": "all"})
    for status in ("all", "deleted", "unsubscribed", "active"):
        api.get(f"{base}/contacts", params={"status": status, "include": SUB_RESOURCES,
                                            "include_count": "true", "limit": 500})
    r = api.get(f"{base}/contacts", params={"lists": sandbox.list_id("Free Members"), "limit": 3,
                                            "status": "all", "include": "list_memberships"})
    api.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
    for email in ("ada@example.org", "kim@example.org", "ivy@example.org", "nobody@example.org"):
        r = api.get(f"{base}/contacts", params={"email": email, "status": "all"})
    kim = api.get(f"{base}/contacts", params={"email": "kim@example.org", "status": "all"})
    api.get(f"{base}/contacts/{kim.json()['contacts'][0]['contact_id']}",
            params={"include": SUB_RESOURCES})
    covered = check_all(seen)
    assert {"GET /account/summary 200", "GET /contact_lists 200",
            "GET /contact_lists/{list_id} 200", "GET /contacts 200",
            "GET /contacts/{contact_id} 200"} <= covered


def test_writing_answers_conform(recorded, sandbox) -> None:
    api, seen = recorded
    base = api.base
    ada = api.get(f"{base}/contacts", params={"email": "ada@example.org"}).json()["contacts"][0]
    api.put(f"{base}/contacts/{ada['contact_id']}", json={
        "email_address": {"address": "ada@example.org", "permission_to_send": "unsubscribed",
                          "opt_out_reason": "Upgraded"},
        "first_name": "Ada", "update_source": "Account"})
    created = api.post(f"{base}/contacts", json={
        "email_address": {"address": "zed@example.org", "permission_to_send": "explicit"},
        "first_name": "Zed", "create_source": "Account",
        "list_memberships": [sandbox.list_id("Newsletter")]})
    api.delete(f"{base}/contacts/{created.json()['contact_id']}")
    covered = check_all(seen)
    assert {"PUT /contacts/{contact_id} 200", "POST /contacts 201",
            "DELETE /contacts/{contact_id} 204"} <= covered


def test_activity_answers_conform_in_every_state(recorded, sandbox) -> None:
    api, seen = recorded
    sandbox.reset(activity_delay=0.3, activity_seconds=0.5, activity_min_seconds=0.5)
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    base = api.base
    free = sandbox.list_id("Free Members")
    ids = [api.get(f"{base}/contacts", params={"email": e}).json()["contacts"][0]["contact_id"]
           for e in ("ada@example.org", "ben@example.org")]
    ghost = "00000000-0000-4000-8000-000000000001"
    started = api.post(f"{base}/activities/remove_list_memberships",
                       json={"source": {"contact_ids": [*ids, ghost]}, "list_ids": [free]}).json()
    states = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body = api.get(f"{base}/activities/{started['activity_id']}").json()
        states.add(body["state"])
        if body["state"] == "completed":
            break
        time.sleep(0.1)
    assert states >= {"initialized", "processing", "completed"}
    assert body["activity_errors"]  # the ghost id, as strings
    api.post(f"{base}/activities/add_list_memberships",
             json={"source": {"contact_ids": ids}, "list_ids": [free]})
    sandbox.faults.activity("failed")
    failed = api.post(f"{base}/activities/add_list_memberships",
                      json={"source": {"list_ids": [free]}, "list_ids": [free]}).json()
    sandbox.finish_activities()
    api.get(f"{base}/activities/{failed['activity_id']}")
    r = api.get(f"{base}/activities", params={"limit": 1})
    api.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
    api.get(f"{base}/activities", params={"state": "completed"})
    covered = check_all(seen)
    assert {"POST /activities/remove_list_memberships 201",
            "POST /activities/add_list_memberships 201",
            "GET /activities/{activity_id} 200", "GET /activities 200"} <= covered


def test_error_answers_conform(recorded, sandbox) -> None:
    api, seen = recorded
    base = api.base
    api.get(f"{base}/contacts", params={"limit": 501})  # 400
    api.get(f"{base}/contacts/00000000-0000-4000-8000-000000000000")  # 404
    api.get(f"{base}/activities/00000000-0000-4000-8000-000000000000")  # 404
    api.post(f"{base}/activities/remove_list_memberships", json={"source": {}, "list_ids": []})
    ben = api.get(f"{base}/contacts", params={"email": "ben@example.org"}).json()["contacts"][0]
    api.put(f"{base}/contacts/{ben['contact_id']}",  # 409: the address belongs to ada
            json={"email_address": {"address": "ada@example.org"}, "update_source": "Account"})
    api.post(f"{base}/contacts", json={"email_address": {"address": "ada@example.org"},
                                       "create_source": "Account"})  # 409
    sandbox.faults.add(r"/v3/contact_lists", status=500)
    api.get(f"{base}/contact_lists")
    sandbox.faults.add(r"/v3/contact_lists", status=503)
    api.get(f"{base}/contact_lists")
    sandbox.set_limits(rate_limit=1)
    api.get(f"{base}/account/summary")
    api.get(f"{base}/account/summary")  # 429 throttled
    api.headers["Authorization"] = "Bearer nope"
    api.get(f"{base}/contacts")  # 401
    covered = check_all(seen)
    for expected in ("GET /contacts 400", "GET /contacts/{contact_id} 404",
                     "GET /activities/{activity_id} 404",
                     "POST /activities/remove_list_memberships 400",
                     "PUT /contacts/{contact_id} 409", "POST /contacts 409",
                     "GET /contact_lists 500", "GET /contact_lists 503",
                     "GET /account/summary 429", "GET /contacts 401"):
        assert expected in covered


def test_the_validator_is_not_a_rubber_stamp(recorded, sandbox) -> None:
    """A field the description does not have, or a wrong type, is caught."""
    api, _ = recorded
    body = api.get(f"{api.base}/contacts", params={"email": "ada@example.org"}).json()
    body["contacts"][0]["status"] = "active"  # V3 contacts have no status field
    with pytest.raises(SpecViolation, match="status"):
        validate_response("GET", "/v3/contacts", 200, body)
    lists = api.get(f"{api.base}/contact_lists").json()
    lists["lists"][0]["colour"] = "not in ContactList"
    with pytest.raises(SpecViolation):
        validate_response("GET", "/v3/contact_lists", 200, lists)


def test_issue12_answers_conform(recorded, sandbox) -> None:
    """Capitalised addresses, deleted_at, and the contact_lists limit's 400."""
    api, seen = recorded
    base = api.base
    api.post(f"{base}/contacts", json={"email_address": {"address": "Zed.McKay@Example.ORG"},
                                       "create_source": "Account"})
    api.get(f"{base}/contacts", params={"email": "zed.mckay@example.org"})
    api.get(f"{base}/contacts", params={"status": "all", "limit": 500})
    api.get(f"{base}/contact_lists", params={"limit": 500})
    api.get(f"{base}/contact_lists", params={"limit": 501})
    covered = check_all(seen)
    assert {"POST /contacts 201", "GET /contacts 200", "GET /contact_lists 200",
            "GET /contact_lists 400"} <= covered


def test_activities_ending_badly_conform(recorded, sandbox) -> None:
    """Stuck, slow, failed, cancelled, timed-out and part-way activities, one by one and listed."""
    api, seen = recorded
    base = api.base
    free = sandbox.list_id("Free Members")
    ada = api.get(f"{base}/contacts", params={"email": "ada@example.org"}).json()["contacts"][0]
    body = {"source": {"contact_ids": [ada["contact_id"]]}, "list_ids": [free]}
    made = []
    for outcome, options in (("stuck", {}), ("slow", {"duration": 100}), ("failed", {}),
                             ("cancelled", {}), ("timed_out", {"applied": 1})):
        sandbox.faults.activity(outcome, **options)
        made.append(api.post(f"{base}/activities/remove_list_memberships", json=body).json())
    sandbox.finish_activities()
    time.sleep(0.1)  # past the stuck activity's "initialized" moment
    for activity in made:
        api.get(f"{base}/activities/{activity['activity_id']}")
    listed = api.get(f"{base}/activities").json()["activities"]
    assert {a["state"] for a in listed} >= {"processing", "failed", "cancelled", "timed_out"}
    covered = check_all(seen)
    assert {"GET /activities/{activity_id} 200", "GET /activities 200"} <= covered


def test_foreign_activities_conform(recorded, sandbox) -> None:
    api, seen = recorded
    sandbox.reset(foreign_activities=40, foreign_activity_every=0)
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    sandbox.add_foreign_activity(3, seconds=100)  # processing
    sandbox.add_foreign_activity(5, created_at=sandbox.clock.time() + 50)  # initialized
    time.sleep(0.6)  # the first past its "initialized" moment
    listed = api.get(f"{api.base}/activities", params={"limit": 500}).json()["activities"]
    for activity in listed[:10]:
        api.get(f"{api.base}/activities/{activity['activity_id']}")
    assert {a["state"] for a in listed} >= {"initialized", "processing", "completed"}
    covered = check_all(seen)
    assert {"GET /activities/{activity_id} 200", "GET /activities 200"} <= covered


def test_gateway_rate_limit_answers_conform(recorded, sandbox) -> None:
    api, seen = recorded
    sandbox.faults.add(r"/v3/contacts", kind="mashery_qps")
    sandbox.faults.add(r"/v3/contact_lists", kind="mashery_ratelimit")
    api.get(f"{api.base}/contacts")
    api.get(f"{api.base}/contact_lists")
    covered = check_all(seen)
    assert {"GET /contacts 403", "GET /contact_lists 403"} <= covered


def test_privileges_and_access_denied_conform(recorded, sandbox) -> None:
    api, seen = recorded
    api.get(f"{api.base}/account/user/privileges")
    sandbox.reset(user_role="campaign_creator")
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    api.get(f"{api.base}/account/user/privileges")
    api.get(f"{api.base}/contacts")
    api.post(f"{api.base}/activities/remove_list_memberships",
             json={"source": {"contact_ids": []}, "list_ids": [sandbox.list_id("Free Members")]})
    covered = check_all(seen)
    assert {"GET /account/user/privileges 200", "GET /contacts 403",
            "POST /activities/remove_list_memberships 403"} <= covered
