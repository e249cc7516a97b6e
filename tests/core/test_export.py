"""The results log (and the preview) as XLSX and CSV, read back the way a person's spreadsheet
program would: a Summary in plain words, one row per sheet row, and no cell that runs as a
formula."""

from __future__ import annotations

import csv
import datetime as dt
import re
import socket
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ccdesk.core import export
from ccdesk.core.export import (
    LOG_COLUMNS,
    PREVIEW_COLUMNS,
    ExportError,
    documents_folder,
    export_log,
    export_preview,
    neutralise,
    split_message,
    suggested_log_name,
    write_table,
)
from ccdesk.core.journal import BatchRecord, ItemRecord, RunRecord
from ccdesk.core.lookup import Action
from ccdesk.core.runner import start_run, undo_run
from ccdesk.gui import words
from tests.cc.conftest import reset_and_connect
from tests.core.conftest import free_members_account, plan_for

pytestmark = pytest.mark.timeout(60)

HOSTILE = ['=HYPERLINK("http://x")', "+1 555 0100", "-2+3", "@SUM(A1:A2)", "\tann@example.org;x",
           "\r=1+1", "=cmd|' /C calc'!A0"]
VALUES = ["ada@example.org", "gus@example.org", *HOSTILE, "", "ADA@example.org", "eve@example.org"]
#: Every way a spreadsheet may still read a cell as a formula.
FORMULA_VARIANTS = [
    "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =1+1", "   +1", "\n=1", "\r\n-1",
    "\u00a0=1", "\u200b=1", "\u200c+1", "\u200d-1", "\ufeff@x", " \u00a0\u200b=1",
    "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", " \uff1d1", "\u2212 1",
]
CODE = re.compile(r"^[a-z]+(_[a-z]+)+$")  # skip_not_on_list, filtered_out …
STARTED = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d:\d\d \(.+\)")


@pytest.fixture
def finished_run(cc, sandbox, tmp_path, journal):
    plan = plan_for(cc, tmp_path, VALUES, name="members.xlsx")
    assert plan.counts == {"remove": 2, "skip_not_on_list": 1, "invalid": len(HOSTILE), "blank": 1,
                           "duplicate": 1}
    result = start_run(plan, cc, journal, program="the window")
    return plan, result


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def read_xlsx(path: Path, sheet: str = "Results") -> tuple[list[list[object]], list[str]]:
    """The rows of a sheet, and the data types openpyxl saw ("f" = formula)."""
    book = load_workbook(path)
    rows = [[c.value for c in row] for row in book[sheet].iter_rows()]
    types = [c.data_type for ws in book.worksheets for row in ws.iter_rows() for c in row]
    return rows, types


def summary_of(path: Path) -> dict[str, object]:
    sheet = load_workbook(path)["Summary"]
    return {row[0].value: row[1].value for row in sheet.iter_rows() if row[0].value}


def by_email(rows: list[list[object]], columns: list[object]) -> dict[object, dict[object, object]]:
    out: dict[object, dict[object, object]] = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        out.setdefault(record["Email"], record)  # the first row of an address
    return out


# ---- the XLSX log --------------------------------------------------------------------------------

def test_the_xlsx_log_opens_on_a_summary_in_plain_words(finished_run, journal, tmp_path) -> None:
    plan, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "Results"]
    summary = summary_of(path)
    assert summary["Organisation"] == plan.account.organization_name
    assert summary["List"] == "Free Members"
    assert summary["Action"] == "Remove from the list"
    assert summary["Spreadsheet"] == plan.sheet.path
    assert summary["Run by"] == f"The window on {socket.gethostname()}"
    assert STARTED.fullmatch(str(summary["Started"])) and STARTED.fullmatch(str(summary["Ended"]))
    assert summary["Members' names"] == "From the spreadsheet: Name"
    assert summary["Run"] == result.run_id
    # The totals, in the window's words and the window's numbers.
    groups = words.result_groups(journal.result_counts(result.run_id))
    assert {k: summary[k] for k in ("Removed", "Skipped: nothing to do", "Problems in the sheet",
                                    "Failed", "Not done yet")} == {
        "Removed": groups["done"], "Skipped: nothing to do": groups["skipped"],
        "Problems in the sheet": groups["problems"], "Failed": groups["failed"],
        "Not done yet": groups["waiting"]}
    assert summary["Removed"] == 2 and summary["Checked in Constant Contact"] == 2
    assert summary["Rows in the sheet"] == len(plan.items)


