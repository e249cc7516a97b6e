"""Runs end to end against the sandbox: every action, every fault class, cancel, quota, undo.

Every run must end with its counts adding up to the sheet's rows and no change sent twice;
both are checked in the sandbox's request log and in its state.
"""

from __future__ import annotations

import threading

import pytest

from ccdesk.cc.auth import Endpoints, InMemoryStore
from ccdesk.cc.client import ConstantContact
from ccdesk.cc.transport import DailyUsage, Pacer, RetryPolicy
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase
from ccdesk.core.plan import PlanError
from ccdesk.core.runner import (
    RunCancelled,
    RunPaused,
    result_from_items,
    result_of,
    resume_run,
    start_run,
    undo_run,
)
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.conftest import fast_client, reset_and_connect, stored_from_sandbox
from tests.core.conftest import (
    ADD_POST,
    REMOVE_POST,
    activities,
    assert_counts_add_up,
    assert_no_contact_twice,
    contact_ids,
    free_members_account,
    plan_for,
)
from tests.core.test_preview import EVERY_KIND, MEMBERSHIP

# Every job test runs in both sandbox modes: list changes leave updated_at alone (realistic),
# or touch it (the old, kinder behaviour). ccdesk must not depend on either.
pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("sandbox_mode")]

SMALL_FREE = {"ada@example.org", "ben@example.org", "chloe@example.org", "dev@example.org",
              "eve@example.org", "fay@example.org", "ivy@example.org", "lou@example.org"}
N = 700  # two activities: 500 + 200
EVERYONE = [f"m{i}@example.org" for i in range(N)]


def posts(sandbox, path: str = REMOVE_POST, status: int | None = None) -> int:
    return sandbox.requests.count("POST", path, status)


@pytest.fixture
def big(sandbox) -> ConstantContact:
    """700 contacts on Free Members (every 7th also on the Newsletter), a client for them."""
    return reset_and_connect(sandbox, free_members_account(N, newsletter_every=7))


def assert_all_removed(sandbox, result, plan_rows: int = N) -> None:
    assert result.state == "finished"
    assert result.counts == {"removed": plan_rows}
    assert result.verified == plan_rows
    assert sandbox.members("Free Members") == set()
    assert len(sandbox.members("Newsletter")) == len(range(0, N, 7))  # untouched
    assert sorted(assert_no_contact_twice(sandbox)) == sorted(contact_ids(sandbox, EVERYONE))


# ---- each action ----------------------------------------------------------------------------------


def test_remove_from_a_list(cc, sandbox, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, EVERY_KIND, membership=MEMBERSHIP)
    events = []
    result = start_run(plan, cc, journal, progress=events.append)
    # Ten addresses: looked up one by one (cheaper than a page and up to ten look-ups more).
    assert result.counts == {"removed": 4, "skip_not_on_list": 2, "skip_unsubscribed": 2,
                             "skip_deleted": 1, "skip_not_found": 1, "invalid": 1,
                             "duplicate": 1, "blank": 1, "filtered_out": 1}
    assert_counts_add_up(result.counts, plan)
    assert result.verified == 4 and result.state == "finished"
    assert sandbox.members("Free Members") == SMALL_FREE - {"ada@example.org", "eve@example.org",
                                                            "fay@example.org", "dev@example.org"}
    assert sandbox.contact("eve@example.org")["lists"] == ["Newsletter"]
    assert sandbox.contact("fay@example.org")["lists"] == ["Sustainers"]
    assert posts(sandbox) == 1 and len(activities(sandbox)) == 1
    assert set(activities(sandbox)[0].contact_ids) == contact_ids(
        sandbox, ["ada@example.org", "eve@example.org", "fay@example.org", "dev@example.org"])
    # The journal has every row's fate and the true number of requests.
    items = {i.row: i for i in journal.items(result.run_id)}
    assert len(items) == len(plan.items)
    assert items[2].state == "done" and items[2].verified and items[2].result == "removed"
    assert items[2].cc_message == "Checked in Constant Contact"
    assert items[3].reason == "Off Free Members. Stays on Newsletter"
    assert items[5].state == "skipped" and items[5].result == "skip_not_on_list"
    assert result.api_calls == journal.run(result.run_id).api_calls == sandbox.requests.api_calls()
    assert events[-1].phase is Phase.FINISHED and events[-1].counts == result.counts


