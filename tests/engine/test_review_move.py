"""Review of move (issue 16): the engine side and the log, against the test sandbox over real
HTTP."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ccdesk import engine
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase

pytestmark = pytest.mark.timeout(30)


def _log(session, run_id: str, path: Path) -> dict[str, dict[str, str]]:
    out = engine.export(session, run_id, path, "csv")
    with open(out, newline="", encoding="utf-8-sig") as handle:
        return {r["Email"]: r for r in csv.DictReader(handle)}


def _move_with_one_removal_failed(session, sandbox, sheet: Path):
    """ada is put on Sustainers, then her removal from Free Members fails."""
    plan = engine.preview(session, engine.read(sheet), Action.MOVE, ["Free Members"],
                          to="Sustainers")

    def fail_the_removal_for_one(event) -> None:
        if event.phase is Phase.CHECKED and event.counts.get("added"):
            sandbox.faults.activity("errors", errors=1)

    return engine.run(session, plan, progress=fail_the_removal_for_one)


def test_the_undo_of_a_move_names_the_lists_as_they_are_spelt(session, sandbox,
                                                               move_sheet) -> None:
    """The undo's reasons (shown in the window and the log) kept the lists' own spelling:
    str.capitalize() made them "Back on free members and off sustainers"."""
    result = _move_with_one_removal_failed(session, sandbox, move_sheet)
    undo = engine.undo(session, result.run_id)
    with session.journal() as journal:
        reasons = {i.email: i.reason for i in journal.items(undo.run_id)}
    assert reasons["ben@example.org"] == "Back on Free Members and off Sustainers"
    assert reasons["fay@example.org"] == "Back on Free Members"
    assert reasons["ada@example.org"] == "Off Sustainers"


def test_the_log_of_the_undo_of_a_move_says_who_only_came_off_the_target(
        session, sandbox, move_sheet, tmp_path) -> None:
    """ada was put on Sustainers but never taken off Free Members: the undo only takes her off
    Sustainers. Its log said "Put back on another list"."""
    result = _move_with_one_removal_failed(session, sandbox, move_sheet)
    undo = engine.undo(session, result.run_id)
    rows = _log(session, undo.run_id, tmp_path / "undo.csv")
    assert rows["ada@example.org"]["Planned"] == "Off Sustainers"
    assert rows["ben@example.org"]["Planned"] == "Back on Free Members and off Sustainers"
    assert not any("another list" in v for r in rows.values() for v in r.values())
