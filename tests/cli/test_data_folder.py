"""A data folder that cannot be written (read-only, full, or not a folder at all) gives exit
status 2 and a one-line reason from every command, or 3 with the run's JSON when a run paused;
never a traceback (issue 12).

The tests run as root here, and permissions do not stop root, so an unusable folder is made
the portable way: a file where the folder should be, or a folder where a file should be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccdesk.cli import main
from ccdesk.paths import HOME_ENV
from tests.core.conftest import write_sheet

ROOT = Path(__file__).resolve().parents[2]
VALUES = ["ada@example.org", "ben@example.org", "eve@example.org", "gus@example.org"]


def home() -> Path:
    return Path(os.environ[HOME_ENV])


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert lines and lines[-1].startswith("ccdesk: "), err
    return lines[-1]


@pytest.fixture
def data_is_a_file() -> Path:
    """The data folder's place is taken by a file (as good as read-only, even for root)."""
    home().mkdir(parents=True, exist_ok=True)
    blocker = home() / "data"
    blocker.write_text("not a folder", encoding="utf-8")
    return blocker


@pytest.fixture
def url(sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    from ccdesk.cc import auth
    from ccdesk.cc.transport import Pacer
    from ccdesk.core import runner
    from ccdesk.sandbox import DEMO_CLIENT_ID

    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    monkeypatch.setattr(runner, "FIRST_POLL", 0.1)
    sandbox.reset(auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    monkeypatch.setitem(Pacer._shared, DEMO_CLIENT_ID, Pacer(rate=0))
    return sandbox.base_url


@pytest.mark.parametrize("command", [["runs"], ["runs", "--demo", "--json"],
                                     ["export", "r1", "-o", "x.csv", "--format", "csv"]])
def test_commands_that_read_the_journal(capsys, data_is_a_file, command) -> None:
    code = main(command)
    _, err = capsys.readouterr()
    assert code == 2
    line = one_line(err)
    assert "data folder" in line and str(data_is_a_file) in line


def test_a_run_when_the_data_folder_is_unusable(capsys, data_is_a_file, url, tmp_path) -> None:
    sheet = write_sheet(tmp_path / "m.csv", VALUES)
    code = main(["run", str(sheet), "--list", "Free Members", "--sandbox-url", url, "--yes",
                 "--json"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "data folder" in one_line(err)


def test_a_journal_that_cannot_be_opened(capsys, url, tmp_path) -> None:
    journal = home() / "data" / "sandbox" / "journal.sqlite3"
    journal.mkdir(parents=True)  # a folder where the database file should be
    sheet = write_sheet(tmp_path / "m.csv", VALUES)
    code = main(["run", str(sheet), "--list", "Free Members", "--sandbox-url", url, "--yes"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "data folder" in one_line(err)
    code = main(["runs", "--sandbox-url", url])
    _, err = capsys.readouterr()
    assert code == 2 and "data folder" in one_line(err)


def test_a_paused_run_whose_log_cannot_be_saved_still_reports_its_id(capsys, url, sandbox,
                                                                   tmp_path) -> None:
    (home() / "data").mkdir(parents=True, exist_ok=True)
    (home() / "data" / "logs").write_text("not a folder", encoding="utf-8")
    # The sign-in and the preview (account, privileges, lists, 4 addresses one by one), then the
    # day is used up.
    sandbox.set_limits(daily_quota=8)
    sheet = write_sheet(tmp_path / "m.csv", VALUES)
    code = main(["run", str(sheet), "--list", "Free Members", "--sandbox-url", url, "--yes",
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 3
    result = json.loads(out)
    assert result["run_id"] and result["state"] == "paused" and result["log"] is None
    assert "Traceback" not in err
    assert f"ccdesk resume {result['run_id']}" in err


def test_a_finished_run_whose_log_cannot_be_saved(capsys, url, tmp_path) -> None:
    (home() / "data").mkdir(parents=True, exist_ok=True)
    (home() / "data" / "logs").write_text("not a folder", encoding="utf-8")
    sheet = write_sheet(tmp_path / "m.csv", VALUES)
    code = main(["run", str(sheet), "--list", "Free Members", "--sandbox-url", url, "--yes",
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    result = json.loads(out)
    assert result["run_id"] and result["state"] == "finished" and result["log"] is None
    assert "log" in one_line(err)


def test_inspect_needs_no_data_folder(capsys, data_is_a_file, tmp_path) -> None:
    sheet = write_sheet(tmp_path / "m.csv", VALUES)
    assert main(["inspect", str(sheet), "--json"]) == 0


def test_the_real_command_prints_one_line_and_no_traceback(data_is_a_file, tmp_path) -> None:
    env = dict(os.environ, **{HOME_ENV: str(home())})
    for argv in (["runs"], ["--demo", "run", str(write_sheet(tmp_path / "m.csv", VALUES)),
                            "--list", "Free Members", "--yes"]):
        done = subprocess.run([sys.executable, "-m", "ccdesk", *argv], capture_output=True,
                              text=True, timeout=120, cwd=ROOT, env=env, check=False)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("ccdesk: ") and "data folder" in done.stderr