def test_the_xlsx_results_sheet(finished_run, journal, tmp_path) -> None:
    plan, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    rows, types = read_xlsx(path)
    assert "f" not in types  # not one formula, anywhere
    heading = rows[0]
    assert heading[:3] == ["Sheet row", "Name", "Email"]
    assert heading[3:-1] == list(LOG_COLUMNS[2:-1])
    assert re.fullmatch(r"Time \((UTC([+-]\d\d:\d\d)?|\w+/[\w/+-]+)\)", str(heading[-1]))
    body = rows[1:]
    assert [r[0] for r in body] == [i.row for i in plan.items]  # one row per sheet row
    assert [r[1] for r in body] == [f"Member {i}" for i in range(len(VALUES))]
    items = {i.row: i for i in journal.items(result.run_id)}
    for row in body:
        item = items[row[0]]
        assert (row[2] or "") == (item.email or item.value)  # as written, no apostrophe
        assert isinstance(row[-1], dt.datetime)
        assert abs(row[-1] - dt.datetime.fromtimestamp(item.updated_at)) < dt.timedelta(seconds=1)
        for cell in row[4:-1]:
            assert not CODE.match(str(cell or "")), cell  # words, not codes
    found = by_email(body, heading)
    ada = found["ada@example.org"]
    assert ada["Result"] == "Removed" and ada["Planned"] == "Remove from Free Members"
    assert ada["Note"] == "Checked in Constant Contact" and not ada["Constant Contact's message"]
    assert ada["Contact id"]
    assert found["gus@example.org"]["Result"] == "Skipped: not on Free Members"
    assert found['=HYPERLINK("http://x")']["Result"] == "Problem: not a valid address"
    assert found["eve@example.org"]["Result"] == "Removed"
    assert {r[5] for r in body} >= {"Problem: repeated address", "Problem: no address"}
    sheet = load_workbook(path)["Results"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["C1"].font.b
    assert sheet.column_dimensions["C"].width == 34 and sheet.column_dimensions["B"].width == 20
    assert sheet.cell(2, len(heading)).is_date


@pytest.mark.parametrize("address", ["-bob@example.org", "=x@example.org", "+ann@example.org"])
def test_xlsx_keeps_an_address_exactly_as_written(cc, tmp_path, journal, address) -> None:
    plan = plan_for(cc, tmp_path, [address, "ada@example.org"], name="members.xlsx")
    result = start_run(plan, cc, journal)
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    cell = load_workbook(path)["Results"]["C2"]
    assert cell.value == address and cell.data_type == "s"
    assert read_csv(export_log(journal, result.run_id, tmp_path / "log.csv"))[1][2] == "'" + address


def test_names_are_left_out_with_a_note_when_the_sheet_changed(finished_run, journal,
                                                                tmp_path) -> None:
    plan, result = finished_run
    Path(plan.sheet.path).write_bytes(Path(plan.sheet.path).read_bytes() + b"\0")
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    assert summary_of(path)["Members' names"] == "Not included: the spreadsheet has changed since the run"
    rows, _ = read_xlsx(path)
    assert rows[0][:2] == ["Sheet row", "Email"] and "Name" not in rows[0]
    Path(plan.sheet.path).unlink()
    path = export_log(journal, result.run_id, tmp_path / "log2.xlsx")
    assert str(summary_of(path)["Members' names"]).startswith("Not included: the spreadsheet is no longer")


def test_a_sheet_without_name_columns_says_so(cc, tmp_path, journal) -> None:
    sheet = tmp_path / "plain.csv"
    sheet.write_text("Email,Membership\nada@example.org,Sustainer\n", encoding="utf-8")
    from ccdesk.core.plan import preview
    from ccdesk.core.sheet import read_sheet

    plan = preview(cc, read_sheet(sheet), Action.REMOVE, ["Free Members"])
    result = start_run(plan, cc, journal)
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    assert summary_of(path)["Members' names"] == "None: the sheet has no name columns"
    assert read_xlsx(path)[0][0][:2] == ["Sheet row", "Email"]


@pytest.mark.parametrize(("action", "words_", "done"), [
    (Action.REMOVE_ALL, "Remove from all lists", "Removed"),
    (Action.UNSUBSCRIBE, "Unsubscribe (permanent)", "Unsubscribed"),
])
def test_the_summary_names_each_action(cc, tmp_path, journal, action, words_, done) -> None:
    plan = plan_for(cc, tmp_path, ["ada@example.org", "nobody@example.org"], action=action)
    result = start_run(plan, cc, journal)
    path = export_log(journal, result.run_id, tmp_path / "log.xlsx")
    summary = summary_of(path)
    assert summary["Action"] == words_ and summary[done] == 1
    rows, _ = read_xlsx(path)
    found = by_email(rows[1:], rows[0])
    assert found["ada@example.org"]["Result"] == done
    assert suggested_log_name(journal.run(result.run_id), "xlsx").startswith(
        "ccdesk – Remove from all lists – " if action is Action.REMOVE_ALL else "ccdesk – Unsubscribe – ")


def test_the_log_of_an_undo(finished_run, cc, journal, tmp_path) -> None:
    _, result = finished_run
    undone = undo_run(result.run_id, cc, journal)
    path = export_log(journal, undone.run_id, tmp_path / "undo.xlsx")
    summary = summary_of(path)
    assert summary["Action"] == "Undo: put back on the list" and summary["Put back"] == 2
    assert summary["Undoes run"] == result.run_id
    assert summary["Members' names"] == "From the spreadsheet: Name"  # the original run's options
    rows, _ = read_xlsx(path)
    assert {r[4] for r in rows[1:]} == {"Put back on Free Members"}
    assert {r[5] for r in rows[1:]} == {"Put back"}


def test_an_unfinished_run_says_so_in_its_log(cc, tmp_path, journal) -> None:
    import threading

    from ccdesk.core.runner import RunCancelled

    cancel = threading.Event()
    cancel.set()
    plan = plan_for(cc, tmp_path, ["ada@example.org", "ben@example.org"])
    with pytest.raises(RunCancelled) as stopped:
        start_run(plan, cc, journal, cancel=cancel)
    rows = read_csv(export_log(journal, stopped.value.run_id, tmp_path / "log.csv"))
    assert [r[5] for r in rows[1:]] == ["Not done yet", "Not done yet"]
    summary = summary_of(export_log(journal, stopped.value.run_id, tmp_path / "log.xlsx"))
    assert summary["Not done yet"] == 2 and summary["Ended"] == "Not finished: stopped, can be resumed"


# ---- Constant Contact's words, apart ---------------------------------------------------------------

def test_a_refused_batch_keeps_constant_contacts_words_apart(sandbox, tmp_path, journal) -> None:
    client = reset_and_connect(sandbox, free_members_account(3))
    plan = plan_for(client, tmp_path, [f"m{i}@example.org" for i in range(3)])
    sandbox.faults.add(r"/v3/activities/remove_list_memberships$", method="POST", status=400)
    result = start_run(plan, client, journal)
    rows = read_csv(export_log(journal, result.run_id, tmp_path / "log.csv"))
    found = by_email(rows[1:], rows[0])
    m0 = found["m0@example.org"]
    assert m0["Result"] == "Failed" and m0["Note"] == "Refused by Constant Contact"
    assert m0["Constant Contact's message"] == "An internal server error occurred."


def test_an_activity_with_errors_keeps_constant_contacts_words_apart(sandbox, tmp_path,
                                                                     journal) -> None:
    client = reset_and_connect(sandbox, free_members_account(3))
    plan = plan_for(client, tmp_path, [f"m{i}@example.org" for i in range(3)])
    sandbox.faults.activity("errors", errors=1)
    result = start_run(plan, client, journal)
    rows, _ = read_xlsx(export_log(journal, result.run_id, tmp_path / "log.xlsx"))
    found = by_email(rows[1:], rows[0])
    failed = found["m0@example.org"]
    assert failed["Result"] == "Failed" and failed["Note"] == "Still on Free Members"
    message = str(failed["Constant Contact's message"])
    assert message.startswith("Contact ") and failed["Contact id"] in message
    assert "ccdesk" not in message and not message.startswith("Still")
    assert found["m1@example.org"]["Constant Contact's message"] is None


def _item(message: str, *, batch: int | None = None, contact_id: str = "c1") -> ItemRecord:
    return ItemRecord(row=2, email="a@example.org", value="a@example.org", contact_id=contact_id,
                      outcome="remove", reason="", list_ids=["l1"], state="failed", result="failed",
                      verified=False, cc_message=message, batch=batch, updated_at=0.0)


def _batch(message: str) -> BatchRecord:
    return BatchRecord(batch=1, kind="remove_list_memberships", list_ids=["l1"], size=1,
                       state="failed", activity_id="a", server_created_at=None, sent_at=None,
                       finished_at=None, message=message)


@pytest.mark.parametrize(("message", "batch", "expected"), [
    ("Checked in Constant Contact", None, ("Checked in Constant Contact", "")),
    ("Confirmed by Constant Contact", None, ("Confirmed by Constant Contact", "")),
    ("Refused by Constant Contact: Bad list id.", None, ("Refused by Constant Contact", "Bad list id.")),
    ("Refused by Constant Contact: Constant Contact did not accept the request", None,
     ("Constant Contact did not accept the request", "")),
    ("Contact not found", None, ("", "Contact not found")),
    ("Not found in Constant Contact", None, ("Not found in Constant Contact", "")),  # ccdesk's title
    ("Still on Free Members. Contact c1: invalid", "Contact c1: invalid; Contact c2: gone",
     ("Still on Free Members", "Contact c1: invalid")),
    ("Still on A. B. Contact c1 x", "Contact c1 x", ("Still on A. B", "Contact c1 x")),
    ("Still on Free Members. Constant Contact's job failed: The activity failed",
     "Constant Contact's job failed: The activity failed",
     ("Still on Free Members. Constant Contact's job failed", "The activity failed")),
    ("Still on Free Members. Constant Contact no longer reports on this job",
     "Constant Contact no longer reports on this job",
     ("Still on Free Members. Constant Contact no longer reports on this job", "")),
    ("Still not on Free Members", "", ("Still not on Free Members", "")),
])
def test_split_message(message, batch, expected) -> None:
    batches = {} if batch is None else {1: _batch(batch)}
    assert split_message(_item(message, batch=None if batch is None else 1), batches) == expected


# ---- CSV ---------------------------------------------------------------------------------------

def test_the_csv_log_is_the_plain_table(finished_run, journal, tmp_path) -> None:
    plan, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = read_csv(path)
    xlsx, _ = read_xlsx(export_log(journal, result.run_id, tmp_path / "log.xlsx"))
    assert rows[0] == xlsx[0]  # one heading row, the same as the XLSX's (no summary lines)
    assert len(rows) == 1 + len(plan.items)
    items = {i.row: i for i in journal.items(result.run_id)}
    for row, same in zip(rows[1:], xlsx[1:], strict=True):
        item = items[int(row[0])]
        shown = item.email or item.value
        assert row[2] == (neutralise(shown) if shown else "")
        assert [c or None for c in row[3:-1]] == same[3:-1]  # the same words
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[-1])
        assert row[-1] == same[-1].strftime("%Y-%m-%d %H:%M:%S")
        for cell in row:
            assert not export.is_formula_like(cell), cell
    found = by_email(rows[1:], rows[0])
    assert found["gus@example.org"]["Result"] == "Skipped: not on Free Members"
    assert found["'=HYPERLINK(\"http://x\")"]["Result"] == "Problem: not a valid address"


