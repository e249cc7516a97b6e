"""From a file to a MemberSheet: headings, columns, Excel row numbers, sheets, filter, outcomes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ccdesk.core.sheet import (
    ImportOptions,
    MemberSheet,
    NoEmailColumnError,
    Outcome,
    SheetOptionError,
    SheetRow,
    heading_rank,
    parse_filter,
    read_sheet,
)
from tests.support import sheets as S

# A typical export: a title, a date line, a blank row, the headings on row 4, then members;
# a blank row and an empty-address row in the middle; a duplicate in another case; junk.
EXPORT = [
    ["Upgraded members"],
    ["Exported 2024-05-01"],
    [],
    ["First name", "Last name", "E-mail Address", "Membership", "Joined"],
    ["Ann", "Smith", "ann@example.org", "Sustainer", 2019],
    ["Bob", "Jones", " Bob@Example.org\u00a0", "Free", 2020],
    [],
    ["Cy", "Young", "", "Sustainer", 2021],
    ["Di", "Prince", "ANN@example.ORG", "Sustainer", 2022],
    ["Ed", "Wood", "ed(at)example.org", "sustainer", 2023],
    ["Flo", "Rida", "Flo Rida <flo@example.org>", "Sustainer", 2023],
    ["Gus", "Grissom", "gus@example.org; gus@work.example", "Sustainer", 2023],
]
EXPECTED = [
    (5, Outcome.VALID, "ann@example.org", ""),
    (6, Outcome.VALID, "bob@example.org", ""),
    (7, Outcome.BLANK, None, "Empty row"),
    (8, Outcome.BLANK, None, "No email address in this row"),
    (9, Outcome.DUPLICATE, "ann@example.org", "Same address as row 5"),
    (10, Outcome.INVALID, None, "Not an email address: there is no @"),
    (11, Outcome.VALID, "flo@example.org", ""),
    (12, Outcome.INVALID, None, "Two addresses in one cell: keep one address per row"),
]


@pytest.mark.parametrize("fmt", S.FORMATS)
def test_typical_export_in_every_format(tmp_path: Path, fmt: str) -> None:
    sheet = read_sheet(S.write_any(tmp_path / f"export.{fmt}", fmt, {"Members": EXPORT}))
    assert sheet.format == fmt
    assert sheet.header_row == 4
    assert sheet.email_column == "E-mail Address"
    assert sheet.email_column_letter == "C"
    assert sheet.found_by == "heading"
    got = [(r.row, r.outcome, r.email, r.reason) for r in sheet.rows]
    assert got == EXPECTED
    assert sheet.rows[4].duplicate_of == 5
    assert sheet.counts == {"valid": 3, "invalid": 2, "duplicate": 1, "blank": 2, "filtered_out": 0}
    assert sheet.addresses == ["ann@example.org", "bob@example.org", "flo@example.org"]
    assert [r.row for r in sheet.problems()] == [9, 10, 12]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "xlsb", "ods"])
def test_row_numbers_when_the_data_does_not_start_at_a1(tmp_path: Path, fmt: str) -> None:
    """Blank rows 1-2 and an empty column A: the rows are still numbered as Excel shows."""
    rows = [[], [], [None, "Members"], [], [None, "Name", "Email"], [None, "Ann", "ann@example.org"],
            [], [None, "Bob", "bob@example.org"]]
    sheet = read_sheet(S.write_any(tmp_path / f"m.{fmt}", fmt, {"Members": rows}))
    assert sheet.header_row == 5
    assert sheet.email_column_letter == "C"
    assert [(r.row, r.outcome) for r in sheet.rows] == [(6, "valid"), (7, "blank"), (8, "valid")]
    assert sheet.preview_rows[0].row == 3  # the first row with something in it
    assert sheet.preview_rows[0].cells == ["Members", ""]
    assert sheet.row(8).email == "bob@example.org"
    assert sheet.row(4) is None


@pytest.mark.parametrize(
    "heading",
    ["Email", "email", "E-mail", "EMAIL ADDRESS", "Email Address", "email_address", "E-Mail-Adresse",
     "Courriel", "Adresse e-mail", "Primary Email", "Work email", "Member Email", "Correo electrónico",
     "  Email  "],
)
def test_email_heading_spellings(tmp_path: Path, heading: str) -> None:
    rows = [["Name", heading, "Notes"], ["Ann", "ann@example.org", "x"]]
    sheet = read_sheet(S.write_csv(tmp_path / "m.csv", rows))
    assert sheet.email_column == heading.strip()
    assert sheet.addresses == ["ann@example.org"]


def test_heading_ranks() -> None:
    assert heading_rank("Email") == 3
    assert heading_rank("Work email") == 2
    assert heading_rank("Email opt-in") == 1
    assert heading_rank("Name") == 0
    assert heading_rank("ann@example.org") == 0
    assert heading_rank(3) == 0


def test_the_address_column_beats_an_email_flag_column(tmp_path: Path) -> None:
    rows = [["Email opt-in", "Name", "Email"], ["Yes", "Ann", "ann@example.org"],
            ["No", "Bob", "bob@example.org"]]
    assert read_sheet(S.write_csv(tmp_path / "m.csv", rows)).email_column == "Email"


def test_primary_email_beats_secondary(tmp_path: Path) -> None:
    rows = [["Name", "Secondary email", "Email"], ["Ann", "ann@home.example", "ann@example.org"]]
    assert read_sheet(S.write_csv(tmp_path / "m.csv", rows)).addresses == ["ann@example.org"]


def test_a_title_mentioning_email_is_not_the_heading_row(tmp_path: Path) -> None:
    rows = [["Email list of upgraded members"], [], ["Name", "Email"], ["Ann", "ann@example.org"]]
    sheet = read_sheet(S.write_xlsx(tmp_path / "m.xlsx", rows))
    assert sheet.header_row == 3
    assert [r.row for r in sheet.rows] == [4]


def test_column_found_by_content_when_no_heading_says_email(tmp_path: Path) -> None:
    rows = [["Members"], [], ["Name", "Contact", "Level"], ["Ann", "ann@example.org", "Gold"],
            ["Bob", "bob@example.org", "Gold"], ["Cy", "not given", "Gold"]]
    sheet = read_sheet(S.write_xlsx(tmp_path / "m.xlsx", rows))
    assert sheet.found_by == "content"
    assert sheet.header_row == 3
    assert sheet.email_column == "Contact"
    assert [(r.row, r.outcome) for r in sheet.rows] == [(4, "valid"), (5, "valid"), (6, "invalid")]


def test_a_sheet_without_headings(tmp_path: Path) -> None:
    rows = [["ann@example.org", "Ann"], ["bob@example.org", "Bob"]]
    sheet = read_sheet(S.write_csv(tmp_path / "m.csv", rows))
    assert sheet.header_row is None
    assert sheet.email_column == "Column A"
    assert [r.row for r in sheet.rows] == [1, 2]


def test_no_email_column_is_refused(tmp_path: Path) -> None:
    rows = [["Name", "Phone"], ["Ann", "555-1234"]]
    with pytest.raises(NoEmailColumnError) as info:
        read_sheet(S.write_xlsx(tmp_path / "m.xlsx", rows))
    assert "No email column" in info.value.title
    assert "choose" in info.value.what_to_do


def test_an_empty_email_column_is_still_chosen(tmp_path: Path) -> None:
    rows = [["Name", "Email"], ["Ann", ""], ["Bob", None]]
    sheet = read_sheet(S.write_xlsx(tmp_path / "m.xlsx", rows))
    assert sheet.email_column == "Email"
    assert sheet.counts["blank"] == 2


# -- several sheets ---------------------------------------------------------------------------
BOOK = {
    "Read me": [["This workbook lists the members who upgraded."], ["Questions: office@example.org"]],
    "Members": [["Name", "Email"], ["Ann", "ann@example.org"], ["Bob", "bob@example.org"]],
    "Old": [["Name", "Email"], ["Zed", "zed@example.org"]],
}


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "xlsb", "ods"])
def test_the_sheet_with_an_email_column_is_chosen(tmp_path: Path, fmt: str) -> None:
    sheet = read_sheet(S.write_any(tmp_path / f"book.{fmt}", fmt, BOOK))
    assert sheet.sheet == "Members"
    assert sheet.sheet_names == ["Read me", "Members", "Old"]
    assert sheet.addresses == ["ann@example.org", "bob@example.org"]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "xlsb", "ods"])
def test_the_user_can_pick_another_sheet(tmp_path: Path, fmt: str) -> None:
    path = S.write_any(tmp_path / f"book.{fmt}", fmt, BOOK)
    assert read_sheet(path, ImportOptions(sheet="Old")).addresses == ["zed@example.org"]
    assert read_sheet(path, ImportOptions(sheet="old")).sheet == "Old"  # case does not matter
    with pytest.raises(SheetOptionError) as info:
        read_sheet(path, ImportOptions(sheet="Nope"))
    assert "“Members”" in info.value.what_to_do


def test_hidden_sheets_are_not_chosen_automatically(tmp_path: Path) -> None:
    book = {"Lookup": [["Email"], ["x@example.org"]], "Members": [["Email"], ["ann@example.org"]]}
    for path in (S.write_xlsx(tmp_path / "h.xlsx", book, hidden=["Lookup"]),
                 S.write_ods(tmp_path / "h.ods", book, hidden=["Lookup"])):
        sheet = read_sheet(path)
        assert sheet.sheet == "Members"
        assert sheet.hidden_sheets == ["Lookup"]
        assert read_sheet(path, ImportOptions(sheet="Lookup")).addresses == ["x@example.org"]


# -- the user's choices -----------------------------------------------------------------------
def test_header_row_and_column_overrides(tmp_path: Path) -> None:
    rows = [["Title"], ["Name", "Email", "Backup"], ["Ann", "ann@example.org", "ann@home.example"]]
    path = S.write_xlsx(tmp_path / "m.xlsx", rows)
    sheet = read_sheet(path, ImportOptions(column="backup"))
    assert sheet.email_column == "Backup"
    assert sheet.found_by == "choice"
    assert sheet.header_row == 2
    assert sheet.addresses == ["ann@home.example"]
    sheet = read_sheet(path, ImportOptions(header_row=2, column="C"))
    assert sheet.email_column == "Backup"
    sheet = read_sheet(path, ImportOptions(header_row=2))
    assert sheet.email_column == "Email"


def test_header_row_zero_means_no_headings(tmp_path: Path) -> None:
    rows = [["ann@example.org"], ["bob@example.org"]]
    sheet = read_sheet(S.write_xlsx(tmp_path / "m.xlsx", rows), ImportOptions(header_row=0))
    assert sheet.header_row is None
    assert [r.row for r in sheet.rows] == [1, 2]


def test_choices_that_do_not_match(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", [["Name", "Email"], ["Ann", "ann@example.org"]])
    with pytest.raises(SheetOptionError, match="No column called"):
        read_sheet(path, ImportOptions(column="Courriel"))
    with pytest.raises(SheetOptionError, match="empty"):
        read_sheet(path, ImportOptions(header_row=40))
    with pytest.raises(SheetOptionError, match="filter on"):
        read_sheet(path, ImportOptions(filter_column="Level", filter_values=("Gold",)))


# -- the filter --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", S.FORMATS)
def test_filter_keeps_only_matching_rows(tmp_path: Path, fmt: str) -> None:
    path = S.write_any(tmp_path / f"export.{fmt}", fmt, {"Members": EXPORT})
    sheet = read_sheet(path, ImportOptions(filter_column="membership", filter_values=("SUSTAINER",)))
    got = {r.row: (r.outcome, r.reason) for r in sheet.rows}
    assert got[6] == (Outcome.FILTERED_OUT, "Membership is “Free”, not SUSTAINER")
    assert got[5][0] == Outcome.VALID
    assert got[7] == (Outcome.BLANK, "Empty row")
    assert got[10][0] == Outcome.INVALID  # "sustainer" matches whatever the case
    assert sheet.counts["filtered_out"] == 1
    assert sheet.filter_column == "Membership"


def test_filter_on_numbers_and_several_values(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", EXPORT)
    sheet = read_sheet(path, ImportOptions(filter_column="Joined", filter_values=("2019", "2022")))
    assert [r.row for r in sheet.rows if r.outcome != Outcome.FILTERED_OUT] == [5, 7, 9]


def test_a_filtered_out_row_does_not_make_a_later_row_a_duplicate(tmp_path: Path) -> None:
    rows = [["Email", "Level"], ["ann@example.org", "Free"], ["ann@example.org", "Gold"]]
    sheet = read_sheet(S.write_csv(tmp_path / "m.csv", rows),
                       ImportOptions(filter_column="Level", filter_values=("Gold",)))
    assert [(r.row, r.outcome) for r in sheet.rows] == [(2, "filtered_out"), (3, "valid")]


def test_parse_filter() -> None:
    assert parse_filter("Membership=Sustainer") == ("Membership", ("Sustainer",))
    assert parse_filter(" Level = Gold, Silver ,") == ("Level", ("Gold", "Silver"))
    for bad in ("Membership", "=Gold", "Level=", "Level= , "):
        with pytest.raises(SheetOptionError):
            parse_filter(bad)


# -- the MemberSheet --------------------------------------------------------------------------
def test_member_sheet_is_json_friendly_and_complete(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", EXPORT)
    sheet = read_sheet(path)
    assert isinstance(sheet, MemberSheet)
    data = json.loads(json.dumps(sheet.to_dict()))
    assert list(data)[:10] == ["file", "format", "sheet", "header_row", "email_column", "rows",
                               "counts", "problems", "addresses", "email_column_letter"]
    assert data["rows"] == len(sheet.rows) == 8
    assert data["problems"][0] == {"row": 9, "value": "ANN@example.ORG", "outcome": "duplicate",
                                   "reason": "Same address as row 5"}
    assert data["addresses"][1] == {"row": 6, "email": "bob@example.org"}
    import hashlib

    assert sheet.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sheet.size == path.stat().st_size
    assert sheet.columns == ["First name", "Last name", "E-mail Address", "Membership", "Joined"]
    assert len(sheet.preview_rows) == len(EXPORT)
    assert sheet.preview_rows[3].row == 4
    assert sheet.preview_rows[4].cells[4] == "2019"
    row = sheet.rows[1]
    assert isinstance(row, SheetRow)
    assert row.to_dict() == {"row": 6, "value": " Bob@Example.org\u00a0", "email": "bob@example.org",
                             "outcome": "valid", "reason": "", "duplicate_of": None}
    assert [r.row for r in sheet.valid_rows()] == [5, 6, 11]
    assert [r.row for r in sheet.by_outcome("blank")] == [7, 8]
    assert sheet.rows[-1].row == 12
    assert [r.row for r in sheet.rows[1:3]] == [6, 7]
    assert sheet.rows == list(sheet.rows)


def test_outcomes_are_strings() -> None:
    assert Outcome.FILTERED_OUT == "filtered_out"
    assert json.dumps([Outcome.VALID]) == '["valid"]'


def test_dates_and_numbers_in_the_email_column(tmp_path: Path) -> None:
    rows = [["Email"], [dt.datetime(2024, 1, 2)], [42], ["ann@example.org"]]
    sheet = read_sheet(S.write_xlsx(tmp_path / "m.xlsx", rows), ImportOptions(column="Email"))
    assert [(r.value, r.outcome) for r in sheet.rows] == [
        ("2024-01-02", "invalid"), ("42", "invalid"), ("ann@example.org", "valid")]


def test_progress_is_reported_and_can_cancel(tmp_path: Path) -> None:
    path = S.write_csv(tmp_path / "m.csv", [["Email"]] + [[f"m{i}@example.org"] for i in range(100)])
    seen: list[tuple[str, float]] = []
    read_sheet(path, progress=lambda stage, f: seen.append((stage, f)))
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)

    class Stop(Exception):
        pass

    def cancel(stage: str, fraction: float) -> None:
        if fraction > 0.3:
            raise Stop

    with pytest.raises(Stop):
        read_sheet(path, progress=cancel)


def test_a_large_csv_is_quick(tmp_path: Path) -> None:
    import time

    rows = [["Name", "Email"]] + [[f"N{i}", f"member{i}@example.org"] for i in range(20_000)]
    path = S.write_csv(tmp_path / "m.csv", rows)
    start = time.perf_counter()
    sheet = read_sheet(path)
    assert time.perf_counter() - start < 2.0
    assert sheet.counts["valid"] == 20_000


def test_duplicates_are_found_across_the_slices_of_a_long_sheet(tmp_path: Path) -> None:
    """Duplicates are looked for in slices of rows (so a window keeps running): a repeat far
    from its first row, in another slice, is still found, and points at the first one."""
    from ccdesk.core import sheet as sheet_module

    n = 3 * sheet_module._SLICE + 17
    rows = [["Email"]] + [[f"m{i}@example.org"] for i in range(n)]
    rows[sheet_module._SLICE + 5] = ["M3@Example.org"]  # sheet row SLICE + 6, repeats row 5
    rows[-1] = ["m3@example.org"]  # the last row, the same again
    result = read_sheet(S.write_csv(tmp_path / "long.csv", rows))
    dupes = result.rows.where("duplicate")
    assert [(d.row, d.duplicate_of) for d in dupes] == [(sheet_module._SLICE + 6, 5), (n + 1, 5)]
    assert result.counts["valid"] == n - 2


def _member_email(i: int) -> str:
    """Every kind of text an email column holds, in a repeating pattern."""
    return {
        1: f"member{i}(at)example.org",  # no "@"
        2: f"MEMBER{i - 2}@EXAMPLE{(i - 2) % 97}.ORG",  # a duplicate, in other case
        3: "",
        4: f"  Member{i}@Example.ORG\u00a0",  # spaces to trim
        5: f"r&d{i}@example.org",
        6: f"Ann {i} <ann{i}@example.org>",  # name and address
        7: f"a{i}@example.org; b{i}@example.org",  # two addresses
        8: f"bad{i}@example..org",
        9: f"x{i}@localhost",
    }.get(i % 50, f"member{i}@example{i % 97}.org")


def test_the_column_wise_checks_give_what_checking_each_cell_gives(tmp_path: Path) -> None:
    """The import checks a column at once (the fast path first, then the rest one by one):
    every row gets what check_cell gives for its cell, and duplicates point at the first row."""
    from ccdesk.core.addresses import check_cell

    texts = [_member_email(i) for i in range(1, 3001)]
    sheet = read_sheet(S.write_xlsx(tmp_path / "m.xlsx", [["Email"]] + [[t] for t in texts]))
    first: dict[str, int] = {}
    expected = []
    for number, text in enumerate(texts, start=2):
        checked = check_cell(text)
        email = checked.email
        if email is not None and email in first:
            expected.append((number, Outcome.DUPLICATE, email, first[email]))
        else:
            if email is not None:
                first[email] = number
            expected.append((number, checked.outcome, email, None))
    assert [(r.row, r.outcome, r.email, r.duplicate_of) for r in sheet.rows] == expected
    assert {r.outcome for r in sheet.rows} == {"valid", "invalid", "duplicate", "blank"}


def test_a_sheet_without_an_email_column_offers_its_own_layout(tmp_path):
    """The error carries what the person needs to choose by hand: the file's sheets, its first
    rows, and its columns named from the likely heading row (or the row they chose)."""
    from ccdesk.core.sheet import NoEmailColumnError, SheetOptionError, read_sheet
    from ccdesk.errors import SheetError

    odd = tmp_path / "odd.csv"
    odd.write_text("Members who upgraded\n\nMember,Reach them at,Since\nAda,ada (at) x.org,2020\n"
                   "Alan,alan at x.org,2021\n", encoding="utf-8")
    with pytest.raises(NoEmailColumnError) as caught:
        read_sheet(odd)
    choices = caught.value.choices
    assert choices.header_row == 3 and choices.sheet_names == [choices.sheet]
    assert choices.columns == [("A", "Member"), ("B", "Reach them at"), ("C", "Since")]
    assert [r.row for r in choices.preview_rows] == [1, 2, 3, 4, 5]
    assert type(choices).from_dict(choices.to_dict()) == choices
    # The person's own heading row names the columns; a column they name that is not there
    # is refused with the same choices.
    with pytest.raises(SheetOptionError) as caught:
        read_sheet(odd, ImportOptions(header_row=3, column="Email"))
    assert caught.value.choices.columns[1] == ("B", "Reach them at")
    # One line of junk has nothing to choose from: no choices.
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a spreadsheet at all")
    with pytest.raises(SheetError) as caught:
        read_sheet(junk)
    assert caught.value.choices is None
