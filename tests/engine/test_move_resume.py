"""A move (issue 16) that does not go smoothly: killed or stopped between its two stages, an
answer lost on either bulk request, Constant Contact refusing or failing some contacts, a pause
(the day's allowance), undo after all that, a move where everyone is on the target already, a
move whose members come from a list, and the cost of a move of 1,200.

Against the test sandbox over real HTTP, in-process and through the job process
(``python -m ccdesk job``). Whatever happens, a member is never left on neither list, nothing
that reached Constant Contact is sent again, and the journal says what the account shows."""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from ccdesk import engine
from ccdesk.core.journal import Journal
from ccdesk.core.lookup import Action, Check
from ccdesk.core.phases import Phase
from ccdesk.core.plan import PlanError
from ccdesk.core.runner import RunCancelled, RunPaused, result_from_items, result_of
from ccdesk.engine import child
from ccdesk.engine.session import Session
from ccdesk.engine.wire import parse_event
from ccdesk.sandbox.server import QUOTA_EXCEEDED
from tests.core.conftest import activities, assert_no_contact_twice, contact_ids, write_sheet
from tests.engine.conftest import (
    ADD_POST,
    FAY,
    MOVE_VALUES,
    MOVED,
    REMOVE_POST,
    journal_at,
    open_session,
    preview_of,
    request,
    run_job,
    wait_for,
)
from tests.engine.test_list_source import put_on

pytestmark = pytest.mark.timeout(20)

ADD, REMOVE = "add_list_memberships", "remove_list_memberships"
# The small account: Free Members holds ada, ben, chloe, eve, fay (and others); Sustainers holds
# fay and gus; ivy is unsubscribed (skipped), gus is not on Free Members (skipped).
CHANGED = [*MOVED, FAY]
SKIPPED = {"skip_not_on_list": 1, "skip_unsubscribed": 1}


@pytest.fixture
def before(sandbox) -> dict[str, set[str]]:
    """Both lists as they were before the test changed anything."""
    return {name: sandbox.members(name) for name in ("Free Members", "Sustainers")}


def preview_move(session: Session, sheet: Path, to: str = "Sustainers"):
    return engine.preview(session, engine.read(sheet), Action.MOVE, ["Free Members"], to=to)


def assert_never_on_neither(sandbox, emails: Iterable[str]) -> None:
    free, sustainers = sandbox.members("Free Members"), sandbox.members("Sustainers")
    lost = [e for e in emails if e not in free and e not in sustainers]
    assert not lost, f"on neither list: {lost}"


def assert_moved(sandbox, before: dict[str, set[str]], moved: Iterable[str] = CHANGED) -> None:
    moved = set(moved)
    assert sandbox.members("Free Members") == before["Free Members"] - moved
    assert sandbox.members("Sustainers") == before["Sustainers"] | moved


def reconciled(sandbox, journal: Journal, run_id: str) -> None:
    """Every activity Constant Contact made is one the journal knows, once; no contact went in
    two activities of the same kind."""
    for kind in (ADD, REMOVE):
        assert_no_contact_twice(sandbox, kind)
    known = sorted(b.activity_id for b in journal.batches(run_id) if b.activity_id)
    made = sorted(a.activity_id for kind in (ADD, REMOVE) for a in activities(sandbox, kind))
    assert known == made


