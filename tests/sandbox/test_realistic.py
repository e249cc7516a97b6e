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


# ---- activities that are slow, never finish, or end failed / cancelled / timed_out ------------


def get_activity(api: requests.Session, activity_id: str) -> dict:
    return api.get(f"{api.base}/activities/{activity_id}").json()


def test_stuck_activity_stays_processing_until_ended(api, sandbox) -> None:
    sandbox.faults.activity("stuck")
    free = sandbox.list_id("Free Members")
    activity_id = remove(api, ids(api, "ada@example.org"), [free]).json()["activity_id"]
    time.sleep(0.3)
    sandbox.clock.advance(7 * 86400)  # a week later: still processing
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    sandbox.finish_activities()  # does not finish a stuck one
    body = get_activity(api, activity_id)
    assert body["state"] == "processing" and "completed_at" not in body
    assert body["activity_errors"] == []
    assert "ada@example.org" in sandbox.members("Free Members")
    processing = api.get(f"{api.base}/activities", params={"state": "processing"}).json()
    assert [a["activity_id"] for a in processing["activities"]] == [activity_id]
    sandbox.end_activity(activity_id, "cancelled")
    body = get_activity(api, activity_id)
    assert body["state"] == "cancelled" and body["activity_errors"] and "completed_at" in body
    assert "ada@example.org" in sandbox.members("Free Members")


def test_slow_activity_processes_for_its_duration(api, sandbox) -> None:
    sandbox.faults.activity("slow", duration=30)
    free = sandbox.list_id("Free Members")
    activity_id = remove(api, ids(api, "ada@example.org"), [free]).json()["activity_id"]
    time.sleep(0.3)
    sandbox.clock.advance(15)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    body = get_activity(api, activity_id)
    assert body["state"] == "processing" and 40 <= body["percent_done"] <= 60
    sandbox.clock.advance(16)
    body = get_activity(api, activity_id)
    assert body["state"] == "completed" and body["activity_errors"] == []
    assert "ada@example.org" not in sandbox.members("Free Members")


@pytest.mark.parametrize("outcome", ["failed", "cancelled", "timed_out"])
def test_activity_ending_badly_changes_nothing_and_says_why(api, sandbox, outcome) -> None:
    sandbox.faults.activity(outcome)
    cids = ids(api, "ada@example.org", "ben@example.org")
    body = wait_done(api, remove(api, cids, [sandbox.list_id("Free Members")]).json()["activity_id"])
    assert body["state"] == outcome
    assert len(body["activity_errors"]) == 1 and "no contact was changed" in body["activity_errors"][0]
    assert body["status"]["items_total_count"] == 2 and body["status"]["items_completed_count"] == 0
    assert {"ada@example.org", "ben@example.org"} <= sandbox.members("Free Members")


def test_activity_ending_badly_part_way(api, sandbox) -> None:
    sandbox.faults.activity("timed_out", applied=1, duration=0.2)
    cids = ids(api, "ada@example.org", "ben@example.org")
    body = wait_done(api, remove(api, cids, [sandbox.list_id("Free Members")]).json()["activity_id"])
    assert body["state"] == "timed_out" and "1 of 2" in body["activity_errors"][0]
    assert body["status"]["items_completed_count"] == 1 and body["percent_done"] == 50
    assert "ada@example.org" not in sandbox.members("Free Members")
    assert "ben@example.org" in sandbox.members("Free Members")


