"""The job against a Constant Contact less kind than the old sandbox (issue 12, "The job").

Every test here failed on the code before it: verification leaned on ``updated_after``, waits
ignored Stop and had no end, a lost answer was matched by size alone, unsubscribing trusted the
look-up's copy of a contact, and two processes could carry out one run at once.
"""

from __future__ import annotations

import threading
import time

import pytest

from ccdesk.core.journal import RunBusy
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase
from ccdesk.core.plan import PlanError
from ccdesk.core.runner import RunCancelled, RunPaused, resume_run, start_run, undo_run
from tests.cc.conftest import fast_client, reset_and_connect
from tests.core.conftest import (
    REMOVE_POST,
    activities,
    assert_no_contact_twice,
    contact_ids,
    free_members_account,
    plan_for,
)

pytestmark = pytest.mark.timeout(60)

N = 700
EVERYONE = [f"m{i}@example.org" for i in range(N)]


@pytest.fixture
def big(sandbox):
    """700 contacts on Free Members, a client for them."""
    return reset_and_connect(sandbox, free_members_account(N))


def contact_reads(sandbox) -> int:
    """Requests that read contacts (pages or one by one)."""
    return sandbox.requests.count("GET", r"/v3/contacts")


# ---- verification: the preview's choice, honoured and priced, in both sandbox modes ----------


@pytest.mark.usefixtures("sandbox_mode")
@pytest.mark.parametrize(("members", "check"), [(650, "by_list"), (1, "by_contact")])
def test_every_checked_row_was_read_back_the_way_the_preview_priced(
        big, sandbox, tmp_path, journal, members, check) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:members])
    assert plan.cost.check == check
    sandbox.requests.clear()
    result = start_run(plan, big, journal)
    assert result.counts == {"removed": members} and result.verified == members
    assert contact_reads(sandbox) == plan.cost.run_verify
    # Reads came after the last activity had ended.
    last_end = max(a.done_at for a in activities(sandbox))  # the sandbox's clock
    reads = [r for r in sandbox.requests.records() if r.path.startswith("/v3/contacts")]
    assert reads and min(r.time for r in reads) >= last_end - 0.001
    # The whole run cost what the preview said (polls depend on timing: within one round).
    polls = sandbox.requests.count("GET", r"/v3/activities")
    assert sandbox.requests.api_calls() - polls == plan.cost.run_changes + plan.cost.run_verify


def test_a_failed_removal_is_not_called_checked_when_updated_at_stays(big, sandbox, tmp_path,
                                                                     journal) -> None:
    # The activity says "completed" but left three contacts on the list (activity_errors).
    plan = plan_for(big, tmp_path, EVERYONE[:650])
    sandbox.faults.activity("errors", errors=3)
    result = start_run(plan, big, journal)
    assert result.counts == {"removed": 647, "failed": 3}
    failed = [i for i in journal.items(result.run_id) if i.result == "failed"]
    assert all(i.cc_message.startswith("Still on Free Members") for i in failed)


@pytest.mark.parametrize(("ending", "words"), [
    ("failed", "Constant Contact's job failed"),
    ("cancelled", "Constant Contact cancelled the job"),
    ("timed_out", "Constant Contact's job timed out"),
])
def test_jobs_that_end_badly_become_failed_rows_with_their_reason(
        big, sandbox, tmp_path, journal, ending, words) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:10])
    sandbox.faults.activity(ending)
    result = start_run(plan, big, journal)
    assert result.state == "finished" and result.counts == {"failed": 10}
    assert all(words in i.cc_message for i in journal.items(result.run_id))


# ---- waiting: bounded and cancellable -----------------------------------------------------------


