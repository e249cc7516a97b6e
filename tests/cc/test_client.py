"""Each client operation, and its effect on the sandbox's state."""

from __future__ import annotations

import pytest

from ccdesk.cc.client import ConstantContact, ContactDeleted, chunks
from ccdesk.cc.errors import NotFound
from ccdesk.sandbox import generate_data
from tests.cc.conftest import finished, reset_and_connect


def test_account_summary(client: ConstantContact) -> None:
    account = client.account()
    assert account.organization_name == "Test Choir"
    assert account.contact_email == "owner@example.org"


def test_lists_with_member_counts(client: ConstantContact, sandbox) -> None:
    lists = {x.name: x for x in client.lists()}
    assert set(lists) == {"Free Members", "Sustainers", "Newsletter"}
    assert lists["Free Members"].membership_count == 8
    assert lists["Free Members"].list_id == sandbox.list_id("Free Members")


def test_lists_follow_paging(client: ConstantContact, sandbox) -> None:
    data = {"lists": [{"name": f"List {i:04d}"} for i in range(1203)], "contacts": []}
    client = reset_and_connect(sandbox, data)
    names = [x.name for x in client.lists()]
    assert len(names) == 1203 and names[0] == "List 0000" and names[-1] == "List 1202"
    assert sandbox.requests.count("GET", r"/v3/contact_lists") == 3  # 500 a page


def test_find_by_email_any_state(client: ConstantContact, sandbox) -> None:
    ada = client.find_by_email("  ADA@example.org ")
    assert ada is not None and ada.email == "ada@example.org" and ada.mailable
    assert ada.list_ids == (sandbox.list_id("Free Members"),)
    kim = client.find_by_email("kim@example.org")
    assert kim is not None and kim.deleted and kim.list_ids == ()
    ivy = client.find_by_email("ivy@example.org")
    assert ivy is not None and ivy.unsubscribed
    assert client.find_by_email("nobody@example.org") is None
    assert sandbox.requests.count("GET", r"/v3/contacts") == 4