@pytest.mark.parametrize("text", FORMULA_VARIANTS)
def test_every_formula_variant_is_neutralised_in_csv(tmp_path, text) -> None:
    path = write_table(tmp_path / "t.csv", ["A", "B"], [[text, "ok@example.org"]])
    rows = read_csv(path)
    assert rows[1] == ["'" + text, "ok@example.org"]


@pytest.mark.parametrize("text", ["ada@example.org", "a-b@example.org", "1+1", " plain", "\u00a0x",
                                  "", "'=already"])
def test_harmless_text_is_left_alone(text) -> None:
    assert neutralise(text) == text


def test_the_format_can_be_forced_and_a_wrong_one_is_refused(finished_run, journal, tmp_path) -> None:
    _, result = finished_run
    path = export_log(journal, result.run_id, tmp_path / "log.txt", "csv")
    assert read_csv(path)[0][:3] == ["Sheet row", "Name", "Email"]
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
    assert [int(r[0]) for r in rows[1:]] == [i.row for i in plan.items]


def test_control_characters_do_not_break_the_xlsx_log(cc, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["x\x01y@example.org", "bell\x07@example.org", "ada@example.org"])
    result = start_run(plan, cc, journal)
    rows, types = read_xlsx(export_log(journal, result.run_id, tmp_path / "log.xlsx"))
    assert len(rows) == 4 and "f" not in types
    assert rows[1][2] == "x\ufffdy@example.org" and rows[2][2] == "bell\ufffd@example.org"
    csv_rows = read_csv(export_log(journal, result.run_id, tmp_path / "log.csv"))
    assert csv_rows[1][2] == "x\x01y@example.org"  # CSV keeps the text as it was


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_preview_export(cc, tmp_path, suffix) -> None:
    plan = plan_for(cc, tmp_path, VALUES)
    path = export_preview(plan, tmp_path / f"preview.{suffix}")
    if suffix == "csv":
        rows: list[list[object]] = read_csv(path)
        cells = [str(v) for row in rows[1:] for v in row if v is not None]
        assert not any(export.is_formula_like(c) for c in cells)
        assert "'+1 555 0100" in cells
    else:
        rows, types = read_xlsx(path, "Preview")
        assert "f" not in types
        assert "+1 555 0100" in [r[1] for r in rows]
    assert tuple(rows[0]) == PREVIEW_COLUMNS
    assert len(rows) == len(plan.items) + 1
    notes = {r[1]: r[4] for r in rows[1:]}
    assert notes["eve@example.org"] == "Stays on Newsletter"


