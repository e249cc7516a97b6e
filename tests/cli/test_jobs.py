"""The job sub-commands (preview, run, runs, resume, export, undo) as a script would use them.

Run in-process through ``ccdesk.cli.main``: on the built-in demo account (``--demo``), and on
the test sandbox (``--sandbox-url``) where a test must look at the account afterwards.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from ccdesk.cli import main
from ccdesk.core.export import LOG_COLUMNS
from ccdesk.paths import resource
from ccdesk.sandbox.demo import SAMPLE_COLUMNS, SAMPLE_TITLE, demo_data, sample_sheet_rows
from tests.core.conftest import write_sheet

pytestmark = pytest.mark.timeout(60)

DEMO_SHEET = str(resource("demo", "upgraded-members.xlsx"))
OUTCOMES = {"remove", "unsubscribe", "skip_not_on_list", "skip_not_found", "skip_unsubscribed",
            "skip_deleted", "invalid", "duplicate", "blank", "filtered_out"}
SMALL_VALUES = ["ada@example.org", "ben@example.org", "eve@example.org", "gus@example.org",
                "kim@example.org", "not an address", ""]


def ccdesk(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run ``ccdesk ARGV``; returns (exit status, parsed JSON output or text, standard error)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick activity checks, and no pause between sign-ins (every command signs in afresh;
    the sandboxes here do not limit the token endpoint)."""
    from ccdesk.cc import auth
    from ccdesk.core import runner

    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    monkeypatch.setattr(runner, "FIRST_POLL", 0.1)


