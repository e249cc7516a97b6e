"""Opening files safely: real format detection, text decoding, and every refusal."""

from __future__ import annotations

import re
import struct
import time
import zipfile
from pathlib import Path

import pytest

from ccdesk.core import formats
from ccdesk.core.formats import (
    CorruptFileError,
    FileTooBigError,
    Format,
    NotASpreadsheetError,
    PasswordProtectedError,
    SheetTooBigError,
    UnsafeFileError,
    column_index,
    column_letter,
    decode_text,
    open_workbook,
    sniff_delimiter,
)
from ccdesk.core.sheet import ImportOptions, read_sheet
from ccdesk.errors import SheetError
from tests.support import sheets as S

ROWS = [["Name", "Email"], ["Ann", "ann@example.org"], ["Bob", "bob@example.org"]]


# -- formats, whatever the file is called ---------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("xlsx", Format.XLSX), ("xlsm", Format.XLSM), ("xls", Format.XLS), ("xlsb", Format.XLSB),
     ("ods", Format.ODS), ("csv", Format.CSV)],
)
def test_every_format_opens(tmp_path: Path, fmt: str, expected: Format) -> None:
    path = S.write_any(tmp_path / f"members.{fmt}", fmt, {"Members": ROWS})
    book = open_workbook(path)
    assert book.format is expected
    grid = book.grid(book.sheet_names[0])
    assert grid.rows[1][1] == "ann@example.org"
    assert read_sheet(path).addresses == ["ann@example.org", "bob@example.org"]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "xlsb", "ods", "csv"])
@pytest.mark.parametrize("wrong", ["members.csv", "members.xls", "members.xlsx", "members.txt", "members"])
def test_the_content_decides_not_the_extension(tmp_path: Path, fmt: str, wrong: str) -> None:
    real = S.write_any(tmp_path / f"real.{fmt}", fmt, {"Members": ROWS})
    renamed = tmp_path / wrong
    renamed.write_bytes(real.read_bytes())
    sheet = read_sheet(renamed)
    assert sheet.format == fmt
    assert sheet.addresses == ["ann@example.org", "bob@example.org"]


def test_tsv_and_txt_are_text(tmp_path: Path) -> None:
    tsv = S.write_csv(tmp_path / "m.tsv", ROWS, delimiter="\t")
    txt = S.write_csv(tmp_path / "m.txt", ROWS, delimiter="|")
    for path, delim in ((tsv, "\t"), (txt, "|")):
        sheet = read_sheet(path)
        assert sheet.format == "csv"
        assert sheet.delimiter == delim
        assert sheet.addresses == ["ann@example.org", "bob@example.org"]


# -- CSV text --------------------------------------------------------------------------------
NAMES = [["Name", "Email"], ["Zoë Müller", "zoe@example.org"], ["José Núñez", "jose@example.org"]]


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", False, "utf-8"),
        ("utf-8", True, "utf-8-sig"),
        ("utf-16", False, "utf-16"),  # Python writes the byte-order mark
        ("utf-16-le", False, "utf-16-le"),
        ("utf-16-be", False, "utf-16-be"),
        ("cp1252", False, "cp1252"),
    ],
)
def test_csv_encodings(tmp_path: Path, encoding: str, bom: bool, expected: str) -> None:
    path = S.write_csv(tmp_path / "m.csv", NAMES, encoding=encoding, bom=bom)
    sheet = read_sheet(path)
    assert sheet.encoding == expected
    assert sheet.columns == ["Name", "Email"]  # no BOM glued to the first heading
    assert sheet.preview_rows[1].cells[0] == "Zoë Müller"
    assert sheet.addresses == ["zoe@example.org", "jose@example.org"]


def test_utf16_with_bom_in_both_byte_orders(tmp_path: Path) -> None:
    text = "Email\r\nann@example.org\r\n"
    for enc, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes(bom + text.encode(enc))
        assert read_sheet(path).addresses == ["ann@example.org"]


def test_cp1252_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("Name;Email\r\nRenée “Ré” Dupont;renee@example.org\r\n".encode("cp1252"))
    sheet = read_sheet(path)
    assert sheet.encoding == "cp1252"
    assert sheet.preview_rows[1].cells[0] == "Renée “Ré” Dupont"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_sniffing(tmp_path: Path, delimiter: str) -> None:
    rows = [["First, name", "Email", "Notes; more"], ["Ann", "ann@example.org", "a|b"],
            ["Bob", "bob@example.org", "x, y; z"]]
    path = S.write_csv(tmp_path / "m.csv", rows, delimiter=delimiter)
    sheet = read_sheet(path)
    assert sheet.delimiter == delimiter
    assert sheet.columns == ["First, name", "Email", "Notes; more"]


def test_sniffer_unit() -> None:
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("a,b\n1,2\n") == ","
    assert sniff_delimiter("ann@example.org\nbob@example.org\n") == ","  # one column
    assert sniff_delimiter('"x;y",b\n"1;2",3\n') == ","  # quoted delimiters do not count


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("sep=;\r\nName;Email\r\nAnn;ann@example.org\r\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.delimiter == ";"
    assert sheet.header_row == 1
    assert [(r.row, r.email) for r in sheet.rows] == [(2, "ann@example.org")]


def test_quoted_fields_with_line_breaks_are_one_row(tmp_path: Path) -> None:
    rows = [["Name", "Address", "Email"],
            ["Ann", "1 High St\nFlat 2\nTown", "ann@example.org"],
            ["Bob", "x", "bob@example.org"]]
    for newline in ("\r\n", "\n"):
        path = S.write_csv(tmp_path / "m.csv", rows, newline=newline)
        sheet = read_sheet(path)
        assert [(r.row, r.email) for r in sheet.rows] == [(2, "ann@example.org"), (3, "bob@example.org")]


def test_blank_lines_in_csv_keep_their_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("Members\n\nEmail\nann@example.org\n\nbob@example.org\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.header_row == 3
    assert [(r.row, r.outcome) for r in sheet.rows] == [(4, "valid"), (5, "blank"), (6, "valid")]


def test_decode_text_refuses_binary() -> None:
    with pytest.raises(NotASpreadsheetError):
        decode_text(bytes(range(256)) * 10)


def test_a_sheet_that_is_not_there_is_a_sheet_error(tmp_path: Path) -> None:
    for fmt in ("xlsx", "xls", "ods"):
        book = open_workbook(S.write_any(tmp_path / f"m.{fmt}", fmt, {"Members": ROWS}))
        try:
            with pytest.raises(SheetError):
                book.grid("No such sheet")
        finally:
            book.close()


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 51, 52, 701, 702, 16383)] == [
        "A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "XFD"]
    assert [column_index(column_letter(i)) for i in range(20_000)] == list(range(20_000))
    assert column_index("xfd") == column_index(b"XFD") == column_index(b"xFd") == 16_383


# -- refusals ----------------------------------------------------------------------------------
def refused(path: Path, kind: type[SheetError] = SheetError, seconds: float = 5.0) -> SheetError:
    """The error for ``path``, checking that it came within ``seconds``."""
    start = time.perf_counter()
    with pytest.raises(kind) as info:
        read_sheet(path)
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f}s"
    err = info.value
    assert err.title and err.what_to_do, "every refusal says what happened and what to do"
    assert "\n" not in err.one_line()
    return err


