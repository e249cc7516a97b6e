"""The whole job in the window, on the demo account: account → sheet → preview → run →
results → log → undo → history. Asserts on what the window shows."""

from __future__ import annotations

import csv
import datetime
import re
from pathlib import Path

import openpyxl
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent

from ccdesk.core.journal import Journal
from ccdesk.gui import words
from ccdesk.gui.models import CATEGORY_ROLE, EMAIL_ROLE, ROW_ROLE
from tests.gui.conftest import SAMPLE, WAIT, open_sample, preview, run_preview


def test_demo_account_is_shown_with_a_banner(make_window, shot):
    window = make_window()
    assert window.demo_banner.isVisible()
    assert "nothing real is touched" in window.demo_banner.text()
    assert window.windowTitle() == "ccdesk (demo)"
    window.go("account")
    page = window.account_page
    assert page.organisation.text() == "Harbourview Members' Association (demo)"
    assert page.login.text().startswith("Connected as office@harbourview.example.org")
    assert "requests left today: 9,9" in page.quota.text()
    assert page.leave_demo_button.isVisible() and not page.disconnect_button.isVisible()
    assert "Harbourview" in window.account_line.text()
    shot(window, "01-account-demo")


def test_whole_flow(make_window, qtbot, dialogs, shot, tmp_path, monkeypatch):
    window = make_window()
    # Connected at start-up: the window goes straight to the spreadsheet step.
    assert window.current_page() == "sheet"
    assert not window.step_buttons["preview"].isEnabled()
    shot(window, "02-sheet-empty")

    # -- the spreadsheet
    open_sample(qtbot, window)
    page = window.sheet_page
    assert window.windowTitle() == "upgraded-members.xlsx — ccdesk (demo)"
    assert "row 3" in page.found.text() and "column B" in page.found.text()
    assert page.sheet_choice.currentText() == "Upgrades"
    assert page.header_choice.value() == 3
    assert page.column_choice.currentData() == "B"
    assert page.grid_model.rowCount() >= 20
    assert page.grid_model.headerData(2, Qt.Orientation.Vertical) == "3"  # Excel row numbers
    counts = page.counts.text()
    assert "52 data rows" in counts and "48 addresses ready" in counts
    assert "2 invalid addresses" in counts and "1 repeated address" in counts
    assert "1 row without an address" in counts
    assert page.problems_button.text() == "See the 4 rows with pro&blems"
    page.problems_button.click()
    assert page.problems.isVisible()
    assert page.problems.model.rowCount() == 4
    assert page.next_button.isEnabled()
    shot(window, "03-sheet-read")

    # -- what will happen
    page.next_button.click()
    assert window.current_page() == "preview"
    pp = window.preview_page
    qtbot.waitUntil(lambda: pp.lists_loaded, timeout=WAIT)
    assert pp.lists_model.checked_names() == ["Free Members"]  # a first-time guess
    assert pp.action_buttons["remove"].isChecked()
    assert "undo" in pp.action_note.text()
    shot(window, "04-preview-choices")
    ready = preview(qtbot, window)
    assert ready.summary.startswith("40 will be removed from Free Members")
    assert "40 will be removed from Free Members" in pp.summary.text()
    assert pp.tile_change.number.text() == "40"
    assert pp.tile_skip.number.text() == "8"
    assert pp.tile_problem.number.text() == "4"
    assert "3 are not on Free Members, 2 are not in Constant Contact" in pp.summary.text()
    # The account, the privileges, the lists, one page, then the six addresses not on it one by
    # one (more if a request had to be retried).
    spent = ready.plan.cost.lookup_spent
    assert spent >= 10 and f"used {spent} requests" in pp.cost.text()
    assert ("1 page of the 199 members of Free Members, then 6 look-ups for the addresses not on "
            "it") in pp.cost.text()
    table = pp.table
    assert table.model.rowCount() == 52 and table.shown.text() == "52 rows"
    assert table.view.isColumnHidden(4)
    # filter by outcome, then search
    table.choose(words.CHANGE)
    assert table.model.rowCount() == 40
    assert all(table.model.index(r, 0).data(CATEGORY_ROLE) == words.CHANGE for r in range(40))
    table.search.setText("ximena.diaz1")
    qtbot.waitUntil(lambda: table.model.rowCount() == 1)
    assert table.model.index(0, 0).data(ROW_ROLE) == 4
    assert table.shown.text() == "1 of 52 rows"
    table.choose(None)
    table.search.clear()
    qtbot.waitUntil(lambda: table.model.rowCount() == 52)
    assert pp.run_button.isEnabled()
    assert pp.run_button.text() == "&Run: Remove 40 members from Free Members…"
    shot(window, "05-preview-result")

    # -- export the preview
    dialogs.save_as = (str(tmp_path / "preview.csv"), "csv")
    with qtbot.waitSignal(window.statusBar().messageChanged, timeout=WAIT):
        pp.export_button.click()
    with open(tmp_path / "preview.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:4] == ["Sheet row", "Email", "Outcome", "Reason"] and len(rows) == 53

    # -- run
    run_id = run_preview(qtbot, window)
    assert dialogs.confirm_run_args["count"] == 40
    assert dialogs.confirm_run_args["lists"] == "Free Members"
    results = window.results_page
    assert window.current_page() == "results"
    assert results.outcome.text().startswith(
        "<b>Finished: 40 contacts removed from Free Members and checked in Constant Contact.")
    assert results.tile_done.number.text() == "40"
    assert results.tile_verified.number.text() == "40"
    assert results.tile_failed.number.text() == "0"
    assert results.table.model.rowCount() == 52
    assert results.undo_button.isEnabled()
    assert not results.retry_button.isEnabled()
    assert not results.resume_button.isVisible()
    with Journal(window.session.journal_path) as journal:
        removed = {i.email for i in journal.items(run_id) if i.outcome == "remove"}
    assert len(removed) == 40
    assert window.session.sandbox.members("Free Members").isdisjoint(removed)
    # the run page's table follows the journal and ended with every change checked
    run_table = window.run_page.table
    qtbot.waitUntil(lambda: run_table.model.counts().get(words.DONE) == 40, timeout=WAIT)
    assert window.run_page.bar.value() == 100
    shot(window.run_page, "06-run-finished")
    shot(window, "07-results")

    # -- the lists' sizes are read again after the run
    window.go("preview")
    qtbot.waitUntil(lambda: pp.lists_loaded, timeout=WAIT)
    free = next(i for i in range(pp.lists_model.rowCount())
                if pp.lists_model.index(i).data().startswith("Free Members"))
    assert pp.lists_model.index(free).data() == "Free Members — 159 members"
    assert not pp.result.isVisible()  # the preview that was run is put away
    window.go("results")

    # -- save the log, as xlsx and as csv
    for fmt in ("xlsx", "csv"):
        target = tmp_path / f"log.{fmt}"
        dialogs.save_as = (str(target), fmt)
        with qtbot.waitSignal(window.statusBar().messageChanged, timeout=WAIT):
            results.save_button.click()
        assert target.exists()
    # the dialog started in Documents, with a name a person recognises
    from ccdesk.core.export import documents_folder

    suggested = Path(dialogs.suggested[-2])
    assert suggested.parent == documents_folder()
    assert re.fullmatch(r"ccdesk – Free Members – \d{4}-\d{2}-\d{2}\.(xlsx|csv)", suggested.name)
    assert Path(dialogs.suggested[-1]).parent == tmp_path  # then where the last one went
    # once saved, the window offers to open it and to show it in its folder
    assert results.open_log_button.isVisible() and results.show_log_button.isVisible()
    assert str(tmp_path / "log.csv") in results.saved_note.text()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    results.open_log_button.click()
    results.show_log_button.click()
    assert opened == [str(tmp_path / "log.csv"), str(tmp_path)]
    shot(window, "07b-results-log-saved")
    # the log is a staff document: a summary first, plain words, real dates
    book = openpyxl.load_workbook(tmp_path / "log.xlsx", read_only=True)
    assert book.sheetnames == ["Summary", "Results"]
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Organisation"] == "Harbourview Members' Association (demo)"
    assert summary["Action"] == "Remove from the list"
    assert summary["Removed"] == 40
    rows = list(book["Results"].iter_rows(values_only=True))
    assert rows[0][0] == "Sheet row" and len(rows) == 53
    result = rows[0].index("Result")
    assert sum(1 for r in rows if r[result] == "Removed") == 40
    assert not any(r[result] and "_" in r[result] for r in rows[1:])  # no codes
    when = next(i for i, h in enumerate(rows[0]) if h.startswith("Time ("))
    assert all(isinstance(r[when], datetime.datetime) for r in rows[1:] if r[result] == "Removed")

    # -- undo
    dialogs.yes_no["Undo this run?"] = True
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        results.undo_button.click()
    undo_id, how = ended.args
    assert how == "finished" and undo_id != run_id
    qtbot.waitUntil(lambda: results.details is not None and results.details.run.run_id == undo_id,
                    timeout=WAIT)
    assert results.outcome.text().startswith("<b>Finished: 40 contacts put back on Free Members")
    assert not results.undo_button.isEnabled()
    assert removed <= window.session.sandbox.members("Free Members")
    shot(window, "08-undo-results")

    # -- history: both runs, newest first, the first one marked undone
    with qtbot.waitSignal(window.history_loaded, timeout=WAIT) as loaded:
        window.go("history")
    assert loaded.args == [2]
    hist = window.history_page
    assert hist.model.rowCount() == 2
    assert hist.proxy.index(0, 1).data().startswith("Undo")
    assert hist.proxy.index(1, 1).data() == "Remove from list: Free Members"
    assert hist.proxy.index(1, 4).data() == "40 removed"
    assert hist.proxy.index(1, 3).data().endswith(", then undone")  # History marks undone runs
    assert not hist.proxy.index(0, 3).data().endswith("undone")
    hist.view.setCurrentIndex(hist.proxy.index(1, 0))
    assert hist.open_button.isEnabled() and not hist.resume_button.isEnabled()
    shot(window, "09-history")
    hist.open_button.click()
    qtbot.waitUntil(lambda: results.details.run.run_id == run_id, timeout=WAIT)
    assert "This run was undone: its changes were put back by the undo of " in results.note.text()
    assert run_id not in results.note.text()  # no internal run id in a sentence
    assert not results.undo_button.isEnabled()
    assert dialogs.errors == []


def test_drag_and_drop_opens_the_sheet(make_window, qtbot):
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(SAMPLE)])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        window.dropEvent(event)
    assert window.sheet is not None and Path(window.sheet.path).name == "upgraded-members.xlsx"


