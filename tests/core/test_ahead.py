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

        def build(ahead: Any) -> dict[str, Any]:
            return _build(big, book, grid, "Sheet1", lay, ImportOptions(), "x",
                          lambda *a: None, ahead).to_dict()

        from ccdesk.core.sheet import _Ahead

        with_memo = _Ahead()
        with_memo.verdicts = learnt
        assert build(with_memo) == build(None)
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


# -- the forecast of the email column -------------------------------------------------------------
def sheet_file(path: Path, rows: list[list[Any]], *, shared: bool) -> Path:
    """A hand-made xlsx: str cells as shared or inline strings, numbers as numbers, None and
    "" as no cell at all, and ("raw", xml) as the cell's XML verbatim."""
    strings: list[str] = []
    out = []
    for r, row in enumerate(rows, start=1):
        out.append(f'<row r="{r}">')
        for j, v in enumerate(row):
            ref = f"{chr(65 + j)}{r}"
            if v is None or v == "":
                continue
            if isinstance(v, tuple):
                out.append(v[1].replace("REF", ref))
            elif isinstance(v, str) and shared:
                strings.append(v)
                out.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
            elif isinstance(v, str):
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
            else:
                out.append(f'<c r="{ref}"><v>{v}</v></c>')
        out.append("</row>")
    return S.write_xlsx_raw(path, S.sheet_xml("".join(out)), shared_strings=strings)


def built(path: Path, *, forecast: bool) -> tuple[dict[str, Any], bool]:
    """(the import's result, whether the forecast was used), working everything out ahead
    deterministically (no race with the parse)."""
    from ccdesk.core.sheet import _Ahead

    data = path.read_bytes()
    book = open_workbook(path, data)
    try:
        ahead = _Ahead()
        if forecast:
            for block in formats._texts_ahead(data) or ():
                ahead.verdicts.learn(block)
            seen = formats._forecast(data, "Sheet1", lambda: False)
            if seen is not None:
                ahead.foresee(seen, lambda: False)
        grid = book.grid("Sheet1")
        lay = _layout(grid, ImportOptions(), "Sheet1")
        used = ahead.forecast is not None and ahead.records(
            grid, 0 if lay.header is None else lay.header + 1, len(grid.rows), lay.column) is not None
        result = _build(path, book, grid, "Sheet1", lay, ImportOptions(), "x", lambda *a: None,
                        ahead if forecast else None).to_dict()
        return result, used
    finally:
        book.close()


HEAD = ["Name", "Email", "Level"]
PLAIN = [HEAD] + [[f"M{i}", member_email(i), "Gold"] for i in range(1, 400)]
CASES = {
    "typical": (PLAIN, True),
    "blank emails, an empty row, trailing blanks": (
        [*PLAIN[:50], ["", "", ""], ["Ann", "", "Gold"], *PLAIN[50:], ["Zed", "", ""]], True),
    "title rows above": ([["Members"], [], HEAD, *PLAIN[1:]], True),
    "an address above the headings that comes back": (
        [["Contact", "member10@example10.org"], HEAD, *PLAIN[1:]], False),
    "a number in the email column": ([*PLAIN[:9], ["Bob", 12345, "Gold"], *PLAIN[9:]], False),
    "a date-like number and a formula text": (
        [*PLAIN[:9], ["Bob", ("raw", '<c r="REF" t="str"><f>A1</f><v>x@y.org</v></c>'), "G"],
         *PLAIN[9:]], False),
    "an entity and spaces": ([*PLAIN[:9], ["Bob", " R&D <rd@example.org> ", "G"], *PLAIN[9:]], True),
}


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "inline"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_forecast_is_used_only_when_it_gives_the_same(tmp_path: Path, case: str, shared: bool) -> None:
    rows, usable = CASES[case]
    path = sheet_file(tmp_path / "f.xlsx", rows, shared=shared)
    ahead, used = built(path, forecast=True)
    plain, _ = built(path, forecast=False)
    assert ahead == plain
    assert used is usable


def test_a_rich_text_shared_string_means_no_forecast(tmp_path: Path) -> None:
    path = sheet_file(tmp_path / "f.xlsx", PLAIN, shared=True)
    data = bytearray(path.read_bytes())
    # Make the third address rich text, as Excel writes a cell with two fonts.
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sst = parts["xl/sharedStrings.xml"]
    first = sst.index(b"<si><t>member10@")
    end = sst.index(b"</si>", first)
    text = sst[first + len(b"<si><t>"):end - len(b"</t>")]
    parts["xl/sharedStrings.xml"] = (sst[:first] + b"<si><r><t>" + text[:3] + b"</t></r><r><t>"
                                     + text[3:] + b"</t></r></si>" + sst[end + len(b"</si>"):])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, content in parts.items():
            z.writestr(n, content)
    assert data  # (the original is replaced)
    ahead, used = built(path, forecast=True)
    plain, _ = built(path, forecast=False)
    assert ahead == plain and not used


def test_a_number_that_reads_like_the_forecast_text_is_not_taken_for_it(tmp_path: Path) -> None:
    # Two cells land on B3: the forecast sees the text "12345" (it has a reference), calamine
    # keeps the number after it (no reference: placed after A3). Same text, not the same cell.
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>M{r}</t></is></c>'
        f'<c r="B{r}" t="inlineStr"><is><t>m{r}@example.org</t></is></c></row>'
        for r in range(4, 40)
    )
    xml = S.sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Email</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Ann</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>ann@example.org</t></is></c></row>'
        '<row r="3"><c r="B3" t="inlineStr"><is><t>12345</t></is></c>'
        '<c r="A3" t="inlineStr"><is><t>Bob</t></is></c><c><v>12345</v></c></row>' + rows
    )
    path = S.write_xlsx_raw(tmp_path / "f.xlsx", xml)
    ahead, used = built(path, forecast=True)
    plain, _ = built(path, forecast=False)
    assert ahead == plain and not used
    assert "number" in plain["problems"][0]["reason"]


def test_stopping_the_forecast_outcomes_between_slow_rows(tmp_path: Path) -> None:
    from ccdesk.core.sheet import _Ahead

    texts = ["Email"] + [f"Ann {i} <ann{i}@example.org>" for i in range(2000)]  # all off the fast path
    calls = 0

    def stopped() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3  # the parse ends while the rows are being checked

    ahead = _Ahead()
    assert ahead.foresee((1, 1, list(texts)), stopped) is False
    assert ahead.forecast is None and calls == 4
