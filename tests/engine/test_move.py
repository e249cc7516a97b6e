"""Move (issue 16): onto the target list, then off the chosen list(s), in bulk, both changes
verified; a member already on the target is only taken off; undo reverses exactly what the run
did. In-process and through the job process, against the test sandbox over real HTTP."""

from __future__ import annotations

import re

import pytest

from ccdesk import engine
from ccdesk.core.journal import Journal
from ccdesk.core.lookup import Action
from ccdesk.core.plan import PlanError
from tests.engine.conftest import ADD_POST, MOVED, REMOVE_POST

pytestmark = pytest.mark.timeout(60)

# The small account: Free Members holds ada, ben, chloe, eve, fay (and others); Sustainers
# holds fay and gus. ivy is unsubscribed.


def test_move_previews_runs_verifies_and_undoes_exactly(session, sandbox, move_sheet) -> None:
    free_before, sustainers_before = sandbox.members("Free Members"), sandbox.members("Sustainers")
    assert "fay@example.org" in free_before & sustainers_before
    sheet = engine.read(move_sheet)
    plan = engine.preview(session, sheet, Action.MOVE, ["Free Members"], to="Sustainers")
    by_email = {i.email: i for i in plan.items}
    assert {e for e, i in by_email.items() if i.outcome == "move"} == set(MOVED)
    assert by_email["ada@example.org"].reason == "From Free Members to Sustainers"
    fay = by_email["fay@example.org"]
    assert fay.outcome == "remove" and not fay.add_ids
    assert fay.reason == "Already on Sustainers: only taken off Free Members"
    assert by_email["gus@example.org"].outcome == "skip_not_on_list"
    assert by_email["ivy@example.org"].outcome == "skip_unsubscribed"
    assert plan.summary().startswith(
        "4 will be moved from Free Members to Sustainers, 1 already on Sustainers will only be "
        "taken off Free Members")
    data = plan.to_dict()
    assert data["to"] == "Sustainers" and data["action"] == "move"
    # One activity onto Sustainers (the 4), one off Free Members (all 5): two rounds of polls.
    assert plan.cost.run_changes == 2

    sandbox.requests.clear()
    result = engine.run(session, plan)
    assert result.state == "finished"
    assert result.counts["moved"] == 4 and result.counts["removed"] == 1
    assert result.verified == 5
    posts = [r for r in sandbox.requests.records() if r.method == "POST"]
    assert [re.search(r"(add|remove)_list", r.path).group(1) for r in posts] == ["add", "remove"]
    assert sandbox.requests.count("POST", ADD_POST, status=201) == 1  # onto the new list first
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == 1  # never on neither
    free, sustainers = sandbox.members("Free Members"), sandbox.members("Sustainers")
    assert not free & {*MOVED, "fay@example.org"}
    assert {*MOVED, "fay@example.org", "gus@example.org"} <= sustainers
    assert result.api_calls <= plan.cost.run_total + plan.cost.lookup_spent

    undo = engine.undo(session, result.run_id)
    assert undo.state == "finished" and undo.counts.get("re-added") == 5
    assert sandbox.members("Free Members") == free_before
    # Off Sustainers only for those the run put there: fay was on it before and stays.
    assert sandbox.members("Sustainers") == sustainers_before


def test_a_move_needs_a_target_other_than_the_list_left(session, move_sheet) -> None:
    sheet = engine.read(move_sheet)
    with pytest.raises(PlanError, match="Choose the list to move them to"):
        engine.preview(session, sheet, Action.MOVE, ["Free Members"])
    with pytest.raises(PlanError, match="both the list to leave and the list to move to"):
        engine.preview(session, sheet, Action.MOVE, ["Free Members"], to="free members")
    with pytest.raises(PlanError, match="no list called"):
        engine.preview(session, sheet, Action.MOVE, ["Free Members"], to="Nobody")
    with pytest.raises(PlanError, match="Only a move has a list to move to"):
        engine.preview(session, sheet, Action.REMOVE, ["Free Members"], to="Sustainers")


def test_journal_of_schema_1_gains_the_move_columns(tmp_path) -> None:
    import sqlite3

    from ccdesk.core.journal import ITEMS_TABLE

    path = tmp_path / "old.sqlite3"
    old = ITEMS_TABLE.split("    add_ids")[0] + "    PRIMARY KEY (run_id, row)\n);"
    db = sqlite3.connect(path)
    db.executescript(old)
    db.close()
    with Journal(path) as journal:
        run_id = journal.create_run(file_path="x", file_sha256="", sheet="", action="remove",
                                    lists=[], account={}, items=[
                                        {"row": 1, "outcome": "remove", "state": "planned"}])
        [item] = journal.items(run_id)
        assert item.add_ids == [] and item.added is False


def test_the_log_of_a_move_says_where_each_member_went(session, move_sheet, tmp_path) -> None:
    import csv

    plan = engine.preview(session, engine.read(move_sheet), Action.MOVE, ["Free Members"],
                          to="Sustainers")
    result = engine.run(session, plan)
    path = engine.export(session, result.run_id, tmp_path / "log.csv", "csv")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = {r["Email"]: r for r in csv.DictReader(handle)}
    ada, fay = rows["ada@example.org"], rows["fay@example.org"]
    assert "Move from Free Members to Sustainers" in ada.values()
    assert "Moved" in ada.values() and "Removed" in fay.values()
    assert "Remove from Free Members" in fay.values()
    assert any("Already on Sustainers" in v for v in fay.values())
