"""The job process (``python -m ccdesk job``) as the window uses it: one request on standard
input, events on standard output, the journal as the shared truth. Real subprocesses, the test
sandbox over real HTTP."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import sys
import time
from pathlib import Path

import pytest

from ccdesk.core.plan import STALE_AFTER
from ccdesk.engine import child
from ccdesk.engine.wire import (
    JobFailed,
    JobResult,
    PreviewInfo,
    ReadProgress,
    RunProgressEvent,
    RunTaken,
    SheetInfo,
    parse_event,
)
from tests.core.conftest import write_sheet
from tests.engine.conftest import (
    ADD_POST,
    REMOVABLE,
    REMOVE_POST,
    VALUES,
    journal_at,
    preview_of,
    request,
    run_job,
    wait_for,
)

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and modes")]


def test_command_is_this_executable(monkeypatch) -> None:
    assert child.command() == [sys.executable, "-m", "ccdesk", "job"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert child.command() == [sys.executable, "job"]


def test_job_is_not_in_the_help() -> None:
    from ccdesk.cli.main import build_parser

    assert " job" not in build_parser().format_help()


# ---- read -----------------------------------------------------------------------------------


def test_read_writes_every_row_into_a_private_rows_file(jobs, url, journal_path, sheet, tmp_path) -> None:
    rows_to = tmp_path / "rows" / "sheet.sqlite3"
    code, events = run_job(jobs, url, journal_path, {"read": {
        "path": str(sheet), "options": {"column": "Email"}, "rows_to": str(rows_to)}})
    assert code == 0, events
    *progress, end = events
    assert progress and all(e["type"] == "progress" and set(e) == {"type", "stage", "fraction"}
                            for e in progress)
    assert all(isinstance(parse_event(e), ReadProgress) for e in progress)
    assert end["type"] == "result" and "rows" not in end["sheet"]
    info = parse_event(end)
    assert isinstance(info, JobResult) and isinstance(info.sheet, SheetInfo)
    read = info.sheet.sheet
    assert read.path == str(sheet) and read.email_column == "Email" and len(read.rows) == 0
    assert info.sheet.row_count == len(VALUES) and read.counts["valid"] == 6
    assert read.options.column == "Email" and read.preview_rows[0].cells[:2] == ["Name", "Email"]

    assert stat.S_IMODE(rows_to.stat().st_mode) == 0o600
    assert stat.S_IMODE(rows_to.parent.stat().st_mode) == 0o700
    db = sqlite3.connect(rows_to)
    try:
        rows = db.execute("SELECT run_id, row, email, value, outcome, reason, state, result,"
                          " verified, cc_message FROM items ORDER BY row").fetchall()
        columns = [r[1] for r in db.execute("PRAGMA table_info(items)")]
    finally:
        db.close()
    journal_db = sqlite3.connect(":memory:")
    from ccdesk.core.journal import ITEMS_TABLE

    journal_db.executescript(ITEMS_TABLE)
    assert columns == [r[1] for r in journal_db.execute("PRAGMA table_info(items)")]
    assert len(rows) == len(VALUES)
    assert rows[0] == ("sheet", 2, "ada@example.org", "ada@example.org", "valid", "", "", "", 0, "")
    assert [r[4] for r in rows[-2:]] == ["invalid", "blank"]
    assert {r[0] for r in rows} == {"sheet"}


def test_read_of_a_bad_file_ends_with_an_error(jobs, url, journal_path, tmp_path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is no spreadsheet")
    code, events = run_job(jobs, url, journal_path, {"read": {"path": str(bad), "rows_to":
                                                              str(tmp_path / "r.sqlite3")}})
    assert code == child.EXIT_FAILED
    error = parse_event(events[-1])
    assert isinstance(error, JobFailed) and error.kind == "failed" and error.title
    assert error.what_to_do and error.run_id is None
    code, events = run_job(jobs, url, journal_path, {"read": {"path": str(tmp_path / "none.csv")}})
    assert code == child.EXIT_FAILED and events[-1]["error"] == "SheetError"
    code, events = run_job(jobs, url, journal_path, {"nonsense": {}})
    assert code == child.EXIT_FAILED and events[-1]["error"] == "ConfigError"


# ---- preview ------------------------------------------------------------------------------------


def test_preview_records_a_ready_run_the_runs_do_not_list(jobs, url, journal_path, sheet) -> None:
    end = preview_of(jobs, url, journal_path, sheet)
    info = parse_event(end).preview  # type: ignore[union-attr]
    assert isinstance(info, PreviewInfo) and info.run_id == end["run_id"]
    assert info.counts == {"remove": 4, "skip_not_on_list": 1, "skip_unsubscribed": 1,
                           "invalid": 1, "blank": 1}
    assert info.changes == 4 and info.refusal is None
    assert info.summary.startswith("4 will be removed from Free Members")
    assert info.plan.items == [] and len(info.plan.sheet.rows) == 0
    assert [x.name for x in info.plan.lists] == ["Free Members"]
    assert info.plan.account.organization_name == "Test Choir"
    with journal_at(journal_path) as journal:
        run = journal.run(info.run_id)
        assert run.state == "ready" and not run.unfinished
        assert abs(run.created_at - info.plan.created_at) < 1e-3
        assert journal.runs() == [] and journal.unfinished_runs() == []
        assert len(journal.items(info.run_id)) == len(VALUES)
        assert run.options["refusal"] is None and run.predicted_calls == info.plan.cost.run_total


def test_preview_of_a_sheet_changed_since_it_was_read_is_refused(jobs, url, journal_path,
                                                                 sheet) -> None:
    job = {"path": str(sheet), "options": {}, "sha256": "0" * 64, "action": "remove",
           "lists": ["Free Members"], "only_failed_of": None}
    code, events = run_job(jobs, url, journal_path, {"preview": job})
    assert code == child.EXIT_FAILED
    assert events[-1]["title"] == "The spreadsheet changed since you opened it"
    assert events[-1]["what_to_do"] == "Open it again." and events[-1]["error"] == "PlanError"


# ---- start, stop, resume ------------------------------------------------------------------------


def run_events(events: list[dict]) -> tuple[list[RunTaken], list[RunProgressEvent]]:
    parsed = [parse_event(e) for e in events]
    return ([e for e in parsed if isinstance(e, RunTaken)],
            [e for e in parsed if isinstance(e, RunProgressEvent)])


def test_start_carries_out_the_preview_once(jobs, url, sandbox, journal_path, sheet) -> None:
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    code, events = run_job(jobs, url, journal_path, {"start": {"run_id": run_id}})
    assert code == 0, events
    taken, progress = run_events(events)
    assert [t.run_id for t in taken] == [run_id] and events[0]["type"] == "run"
    assert progress and progress[-1].phase == "finished"
    assert all(p.run_id == run_id for p in progress)
    result = parse_event(events[-1]).result  # type: ignore[union-attr]
    assert result is not None and result.state == "finished" and result.run_id == run_id
    assert sum(result.counts.values()) == len(VALUES)
    assert result.counts["removed"] == len(REMOVABLE) == result.verified
    assert not set(REMOVABLE) & sandbox.members("Free Members")
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == 1
    with journal_at(journal_path) as journal:
        assert [r.run_id for r in journal.runs()] == [run_id]
        assert journal.owner(run_id).program == "the test window"  # type: ignore[union-attr]
    # Started again: refused, nothing sent twice.
    code, events = run_job(jobs, url, journal_path, {"start": {"run_id": run_id}})
    assert code == child.EXIT_FAILED and events[-1]["title"] == "This run has already started"
    assert events[-1]["run_id"] == run_id
    assert sandbox.requests.count("POST", REMOVE_POST) == 1


def test_a_stale_or_changed_preview_is_not_started(jobs, url, sandbox, journal_path, sheet) -> None:
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    with journal_at(journal_path) as journal, journal._tx() as db:
        db.execute("UPDATE runs SET created_at = created_at - ? WHERE run_id = ?",
                   (STALE_AFTER + 1, run_id))
    code, events = run_job(jobs, url, journal_path, {"start": {"run_id": run_id}})
    assert code == child.EXIT_FAILED and events[-1]["title"] == "The preview is out of date"
    assert not [e for e in events if e["type"] == "run"]

    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    write_sheet(sheet, [*VALUES, "fay@example.org"])
    code, events = run_job(jobs, url, journal_path, {"start": {"run_id": run_id}})
    assert code == child.EXIT_FAILED and events[-1]["title"] == "The preview is out of date"
    with journal_at(journal_path) as journal:
        assert journal.run(run_id).state == "ready" and journal.runs() == []
    assert sandbox.requests.count("POST", REMOVE_POST) == 0


def slow_activities(sandbox) -> None:
    """Constant Contact's jobs take a minute: a run waits for them (until the clock moves)."""
    sandbox.config.activity_min_seconds = 60.0