@pytest.fixture
def url(sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test sandbox (small account), approving sign-ins by itself, limits and pacing off.
    (The demo's own sandbox keeps the real limits, so the demo tests keep the real pacing.)"""
    from ccdesk.cc.transport import Pacer
    from ccdesk.sandbox import DEMO_CLIENT_ID

    sandbox.reset(auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    monkeypatch.setitem(Pacer._shared, DEMO_CLIENT_ID, Pacer(rate=0))
    return sandbox.base_url


@pytest.fixture
def small_sheet(tmp_path: Path) -> str:
    return str(write_sheet(tmp_path / "members.csv", SMALL_VALUES))


# ---- the demo ----------------------------------------------------------------------------------


def test_preview_json_on_the_demo(capsys) -> None:
    code, out, _ = ccdesk(capsys, "preview", DEMO_SHEET, "--list", "Free Members", "--demo", "--json")
    assert code == 0
    assert out["rows"] == 52 == len(out["items"]) == sum(out["counts"].values())
    # The six not on Free Members are looked up one by one after its one page: three are in
    # Constant Contact (on other lists), one is deleted, two are not in the account at all.
    assert out["counts"] == {"remove": 40, "skip_not_on_list": 3, "skip_not_found": 2,
                             "skip_unsubscribed": 2, "skip_deleted": 1, "invalid": 2,
                             "duplicate": 1, "blank": 1}
    assert set(out["counts"]) <= OUTCOMES
    assert out["api_calls"] == out["cost"]["lookup"] + out["cost"]["run"]
    assert out["cost"]["lookup_strategy"] == "by_list"
    # Account, privileges, lists, the page, six look-ups (more if the demo's real 4 requests a
    # second made one wait and try again).
    assert out["cost"]["lookup"] >= 3 + 1 + 6 and out["cost"]["lookup_follow_ups"] == 6
    assert out["cost"]["lookup_explanation"] == (
        "1 page of the 199 members of Free Members, then 6 look-ups for the addresses not on it")
    assert out["cost"]["not_checked"] == 0
    assert "3 are not on Free Members, 2 are not in Constant Contact" in out["summary"]
    by_email = {i["email"]: i for i in out["items"]}
    for stranger in ("robin.newcomer@example.net", "kit.visitor@example.com"):
        assert by_email[stranger]["outcome"] == "skip_not_found"
        assert by_email[stranger]["reason"] == "No contact with this address in Constant Contact"
    for item in out["items"]:
        assert {"row", "email", "outcome", "reason"} <= set(item) <= {"row", "email", "outcome",
                                                                      "reason", "warning"}
        assert item["outcome"] in OUTCOMES and item["reason"]
    assert [i["row"] for i in out["items"]] == list(range(4, 56))  # title, blank, headings above
    assert out["items"][3]["email"] == sample_sheet_rows()[3][1].strip().lower()  # "  ADDRESS "


def test_run_json_on_the_demo(capsys) -> None:
    code, out, _ = ccdesk(capsys, "run", DEMO_SHEET, "--list", "Free Members", "--yes", "--demo",
                          "--json")
    assert code == 0
    assert {"run_id", "counts", "verified", "api_calls", "log"} <= set(out)
    assert out["counts"] == {"removed": 40, "skip_not_on_list": 3, "skip_not_found": 2,
                             "skip_unsubscribed": 2, "skip_deleted": 1, "invalid": 2,
                             "duplicate": 1, "blank": 1}
    assert out["verified"] == 40 and out["state"] == "finished"
    assert 0 < out["api_calls"] < 20
    book = load_workbook(out["log"])
    assert book.sheetnames == ["Summary", "Results"]
    log = book["Results"]
    heading = [c.value for c in log[1]]
    assert log.max_row == 53 and heading[0] == "Sheet row" and heading[-1].startswith("Time (")
    assert set(LOG_COLUMNS[:-1]) <= set(heading)
    # The same run in the demo's history, its log again, and a resume that has nothing to do.
    code, runs, _ = ccdesk(capsys, "runs", "--demo", "--json")
    assert code == 0 and [r["run_id"] for r in runs["runs"]] == [out["run_id"]]
    assert runs["runs"][0]["counts"] == out["counts"] and runs["runs"][0]["state"] == "finished"
    code, resumed, _ = ccdesk(capsys, "resume", out["run_id"], "--demo", "--json")
    assert code == 0 and resumed["counts"] == out["counts"] and resumed["state"] == "finished"


def test_the_bundled_sample_sheet_is_what_the_code_makes() -> None:
    sheet = load_workbook(DEMO_SHEET).worksheets[0]
    rows = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == SAMPLE_TITLE and not any(rows[1])
    assert tuple(rows[2]) == SAMPLE_COLUMNS
    assert rows[3:] == sample_sheet_rows()


def test_the_bundled_demo_account_is_what_the_code_makes() -> None:
    bundled = json.loads(resource("demo", "demo-account.json").read_text(encoding="utf-8"))
    assert bundled == demo_data()


# ---- on the test sandbox -------------------------------------------------------------------------


def test_preview_changes_nothing(capsys, url, sandbox, small_sheet) -> None:
    code, out, _ = ccdesk(capsys, "preview", small_sheet, "--list", "Free Members",
                          "--sandbox-url", url, "--json")
    # Five addresses: one by one (gus is on another list, kim deleted).
    assert code == 0 and out["counts"] == {"remove": 3, "skip_not_on_list": 1, "skip_deleted": 1,
                                           "invalid": 1, "blank": 1}
    assert sandbox.requests.count("POST", r"/v3/") == sandbox.requests.count("PUT") == 0


def test_preview_says_which_addresses_were_not_checked(capsys, url, sandbox, tmp_path) -> None:
    from tests.core.conftest import free_members_account

    sandbox.reset(free_members_account(1000), auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    strangers = [f"stranger{i}@example.net" for i in range(30)]
    sheet = str(write_sheet(tmp_path / "m.csv", [f"m{i}@example.org" for i in range(10)] + strangers))
    code, out, _ = ccdesk(capsys, "preview", sheet, "--list", "Free Members", "--sandbox-url", url,
                          "--json")
    assert code == 0 and out["counts"] == {"remove": 10, "skip_not_on_list": 30}
    assert out["cost"]["not_checked"] == 30 and out["cost"]["lookup_follow_ups"] == 0
    assert out["cost"]["lookup"] == 3 + 2  # account, privileges, lists; two pages; no look-ups
    assert out["summary"].endswith("30 are not on Free Members (ccdesk did not check whether they "
                                   "are in Constant Contact at all: that would take 30 more "
                                   "requests)")
    assert {i["reason"] for i in out["items"] if i["outcome"] == "skip_not_on_list"} == {
        "Not on Free Members; not checked whether it is in Constant Contact"}
    code, text, _ = ccdesk(capsys, "preview", sheet, "--list", "Free Members", "--sandbox-url", url)
    assert code == 0
    assert "ccdesk did not check whether they are in Constant Contact at all" in text
    assert ("(2 pages of the 1,000 members of Free Members; the 30 addresses not on it were not "
            "looked up one by one, which would take 30 more requests)") in text


@pytest.mark.parametrize("confirm", [None, "3", "5", "three"])
def test_unsubscribe_without_the_right_count_changes_nothing(capsys, url, sandbox, small_sheet,
                                                             confirm) -> None:
    argv = ["run", small_sheet, "--action", "unsubscribe", "--sandbox-url", url, "--yes", "--json"]
    if confirm is not None:
        argv += ["--confirm-unsubscribe", confirm]
    if confirm == "three":  # not a number: argparse refuses it
        with pytest.raises(SystemExit) as refused:
            main(argv)
        assert refused.value.code == 2
    else:
        code, out, err = ccdesk(capsys, *argv)
        assert code == 2 and out == ""
        assert "--confirm-unsubscribe 4" in err and len(err.strip().splitlines()) == 1
    assert sandbox.requests.count("PUT") == 0
    assert all(sandbox.contact(e)["email_address"]["permission_to_send"] != "unsubscribed"
               for e in SMALL_VALUES[:4])
    code, runs, _ = ccdesk(capsys, "runs", "--sandbox-url", url, "--json")
    assert runs == {"runs": []}


def test_unsubscribe_with_the_count_of_the_preview(capsys, url, sandbox, small_sheet) -> None:
    code, preview, _ = ccdesk(capsys, "preview", small_sheet, "--action", "unsubscribe",
                              "--sandbox-url", url, "--json")
    n = preview["counts"]["unsubscribe"]
    assert n == 4
    code, out, _ = ccdesk(capsys, "run", small_sheet, "--action", "unsubscribe", "--sandbox-url",
                          url, "--yes", "--json", "--confirm-unsubscribe", str(n))
    assert code == 0
    assert out["counts"] == {"unsubscribed": 4, "skip_deleted": 1, "invalid": 1, "blank": 1}
    assert sandbox.requests.count("PUT") == 4
    code, _, err = ccdesk(capsys, "undo", out["run_id"], "--sandbox-url", url, "--yes")
    assert code == 2 and "cannot be undone" in err
    assert sandbox.requests.count("POST", r"/v3/activities") == 0


def test_run_export_undo_and_runs(capsys, url, sandbox, small_sheet, tmp_path) -> None:
    before = sandbox.members("Free Members")
    code, out, _ = ccdesk(capsys, "run", small_sheet, "--list", "Free Members", "--sandbox-url", url,
                          "--yes", "--json", "--log", str(tmp_path / "run.csv"), "--log-format", "csv")
    assert code == 0 and out["counts"] == {"removed": 3, "skip_not_on_list": 1, "skip_deleted": 1,
                                           "invalid": 1, "blank": 1}
    assert out["log"] == str(tmp_path / "run.csv")
    assert sandbox.members("Free Members") == before - {"ada@example.org", "ben@example.org",
                                                        "eve@example.org"}
    assert out["api_calls"] == sandbox.requests.api_calls() - 1  # all but the sign-in's account check

    for fmt in ("csv", "xlsx"):
        target = tmp_path / f"again.{fmt}"
        code, exported, _ = ccdesk(capsys, "export", out["run_id"], "--format", fmt, "-o", str(target),
                                   "--sandbox-url", url, "--json")
        assert code == 0 and exported == {"run_id": out["run_id"], "log": str(target)}
    with open(tmp_path / "again.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(SMALL_VALUES) and set(LOG_COLUMNS[:-1]) <= set(rows[0])
    assert load_workbook(tmp_path / "again.xlsx")["Results"].max_row == 1 + len(SMALL_VALUES)

    code, undone, _ = ccdesk(capsys, "undo", out["run_id"], "--sandbox-url", url, "--yes", "--json")
    assert code == 0 and undone["counts"] == {"re-added": 3} and undone["verified"] == 3
    assert sandbox.members("Free Members") == before
    code, _, err = ccdesk(capsys, "undo", out["run_id"], "--sandbox-url", url, "--yes")
    assert code == 2 and "already undone" in err

    code, runs, _ = ccdesk(capsys, "runs", "--sandbox-url", url, "--json")
    assert [(r["run_id"], r["action"], r["undo_of"]) for r in runs["runs"]] == [
        (undone["run_id"], "undo", out["run_id"]), (out["run_id"], "remove", None)]
    code, text, _ = ccdesk(capsys, "runs", "--sandbox-url", url)
    assert out["run_id"] in text and "finished" in text


@pytest.mark.parametrize("command", ["export", "resume", "undo"])
def test_an_unknown_run(capsys, url, sandbox, tmp_path, command) -> None:
    extra = ["--format", "csv", "-o", str(tmp_path / "x.csv")] if command == "export" else []
    code, _, err = ccdesk(capsys, command, "nope", *extra, "--sandbox-url", url)
    assert code == 2 and err.startswith("ccdesk: There is no run nope.")
    assert sandbox.requests.count("POST", r"/v3/") == 0


def test_a_paused_run_still_prints_its_id_and_log(capsys, url, sandbox, small_sheet) -> None:
    # The day's allowance runs out after the sign-in (1 request) and the preview (account,
    # privileges, lists, and the sheet's five addresses one by one).
    sandbox.set_limits(daily_quota=9)
    code, out, err = ccdesk(capsys, "run", small_sheet, "--list", "Free Members", "--sandbox-url",
                            url, "--yes", "--json")
    assert code == 3
    assert out["state"] == "paused" and out["counts"]["planned"] == 3
    assert out["message"] == "Today's Constant Contact allowance is used up"
    assert Path(out["log"]).is_file()
    assert f"ccdesk resume {out['run_id']}" in err
    sandbox.clock.advance(sandbox.clock.seconds_to_utc_midnight() + 1)
    sandbox.set_limits(daily_quota=10_000)
    code, resumed, _ = ccdesk(capsys, "resume", out["run_id"], "--sandbox-url", url, "--json")
    assert code == 0 and resumed["counts"]["removed"] == 3 and resumed["state"] == "finished"


def test_runs_of_a_demo_state_file_are_kept_with_the_demo(capsys, tmp_path) -> None:
    from tests.support.accounts import small_account

    state = tmp_path / "state.json"
    state.write_text(json.dumps(small_account()), encoding="utf-8")
    sheet = str(write_sheet(tmp_path / "m.csv", ["ada@example.org", "gus@example.org"]))
    code, out, _ = ccdesk(capsys, "run", sheet, "--list", "Free Members", "--demo-state", str(state),
                          "--yes", "--json")
    assert code == 0 and out["counts"] == {"removed": 1, "skip_not_on_list": 1}
    code, runs, _ = ccdesk(capsys, "runs", "--demo-state", str(state), "--json")
    assert [r["run_id"] for r in runs["runs"]] == [out["run_id"]]