# ---- the window's words, kept the same ----------------------------------------------------------

@pytest.mark.parametrize("counts", [
    {}, {"removed": 40, "skip_not_on_list": 6, "skip_unsubscribed": 2, "invalid": 2, "duplicate": 1,
         "blank": 1},
    {"unsubscribed": 3, "failed": 2, "planned": 4, "sent": 1, "skip_deleted": 1, "filtered_out": 7},
    {"re-added": 5, "remove": 1, "unsubscribe": 1, "re_add": 1, "skip_not_found": 2, "odd": 1},
])
def test_the_totals_are_the_windows(counts) -> None:
    """The Summary's totals are the Results page's groups (the words are shared)."""
    for action in ("remove", "remove-all", "unsubscribe", "undo", "other"):
        totals = dict(export.result_totals(action, counts, 0))
        groups = words.result_groups(counts)
        assert totals[words.done_word(action).capitalize()] == groups["done"]
        assert (totals["Skipped: nothing to do"], totals["Problems in the sheet"], totals["Failed"],
                totals["Not done yet"]) == (groups["skipped"], groups["problems"], groups["failed"],
                                            groups["waiting"])
    assert set(export.ACTION_WORDS) == set(words.ACTION_TITLES)


def test_a_result_in_words_is_never_a_code() -> None:
    run = _run("remove", ["Free Members", "Trial"])
    for result in ("skip_not_on_list", "skip_not_found", "skip_unsubscribed", "skip_deleted",
                   "invalid", "duplicate", "blank", "filtered_out"):
        item = ItemRecord(row=2, email=None, value="", contact_id=None, outcome=result, reason="",
                          list_ids=[], state="skipped", result=result, verified=False,
                          cc_message="", batch=None, updated_at=0.0)
        text = export.result_words(run, item)
        assert not CODE.match(text) and "_" not in text, text
    item.result = item.outcome = "skip_not_on_list"
    assert export.result_words(run, item) == "Skipped: not on Free Members, Trial"
    assert export.result_words(_run("remove-all", []), item) == "Skipped: on no list"