# ---- (1) killed, or stopped, between the two stages -------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_move_killed_between_its_stages_is_resumed_without_sending_twice(
        jobs, url, sandbox, journal_path, move_sheet, before) -> None:
    """The job process is killed once everyone is on Sustainers and checked, while it is still
    trying to send the removal (Constant Contact answers 503 and changes nothing): the resume
    takes them off Free Members, once, without putting anyone on Sustainers again."""
    run_id = preview_of(jobs, url, journal_path, move_sheet, action="move",
                        to="Sustainers")["run_id"]
    refused = sandbox.faults.add(REMOVE_POST, method="POST", status=503, times=1000)
    job = jobs(request(url, journal_path, {"start": {"run_id": run_id}}))
    wait_for(lambda: refused.fired >= 1, "the removal is sent")
    os.kill(job.proc.pid, signal.SIGKILL)
    assert job.proc.wait(timeout=10) == -signal.SIGKILL

    # Killed half-way: on both lists, nobody on neither, the journal knows who was put on.
    assert sandbox.members("Sustainers") == before["Sustainers"] | set(MOVED)
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.requests.count("POST", ADD_POST) == 1 and not activities(sandbox, REMOVE)
    with journal_at(journal_path) as journal:
        assert journal.run(run_id).state == "running" and journal.holder(run_id) is None
        items = {i.email: i for i in journal.items(run_id)}
        assert {e for e, i in items.items() if i.added} == set(MOVED)
        assert all(i.verified is False and i.result == "" for e, i in items.items()
                   if e in CHANGED)
        assert [(b.kind, b.state) for b in journal.batches(run_id)] == [
            (ADD, "finished"), (REMOVE, "sent")]

    sandbox.faults.clear()
    code, events = run_job(jobs, url, journal_path, {"resume": {"run_id": run_id}})
    assert code == 0, events
    result = parse_event(events[-1]).result  # type: ignore[union-attr]
    assert result.state == "finished"
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", ADD_POST) == 1  # not put on Sustainers again
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == 1
    with journal_at(journal_path) as journal:
        reconciled(sandbox, journal, run_id)
        [_, lost, again] = journal.batches(run_id)
        assert lost.state == "failed" and again.state == "finished"  # known never to have arrived


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_move_killed_while_its_removal_is_answered_is_found_not_resent(
        jobs, url, sandbox, journal_path, move_sheet, before) -> None:
    """Killed after the removal reached Constant Contact but before its answer came back: the
    resume finds that job among Constant Contact's, and sends nothing again."""
    run_id = preview_of(jobs, url, journal_path, move_sheet, action="move",
                        to="Sustainers")["run_id"]
    sandbox.faults.add(REMOVE_POST, method="POST", kind="delay", delay=2.0, after=True)
    job = jobs(request(url, journal_path, {"start": {"run_id": run_id}}))
    try:
        wait_for(lambda: len(activities(sandbox, REMOVE)) == 1, "the removal reaches the sandbox")
        os.kill(job.proc.pid, signal.SIGKILL)
        assert job.proc.wait(timeout=10) == -signal.SIGKILL
        with journal_at(journal_path) as journal:
            assert [(b.kind, b.state) for b in journal.batches(run_id)] == [
                (ADD, "finished"), (REMOVE, "sent")]

        code, events = run_job(jobs, url, journal_path, {"resume": {"run_id": run_id}})
        assert code == 0, events
        result = parse_event(events[-1]).result  # type: ignore[union-attr]
        assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
        assert_moved(sandbox, before)
        assert len(activities(sandbox, ADD)) == 1 and len(activities(sandbox, REMOVE)) == 1
        with journal_at(journal_path) as journal:
            reconciled(sandbox, journal, run_id)
    finally:  # the sandbox's delayed answer is logged before the next test starts
        wait_for(lambda: any(r.fault == "delay" for r in sandbox.requests.records()),
                 "the delayed answer", timeout=10)


def test_a_move_stopped_between_its_stages_says_so_and_resumes(session, sandbox, move_sheet,
                                                               before) -> None:
    """Stop pressed as the new list is checked: the run stops before taking anyone off, says
    how many are on their new list only half-way, and the resume finishes the move."""
    plan = preview_move(session, move_sheet)
    cancel = threading.Event()

    def stop_once_added(event) -> None:
        if event.phase is Phase.CHECKED and event.counts.get("added"):
            cancel.set()

    with pytest.raises(RunCancelled) as stopped:
        engine.run(session, plan, progress=stop_once_added, cancel=cancel)
    run_id = stopped.value.run_id
    assert sandbox.requests.count("POST", REMOVE_POST) == 0
    assert_never_on_neither(sandbox, CHANGED)
    status = engine.status(session, run_id)
    assert status.run.state == "cancelled"
    assert status.run.message == (
        "Stopped by you. 4 members were put on their new list and are not taken off the old one "
        "yet; 1 was not sent.")
    assert status.counts == {"added": 4, "planned": 1, **SKIPPED}

    result = engine.resume(session, run_id)
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", ADD_POST) == 1
    assert sandbox.requests.count("POST", REMOVE_POST) == 1


