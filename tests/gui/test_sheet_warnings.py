"""The sheet page shows what the importer warns about (issue 13: a UTF-8 file with a stray byte)."""

from __future__ import annotations

from pathlib import Path

from tests.gui.conftest import open_sample


def test_a_warning_about_unreadable_characters_is_shown_with_the_counts(make_window, qtbot, shot,
                                                                         tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes("Email,Name\r\nzoe@example.org,Zoë\r\nrene@example.org,Ren".encode()
                     + b"\xe9\r\n")
    window = make_window()
    open_sample(qtbot, window, str(path))
    text = window.sheet_page.counts.text()
    assert "2 addresses ready" in text
    assert "Row 3 has a character that could not be read" in text
    shot(window, "03c-sheet-warning")


def test_a_web_page_saved_as_a_spreadsheet_is_refused_in_plain_words(make_window, qtbot, dialogs,
                                                                     shot, tmp_path: Path) -> None:
    from ccdesk.gui import dialogs as real_dialogs

    page = tmp_path / "members.xlsx"
    page.write_bytes(b"\xef\xbb\xbf<!DOCTYPE html><html><body><table><tr><td>ann@example.org"
                     b"</td></tr></table></body></html>")
    window = make_window()
    with qtbot.waitSignal(window.error_shown, timeout=10_000):
        window.open_sheet(str(page))
    [error] = dialogs.errors
    assert error.title == "This file is a web page saved with a spreadsheet name"
    box = real_dialogs.error_box(window, error)
    shot(box, "24-dialog-web-page-refused")
    assert "web page" in box.text() and "Traceback" not in box.text()
