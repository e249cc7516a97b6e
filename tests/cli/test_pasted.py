"""``-`` as FILE: addresses on standard input (text copied from an email), end to end against
the test sandbox: inspect, preview, run, undo, and the saved file that names them."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from ccdesk.paths import data_dir
from tests.cli import test_jobs as jobs
from tests.cli.test_jobs import ccdesk

# The sandbox fixtures of the job commands' tests: quick checks, and the test sandbox's URL.
_quick = jobs._quick
url = jobs.url

pytestmark = pytest.mark.timeout(60)

# Copied from an email: names, quotes with a comma, mixed separators, Windows line ends, a
# byte-order mark, a repeat in another form and a piece that is not an address.
PASTED = ('\ufeffAda <ada@example.org>; "Ben, B." <BEN@example.org>, eve@example.org\r\n'
          "gus@example.org\r\n\r\nkim@example.org, not an address\r\n"
          "mailto:ada@example.org\r\n")


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


def test_inspect_reads_standard_input(capsys, monkeypatch) -> None:
    stdin(monkeypatch, PASTED)
    code, out, err = ccdesk(capsys, "inspect", "-", "--json")
    assert code == 0
    saved = Path(out["file"])
    assert saved.parent == data_dir() / "pasted" and saved.name.startswith("pasted ")
    assert f"saved as {saved}" in err
    if os.name == "posix":
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert out["counts"] == {"valid": 5, "invalid": 1, "duplicate": 1, "blank": 0,
                             "filtered_out": 0}
    assert out["rows"] == 7
    # The saved file is an ordinary file: read again by its path, the same findings.
    code, again, _ = ccdesk(capsys, "inspect", str(saved), "--json")
    assert code == 0 and again["counts"] == out["counts"]


def test_typed_at_a_terminal_says_how_to_end(capsys, monkeypatch) -> None:
    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(io.BytesIO(b"ada@example.org\n")))
    code, out, err = ccdesk(capsys, "inspect", "-", "--json")
    assert code == 0 and out["counts"]["valid"] == 1
    assert err.startswith("Paste the addresses, then press Ctrl+D")


def test_nothing_on_standard_input(capsys, monkeypatch) -> None:
    stdin(monkeypatch, " \n , \n")
    code, _, err = ccdesk(capsys, "inspect", "-")
    assert code == 2 and "nothing in the pasted text" in err
    assert not (data_dir() / "pasted").exists() or not any((data_dir() / "pasted").iterdir())


def test_preview_of_pasted_addresses(capsys, monkeypatch, url, sandbox) -> None:
    stdin(monkeypatch, PASTED)
    code, out, err = ccdesk(capsys, "preview", "-", "--list", "Free Members", "--sandbox-url", url,
                            "--json")
    assert code == 0, err
    assert out["counts"] == {"remove": 3, "skip_not_on_list": 1, "skip_deleted": 1, "invalid": 1,
                             "duplicate": 1}
    assert Path(out["file"]).parent == data_dir() / "pasted" and f"saved as {out['file']}" in err
    by_row = {i["row"]: i for i in out["items"]}
    assert by_row[2]["email"] == "ada@example.org" and by_row[2]["outcome"] == "remove"
    assert by_row[3]["email"] == "ben@example.org" and by_row[3]["outcome"] == "remove"
    assert by_row[7]["outcome"] == "invalid" and by_row[8]["outcome"] == "duplicate"
    assert sandbox.requests.count("POST", r"/v3/") == sandbox.requests.count("PUT") == 0


def test_run_and_undo_of_pasted_addresses(capsys, monkeypatch, url, sandbox, tmp_path) -> None:
    before = sandbox.members("Free Members")
    stdin(monkeypatch, PASTED)
    code, out, err = ccdesk(capsys, "run", "-", "--list", "Free Members", "--sandbox-url", url,
                            "--yes", "--json", "--log", str(tmp_path / "run.csv"),
                            "--log-format", "csv")
    assert code == 0, err
    assert out["counts"] == {"removed": 3, "skip_not_on_list": 1, "skip_deleted": 1, "invalid": 1,
                             "duplicate": 1}
    assert out["verified"] == 3
    assert sandbox.members("Free Members") == before - {"ada@example.org", "ben@example.org",
                                                        "eve@example.org"}
    # The run names the saved file, like any spreadsheet.
    code, runs, _ = ccdesk(capsys, "runs", "--sandbox-url", url, "--json")
    saved = runs["runs"][0]["file"]
    assert Path(saved).parent == data_dir() / "pasted" and f"saved as {saved}" in err
    log = (tmp_path / "run.csv").read_text(encoding="utf-8-sig")
    assert "not an address" in log and "ada@example.org" in log

    code, undone, _ = ccdesk(capsys, "undo", out["run_id"], "--sandbox-url", url, "--yes",
                             "--json")
    assert code == 0 and undone["counts"] == {"re-added": 3} and undone["verified"] == 3
    assert sandbox.members("Free Members") == before


def test_the_help_says_what_dash_means(capsys) -> None:
    from ccdesk.cli import build_parser

    parser = build_parser()
    for command in ("inspect", "preview", "run"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        assert "standard input" in capsys.readouterr().out
