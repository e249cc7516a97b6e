"""``ccdesk preview|run --action move --to NAME`` (issue 16) as a script would use it, on the
test sandbox: the preview's counts and target, the run's results, ``runs``, ``undo`` (once),
a move from a list, and the one-line errors for a target without a move and a move without a
target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_jobs import _quick as _quick  # an autouse fixture
from tests.cli.test_jobs import ccdesk
from tests.cli.test_jobs import url as url  # a fixture
from tests.core.conftest import write_sheet

pytestmark = pytest.mark.timeout(20)

ADD_POST = r"/v3/activities/add_list_memberships$"
REMOVE_POST = r"/v3/activities/remove_list_memberships$"
MOVED = ["ada@example.org", "ben@example.org", "chloe@example.org", "eve@example.org"]
FAY = "fay@example.org"  # on Free Members and Sustainers already
MOVE = ["--action", "move", "--to", "Sustainers", "--list", "Free Members"]


@pytest.fixture
def sheet(tmp_path: Path) -> str:
    return str(write_sheet(tmp_path / "upgraded.csv",
                           [*MOVED, FAY, "gus@example.org", "ivy@example.org", "not an address"]))


def test_preview_of_a_move_json(capsys, url, sandbox, sheet) -> None:
    sandbox.requests.clear()
    code, out, err = ccdesk(capsys, "preview", *MOVE, sheet, "--sandbox-url", url, "--json")
    assert code == 0, err
    assert out["action"] == "move" and out["to"] == "Sustainers"
    assert out["lists"] == ["Free Members"]
    assert out["counts"] == {"move": 4, "remove": 1, "skip_not_on_list": 1,
                             "skip_unsubscribed": 1, "invalid": 1}
    assert out["rows"] == 8 == sum(out["counts"].values())
    by_email = {i["email"]: i for i in out["items"]}
    assert {e for e, i in by_email.items() if i["outcome"] == "move"} == set(MOVED)
    assert by_email["ada@example.org"]["reason"] == "From Free Members to Sustainers"
    assert by_email[FAY]["reason"] == "Already on Sustainers: only taken off Free Members"
    assert out["summary"].startswith(
        "4 will be moved from Free Members to Sustainers, 1 already on Sustainers will only be "
        "taken off Free Members")
    # One activity each way; both checked.
    assert out["cost"]["run_changes"] == 2 and out["cost"]["add_check_strategy"]
    assert sandbox.requests.count("POST", r"/v3/") == 0  # a preview changes nothing


def test_preview_of_a_move_as_text(capsys, url, sheet) -> None:
    code, out, err = ccdesk(capsys, "preview", *MOVE, sheet, "--sandbox-url", url)
    assert code == 0, err
    assert "Action:   move from Free Members to Sustainers" in out
    assert "4 will be moved from Free Members to Sustainers" in out
    assert "ada@example.org" not in out  # the rows that change are not listed one by one


def test_run_runs_and_undo_of_a_move(capsys, url, sandbox, sheet) -> None:
    before = {name: sandbox.members(name) for name in ("Free Members", "Sustainers")}
    code, out, err = ccdesk(capsys, "run", *MOVE, sheet, "--sandbox-url", url, "--yes", "--json")
    assert code == 0, err
    assert out["state"] == "finished"
    assert out["counts"] == {"moved": 4, "removed": 1, "skip_not_on_list": 1,
                             "skip_unsubscribed": 1, "invalid": 1}
    assert out["verified"] == 5
    assert sandbox.requests.count("POST", ADD_POST, status=201) == 1
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == 1
    changed = {*MOVED, FAY}
    assert sandbox.members("Free Members") == before["Free Members"] - changed
    assert sandbox.members("Sustainers") == before["Sustainers"] | changed
    run_id = out["run_id"]

    code, listed, err = ccdesk(capsys, "runs", "--sandbox-url", url, "--json")
    assert code == 0, err
    [run] = listed["runs"]
    assert (run["run_id"], run["action"], run["lists"], run["to"]) == (
        run_id, "move", ["Free Members"], "Sustainers")
    assert run["counts"] == out["counts"]
    code, text, err = ccdesk(capsys, "runs", "--sandbox-url", url)
    assert code == 0 and f"{run_id}" in text and "Free Members → Sustainers" in text, text

    code, undone, err = ccdesk(capsys, "undo", run_id, "--sandbox-url", url, "--yes", "--json")
    assert code == 0, err
    assert undone["state"] == "finished"
    assert undone["counts"] == {"re-added": 5} and undone["verified"] == 5
    assert sandbox.members("Free Members") == before["Free Members"]
    assert sandbox.members("Sustainers") == before["Sustainers"]  # fay stays: she was there
    code, listed, err = ccdesk(capsys, "runs", "--sandbox-url", url, "--json")
    undo = next(r for r in listed["runs"] if r["undo_of"] == run_id)
    assert undo["action"] == "undo" and undo["to"] is None  # it takes them off, not onto

    sandbox.requests.clear()
    code, _, err = ccdesk(capsys, "undo", run_id, "--sandbox-url", url, "--yes")
    assert code == 2 and "already undone" in err and err.count("\n") == 1, err
    assert sandbox.requests.count("POST", r"/v3/") == 0


def test_run_of_a_move_as_text(capsys, url, sheet) -> None:
    code, out, err = ccdesk(capsys, "run", *MOVE, sheet, "--sandbox-url", url, "--yes")
    assert code == 0, err
    assert ": finished. " in out and "4 moved" in out and "1 removed" in out
    assert "5 verified in Constant Contact" in out


def test_a_move_from_a_list(capsys, url, sandbox) -> None:
    """The members of Sustainers off Free Members onto the Newsletter: fay moves, gus (not on
    Free Members) is left alone."""
    code, out, err = ccdesk(capsys, "run", "--from-list", "Sustainers", "--action", "move",
                            "--to", "Newsletter", "--list", "Free Members", "--sandbox-url", url,
                            "--yes", "--json")
    assert code == 0, err
    assert out["counts"] == {"moved": 1, "skip_not_on_list": 1} and out["verified"] == 1
    assert sandbox.contact(FAY)["lists"] == ["Newsletter", "Sustainers"]
    code, undone, err = ccdesk(capsys, "undo", out["run_id"], "--sandbox-url", url, "--yes",
                               "--json")
    assert code == 0 and undone["counts"] == {"re-added": 1}, err
    assert sandbox.contact(FAY)["lists"] == ["Free Members", "Sustainers"]


@pytest.mark.parametrize(("argv", "words"), [
    (["--to", "Sustainers", "--list", "Free Members"], "Only a move has a list to move to"),
    (["--action", "unsubscribe", "--to", "Sustainers"], "Only a move has a list to move to"),
    (["--action", "move", "--list", "Free Members"], "Choose the list to move them to"),
    (["--action", "move", "--to", "Sustainers"], "Choose a list"),
    (["--action", "move", "--to", "free members", "--list", "Free Members"],
     "Free Members is both the list to leave and the list to move to"),
    (["--action", "move", "--to", "Paying", "--list", "Free Members"],
     "There is no list called “Paying”"),
])
@pytest.mark.parametrize("command", ["preview", "run"])
def test_a_wrong_target_is_refused_in_one_line(capsys, url, sandbox, sheet, command, argv,
                                               words) -> None:
    extra = ["--yes"] if command == "run" else []
    code, _, err = ccdesk(capsys, command, sheet, *argv, "--sandbox-url", url, *extra)
    assert code == 2 and words in err and err.count("\n") == 1, err
    assert sandbox.requests.count("POST", r"/v3/") == 0 and sandbox.requests.count("PUT") == 0