# ---- (2) a lost answer on either request ------------------------------------------------------


@pytest.mark.parametrize("post", [ADD_POST, REMOVE_POST], ids=["add", "remove"])
def test_a_lost_answer_after_the_change_is_found_not_resent(session, sandbox, move_sheet, before,
                                                            post) -> None:
    plan = preview_move(session, move_sheet)
    sandbox.faults.add(post, method="POST", kind="drop", after=True)
    result = engine.run(session, plan, progress=lambda e: assert_never_on_neither(sandbox, CHANGED))
    assert result.state == "finished"
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", ADD_POST) == 1
    assert sandbox.requests.count("POST", REMOVE_POST) == 1
    assert sandbox.requests.count("GET", r"/v3/activities$") >= 1  # looked it up instead
    with session.journal() as journal:
        reconciled(sandbox, journal, result.run_id)
        assert {b.state for b in journal.batches(result.run_id)} == {"finished"}


@pytest.mark.parametrize("post", [ADD_POST, REMOVE_POST], ids=["add", "remove"])
def test_a_request_lost_before_it_arrived_is_sent_again(session, sandbox, move_sheet, before,
                                                         post) -> None:
    plan = preview_move(session, move_sheet)
    sandbox.faults.add(post, method="POST", kind="drop")
    result = engine.run(session, plan)
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", post) == 2  # the lost one, then again
    assert sandbox.requests.count("POST", post, status=201) == 1
    with session.journal() as journal:
        reconciled(sandbox, journal, result.run_id)


@pytest.mark.parametrize("post", [ADD_POST, REMOVE_POST], ids=["add", "remove"])
def test_a_lost_answer_next_to_a_twin_is_decided_by_reading(session, sandbox, move_sheet, before,
                                                            post) -> None:
    """The answer is lost and another job of the same size appeared at the same moment (made
    elsewhere): ccdesk adopts neither, reads the contacts, finds the change made, sends nothing
    again."""
    plan = preview_move(session, move_sheet)
    sandbox.faults.add(post, method="POST", kind="drop", after=True)
    sandbox.faults.foreign_activity(path=post.rstrip("$"))
    result = engine.run(session, plan)
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", ADD_POST) == 1
    assert sandbox.requests.count("POST", REMOVE_POST) == 1
    with session.journal() as journal:
        lost = [b for b in journal.batches(result.run_id) if b.state == "failed"]
        assert len(lost) == 1 and "could be it" in lost[0].message
    assert_no_contact_twice(sandbox, ADD) and assert_no_contact_twice(sandbox, REMOVE)


# ---- (3), (4), (5) the add refused or failing for some; undo; a second undo ------------------