def test_unknown_activity_outcome_is_refused(sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.faults.activity("exploded")


# ---- GET /activities also lists what the account did elsewhere --------------------------------


def all_activities(api: requests.Session, sandbox: Sandbox) -> list[dict]:
    out = []
    r = api.get(f"{api.base}/activities", params={"limit": 500}).json()
    out += r["activities"]
    while "_links" in r:
        r = api.get(sandbox.base_url + r["_links"]["next"]["href"]).json()
        out += r["activities"]
    return out


def test_foreign_activities_are_seeded_mixed_and_look_like_ours(api, sandbox) -> None:
    sandbox.reset(foreign_activities=60, foreign_activity_every=0)
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    ours = remove(api, ids(api, "ada@example.org"), [sandbox.list_id("Free Members")]).json()
    listed = all_activities(api, sandbox)
    assert len(listed) == 61
    assert listed[0]["activity_id"] == ours["activity_id"]  # newest first
    created = [a["created_at"] for a in listed]
    assert created == sorted(created, reverse=True)
    sizes = {a["status"]["items_total_count"] for a in listed}
    assert 500 in sizes and sizes & {1, 2, 3, 5, 10}
    assert {a["state"] for a in listed} >= {"completed"}
    assert len({a.kind for a in sandbox.state.activities.values()}) >= 4
    shape = set(ours)
    for a in listed:
        assert set(a) - {"started_at", "completed_at"} == shape - {"started_at", "completed_at"}
        assert set(a["status"]) == set(ours["status"])
        if a["state"] in ("completed", "failed", "cancelled"):  # no longer moving
            assert api.get(f"{api.base}/activities/{a['activity_id']}").json() == a


def test_foreign_activities_keep_coming_while_the_sandbox_runs(api, sandbox) -> None:
    sandbox.reset(foreign_activities=3, foreign_activity_every=60)
    sandbox.set_limits(rate_limit=0)
    sandbox.clock.advance(3600)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    assert 20 <= len(all_activities(api, sandbox)) <= 150


def test_foreign_activities_are_deterministic_for_a_seed(sandbox) -> None:
    sandbox.reset(foreign_activities=10, foreign_activity_every=0)
    first = [(a.activity_id, a.kind, a.size) for a in sandbox.state.activities.values()]
    sandbox.reset()
    again = [(a.activity_id, a.kind, a.size) for a in sandbox.state.activities.values()]
    assert first == again and len(first) == 10


def test_a_twin_of_the_same_size_next_to_a_lost_post(api, sandbox) -> None:
    """faults.foreign_activity puts someone else's equal-size job right beside ours."""
    sandbox.faults.foreign_activity(offset=-0.001)
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", kind="drop", after=True)
    cids = ids(api, "ada@example.org", "ben@example.org")
    with pytest.raises(requests.ConnectionError):
        remove(api, cids, [sandbox.list_id("Free Members")])
    listed = all_activities(api, sandbox)
    assert len(listed) == 2
    assert {a["status"]["items_total_count"] for a in listed} == {2}
    assert {a["status"]["list_count"] for a in listed} == {1}
    ours = next(a for a in sandbox.state.activities.values() if not a.foreign)
    assert listed[0]["activity_id"] == ours.activity_id  # the twin was created just before
    sandbox.finish_activities()
    assert {a["state"] for a in all_activities(api, sandbox)} == {"completed"}
    assert {"ada@example.org", "ben@example.org"}.isdisjoint(sandbox.members("Free Members"))


def test_add_foreign_activity_at_a_moment(api, sandbox) -> None:
    at = sandbox.clock.time() - 5
    activity_id = sandbox.add_foreign_activity(7, created_at=at, lists=["Sustainers"],
                                               outcome="failed")
    sandbox.finish_activities()
    one = api.get(f"{api.base}/activities/{activity_id}").json()
    assert one["state"] == "failed" and one["activity_errors"]
    assert one["status"] == {"items_total_count": 7, "items_completed_count": 0, "list_count": 1}
    assert sandbox.members("Sustainers") == {"fay@example.org", "gus@example.org"}


# ---- the older gateway's 403 rate-limit answers ---------------------------------------------


@pytest.mark.parametrize("kind, key", [("mashery_qps", "mashery.not.authorized.over.qps"),
                                       ("mashery_ratelimit", "mashery.not.authorized.over.ratelimit")])
def test_gateway_rate_limit_fault(api, sandbox, kind, key) -> None:
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", kind=kind)
    cids = ids(api, "ada@example.org")
    r = remove(api, cids, [sandbox.list_id("Free Members")])
    assert r.status_code == 403
    body = r.json()
    assert isinstance(body, dict) and body["error_key"] == key and body["error_message"]
    assert sandbox.state.activities == {}  # nothing was done
    assert sandbox.requests.records()[-1].fault == kind
    assert remove(api, cids, [sandbox.list_id("Free Members")]).status_code == 201


def test_status_fault_with_a_body(api, sandbox) -> None:
    body = {"error_key": "mashery.not.authorized.over.qps", "error_message": "Over QPS"}
    sandbox.faults.add(r"/v3/contacts", status=403, body=body)
    r = api.get(f"{api.base}/contacts")
    assert r.status_code == 403 and r.json() == body


def test_gateway_rate_errors_option(api, sandbox) -> None:
    sandbox.reset(gateway_rate_errors=True, rate_limit=1, daily_quota=3)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    assert api.get(f"{api.base}/account/summary").status_code == 200
    r = api.get(f"{api.base}/account/summary")
    assert r.status_code == 403 and r.json()["error_key"] == "mashery.not.authorized.over.qps"
    sandbox.set_limits(rate_limit=0)
    api.get(f"{api.base}/account/summary")
    api.get(f"{api.base}/account/summary")
    r = api.get(f"{api.base}/account/summary")
    assert r.status_code == 403 and r.json()["error_key"] == "mashery.not.authorized.over.ratelimit"


# ---- the connected user's privileges ----------------------------------------------------------


def test_account_owner_has_every_privilege(api) -> None:
    r = api.get(f"{api.base}/account/user/privileges")
    assert r.status_code == 200
    names = [p["privilege_name"] for p in r.json()]
    assert {"contacts:read", "contacts:write", "contacts:lists:read", "contacts:lists:write",
            "account:read", "campaign:create"} <= set(names)
    assert all(isinstance(p["privilege_id"], int) for p in r.json())
    assert len(set(names)) == len(names)


CONTACT_CHANGES = [
    ("put", "/contacts/{ada}", {"email_address": {"address": "ada@example.org"},
                                "update_source": "Account"}),
    ("post", "/contacts", {"email_address": {"address": "new@example.org"},
                           "create_source": "Account"}),
    ("delete", "/contacts/{ada}", None),
    ("post", "/activities/remove_list_memberships",
     {"source": {"contact_ids": ["{ada}"]}, "list_ids": ["{free}"]}),
    ("post", "/activities/add_list_memberships",
     {"source": {"contact_ids": ["{ada}"]}, "list_ids": ["{free}"]}),
]


@pytest.mark.parametrize("how", ["option", "state file"])
def test_campaign_creator_may_not_read_or_change_contacts(api, sandbox, how) -> None:
    if how == "option":
        sandbox.reset(user_role="campaign_creator")
    else:
        sandbox.reset({**sandbox.snapshot(), "user_role": "campaign_creator"})
    sandbox.set_limits(rate_limit=0)
    api.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
    names = {p["privilege_name"] for p in api.get(f"{api.base}/account/user/privileges").json()}
    assert "contacts:lists:read" in names and "campaign:create" in names
    assert not names & {"contacts:write", "contacts:read", "contacts:lists:write"}
    ada = sandbox.contact("ada@example.org")["contact_id"]
    free = sandbox.list_id("Free Members")
    for method, path, body in CONTACT_CHANGES:
        url = api.base + path.format(ada=ada)
        if body is not None:
            body = {k: ({"contact_ids": [ada]} if k == "source" else [free] if k == "list_ids"
                        else v) for k, v in body.items()}
        r = getattr(api, method)(url, json=body) if body is not None else getattr(api, method)(url)
        assert r.status_code == 403, (method, path)
        assert r.json() == {"error_key": "access_denied",
                            "error_message": "Request forbidden due to insufficient user privileges."}
    assert api.get(f"{api.base}/contacts").status_code == 403
    assert api.get(f"{api.base}/contact_lists").status_code == 200
    assert api.get(f"{api.base}/account/summary").status_code == 200
    assert sandbox.contact("ada@example.org")["lists"] == ["Free Members"]
    assert sandbox.contact("new@example.org") is None


def test_unknown_user_role_is_refused(sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.reset(user_role="intern")
    with pytest.raises(ValueError):
        sandbox.reset({"user_role": "intern", "lists": [], "contacts": []}, defaults=True)


# ---- loopback redirects match exactly, port included ------------------------------------------


def test_loopback_redirect_must_match_exactly_by_default(sandbox) -> None:
    from tests.sandbox.test_oauth import auth_params, authorize, exchange, get_code, new_verifier

    sandbox.set_limits(token_rate_limit=0)
    verifier = new_verifier()
    for uri in ("http://127.0.0.1:52817/callback", "http://localhost:52817/callback"):
        code = get_code(sandbox, verifier, redirect_uri=uri)  # ccdesk's default, registered
        assert exchange(sandbox, code, verifier, redirect_uri=uri).status_code == 200
    for uri in ("http://127.0.0.1:54321/callback", "http://localhost:8080/callback",
                "http://127.0.0.1:52818/callback"):
        r = authorize(sandbox, auth_params(verifier, redirect_uri=uri))
        assert r.status_code == 400 and "Location" not in r.headers, uri
    sandbox.register_app("org-app", redirect_uris=["http://127.0.0.1:54321/callback"])
    r = authorize(sandbox, auth_params(verifier, client_id="org-app",
                                       redirect_uri="http://127.0.0.1:54321/callback"))
    assert r.status_code == 200  # the consent page: that exact URI is registered


@pytest.mark.parametrize("options, any_port", [
    ({}, False), ({"any_loopback_port": True}, True), ({"auto_approve": True}, True),
    ({"auto_approve": True, "any_loopback_port": False}, False),
])
def test_any_loopback_port_flag(sandbox, options, any_port) -> None:
    from tests.sandbox.test_oauth import auth_params, authorize, new_verifier

    sandbox.reset(**options)
    r = authorize(sandbox, auth_params(new_verifier(), redirect_uri="http://127.0.0.1:54321/callback"))
    assert (r.status_code != 400) is any_port


# ---- the command line -----------------------------------------------------------------------


def sandbox_options(monkeypatch: pytest.MonkeyPatch, *argv: str) -> dict:
    """The options ``ccdesk sandbox ARGV`` would build its Sandbox with."""
    import argparse

    import ccdesk.sandbox.server as server
    from ccdesk.cli.sandbox import add_sandbox_arguments, run_sandbox_command

    seen: dict = {}

    class Built(Exception):
        pass

    class FakeSandbox:
        def __init__(self, data, **options) -> None:
            seen.update(options)
            Sandbox(data, **options)  # the real one accepts them

        def start(self) -> None:
            raise Built

    monkeypatch.setattr(server, "Sandbox", FakeSandbox)
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    with pytest.raises(Built):
        run_sandbox_command(parser.parse_args(["--generate", "5", *argv]))
    return seen


def test_command_line_defaults_are_realistic(monkeypatch) -> None:
    seen = sandbox_options(monkeypatch)
    assert seen["list_changes_touch_contacts"] is False and seen["foreign_activities"] == 0
    assert seen["any_loopback_port"] is None and seen["gateway_rate_errors"] is False
    assert seen["user_role"] is None


def test_command_line_flags(monkeypatch) -> None:
    seen = sandbox_options(
        monkeypatch, "--list-changes-touch-contacts", "--foreign-activities", "25",
        "--foreign-activity-every", "10", "--any-loopback-port", "--gateway-rate-errors",
        "--user-role", "campaign_creator")
    assert seen["list_changes_touch_contacts"] is True and seen["foreign_activities"] == 25
    assert seen["foreign_activity_every"] == 10 and seen["any_loopback_port"] is True
    assert seen["gateway_rate_errors"] is True and seen["user_role"] == "campaign_creator"
