"""The results log (and the preview) as CSV and XLSX, read back the way a person's
spreadsheet program would: one row per sheet row, and no cell that runs as a formula."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ccdesk.core.export import LOG_COLUMNS, PREVIEW_COLUMNS, ExportError, export_log, export_preview
from ccdesk.core.runner import start_run
from tests.core.conftest import plan_for

pytestmark = pytest.mark.timeout(60)

HOSTILE = ['=HYPERLINK("http://x")', "+1 555 0100", "-2+3", "@SUM(A1:A2)", "\tann@example.org;x",
           "\r=1+1", "=cmd|' /C calc'!A0"]
VALUES = ["ada@example.org", "gus@example.org", *HOSTILE, "", "ADA@example.org", "eve@example.org"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def finished_run(cc, sandbox, tmp_path, journal):
    plan = plan_for(cc, tmp_path, VALUES, name="members.xlsx")
    assert plan.counts == {"remove": 2, "skip_not_on_list": 1, "invalid": len(HOSTILE), "blank": 1,
                           "duplicate": 1}
    result = start_run(plan, cc, journal)
    return plan, result


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def read_xlsx(path: Path) -> tuple[list[list[object]], list[str]]:
    """The rows of the first sheet, and the data types openpyxl saw ("f" = formula)."""
    book = load_workbook(path)
    sheet = book.worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    types = [c.data_type for row in sheet.iter_rows() for c in row]
    return rows, types


def check_log(rows: list[list[object]], plan, run_id: str, journal) -> None:
    assert tuple(rows[0]) == LOG_COLUMNS
    body = rows[1:]
    assert len(body) == len(plan.items)  # one row per sheet row
    assert [int(r[0]) for r in body] == [i.row for i in plan.items]
    items = {i.row: i for i in journal.items(run_id)}
    for row in body:
        number, email, contact_id, action, outcome, reason, message, when = (
            "" if v is None else v for v in row)
        item = items[int(number)]
        shown = item.email or item.value
        if shown.startswith(DANGEROUS):
            assert email == "'" + shown  # neutralised, otherwise unchanged
        else:
            assert email == shown
        assert contact_id == (item.contact_id or "")
        assert action == "remove"
        assert outcome == (item.result or item.state)
        assert reason == item.reason and message == item.cc_message
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", str(when))
        for cell in (email, reason, message):
            assert not str(cell).startswith(DANGEROUS), cell
    by_email: dict[object, list[object]] = {}
    for row in body:
        by_email.setdefault(row[1], row)  # the first row of an address (a duplicate comes later)
    ada = by_email["ada@example.org"]
    assert ada[4] == "removed" and ada[6] == "Checked in Constant Contact" and ada[2]
    assert by_email["gus@example.org"][4] == "skip_not_on_list"
    assert by_email["'=HYPERLINK(\"http://x\")"][4] == "invalid"


def test_csv_log(finished_run, journal, tmp_path) -> None:
    plan, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    check_log(read_csv(path), plan, result.run_id, journal)


def test_xlsx_log(finished_run, journal, tmp_path) -> None:
    plan, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    rows, types = read_xlsx(path)
    assert "f" not in types  # not one formula
    check_log(rows, plan, result.run_id, journal)
    assert load_workbook(path).worksheets[0].title == "Results"


def test_the_format_can_be_forced_and_a_wrong_one_is_refused(finished_run, journal, tmp_path) -> None:
    _, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.txt", "csv")
    assert read_csv(path)[0] == list(LOG_COLUMNS)
    with pytest.raises(ExportError):
        export_log(journal, result.run_id, tmp_path / "log.pdf")


def test_a_folder_that_cannot_be_written_is_a_clear_error(finished_run, journal, tmp_path) -> None:
    _, result = finished_run
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError) as caught:
        export_log(journal, result.run_id, blocker / "log.csv")
    assert caught.value.what_to_do.startswith("Choose another folder")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_unknown_run_writes_no_file(journal, tmp_path, fmt) -> None:
    with pytest.raises(KeyError):
        export_log(journal, "20260101-000000-abcdef", tmp_path / f"log.{fmt}")
    assert not (tmp_path / f"log.{fmt}").exists()


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_log_longer_than_a_chunk_of_the_journal(finished_run, journal, tmp_path, monkeypatch,
                                                  suffix) -> None:
    """The log is written as the journal is read, a chunk at a time: every row, in order."""
    plan, result = finished_run
    monkeypatch.setattr("ccdesk.core.journal.ITEM_CHUNK", 2)
    path = export_log(journal, result.run_id, tmp_path / f"log.{suffix}")
    rows = read_csv(path) if suffix == "csv" else read_xlsx(path)[0]
    check_log(rows, plan, result.run_id, journal)


def test_an_unfinished_run_says_so_in_its_log(cc, tmp_path, journal) -> None:
    import threading

    from ccdesk.core.runner import RunCancelled

    cancel = threading.Event()
    cancel.set()
    plan = plan_for(cc, tmp_path, ["ada@example.org", "ben@example.org"])
    with pytest.raises(RunCancelled) as stopped:
        start_run(plan, cc, journal, cancel=cancel)
    rows = read_csv(export_log(journal, stopped.value.run_id, tmp_path / "log.csv"))
    assert [r[4] for r in rows[1:]] == ["not done yet", "not done yet"]


def test_control_characters_do_not_break_the_xlsx_log(cc, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["x\x01y@example.org", "bell\x07@example.org", "ada@example.org"])
    result = start_run(plan, cc, journal)
    rows, types = read_xlsx(export_log(journal, result.run_id, tmp_path / "log.xlsx"))
    assert len(rows) == 4 and "f" not in types
    assert rows[1][1] == "x\ufffdy@example.org" and rows[2][1] == "bell\ufffd@example.org"
    csv_rows = read_csv(export_log(journal, result.run_id, tmp_path / "log.csv"))
    assert csv_rows[1][1] == "x\x01y@example.org"  # CSV keeps the text as it was


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_preview_export(cc, tmp_path, suffix) -> None:
    plan = plan_for(cc, tmp_path, VALUES)
    path = export_preview(plan, tmp_path / f"preview.{suffix}")
    if suffix == "csv":
        rows: list[list[object]] = read_csv(path)
    else:
        rows, types = read_xlsx(path)
        assert "f" not in types
    assert tuple(rows[0]) == PREVIEW_COLUMNS
    assert len(rows) == len(plan.items) + 1
    cells = [str(v) for row in rows[1:] for v in row if v is not None]
    assert not any(c.startswith(DANGEROUS) for c in cells)
    assert "'+1 555 0100" in cells
    notes = {r[1]: r[4] for r in rows[1:]}
    assert notes["eve@example.org"] == "Stays on Newsletter"
