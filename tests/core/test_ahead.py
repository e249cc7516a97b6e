"""Checking texts ahead while calamine parses a sheet (addresses.Verdicts, formats._texts_ahead
and _CalamineBook._parse_meanwhile): the same results, whatever was learnt and whenever."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core import formats
from ccdesk.core.addresses import Outcome, Verdicts, check_cell, fast_addresses
from ccdesk.core.formats import Format, open_workbook
from ccdesk.core.sheet import ImportOptions, _build, _layout, read_sheet
from ccdesk.errors import SheetError
from tests.support import sheets as S

ROWS = 30_000


def member_email(i: int) -> Any:
    """Every kind of cell an email column holds, in a repeating pattern."""
    kind = i % 50
    if kind == 1:
        return f"member{i}(at)example.org"  # invalid, no "@"
    if kind == 2:
        return f"MEMBER{i - 2}@EXAMPLE{(i - 2) % 97}.ORG"  # a duplicate, in other case
    if kind == 3:
        return ""  # blank
    if kind == 4:
        return f"  Member{i}@Example.ORG\u00a0"  # spaces to trim
    if kind == 5:
        return f"r&d{i}@example.org"  # an XML entity in the file
    if kind == 6:
        return f"Ann {i} <ann{i}@example.org>"  # name and address
    if kind == 7:
        return f"a{i}@example.org; b{i}@example.org"  # two addresses
    if kind == 8:
        return f"bad{i}@example..org"  # invalid with an "@"
    return f"member{i}@example{i % 97}.org"


def big_xlsx(path: Path, *, shared: bool, rows: int = ROWS) -> Path:
    """A sheet big enough to be checked ahead (inline strings, or shared ones as Excel
    writes them), made by hand: openpyxl would take seconds."""
    strings: list[str] = []
    index: dict[str, int] = {}

    def cell(ref: str, value: str) -> str:
        if not value:
            return ""
        if shared:
            at = index.setdefault(value, len(strings))
            if at == len(strings):
                strings.append(value)
            return f'<c r="{ref}" t="s"><v>{at}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'

    out = ['<row r="1">', cell("A1", "Name"), cell("B1", "Email"), cell("C1", "Membership"), "</row>"]
    for i in range(1, rows + 1):
        r = i + 1
        out += [f'<row r="{r}">', cell(f"A{r}", f"Member {i}"), cell(f"B{r}", member_email(i)),
                cell(f"C{r}", "Sustainer" if i % 3 else "Free"), "</row>"]
    return S.write_xlsx_raw(path, S.sheet_xml("".join(out)), shared_strings=strings)


@pytest.fixture(scope="module", params=["shared", "inline"])
def big(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ahead")
    return big_xlsx(folder / f"{request.param}.xlsx", shared=request.param == "shared")


def test_importing_with_and_without_checking_ahead_gives_the_same(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formats, "_processors", lambda: 2)
    ahead = read_sheet(big).to_dict()
    monkeypatch.setattr(formats, "_processors", lambda: 1)  # a one-processor machine
    plain = read_sheet(big).to_dict()
    assert ahead == plain
    counts = plain["counts"]
    assert counts["invalid"] > 0 and counts["duplicate"] > 0 and counts["blank"] > 0
    assert sum(counts.values()) == ROWS


def test_what_is_learnt_ahead_covers_the_email_column(big: Path) -> None:
    data = big.read_bytes()
    learnt = Verdicts()
    for block in formats._texts_ahead(data):
        assert len(block) <= formats._AHEAD_BLOCK  # the parse's end never waits long
        learnt.learn(block)
    with_at = {member_email(i) for i in range(1, ROWS + 1)} - {""}
    with_at = {v for v in with_at if "@" in v}
    missing = with_at - learnt.fast.keys()
    assert not missing, sorted(missing)[:5]  # entities decoded, spaces kept, nothing cut

    # And the whole result, everything learnt beforehand, is the same as without.
    book = open_workbook(big, data)
    try:
        grid = book.grid("Sheet1")
        lay = _layout(grid, ImportOptions(), "Sheet1")

        def build(ahead: Verdicts | None) -> dict[str, Any]:
            return _build(big, book, grid, "Sheet1", lay, ImportOptions(), "x",
                          lambda *a: None, ahead).to_dict()

        assert build(learnt) == build(None)
    finally:
        book.close()


def test_once_the_sheet_is_read_nothing_more_is_checked_ahead(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formats, "_processors", lambda: 2)  # (as on a one-processor CI too)
    book = open_workbook(big)
    try:
        assert book._ahead is not None  # type: ignore[attr-defined]
        book.grid("Sheet1", meanwhile=lambda block: None)
        assert book._ahead is None  # type: ignore[attr-defined]  # (nor is the file held)
    finally:
        book.close()


def test_small_files_are_not_checked_ahead(tmp_path: Path) -> None:
    small = S.write_xlsx(tmp_path / "small.xlsx", [["Email"], ["ann@example.org"]])
    assert list(formats._texts_ahead(small.read_bytes())) == []


def test_only_xlsx_and_xlsm_are_checked_ahead(tmp_path: Path) -> None:
    rows = [["Email"], ["ann@example.org"]]
    for fmt, writer in (("ods", S.write_ods), ("xls", S.write_xls), ("xlsb", S.write_xlsb)):
        book = open_workbook(writer(tmp_path / f"m.{fmt}", rows))
        try:
            assert book._ahead is None, fmt  # type: ignore[attr-defined]
        finally:
            book.close()


# -- the helper thread, with a stand-in for calamine's workbook ---------------------------------
class SlowWorkbook:
    """Parses a sheet only when told to (``go``), as if it took that long."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.parsing = threading.Event()
        self.finished = threading.Event()

    def get_sheet_by_name(self, name: str) -> str:
        self.finished.clear()
        self.parsing.set()
        try:
            assert self.go.wait(10)
            if name == "broken":
                raise ValueError("calamine could not read it")
            return f"parsed {name}"
        finally:
            self.parsing.clear()
            self.finished.set()