def test_password_protected_xlsx_is_refused(tmp_path: Path) -> None:
    err = refused(S.write_encrypted_xlsx(tmp_path / "secret.xlsx"), PasswordProtectedError)
    assert "password" in err.title.lower()
    assert "remove the password" in err.what_to_do


def test_password_protected_xls_is_refused(tmp_path: Path) -> None:
    refused(S.write_xls(tmp_path / "secret.xls", ROWS, password=True), PasswordProtectedError)


def test_encrypted_zip_entries_are_refused(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", ROWS)
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag of every entry in the central directory.
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        data[pos + 8] |= 1
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))
    refused(path, PasswordProtectedError)


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "xlsb", "ods"])
def test_truncated_files_are_refused(tmp_path: Path, fmt: str) -> None:
    path = S.write_any(tmp_path / f"m.{fmt}", fmt, {"Members": ROWS * 50})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    err = refused(path)
    assert isinstance(err, CorruptFileError | NotASpreadsheetError)


def test_garbage_inside_a_valid_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<<<not xml")
        z.writestr("xl/worksheets/sheet1.xml", "\0\1\2")
    refused(path, CorruptFileError)


def test_corrupt_ole2_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 2000)
    refused(path, CorruptFileError)


def test_zip_bomb_by_ratio_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    refused(path, UnsafeFileError)