def test_contacts_not_put_on_the_target_stay_on_free_members_and_undo_is_exact(
        session, sandbox, move_sheet, before) -> None:
    plan = preview_move(session, move_sheet)
    sandbox.faults.activity("errors", errors=2)  # the add: its first two contacts fail
    result = engine.run(session, plan)
    assert result.state == "finished"
    assert result.counts == {"failed": 2, "moved": 2, "removed": 1, **SKIPPED}
    assert result.verified == 3
    with session.journal() as journal:
        items = {i.email: i for i in journal.items(result.run_id)}
    for email in ("ada@example.org", "ben@example.org"):
        item = items[email]
        assert item.result == "failed" and not item.added and not item.verified
        assert item.cc_message.startswith(
            "Still not on Sustainers, so it stays on Free Members. Contact "), item.cc_message
        assert item.contact_id in item.cc_message
        assert email in sandbox.members("Free Members")  # NOT taken off
        assert email not in sandbox.members("Sustainers")
    assert_moved(sandbox, before, ["chloe@example.org", "eve@example.org", FAY])
    # The removal left out the two not put on Sustainers.
    [removal] = activities(sandbox, REMOVE)
    assert sorted(removal.contact_ids) == sorted(contact_ids(
        sandbox, ["chloe@example.org", "eve@example.org", FAY]))

    # Try the failed ones again: a preview of just them moves them.
    retry_sheet = engine.only_failed(session, engine.read(move_sheet), result.run_id)
    retry = engine.preview(session, retry_sheet, Action.MOVE, ["Free Members"], to="Sustainers")
    assert {i.email for i in retry.items if i.outcome == "move"} == {"ada@example.org",
                                                                      "ben@example.org"}

    # (4) Undo puts back exactly what the run did: nothing for the two that failed.
    sandbox.requests.clear()
    undo = engine.undo(session, result.run_id)
    assert undo.state == "finished" and undo.counts == {"re-added": 3} and undo.verified == 3
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"]
    [back] = activities(sandbox, ADD)[1:]
    [off] = activities(sandbox, REMOVE)[1:]
    assert sorted(back.contact_ids) == sorted(contact_ids(
        sandbox, ["chloe@example.org", "eve@example.org", FAY]))
    assert sorted(off.contact_ids) == sorted(contact_ids(  # fay was on Sustainers before
        sandbox, ["chloe@example.org", "eve@example.org"]))

    # (5) A second undo is refused, and sends nothing.
    sandbox.requests.clear()
    with pytest.raises(PlanError, match="already undone"):
        engine.undo(session, result.run_id)
    with pytest.raises(PlanError, match="cannot be undone"):
        engine.undo(session, undo.run_id)  # nor is an undo undone
    assert sandbox.requests.count("POST") == 0


@pytest.mark.parametrize("how", ["refused", "failed"])
def test_a_refused_or_failed_add_takes_nobody_off(session, sandbox, move_sheet, before,
                                                  how) -> None:
    plan = preview_move(session, move_sheet)
    if how == "refused":
        sandbox.faults.add(ADD_POST, method="POST", status=400, body=[{
            "error_key": "activities.api.validation.error",
            "error_message": "The list is locked."}])
    else:
        sandbox.faults.activity("failed")
    result = engine.run(session, plan)
    assert result.state == "finished"
    assert result.counts == {"failed": 4, "removed": 1, **SKIPPED}
    with session.journal() as journal:
        failed = journal.items(result.run_id, state="failed")
    assert {i.email for i in failed} == set(MOVED)
    for item in failed:
        assert "stays on Free Members" in item.cc_message, item.cc_message
        assert ("The list is locked." if how == "refused" else "failed") in item.cc_message
    # Only fay (already on Sustainers) was taken off Free Members.
    assert sandbox.members("Free Members") == before["Free Members"] - {FAY}
    assert sandbox.members("Sustainers") == before["Sustainers"]
    [removal] = activities(sandbox, REMOVE)
    assert removal.contact_ids == [sandbox.contact(FAY)["contact_id"]]

    undo = engine.undo(session, result.run_id)
    assert undo.counts == {"re-added": 1}
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"]


def test_a_member_put_on_but_not_taken_off_is_undone_exactly(session, sandbox, move_sheet,
                                                             before) -> None:
    """The removal fails for one contact: it ends on both lists, its row failed (saying it was
    put on Sustainers); undo takes it off Sustainers, and leaves it on Free Members."""
    plan = preview_move(session, move_sheet)

    def fail_the_removal_for_one(event) -> None:
        if event.phase is Phase.CHECKED and event.counts.get("added"):
            sandbox.faults.activity("errors", errors=1)  # the next activity: the removal

    result = engine.run(session, plan, progress=fail_the_removal_for_one)
    assert result.counts == {"failed": 1, "moved": 3, "removed": 1, **SKIPPED}
    with session.journal() as journal:
        [ada] = journal.items(result.run_id, state="failed")
    assert ada.email == "ada@example.org" and ada.added
    assert ada.cc_message.startswith("Put on Sustainers, but still on Free Members"), ada.cc_message
    assert {"Free Members", "Sustainers"} <= set(sandbox.contact(ada.email)["lists"])
    assert_never_on_neither(sandbox, CHANGED)

    undo = engine.undo(session, result.run_id)
    assert undo.state == "finished" and undo.verified == 5
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"]
    back, off = activities(sandbox, ADD)[1:], activities(sandbox, REMOVE)[1:]
    assert [sorted(a.contact_ids) for a in back] == [sorted(contact_ids(
        sandbox, ["ben@example.org", "chloe@example.org", "eve@example.org", FAY]))]
    assert [sorted(a.contact_ids) for a in off] == [sorted(contact_ids(sandbox, MOVED))]


