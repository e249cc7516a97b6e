"""Scripted faults and the request log."""

from __future__ import annotations

import time

import pytest
import requests

from ccdesk.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _unlimited(sandbox: Sandbox) -> None:
    sandbox.set_limits(rate_limit=0)


def lists(api: requests.Session, **kw) -> requests.Response:
    return api.get(f"{api.base}/contact_lists", **kw)


@pytest.mark.parametrize("status", [500, 503])
def test_status_fault_on_the_nth_request_of_a_path(api, sandbox, status) -> None:
    sandbox.faults.add(r"/v3/contact_lists", status=status, nth=2, times=2)
    got = [lists(api).status_code for _ in range(4)]
    assert got == [200, status, status, 200]
    body = api.get(f"{api.base}/contact_lists").json()
    assert "lists" in body
    sandbox.faults.add(r"/v3/contacts", status=status)
    r = api.get(f"{api.base}/contacts")
    assert r.status_code == status
    assert isinstance(r.json(), list) and set(r.json()[0]) == {"error_key", "error_message"}


def test_fault_matches_method_and_path_pattern(api, sandbox) -> None:
    sandbox.faults.add(r"/v3/contacts/[^/]+", method="PUT", status=500)
    r = api.get(f"{api.base}/contacts", params={"email": "ada@example.org"})
    cid = r.json()["contacts"][0]["contact_id"]
    assert api.get(f"{api.base}/contacts/{cid}").status_code == 200  # GET is not matched
    body = {"email_address": {"address": "ada@example.org"}, "update_source": "Account"}
    assert api.put(f"{api.base}/contacts/{cid}", json=body).status_code == 500
    assert api.put(f"{api.base}/contacts/{cid}", json=body).status_code == 200


def test_dropped_connection(api, sandbox) -> None:
    sandbox.faults.add(r"/v3/contact_lists", kind="drop")
    with pytest.raises(requests.ConnectionError):
        lists(api)
    assert lists(api).status_code == 200


def test_slow_answer_times_out(api, sandbox) -> None:
    sandbox.faults.add(r"/v3/contact_lists", kind="delay", delay=1.0)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        lists(api, timeout=0.3)
    assert time.monotonic() - started < 0.9
    assert lists(api, timeout=5).status_code == 200


def test_answer_lost_after_the_post_took_effect(api, sandbox) -> None:
    """The case a client must never blindly retry: the activity exists, the answer is lost."""
    cid = api.get(f"{api.base}/contacts", params={"email": "ada@example.org"}).json()["contacts"][0]
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", kind="drop", after=True)
    with pytest.raises(requests.ConnectionError):
        api.post(f"{api.base}/activities/remove_list_memberships",
                 json={"source": {"contact_ids": [cid["contact_id"]]},
                       "list_ids": [sandbox.list_id("Free Members")]})
    activities = api.get(f"{api.base}/activities").json()["activities"]
    assert len(activities) == 1  # it was created: GET /activities is how a client finds out
    sandbox.finish_activities()
    assert "ada@example.org" not in sandbox.members("Free Members")


def test_request_log_records_every_request(api, sandbox) -> None:
    sandbox.requests.clear()
    lists(api, params={"limit": 2})
    api.get(f"{api.base}/contacts", params={"email": "ada@example.org"})
    requests.get(f"{sandbox.api_url}/contacts", timeout=5)  # no token
    records = sandbox.requests.records()
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/v3/contact_lists", 200),
        ("GET", "/v3/contacts", 200),
        ("GET", "/v3/contacts", 401),
    ]
    assert records[0].query == "limit=2" and records[0].client_id == "ccdesk-sandbox-app"
    assert records[2].client_id is None
    assert all(r.duration_ms >= 0 and r.time > 0 for r in records)
    assert [r.seq for r in records] == sorted(r.seq for r in records)
    assert sandbox.requests.count("GET", r"/v3/contacts") == 2
    assert sandbox.requests.count(status=401) == 1
    assert sandbox.requests.api_calls() == 3


def test_latency_is_added_to_every_answer(api, sandbox) -> None:
    sandbox.config.latency_ms = 150
    started = time.monotonic()
    lists(api)
    assert time.monotonic() - started >= 0.15


def test_sandbox_keeps_serving_after_an_internal_error(api, sandbox, monkeypatch, caplog) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sandbox.state, "contact_json", broken)
    with caplog.at_level("ERROR", logger="ccdesk.sandbox"):
        r = api.get(f"{api.base}/contacts", params={"email": "ada@example.org"})
    assert r.status_code == 500
    assert "sandbox error" in caplog.text
    monkeypatch.undo()
    assert lists(api).status_code == 200