def test_stop_while_a_job_is_stuck_ends_the_wait_and_says_all_was_sent(big, sandbox, tmp_path,
                                                                      journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:10])
    sandbox.faults.activity("stuck")
    cancel = threading.Event()

    def on_progress(event) -> None:
        if event.phase is Phase.WAITING:
            threading.Timer(0.2, cancel.set).start()

    started = time.monotonic()
    with pytest.raises(RunCancelled) as stopped:
        start_run(plan, big, journal, progress=on_progress, cancel=cancel)
    assert time.monotonic() - started < 5
    run = journal.run(stopped.value.run_id)
    assert run.state == "cancelled"
    assert run.message.startswith("Stopped by you. All changes were sent to Constant Contact")
    assert "not sent" not in run.message


def test_a_job_that_never_ends_pauses_the_run_and_resume_finishes_it(big, sandbox, tmp_path,
                                                                     journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:10])
    sandbox.faults.activity("stuck")
    with pytest.raises(RunPaused) as paused:
        start_run(plan, big, journal, wait_limit=0.3)
    run_id = paused.value.run_id
    assert journal.run(run_id).state == "paused"
    assert "still working on 1 of ccdesk's jobs" in str(paused.value)
    assert "Nothing is lost" in str(paused.value)
    assert journal.result_counts(run_id) == {"sent": 10}
    (stuck,) = activities(sandbox)
    sandbox.end_activity(stuck.activity_id)
    result = resume_run(run_id, big, journal)
    assert result.counts == {"removed": 10}
    assert len(activities(sandbox)) == 1  # nothing sent twice


# ---- a lost answer ---------------------------------------------------------------------------


def test_a_lost_answer_beside_an_equal_foreign_job_adopts_neither(big, sandbox, tmp_path,
                                                                  journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:10])
    # The POST takes effect, its answer is lost, and the web app made a job of the same size on
    # the same list a moment before.
    sandbox.faults.add(REMOVE_POST, method="POST", kind="drop", after=True)
    sandbox.faults.foreign_activity(offset=-0.5)  # older: the old code took it
    result = start_run(plan, big, journal)
    assert result.counts == {"removed": 10} and result.verified == 10
    ours = activities(sandbox)
    claimed = {b.activity_id for b in journal.batches(result.run_id) if b.activity_id}
    assert not claimed & {a.activity_id for a in sandbox_foreign(sandbox)}
    first = journal.batches(result.run_id)[0]
    assert first.state == "failed" and "could be it" in first.message
    assert sorted(assert_no_contact_twice(sandbox)) == sorted(contact_ids(sandbox, EVERYONE[:10]))
    assert len(ours) == 1  # every contact was already off: nothing was sent again


def test_a_lost_answer_is_matched_only_with_a_job_made_around_its_sending(big, sandbox, tmp_path,
                                                                          journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:10])
    # A job of the same size from an hour ago is not ours, though it is the only candidate by
    # size; the POST itself never arrived.
    sandbox.add_foreign_activity(10, created_at=sandbox.clock.time() - 3600)
    sandbox.faults.add(REMOVE_POST, method="POST", kind="drop")
    result = start_run(plan, big, journal)
    assert result.counts == {"removed": 10}
    assert journal.batches(result.run_id)[0].message == "Never reached Constant Contact; sent again."


def sandbox_foreign(sandbox) -> list:
    with sandbox.state.lock:
        return [a for a in sandbox.state.activities.values() if a.foreign]


# ---- unsubscribe reads fresh ---------------------------------------------------------------------


def test_unsubscribe_never_revives_a_contact_deleted_since_the_preview(cc, sandbox, tmp_path,
                                                                       journal, api) -> None:
    plan = plan_for(cc, tmp_path, ["ada@example.org", "eve@example.org"], Action.UNSUBSCRIBE)
    assert plan.cost.run_changes == 4  # a fresh read and a PUT each
    ada = plan.snapshot.found["ada@example.org"]
    assert api.delete(f"{api.base}/contacts/{ada.contact_id}").status_code == 204
    result = start_run(plan, cc, journal)
    assert result.counts == {"unsubscribed": 1, "skip_deleted": 1}
    assert sandbox.contact("ada@example.org").get("deleted_at")
    assert sandbox.requests.count("PUT", rf"/v3/contacts/{ada.contact_id}") == 0


