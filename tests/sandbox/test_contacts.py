"""The sandbox's contacts and lists endpoints, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from ccdesk.sandbox import Sandbox, generate_data


@pytest.fixture(autouse=True)
def _unlimited(sandbox: Sandbox) -> None:
    """These tests are about shapes, not pacing (see test_limits.py)."""
    sandbox.set_limits(rate_limit=0)


def get(api: requests.Session, path: str, **params: object) -> requests.Response:
    return api.get(api.base + path, params=params)  # type: ignore[attr-defined]


def emails(response: requests.Response) -> list[str]:
    return [c["email_address"]["address"] for c in response.json()["contacts"]]


# ---- GET /contacts -------------------------------------------------------------------------


def test_lookup_by_exact_email_ignores_case(api) -> None:
    r = get(api, "/contacts", email="ADA@Example.org", status="all")
    assert r.status_code == 200
    assert emails(r) == ["ada@example.org"]
    contact = r.json()["contacts"][0]
    assert contact["email_address"]["permission_to_send"] == "implicit"
    assert "status" not in contact  # V3 contacts have no status field


def test_unknown_email_is_an_empty_page(api) -> None:
    r = get(api, "/contacts", email="nobody@example.org", status="all")
    assert r.status_code == 200
    assert r.json() == {"contacts": []}


def test_deleted_contacts_hidden_unless_asked(api) -> None:
    assert emails(get(api, "/contacts", email="kim@example.org")) == []
    found = get(api, "/contacts", email="kim@example.org", status="all").json()["contacts"]
    assert len(found) == 1 and "deleted_at" in found[0]
    deleted = emails(get(api, "/contacts", status="deleted", limit=500))
    assert deleted == ["kim@example.org"]
    default = emails(get(api, "/contacts", limit=500))
    assert "kim@example.org" not in default and len(default) == 11


def test_status_filters(api) -> None:
    assert set(emails(get(api, "/contacts", status="unsubscribed"))) == {
        "ivy@example.org", "jon@example.org"}
    assert emails(get(api, "/contacts", status="pending_confirmation")) == ["dev@example.org"]
    active = set(emails(get(api, "/contacts", status="active", limit=500)))
    assert "ivy@example.org" not in active and "dev@example.org" not in active
    assert "chloe@example.org" in active and "ada@example.org" in active
    both = set(emails(get(api, "/contacts", status="unsubscribed,deleted")))
    assert both == {"ivy@example.org", "jon@example.org", "kim@example.org"}
    assert len(emails(get(api, "/contacts", status="all", limit=500))) == 12


def test_sub_resources_only_when_included(api, sandbox) -> None:
    plain = get(api, "/contacts", email="eve@example.org").json()["contacts"][0]
    assert "list_memberships" not in plain
    full = get(api, "/contacts", email="eve@example.org", include="list_memberships,custom_fields")
    contact = full.json()["contacts"][0]
    assert sorted(contact["list_memberships"]) == sorted(
        [sandbox.list_id("Free Members"), sandbox.list_id("Newsletter")])
    assert contact["custom_fields"] == []


def test_members_of_a_list(api, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    got = set(emails(get(api, "/contacts", lists=free, status="all", limit=500)))
    assert got == sandbox.members("Free Members")
    assert "ivy@example.org" in got  # unsubscribed contacts stay on their lists
    two = set(emails(get(api, "/contacts", lists=f"{free},{sandbox.list_id('Sustainers')}",
                         status="all", limit=500)))
    assert two == sandbox.members("Free Members") | sandbox.members("Sustainers")


@pytest.mark.parametrize("limit", [0, 501, "x"])
def test_limit_out_of_range_is_400(api, limit) -> None:
    r = get(api, "/contacts", limit=limit)
    assert r.status_code == 400
    body = r.json()
    assert isinstance(body, list) and set(body[0]) == {"error_key", "error_message"}


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"include": "bogus"},
                                    {"include_count": "yes"}])
def test_bad_query_values_are_400(api, params) -> None:
    assert get(api, "/contacts", **params).status_code == 400


def test_paging_follows_opaque_cursor_to_the_end(api, sandbox) -> None:
    seen: list[str] = []
    r = get(api, "/contacts", status="all", limit=5, include_count="true")
    assert r.json()["contacts_count"] == 12
    pages = 0
    while True:
        body = r.json()
        pages += 1
        seen += [c["email_address"]["address"] for c in body["contacts"]]
        nxt = body.get("_links", {}).get("next")
        if not nxt:
            break
        assert nxt["href"].startswith("/v3/contacts?cursor=")
        r = api.get(sandbox.base_url + nxt["href"])
        assert r.status_code == 200
    assert pages == 3
    assert len(seen) == len(set(seen)) == 12


def test_paging_a_list_with_cursor(api, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    r = get(api, "/contacts", lists=free, status="all", limit=3)
    seen = emails(r)
    while "_links" in r.json():
        r = api.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
        seen += emails(r)
    assert sorted(seen) == sorted(sandbox.members("Free Members"))


def test_garbage_cursor_is_400(api) -> None:
    assert get(api, "/contacts", cursor="not-a-cursor").status_code == 400


def test_too_many_lists_in_filter_is_400(api) -> None:
    ids = ",".join(f"00000000-0000-4000-8000-{i:012d}" for i in range(26))
    assert get(api, "/contacts", lists=ids).status_code == 400


# ---- GET/PUT/POST/DELETE /contacts/{id} ---------------------------------------------------


def contact_id(api, email: str) -> str:
    return get(api, "/contacts", email=email, status="all").json()["contacts"][0]["contact_id"]


def test_get_one_contact(api) -> None:
    cid = contact_id(api, "fay@example.org")
    r = get(api, f"/contacts/{cid}", include="list_memberships")
    assert r.status_code == 200
    assert r.json()["contact_id"] == cid and len(r.json()["list_memberships"]) == 2


def test_unknown_and_malformed_contact_ids_are_404(api) -> None:
    r = get(api, "/contacts/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404 and r.json()[0]["error_key"] == "contacts.api.not_found"
    r = get(api, "/contacts/not-an-id")
    assert r.status_code == 404
    assert r.json() == [{"error_key": "contacts.api.not_found",
                         "error_message": "contact_id is in an invalid format."}]


def put(api, cid: str, body: dict) -> requests.Response:
    return api.put(f"{api.base}/contacts/{cid}", json=body)


def test_put_nulls_omitted_core_fields_and_keeps_sub_resources(api, sandbox) -> None:
    cid = contact_id(api, "eve@example.org")
    r = put(api, cid, {"email_address": {"address": "eve@example.org"}, "last_name": "Tester",
                       "update_source": "Account"})
    assert r.status_code == 200
    after = get(api, f"/contacts/{cid}", include="list_memberships").json()
    assert "first_name" not in after  # omitted core field → null (not shown)
    assert after["last_name"] == "Tester"
    assert len(after["list_memberships"]) == 2  # omitted sub-resource kept
    assert after["update_source"] == "Account"


def test_put_unsubscribe_records_the_opt_out(api, sandbox) -> None:
    cid = contact_id(api, "ada@example.org")
    r = put(api, cid, {
        "email_address": {"address": "ada@example.org", "permission_to_send": "unsubscribed",
                          "opt_out_reason": "Upgraded to a paid membership"},
        "first_name": "Ada", "last_name": "Tester", "update_source": "Account"})
    assert r.status_code == 200
    email = r.json()["email_address"]
    assert email["permission_to_send"] == "unsubscribed"
    assert email["opt_out_source"] == "Account"
    assert email["opt_out_reason"] == "Upgraded to a paid membership"
    assert "opt_out_date" in email
    assert sandbox.contact("ada@example.org")["lists"] == ["Free Members"]  # sandbox choice


def test_put_needs_update_source_and_email_address(api) -> None:
    cid = contact_id(api, "ben@example.org")
    r = put(api, cid, {"email_address": {"address": "ben@example.org"}})
    assert r.status_code == 400 and "update_source" in r.json()[0]["error_message"]
    r = put(api, cid, {"first_name": "Ben", "update_source": "Account"})
    assert r.status_code == 400


def test_put_revives_a_deleted_contact(api, sandbox) -> None:
    cid = contact_id(api, "kim@example.org")
    r = put(api, cid, {"email_address": {"address": "kim@example.org"}, "update_source": "Account"})
    assert r.status_code == 200 and "deleted_at" not in r.json()
    assert "kim@example.org" in emails(get(api, "/contacts", limit=500))


def test_put_address_collision_is_409(api) -> None:
    cid = contact_id(api, "ben@example.org")
    r = put(api, cid, {"email_address": {"address": "ADA@example.org"}, "update_source": "Account"})
    assert r.status_code == 409


def test_put_cannot_opt_in_someone_who_unsubscribed_themselves(api) -> None:
    cid = contact_id(api, "jon@example.org")
    r = put(api, cid, {"email_address": {"address": "jon@example.org",
                                         "permission_to_send": "implicit"},
                       "update_source": "Account"})
    assert r.status_code == 400


def test_put_with_list_memberships_replaces_the_set(api, sandbox) -> None:
    cid = contact_id(api, "eve@example.org")
    r = put(api, cid, {"email_address": {"address": "eve@example.org"}, "update_source": "Account",
                       "list_memberships": [sandbox.list_id("Sustainers")]})
    assert r.status_code == 200
    assert sandbox.contact("eve@example.org")["lists"] == ["Sustainers"]


def test_body_must_be_json(api) -> None:
    cid = contact_id(api, "ben@example.org")
    r = api.put(f"{api.base}/contacts/{cid}", data="{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = api.put(f"{api.base}/contacts/{cid}", data="{not json",
                headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_create_and_delete(api, sandbox) -> None:
    body = {"email_address": {"address": "new@example.org", "permission_to_send": "explicit"},
            "create_source": "Account", "list_memberships": [sandbox.list_id("Newsletter")]}
    r = api.post(f"{api.base}/contacts", json=body)
    assert r.status_code == 201 and r.json()["list_memberships"] == [sandbox.list_id("Newsletter")]
    assert api.post(f"{api.base}/contacts", json=body).status_code == 409
    r = api.delete(f"{api.base}/contacts/{r.json()['contact_id']}")
    assert r.status_code == 204 and r.content == b""
    gone = sandbox.contact("new@example.org")
    assert gone["lists"] == [] and "deleted_at" in gone
    assert gone["email_address"]["permission_to_send"] == "explicit"  # deletion keeps permission


def test_wrong_method_is_405_and_unknown_path_404(api) -> None:
    assert api.patch(f"{api.base}/contacts", json={}).status_code == 405
    assert get(api, "/no_such_thing").status_code == 404


# ---- lists ------------------------------------------------------------------------------------


def test_lists_with_membership_counts(api, sandbox) -> None:
    r = get(api, "/contact_lists", include_membership_count="all", include_count="true")
    body = r.json()
    assert body["lists_count"] == 3
    counts = {x["name"]: x["membership_count"] for x in body["lists"]}
    assert counts == {"Free Members": 8, "Sustainers": 2, "Newsletter": 1}
    active = get(api, "/contact_lists", include_membership_count="active").json()["lists"]
    # ivy (unsubscribed), dev (pending) and lou (not set) are not mailable
    assert {x["name"]: x["membership_count"] for x in active}["Free Members"] == 5
    assert "membership_count" not in get(api, "/contact_lists").json()["lists"][0]


def test_lists_paging_and_name_filter(api, sandbox) -> None:
    r = get(api, "/contact_lists", limit=2)
    assert len(r.json()["lists"]) == 2
    r2 = api.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
    assert [x["name"] for x in r2.json()["lists"]] == ["Newsletter"] and "_links" not in r2.json()
    named = get(api, "/contact_lists", name="Sustainers").json()["lists"]
    assert [x["name"] for x in named] == ["Sustainers"]
    assert get(api, "/contact_lists", limit=501).status_code == 400


def test_one_list(api, sandbox) -> None:
    lid = sandbox.list_id("Sustainers")
    r = get(api, f"/contact_lists/{lid}", include_membership_count="all")
    assert r.json()["membership_count"] == 2
    assert get(api, "/contact_lists/00000000-0000-4000-8000-000000000000").status_code == 404


def test_account_summary(api) -> None:
    body = get(api, "/account/summary").json()
    assert body["organization_name"] == "Test Choir"
    assert body["contact_email"] == "owner@example.org"
    with_address = get(api, "/account/summary", extra_fields="physical_address").json()
    assert with_address["physical_address"]["country_code"]


# ---- state files ----------------------------------------------------------------------------


def test_generated_accounts_are_deterministic_and_mixed() -> None:
    a, b = generate_data(2000, seed=5), generate_data(2000, seed=5)
    assert a == b
    perms = {c["permission_to_send"] for c in a["contacts"]}
    assert perms == {"explicit", "implicit", "not_set", "pending_confirmation", "temp_hold",
                     "unsubscribed"}
    assert any(c["deleted"] for c in a["contacts"])
    assert any(len(c["lists"]) >= 2 for c in a["contacts"])
    assert not any(c["lists"] for c in a["contacts"] if c["deleted"])


def test_state_round_trips_and_ids_are_stable() -> None:
    data = generate_data(300, seed=2)
    one, two = Sandbox(data), Sandbox(data)
    assert one.snapshot()["contacts"] == data["contacts"]
    assert one.list_id("Free Members") == two.list_id("Free Members")


def test_bad_state_file_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown list"):
        Sandbox({"lists": [], "contacts": [{"email": "a@b.org", "lists": ["Nope"]}]})


def test_bundled_demo_account_is_the_generated_one() -> None:
    from ccdesk.sandbox.demo import demo_data, load_demo_data

    bundled = load_demo_data()
    assert bundled == demo_data()
    states = {c["permission_to_send"] for c in bundled["contacts"]}
    assert {"implicit", "explicit", "unsubscribed"} <= states
    assert any(c["deleted"] for c in bundled["contacts"])
    assert {x["name"] for x in bundled["lists"]} >= {"Free Members", "Sustainers", "Newsletter"}


def test_updated_after_finds_recent_changes(api, sandbox) -> None:
    everyone = get(api, "/contacts", status="all", limit=500).json()["contacts"]
    latest = max(c["updated_at"] for c in everyone)
    cid = next(c["contact_id"] for c in everyone if c["email_address"]["address"] == "ada@example.org")
    assert get(api, "/contacts", updated_after=latest).json()["contacts"] == []
    time.sleep(0.01)
    put(api, cid, {"email_address": {"address": "ada@example.org"}, "first_name": "Ada",
                   "update_source": "Account"})
    changed = get(api, "/contacts", updated_after=latest, include_count="true").json()
    assert [c["contact_id"] for c in changed["contacts"]] == [cid]
    assert changed["contacts_count"] == 1
    assert get(api, "/contacts", updated_after="yesterday").status_code == 400
    now = changed["contacts"][0]["updated_at"]
    old = get(api, "/contacts", updated_before=now, limit=500).json()["contacts"]
    assert cid not in {c["contact_id"] for c in old} and len(old) == 10