# ---- (6) everyone already on the target ---------------------------------------------------------


def test_a_move_where_everyone_is_on_the_target_only_takes_them_off(session, sandbox, api,
                                                                    tmp_path, before) -> None:
    put_on(sandbox, api, ["ada@example.org", "ben@example.org"], "Sustainers")
    before = {name: sandbox.members(name) for name in ("Free Members", "Sustainers")}
    sheet = write_sheet(tmp_path / "already.csv", ["ada@example.org", "ben@example.org", FAY])
    plan = preview_move(session, sheet)
    assert {i.outcome for i in plan.items} == {"remove"}
    assert all(i.reason == "Already on Sustainers: only taken off Free Members" and not i.add_ids
               for i in plan.items)
    assert plan.cost.add_check is None
    assert plan.cost.run_changes == 1  # one removal, no add
    sandbox.requests.clear()
    result = engine.run(session, plan)
    assert result.counts == {"removed": 3} and result.verified == 3
    assert sandbox.requests.count("POST", ADD_POST) == 0
    assert sandbox.requests.count("POST", REMOVE_POST) == 1
    assert result.api_calls <= plan.cost.run_total + plan.cost.lookup_spent
    assert sandbox.members("Free Members") == before["Free Members"] - {
        "ada@example.org", "ben@example.org", FAY}
    assert sandbox.members("Sustainers") == before["Sustainers"]

    sandbox.requests.clear()
    undo = engine.undo(session, result.run_id)
    assert undo.counts == {"re-added": 3}
    assert sandbox.requests.count("POST", REMOVE_POST) == 0  # nobody was put on Sustainers
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"]


# ---- (7) the members of a list moved ------------------------------------------------------------


def test_a_move_of_a_lists_members(session, sandbox, api) -> None:
    """The members of Sustainers move from Free Members to the Newsletter: those on the
    Newsletter already are only taken off Free Members; gus (not on Free Members) is left."""
    put_on(sandbox, api, ["ada@example.org", "eve@example.org"], "Sustainers")
    lists = ("Free Members", "Sustainers", "Newsletter")
    before = {name: sandbox.members(name) for name in lists}
    plan = engine.preview_list(session, "Sustainers", Action.MOVE, ["Free Members"],
                               to="Newsletter")
    by_email = {i.email: i for i in plan.items}
    assert {e: str(i.outcome) for e, i in by_email.items()} == {
        "ada@example.org": "move", "eve@example.org": "remove", FAY: "move",
        "gus@example.org": "skip_not_on_list"}
    assert by_email["eve@example.org"].reason == (
        "Already on Newsletter: only taken off Free Members")
    assert by_email["ada@example.org"].warning == "Stays on Sustainers"
    assert plan.to_dict()["to"] == "Newsletter" and plan.to_dict()["source_list"] == "Sustainers"

    result = engine.run(session, plan)
    assert result.counts == {"moved": 2, "removed": 1, "skip_not_on_list": 1}
    assert result.verified == 3
    changed = {"ada@example.org", "eve@example.org", FAY}
    assert sandbox.members("Free Members") == before["Free Members"] - changed
    assert sandbox.members("Newsletter") == before["Newsletter"] | changed
    assert sandbox.members("Sustainers") == before["Sustainers"]  # the source is left alone

    undo = engine.undo(session, result.run_id)
    assert undo.counts == {"re-added": 3}
    assert {name: sandbox.members(name) for name in lists} == before

    # The source as the target: everyone is on it already, so they are only taken off.
    same = engine.preview_list(session, "Sustainers", Action.MOVE, ["Free Members"],
                               to="Sustainers")
    assert {str(i.outcome) for i in same.items} == {"remove", "skip_not_on_list"}