def test_a_stop_request_stops_the_run_then_resume_finishes(jobs, url, sandbox, journal_path,
                                                            sheet) -> None:
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    slow_activities(sandbox)
    job = jobs(request(url, journal_path, {"start": {"run_id": run_id}}))
    job.until(lambda e: e.get("phase") == "waiting", "the run waits for Constant Contact")
    asked = time.monotonic()
    with journal_at(journal_path) as journal:
        journal.request_stop(run_id)
    code, events = job.finish()
    assert time.monotonic() - asked < 2.0  # about a second, even while it waits
    assert code == child.EXIT_STOPPED
    error = parse_event(events[-1])
    assert isinstance(error, JobFailed) and error.kind == "cancelled" and error.run_id == run_id
    with journal_at(journal_path) as journal:
        assert journal.run(run_id).state == "cancelled"
        assert journal.stop_requested(run_id)  # until the run is taken on again: the resume

    sandbox.clock.advance(120)  # Constant Contact's job ends
    code, events = run_job(jobs, url, journal_path, {"resume": {"run_id": run_id}})
    assert code == 0, events
    result = parse_event(events[-1]).result  # type: ignore[union-attr]
    assert result.state == "finished" and result.counts["removed"] == len(REMOVABLE)  # type: ignore[union-attr]
    assert sandbox.requests.count("POST", REMOVE_POST) == 1  # nothing sent twice