def test_result_of_counts_in_the_journal_what_the_items_say(cc, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, EVERY_KIND, membership=MEMBERSHIP)
    result = start_run(plan, cc, journal)
    by_items = result_from_items(journal.run(result.run_id), journal.items(result.run_id))
    assert result_of(journal, result.run_id) == by_items == result
    assert list(result.counts) == list(by_items.counts)  # in the order of their first rows
    assert list(result.counts) != sorted(result.counts)  # (which is not the alphabetical one)


def test_remove_from_every_list(cc, sandbox, tmp_path, journal) -> None:
    values = ["ada@example.org", "eve@example.org", "fay@example.org", "gus@example.org",
              "hal@example.org", "jon@example.org", "kim@example.org", "nobody@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.REMOVE_ALL)
    result = start_run(plan, cc, journal)
    assert result.counts == {"removed": 4, "skip_not_on_list": 1, "skip_unsubscribed": 1,
                             "skip_deleted": 1, "skip_not_found": 1}
    for email in ("ada@example.org", "eve@example.org", "fay@example.org", "gus@example.org"):
        assert sandbox.contact(email)["lists"] == [], email
    assert sandbox.members("Free Members") == SMALL_FREE - {"ada@example.org", "eve@example.org",
                                                            "fay@example.org"}
    assert sandbox.contact("kim@example.org")["deleted_at"]  # left alone
    sent = assert_no_contact_twice(sandbox)
    assert sorted(sent) == sorted(contact_ids(sandbox, values[:4]))
    assert result.api_calls == sandbox.requests.api_calls()


def test_unsubscribe(cc, sandbox, tmp_path, journal) -> None:
    values = ["ada@example.org", "hal@example.org", "dev@example.org", "jon@example.org",
              "kim@example.org", "nobody@example.org", "bad@", "ADA@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.UNSUBSCRIBE)
    sandbox.requests.clear()
    result = start_run(plan, cc, journal)
    assert result.counts == {"unsubscribed": 3, "skip_unsubscribed": 1, "skip_deleted": 1,
                             "skip_not_found": 1, "invalid": 1, "duplicate": 1}
    assert result.verified == 3
    # Each contact read fresh, then one PUT with its whole record: nothing else.
    assert sandbox.requests.count("PUT", r"/v3/contacts/") == 3
    assert sandbox.requests.count("GET", r"/v3/contacts/") == 3
    assert sandbox.requests.api_calls() == 6 == plan.cost.run_total
    for email in ("ada@example.org", "hal@example.org", "dev@example.org"):
        after = sandbox.contact(email)
        assert after["email_address"]["permission_to_send"] == "unsubscribed"
        assert after["email_address"]["opt_out_reason"] == "Upgraded to a paid membership"
        assert after["first_name"] == email.split("@")[0].capitalize()  # not blanked
    assert sandbox.contact("ada@example.org")["lists"] == ["Free Members"]  # kept
    assert "deleted_at" in sandbox.contact("kim@example.org")  # never revived


def test_a_contact_deleted_since_the_preview_is_not_revived(cc, sandbox, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["ada@example.org", "ben@example.org"], Action.UNSUBSCRIBE)
    ben = sandbox.contact("ben@example.org")["contact_id"]
    assert cc.transport.request("DELETE", f"contacts/{ben}") is None
    # The next run reads the record afresh (a resumed run has no snapshot).
    plan.snapshot.found.clear()
    result = start_run(plan, cc, journal)
    assert result.counts == {"unsubscribed": 1, "skip_deleted": 1}
    assert "deleted_at" in sandbox.contact("ben@example.org")
    assert sandbox.requests.count("PUT", r"/v3/contacts/") == 1


def test_progress_events(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    events = []
    result = start_run(plan, big, journal, progress=events.append)
    sending = [(e.done, e.total) for e in events if e.phase is Phase.SENDING]
    assert sending == [(500, N), (N, N)]
    assert [len(e.rows) for e in events if e.phase is Phase.SENDING] == [500, 200]
    checked = [e for e in events if e.phase is Phase.CHECKED]
    assert len(checked) == 1 and sorted(checked[0].rows) == [i.row for i in plan.items]
    assert checked[0].counts == {"removed": N}
    assert events[-1].phase is Phase.FINISHED and all(e.run_id == result.run_id for e in events)


def test_a_sheet_with_nothing_to_change(cc, sandbox, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["not an address", "", "gus@example.org"])
    calls = sandbox.requests.api_calls()
    result = start_run(plan, cc, journal)
    assert result.counts == {"invalid": 1, "blank": 1, "skip_not_on_list": 1}
    assert result.state == "finished" and sandbox.requests.api_calls() == calls


# ---- faults ------------------------------------------------------------------------------------


def test_server_errors_on_reads_are_retried(big, sandbox, tmp_path, journal) -> None:
    sandbox.faults.add(r"/v3/contacts", method="GET", status=500, times=2)  # the list pages
    sandbox.faults.add(r"/v3/contact_lists", method="GET", status=503)
    plan = plan_for(big, tmp_path, EVERYONE)
    assert plan.counts == {"remove": N}
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 5 + 3  # retries counted
    sandbox.faults.add(r"/v3/activities(/.*)?", method="GET", status=503, times=2)  # the checks
    sandbox.faults.add(r"/v3/contacts", method="GET", status=500)  # the verifying re-read
    result = start_run(plan, big, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox) == 2
    assert sandbox.requests.count("GET", status=500) == 3
    assert sandbox.requests.count("GET", status=503) == 3


def test_a_503_on_the_activity_post_is_sent_again(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.add(REMOVE_POST, method="POST", status=503)
    result = start_run(plan, big, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox, status=503) == 1 and posts(sandbox, status=201) == 2
    assert len(activities(sandbox)) == 2


def test_a_503_that_persists_pauses_the_run_and_resume_finishes_it(big, sandbox, tmp_path,
                                                                   journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.add(REMOVE_POST, method="POST", status=503, nth=2, times=50)
    with pytest.raises(RunPaused) as paused:
        start_run(plan, big, journal)
    run_id = paused.value.run_id
    assert journal.run(run_id).state == "paused"
    # The first batch was sent (it is checked when the run resumes); the second is still to do.
    counts = journal.result_counts(run_id)
    assert counts == {"sent": 500, "planned": 200}
    assert posts(sandbox, status=201) == 1
    sandbox.faults.clear()
    result = resume_run(run_id, big, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox, status=201) == 2


@pytest.mark.parametrize("nth", [1, 2])
def test_an_answer_lost_after_the_post_took_effect_is_found_not_resent(big, sandbox, tmp_path,
                                                                        journal, nth) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.add(REMOVE_POST, method="POST", kind="drop", after=True, nth=nth)
    result = start_run(plan, big, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox) == 2  # never sent again
    assert sandbox.requests.count("GET", r"/v3/activities$") >= 1  # looked it up instead
    made = [a.activity_id for a in activities(sandbox)]
    assert [b.activity_id for b in journal.batches(result.run_id)] == made


def test_a_post_dropped_before_it_arrived_is_sent_again(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.add(REMOVE_POST, method="POST", kind="drop")
    result = start_run(plan, big, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox) == 3 and posts(sandbox, status=201) == 2
    assert len(activities(sandbox)) == 2


def test_a_batch_constant_contact_refuses_fails_its_rows_and_the_run_goes_on(big, sandbox, tmp_path,
                                                                              journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.add(REMOVE_POST, method="POST", status=400)
    result = start_run(plan, big, journal)
    assert result.state == "finished"
    assert result.counts == {"failed": 500, "removed": 200}
    failed = journal.items(result.run_id, state="failed")
    assert failed[0].cc_message == "Refused by Constant Contact: An internal server error occurred."
    assert posts(sandbox) == 2 and len(activities(sandbox)) == 1  # not sent again
    assert len(sandbox.members("Free Members")) == 500


def test_a_user_without_the_right_role_pauses_the_run(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.add(REMOVE_POST, method="POST", status=403)
    with pytest.raises(RunPaused) as paused:
        start_run(plan, big, journal)
    assert "not allowed" in str(paused.value)
    assert journal.result_counts(paused.value.run_id) == {"planned": N}
    result = resume_run(paused.value.run_id, big, journal)  # after the owner fixed the role
    assert_all_removed(sandbox, result)
    assert posts(sandbox, status=201) == 2


def test_a_failed_activity_fails_its_rows_and_is_not_resent(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.activity("failed")
    result = start_run(plan, big, journal)
    assert result.state == "finished"
    assert result.counts == {"failed": 500, "removed": 200}
    assert_counts_add_up(result.counts, plan)
    assert len(sandbox.members("Free Members")) == 500
    assert posts(sandbox) == 2
    failed = journal.items(result.run_id, state="failed")
    assert len(failed) == 500
    assert all(i.cc_message.startswith("Still on Free Members") for i in failed)
    assert "The activity failed" in failed[0].cc_message
    # The 500 unchanged contacts were checked by paging the list, not one request each.
    assert sandbox.requests.count("GET", r"/v3/contacts/") == 0
    assert result.api_calls - plan.cost.lookup_spent <= plan.cost.run_total + 3


def test_an_activity_with_errors_fails_exactly_those_rows(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.activity("errors", errors=2)
    result = start_run(plan, big, journal)
    assert result.counts == {"failed": 2, "removed": N - 2}
    assert sandbox.members("Free Members") == {"m0@example.org", "m1@example.org"}
    failed = journal.items(result.run_id, state="failed")
    assert [i.email for i in failed] == ["m0@example.org", "m1@example.org"]
    for item, other in zip(failed, reversed(failed), strict=True):
        assert item.cc_message.startswith("Still on Free Members. Contact ")
        assert item.contact_id in item.cc_message  # Constant Contact's words about this contact
        assert other.contact_id not in item.cc_message  # ... and not about the other one
    assert posts(sandbox) == 2
    assert_no_contact_twice(sandbox)


def test_a_run_reading_its_rows_a_few_at_a_time_does_the_same(big, sandbox, tmp_path, journal,
                                                                monkeypatch) -> None:
    """The runner reads the journal in chunks (``Journal.iter_items``): chunk boundaries
    inside a batch, a failed activity and the check change nothing."""
    monkeypatch.setattr("ccdesk.core.journal.ITEM_CHUNK", 64)
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.activity("errors", errors=2)
    result = start_run(plan, big, journal)
    assert result.counts == {"failed": 2, "removed": N - 2}
    assert result.verified == N - 2
    assert sandbox.members("Free Members") == {"m0@example.org", "m1@example.org"}
    assert posts(sandbox) == 2
    assert_no_contact_twice(sandbox)
    items = journal.items(result.run_id)
    assert [i.row for i in items] == [i.row for i in plan.items]
    assert result_of(journal, result.run_id) == result_from_items(journal.run(result.run_id),
                                                                  items)


def test_throttling_is_waited_out(sandbox, tmp_path, journal) -> None:
    reset_and_connect(sandbox, free_members_account(N, newsletter_every=7))
    sandbox.set_limits(rate_limit=4)
    unpaced = ConstantContact.from_store(  # no pacing: the sandbox says "throttled" instead
        Endpoints.for_base(sandbox.base_url), InMemoryStore(stored_from_sandbox(sandbox)),
        usage=DailyUsage(), pacer=Pacer(rate=0), retry=RetryPolicy(throttle_wait=0.3))
    plan = plan_for(unpaced, tmp_path, EVERYONE)
    result = start_run(plan, unpaced, journal)
    assert_all_removed(sandbox, result)
    assert sandbox.requests.count(status=429) > 0
    assert posts(sandbox, status=201) == 2
    assert result.api_calls == sandbox.requests.api_calls()  # the 429s count as requests


def test_quota_exhausted_mid_run_then_resumed_the_next_day(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 10_000 - 1)  # one more request
    with pytest.raises(RunPaused) as paused:
        start_run(plan, big, journal)
    run_id = paused.value.run_id
    assert "allowance" in str(paused.value)
    assert journal.run(run_id).state == "paused"
    assert posts(sandbox, status=201) == 1 and posts(sandbox, status=429) == 1
    assert journal.result_counts(run_id) == {"sent": 500, "planned": 200}  # none checked yet
    # The next UTC day: a new allowance, and a new token (the old one has expired).
    sandbox.clock.advance(sandbox.clock.seconds_to_utc_midnight() + 1)
    tomorrow = fast_client(sandbox)
    result = resume_run(run_id, tomorrow, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox, status=201) == 2


def test_quota_exhausted_while_unsubscribing(cc, sandbox, tmp_path, journal) -> None:
    values = ["ada@example.org", "ben@example.org", "eve@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.UNSUBSCRIBE)
    sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 10_000 - 4)  # read + PUT, twice
    with pytest.raises(RunPaused) as paused:
        start_run(plan, cc, journal)
    run_id = paused.value.run_id
    assert journal.result_counts(run_id) == {"unsubscribed": 2, "planned": 1}
    sandbox.clock.advance(sandbox.clock.seconds_to_utc_midnight() + 1)
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"unsubscribed": 3}
    assert sandbox.requests.count("PUT", r"/v3/contacts/", status=200) == 3


def test_cancel_stops_at_a_batch_boundary_and_resume_finishes(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    cancel = threading.Event()

    def on_progress(event) -> None:
        if event.phase is Phase.SENDING:
            cancel.set()  # the person presses Cancel after the first batch went out

    with pytest.raises(RunCancelled) as stopped:
        start_run(plan, big, journal, progress=on_progress, cancel=cancel)
    run_id = stopped.value.run_id
    assert journal.run(run_id).state == "cancelled"
    # Stop stops at once: the batch already sent is checked on resume; the rest was not sent.
    assert journal.result_counts(run_id) == {"sent": 500, "planned": 200}
    assert journal.run(run_id).message == ("Stopped by you. 500 changes were sent to Constant "
                                           "Contact and are not checked yet; 200 were not sent.")
    assert posts(sandbox) == 1
    result = resume_run(run_id, big, journal)
    assert_all_removed(sandbox, result)
    assert posts(sandbox) == 2


def test_cancel_an_unsubscribe_run(cc, sandbox, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["ada@example.org", "ben@example.org", "eve@example.org"],
                    Action.UNSUBSCRIBE)
    cancel = threading.Event()
    with pytest.raises(RunCancelled) as stopped:
        start_run(plan, cc, journal, progress=lambda e: cancel.set(), cancel=cancel)
    assert journal.result_counts(stopped.value.run_id) == {"unsubscribed": 1, "planned": 2}
    assert sandbox.requests.count("PUT") == 1
    result = resume_run(stopped.value.run_id, cc, journal)
    assert result.counts == {"unsubscribed": 3}
    assert sandbox.requests.count("PUT") == 3


# ---- undo ---------------------------------------------------------------------------------------


def test_undo_puts_back_exactly_whom_the_run_removed(cc, sandbox, tmp_path, journal) -> None:
    before = {e: sandbox.contact(e)["lists"] for e in SMALL_FREE | {"gus@example.org"}}
    plan = plan_for(cc, tmp_path, EVERY_KIND, membership=MEMBERSHIP)
    run = start_run(plan, cc, journal)
    removed = {i.contact_id for i in journal.items(run.run_id) if i.result == "removed"}
    assert len(removed) == 4
    undo = undo_run(run.run_id, cc, journal)
    assert undo.counts == {"re-added": 4} and undo.verified == 4
    assert {e: sandbox.contact(e)["lists"] for e in before} == before
    added = activities(sandbox, "add_list_memberships")
    assert len(added) == 1 and set(added[0].contact_ids) == removed
    assert added[0].list_ids == [sandbox.list_id("Free Members")]
    assert journal.run(undo.run_id).undo_of == run.run_id
    with pytest.raises(PlanError, match="already undone"):
        undo_run(run.run_id, cc, journal)
    with pytest.raises(PlanError, match="cannot be undone"):
        undo_run(undo.run_id, cc, journal)
    assert sandbox.requests.count("POST", ADD_POST) == 1


def test_undo_of_remove_all_restores_each_contacts_own_lists(cc, sandbox, tmp_path, journal) -> None:
    values = ["ada@example.org", "eve@example.org", "fay@example.org", "gus@example.org"]
    before = {e: sandbox.contact(e)["lists"] for e in values}
    run = start_run(plan_for(cc, tmp_path, values, Action.REMOVE_ALL), cc, journal)
    assert all(sandbox.contact(e)["lists"] == [] for e in values)
    undo = undo_run(run.run_id, cc, journal)
    assert undo.counts == {"re-added": 4}
    assert {e: sandbox.contact(e)["lists"] for e in values} == before
    assert_no_contact_twice(sandbox, "add_list_memberships")
    reasons = {i.email: i.reason for i in journal.items(undo.run_id)}
    assert reasons["eve@example.org"] == "Back on Free Members, Newsletter"


def test_undo_re_adds_only_the_rows_that_were_removed(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.faults.activity("errors", errors=2)
    run = start_run(plan, big, journal)
    assert run.counts == {"failed": 2, "removed": N - 2}
    removed = {i.contact_id for i in journal.items(run.run_id) if i.result == "removed"}
    undo = undo_run(run.run_id, big, journal)
    assert undo.counts == {"re-added": N - 2}
    added = [cid for a in activities(sandbox, "add_list_memberships") for cid in a.contact_ids]
    assert sorted(added) == sorted(removed)
    assert len(sandbox.members("Free Members")) == N
    assert sandbox.requests.count("POST", ADD_POST) == 2


def test_undo_is_refused_for_an_unsubscribe_run(cc, sandbox, tmp_path, journal) -> None:
    run = start_run(plan_for(cc, tmp_path, ["ada@example.org"], Action.UNSUBSCRIBE), cc, journal)
    with pytest.raises(PlanError, match="cannot be undone") as refused:
        undo_run(run.run_id, cc, journal)
    assert "permanent" in refused.value.what_to_do
    assert sandbox.requests.count("POST") == 0
    assert sandbox.contact("ada@example.org")["email_address"]["permission_to_send"] == "unsubscribed"


def test_undo_is_refused_while_an_undo_is_unfinished(cc, sandbox, tmp_path, journal) -> None:
    run = start_run(plan_for(cc, tmp_path, ["ada@example.org", "ben@example.org"]), cc, journal)
    sandbox.faults.add(ADD_POST, method="POST", status=503, times=50)
    with pytest.raises(RunPaused) as paused:
        undo_run(run.run_id, cc, journal)
    sandbox.faults.clear()
    with pytest.raises(PlanError, match="under way") as refused:
        undo_run(run.run_id, cc, journal)
    assert paused.value.run_id in refused.value.what_to_do
    assert resume_run(paused.value.run_id, cc, journal).counts == {"re-added": 2}
    assert sandbox.members("Free Members") == SMALL_FREE
