"""The sheet page shows what the importer warns about (issue 13: a UTF-8 file with a stray byte)."""

from __future__ import annotations

from pathlib import Path

from tests.gui.conftest import open_sample


def test_a_warning_about_unreadable_characters_is_shown_with_the_counts(make_window, qtbot,
                                                                         tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes("Email,Name\r\nzoe@example.org,Zoë\r\nrene@example.org,Ren".encode()
                     + b"\xe9\r\n")
    window = make_window()
    open_sample(qtbot, window, str(path))
    text = window.sheet_page.counts.text()
    assert "2 addresses ready" in text
    assert "Row 3 has a character that could not be read" in text
