"""Resume after a crash at each point of a run: the journal and the sandbox must reconcile,
and nothing that reached Constant Contact is sent again.

A crash is simulated in-process: one client operation is wrapped so that the real request
goes out over HTTP (or not, for "before") and then ``Crash`` (a BaseException, like the
process dying) propagates through the runner. The run is then put back in the state a killed
process leaves ("running"), and resumed with a fresh client. ``tests/cli/test_kill_resume.py``
does the same with a real SIGKILL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccdesk.cc.client import ConstantContact
from ccdesk.core.journal import Journal
from ccdesk.core.lookup import Action
from ccdesk.core.plan import Plan, PlanError
from ccdesk.core.runner import resume_run, start_run, undo_run
from tests.cc.conftest import fast_client, reset_and_connect
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

# Every job test runs in both sandbox modes: list changes leave updated_at alone (realistic),
# or touch it (the old, kinder behaviour). ccdesk must not depend on either.
pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("sandbox_mode")]

N = 1200  # three activities: 500 + 500 + 200
EVERYONE = [f"m{i}@example.org" for i in range(N)]


class Crash(BaseException):
    """The process dies here."""


def crash_at(client: ConstantContact, operation: str, nth: int = 1, *, before: bool = False) -> None:
    """Make the ``nth`` call of ``client.<operation>`` crash the run, after its request had its
    effect (or, with ``before``, before the request is sent)."""
    real: Callable[..., Any] = getattr(client, operation)
    seen = 0

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        seen += 1
        if seen == nth and before:
            raise Crash(operation)
        result = real(*args, **kwargs)
        if seen == nth:
            raise Crash(operation)
        return result

    setattr(client, operation, wrapped)


def crashed_run(plan: Plan, client: ConstantContact, journal: Journal) -> str:
    """Start the run, let it crash, and leave the journal as a killed process would."""
    with pytest.raises(Crash):
        start_run(plan, client, journal)
    run_id = journal.runs()[0].run_id
    journal.set_run_state(run_id, "running")
    return run_id


@pytest.fixture
def big(sandbox) -> ConstantContact:
    return reset_and_connect(sandbox, free_members_account(N))


def reconcile(sandbox, journal: Journal, run_id: str, removed: int = N) -> None:
    """The journal and the sandbox say the same, and nobody was sent twice."""
    run = journal.run(run_id)
    assert run.state == "finished"
    items = journal.items(run_id)
    assert all(i.state == "done" and i.result == "removed" and i.verified for i in items)
    assert len(items) == removed
    gone = {i.email for i in items}
    assert not gone & sandbox.members("Free Members")
    sent = assert_no_contact_twice(sandbox)
    assert sorted(sent) == sorted(contact_ids(sandbox, gone))
    # Every activity Constant Contact made is one the journal knows, once.
    journal_activities = [b.activity_id for b in journal.batches(run_id) if b.activity_id]
    assert sorted(journal_activities) == sorted(a.activity_id for a in activities(sandbox))
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == len(activities(sandbox))


@pytest.mark.parametrize("nth", [1, 2, 3])
def test_crash_after_the_post_took_effect(big, sandbox, tmp_path, journal, nth) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    crash_at(big, "start_remove", nth)
    run_id = crashed_run(plan, big, journal)
    assert [b.state for b in journal.batches(run_id)][-1] == "sent"  # the answer never recorded
    assert len(activities(sandbox)) == nth
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"removed": N} and result.verified == N
    assert sandbox.requests.count("POST", REMOVE_POST) == 3  # the lost one was found, not re-sent
    reconcile(sandbox, journal, run_id)
    found = journal.batches(run_id)[nth - 1]
    assert found.activity_id == activities(sandbox)[nth - 1].activity_id


@pytest.mark.parametrize("nth", [1, 3])
def test_crash_before_the_post_went_out(big, sandbox, tmp_path, journal, nth) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    crash_at(big, "start_remove", nth, before=True)
    run_id = crashed_run(plan, big, journal)
    assert journal.batches(run_id)[-1].state == "sent"
    assert len(activities(sandbox)) == nth - 1
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"removed": N}
    assert journal.batches(run_id)[nth - 1].state == "failed"  # known never to have arrived
    assert sandbox.requests.count("POST", REMOVE_POST) == 3
    reconcile(sandbox, journal, run_id)


@pytest.mark.parametrize("where", ["recent_activities", "iter_members"])
def test_crash_while_waiting_or_checking(big, sandbox, tmp_path, journal, where) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    crash_at(big, where, before=True)
    run_id = crashed_run(plan, big, journal)
    assert {b.state for b in journal.batches(run_id)} <= {"started", "finished"}
    assert journal.item_counts(run_id) == {"sent": N}
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"removed": N}
    assert sandbox.requests.count("POST", REMOVE_POST) == 3
    reconcile(sandbox, journal, run_id)


def test_resume_after_constant_contact_forgot_the_activities(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE)
    crash_at(big, "recent_activities", before=True)
    run_id = crashed_run(plan, big, journal)
    sandbox.clock.advance(11 * 86400)  # activities are kept 10 days
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"removed": N}  # the re-read shows what the jobs did
    assert sandbox.requests.count("POST", REMOVE_POST) == 3
    assert sandbox.requests.count("GET", r"/v3/activities/", status=404) >= 1
    reconcile(sandbox, journal, run_id)


def test_resume_of_a_finished_run_changes_and_asks_nothing(big, sandbox, tmp_path, journal) -> None:
    result = start_run(plan_for(big, tmp_path, EVERYONE[:10]), big, journal)
    sandbox.requests.clear()
    again = resume_run(result.run_id, big, journal)
    assert again.counts == result.counts == {"removed": 10}
    assert sandbox.requests.api_calls() == 0


def test_resume_refuses_another_account(big, sandbox, tmp_path, journal) -> None:
    plan = plan_for(big, tmp_path, EVERYONE[:10])
    crash_at(big, "start_remove")
    run_id = crashed_run(plan, big, journal)
    other = reset_and_connect(sandbox, free_members_account(10) | {"account": {
        "organization_name": "Another Choir", "encoded_account_id": "a0b1c2d3e4f5"}})
    with pytest.raises(PlanError, match="another Constant Contact account"):
        resume_run(run_id, other, journal)
    assert sandbox.requests.count("POST") == 0


def test_crash_after_a_put_is_not_put_again(cc, sandbox, tmp_path, journal) -> None:
    values = ["ada@example.org", "ben@example.org", "eve@example.org", "hal@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.UNSUBSCRIBE)
    crash_at(cc, "unsubscribe", 2)
    run_id = crashed_run(plan, cc, journal)
    assert journal.item_counts(run_id) == {"done": 1, "sent": 1, "planned": 2}
    assert sandbox.requests.count("PUT") == 2
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"unsubscribed": 4} and result.verified == 4
    assert_counts_add_up(result.counts, plan)
    assert sandbox.requests.count("PUT") == 4  # ben's opt-out was checked, not sent again
    for email in values:
        assert sandbox.contact(email)["email_address"]["permission_to_send"] == "unsubscribed"
    assert {b.state for b in journal.batches(run_id)} == {"finished"}


def test_crash_before_a_put_went_out(cc, sandbox, tmp_path, journal) -> None:
    values = ["ada@example.org", "ben@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.UNSUBSCRIBE)
    crash_at(cc, "unsubscribe", 2, before=True)
    run_id = crashed_run(plan, cc, journal)
    result = resume_run(run_id, fast_client(sandbox), journal)
    assert result.counts == {"unsubscribed": 2}
    assert sandbox.requests.count("PUT") == 2


def test_crash_of_an_undo_after_its_post(cc, sandbox, tmp_path, journal) -> None:
    run = start_run(plan_for(cc, tmp_path, ["ada@example.org", "eve@example.org"]), cc, journal)
    crash_at(cc, "start_add")
    with pytest.raises(Crash):
        undo_run(run.run_id, cc, journal)
    undo_id = journal.runs()[0].run_id
    assert journal.run(undo_id).undo_of == run.run_id
    result = resume_run(undo_id, fast_client(sandbox), journal)
    assert result.counts == {"re-added": 2}
    assert sandbox.requests.count("POST", ADD_POST) == 1
    assert {"ada@example.org", "eve@example.org"} <= sandbox.members("Free Members")