def _patch_sizes(path: Path, member: str, size: int) -> None:
    """Make the zip lie about the uncompressed size of ``member``."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + name_len]).decode() == member:
            struct.pack_into("<I", data, pos + 24, size)
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


def test_zip_bomb_that_declares_a_huge_size_is_refused(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", ROWS)
    _patch_sizes(path, "xl/worksheets/sheet1.xml", 0xFFFF0000)
    refused(path, UnsafeFileError)


def test_zip_bomb_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (300 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    _patch_sizes(path, "xl/worksheets/sheet1.xml", 1000)
    refused(path, CorruptFileError)


def test_total_unpacked_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_UNCOMPRESSED_BYTES", 200_000)
    path = S.write_xlsx(tmp_path / "m.xlsx", [["Email"]] + [[f"m{i}@example.org"] for i in range(5000)])
    refused(path, UnsafeFileError)


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = S.write_csv(tmp_path / "m.csv", [["Email"]] + [[f"m{i}@example.org"] for i in range(1000)])
    monkeypatch.setattr(formats, "MAX_FILE_BYTES", 1000)
    err = refused(path, FileTooBigError)
    assert "too big" in err.title


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "ods", "xls", "xlsb"])
def test_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    path = S.write_any(tmp_path / f"m.{fmt}", fmt, [["Email"]] + [[f"m{i}@example.org"] for i in range(60)])
    monkeypatch.setattr(formats, "MAX_ROWS", 50)
    err = refused(path, SheetTooBigError)
    assert "too many rows" in err.title


def test_limits_are_documented_constants() -> None:
    assert formats.MAX_FILE_BYTES == 50 * 1024 * 1024
    assert formats.MAX_ROWS == 1_000_000
    assert formats.MAX_CELLS == 20_000_000


# Far-away cells: a few KB that would make the reader allocate the whole rectangle.
def test_xlsx_with_a_far_away_cell_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "far.xlsx"
    S.write_xlsx(path, [["Email"], ["ann@example.org"]])
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    far = b'<row r="5000"><c r="XFD5000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    xml = xml.replace(b"</sheetData>", far)
    S.write_xlsx_raw(path, xml)
    assert path.stat().st_size < 10_000
    refused(path, UnsafeFileError, seconds=3)


def test_xlsx_far_away_cell_hidden_mid_sheet_is_refused(tmp_path: Path) -> None:
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>m{i}@example.org</t></is></c></row>'
        for i in range(1, 3000)
    )
    rows = rows.replace('<c r="A1500"', '<c r="ZZZ990000" t="n"><v>1</v></c><c r="A1500"', 1)
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(rows)), UnsafeFileError)


def test_xlsx_with_prefixed_elements_is_measured_exactly(tmp_path: Path) -> None:
    far = (
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Email</x:t></x:is></x:c></x:row>'
        '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>ann@example.org</x:t></x:is></x:c></x:row>'
        '<x:row r="9000"><x:c r="XFD9000"><x:v>1</x:v></x:c></x:row>'
    )
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(far, prefix="x")), UnsafeFileError)
    fine = far.replace('<x:row r="9000"><x:c r="XFD9000"><x:v>1</x:v></x:c></x:row>', "")
    sheet = read_sheet(S.write_xlsx_raw(tmp_path / "ok.xlsx", S.sheet_xml(fine, prefix="x")))
    assert sheet.addresses == ["ann@example.org"]


def test_xlsx_cells_without_references_are_measured_exactly(tmp_path: Path) -> None:
    cells = "<c><v>1</v></c>" * 40
    xml = (
        '<row r="1"><c t="inlineStr"><is><t>Email</t></is></c></row>'
        f'<row r="990000">{cells}</row>'
    )
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(xml)), UnsafeFileError)
    ok = '<row r="1"><c t="inlineStr"><is><t>Email</t></is></c></row>' \
         '<row><c t="inlineStr"><is><t>ann@example.org</t></is></c></row>'
    assert read_sheet(S.write_xlsx_raw(tmp_path / "ok.xlsx", S.sheet_xml(ok))).addresses == [
        "ann@example.org"]


def test_xls_with_a_far_away_cell_is_refused(tmp_path: Path) -> None:
    far = S.xls_record(0x0203, struct.pack("<HHHd", 5000, 60000, 15, 1.0))
    refused(S.write_xls(tmp_path / "far.xls", {"Sheet1": ROWS}, extra_sheet_records={"Sheet1": far}),
            UnsafeFileError)


def test_xls_with_lying_dimensions_is_refused(tmp_path: Path) -> None:
    dims = S.xls_record(0x0200, struct.pack("<IIHHH", 0, 0xFFFFFFF0, 0, 200, 0))
    refused(S.write_xls(tmp_path / "dims.xls", {"Sheet1": ROWS}, extra_sheet_records={"Sheet1": dims}),
            SheetTooBigError)
    upside_down = S.xls_record(0x0200, struct.pack("<IIHHH", 50, 10, 0, 2, 0))
    refused(S.write_xls(tmp_path / "dims2.xls", {"Sheet1": ROWS},
                        extra_sheet_records={"Sheet1": upside_down}), CorruptFileError)


def test_xls_with_a_huge_string_table_count_is_refused(tmp_path: Path) -> None:
    stream = bytearray(S.xls_workbook_stream({"Sheet1": ROWS}))
    sst = stream.find(struct.pack("<H", 0x00FC))
    struct.pack_into("<i", stream, sst + 8, 2_000_000_000)
    path = tmp_path / "sst.xls"
    path.write_bytes(S.compound_file({"Workbook": bytes(stream)}))
    refused(path, CorruptFileError)


def test_xlsb_with_a_far_away_cell_is_refused(tmp_path: Path) -> None:
    extra = S.xlsb_record(0x0000, struct.pack("<I", 100) + b"\0" * 13) + S.xlsb_record(
        0x0005, struct.pack("<IId", 1_000_000, 0, 1.0))
    path = S.write_xlsb(tmp_path / "far.xlsb", {"Sheet1": ROWS},
                        raw_sheets={"Sheet1": S.xlsb_sheet(ROWS, extra=extra)})
    refused(path, UnsafeFileError)


def test_ods_with_huge_repeats_is_refused(tmp_path: Path) -> None:
    head = ('<table:table-row><table:table-cell office:value-type="string"><text:p>Email</text:p>'
            "</table:table-cell></table:table-row>")
    many_rows = head + (
        '<table:table-row table:number-rows-repeated="100000000"><table:table-cell '
        'office:value-type="string"><text:p>a@example.org</text:p></table:table-cell></table:table-row>'
    )
    refused(S.write_ods(tmp_path / "rows.ods", {"S": []}, raw_rows={"S": many_rows}), SheetTooBigError)
    wide = head + (
        '<table:table-row><table:table-cell table:number-columns-repeated="50000000" '
        'office:value-type="float" office:value="1"/></table:table-row>'
    )
    refused(S.write_ods(tmp_path / "wide.ods", {"S": []}, raw_rows={"S": wide}), UnsafeFileError)
    gap = head + (
        '<table:table-row table:number-rows-repeated="900000"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell table:number-columns-repeated="100"/>'
        '<table:table-cell office:value-type="float" office:value="1"/></table:table-row>'
    )
    refused(S.write_ods(tmp_path / "gap.ods", {"S": []}, raw_rows={"S": gap}), UnsafeFileError)


def test_ods_as_libreoffice_writes_it_is_fine(tmp_path: Path) -> None:
    """LibreOffice ends every sheet with a million repeated empty rows: that is not a bomb."""
    path = S.write_ods(tmp_path / "m.ods", {"Members": ROWS}, libreoffice_tail=True)
    assert read_sheet(path).addresses == ["ann@example.org", "bob@example.org"]


def test_csv_with_an_unclosed_quote_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('Email\n"ann@example.org\n' + "x" * 3_000_000, encoding="utf-8")
    refused(path, CorruptFileError)


@pytest.mark.parametrize(
    ("content", "title_part"),
    [
        (b"%PDF-1.7\n...", "PDF"),
        (b"\x89PNG\r\n\x1a\n....", "picture"),
        (b"<html><body><table><tr><td>Email</td></tr></table></body></html>", "web page"),
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
         "2003 XML"),
        (b"", "empty"),
        (bytes(range(256)) * 40, "not a spreadsheet"),
        (b"{\\rtf1 hello}", "RTF"),
    ],
)
def test_things_that_are_not_spreadsheets(tmp_path: Path, content: bytes, title_part: str) -> None:
    path = tmp_path / "members.xls"
    path.write_bytes(content)
    err = refused(path, NotASpreadsheetError)
    assert title_part.lower() in err.title.lower()


def test_word_and_plain_zip_files(tmp_path: Path) -> None:
    docx = tmp_path / "m.xlsx"
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    assert "Word" in refused(docx, NotASpreadsheetError).title
    plain = tmp_path / "m2.xlsx"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("members.xlsx", b"PK")
    assert "zip" in refused(plain, NotASpreadsheetError).title


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match="not found"):
        read_sheet(tmp_path / "nope.xlsx")
    with pytest.raises(SheetError, match="folder"):
        read_sheet(tmp_path)


def _scan(xml: bytes) -> formats._XlsxSheetScan:
    def pieces() -> list[bytes]:  # small chunks: tags are cut at chunk edges
        return [xml[i : i + 700] for i in range(0, len(xml), 700)]

    scanner = formats._XlsxSheetScan("sheet1.xml", pieces)
    for piece in pieces():
        scanner.feed(piece)
    scanner.close()
    return scanner


def test_sheet_extent_scanner_envelope_then_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>1</v></c></row>'
                   for i in range(1, 60))
    hidden = rows.replace('<c r="A30">', '<c r="A77"><v>1</v></c><c r="A30">')
    xml = S.sheet_xml(hidden).encode()
    assert _scan(xml).fits  # every cell inside columns A-T x 1,000,000 rows: nothing to measure
    monkeypatch.setattr(formats, "MAX_CELLS", 150)  # 2 columns x 75 rows: A77 is outside
    with pytest.raises(UnsafeFileError):
        _scan(xml)  # ... and measured: 77 rows x 2 columns
    monkeypatch.setattr(formats, "MAX_CELLS", 160)
    assert _scan(xml).fits
    monkeypatch.undo()
    wide = S.sheet_xml(hidden.replace('<c r="B30">', '<c r="AB30">')).encode()
    s = _scan(wide)  # AB is outside A-T: the furthest reference is measured
    assert not s.fits and (s.max_col, s.max_row) == (27, 77)


def test_envelope_and_limits_helpers() -> None:
    assert formats._at_most(b"T", b"A", b"Z") == b"(?:[A-T])"
    pattern = re.compile(rb"(?:%s)\Z" % formats._at_most(b"1000000", b"0", b"9"))
    assert pattern.match(b"999999") and pattern.match(b"1000000") and pattern.match(b"0999999")
    assert not pattern.match(b"1000001") and not pattern.match(b"10000000")
    cols = re.compile(rb"(?:%s)\Z" % formats._at_most(b"GR", b"A", b"Z"))
    assert all(cols.match(column_letter(i).encode()) for i in range(200))
    assert not any(cols.match(column_letter(i).encode()) for i in range(200, 800))
    envelope = formats._xlsx_envelope(5, 100)
    assert envelope is not None
    for fine in (b'<c r="A1">', b'<c r="T1000000" s="1" t="s"/>', b'<c r="B2" t="inlineStr" />',
                 b'<col min="1"/>', b'<cols>'):
        assert not envelope.search(fine), fine
    for odd in (b'<c r="U1">', b'<c r="A1000001">', b'<c r="AA1">', b'<c r="Afd1">', b"<c>", b"<c/>",
                b'<c\tr="A1">', b'<c t="s" r="A1">', b'<c r="A1" r="XFD1">', b'<c r="A1"r="XFD1">',
                b'<c r="A1" t="s" r="XFD1">', b'<c r="A1" cm="1">', b'<c  r="A1">'):
        assert envelope.search(odd), odd
    assert formats._xlsx_envelope(16_383, 1) is not None  # XFD: 1,220 rows
    assert formats._xlsx_envelope(16_383, 5000) is None


# Hostile xlsx files: each is a few KB and must be refused (the reader would abort the process).
_FAR = '<row r="900000"><c r="XFD900000"><v>1</v></c></row>'
_HEAD = '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>'


def _xlsx_with_sheet_at(path: Path, target: str, part: str, xml: str) -> Path:
    """An xlsx whose workbook names ``target`` as its sheet, stored at ``part``."""
    wb = ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", S._types(("/xl/workbook.xml", f"{S._SML}.sheet.main+xml")))
        z.writestr("_rels/.rels", S._rels(("rId1", "officeDocument", "xl/workbook.xml")))
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", S._rels(("rId1", "worksheet", target)))
        z.writestr(part, xml)
    return path


@pytest.mark.parametrize(("target", "part"), [
    ("worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
    ("s.xml", "xl/s.xml"),
    ("worksheets/sub/s.xml", "xl/worksheets/sub/s.xml"),
    ("worksheets/sheet1.dat", "xl/worksheets/sheet1.dat"),
    ("worksheets/../s.xml", "xl/worksheets/../s.xml"),
    ("/xl/worksheets/S.XML", "xl/worksheets/S.XML"),
])
def test_xlsx_far_cell_in_a_sheet_part_with_any_name_is_refused(tmp_path: Path, target: str,
                                                                part: str) -> None:
    path = _xlsx_with_sheet_at(tmp_path / "far.xlsx", target, part, S.sheet_xml(_HEAD + _FAR))
    refused(path, UnsafeFileError)


@pytest.mark.parametrize("cell", [
    '<c r="Afd900000"><v>1</v></c>',  # calamine reads letters in either case: column AFD
    '<c r="xfd900000"><v>1</v></c>',
    '<c t="n" x="a>b" r="XFD900000"><v>1</v></c>',  # ">" inside a quoted value
    '<1:c r="XFD900000"><1:v>1</1:v></1:c>',  # any prefix, even one XML would not allow
    '<:c r="XFD900000"><:v>1</:v></:c>',
    '<c r="A9" r="XFD900000"><v>1</v></c>',  # calamine takes the last r
    '<c r="A9"r="XFD900000"><v>1</v></c>',
    '<c r="A9" t="n" r = "XFD900000"><v>1</v></c>',
    "<c r=\"A9\" r='XFD900000'><v>1</v></c>",
    '<c r="A9"\nr="XFD900000"><v>1</v></c>',
    '<x:c r="ZZZZ9000"><x:v>1</x:v></x:c>',  # 4 letters, on the exact path
    '<x:c r="A123456789"><x:v>1</x:v></x:c>',  # 9 digits: calamine's number wraps around
])
def test_xlsx_far_cell_written_oddly_is_refused(tmp_path: Path, cell: str) -> None:
    xml = S.sheet_xml(_HEAD + f'<row r="2">{cell}</row>')
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", xml), SheetError)


def test_xlsx_row_reference_with_letters_positions_the_next_cells(tmp_path: Path) -> None:
    # calamine reads <row r="A999999"> as row 999,999: the cell after it is that far down.
    xml = _HEAD + '<row r="2"><c r="XFD2"><v>1</v></c></row><row r="A999999"><c><v>1</v></c></row>'
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(xml)), UnsafeFileError)


def test_xlsx_implicit_positions_are_followed(tmp_path: Path) -> None:
    # Cells without r= follow one another: 25,000 empty <c/> push the last cell to column 25,001.
    row = "<c/>" * 25_000 + "<c><v>1</v></c>"
    xml = _HEAD + f'<row r="1000">{row}</row>'
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(xml)), UnsafeFileError)
    # Rows without r= count one by one, and their cells without r= sit in them.
    ok = ('<row><c t="inlineStr"><is><t>Email</t></is></c></row>'
          + "<row/>" * 5 + '<row><c t="inlineStr"><is><t>ann@example.org</t></is></c></row>')
    sheet = read_sheet(S.write_xlsx_raw(tmp_path / "ok.xlsx", S.sheet_xml(ok)))
    assert [(r.row, r.email) for r in sheet.rows if r.email] == [(7, "ann@example.org")]


def test_xlsx_far_cell_in_a_later_chunk_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "_CHUNK", 4096)  # the envelope is sized on the first chunk
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>m{i}@example.org</t></is></c>'
                   f'<c r="B{i}"><v>{i}</v></c></row>' for i in range(2, 3000))
    hidden = rows.replace('<c r="B2500">', '<c r="ZZZ2500"><v>1</v></c><c r="B2500">', 1)
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(_HEAD + hidden)), UnsafeFileError)
    sheet = read_sheet(S.write_xlsx_raw(tmp_path / "ok.xlsx", S.sheet_xml(_HEAD + rows)))
    assert sheet.counts["valid"] == 2998


def test_xlsx_rows_before_a_cell_without_reference_are_counted_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Path 1 ignores rows (every cell has its reference) until a cell without one turns up in a
    # later chunk; its row is then counted from the start of the sheet, not from that chunk.
    monkeypatch.setattr(formats, "_CHUNK", 4096)
    xml = _HEAD + '<row><c r="XFD1"><v>1</v></c></row>' + "<row/>" * 5000 + "<row><c><v>1</v></c></row>"
    refused(S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(xml)), UnsafeFileError)


@pytest.mark.parametrize("cells", [
    '<c><is><t>x</t></is><row r="5"/></c>',  # a row inside a cell's value (calamine skips it)
    '<c><is></c></is><row r="5"/><c></c>',  # the value does not nest
    '<c><!-- </c> --><row r="5"/></c>',  # a comment hides the end of the cell
    "</c>",
    '<c r="A2" foo><v>1</v></c><c><v>1</v></c>',  # attributes quick-xml may read otherwise
])
def test_xlsx_cells_that_calamine_could_read_otherwise_are_refused(tmp_path: Path, cells: str) -> None:
    xml = _HEAD + f'<row r="2">{cells}</row>'
    refused(S.write_xlsx_raw(tmp_path / "odd.xlsx", S.sheet_xml(xml)), CorruptFileError)


def test_xlsx_doctype_is_refused_on_the_exact_path(tmp_path: Path) -> None:
    xml = S.sheet_xml(_HEAD + '<row r="2"><c><v>1</v></c></row>').replace(
        "<worksheet", '<!DOCTYPE worksheet [<!ENTITY x "y">]><worksheet', 1)
    refused(S.write_xlsx_raw(tmp_path / "odd.xlsx", xml), CorruptFileError)


def test_xlsx_wide_sheet_and_unusual_attributes_are_measured(tmp_path: Path) -> None:
    header = "".join(f'<c r="{column_letter(j)}1" t="inlineStr"><is><t>H{j}</t></is></c>' for j in range(30))
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr" cm="1"><is><t>m{i}@example.org</t></is></c>'
        + "".join(f'<c r="{column_letter(j)}{i}"><v>{j}</v></c>' for j in range(1, 30)) + "</row>"
        for i in range(2, 50)
    )
    xml = f'<row r="1">{header}</row>' + rows + "<!-- written by hand -->"
    sheet = read_sheet(S.write_xlsx_raw(tmp_path / "wide.xlsx", S.sheet_xml(xml)))
    assert sheet.counts["valid"] == 48 and len(sheet.columns) == 30


def test_a_stray_cell_below_the_data_keeps_its_row_number(tmp_path: Path) -> None:
    cells = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>m{i}@example.org</t></is></c></row>'
        for i in range(2, 300)
    )
    cells = '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>' + cells.replace(
        '<row r="150">', '<row r="150"><c r="A950" t="inlineStr"><is><t>stray</t></is></c>', 1)
    sheet = read_sheet(S.write_xlsx_raw(tmp_path / "m.xlsx", S.sheet_xml(cells)))
    assert sheet.rows[-1].row == 950
    assert sheet.rows[-1].value == "stray"
    assert sheet.counts["valid"] == 298


@pytest.mark.parametrize("rows", [
    '<row r="1"><c t="inlineStr"><is><t>Email</t></is></c><c/></row><row><c s="1"><v>2</v></c></row>'
    '<row r="7" spans="1:3" x14ac:dyDescent="0.25"><c t="s"><v>0</v></c><c><f>A1</f><v>1</v></c>'
    '<c t="inlineStr"><is><t xml:space="preserve"> a </t></is></c></row><row r="3"><c/><c/></row>',
    '<row r="1"><c r="C1"><v>1</v></c><c><v>1</v></c></row><row><c/><c/><c/><c/></row>',  # mixed
    '<row r="1" r="900"><c><v>1</v></c></row>',  # two r: refused either way
    '<row spans="1:2" r="5"><c><v>1</v></c></row><row r="0"><c/></row>',  # not plain: tokens
    '<row>\n  <c t="inlineStr">\n    <is>\n      <t>Email</t>\n    </is>\n  </c>\n  <c>\n'
    '    <v>2</v>\n  </c>\n  <c/>\n</row>\n<row r="4">\r\n\t<c><v>1</v></c></row>',  # pretty-printed
])
def test_exact_path_plain_rows_are_followed_as_tokens_are(rows: str, monkeypatch: pytest.MonkeyPatch) -> None:
    xml = S.sheet_xml(rows).encode()

    def measure() -> tuple[int, int] | type[Exception]:
        scanner = formats._XlsxSheetScan("sheet1.xml", lambda: [xml[:300], xml[300:]])
        try:
            scanner._measure_exact()
        except SheetError as exc:
            return type(exc)
        return scanner.max_row, scanner.max_col

    fast = measure()
    monkeypatch.setattr(formats, "_X_PLAIN_ROW", re.compile(rb"(?!)"))  # token by token only
    assert measure() == fast


# -- unpacking zip parts (formats._chunks) ---------------------------------------------------------
def _patch_central(data: bytearray, member: bytes, offset: int, fmt: str, value: int) -> None:
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + name_len]) == member:
            struct.pack_into(fmt, data, pos + offset, value)
        pos = data.find(b"PK\x01\x02", pos + 4)


@pytest.mark.parametrize("member", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"])
def test_a_part_with_a_wrong_checksum_is_refused(tmp_path: Path, member: str) -> None:
    # calamine checks the CRC of the sheet it reads, but not of the shared strings: a damaged
    # address there would be imported as another address.
    cells = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    path = S.write_xlsx_raw(tmp_path / "m.xlsx", S.sheet_xml(cells),
                            shared_strings=["Email", "ann@example.org"])
    assert read_sheet(path).addresses == ["ann@example.org"]
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 14, info.CRC ^ 0xFFFF)
    _patch_central(data, member.encode(), 16, "<I", info.CRC ^ 0xFFFF)
    path.write_bytes(bytes(data))
    refused(path, CorruptFileError)


def test_a_part_whose_compressed_data_is_cut_short_is_refused(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", ROWS * 20)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    _patch_central(data, b"xl/worksheets/sheet1.xml", 20, "<I", info.compress_size // 2)
    path.write_bytes(bytes(data))
    refused(path, CorruptFileError)


@pytest.mark.parametrize("size", [262_146, 262_144 + 300, 2 * 262_144 + 5])
def test_parts_ending_just_past_a_chunk_are_read(tmp_path: Path, size: int) -> None:
    # A deflated part whose last bytes zlib still holds when a 256 KB chunk is full.
    path = S.write_xlsx(tmp_path / "m.xlsx", [["Email"], ["ann@example.org"]])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("customXml/item1.xml", b"<a/>\n" + b" " * (size - 5))
    assert read_sheet(path).addresses == ["ann@example.org"]


# -- hostile files, each in a child process under the limits the issue sets -------------------
LIMIT_SECONDS = 20
LIMIT_ADDRESS_SPACE = 2 << 30  # 2 GB


def inspect_within_limits(path: Path) -> tuple[int, str, float]:
    """(exit status, standard error, seconds) of ``ccdesk inspect path`` in a child process
    that may use at most 2 GB of address space; fails the test if it takes over 20 s."""
    import resource
    import subprocess
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_ADDRESS_SPACE, LIMIT_ADDRESS_SPACE))

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ccdesk", "inspect", str(path)], capture_output=True,
                          text=True, timeout=LIMIT_SECONDS, preexec_fn=cap, check=False)
    return done.returncode, done.stderr, time.perf_counter() - start


def refused_within_limits(path: Path, words: str = "") -> str:
    """The one-line refusal of ``path`` (exit status 2, within the time and memory limits)."""
    status, err, seconds = inspect_within_limits(path)
    assert status == 2, (status, err[-2000:])
    assert seconds < LIMIT_SECONDS and err.startswith("ccdesk: ") and err.count("\n") == 1, err[-2000:]
    assert words.lower() in err.lower(), err
    return err


# OLE2 (xls): calamine trusts the compound file's counts and follows its chains to their end.
_OLE_END, _OLE_FREE = 0xFFFFFFFE, 0xFFFFFFFF


def _xls_parts(rows: int = 20) -> tuple[bytearray, int]:
    """A one-stream xls as S.compound_file writes it: the Workbook stream in sectors 0..k-1,
    the directory in sector k, the FAT in sector k + 1; returns (file, k)."""
    stream = S.xls_workbook_stream({"Sheet1": [["Email"]] + [[f"m{i}@example.org"] for i in range(rows)]})
    data = bytearray(S.compound_file({"Workbook": stream}))
    k = struct.unpack_from("<I", data, 48)[0]  # the directory's first sector
    assert struct.unpack_from("<I", data, 76)[0] == k + 1
    return data, k


def _sector(k: int) -> int:
    return (k + 1) * 512


def test_xls_whose_difat_loops_and_claims_a_huge_fat_is_refused(tmp_path: Path) -> None:
    data, k = _xls_parts()
    fat_at = k + 1
    difat_at = (len(data) - 512) // 512
    data += struct.pack("<127I", *([fat_at] * 127)) + struct.pack("<I", difat_at)  # loops to itself
    struct.pack_into("<I", data, 68, difat_at)
    struct.pack_into("<I", data, 72, 1)
    for claimed in (0x7FFFFF00, 1):  # with a huge FAT count (calamine reserves it), and without
        struct.pack_into("<I", data, 44, claimed)
        path = tmp_path / f"difat{claimed}.xls"
        path.write_bytes(bytes(data))
        refused_within_limits(path, "damaged")


def test_xls_whose_sector_chain_loops_is_refused(tmp_path: Path) -> None:
    # The root entry's chain (the mini stream, which calamine reads whenever the header counts a
    # mini FAT) loops on the FAT sector, and claims 4 GB.
    data, k = _xls_parts()
    fat = _sector(k + 1)
    struct.pack_into("<I", data, fat + 4 * (k + 1), k + 1)
    root = _sector(k)
    struct.pack_into("<II", data, root + 116, k + 1, 0xFFFFFF00)
    struct.pack_into("<I", data, 64, 1)  # one mini FAT sector
    path = tmp_path / "loop.xls"
    path.write_bytes(bytes(data))
    refused_within_limits(path, "damaged")
    # The Workbook stream's own chain, looping back to its start, with a size of 4 GB.
    data, k = _xls_parts()
    struct.pack_into("<I", data, _sector(k + 1) + 4 * (k - 1), 0)
    struct.pack_into("<I", data, _sector(k) + 128 + 120, 0xFFFFFF00)
    path.write_bytes(bytes(data))
    refused_within_limits(path, "damaged")


def test_xls_whose_header_makes_calamine_reserve_gigabytes_is_refused(tmp_path: Path) -> None:
    data, _ = _xls_parts()
    struct.pack_into("<I", data, 64, 0xFFFF)  # the mini FAT count; its low half is read at 62
    path = tmp_path / "reserve.xls"
    path.write_bytes(bytes(data))
    refused_within_limits(path, "damaged")


def test_a_good_xls_is_read_within_the_limits(tmp_path: Path) -> None:
    data, _ = _xls_parts(rows=2000)
    path = tmp_path / "good.xls"
    path.write_bytes(bytes(data))
    status, err, _ = inspect_within_limits(path)
    assert status == 0, err


# Zipped parts: huge, slow, or written to make calamine hold far more than the file's size.
def _xlsx_with_strings(path: Path, rows: str, sst: str | bytes) -> Path:
    """An xlsx with the sheet's ``rows`` and ``sst`` as xl/sharedStrings.xml, verbatim."""
    S.write_xlsx_raw(path, S.sheet_xml(rows))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", sst)
    return path