def test_iter_members_pages_through_a_big_list(client: ConstantContact, sandbox) -> None:
    client = reset_and_connect(sandbox, generate_data(1300, seed=3))
    pages = list(client.iter_members([sandbox.list_id("Free Members")], page_size=200))
    got = [c.email.lower() for page in pages for c in page]
    assert len(got) == len(set(got))
    assert set(got) == sandbox.members("Free Members")
    assert len(pages) == -(-len(got) // 200)
    assert all(c.list_ids is not None for page in pages for c in page)
    assert sandbox.requests.count("GET", r"/v3/contacts") == len(pages)


def test_contact_by_id(client: ConstantContact) -> None:
    fay = client.find_by_email("fay@example.org")
    assert fay is not None
    again = client.contact(fay.contact_id)
    assert again.email == "fay@example.org" and len(again.list_ids or ()) == 2
    with pytest.raises(NotFound):
        client.contact("00000000-0000-4000-8000-000000000000")


def test_unsubscribe_keeps_every_other_field(client: ConstantContact, sandbox) -> None:
    eve = client.find_by_email("eve@example.org")
    assert eve is not None
    done = client.unsubscribe(eve.contact_id, "Upgraded to Sustainer")
    assert done.unsubscribed
    after = sandbox.contact("eve@example.org")
    assert after["email_address"]["permission_to_send"] == "unsubscribed"
    assert after["email_address"]["opt_out_reason"] == "Upgraded to Sustainer"
    assert after["email_address"]["opt_out_source"] == "Account"
    assert after["first_name"] == "Eve" and after["last_name"] == "Tester"  # not blanked
    assert after["lists"] == ["Free Members", "Newsletter"]  # sub-resources kept
    assert after["update_source"] == "Account"
    puts = [r for r in sandbox.requests.records() if r.method == "PUT"]
    assert len(puts) == 1


def test_unsubscribe_refuses_a_deleted_contact(client: ConstantContact, sandbox) -> None:
    kim = client.find_by_email("kim@example.org")
    assert kim is not None
    with pytest.raises(ContactDeleted):
        client.unsubscribe(kim.contact_id)
    assert sandbox.requests.count("PUT") == 0
    assert "deleted_at" in sandbox.contact("kim@example.org")


def test_unsubscribe_of_an_unsubscribed_contact_only_reads_it(client: ConstantContact, sandbox) -> None:
    ivy = client.find_by_email("ivy@example.org")
    assert ivy is not None
    before = sandbox.requests.api_calls()
    assert client.unsubscribe(ivy.contact_id).unsubscribed
    assert sandbox.requests.api_calls() == before + 1 and sandbox.requests.count("PUT") == 0


def test_unsubscribe_reads_the_contact_fresh_and_keeps_names_edited_meanwhile(
        client: ConstantContact, sandbox, api) -> None:
    eve = client.find_by_email("eve@example.org")
    assert eve is not None
    # Someone edits her name in Constant Contact after ccdesk looked her up.
    record = api.get(f"{api.base}/contacts/{eve.contact_id}").json()
    assert record["first_name"] == "Eve"
    body = {"email_address": {"address": record["email_address"]["address"]},
            "first_name": "Evelyn", "last_name": record.get("last_name"), "update_source": "Account"}
    assert api.put(f"{api.base}/contacts/{eve.contact_id}", json=body).status_code == 200
    assert client.unsubscribe(eve.contact_id).unsubscribed
    after = sandbox.contact("eve@example.org")
    assert after["first_name"] == "Evelyn"  # not the name the look-up saw


def test_remove_then_add_back(client: ConstantContact, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    ids = [client.find_by_email(e).contact_id for e in ("ada@example.org", "eve@example.org")]
    started = client.start_remove(ids, [free])
    assert started.state == "initialized" and started.items_total == 2
    done = finished(client, started.activity_id)
    assert done.succeeded and done.items_completed == 2
    assert {"ada@example.org", "eve@example.org"}.isdisjoint(sandbox.members("Free Members"))
    back = client.add_list_memberships(ids, [free])
    assert len(back) == 1
    assert finished(client, back[0].activity_id).succeeded
    assert {"ada@example.org", "eve@example.org"} <= sandbox.members("Free Members")


def test_bulk_calls_are_chunked_by_the_limits(client: ConstantContact, sandbox) -> None:
    client = reset_and_connect(sandbox, generate_data(1200, seed=4), activity_seconds=0.05)
    free = sandbox.list_id("Free Members")
    members = [c.contact_id for page in client.iter_members([free]) for c in page]
    assert len(members) > 500
    activities = client.remove_list_memberships(members, [free])
    assert len(activities) == -(-len(members) // 500)
    assert sum(a.items_total for a in activities) == len(members)
    for activity in activities:
        assert finished(client, activity.activity_id).succeeded
    assert sandbox.members("Free Members") == set()
    with pytest.raises(ValueError):
        client.start_remove(members[:501], [free])
    assert [len(c) for c in chunks(list(range(1001)), 500)] == [500, 500, 1]


def test_failed_activity_is_reported(client: ConstantContact, sandbox) -> None:
    sandbox.faults.activity("failed")
    ada = client.find_by_email("ada@example.org")
    started = client.start_remove([ada.contact_id], [sandbox.list_id("Free Members")])
    done = finished(client, started.activity_id)
    assert done.state == "failed" and not done.succeeded and done.errors


def test_recent_activities_newest_first(client: ConstantContact, sandbox) -> None:
    free = sandbox.list_id("Free Members")
    ada, ben = client.find_by_email("ada@example.org"), client.find_by_email("ben@example.org")
    first = client.start_remove([ada.contact_id], [free])
    second = client.start_remove([ben.contact_id], [free])
    assert [a.activity_id for a in client.recent_activities()] == [second.activity_id,
                                                                    first.activity_id]


def test_quota_left_counts_every_call(client: ConstantContact, sandbox) -> None:
    assert client.quota_left() == 10_000
    client.account()
    client.lists()
    assert client.quota_left() == 9_998 and client.calls == 2
    assert sandbox.quota_used() == 2


def test_contacts_keep_no_json_record_and_share_what_they_repeat(client: ConstantContact) -> None:
    """A preview holds one Contact per member (100,000 for a big list): no copy of the JSON
    record, and one copy of the list ids and permission every contact repeats."""
    free = next(x for x in client.lists() if x.name == "Free Members")
    members = [c for page in client.iter_members([free.list_id]) for c in page]
    assert len(members) > 2
    assert not hasattr(members[0], "raw") and not hasattr(members[0], "__dict__")
    firsts = {id(c.list_ids[0]) for c in members if c.list_ids and c.list_ids[0] == free.list_id}
    assert len(firsts) == 1
    for permission in {c.permission for c in members}:
        assert len({id(c.permission) for c in members if c.permission == permission}) == 1
