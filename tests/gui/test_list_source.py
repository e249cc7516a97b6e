"""The window with a Constant Contact list as the source (issue 16), on the demo account:
"Use a Constant Contact list instead", choose Sustainers, preview, run, and what the page,
the title, History and the results say."""

from __future__ import annotations

import pytest

from ccdesk.gui import words
from tests.gui.conftest import WAIT, open_sample, planned, preview, run_preview


def choose_list(qtbot, window, name: str = "Sustainers"):
    page = window.sheet_page
    page.list_button.click()
    dialog = page.list_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.lists.count() > 0, timeout=WAIT)
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        dialog.choose(name)
        dialog.use_button.click()
    return dialog


# The list chooser is a real dialog: the offscreen platform warns about its size hints.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_sustainers_as_the_source(make_window, qtbot, dialogs, shot):
    window = make_window()
    page = window.sheet_page
    assert page.list_button.isVisible() and page.list_button.text() == (
        "Use a Constant Contact &list instead…")
    page.list_button.click()
    dialog = page.list_dialog
    qtbot.waitUntil(lambda: dialog.lists.count() > 0, timeout=WAIT)
    texts = [dialog.lists.item(i).text() for i in range(dialog.lists.count())]
    assert "Sustainers (100 members)" in texts and "Free Members (199 members)" in texts
    assert dialog.current().name == "Sustainers"  # a first guess
    shot(dialog, "list-source-chooser")
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        dialog.use_button.click()

    # The page shows the list, not a file; Next leads on as for a sheet.
    assert page.file_label.text() == "The members of <b>Sustainers</b> (100)"
    assert not page.grid.isVisible() and not page.details.isVisible()
    assert "100 members" in page.counts.text()
    assert page.next_button.isEnabled()
    assert window.windowTitle() == "Sustainers (list) — ccdesk (demo)"
    assert window.settings.recent_files() == []  # a list is no recent file
    shot(window, "list-source-chosen")

    ready = preview(qtbot, window)
    assert ready.plan.sheet.from_list and ready.plan.sheet.sheet == "Sustainers"
    assert ready.counts["remove"] == 30
    assert ready.summary.startswith("30 will be removed from Free Members")
    assert sum(ready.counts.values()) == 100
    # The look-up is Sustainers' one page: account, privileges, lists, the page.
    assert ready.plan.cost.lookup_spent <= 3 + 1 + 2
    assert ready.plan.cost.lookup.explanation == "1 page of the 100 members of Sustainers"
    assert len(planned(window, ready)) == 30
    shot(window, "list-source-preview")

    run_id = run_preview(qtbot, window)
    results = window.results_page
    assert "Sustainers (list)" in results.about.text()
    window.go("history")
    model = window.history_page.model
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=WAIT)
    shown = {model.index(r, 2).data() for r in range(model.rowCount())}
    assert "Sustainers (list)" in shown
    assert run_id


def test_opening_a_file_after_a_list_shows_the_file(make_window, qtbot, dialogs):
    window = make_window()
    choose_list(qtbot, window)
    open_sample(qtbot, window)
    page = window.sheet_page
    assert page.grid.isVisible() and "upgraded-members.xlsx" in page.file_label.text()
    assert not window.state.sheet.from_list
    # and back to a list: the sheet's rows leave the screen
    choose_list(qtbot, window)
    assert not page.grid.isVisible() and "Sustainers" in page.file_label.text()
    assert words.plural(100, "member") in page.counts.text()