def _text(n: int, seed: int = 1) -> str:
    """``n`` letters that deflate about twice (so no compression-ratio limit applies)."""
    import random

    rnd = random.Random(seed)
    return "".join(rnd.choices("abcdefghijklmnop", k=n))


def _shared_rows(indexes: list[int], head: bool = True) -> str:
    out = ['<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>'] if head else []
    out += [f'<row r="{r}"><c r="A{r}" t="s"><v>{i}</v></c></row>' for r, i in enumerate(indexes, start=2)]
    return "".join(out)


def test_a_long_shared_string_used_by_thousands_of_cells_is_refused(tmp_path: Path) -> None:
    # 500 KB of file; calamine would copy the 1 MB text into each of 3,000 cells (3 GB).
    sst = f"<sst><si><t>{_text(1 << 20)}</t></si></sst>"
    path = _xlsx_with_strings(tmp_path / "amplified.xlsx", _shared_rows([0] * 3000), sst)
    assert path.stat().st_size < 1 << 20
    refused_within_limits(path, "long texts")


@pytest.mark.parametrize("before", ["<si></si>", "<si><t/></si>", "<si><rPh><t>x</t></rPh></si>",
                                    "<x:si><x:t>a</x:t></si><x:si>"])
def test_irregular_shared_strings_cannot_hide_a_long_one(tmp_path: Path, before: str) -> None:
    # calamine makes no string of an <si> without <t> or <r> (and ends an <x:si> only at
    # </x:si>): its string 1 is the long one, whatever the elements before it look like.
    sst = f'<sst xmlns:x="x">{before}<si><t>short</t></si><si><t>{_text(1 << 20)}</t></si></sst>'
    path = _xlsx_with_strings(tmp_path / "hidden.xlsx", _shared_rows([1] * 3000), sst)
    refused_within_limits(path, "long texts")


