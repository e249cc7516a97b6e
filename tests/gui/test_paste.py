"""Paste addresses: text copied from an email, through the real dialog, read like a sheet and
previewed on the demo account."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from ccdesk.paths import data_dir
from tests.gui.conftest import WAIT, preview

# The offscreen platform warns when a real dialog is shown.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

# Copied from an email (the demo account's members): a quoted surname-first name, names in
# angle brackets, mixed separators, Windows line ends, a blank line, an address in another case
# that repeats one above, one member not on Free Members, one unknown to the account and a typo.
EMAIL = ('"Diaz, Ximena" <ximena.diaz1@example.com>; Sven Brown <sven.brown2@example.net>, '
         "femi.quist3@mail.example.org\r\nPriya Patel <priya.patel10@example.org>\r\n\r\n"
         "Rosa Evans <rosa.evans7@example.net>; robin.newcomer@example.net, "
         "sam.typo at example.org\nXimena.Diaz1@Example.Com\n")


def open_paste_dialog(qtbot, window):
    page = window.sheet_page
    assert page.paste_button.isVisible() and page.paste_button.isEnabled()
    page.paste_button.click()
    dialog = page.paste_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT)
    assert dialog.isModal() and dialog.focusWidget() is dialog.text
    return dialog


def test_pasted_addresses_are_read_and_previewed(make_window, qtbot, dialogs, shot):
    window = make_window()
    assert window.current_page() == "sheet"
    folder_before = window.settings.last_folder
    dialog = open_paste_dialog(qtbot, window)
    assert dialog.found.text() == "Nothing pasted yet." and not dialog.ok.isEnabled()
    dialog.set_text(EMAIL)
    assert dialog.found.text() == ("<b>6 addresses found</b> · 1 repeat · 1 piece that is not "
                                   "an address.")
    assert dialog.ok.isEnabled()
    shot(dialog, "paste-dialog")
    # Enter makes a new line in the box; Ctrl+Enter says OK.
    qtbot.keyClick(dialog.text, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.pasted().endswith("\n\n")
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT) as loaded:
        qtbot.keyClick(dialog.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.sheet_page.paste_dialog is None, timeout=WAIT)

    sheet = loaded.args[0].sheet
    path = Path(sheet.path)
    assert path.parent == data_dir() / "pasted" and path.name.startswith("pasted ")
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert window.settings.last_folder == folder_before  # Open does not start in "pasted"
    page = window.sheet_page
    assert page.file_label.text() == f"Pasted addresses, kept as <b>{path.name}</b>"
    counts = page.counts.text()
    assert "8 data rows" in counts and "6 addresses ready" in counts
    assert "1 invalid address" in counts and "1 repeated address" in counts
    assert page.problems_button.text() == "See the 2 rows with pro&blems"
    page.problems_button.click()
    assert page.problems.model.rowCount() == 2
    assert page.next_button.isEnabled()
    window.resize(1024, 600)
    shot(window, "paste-sheet-1024x600")

    ready = preview(qtbot, window)
    assert ready.summary.startswith("4 will be removed from Free Members"), ready.summary
    pp = window.preview_page
    assert pp.tile_change.number.text() == "4"
    assert pp.tile_skip.number.text() == "2"  # not on Free Members; not in the account
    assert pp.tile_problem.number.text() == "2"
    assert dialogs.errors == []


def test_cancel_changes_nothing(make_window, qtbot, dialogs):
    window = make_window()
    dialog = open_paste_dialog(qtbot, window)
    dialog.set_text("ada@example.org")
    qtbot.keyClick(dialog.text, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.sheet_page.paste_dialog is None, timeout=WAIT)
    assert window.state.sheet is None
    assert not (data_dir() / "pasted").exists() or not any((data_dir() / "pasted").iterdir())
    assert "No spreadsheet is open" in window.sheet_page.file_label.text()


def test_nothing_but_junk_says_so(make_window, qtbot, dialogs):
    window = make_window()
    dialog = open_paste_dialog(qtbot, window)
    dialog.set_text("Hello,\nplease take these off the list\nThanks")
    assert "<b>0 addresses found</b>" in dialog.found.text()
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        dialog.ok.click()
    page = window.sheet_page
    assert "nothing to do" in page.counts.text()
    assert not page.next_button.isEnabled()


def test_a_long_paste_is_counted_when_typing_pauses(make_window, qtbot, dialogs):
    window = make_window()
    dialog = open_paste_dialog(qtbot, window)
    text = "\n".join(f"Member {i} <member.{i}@example.org>" for i in range(1000))
    assert len(text) > dialog.COUNT_AT_ONCE
    dialog.set_text(text)
    assert dialog.found.text() == "Counting…" and dialog.ok.isEnabled()
    qtbot.waitUntil(lambda: dialog.found.text() == "<b>1,000 addresses found</b>.", timeout=WAIT)
    dialog.set_text(" ,\n;" * 6000)  # long, and nothing in it
    assert not dialog.ok.isEnabled()
    qtbot.waitUntil(lambda: dialog.found.text() == "Nothing pasted yet.", timeout=WAIT)
    dialog.reject()