# ---- (8) paused by the day's allowance ----------------------------------------------------------


def test_a_move_paused_between_its_stages_by_the_allowance_resumes(session, sandbox, move_sheet,
                                                                   before) -> None:
    """Today's allowance runs out just as the removal is sent: the run pauses with everyone on
    Sustainers and on Free Members, says so, and the resume (the next day) finishes the move."""
    plan = preview_move(session, move_sheet)
    sandbox.faults.add(REMOVE_POST, method="POST", status=429, body=QUOTA_EXCEEDED)
    with pytest.raises(RunPaused) as paused:
        engine.run(session, plan)
    run_id = paused.value.run_id
    assert "allowance" in str(paused.value)
    with session.journal() as journal:
        run, items = journal.run(run_id), journal.items(run_id)
        assert run.state == "paused"
        assert result_of(journal, run_id).counts == {"added": 4, "planned": 1, **SKIPPED}
        # The journal's counts and the counts of its items read one by one agree.
        assert result_from_items(run, items).counts == result_of(journal, run_id).counts
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"] | set(MOVED)

    result = engine.resume(session, run_id)
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", ADD_POST) == 1
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == 1
    with session.journal() as journal:
        reconciled(sandbox, journal, run_id)


def test_a_move_paused_by_the_allowance_while_its_add_is_under_way(session, sandbox, move_sheet,
                                                                   before) -> None:
    """The allowance lets the add through and nothing after it: the run pauses while the add is
    at Constant Contact; the resume checks it (without sending it again), then takes them off."""
    from ccdesk.sandbox import DEMO_CLIENT_ID

    plan = preview_move(session, move_sheet)
    sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 10_000 - 1)  # one request left
    with pytest.raises(RunPaused) as paused:
        engine.run(session, plan)
    run_id = paused.value.run_id
    assert sandbox.requests.count("POST", ADD_POST, status=201) == 1
    assert sandbox.requests.count("POST", REMOVE_POST) == 0
    with session.journal() as journal:
        assert journal.run(run_id).state == "paused"
        assert [(b.kind, b.state) for b in journal.batches(run_id)] == [(ADD, "started")]
    sandbox.set_limits(daily_quota=10_000)  # a new day

    result = engine.resume(session, run_id)
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
    assert_moved(sandbox, before)
    assert sandbox.requests.count("POST", ADD_POST) == 1
    assert sandbox.requests.count("POST", REMOVE_POST) == 1


# ---- (9) a move of 1,200: activities of at most 500, within the predicted requests -------------

N = 1200
EVERYONE = [f"m{i}@example.org" for i in range(N)]
ON_BOTH = {f"m{i}@example.org" for i in range(0, N, 10)}  # 120 already on Sustainers


@pytest.fixture
def big_url(sandbox) -> str:
    contacts = [{"email": e, "first_name": "M", "last_name": "Test",
                 "lists": ["Free Members", *(["Sustainers"] if e in ON_BOTH else [])]}
                for e in EVERYONE]
    data = {"account": {"organization_name": "Big Choir", "contact_email": "owner@example.org"},
            "lists": [{"name": "Free Members"}, {"name": "Sustainers"}, {"name": "Newsletter"}],
            "contacts": contacts}
    # Bulk jobs end before the first look at them: the polls are the prediction's.
    sandbox.reset(data, auto_approve=True, activity_delay=0.0, activity_seconds=0.01,
                  activity_min_seconds=0.01)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    return sandbox.base_url