@pytest.mark.parametrize("closing", ["</si>", "</si >", "</x:si>"])
def test_long_shared_strings_used_once_are_read(tmp_path: Path, closing: str) -> None:
    # The cheap bound (cells x longest string) is over the limit: the cells' own indexes decide.
    prefix = "x:" if closing == "</x:si>" else ""
    items = [f"<{prefix}si><{prefix}t>m{i}@example.org</{prefix}t>{closing}" for i in range(3000)]
    items[7] = f"<{prefix}si><{prefix}t>{_text(300_000)}</{prefix}t>{closing}"  # a long note, once
    sst = f'<{prefix}sst xmlns:x="x">' + "".join(items) + f"</{prefix}sst>"
    path = _xlsx_with_strings(tmp_path / "notes.xlsx", _shared_rows(list(range(3000))), sst)
    sheet = read_sheet(path)
    assert sheet.counts["valid"] == 2999 and sheet.counts["invalid"] == 1


def test_shared_strings_closed_with_a_space_are_read_in_linear_time(tmp_path: Path) -> None:
    # "</si >" is legal XML; a lazy regex over such strings took a minute for a 200 KB file.
    n = 200_000
    sst = "<sst>" + "".join(f"<si><t>m{i}@example.org</t></si >" for i in range(n)) + "</sst>"
    path = _xlsx_with_strings(tmp_path / "spaced.xlsx", _shared_rows(list(range(n))), sst)
    status, err, seconds = inspect_within_limits(path)
    assert status == 0, err
    assert seconds < 10


