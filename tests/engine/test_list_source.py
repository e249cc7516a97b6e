"""A Constant Contact list as the source (issue 16), in-process and through the job process,
against the test sandbox over real HTTP: the look-up is the source list's pages, every member
gets one outcome, the run removes exactly the contact ids the preview showed (whatever the
source list holds by then), undo puts them back, the log names the list."""

from __future__ import annotations

import time

import pytest
from openpyxl import load_workbook

from ccdesk import engine
from ccdesk.core.journal import Journal
from ccdesk.core.lookup import Action, Strategy
from ccdesk.core.plan import PlanError
from ccdesk.engine.wire import PreviewInfo, plan_from_json, plan_to_json
from tests.engine.conftest import request

pytestmark = pytest.mark.timeout(60)

# The small account: Sustainers holds fay (also on Free Members) and gus (Sustainers only).


def put_on(sandbox, api, emails: list[str], list_name: str, *, remove: bool = False) -> None:
    """Change list memberships the way another user of the account would (the bulk API), and
    wait until the change is done."""
    ids = [sandbox.contact(e)["contact_id"] for e in emails]
    kind = "remove_list_memberships" if remove else "add_list_memberships"
    answer = api.post(f"{api.base}/activities/{kind}",
                      json={"source": {"contact_ids": ids}, "list_ids": [sandbox.list_id(list_name)]})
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 10
    while (set(emails) <= sandbox.members(list_name)) == remove:
        assert time.monotonic() < deadline, "the sandbox did not finish the change"
        time.sleep(0.02)


def test_the_look_up_is_the_source_list_pages(session, sandbox, api) -> None:
    # More members on Sustainers: some on Free Members, one unsubscribed, one on no other list.
    put_on(sandbox, api, ["ada@example.org", "ben@example.org", "ivy@example.org",
                          "hal@example.org"], "Sustainers")
    sandbox.requests.clear()
    plan = engine.preview_list(session, "sustainers", Action.REMOVE, ["Free Members"])
    by_email = {i.email: i for i in plan.items}
    assert [i.row for i in plan.items] == list(range(1, 7))  # members in the order read
    assert set(by_email) == {"ada@example.org", "ben@example.org", "fay@example.org",
                             "gus@example.org", "hal@example.org", "ivy@example.org"}
    assert {e for e, i in by_email.items() if i.outcome == "remove"} == {
        "ada@example.org", "ben@example.org", "fay@example.org"}
    assert by_email["gus@example.org"].outcome == "skip_not_on_list"
    assert by_email["gus@example.org"].reason == "Not on Free Members"
    assert by_email["hal@example.org"].outcome == "skip_not_on_list"
    assert by_email["ivy@example.org"].outcome == "skip_unsubscribed"
    # account, privileges, lists, and one page of Sustainers: no look-up one by one.
    assert sandbox.requests.api_calls() == 4 == plan.cost.lookup_spent
    [page] = [r for r in sandbox.requests.records() if r.path == "/v3/contacts"]
    assert "lists=" in page.query and "list_memberships" in page.query and "limit=500" in page.query
    assert plan.snapshot.strategy is Strategy.BY_SOURCE_LIST and plan.snapshot.pages == 1
    assert plan.cost.lookup.explanation == "1 page of the 6 members of Sustainers"
    data = plan.to_dict()
    assert data["source_list"] == "Sustainers" and data["file"] is None
    assert data["counts"] == {"remove": 3, "skip_not_on_list": 2, "skip_unsubscribed": 1}
    assert data["cost"]["lookup_strategy"] == "by_source_list"
    # The header goes over the wire with its source.
    again = plan_from_json(plan_to_json(plan))
    assert again.sheet.source_list == plan.sheet.source_list and again.sheet.from_list


def test_every_action_costs_only_the_pages(session, sandbox) -> None:
    for action in (Action.REMOVE_ALL, Action.UNSUBSCRIBE):
        sandbox.requests.clear()
        plan = engine.preview_list(session, "Sustainers", action, [])
        assert sandbox.requests.api_calls() == 4, action
        assert plan.counts == {"remove" if action is Action.REMOVE_ALL else "unsubscribe": 2}


def test_source_and_target_the_same_list_or_unknown_is_refused(session) -> None:
    with pytest.raises(PlanError, match="both the source"):
        engine.preview_list(session, "Free Members", Action.REMOVE, ["Free Members"])
    with pytest.raises(PlanError, match="no list called “Paying”"):
        engine.preview_list(session, "Paying", Action.REMOVE, ["Free Members"])


