"""Ready runs (previews recorded in the journal), stop requests, sheet rows files and the wire
shapes, in-process against the test sandbox."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from ccdesk import engine
from ccdesk.core.journal import Journal, write_sheet_rows
from ccdesk.core.lookup import Action, Check, Strategy
from ccdesk.core.plan import PlanError
from ccdesk.core.runner import RunCancelled
from ccdesk.engine.session import Session
from ccdesk.engine.wire import (
    PreviewInfo,
    Refusal,
    SheetInfo,
    options_from_json,
    parse_event,
    plan_from_json,
    plan_to_json,
    sheet_from_json,
    sheet_to_json,
)
from tests.core.conftest import ONLY_SUSTAINERS, write_sheet
from tests.engine.conftest import REMOVABLE, VALUES

pytestmark = pytest.mark.timeout(60)


def plan_of(session: Session, sheet: Path):
    return engine.preview(session, engine.read(sheet), Action.REMOVE, ["Free Members"])


def test_record_then_start_is_a_run(session, sheet, sandbox) -> None:
    plan = plan_of(session, sheet)
    run_id = engine.record(session, plan)
    assert engine.runs(session) == []
    taken: list[str] = []
    result = engine.start(session, run_id, on_run=taken.append)
    assert taken == [run_id] and result.state == "finished"
    assert result.counts["removed"] == len(REMOVABLE)
    assert [r.run_id for r in engine.runs(session)] == [run_id]
    with pytest.raises(PlanError, match="already started"):
        engine.start(session, run_id)
    with pytest.raises(PlanError, match="Only a preview"):
        engine.discard(session, run_id)


def test_discard_and_prune(session, sheet, journal_path) -> None:
    plan = plan_of(session, sheet)
    first, second = engine.record(session, plan), engine.record(session, plan)
    engine.discard(session, first)
    with Journal(journal_path) as journal:
        with pytest.raises(KeyError):
            journal.run(first)
        assert journal.items(first) == []
        assert journal.prune_ready(60) == 0
        with journal._tx() as db:
            db.execute("UPDATE runs SET created_at = created_at - 120 WHERE run_id = ?", (second,))
        assert journal.prune_ready(60) == 1
        with pytest.raises(KeyError):
            journal.run(second)
    with pytest.raises(PlanError, match="no run"):
        engine.discard(session, first)
    with pytest.raises(PlanError, match="no run"):
        engine.start(session, first)


def test_a_refused_preview_is_recorded_with_its_refusal(session, sheet, journal_path) -> None:
    plan = plan_of(session, sheet)
    plan.may_change = False
    run_id = engine.record(session, plan)
    info = PreviewInfo.of(run_id, plan)
    assert info.refusal == Refusal(plan.refusal().title, plan.refusal().what_to_do)  # type: ignore[union-attr]
    assert PreviewInfo.from_json(json.loads(json.dumps(info.to_json()))).refusal == info.refusal
    with pytest.raises(PlanError, match="may not change contacts"):
        engine.start(session, run_id)
    with Journal(journal_path) as journal:
        assert journal.run(run_id).state == "ready"


def test_a_run_that_no_longer_fits_the_allowance_is_refused(session, sheet, sandbox) -> None:
    plan = plan_of(session, sheet)
    run_id = engine.record(session, plan)
    client = session.client()
    left = client.quota_left()
    client.transport.usage.count(client.transport.client_id, left - 1)  # type: ignore[attr-defined]
    with pytest.raises(PlanError, match="allowance"):
        engine.start(session, run_id)


def test_a_stop_request_stops_a_run_in_this_process(session, sheet, sandbox) -> None:
    sandbox.config.activity_min_seconds = 60.0
    plan = plan_of(session, sheet)
    run_id = engine.record(session, plan)
    stopper = threading.Timer(0.5, engine.request_stop, (session, run_id))
    stopper.start()
    began = time.monotonic()
    with pytest.raises(RunCancelled):
        engine.start(session, run_id)
    assert time.monotonic() - began < 3
    assert engine.status(session, run_id).run.state == "cancelled"


def test_only_failed_keeps_the_valid_rows_that_failed(session, sheet, journal_path) -> None:
    plan = plan_of(session, sheet)
    run_id = engine.record(session, plan)
    with Journal(journal_path) as journal:
        rows = [i.row for i in journal.items(run_id) if i.email in ("ada@example.org",
                                                                    "eve@example.org")]
        journal.finish_items(run_id, rows, state="failed", result="failed")
    assert engine.failed_addresses(session, run_id) == {"ada@example.org", "eve@example.org"}
    kept = engine.only_failed(session, engine.read(sheet), run_id)
    assert kept.addresses == ["ada@example.org", "eve@example.org"]
    assert kept.counts["valid"] == 2 and kept.counts["invalid"] == 0


# ---- the journal ------------------------------------------------------------------------------


def test_stop_requests_are_cleared_by_a_claim(tmp_path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        run_id = journal.create_run(file_path="x", file_sha256="", sheet="", action="remove",
                                    lists=[], account={}, items=[], state="ready")
        assert journal.runs() == [] and not journal.run(run_id).unfinished
        assert not journal.stop_requested(run_id)
        journal.request_stop(run_id)
        assert journal.stop_requested(run_id)
        with Journal(tmp_path / "j.sqlite3") as other:
            assert other.stop_requested(run_id)
        with journal.claim(run_id, "test"):
            assert not journal.stop_requested(run_id)


def test_write_sheet_rows_replaces_an_old_file(tmp_path) -> None:
    sheet = engine.read(write_sheet(tmp_path / "m.csv", VALUES))
    path = tmp_path / "rows.sqlite3"
    write_sheet_rows(path, sheet.rows)
    write_sheet_rows(path, sheet.rows[:2])
    with Journal(path) as journal:  # the journal's own reading of items works on it
        items = journal.items("sheet")
    assert [i.row for i in items] == [2, 3] and items[0].email == "ada@example.org"
    assert items[0].state == "" and items[0].list_ids == [] and not items[0].verified


# ---- the wire -----------------------------------------------------------------------------------


def test_a_sheet_goes_over_the_wire_without_its_rows(tmp_path) -> None:
    path = write_sheet(tmp_path / "m.csv", VALUES, membership=["Sustainer", "Free"] * 4)
    sheet = engine.read(path, ONLY_SUSTAINERS)
    data = json.loads(json.dumps(sheet_to_json(sheet)))
    back = sheet_from_json(data)
    for name in ("path", "format", "sha256", "size", "sheet_names", "sheet", "header_row",
                 "email_column", "email_column_letter", "columns", "preview_rows", "counts",
                 "options", "filter_column", "filter_values", "hidden_sheets", "encoding",
                 "delimiter", "found_by", "warnings"):
        assert getattr(back, name) == getattr(sheet, name), name
    assert len(back.rows) == 0 and back.addresses == [] and back.row(2) is None
    assert back.filter_values == ("Sustainer",)
    info = SheetInfo.of(sheet)
    assert SheetInfo.from_json(info.to_json()) == info and info.row_count == len(VALUES)
    assert options_from_json(sheet.options.to_dict()) == sheet.options
    assert options_from_json(None) == options_from_json({})


def test_a_plan_header_round_trips(session, sheet) -> None:
    plan = plan_of(session, sheet)
    back = plan_from_json(json.loads(json.dumps(plan_to_json(plan))))
    assert back.items == [] and len(back.sheet.rows) == 0
    assert back.action is Action.REMOVE and back.lists == plan.lists
    assert back.account == plan.account and back.cost == plan.cost
    assert isinstance(back.cost.check, Check) and isinstance(back.cost.lookup.strategy, Strategy)
    assert back.snapshot.strategy is plan.snapshot.strategy and back.snapshot.found == {}
    assert back.snapshot.calls == plan.snapshot.calls
    assert back.created_at == plan.created_at and back.all_list_names == plan.all_list_names
    assert back.may_change is plan.may_change and back.list_names == plan.list_names
    assert same_header(back, plan)
    info = PreviewInfo.of("r1", plan)
    again = PreviewInfo.from_json(json.loads(json.dumps(info.to_json())))
    assert again.run_id == "r1" and again.counts == plan.counts and again.changes == 4
    assert again.summary == plan.summary() and again.refusal is None
    assert same_header(again.plan, plan)


def same_header(one, other) -> bool:
    """The same plan header, but for the number of rows (a sheet on the wire has none)."""
    a, b = plan_to_json(one), plan_to_json(other)
    a["sheet"].pop("row_count")
    b["sheet"].pop("row_count")
    return a == b


def test_events_parse_into_types() -> None:
    from ccdesk.core.phases import Phase
    from ccdesk.engine.wire import JobFailed, PreviewProgress, RunProgressEvent, RunTaken

    assert parse_event('{"type": "progress", "phase": "looking_up", "done": 1, "total": 2}') \
        == PreviewProgress(Phase.LOOKING_UP, 1, 2)
    assert parse_event({"type": "run", "run_id": "r"}) == RunTaken("r")
    event = parse_event({"type": "progress", "run_id": "r", "phase": "sending", "done": 1,
                         "total": 2, "eta": None, "counts": {"planned": 1}})
    assert event == RunProgressEvent("r", Phase.SENDING, 1, 2, None, {"planned": 1})
    failed = parse_event({"type": "error", "kind": "busy", "error": "RunBusy", "title": "t",
                          "what_to_do": "w", "details": "", "run_id": "r"})
    assert failed == JobFailed("busy", "RunBusy", "t", "w", "", "r")
    result = parse_event({"type": "result", "result": {"run_id": "r", "state": "finished",
                                                       "counts": {}, "verified": 0,
                                                       "api_calls": 3, "message": ""}})
    assert result.result.api_calls == 3  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        parse_event('{"type": "other"}')
