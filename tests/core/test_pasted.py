"""Pasted addresses: cutting the text into items, the private CSV file, and reading it back
with the same cleaning and outcomes as a spreadsheet."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.core.pasted import (
    HEADING,
    NothingPastedError,
    count_pasted,
    is_pasted,
    save_pasted,
    split_pasted,
)
from ccdesk.core.sheet import read_sheet


@pytest.mark.parametrize(("text", "items"), [
    ("ada@example.org\nbob@example.org\n", ["ada@example.org", "bob@example.org"]),
    ("ada@example.org, bob@example.org;cy@example.org", ["ada@example.org", "bob@example.org",
                                                          "cy@example.org"]),
    # Windows and old Mac line ends, blank lines, spaces, a byte-order mark
    ("\ufeffada@example.org\r\n\r\n  bob@example.org  \r\rcy@example.org\r\n",
     ["ada@example.org", "bob@example.org", "cy@example.org"]),
    # copied from an email's To: line
    ('"Doe, Jane" <jane@example.org>, Ada Lovelace <ada@example.org>; bob@example.org',
     ['"Doe, Jane" <jane@example.org>', "Ada Lovelace <ada@example.org>", "bob@example.org"]),
    # separators inside angle brackets stay
    ("Odd <odd;one@example.org>, x@example.org", ["Odd <odd;one@example.org>", "x@example.org"]),
    # Outlook's surname-first names without quotes
    ("Lovelace, Ada <ada@example.org>; Doe, Jane <jane@example.org>",
     ["Lovelace, Ada <ada@example.org>", "Doe, Jane <jane@example.org>"]),
    # ... but a word before a plain address stays its own item
    ("Hello, bob@example.org", ["Hello", "bob@example.org"]),
    ("mailto:ada@example.org,,;;\n", ["mailto:ada@example.org"]),
    # an unclosed quote or bracket ends at the line end
    ('"Doe, Jane <jane@example.org\nbob@example.org', ['"Doe, Jane <jane@example.org',
                                                      "bob@example.org"]),
    ("", []),
    (" \n , ; \r\n", []),
])
def test_split(text: str, items: list[str]) -> None:
    assert split_pasted(text) == items


def test_count() -> None:
    text = ("Ada Lovelace <ada@example.org>; bob@example.org, not an address\n"
            "ADA@example.org\n\nmailto:cy@example.org")
    c = count_pasted(text)
    assert (c.items, c.addresses, c.repeats, c.not_addresses) == (5, 3, 1, 1)


def test_saved_file_is_private_and_read_like_a_sheet(tmp_path: Path) -> None:
    text = ('"Doe, Jane" <jane@example.org>; Ada Lovelace <ada@example.org>\r\n'
            "bob@example.org, not an address, BOB@example.org\n"
            "mailto:cy@example.org?subject=Hi\n\n")
    path = save_pasted(text, tmp_path / "pasted")
    assert path.parent == tmp_path / "pasted" and path.name.startswith("pasted ")
    assert path.suffix == ".csv"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    sheet = read_sheet(path)
    assert sheet.header_row == 1 and sheet.email_column == HEADING
    assert [r.row for r in sheet.rows] == [2, 3, 4, 5, 6, 7]  # item n on row n + 1
    assert [r.value for r in sheet.rows] == split_pasted(text)
    assert [r.email for r in sheet.rows][:4] == ["jane@example.org", "ada@example.org",
                                                 "bob@example.org", None]
    assert [str(r.outcome) for r in sheet.rows] == ["valid", "valid", "valid", "invalid",
                                                    "duplicate", "valid"]
    assert sheet.rows[5].email == "cy@example.org"


@pytest.mark.parametrize("text", [
    "ada@example.org",  # a single address
    "Please take these off:\nada@example.org",  # words before the first address
    "not one\nnor two\nada@example.org",  # mostly not addresses
    "sep=;\nada@example.org",  # looks like Excel's delimiter line
    "<html>, ada@example.org",  # looks like a web page
])
def test_odd_pastes_keep_every_item_as_a_row(tmp_path: Path, text: str) -> None:
    path = save_pasted(text, tmp_path)
    sheet = read_sheet(path)
    assert [r.value for r in sheet.rows] == split_pasted(text)
    assert sheet.counts["valid"] == 1


def test_nothing_but_junk_is_read_with_no_address(tmp_path: Path) -> None:
    sheet = read_sheet(save_pasted("hello\nworld", tmp_path))
    assert sheet.counts["valid"] == 0 and sheet.counts["invalid"] == 2


def test_nothing_pasted(tmp_path: Path) -> None:
    with pytest.raises(NothingPastedError):
        save_pasted(" \n;, ", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_names_do_not_collide(tmp_path: Path) -> None:
    paths = [save_pasted("ada@example.org", tmp_path, now=1_800_000_000) for _ in range(3)]
    assert len(set(paths)) == 3
    assert paths[1].name.endswith(" (2).csv") and paths[2].name.endswith(" (3).csv")


def test_default_folder_is_in_the_data_folder() -> None:
    from ccdesk.paths import data_dir

    path = save_pasted("ada@example.org")
    assert path.parent == data_dir() / "pasted" and is_pasted(path)
    if os.name == "posix":
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


_ITEM = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ITEM, min_size=1, max_size=8))
def test_every_item_comes_back_from_the_file(tmp_path_factory: pytest.TempPathFactory,
                                             pieces: list[str]) -> None:
    """Whatever is pasted, each item is one cell of its own row, unchanged."""
    text = "\n".join(pieces)
    items = split_pasted(text)
    if not items:
        return
    sheet = read_sheet(save_pasted(text, tmp_path_factory.mktemp("p")))
    assert [r.value for r in sheet.rows] == items
