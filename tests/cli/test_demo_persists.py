"""The demo account is kept between starts: separate ``ccdesk --demo`` processes see each other's
changes, ``ccdesk reset-demo`` starts it over, and a damaged saved account is replaced by the
bundled one with a plain warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccdesk.paths import resource

pytestmark = pytest.mark.timeout(120)

DEMO_SHEET = str(resource("demo", "upgraded-members.xlsx"))
REMOVED_FIRST_TIME = {"removed": 40, "skip_not_on_list": 3, "skip_not_found": 2,
                      "skip_unsubscribed": 2, "skip_deleted": 1, "invalid": 2, "duplicate": 1,
                      "blank": 1}


def ccdesk(home: Path, *argv: str) -> tuple[int, object, str]:
    """``ccdesk ARGV`` in a process of its own; (status, JSON output or text, standard error)."""
    env = {**os.environ, "CCDESK_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "ccdesk", *argv], env=env, text=True,
                          capture_output=True, timeout=100)
    try:
        return proc.returncode, json.loads(proc.stdout), proc.stderr
    except ValueError:
        return proc.returncode, proc.stdout, proc.stderr


def run_sample(home: Path) -> tuple[int, dict, str]:
    code, out, err = ccdesk(home, "--demo", "run", DEMO_SHEET, "--list", "Free Members", "--yes",
                            "--json")
    assert isinstance(out, dict), (code, out, err)
    return code, out, err


def state_file(home: Path) -> Path:
    return home / "data" / "demo" / "demo-account.json"


def test_two_demo_processes_see_each_others_changes_and_reset_starts_over(tmp_path) -> None:
    home = tmp_path / "home"
    code, first, err = run_sample(home)
    assert code == 0 and first["counts"] == REMOVED_FIRST_TIME, err
    # A second process: the 40 members are off Free Members already.
    code, second, err = run_sample(home)
    assert code == 0, err
    # 46 not on the list now: too many to look up one by one after its page (not checked).
    assert second["counts"] == {"skip_not_on_list": 46, "skip_unsubscribed": 2, "invalid": 2,
                                "duplicate": 1, "blank": 1}
    code, runs, _ = ccdesk(home, "--demo", "runs", "--json")
    assert [r["run_id"] for r in runs["runs"]] == [second["run_id"], first["run_id"]]

    code, out, err = ccdesk(home, "reset-demo")
    assert code == 0 and out.startswith("The demo is back at the start"), err
    code, runs, _ = ccdesk(home, "--demo", "runs", "--json")
    assert runs == {"runs": []}
    code, third, err = run_sample(home)
    assert code == 0 and third["counts"] == REMOVED_FIRST_TIME, err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_the_saved_demo_account_is_owner_only(tmp_path) -> None:
    home = tmp_path / "home"
    code, _, err = ccdesk(home, "--demo", "preview", DEMO_SHEET, "--list", "Free Members",
                             "--json")
    assert code == 0, err
    assert state_file(home).stat().st_mode & 0o777 == 0o600
    assert state_file(home).parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("damage", ["{not json", '{"saved": {"version": 1, "lists": 3}}', "[]"])
def test_a_damaged_saved_account_gives_way_to_the_bundled_one(tmp_path, damage) -> None:
    home = tmp_path / "home"
    state_file(home).parent.mkdir(parents=True)
    state_file(home).write_text(damage, encoding="utf-8")
    code, out, err = run_sample(home)
    assert code == 0 and out["counts"] == REMOVED_FIRST_TIME
    assert "ccdesk: The demo account saved on this computer could not be read, so the demo " \
           "starts again from the beginning." in err
    assert "Traceback" not in err
    assert "saved" in json.loads(state_file(home).read_text(encoding="utf-8"))  # replaced