def test_a_file_given_at_start_up_opens_once_connected(make_window, qtbot):
    """``ccdesk FILE`` (a file manager's "Open with"): the sheet opens when the account is ready."""
    from ccdesk.gui.main_window import MainWindow
    from ccdesk.gui.settings import Settings
    from tests.gui.conftest import fast_demo

    window = MainWindow(Settings(), demo=True, demo_factory=fast_demo)
    qtbot.addWidget(window)
    window.file_to_open = SAMPLE
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        window.show()
    assert window.current_page() == "sheet"
    assert window.windowTitle() == "upgraded-members.xlsx — ccdesk (demo)"
    assert window.file_to_open is None
    qtbot.waitUntil(lambda: not window.busy(), timeout=WAIT)


def test_changing_the_email_column_reads_again(make_window, qtbot, shot):
    window = make_window()
    open_sample(qtbot, window)
    page = window.sheet_page
    index = page.column_choice.findData("A")
    page.column_choice.setCurrentIndex(index)
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        page.column_choice.activated.emit(index)
    assert window.sheet.email_column_letter == "A"
    assert "There is nothing to do with this sheet" in page.counts.text()
    assert not page.next_button.isEnabled()
    shot(window, "03b-sheet-wrong-column")
    # a filter on Membership keeps the Sustainer rows only
    index = page.column_choice.findData("B")
    page.column_choice.setCurrentIndex(index)
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        page.column_choice.activated.emit(index)
    page.filter_column.setCurrentIndex(page.filter_column.findData("C"))
    page.filter_column.activated.emit(page.filter_column.currentIndex())
    page.filter_values.setText("Gold")
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        page.apply_filter.click()
    assert "Only rows whose Membership is Gold" in page.found.text()
    assert "0 addresses ready" in page.counts.text()


def test_the_run_is_refused_when_the_allowance_is_too_small(make_window, qtbot):
    from ccdesk.engine.session import SANDBOX_CLIENT_ID

    window = make_window()
    open_sample(qtbot, window)
    usage = window.session.usage  # the count every process of the demo shares (a file)
    usage.count(SANDBOX_CLIENT_ID, usage.remaining(SANDBOX_CLIENT_ID) - 5)  # 3 go on the look-up
    preview(qtbot, window)
    pp = window.preview_page
    assert "Not enough of today's Constant Contact allowance" in pp.summary.text()
    assert not pp.run_button.isEnabled()


def test_email_role_and_sorting(make_window, qtbot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    table = window.preview_page.table
    table.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    emails = [table.model.index(r, 0).data(EMAIL_ROLE) for r in range(table.model.rowCount())]
    assert emails == sorted(emails, key=str.casefold)
    table.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert table.model.index(0, 0).data(ROW_ROLE) == 55