def test_shared_strings_with_a_doctype_are_refused(tmp_path: Path) -> None:
    # Entity declarations (a billion laughs, an external file) never reach calamine this way.
    doctype = ('<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
               '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY x SYSTEM "file:///etc/passwd">]>')
    sst = doctype + "<sst><si><t>&c;&x;</t></si></sst>"
    refused_within_limits(_xlsx_with_strings(tmp_path / "laughs.xlsx", _shared_rows([0]), sst), "damaged")


def test_too_many_cells_or_strings_are_refused_before_calamine(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_CELLS", 1000)
    # Cells all in one place: a small rectangle, but calamine holds each of them.
    same = '<row r="1">' + '<c r="A1"><v>1</v></c>' * 1001 + "</row>"
    refused(S.write_xlsx_raw(tmp_path / "same.xlsx", S.sheet_xml(same)), UnsafeFileError)
    fewer = '<row r="1">' + '<c r="A1"><v>1</v></c>' * 990 + "</row>"
    read_sheet(_xlsx_with_strings(tmp_path / "ok.xlsx", fewer, "<sst><si><t>x</t></si></sst>"),
               ImportOptions(column="A"))
    sst = "<sst>" + "<si><t>x</t></si>" * 20 + "</sst>"
    refused(_xlsx_with_strings(tmp_path / "strings.xlsx", fewer, sst), UnsafeFileError)


def test_an_unusual_sheet_is_followed_only_so_far(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "_EXACT_MAX_CELLS", 500)  # (1,000,000: some 7 s)
    rows = "".join(f'<x:row r="{r}"><x:c r="A{r}"><x:v>1</x:v></x:c></x:row>' for r in range(1, 502))
    refused(S.write_xlsx_raw(tmp_path / "x.xlsx", S.sheet_xml(rows, prefix="x")), UnsafeFileError)
    fine = S.sheet_xml(rows[: rows.index('<x:row r="400"')], prefix="x")
    sheet = read_sheet(S.write_xlsx_raw(tmp_path / "y.xlsx", fine), ImportOptions(column="A"))
    assert sheet.rows[-1].row == 399


def test_tags_without_their_end_take_linear_time() -> None:
    # Each unfinished tag once sent a regex to the end of the data: quadratic in its size (the
    # ods scan took 40 s for one 256 KB piece of these).
    start = time.perf_counter()
    ods = formats._OdsScan()
    with pytest.raises(CorruptFileError):
        ods.feed(b"<table:table-cell " * 100_000)
        ods.close()
    xml = b"<worksheet><sheetData>" + b'<a b="' * 3_000_000
    pieces = [xml[i : i + 262_144] for i in range(0, len(xml), 262_144)]
    sheet = formats._XlsxSheetScan("sheet1.xml", lambda: pieces)
    with pytest.raises(CorruptFileError):
        sheet._measure_exact()
    strings = formats._SharedStringsScan("xl/sharedStrings.xml", lambda: [b"<sst><si><t>" + xml])
    with pytest.raises(SheetError):
        strings._measure_exact()
    assert time.perf_counter() - start < 3


@pytest.mark.parametrize("ref", ["XFE1", "A1048577", "ZZZZ1", "A99999999", "XFD1048576"])
def test_cells_beyond_excels_grid_are_refused_or_harmless(tmp_path: Path, ref: str) -> None:
    rows = _HEAD + f'<row r="2"><c r="A2" t="inlineStr"><is><t>ann@example.org</t></is></c></row>' \
        f'<row r="3"><c r="{ref}"><v>1</v></c></row>'
    path = S.write_xlsx_raw(tmp_path / "far.xlsx", S.sheet_xml(rows))
    status, err, _ = inspect_within_limits(path)
    assert status == 2 if ref != "XFE1" else status in (0, 2), err


def test_entities_and_external_entities_in_a_sheet_are_not_expanded(tmp_path: Path) -> None:
    doctype = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
               '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
               '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
               '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">'
               '<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    rows = _HEAD + '<row r="2"><c r="A2" t="inlineStr"><is><t>ann@example.org</t></is></c></row>' \
        '<row r="3"><c r="A3" t="inlineStr"><is><t>&h;</t></is></c></row>' \
        '<row r="4"><c r="A4" t="inlineStr"><is><t>&x;</t></is></c></row>'
    xml = S.sheet_xml(rows).replace("<worksheet", doctype + "<worksheet", 1)
    path = S.write_xlsx_raw(tmp_path / "laughs.xlsx", xml)
    status, err, _ = inspect_within_limits(path)
    assert status in (0, 2), err
    try:
        sheet = read_sheet(path)
    except SheetError:
        return  # refused: harmless
    values = " ".join(r.value for r in sheet.rows)
    assert len(values) < 1000 and "root:" not in values


def test_deep_nesting_is_harmless(tmp_path: Path) -> None:
    deep = "<a>" * 500_000 + "</a>" * 500_000
    rows = _HEAD + f'<row r="2"><c r="A2" t="inlineStr"><is><t>ann@example.org</t>{deep}</is></c></row>'
    for name, xml in (("value", S.sheet_xml(rows)),
                      ("outside", S.sheet_xml(_HEAD).replace("<sheetData>", deep + "<sheetData>"))):
        status, err, _ = inspect_within_limits(S.write_xlsx_raw(tmp_path / f"{name}.xlsx", xml))
        assert status in (0, 2), (name, err)


def test_an_ods_cell_with_a_long_text_repeated_thousands_of_times_is_refused(tmp_path: Path) -> None:
    # calamine writes the 300 KB text into each of the 16,000 repeated cells, then each of the 3 rows.
    head = ('<table:table-row><table:table-cell office:value-type="string"><text:p>Email</text:p>'
            "</table:table-cell></table:table-row>")
    cell = (f'<table:table-cell table:number-columns-repeated="16000" office:value-type="string">'
            f"<text:p>{_text(300_000)}</text:p></table:table-cell>")
    rows = head + f'<table:table-row table:number-rows-repeated="3">{cell}</table:table-row>'
    path = S.write_ods(tmp_path / "repeated.ods", {"S": []}, raw_rows={"S": rows})
    assert path.stat().st_size < 1 << 20
    refused_within_limits(path, "long texts")
    # The same text once, and short texts repeated as LibreOffice writes them: read.
    short = ('<table:table-row table:number-rows-repeated="5"><table:table-cell table:number-columns-'
             'repeated="3" office:value-type="string"><text:p>ann@example.org</text:p></table:table-cell>'
             "</table:table-row>")
    once = head + f"<table:table-row>{cell.replace('16000', '1')}</table:table-row>" + short
    sheet = read_sheet(S.write_ods(tmp_path / "once.ods", {"S": []}, raw_rows={"S": once}))
    assert sheet.counts["invalid"] == 1 and sheet.counts["valid"] == 1 and sheet.counts["duplicate"] == 4


def test_an_xlsb_shared_string_used_by_thousands_of_cells_is_refused(tmp_path: Path) -> None:
    def xlsb(path: Path, text: str, cells: int) -> Path:
        rows = b"".join(S.xlsb_record(0x0000, struct.pack("<I", r) + b"\0" * 13)
                        + S.xlsb_record(0x0007, struct.pack("<III", 0, 0, 0)) for r in range(1, cells + 1))
        head = [["Email"]]
        S.write_xlsb(path, {"Sheet1": head}, raw_sheets={"Sheet1": S.xlsb_sheet(head, extra=rows)})
        sst = (S.xlsb_record(0x009F, struct.pack("<II", cells, 1))
               + S.xlsb_record(0x0013, b"\0" + S._wide(text)) + S.xlsb_record(0x00A0))
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/sharedStrings.bin", sst)
        return path

    refused_within_limits(xlsb(tmp_path / "amplified.xlsb", _text(500_000), 3000), "long texts")
    sheet = read_sheet(xlsb(tmp_path / "fine.xlsb", "ann@example.org", 3000))
    assert sheet.counts["valid"] == 1 and sheet.counts["duplicate"] == 2999


# The inline text a sheet's cells hold is counted, texts longer than a 256 KB piece included.
def _inline_rows(texts: list[str]) -> str:
    return _HEAD + "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c></row>'
        for i, t in enumerate(texts, start=2))


@pytest.mark.parametrize(("texts", "ok"), [
    (["x" * 700_000], False),  # one text over the limit, across several pieces
    (["y" * 100_000] * 7, False),  # several that add up past it
    (["z" * 100_000] * 5, True),  # under it
])
def test_inline_text_the_cells_hold_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               texts: list[str], ok: bool) -> None:
    monkeypatch.setattr(formats, "MAX_COPIED_TEXT_BYTES", 600_000)
    path = _xlsx_with_sheet_at(tmp_path / "text.xlsx", "worksheets/sheet1.xml",
                               "xl/worksheets/sheet1.xml", S.sheet_xml(_inline_rows(texts)))
    if ok:
        assert len(open_workbook(path).grid("Sheet1").rows) == len(texts) + 1
    else:
        assert "long texts" in refused(path, UnsafeFileError).what_to_do
