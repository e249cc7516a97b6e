"""Issue 12: the sandbox defaults to what the real service most likely does.

Each behaviour the public material leaves open is realistic by default, and the kinder old
behaviour is an option (see README, "The sandbox").
"""

from __future__ import annotations

import time

import pytest
import requests

from ccdesk.sandbox import Sandbox
from tests.sandbox.test_activities import ids, remove, wait_done


@pytest.fixture(autouse=True)
def _unlimited(sandbox: Sandbox) -> None:
    sandbox.set_limits(rate_limit=0)


def contact(api: requests.Session, email: str) -> dict:
    r = api.get(f"{api.base}/contacts", params={"email": email, "status": "all"})
    return r.json()["contacts"][0]


def put(api: requests.Session, cid: str, body: dict) -> requests.Response:
    return api.put(f"{api.base}/contacts/{cid}", json=body)


# ---- list changes and opt-outs leave updated_at alone (unless asked) -------------------------


def changed_by_list_changes_and_opt_out(api: requests.Session, sandbox: Sandbox) -> dict[str, bool]:
    """Remove, add, PUT list_memberships and opt out; say which moved ``updated_at``."""
    free, news = sandbox.list_id("Free Members"), sandbox.list_id("Newsletter")
    before = {e: contact(api, e) for e in ("ada@example.org", "ben@example.org",
                                            "chloe@example.org", "eve@example.org")}
    time.sleep(0.01)
    ada, ben = ids(api, "ada@example.org", "ben@example.org")
    wait_done(api, remove(api, [ada], [free]).json()["activity_id"])
    body = {"source": {"contact_ids": [ben]}, "list_ids": [news]}
    added = api.post(f"{api.base}/activities/add_list_memberships", json=body).json()
    wait_done(api, added["activity_id"])
    chloe = before["chloe@example.org"]
    r = put(api, chloe["contact_id"], {
        "email_address": {"address": "chloe@example.org"}, "first_name": "Chloe",
        "last_name": "Tester", "list_memberships": [news], "update_source": "Account"})
    assert r.status_code == 200
    eve = before["eve@example.org"]
    r = put(api, eve["contact_id"], {
        "email_address": {"address": "eve@example.org", "permission_to_send": "unsubscribed"},
        "first_name": "Eve", "last_name": "Tester", "update_source": "Contact"})
    assert r.status_code == 200
    after = {e: contact(api, e) for e in before}
    assert "ada@example.org" not in sandbox.members("Free Members")
    assert "chloe@example.org" in sandbox.members("Newsletter")
    assert after["eve@example.org"]["email_address"]["permission_to_send"] == "unsubscribed"
    return {e: after[e]["updated_at"] != before[e]["updated_at"] for e in before}


def test_list_changes_and_opt_outs_leave_updated_at_alone_by_default(api, sandbox) -> None:
    moved = changed_by_list_changes_and_opt_out(api, sandbox)
    assert moved == dict.fromkeys(moved, False)


@pytest.mark.parametrize("sandbox", ["touching"], indirect=True)
def test_list_changes_touch_contacts_restores_the_old_behaviour(api, sandbox) -> None:
    assert sandbox.config.list_changes_touch_contacts
    moved = changed_by_list_changes_and_opt_out(api, sandbox)
    assert moved == dict.fromkeys(moved, True)


def test_editing_a_contacts_details_still_moves_updated_at(api, sandbox, sandbox_mode) -> None:
    ada = contact(api, "ada@example.org")
    time.sleep(0.01)
    r = put(api, ada["contact_id"], {"email_address": {"address": "ada@example.org"},
                                     "first_name": "Adaline", "update_source": "Account"})
    assert r.json()["updated_at"] > ada["updated_at"]
    expected = sandbox_mode == "touching"
    assert sandbox.config.list_changes_touch_contacts is expected


def test_reset_keeps_the_mode_unless_defaults(sandbox) -> None:
    sandbox.reset(list_changes_touch_contacts=True)
    assert sandbox.state.list_changes_touch_contacts
    sandbox.reset(activity_delay=0.05)
    assert sandbox.state.list_changes_touch_contacts
    sandbox.reset(defaults=True)
    assert not sandbox.state.list_changes_touch_contacts


# ---- addresses keep their capitals; deleted_at only on deleted contacts ----------------------


def test_stored_addresses_keep_their_capitals_and_look_up_ignores_case(api, sandbox) -> None:
    created = api.post(f"{api.base}/contacts", json={
        "email_address": {"address": "Zed.McKay@Example.ORG"}, "create_source": "Account"})
    assert created.status_code == 201
    assert created.json()["email_address"]["address"] == "Zed.McKay@Example.ORG"
    for asked in ("zed.mckay@example.org", "ZED.MCKAY@EXAMPLE.ORG", "Zed.McKay@Example.ORG"):
        found = api.get(f"{api.base}/contacts", params={"email": asked}).json()["contacts"]
        assert [c["email_address"]["address"] for c in found] == ["Zed.McKay@Example.ORG"]
    one = api.get(f"{api.base}/contacts/{created.json()['contact_id']}").json()
    assert one["email_address"]["address"] == "Zed.McKay@Example.ORG"
    # Through a PUT and from a state file too.
    put(api, one["contact_id"], {"email_address": {"address": "Zed@Example.ORG"},
                                 "update_source": "Account"})
    assert contact(api, "zed@example.org")["email_address"]["address"] == "Zed@Example.ORG"
    sandbox.reset({"lists": [], "contacts": [{"email": "Mixed.Case@Example.org"}]})
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    sandbox.set_limits(rate_limit=0)
    assert contact(api, "mixed.case@example.org")["email_address"]["address"] == "Mixed.Case@Example.org"
    assert sandbox.snapshot()["contacts"][0]["email"] == "Mixed.Case@Example.org"


def test_deleted_at_only_on_deleted_contacts(api, sandbox) -> None:
    everyone = api.get(f"{api.base}/contacts", params={"status": "all", "limit": 500}).json()
    for c in everyone["contacts"]:
        deleted = c["email_address"]["address"] == "kim@example.org"
        assert ("deleted_at" in c) is deleted, c
        if deleted:
            assert c["deleted_at"]  # a value, not null
    ada = contact(api, "ada@example.org")
    assert "deleted_at" not in api.get(f"{api.base}/contacts/{ada['contact_id']}").json()
    assert api.delete(f"{api.base}/contacts/{ada['contact_id']}").status_code == 204
    assert contact(api, "ada@example.org")["deleted_at"]


# ---- GET /contact_lists limit is 1–500 -------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "501", "1000", "-1", "ten"])
def test_contact_lists_limit_outside_1_to_500_is_400(api, limit) -> None:
    r = api.get(f"{api.base}/contact_lists", params={"limit": limit})
    assert r.status_code == 400
    body = r.json()
    assert isinstance(body, list) and body[0]["error_key"] and "limit" in body[0]["error_message"]


@pytest.mark.parametrize("limit", ["1", "500"])
def test_contact_lists_limit_1_and_500_are_accepted(api, limit) -> None:
    r = api.get(f"{api.base}/contact_lists", params={"limit": limit})
    assert r.status_code == 200 and len(r.json()["lists"]) == min(int(limit), 3)
