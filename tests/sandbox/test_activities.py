"""Bulk list-membership activities: validation, life cycle, effects, faults, retention."""

from __future__ import annotations

import time

import pytest
import requests

from ccdesk.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _unlimited(sandbox: Sandbox) -> None:
    sandbox.set_limits(rate_limit=0)


def ids(api: requests.Session, *emails: str) -> list[str]:
    out = []
    for email in emails:
        r = api.get(f"{api.base}/contacts", params={"email": email, "status": "all"})
        out.append(r.json()["contacts"][0]["contact_id"])
    return out


def remove(api, contact_ids: list[str], list_ids: list[str], **extra) -> requests.Response:
    body = {"source": {"contact_ids": contact_ids}, "list_ids": list_ids, **extra}
    return api.post(f"{api.base}/activities/remove_list_memberships", json=body)


def wait_done(api, activity_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"{api.base}/activities/{activity_id}").json()
        if body["state"] in ("completed", "failed", "cancelled", "timed_out"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"activity {activity_id} did not finish")


def test_remove_runs_initialized_processing_completed(api, sandbox) -> None:
    sandbox.reset(activity_delay=0.3, activity_seconds=0.6, activity_min_seconds=0.6)
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    free = sandbox.list_id("Free Members")
    r = remove(api, ids(api, "ada@example.org", "ben@example.org"), [free])
    assert r.status_code == 201
    created = r.json()
    assert created["state"] == "initialized" and created["percent_done"] == 0
    assert created["status"] == {"items_total_count": 2, "items_completed_count": 0, "list_count": 1}
    assert created["_links"]["self"]["href"] == f"/v3/activities/{created['activity_id']}"
    assert "ada@example.org" in sandbox.members("Free Members")  # nothing done yet
    states = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body = api.get(f"{api.base}/activities/{created['activity_id']}").json()
        states.add(body["state"])
        if body["state"] == "completed":
            break
        time.sleep(0.05)
    assert states >= {"initialized", "processing", "completed"}
    assert body["percent_done"] == 100 and body["status"]["items_completed_count"] == 2
    assert body["activity_errors"] == [] and "completed_at" in body and "started_at" in body
    assert {"ada@example.org", "ben@example.org"}.isdisjoint(sandbox.members("Free Members"))
    assert sandbox.contact("ada@example.org")["email_address"]["permission_to_send"] == "implicit"


def test_remove_keeps_other_lists_and_ignores_non_members(api, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    r = remove(api, ids(api, "eve@example.org", "gus@example.org"), [free])
    body = wait_done(api, r.json()["activity_id"])
    assert body["state"] == "completed" and body["activity_errors"] == []
    assert sandbox.contact("eve@example.org")["lists"] == ["Newsletter"]
    assert sandbox.contact("gus@example.org")["lists"] == ["Sustainers"]


def test_remove_from_several_lists_at_once(api, sandbox) -> None:
    targets = [sandbox.list_id("Free Members"), sandbox.list_id("Sustainers")]
    wait_done(api, remove(api, ids(api, "fay@example.org"), targets).json()["activity_id"])
    assert sandbox.contact("fay@example.org")["lists"] == []


def test_unknown_contact_ids_are_reported_in_activity_errors(api, sandbox) -> None:
    ghost = "00000000-0000-4000-8000-000000000001"
    r = remove(api, [*ids(api, "ada@example.org"), ghost], [sandbox.list_id("Free Members")])
    body = wait_done(api, r.json()["activity_id"])
    assert body["state"] == "completed"
    assert body["activity_errors"] == [f"Contact {ghost} was not found."]
    assert "ada@example.org" not in sandbox.members("Free Members")


def test_add_memberships_undoes_a_removal(api, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    cids = ids(api, "ada@example.org", "eve@example.org")
    wait_done(api, remove(api, cids, [free]).json()["activity_id"])
    r = api.post(f"{api.base}/activities/add_list_memberships",
                 json={"source": {"contact_ids": cids}, "list_ids": [free]})
    assert r.status_code == 201
    wait_done(api, r.json()["activity_id"])
    assert {"ada@example.org", "eve@example.org"} <= sandbox.members("Free Members")
    assert sandbox.contact("eve@example.org")["lists"] == ["Free Members", "Newsletter"]


def test_adding_a_deleted_contact_revives_it(api, sandbox) -> None:
    r = api.post(f"{api.base}/activities/add_list_memberships",
                 json={"source": {"contact_ids": ids(api, "kim@example.org")},
                       "list_ids": [sandbox.list_id("Newsletter")]})
    wait_done(api, r.json()["activity_id"])
    kim = sandbox.contact("kim@example.org")
    assert "deleted_at" not in kim and kim["lists"] == ["Newsletter"]


def test_list_source_and_exclude(api, sandbox) -> None:
    free, news = sandbox.list_id("Free Members"), sandbox.list_id("Newsletter")
    keep = ids(api, "ada@example.org")
    r = api.post(f"{api.base}/activities/remove_list_memberships",
                 json={"source": {"list_ids": [free]}, "exclude": {"contact_ids": keep},
                       "list_ids": [free]})
    assert r.status_code == 201 and r.json()["status"]["items_total_count"] == 7
    wait_done(api, r.json()["activity_id"])
    assert sandbox.members("Free Members") == {"ada@example.org"}
    assert sandbox.members("Newsletter") == {"eve@example.org"}
    assert news  # untouched list still exists


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"list_ids": ["L"]}, "no source"),
        ({"source": {"contact_ids": ["C"]}}, "no target lists"),
        ({"source": {"contact_ids": ["C"]}, "list_ids": []}, "empty target lists"),
        ({"source": {"contact_ids": ["C"], "list_ids": ["L"]}, "list_ids": ["L"]}, "two sources"),
        ({"source": {}, "list_ids": ["L"]}, "empty source"),
        ({"source": {"contact_ids": ["C"] * 501}, "list_ids": ["L"]}, "501 contacts"),
        ({"source": {"contact_ids": ["C"]}, "list_ids": ["L"] * 51}, "51 lists"),
        ({"source": {"contact_ids": ["C"]}, "exclude": {"contact_ids": ["C"]}, "list_ids": ["L"]},
         "exclude with contact_ids"),
        ({"source": {"contact_ids": ["C"]}, "list_ids": ["00000000-0000-4000-8000-00000000dead"]},
         "unknown list"),
    ],
)
def test_invalid_activity_requests_are_400(api, sandbox, body, why) -> None:
    free = sandbox.list_id("Free Members")
    cid = ids(api, "ada@example.org")[0]

    def fill(value):
        if value == "L":
            return free
        if value == "C":
            return cid
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    r = api.post(f"{api.base}/activities/remove_list_memberships", json=fill(body))
    assert r.status_code == 400, why
    assert r.json()[0]["error_key"] == "activities.api.validation.error"