def book_with(blocks: list[list[str]]) -> tuple[Any, SlowWorkbook]:
    book = object.__new__(formats._CalamineBook)
    slow = SlowWorkbook()
    book._wb = slow  # type: ignore[attr-defined]
    book._sheets = {}  # type: ignore[attr-defined]
    book._pc = None  # type: ignore[attr-defined]
    book._ahead = iter(blocks)  # type: ignore[attr-defined]
    book._map_error = lambda exc: exc  # type: ignore[attr-defined]
    return book, slow


def test_blocks_are_handed_over_while_the_parse_runs_and_none_is_lost_or_repeated() -> None:
    blocks = [[f"{i}@x.org"] for i in range(50)]
    book, slow = book_with(blocks)
    seen: list[list[str]] = []
    threads: set[str] = set()

    def meanwhile(block: list[str]) -> None:
        threads.add(threading.current_thread().name)
        if len(seen) < 2:
            assert slow.parsing.wait(10)  # the first ones while the parse runs
        seen.append(block)
        if len(seen) == 2:
            slow.go.set()  # the parse ends here; the helper stops soon after

    assert book._sheet("One", meanwhile) == "parsed One"
    assert seen[:2] == blocks[:2]
    assert threads == {"ccdesk-check-ahead"}  # the parse stays on the caller's thread
    assert not any(t.name == "ccdesk-check-ahead" for t in threading.enumerate())

    # A second sheet carries on with the blocks not yet handed over: none twice, none lost.
    rest: list[list[str]] = []
    if book._ahead is not None:
        slow.go.clear()
        threading.Timer(0.2, slow.go.set).start()
        assert book._sheet("Two", rest.append) == "parsed Two"
    assert seen + rest == blocks
    assert book._ahead is None  # every block handed over


def test_when_every_block_is_used_up_the_parse_goes_on_alone() -> None:
    book, slow = book_with([["a@x.org"]])
    threading.Timer(0.05, slow.go.set).start()
    assert book._sheet("One", lambda block: None) == "parsed One"
    assert book._ahead is None  # nothing left for another sheet


def test_a_failing_parse_fails_the_caller_and_stops_the_helper() -> None:
    book, slow = book_with([["a@x.org"]] * 1000)
    slow.go.set()
    book._map_error = lambda exc: SheetError("Unreadable", "", str(exc))  # type: ignore[method-assign]
    with pytest.raises(SheetError) as caught:
        book._sheet("broken", lambda block: None)
    assert caught.value.details == "calamine could not read it"
    assert not any(t.name == "ccdesk-check-ahead" for t in threading.enumerate())


def test_an_error_in_the_work_ahead_is_logged_and_the_parse_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    book, slow = book_with([["a@x.org"], ["b@x.org"]])

    def broken(block: list[str]) -> None:
        slow.go.set()
        raise RuntimeError("a bug in the checking ahead")

    with caplog.at_level("ERROR", logger="ccdesk.core.formats"):
        assert book._sheet("One", broken) == "parsed One"
    assert "Checking the texts ahead failed" in caplog.text and "a bug" in caplog.text
    assert book._ahead is None  # not tried again for another sheet


def test_a_real_parse_error_is_mapped_as_before(big: Path) -> None:
    book = open_workbook(big)
    try:
        assert book.format is Format.XLSX
        with pytest.raises(SheetError):
            book.grid("No such sheet", meanwhile=lambda block: None)
    finally:
        book.close()


# -- the memo ------------------------------------------------------------------------------------
_texts = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.from_regex(r"\A ?[A-Za-z0-9.+]{1,10}@[A-Za-z0-9-]{1,10}\.[A-Za-z]{2,5} ?\Z"),
        st.sampled_from(["", " ", "ann@example.org", "ANN@EXAMPLE.ORG", "a@b", "x\ny@z.org"]),
    ),
    max_size=40,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(texts=_texts, learnt=st.sets(st.integers(0, 39)))
def test_verdicts_are_what_checking_gives(texts: list[str], learnt: set[int]) -> None:
    known = Verdicts()
    known.learn([t for i, t in enumerate(texts) if i in learnt])
    assert fast_addresses(texts, known) == fast_addresses(texts)
    for text in texts:
        assert known.check_cell(text) == check_cell(text)


def test_verdicts_check_other_cells_as_usual() -> None:
    known = Verdicts()
    known.learn(["ann@example.org", "bob(at)example.org"])
    for value in (None, 3, 2.5, True, "ann@example.org", "bob(at)example.org", "new@example.org"):
        assert known.check_cell(value) == check_cell(value)
    assert known.check_cell("").outcome is Outcome.BLANK