def test_a_move_of_1200_uses_activities_of_500_within_the_predicted_requests(
        big_url, sandbox, journal_path, tmp_path, monkeypatch) -> None:
    session = open_session(big_url, journal_path, monkeypatch)
    try:
        sheet = write_sheet(tmp_path / "big.csv", EVERYONE)
        plan = preview_move(session, sheet)
        counts = plan.to_dict()["counts"]
        assert counts == {"move": N - len(ON_BOTH), "remove": len(ON_BOTH)}
        adds, removes = math.ceil((N - len(ON_BOTH)) / 500), math.ceil(N / 500)
        assert plan.cost.run_changes == adds + removes == 6
        assert plan.cost.add_check is Check.BY_LIST and plan.cost.check is Check.BY_LIST

        sandbox.requests.clear()
        result = engine.run(session, plan)
        run_calls = sandbox.requests.api_calls()
        assert result.counts == {"moved": N - len(ON_BOTH), "removed": len(ON_BOTH)}
        assert result.verified == N
        assert not sandbox.members("Free Members")
        assert sandbox.members("Sustainers") == set(EVERYONE)
        made = {kind: [len(a.contact_ids) for a in activities(sandbox, kind)]
                for kind in (ADD, REMOVE)}
        assert made == {ADD: [500, 500, 80], REMOVE: [500, 500, 200]}
        assert sorted(assert_no_contact_twice(sandbox, ADD)) == sorted(
            contact_ids(sandbox, set(EVERYONE) - ON_BOTH))
        assert sorted(assert_no_contact_twice(sandbox, REMOVE)) == sorted(
            contact_ids(sandbox, EVERYONE))
        assert run_calls <= plan.cost.run_total, (run_calls, plan.cost.to_dict())
        assert result.api_calls <= plan.cost.run_total + plan.cost.lookup_spent

        # Its undo: as many activities the other way, within its own prediction.
        sandbox.requests.clear()
        undo = engine.undo(session, result.run_id)
        assert undo.counts == {"re-added": N} and undo.verified == N
        assert sandbox.members("Free Members") == set(EVERYONE)
        assert sandbox.members("Sustainers") == ON_BOTH
        made = {kind: [len(a.contact_ids) for a in activities(sandbox, kind)[3:]]
                for kind in (ADD, REMOVE)}
        assert made == {ADD: [500, 500, 200], REMOVE: [500, 500, 80]}
        with session.journal() as journal:
            predicted = journal.run(undo.run_id).predicted_calls
        assert sandbox.requests.api_calls() <= predicted + 1  # + the lists' sizes, to plan it
    finally:
        session.close()


def test_a_move_job_reports_its_progress_in_two_stages(jobs, url, sandbox, journal_path,
                                                       move_sheet) -> None:
    """Through the job process: a finished move, its events in order (put on, checked, then
    taken off, checked), and its undo."""
    run_id = preview_of(jobs, url, journal_path, move_sheet, action="move",
                        to="Sustainers")["run_id"]
    code, events = run_job(jobs, url, journal_path, {"start": {"run_id": run_id}})
    assert code == 0, events
    result = parse_event(events[-1]).result  # type: ignore[union-attr]
    assert result.counts == {"moved": 4, "removed": 1, **SKIPPED}
    checked = [e for e in events if e.get("phase") == "checked"]
    assert len(checked) == 2
    code, events = run_job(jobs, url, journal_path, {"undo": {"run_id": run_id}})
    assert code == 0, events
    assert parse_event(events[-1]).result.counts == {"re-added": 5}  # type: ignore[union-attr]
    code, events = run_job(jobs, url, journal_path, {"undo": {"run_id": run_id}})
    assert code == child.EXIT_FAILED and events[-1]["title"] == "This run was already undone"


def test_a_refused_removal_says_the_member_is_on_both_lists_and_undo_is_exact(
        session, sandbox, move_sheet, before) -> None:
    plan = preview_move(session, move_sheet)
    sandbox.faults.add(REMOVE_POST, method="POST", status=400, body=[{
        "error_key": "activities.api.validation.error", "error_message": "Not today."}])
    result = engine.run(session, plan)
    assert result.state == "finished" and result.counts == {"failed": 5, **SKIPPED}
    with session.journal() as journal:
        failed = {i.email: i.cc_message for i in journal.items(result.run_id, state="failed")}
    for email in MOVED:
        assert failed[email] == ("Refused by Constant Contact: Not today. Put on Sustainers, "
                                 "but still on Free Members")
    assert failed[FAY] == "Refused by Constant Contact: Not today."
    assert sandbox.members("Free Members") == before["Free Members"]  # nobody on neither
    assert sandbox.members("Sustainers") == before["Sustainers"] | set(MOVED)

    undo = engine.undo(session, result.run_id)  # off Sustainers for the four put there
    assert undo.state == "finished" and undo.verified == 4
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"]
    assert len(activities(sandbox, ADD)) == 1  # nothing to put back on Free Members