# ---- privileges -------------------------------------------------------------------------------------


def test_a_user_who_may_not_change_contacts_is_told_in_the_preview(sandbox, tmp_path, journal) -> None:
    client = reset_and_connect(sandbox, user_role="campaign_creator")
    sandbox.requests.clear()
    with pytest.raises(PlanError, match="may not read or change contacts"):
        plan_for(client, tmp_path, ["ada@example.org"])
    # Told before any look-up: the account, then the privileges, and nothing more.
    assert sandbox.requests.api_calls() == 2


def test_preview_says_when_the_user_may_read_but_not_change(cc, sandbox, tmp_path, journal,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(type(cc), "privileges", lambda self: {"contacts:read", "contacts:lists:read"})
    plan = plan_for(cc, tmp_path, ["ada@example.org"])
    assert not plan.may_change and plan.to_dict()["may_change"] is False
    assert "may not change contacts" in plan.refusal().title
    sandbox.requests.clear()
    with pytest.raises(PlanError, match="may not change contacts"):
        start_run(plan, cc, journal)
    assert sandbox.requests.api_calls() == 0 and journal.runs() == []


# ---- one owner per run ------------------------------------------------------------------------------


def test_two_resumes_of_one_run_never_send_a_batch_twice(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.quota.set_used("ccdesk-sandbox-app", sandbox.clock.time(), 10_000 - 1)
    with pytest.raises(RunPaused) as paused:
        start_run(plan, big, journal)
    run_id = paused.value.run_id
    sandbox.clock.advance(sandbox.clock.seconds_to_utc_midnight() + 1)
    sandbox.requests.clear()
    sandbox.faults.activity("slow", duration=1.0, times=5)  # the first resume takes a while
    from ccdesk.core.journal import Journal

    outcomes: dict[str, object] = {}
    claimed = threading.Event()  # the first resume holds the run (it is under way)

    def resume(name: str) -> None:
        with Journal(journal.path) as own:
            try:
                outcomes[name] = resume_run(run_id, fast_client(sandbox), own, program=name,
                                            progress=lambda event: claimed.set())
            except RunBusy as exc:
                outcomes[name] = exc

    first = threading.Thread(target=resume, args=("the window",))
    first.start()
    assert claimed.wait(30)
    resume("the command line")
    first.join(30)
    busy = outcomes["the command line"]
    assert isinstance(busy, RunBusy)
    assert "the window" in busy.what_to_do.lower() and "Nothing was changed" in busy.what_to_do
    assert outcomes["the window"].counts == {"removed": N}
    # Each contact went out exactly once over the whole run (the paused batch and the rest).
    assert sorted(assert_no_contact_twice(sandbox)) == sorted(contact_ids(sandbox, EVERYONE))
    assert journal.holder(run_id) is None  # let go once done


def test_a_crashed_owner_is_recognised(tmp_path) -> None:
    from ccdesk.core.journal import Journal
    from tests.support.holders import held_elsewhere

    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        run_id = journal.create_run(file_path="x.csv", file_sha256="0", sheet="", action="remove",
                                    lists=[], account={}, items=[])
        with held_elsewhere(path, run_id) as holder:
            owner = journal.holder(run_id)
            assert owner is not None and owner.program == "a scheduled job"
            assert owner.pid == holder.pid
            with pytest.raises(RunBusy, match="scheduled job"):
                journal.claim(run_id, "the window")
        # killed (kill -9: no chance to let go): the run is free
        assert journal.holder(run_id) is None
        journal.claim(run_id, "the window").release()


# ---- look-ups are exact ------------------------------------------------------------------------


@pytest.mark.parametrize("values", [
    ["ada.lovelace@example.org"],  # few: one look-up by email
    ["ada.lovelace@example.org", *(f"x{i}@example.org" for i in range(5))],  # many: the list's pages
])
def test_an_address_stored_with_capitals_is_found_and_changed(sandbox, tmp_path, journal,
                                                             values) -> None:
    data = {"lists": [{"name": "Free Members"}],
            "contacts": [{"email": "Ada.Lovelace@Example.ORG", "lists": ["Free Members"]},
                         {"email": "ada.lovelace@example.org.uk", "lists": ["Free Members"]}]}
    client = reset_and_connect(sandbox, data)
    plan = plan_for(client, tmp_path, values)
    assert plan.items[0].outcome == "remove"
    assert plan.snapshot.found["ada.lovelace@example.org"].email == "Ada.Lovelace@Example.ORG"
    result = start_run(plan, client, journal)
    assert result.counts["removed"] == 1
    assert sandbox.members("Free Members") == {"ada.lovelace@example.org.uk"}


def test_deleted_means_a_deleted_at_with_a_value() -> None:
    from ccdesk.cc.models import Contact

    base = {"contact_id": "c1", "email_address": {"address": "a@example.org"}}
    assert not Contact.from_json(base).deleted
    assert not Contact.from_json({**base, "deleted_at": None}).deleted
    assert not Contact.from_json({**base, "deleted_at": ""}).deleted
    assert Contact.from_json({**base, "deleted_at": "2026-12-01"}).deleted


# ---- found in review -----------------------------------------------------------------------------


def test_a_window_looking_at_a_run_never_makes_its_claim_fail(tmp_path) -> None:
    from ccdesk.core.journal import Journal, holder_of

    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        run_id = journal.create_run(file_path="x.csv", file_sha256="0", sheet="", action="remove",
                                    lists=[], account={}, items=[])
        stop = threading.Event()

        def window() -> None:  # asks who holds the run, again and again
            while not stop.is_set():
                holder_of(path, run_id)

        looker = threading.Thread(target=window)
        looker.start()
        refused = 0
        try:
            for _ in range(200):
                try:
                    journal.claim(run_id, "a scheduled job").release()
                except RunBusy:
                    refused += 1
        finally:
            stop.set()
            looker.join()
    assert refused == 0


def test_a_lone_equal_job_made_before_the_sending_is_not_taken_for_ours(sandbox, tmp_path,
                                                                        journal) -> None:
    client = reset_and_connect(sandbox, free_members_account(10))
    plan = plan_for(client, tmp_path, EVERYONE[:10])
    sandbox.add_foreign_activity(10, created_at=sandbox.clock.time() - 5)  # the web app, 5 s ago
    sandbox.faults.add(REMOVE_POST, method="POST", kind="drop")  # ours never arrives
    result = start_run(plan, client, journal)
    assert result.counts == {"removed": 10} and result.verified == 10
    assert len(activities(sandbox)) == 1  # read, then sent once more


class StopDuringGrace(threading.Event):
    """Stop pressed while ccdesk looks for a lost answer's job."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


def test_stop_after_a_lost_answer_does_not_claim_it_was_sent(sandbox, tmp_path, journal) -> None:
    client = reset_and_connect(sandbox, free_members_account(10))
    plan = plan_for(client, tmp_path, EVERYONE[:10])
    sandbox.faults.add(REMOVE_POST, method="POST", kind="drop")
    with pytest.raises(RunCancelled) as stopped:
        start_run(plan, client, journal, cancel=StopDuringGrace())
    assert activities(sandbox) == []
    message = journal.run(stopped.value.run_id).message
    assert message == ("Stopped by you. 10 changes may not have reached Constant Contact "
                       "(resuming finds out).")


def test_an_unfinished_removal_cannot_be_undone(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    sandbox.quota.set_used("ccdesk-sandbox-app", sandbox.clock.time(), 10_000 - 1)
    with pytest.raises(RunPaused) as paused:
        start_run(plan, big, journal)
    with pytest.raises(PlanError, match="not finished"):
        undo_run(paused.value.run_id, big, journal)
    assert sandbox.requests.count("POST", r"/v3/activities/add_list_memberships") == 0