# ---- the name and the folder offered --------------------------------------------------------------

def _run(action: str, names: list[str], created_at: float | None = None) -> RunRecord:
    when = created_at if created_at is not None else dt.datetime(2026, 12, 4, 12).timestamp()
    return RunRecord(run_id="r", created_at=when, updated_at=when, file_path="m.xlsx",
                     file_sha256="", sheet="", action=action,
                     lists=[{"list_id": f"l{i}", "name": n} for i, n in enumerate(names)],
                     account={}, state="finished")


@pytest.mark.parametrize(("action", "names", "fmt", "expected"), [
    ("remove", ["Free Members"], "xlsx", "ccdesk – Free Members – 2026-12-04.xlsx"),
    ("remove", ["Free Members", "Trial"], "csv", "ccdesk – Free Members, Trial – 2026-12-04.csv"),
    ("remove-all", [], "xlsx", "ccdesk – Remove from all lists – 2026-12-04.xlsx"),
    ("unsubscribe", [], "xlsx", "ccdesk – Unsubscribe – 2026-12-04.xlsx"),
    ("undo", ["Free Members"], "xlsx", "ccdesk – Undo – Free Members – 2026-12-04.xlsx"),
    ("remove", ['A/B: "C" <d>|e?*\\f'], "xlsx", "ccdesk – A-B- -C- -d--e---f – 2026-12-04.xlsx"),
    ("remove", ["Members 2026.", "  tab\there  "], "XLSX",
     "ccdesk – Members 2026., tab-here – 2026-12-04.xlsx"),
    ("remove", ["..."], "csv", "ccdesk – run – 2026-12-04.csv"),
])
def test_suggested_log_name(action, names, fmt, expected) -> None:
    name = suggested_log_name(_run(action, names), fmt)
    assert name == expected
    assert not re.search(r'[<>:"/\\|?*\x00-\x1f]', name)


def test_a_long_list_name_is_shortened() -> None:
    name = suggested_log_name(_run("remove", ["x" * 300]), "xlsx")
    assert len(name) < 120 and name.endswith("… – 2026-12-04.xlsx")
    with pytest.raises(ExportError):
        suggested_log_name(_run("remove", ["x"]), "pdf")


def test_documents_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("platformdirs.user_documents_dir", lambda: str(tmp_path))
    assert documents_folder() == tmp_path
    monkeypatch.setattr("platformdirs.user_documents_dir", lambda: str(tmp_path / "none"))
    assert documents_folder() == Path.home()
