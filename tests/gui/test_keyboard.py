"""The window from the keyboard alone: the whole demo job, one Tab stop per table, Enter
presses the default button, every control has its own Alt key, and focus is always visible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QGroupBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from ccdesk.gui import dialogs
from tests.gui.conftest import WAIT, open_sample, preview
from tests.gui.test_account import account_session, oauth_sandbox  # noqa: F401 - a fixture

# The real confirmation dialog (the dialogs fixture stands in for it elsewhere).
REAL_CONFIRM = dialogs.ConfirmRunDialog.__dict__["ask"]

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def mnemonic(text: str) -> str | None:
    """The Alt key of a control's text ("Sa&ve" → "v"; "&&" is a plain ampersand)."""
    i = 0
    while (i := text.find("&", i)) != -1 and i + 1 < len(text):
        if text[i + 1] == "&":
            i += 2
            continue
        return text[i + 1].lower()
    return None


def alt_keys(window: Any) -> dict[str, list[str]]:
    """Every Alt key usable on the window as shown: the menu bar's, the demo banner's and the
    current page's (visible controls only), each with the controls that use it."""
    keys: dict[str, list[str]] = {}
    for action in window.menuBar().actions():
        if (m := mnemonic(action.text())) is not None:
            keys.setdefault(m, []).append(f"menu {action.text()!r}")
    roots: list[QWidget] = [window.stack.currentWidget()]
    if window.demo_banner.isVisible():
        roots.append(window.demo_banner)
    for root in roots:
        for w in root.findChildren(QWidget):
            if not w.isVisible():
                continue
            if isinstance(w, QAbstractButton) or (isinstance(w, QLabel) and w.buddy() is not None):
                text = w.text()
            elif isinstance(w, QGroupBox):
                text = w.title()
            else:
                continue
            if (m := mnemonic(text)) is not None:
                keys.setdefault(m, []).append(repr(text))
    return keys


def assert_alt_keys_fit(window: Any, where: str) -> None:
    clashes = {k: v for k, v in alt_keys(window).items() if len(v) > 1}
    assert not clashes, f"{where}: Alt keys used twice: {clashes}"
    page = window.stack.currentWidget()
    without = [w.text() for w in page.findChildren(QAbstractButton)
               if w.isVisible() and w.text() and mnemonic(w.text()) is None
               and w not in window.step_buttons.values()]
    assert not without, f"{where}: buttons without an Alt key: {without}"


def assert_focus_visible(window: Any, where: str) -> QWidget:
    focus = QApplication.focusWidget()
    assert focus is not None and focus.isVisible(), f"{where}: no visible focus ({focus!r})"
    assert focus.window() is window or focus.window().isModal()
    assert focus.window().testAttribute(Qt.WidgetAttribute.WA_KeyboardFocusChange), (
        f"{where}: the focus frame is not drawn on {focus.accessibleName() or focus!r}")
    return focus