def test_a_killed_job_is_resumed_by_another(jobs, url, sandbox, journal_path, sheet) -> None:
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    slow_activities(sandbox)
    job = jobs(request(url, journal_path, {"start": {"run_id": run_id}}))
    job.until(lambda e: e.get("phase") == "waiting", "the run waits for Constant Contact")
    os.kill(job.proc.pid, signal.SIGKILL)
    assert job.proc.wait(timeout=10) == -signal.SIGKILL
    with journal_at(journal_path) as journal:
        assert journal.run(run_id).state == "running" and journal.holder(run_id) is None

    sandbox.clock.advance(120)
    code, events = run_job(jobs, url, journal_path, {"resume": {"run_id": run_id}})
    assert code == 0, events
    result = parse_event(events[-1]).result  # type: ignore[union-attr]
    assert result.state == "finished" and sum(result.counts.values()) == len(VALUES)  # type: ignore[union-attr]
    assert result.counts["removed"] == len(REMOVABLE) == result.verified  # type: ignore[union-attr]
    assert sandbox.requests.count("POST", REMOVE_POST) == 1


def test_the_run_goes_on_when_the_window_goes_away(jobs, url, sandbox, journal_path, sheet) -> None:
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    sandbox.config.activity_min_seconds = 1.0
    job = jobs(request(url, journal_path, {"start": {"run_id": run_id}}), close_stdin=False)
    job.until(lambda e: e["type"] == "run", "the run is taken on")
    job.proc.stdin.close()  # type: ignore[union-attr]
    job.proc.stdout.close()  # type: ignore[union-attr]  (nobody reads its events any more)
    for sig in (signal.SIGHUP, signal.SIGINT):  # the window's terminal hung up, Ctrl+C in it
        os.kill(job.proc.pid, sig)
    assert job.proc.wait(timeout=60) == 0
    with journal_at(journal_path) as journal:
        assert journal.run(run_id).state == "finished"
        assert journal.result_counts(run_id)["removed"] == len(REMOVABLE)


def test_the_undo_run_is_stoppable(jobs, url, sandbox, journal_path, sheet) -> None:
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    code, events = run_job(jobs, url, journal_path, {"start": {"run_id": run_id}})
    assert code == 0, events
    slow_activities(sandbox)
    job = jobs(request(url, journal_path, {"undo": {"run_id": run_id}}))
    taken = job.until(lambda e: e["type"] == "run", "the undo run is recorded")
    undo_id = taken["run_id"]
    assert undo_id != run_id
    job.until(lambda e: e.get("phase") == "waiting", "the undo waits for Constant Contact")
    with journal_at(journal_path) as journal:
        journal.request_stop(undo_id)
    code, events = job.finish()
    assert code == child.EXIT_STOPPED
    assert events[-1]["kind"] == "cancelled" and events[-1]["run_id"] == undo_id
    assert sandbox.requests.count("POST", ADD_POST) == 1


# ---- the command line watches stop requests too ---------------------------------------------


def test_a_command_line_run_is_stopped_by_a_request(url, sandbox, sheet, tmp_path) -> None:
    import json
    import subprocess

    slow_activities(sandbox)
    proc = subprocess.Popen([sys.executable, "-m", "ccdesk", "run", str(sheet), "--list",
                             "Free Members", "--sandbox-url", url, "--yes", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        journal_path = Path(os.environ["CCDESK_HOME"]) / "data" / "sandbox" / "journal.sqlite3"
        wait_for(lambda: sandbox.requests.count("POST", REMOVE_POST) >= 1 and journal_path.exists(),
                 "the run's batch")
        with journal_at(journal_path) as journal:
            [run] = journal.runs()
            time.sleep(0.2)
            asked = time.monotonic()
            journal.request_stop(run.run_id)
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - asked < 2.5
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err
    assert json.loads(out)["state"] == "cancelled" and "stopped" in err.lower()


def test_read_of_a_file_without_an_email_column_offers_its_layout(jobs, url, journal_path,
                                                                   tmp_path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("Member,Reach them at\nAda,ada (at) example.org\nAlan,alan at example.org\n",
                   encoding="utf-8")
    code, events = run_job(jobs, url, journal_path, {"read": {
        "path": str(odd), "rows_to": str(tmp_path / "r.sqlite3")}})
    assert code == child.EXIT_FAILED and events[-1]["error"] == "NoEmailColumnError"
    choices = events[-1]["choices"]
    assert choices["path"] == str(odd) and choices["header_row"] == 1
    assert choices["columns"] == [["A", "Member"], ["B", "Reach them at"]]
    assert choices["preview_rows"][1] == [2, ["Ada", "ada (at) example.org"]]