def test_a_move_off_two_lists_is_undone_onto_each(session, sandbox, tmp_path) -> None:
    """Off Free Members and the Newsletter (eve is on both), onto Sustainers; undo puts each
    back on exactly the lists it left."""
    lists = ("Free Members", "Newsletter", "Sustainers")
    before = {name: sandbox.members(name) for name in lists}
    sheet = write_sheet(tmp_path / "two.csv", ["ada@example.org", "eve@example.org", FAY])
    plan = engine.preview(session, engine.read(sheet), Action.MOVE, ["Free Members", "Newsletter"],
                          to="Sustainers")
    by_email = {i.email: i for i in plan.items}
    assert by_email["eve@example.org"].reason == "From Free Members, Newsletter to Sustainers"
    result = engine.run(session, plan)
    assert result.counts == {"moved": 2, "removed": 1} and result.verified == 3
    assert not {"ada@example.org", "eve@example.org", FAY} & (
        sandbox.members("Free Members") | sandbox.members("Newsletter"))
    assert {"ada@example.org", "eve@example.org", FAY} <= sandbox.members("Sustainers")
    undo = engine.undo(session, result.run_id)
    assert undo.counts == {"re-added": 3}
    assert {name: sandbox.members(name) for name in lists} == before


# ---- a crash at each request of a move (in-process, as tests/core/test_resume.py) --------------


@pytest.mark.parametrize(("operation", "nth", "before_it"), [
    ("start_add", 1, False),  # the add reached Constant Contact, its answer never recorded
    ("start_add", 1, True),  # the add never left
    ("iter_members", 1, True),  # while the add is checked (by list)
    ("start_remove", 1, False),
    ("start_remove", 1, True),
])
def test_a_crash_at_each_step_of_a_move_is_resumed(sandbox, tmp_path, operation, nth,
                                                   before_it, monkeypatch) -> None:
    from ccdesk.core import runner
    from ccdesk.core.plan import preview
    from ccdesk.core.runner import resume_run, start_run
    from tests.cc.conftest import fast_client
    from tests.core.test_resume import Crash, crash_at

    monkeypatch.setattr(runner, "FIRST_POLL", 0.05)
    monkeypatch.setattr(runner, "RECOVER_GRACE", 0.01)
    sandbox.set_limits(rate_limit=0)
    before = {name: sandbox.members(name) for name in ("Free Members", "Sustainers")}
    client = fast_client(sandbox)
    sheet = engine.read(write_sheet(tmp_path / "m.csv", MOVE_VALUES))
    plan = preview(client, sheet, Action.MOVE, ["Free Members"], to="Sustainers")
    if operation == "iter_members":  # the add is checked by paging Sustainers
        assert plan.cost.add_check is Check.BY_LIST
    crash_at(client, operation, nth, before=before_it)
    with Journal(tmp_path / "j.sqlite3") as journal:
        with pytest.raises(Crash):
            start_run(plan, client, journal)
        run_id = journal.runs()[0].run_id
        journal.set_run_state(run_id, "running")  # as a killed process leaves it
        assert_never_on_neither(sandbox, CHANGED)
        result = resume_run(run_id, fast_client(sandbox), journal)
        assert result.counts == {"moved": 4, "removed": 1, **SKIPPED} and result.verified == 5
        assert_moved(sandbox, before)
        reconciled(sandbox, journal, run_id)
    assert len(activities(sandbox, ADD)) == 1 and len(activities(sandbox, REMOVE)) == 1
