"""Starting the application: ``ccdesk --demo`` opens the window, the log file is set up and
never holds secrets, the icon is there; and the window can be used from the keyboard."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QTableView

from ccdesk.gui.app import LOG_NAME, RECENT_ERRORS, setup_logging
from ccdesk.gui.icons import SIZES, app_icon, png_name
from ccdesk.paths import resource
from tests.gui.conftest import WAIT, open_sample, preview

ROOT = Path(__file__).resolve().parents[2]


def test_ccdesk_demo_opens_the_window(tmp_path):
    """The real entry point, in a child process that quits itself once the demo is connected."""
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1])

        def check():
            window = next(w for w in app.topLevelWidgets() if w.objectName() == "" and
                          w.windowTitle().startswith("ccdesk"))
            info = getattr(window, "account_info", None)
            if info is not None and info.connected:
                print("TITLE", window.windowTitle())
                print("ACCOUNT", info.account.organization_name)
                print("BANNER", window.demo_banner.isVisible())
                window.close()
            else:
                QTimer.singleShot(100, check)

        QTimer.singleShot(200, check)
        QTimer.singleShot(30000, app.quit)  # never hang the test run
        from ccdesk.cli import main
        sys.exit(main(["--demo"]))
    """)
    env = {**os.environ, "CCDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "TITLE ccdesk (demo)" in done.stdout
    assert "ACCOUNT Harbourview Members' Association (demo)" in done.stdout
    assert "BANNER True" in done.stdout
    log = (tmp_path / "home" / "log" / LOG_NAME).read_text(encoding="utf-8")
    assert "ccdesk 0.1.0 starting" in log
    assert "POST token" in log  # the client's own INFO lines reach the file


def test_the_log_masks_anything_secret(tmp_path, qapp):
    logger = logging.getLogger("ccdesk")
    before = list(logger.handlers), logger.level
    try:
        path = setup_logging(tmp_path)
        assert setup_logging(tmp_path) == path  # once only
        logging.getLogger("ccdesk.test").info("Authorization: Bearer abc123SECRET, refresh_token=xyz789")
        logging.getLogger("ccdesk.test").error("boom with client_secret=hunter2")
        for handler in logger.handlers:
            handler.flush()
        text = path.read_text(encoding="utf-8")
        assert "abc123SECRET" not in text and "xyz789" not in text and "hunter2" not in text
        assert "Bearer ***" in text
        assert RECENT_ERRORS[-1] == "boom with client_secret=***"
    finally:
        for handler in logger.handlers[:]:
            if handler not in before[0]:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(before[1])


def test_the_icon_comes_in_every_size(qapp):
    folder = resource("icons")
    assert (folder / "ccdesk.svg").is_file()
    for size in SIZES:
        assert (folder / png_name(size)).is_file()
    icon = app_icon()
    assert not icon.isNull()
    assert icon.actualSize(QSize(48, 48)) == QSize(48, 48)


def test_keyboard_and_accessible_names(make_window, qtbot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    # Every control says what it is, to a screen reader too.
    unnamed = []
    for widget in window.findChildren(QAbstractButton) + window.findChildren(QLineEdit) \
            + window.findChildren(QComboBox) + window.findChildren(QTableView):
        if widget.objectName().startswith("qt_") or isinstance(widget.parent(), QLineEdit):
            continue  # Qt's own parts: table corner buttons, a search box's clear button
        if isinstance(widget, QAbstractButton) and widget.text().strip("&"):
            continue
        if not widget.accessibleName() and widget.window() is window:
            unnamed.append(f"{type(widget).__name__}:{widget.parent().objectName()}")
    assert unnamed == []
    # The steps have shortcuts; Ctrl+2 is the spreadsheet.
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.current_page() == "sheet", timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.current_page() == "preview", timeout=WAIT)
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    # Tab moves through the preview page in reading order: Show, Find, the table.
    table = window.preview_page.table
    table.show_filter.setFocus()
    qtbot.waitUntil(table.show_filter.hasFocus)
    qtbot.keyClick(table.show_filter, Qt.Key.Key_Tab)
    qtbot.waitUntil(table.search.hasFocus)
    # Ctrl+F (inside the table area) goes to the search box
    table.view.setFocus()
    qtbot.keyClick(table.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(table.search.hasFocus)


def test_window_geometry_is_remembered(make_window, qtbot):
    window = make_window()
    window.resize(950, 650)
    window.close()
    again = make_window()
    assert again.height() == 650  # (the test screen is 800 wide: the width is clamped)