def test_exactly_500_contacts_is_accepted(api, sandbox) -> None:
    many = [f"00000000-0000-4000-8000-{i:012d}" for i in range(500)]
    r = remove(api, many, [sandbox.list_id("Free Members")])
    assert r.status_code == 201 and r.json()["status"]["items_total_count"] == 500


def test_failed_activity_changes_nothing(api, sandbox) -> None:
    sandbox.faults.activity("failed")
    r = remove(api, ids(api, "ada@example.org"), [sandbox.list_id("Free Members")])
    body = wait_done(api, r.json()["activity_id"])
    assert body["state"] == "failed" and body["activity_errors"]
    assert "ada@example.org" in sandbox.members("Free Members")


def test_activity_with_errors_leaves_those_contacts(api, sandbox) -> None:
    sandbox.faults.activity("errors", errors=1)
    cids = ids(api, "ada@example.org", "ben@example.org")
    body = wait_done(api, remove(api, cids, [sandbox.list_id("Free Members")]).json()["activity_id"])
    assert body["state"] == "completed"
    assert len(body["activity_errors"]) == 1 and cids[0] in body["activity_errors"][0]
    assert "ada@example.org" in sandbox.members("Free Members")
    assert "ben@example.org" not in sandbox.members("Free Members")


def test_activities_are_kept_ten_days(api, sandbox) -> None:
    r = remove(api, ids(api, "ada@example.org"), [sandbox.list_id("Free Members")])
    activity_id = r.json()["activity_id"]
    wait_done(api, activity_id)
    sandbox.clock.advance(9 * 86400)
    token = sandbox.issue_token()["access_token"]  # the first one expired after 24 h
    api.headers["Authorization"] = f"Bearer {token}"
    assert api.get(f"{api.base}/activities/{activity_id}").status_code == 200
    sandbox.clock.advance(2 * 86400)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    r = api.get(f"{api.base}/activities/{activity_id}")
    assert r.status_code == 404 and r.json()[0]["error_key"] == "activities.api.not_found"


def test_list_of_recent_activities(api, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    first = remove(api, ids(api, "ada@example.org"), [free]).json()["activity_id"]
    second = remove(api, ids(api, "ben@example.org"), [free]).json()["activity_id"]
    r = api.get(f"{api.base}/activities", params={"limit": 1})
    assert [a["activity_id"] for a in r.json()["activities"]] == [second]  # newest first
    r = api.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
    assert [a["activity_id"] for a in r.json()["activities"]] == [first]
    sandbox.finish_activities()
    done = api.get(f"{api.base}/activities", params={"state": "completed"}).json()["activities"]
    assert {a["activity_id"] for a in done} == {first, second}


def test_queue_limit_answers_429(api, sandbox) -> None:
    sandbox.reset(queue_limit=2, activity_delay=30)
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    free = sandbox.list_id("Free Members")
    cid = ids(api, "ada@example.org")
    assert remove(api, cid, [free]).status_code == 201
    assert remove(api, cid, [free]).status_code == 201
    r = remove(api, cid, [free])
    assert r.status_code == 429 and r.json()["error_key"] == "activities.queue.limit"