def key(k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    QTest.keyClick(target, k, modifier)


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform, on a real dialog
def test_the_whole_demo_job_with_the_keyboard_alone(make_window, qtbot, dialogs, monkeypatch,
                                                     tmp_path):
    from ccdesk.gui import dialogs as module

    monkeypatch.setattr(module.ConfirmRunDialog, "ask", REAL_CONFIRM)
    dialogs.save_as = (str(tmp_path / "log.xlsx"), "xlsx")
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    # Connected to the demo at start: the window is on the Spreadsheet step.
    assert window.current_page() == "sheet"
    assert_focus_visible(window, "the spreadsheet step")
    assert_alt_keys_fit(window, "the spreadsheet step, empty")

    # Alt+P opens the demo's sample; focus moves (visibly) to Next.
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        key(Qt.Key.Key_P, ALT)
    sheet = window.sheet_page
    qtbot.waitUntil(lambda: QApplication.focusWidget() is sheet.next_button, timeout=WAIT)
    assert_focus_visible(window, "the sheet read")
    assert_alt_keys_fit(window, "the spreadsheet step, read")

    # Enter presses Next.
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.current_page() == "preview", timeout=WAIT)
    page = window.preview_page
    qtbot.waitUntil(lambda: page.lists_loaded, timeout=WAIT)
    assert_alt_keys_fit(window, "the preview step, choosing")
    # Alt+L goes to the lists; Space ticks the one under the cursor.
    key(Qt.Key.Key_L, ALT)
    assert QApplication.focusWidget() is page.lists_view
    assert_focus_visible(window, "the lists")
    names = page.lists_model.checked_names()
    if "Free Members" not in names:
        row = next(r for r in range(page.lists_model.rowCount())
                   if page.lists_model.index(r).data() .startswith("Free Members"))
        page.lists_view.setCurrentIndex(page.lists_model.index(row))
        key(Qt.Key.Key_Space)
    assert page.lists_model.checked_names() == ["Free Members"]
    # Alt+E chooses "Remove from the list"; Enter (on a radio button) previews.
    key(Qt.Key.Key_E, ALT)
    assert page.action_buttons["remove"].isChecked()
    with qtbot.waitSignal(window.preview_ready, timeout=WAIT) as ready:
        key(Qt.Key.Key_Return)
    changes = ready.args[0].changes
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.run_button, timeout=WAIT)
    assert_focus_visible(window, "the preview shown")
    assert_alt_keys_fit(window, "the preview step, shown")

    # Tab from the table leaves it at once: a table is one Tab stop.
    page.table.view.setFocus()
    key(Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not page.table.view

    # Ctrl+R runs; the confirmation takes Tab and Enter.
    answered: list[str] = []
    problems: list[str] = []
    tries = [0]

    def confirm() -> None:
        """Answer the modal dialog with keys. Never raises: a dialog left open would block
        the test for good (its exec() never returns), so whatever goes wrong is noted, the
        dialog is closed, and the test fails afterwards."""
        dialog = QApplication.activeModalWidget()
        focus = QApplication.focusWidget()
        if dialog is None or focus is None or focus.window() is not dialog:
            tries[0] += 1  # not shown, or not active yet (a busy machine)
            if tries[0] < 400:
                QTimer.singleShot(50, confirm)
            elif dialog is not None:
                problems.append("the dialog never took the focus")
                dialog.reject()
            return
        try:
            answered.append(dialog.windowTitle())
            if not focus.text().startswith("Cancel"):  # the safe choice comes first
                problems.append(f"the focus starts on {focus.text()!r}")
            for _ in range(3):
                QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
                if QApplication.focusWidget().text() != focus.text():
                    break
            go = QApplication.focusWidget()
            if go.text() != f"Remove {changes:,} now":
                problems.append(f"Tab went to {go.text()!r}")
            else:
                QTest.keyClick(go, Qt.Key.Key_Return)
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(repr(exc))
        finally:
            if dialog.isVisible():
                problems.append("Enter did not close the dialog")
                dialog.reject()

    QTimer.singleShot(50, confirm)
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        key(Qt.Key.Key_R, CTRL)
    assert problems == []
    assert answered == ["Go ahead?"]
    assert ended.args[1] == "finished"
    qtbot.waitUntil(lambda: window.current_page() == "results", timeout=WAIT)
    results = window.results_page
    qtbot.waitUntil(lambda: results.details is not None, timeout=WAIT)
    assert_alt_keys_fit(window, "the results")

    # Ctrl+S saves the log; the window then offers to open it, with the focus on that.
    window.activateWindow()  # back from the dialog (the desktop does it; offscreen, the test)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=WAIT)
    assert_focus_visible(window, "the results")
    key(Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: Path(tmp_path / "log.xlsx").exists(), timeout=WAIT)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is results.open_log_button, timeout=WAIT)
    assert_focus_visible(window, "the log saved")
    assert dialogs.errors == []


def test_tables_are_one_tab_stop_and_keep_their_arrows(make_window, qtbot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    views = window.findChildren(QAbstractItemView)
    assert views
    for view in views:
        assert not view.tabKeyNavigation(), view.accessibleName()


def test_enter_in_the_search_box_searches_and_presses_nothing(make_window, qtbot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    page = window.preview_page
    search: QLineEdit = page.table.search
    search.setFocus()
    QTest.keyClicks(search, "ximena")
    QTest.keyClick(search, Qt.Key.Key_Return)
    qtbot.wait(300)
    assert window.current_page() == "preview"
    assert window.state.run is None
    assert page.table.model.rowCount() < sum(page.table.model.counts().values())


def test_every_page_has_its_own_alt_keys(make_window, qtbot, dialogs):
    """The account (connected; and its Other-ways panel when not), History and the Run page."""
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    from tests.gui.conftest import run_preview

    run_preview(qtbot, window)
    for step in ("account", "history", "run", "results", "sheet", "preview"):
        window.go(step)
        if step == "history":
            qtbot.waitUntil(lambda: window.history_page.model.rowCount() > 0, timeout=WAIT)
            window.history_page.view.selectRow(0)
        assert_alt_keys_fit(window, step)


def test_the_account_page_s_alt_keys_when_not_connected(make_window, oauth_sandbox, dialogs,  # noqa: F811
                                                        qtbot):
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox))
    window.go("account")
    assert_alt_keys_fit(window, "the account page, not connected")
    window.account_page.device_button.click()
    assert_alt_keys_fit(window, "the account page, other ways to connect")