def test_the_run_removes_exactly_what_the_preview_showed(session, sandbox, api,
                                                          journal_path, tmp_path) -> None:
    put_on(sandbox, api, ["ada@example.org"], "Sustainers")
    plan = engine.preview_list(session, "Sustainers", Action.REMOVE, ["Free Members"])
    previewed = {i.contact_id for i in plan.changes}
    assert previewed == {sandbox.contact(e)["contact_id"] for e in ("ada@example.org",
                                                                    "fay@example.org")}
    run_id = engine.record(session, plan)
    # Between the preview and the run, the source list changes: ben joins, fay leaves.
    put_on(sandbox, api, ["ben@example.org"], "Sustainers")
    put_on(sandbox, api, ["fay@example.org"], "Sustainers", remove=True)
    result = engine.start(session, run_id)
    assert result.state == "finished" and result.counts == {"removed": 2, "skip_not_on_list": 1}
    free = sandbox.members("Free Members")
    assert "ada@example.org" not in free and "fay@example.org" not in free
    assert "ben@example.org" in free  # joined Sustainers after the preview: not touched
    free_id = sandbox.list_id("Free Members")
    sent = [cid for a in _activities(sandbox) if free_id in a.list_ids for cid in a.contact_ids]
    assert sorted(sent) == sorted(previewed)

    with Journal(journal_path) as journal:
        run = journal.run(run_id)
        assert run.file_path == "" and run.options["source_list"]["name"] == "Sustainers"
    # The log names the source list.
    log = engine.export(session, run_id, tmp_path / "log.xlsx")
    summary = dict((a, b) for a, b, *_ in load_workbook(log)["Summary"].iter_rows(values_only=True))
    assert summary["Source"].startswith("The members of Sustainers")
    assert "Spreadsheet" not in summary and summary["Members of the list"] == 3

    undone = engine.undo(session, run_id)
    assert undone.state == "finished" and undone.counts == {"re-added": 2}
    assert {"ada@example.org", "fay@example.org"} <= sandbox.members("Free Members")
    with Journal(journal_path) as journal:
        assert journal.run(undone.run_id).options["source_list"]["name"] == "Sustainers"


def test_a_list_source_preview_is_only_stale_by_age(session, monkeypatch) -> None:
    from ccdesk.core import plan as plan_module

    plan = engine.preview_list(session, "Sustainers", Action.REMOVE, ["Free Members"])
    assert not plan.is_stale()
    run_id = engine.record(session, plan)
    monkeypatch.setattr(plan_module, "STALE_AFTER", -1.0)
    from ccdesk.core import runner

    monkeypatch.setattr(runner, "STALE_AFTER", -1.0)
    with pytest.raises(PlanError, match="out of date"):
        engine.start(session, run_id)


def test_try_the_failed_ones_again(session, sandbox, api, journal_path) -> None:
    put_on(sandbox, api, ["ada@example.org", "ben@example.org"], "Sustainers")
    plan = engine.preview_list(session, "Sustainers", Action.REMOVE, ["Free Members"])
    run_id = engine.record(session, plan)
    with Journal(journal_path) as journal:
        rows = [i.row for i in journal.items(run_id) if i.email == "ben@example.org"]
        journal.finish_items(run_id, rows, state="failed", result="failed")
    again = engine.preview_list(session, "Sustainers", Action.REMOVE, ["Free Members"],
                                only_failed_of=run_id)
    assert [(i.row, i.email, i.outcome) for i in again.items] == [
        (rows[0], "ben@example.org", "remove")]


def test_the_job_process_previews_a_list(jobs, url, journal_path) -> None:
    job = {"preview": {"source_list": "Sustainers", "action": "remove",
                       "lists": ["Free Members"], "only_failed_of": None}}
    code, events = jobs(request(url, journal_path, job)).finish()
    assert code == 0, events
    info = PreviewInfo.from_json(events[-1]["preview"])
    assert info.plan.sheet.from_list and info.plan.sheet.sheet == "Sustainers"
    assert info.counts == {"remove": 1, "skip_not_on_list": 1}
    code, events = jobs(request(url, journal_path, {"start": {"run_id": info.run_id}})).finish()
    assert code == 0, events
    assert events[-1]["result"]["counts"] == {"removed": 1, "skip_not_on_list": 1}


def _activities(sandbox) -> list:
    with sandbox.state.lock:
        return [sandbox.state.activities[i] for i in sandbox.state.activity_order
                if sandbox.state.activities[i].kind == "remove_list_memberships"
                and not sandbox.state.activities[i].foreign]
