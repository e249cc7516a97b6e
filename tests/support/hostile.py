"""Hostile and odd files (issue 13, "Unbreakable"), generated into a folder, and a runner that
opens each one the way staff would, under the limits the issue sets.

Every :class:`Case` writes one file (or makes a FIFO, or names a device or a folder) and says
what a right answer is:

* ``"rows"``: ``ccdesk inspect`` exits 0 and finds exactly ``addresses`` (row, address);
* ``"refuse"``: it exits 2 with one line on standard error, no traceback;
* ``"either"``: one of the two (a file that may fairly be read or refused; if it is read, the
  addresses must still be exactly ``addresses``).

:func:`run_case` runs ``python -m ccdesk inspect --json FILE`` in a child process whose address
space is capped at :data:`MEMORY_CAP` (``RLIMIT_AS``), and reports its exit status, wall time
and peak resident memory (from ``wait4``, for that child alone). Nothing binary is committed:
the big zip parts are built from one compressed block repeated (each block is compressed from
a fresh state and flushed, so the copies concatenate into a valid deflate stream), which makes a
1 GB part in a second or two.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import sheets as S

#: The address space a child may use (the issue: "never needs more than 2 GB").
MEMORY_CAP = 2 * 1024**3
#: The wall time a file may take (the issue: "finishes within 20 s on this machine").
TIME_LIMIT = 20.0
#: When a child still running is killed (so a hang is reported, not waited for).
KILL_AFTER = 30.0

ROOT = Path(__file__).resolve().parents[2]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"


# -- the cases -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One hostile file: ``make(folder)`` returns the path to open."""

    name: str
    make: Callable[[Path], Path]
    expect: str  # "rows", "refuse" or "either"
    addresses: tuple[tuple[int, str], ...] = ()
    #: Words the refusal must contain (case-insensitive), when it is refused.
    says: str = ""
    #: The file's class in the issue.
    group: str = ""
    #: Takes more than a few seconds to make or open.
    slow: bool = False
    #: Another process rewrites the file while it is read (see :func:`run_case`).
    rewrite: Callable[[Path, threading.Event], None] | None = None
    #: Words standard output must not contain (an external entity's content, say).
    never: tuple[str, ...] = ()
    #: Words a warning must contain ("" for none expected).
    warns: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


MEMBERS = [("Email", "Name"), ("ann@example.org", "Ann"), ("bob@example.org", "Bob"),
           ("cy@example.org", "Cy")]
MEMBER_ADDRESSES = ((2, "ann@example.org"), (3, "bob@example.org"), (4, "cy@example.org"))


# -- writing zips by hand (big parts, odd parts) ---------------------------------------------
@dataclass
class Part:
    """A zip member: ``head``, then ``block`` ``repeat`` times, then ``tail``."""

    name: str
    head: bytes
    block: bytes = b""
    repeat: int = 0
    tail: bytes = b""


def _deflate(data: bytes, final: bool) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def write_zip(path: Path, parts: Iterable[Part]) -> Path:
    """A zip of deflated ``parts``, a repeated block compressed once (see the module text)."""
    central = []
    with path.open("wb") as out:
        for part in parts:
            pieces = [(part.head, 1), (part.block, part.repeat), (part.tail, 1)]
            crc, size = 0, 0
            for data, n in pieces:
                for _ in range(n):
                    crc = zlib.crc32(data, crc)
                size += len(data) * n
            packed = [(_deflate(part.head, False), 1), (_deflate(part.block, False), part.repeat),
                      (_deflate(part.tail, True), 1)]
            csize = sum(len(d) * n for d, n in packed)
            name = part.name.encode()
            offset = out.tell()
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, csize, size,
                                  len(name), 0) + name)
            for data, n in packed:
                for _ in range(n):
                    out.write(data)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21,
                                       crc, csize, size, len(name), 0, 0, 0, 0, 0, offset) + name)
        start = out.tell()
        for entry in central:
            out.write(entry)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                              out.tell() - start, start, 0))
    return path


def _xlsx_parts(sheet: bytes, *, shared: Part | None = None, styles: Part | None = None,
                sheets: int = 1) -> list[Part]:
    """The parts of a workbook: ``sheets`` sheets (the last one holds ``sheet``, the others one
    heading each), optional shared strings and styles."""
    over = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SML}.worksheet+xml"/>'
        for i in range(1, sheets + 1))
    if shared:
        over += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SML}.sharedStrings+xml"/>'
    if styles:
        over += f'<Override PartName="/xl/styles.xml" ContentType="{_SML}.styles+xml"/>'
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
          'package/2006/content-types"><Default Extension="rels" ContentType="application/'
          'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
          f'"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{_SML}.sheet.'
          f'main+xml"/>{over}</Types>')
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    root_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship '
                 f'Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    names = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1))
    wb = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{rel}">'
          f"<sheets>{names}</sheets></workbook>")
    targets = "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}'
                      '.xml"/>' for i in range(1, sheets + 1))
    if shared:
        targets += (f'<Relationship Id="rIdS" Type="{rel}/sharedStrings" '
                    'Target="sharedStrings.xml"/>')
    if styles:
        targets += f'<Relationship Id="rIdY" Type="{rel}/styles" Target="styles.xml"/>'
    wb_rels = f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}">{targets}</Relationships>'
    parts = [Part("[Content_Types].xml", ct.encode()), Part("_rels/.rels", root_rels.encode()),
             Part("xl/workbook.xml", wb.encode()), Part("xl/_rels/workbook.xml.rels", wb_rels.encode())]
    filler = S.sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>Notes</t></is></c></row>').encode()
    parts += [Part(f"xl/worksheets/sheet{i}.xml", filler) for i in range(1, sheets)]
    parts.append(Part(f"xl/worksheets/sheet{sheets}.xml", sheet))
    parts += [p for p in (shared, styles) if p]
    return parts


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _member_rows_xml(rows: Iterable[tuple[str, ...]] = MEMBERS) -> str:
    return "".join(
        f'<row r="{i}">' + "".join(_inline(f"{chr(65 + j)}{i}", v) for j, v in enumerate(row)) + "</row>"
        for i, row in enumerate(rows, start=1))


def _noise(rnd: random.Random, n: int) -> str:
    """``n`` letters that deflate about 1.6 times (enough to stay under the ratio cap)."""
    return "".join(rnd.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=n))


# -- xlsx: huge or slow parts ----------------------------------------------------------------
def xlsx_huge_shared_strings(folder: Path) -> Path:
    """About 15 MB on disk; the shared strings unpack to about 1,000 MB (1,000,000 strings of
    about 1 KB: a ratio of some 65, under the ratio cap). The sheet uses the first three."""
    rnd = random.Random(13)
    head = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">'
            "<si><t>Email</t></si><si><t>ann@example.org</t></si><si><t>bob@example.org</t></si>").encode()
    # A 1 MB block of strings that compresses ~65 times: a little noise in a lot of repetition.
    unit = "".join(f"<si><t>{_noise(rnd, 12)}{'x' * 990}</t></si>" for _ in range(1000)).encode()
    sheet = S.sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s">'
                        '<v>1</v></c></row><row r="3"><c r="A3" t="s"><v>2</v></c></row>').encode()
    shared = Part("xl/sharedStrings.xml", head, unit, 960, b"</sst>")
    return write_zip(folder / "shared-strings.xlsx", _xlsx_parts(sheet, shared=shared))


SI_STRINGS = 20_000


def xlsx_si_closed_with_space(folder: Path) -> Path:
    """About 200 KB: shared strings whose elements end with the legal ``</si >``."""
    n = SI_STRINGS
    strings = "".join(f"<si><t>m{i}@example.org</t></si >" for i in range(n))
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}"><si><t>Email</t></si >{strings}</sst>'
    cells = "".join(f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(n + 1))
    return write_zip(folder / "si-space.xlsx", _xlsx_parts(
        S.sheet_xml(cells).encode(), shared=Part("xl/sharedStrings.xml", sst.encode())))


def _si_space_addresses() -> tuple[tuple[int, str], ...]:
    return tuple((i + 2, f"m{i}@example.org") for i in range(SI_STRINGS))


def xlsx_huge_styles(folder: Path) -> Path:
    """A styles part of about 840 MB (900,000 number formats) around a three-member sheet."""
    rnd = random.Random(14)
    head = f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{_MAIN}"><numFmts count="1">'.encode()
    unit = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode="{_noise(rnd, 10)}{"0" * 880}"/>' for i in range(1000)
    ).encode()
    tail = (b'</numFmts><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            b"</cellXfs></styleSheet>")
    styles = Part("xl/styles.xml", head, unit, 900, tail)
    return write_zip(folder / "styles.xlsx", _xlsx_parts(S.sheet_xml(_member_rows_xml()).encode(),
                                                          styles=styles))


HUGE_SHEET_ROWS = 480_000


def xlsx_huge_sheet(folder: Path) -> Path:
    """One sheet part of about 1,000 MB: 480,000 rows, each an address and a 2 KB note (the
    cells are few, the bytes many). The rows have no references (as some exporters write
    them), so a block of 1,000 rows can repeat; the addresses repeat with it."""
    rnd = random.Random(15)
    head = S.sheet_xml("<row>" + _inline("A1", "Email") + _inline("B1", "Note") + "</row>").encode()
    head = head[: head.index(b"</sheetData>")]
    unit = "".join(
        f'<row><c t="inlineStr"><is><t>m{i}@example.org</t></is></c>'
        f'<c t="inlineStr"><is><t>{_noise(rnd, 30)}{"n" * 2000}</t></is></c></row>'
        for i in range(1000)).encode()
    part = Part("xl/worksheets/sheet1.xml", head, unit, HUGE_SHEET_ROWS // 1000,
                b"</sheetData></worksheet>")
    parts = _xlsx_parts(b"")
    parts[-1] = part
    return write_zip(folder / "huge-sheet.xlsx", parts)


MANY_SHEETS = 4000


def xlsx_many_sheets(folder: Path) -> Path:
    """4,000 sheets of one heading each, and the members on the last one."""
    return write_zip(folder / "many-sheets.xlsx", _xlsx_parts(
        S.sheet_xml(_member_rows_xml()).encode(), sheets=MANY_SHEETS))


# -- xlsx and ods: grid, entities, nesting ----------------------------------------------------
def _member_sheet_with(extra: str) -> bytes:
    return S.sheet_xml(_member_rows_xml() + extra).encode()


def xlsx_unclosed_tag_in_shared_strings(folder: Path) -> Path:
    """Shared strings ending in 60 KB of '<' and letters that never close a tag (a regex whose
    tag name could give characters back took seconds per kilobyte)."""
    rnd = random.Random(7)
    junk = "".join(rnd.choice("<abcdefghijklmnopqrstuvwxyz") for _ in range(60_000)).encode()
    head = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">'
            "<si><t>Email</t></si><si><t>ann@example.org</t></si>").encode()
    sheet = S.sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
                        '<row r="2"><c r="A2" t="s"><v>1</v></c></row>').encode()
    shared = Part("xl/sharedStrings.xml", head + b"<x" + junk)
    return write_zip(folder / "unclosed.xlsx", _xlsx_parts(sheet, shared=shared))


def xlsx_cell_tag_of_spaces(folder: Path) -> Path:
    """A cell tag of 100,000 spaces and no attribute (an unanchored attribute search was
    quadratic on it)."""
    extra = '<row r="5"><c' + " " * 100_000 + 'x><v>1</v></c></row>'
    return write_zip(folder / "spaces.xlsx", _xlsx_parts(_member_sheet_with(extra)))


def xlsx_beyond_columns(folder: Path) -> Path:
    """A cell in column XFE, one past Excel's last column (XFD)."""
    return write_zip(folder / "beyond-columns.xlsx", _xlsx_parts(
        _member_sheet_with('<row r="5">' + _inline("XFE5", "x") + "</row>")))


def xlsx_beyond_rows(folder: Path) -> Path:
    """A cell in row 1,048,577, one past Excel's last row."""
    return write_zip(folder / "beyond-rows.xlsx", _xlsx_parts(
        _member_sheet_with('<row r="1048577">' + _inline("A1048577", "x") + "</row>")))


def xlsx_reference_overflow(folder: Path) -> Path:
    """A reference whose row number does not fit in 32 bits."""
    return write_zip(folder / "overflow.xlsx", _xlsx_parts(
        _member_sheet_with('<row r="5">' + _inline("A4294967302", "x") + "</row>")))


_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">'
                     for i in range(1, 10))
           + "]>")


def xlsx_billion_laughs_shared(folder: Path) -> Path:
    """Shared strings with the "billion laughs" entities, one of them used by a cell."""
    sst = (f'<?xml version="1.0" encoding="UTF-8"?>{_LAUGHS}<sst xmlns="{_MAIN}">'
           "<si><t>Email</t></si><si><t>&lol9;</t></si><si><t>ann@example.org</t></si></sst>")
    sheet = S.sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                        '<row r="2"><c r="A2" t="s"><v>2</v></c></row>').encode()
    return write_zip(folder / "laughs-shared.xlsx", _xlsx_parts(
        sheet, shared=Part("xl/sharedStrings.xml", sst.encode())))


def xlsx_billion_laughs_sheet(folder: Path) -> Path:
    """A sheet with the "billion laughs" entities in a cell."""
    xml = S.sheet_xml(_member_rows_xml() + '<row r="5">' + _inline("B5", "&lol9;") + "</row>")
    xml = xml.replace("?>", "?>" + _LAUGHS, 1)
    return write_zip(folder / "laughs-sheet.xlsx", _xlsx_parts(xml.encode()))


def xlsx_external_entity(folder: Path) -> Path:
    """Shared strings naming an external entity (/etc/passwd)."""
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM '
           f'"file:///etc/passwd">]><sst xmlns="{_MAIN}"><si><t>Email</t></si><si><t>&xxe;</t></si>'
           "<si><t>ann@example.org</t></si></sst>")
    sheet = S.sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s">'
                        '<v>2</v></c></row><row r="3"><c r="A3" t="s"><v>1</v></c></row>').encode()
    shared = Part("xl/sharedStrings.xml", sst.encode())
    return write_zip(folder / "xxe.xlsx", _xlsx_parts(sheet, shared=shared))


DEPTH = 1_000_000


def xlsx_deep_nesting_shared(folder: Path) -> Path:
    """A shared string nested a million elements deep."""
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}"><si><t>Email</t></si>'
           "<si><t>ann@example.org</t></si><si>").encode()
    part = Part("xl/sharedStrings.xml", sst, b"<r>", DEPTH, b"</r>" * DEPTH + b"</si></sst>")
    sheet = S.sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s">'
                        '<v>1</v></c></row><row r="3"><c r="A3" t="s"><v>2</v></c></row>').encode()
    return write_zip(folder / "deep-shared.xlsx", _xlsx_parts(sheet, shared=part))


def xlsx_deep_nesting_sheet(folder: Path) -> Path:
    """A cell's value nested a million elements deep."""
    xml = _member_sheet_with("<row>" + _inline("B5", "") + "</row>")
    cut = xml.index(b"<t></t>")
    part = Part("xl/worksheets/sheet1.xml", xml[:cut], b"<r>", DEPTH, b"</r>" * DEPTH + xml[cut:])
    parts = _xlsx_parts(b"")
    parts[-1] = part
    return write_zip(folder / "deep-sheet.xlsx", parts)


def _ods(folder: Path, name: str, content: bytes | Part) -> Path:
    ns = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
    mime = b"application/vnd.oasis.opendocument.spreadsheet"
    manifest = (f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="{ns}" '
                f'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                f'manifest:media-type="{mime.decode()}"/></manifest:manifest>').encode()
    body = content if isinstance(content, Part) else Part("content.xml", content)
    return write_zip(folder / name, [Part("mimetype", mime), Part("META-INF/manifest.xml", manifest), body])


def _ods_rows(extra_cell: str = "") -> str:
    rows = S.ods_content({"Members": [list(r) for r in MEMBERS]}, libreoffice_tail=False)
    return rows.replace("</table:table-row></table:table>",
                        f"</table:table-row><table:table-row>{extra_cell}</table:table-row></table:table>")


def ods_billion_laughs(folder: Path) -> Path:
    xml = _ods_rows('<table:table-cell office:value-type="string"><text:p>&lol9;</text:p></table:table-cell>')
    return _ods(folder, "laughs.ods", xml.replace("?>", "?>" + _LAUGHS, 1).encode())


def ods_deep_nesting(folder: Path) -> Path:
    xml = _ods_rows('<table:table-cell office:value-type="string"><text:p>NEST</text:p></table:table-cell>')
    head, tail = xml.encode().split(b"NEST")
    return _ods(folder, "deep.ods", Part("content.xml", head, b"<text:span>", DEPTH,
                                         b"</text:span>" * DEPTH + tail))


# -- CSV -------------------------------------------------------------------------------------
def csv_one_line_over_budget(folder: Path) -> Path:
    """One line of 21 million (empty) cells: 21 MB, under the size limit, over the cell budget."""
    path = folder / "one-line.csv"
    with path.open("wb") as fh:
        fh.write(b"Email")
        chunk = b"," * 1_000_000
        for _ in range(21):
            fh.write(chunk)
        fh.write(b"\r\nann@example.org\r\n")
    return path


def csv_one_line_wide(folder: Path) -> Path:
    """A heading line of 3 million cells (under the budget), then three members."""
    path = folder / "wide.csv"
    with path.open("wb") as fh:
        fh.write(b"Email,Name")
        for _ in range(3):
            fh.write(b",x" * 1_000_000)
        fh.write(b"\r\n" + b"".join(f"{a},{n}\r\n".encode() for a, n in MEMBERS[1:]))
    return path


def csv_one_line_excel_wide(folder: Path) -> Path:
    """A heading line as wide as Excel's grid (16,384 cells), then three members."""
    path = folder / "excel-wide.csv"
    path.write_bytes(b"Email,Name" + b",x" * 16_382 + b"\r\n"
                     + b"".join(f"{a},{n}\r\n".encode() for a, n in MEMBERS[1:]))
    return path


def csv_many_cells(folder: Path) -> Path:
    """900,000 lines of 25 cells: 22.5 million cells, over the budget, in 23 MB."""
    path = folder / "many-cells.csv"
    with path.open("wb") as fh:
        fh.write(b"Email" + b"," * 24 + b"\n")
        line = b"," * 24 + b"\n"
        block = line * 10_000
        for _ in range(90):
            fh.write(block)
    return path


BIG_CSV_ROWS = 399_999


def csv_big_but_fine(folder: Path) -> Path:
    """399,999 members by 20 columns (8 million cells, 40 MB): big, and within every limit."""
    path = folder / "big.csv"
    with path.open("wb") as fh:
        fh.write(b"Email,First,Last,Member,Joined,Town,Plan,Id" + b",Note" * 12 + b"\n")
        for start in range(0, BIG_CSV_ROWS, 10_000):
            fh.write("".join(f"m{i}@ex.org,Al,Bo,yes,2024-01-01,Leeds,S,{i}" + ",note" * 12 + "\n"
                             for i in range(start, min(start + 10_000, BIG_CSV_ROWS))).encode())
    return path


def csv_stray_byte(folder: Path) -> Path:
    """A UTF-8 export with accents and one stray Windows-1252 byte (0xE9) in row 3."""
    path = folder / "stray.csv"
    path.write_bytes("Email,Name\r\nzoe@example.org,Zoë\r\nrene@example.org,Ren".encode()
                     + b"\xe9\r\n" + "ines@example.org,Inés\r\n".encode())
    return path


# -- not regular files -------------------------------------------------------------------------
def fifo(folder: Path) -> Path:
    path = folder / "members.csv"
    os.mkfifo(path)
    return path


def dev_zero(folder: Path) -> Path:
    return Path("/dev/zero")


def dev_null(folder: Path) -> Path:
    return Path("/dev/null")


def directory(folder: Path) -> Path:
    path = folder / "members.xlsx"
    path.mkdir()
    return path


# -- documents with a spreadsheet's name --------------------------------------------------------
_PAGE = ("<html><head><title>Members</title></head><body><table><tr><td>Email</td></tr>"
         "<tr><td>ann@example.org</td></tr></table></body></html>\r\n")


def _writer(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    make.__name__ = name
    return make


# -- files that change while they are read ---------------------------------------------------------
CHANGING_ROWS = 200_000


def _changing_versions() -> tuple[bytes, bytes]:
    """The file whole, and cut at the end of a line about a third of the way in."""
    rows = "".join(f"m{i}@example.org,Member {i}\r\n" for i in range(CHANGING_ROWS))
    full = ("Email,Name\r\n" + rows).encode()
    return full, full[: full.index(b"\r\n", len(full) // 3) + 2]


def csv_changing(folder: Path) -> Path:
    path = folder / "changing.csv"
    path.write_bytes(_changing_versions()[0])
    return path


def rewrite_shrink_grow(path: Path, stop: threading.Event) -> None:
    """Cut the file to a third, then put it back whole, over and over, until ``stop``.

    Both steps are atomic (a truncation; a whole new file renamed into place), so the file is
    only ever one of the two versions: a reader that gets anything else read it half-changed.
    (A writer that stops half-way through a write, for longer than the read takes, leaves a
    file that no size or time can tell from a finished one; programs that save or download
    into a temporary file and rename it, as Excel and browsers do, never leave that.)"""
    full, part = _changing_versions()
    spare = path.with_name(path.name + ".new")
    while not stop.is_set():
        with path.open("r+b") as fh:
            fh.truncate(len(part))
        time.sleep(0.002)
        spare.write_bytes(full)
        spare.replace(path)
        time.sleep(0.002)


# -- read right --------------------------------------------------------------------------------
def xlsx_formulas_without_values(folder: Path) -> Path:
    """Every address is a formula (=LOWER(...) of another sheet) with no saved result."""
    cells = '<row r="1">' + _inline("A1", "Email") + "</row>" + "".join(
        f'<row r="{i}"><c r="A{i}"><f>LOWER(Raw!A{i})</f></c></row>' for i in range(2, 6))
    return write_zip(folder / "formulas.xlsx", _xlsx_parts(S.sheet_xml(cells).encode()))


def ods_formulas_without_values(folder: Path) -> Path:
    rows = "".join(
        f'<table:table-row><table:table-cell table:formula="of:=LOWER([Raw.A{i}])"/></table:table-row>'
        for i in range(2, 6))
    xml = S.ods_content({"Members": [["Email"]]}, libreoffice_tail=False)
    xml = xml.replace("</table:table-row></table:table>", "</table:table-row>" + rows + "</table:table>")
    return _ods(folder, "formulas.ods", xml.encode())


def xlsx_styled_cell_far_below(folder: Path) -> Path:
    """26 columns of data, and one formatted empty cell at Z900000 (as Excel leaves a format
    applied to a whole column)."""
    heads = ["Email", *(f"H{j}" for j in range(1, 26))]
    rows = [heads, ["ann@example.org"], ["bob@example.org"]]
    xml = "".join(f'<row r="{i}">' + "".join(_inline(f"{chr(65 + j)}{i}", v) for j, v in enumerate(r))
                  + "</row>" for i, r in enumerate(rows, start=1))
    xml += '<row r="900000"><c r="Z900000" s="1"/></row>'
    return write_zip(folder / "styled.xlsx", _xlsx_parts(S.sheet_xml(xml).encode()))


# -- the corpus --------------------------------------------------------------------------------
BOM8, BOM16 = b"\xef\xbb\xbf", b"\xff\xfe"
_XML_2003 = ('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns='
             '"urn:schemas-microsoft-com:office:spreadsheet"><Worksheet/></Workbook>')

CASES: list[Case] = [
    Case("xlsx-shared-strings-1gb", xlsx_huge_shared_strings, "either", ((2, "ann@example.org"),
         (3, "bob@example.org")), group="zip part", slow=True),
    Case("xlsx-si-closed-with-space", xlsx_si_closed_with_space, "rows", _si_space_addresses(),
         group="zip part"),
    Case("xlsx-styles-840mb", xlsx_huge_styles, "either", MEMBER_ADDRESSES, group="zip part", slow=True),
    Case("xlsx-sheet-1gb", xlsx_huge_sheet, "either",
         tuple((i + 2, f"m{i}@example.org") for i in range(1000)), group="zip part", slow=True,
         extra={"rows": HUGE_SHEET_ROWS}),
    Case("xlsx-4000-sheets", xlsx_many_sheets, "either", MEMBER_ADDRESSES, group="zip part"),
    Case("csv-one-line-21m-cells", csv_one_line_over_budget, "refuse", says="cells", group="csv"),
    Case("csv-one-line-3m-cells", csv_one_line_wide, "refuse", says="too many cells", group="csv"),
    Case("csv-one-line-16384-cells", csv_one_line_excel_wide, "rows", MEMBER_ADDRESSES, group="csv"),
    Case("csv-22m-cells", csv_many_cells, "refuse", says="cells", group="csv"),
    Case("csv-400k-rows-8m-cells", csv_big_but_fine, "rows", group="csv", slow=True,
         extra={"rows": BIG_CSV_ROWS, "valid": BIG_CSV_ROWS}),
    Case("fifo", fifo, "refuse", says="not a file", group="not a regular file"),
    Case("dev-zero", dev_zero, "refuse", says="not a file", group="not a regular file"),
    Case("dev-null", dev_null, "refuse", says="not a file", group="not a regular file"),
    Case("directory", directory, "refuse", says="folder", group="not a regular file"),
    Case("html-bom-as-xls", _writer("page.xls", BOM8 + _PAGE.encode()), "refuse", says="web page",
         group="document with a BOM"),
    Case("html-bom-as-xlsx", _writer("page.xlsx", BOM8 + _PAGE.encode()), "refuse", says="web page",
         group="document with a BOM"),
    Case("html-bom-as-csv", _writer("page.csv", BOM8 + b"\r\n  " + _PAGE.encode()), "refuse",
         says="web page", group="document with a BOM"),
    Case("html-utf16-as-xls", _writer("page16.xls", BOM16 + _PAGE.encode("utf-16-le")), "refuse",
         says="web page", group="document with a BOM"),
    Case("xml2003-bom-as-xls", _writer("x2003.xls", BOM8 + _XML_2003.encode()), "refuse",
         says="2003 XML", group="document with a BOM"),
    Case("rtf-bom-as-csv", _writer("letter.csv", BOM8 + b"{\\rtf1\\ansi Dear member}"), "refuse",
         says="RTF", group="document with a BOM"),
    # Read whole, or cut (a third of it stays in place long enough to be read unchanged: a
    # file that is complete as it stands), or refused as changing; never a mixture.
    Case("csv-rewritten-while-read", csv_changing, "either",
         tuple((i + 2, f"m{i}@example.org") for i in range(CHANGING_ROWS)), says="changed",
         group="changes while read", rewrite=rewrite_shrink_grow,
         extra={"or": tuple((i + 2, f"m{i}@example.org")
                            for i in range(_changing_versions()[1].count(b"\n") - 1))}),
    Case("xlsx-column-beyond-xfd", xlsx_beyond_columns, "refuse", says="beyond", group="grid"),
    Case("xlsx-row-beyond-1048576", xlsx_beyond_rows, "refuse", group="grid"),
    Case("xlsx-reference-overflow", xlsx_reference_overflow, "refuse", group="grid"),
    Case("xlsx-billion-laughs-shared", xlsx_billion_laughs_shared, "either", ((2, "ann@example.org"),),
         group="entities", never=("lollol",)),
    Case("xlsx-billion-laughs-sheet", xlsx_billion_laughs_sheet, "either", MEMBER_ADDRESSES,
         group="entities", never=("lollol",)),
    Case("ods-billion-laughs", ods_billion_laughs, "either", MEMBER_ADDRESSES, group="entities",
         never=("lollol",)),
    Case("xlsx-external-entity", xlsx_external_entity, "either", ((2, "ann@example.org"),),
         group="entities", never=("root:",)),
    Case("xlsx-nested-1m-deep-shared", xlsx_deep_nesting_shared, "either", MEMBER_ADDRESSES[:1],
         group="nesting"),
    Case("xlsx-nested-1m-deep-sheet", xlsx_deep_nesting_sheet, "either", MEMBER_ADDRESSES,
         group="nesting"),
    Case("ods-nested-1m-deep", ods_deep_nesting, "either", MEMBER_ADDRESSES, group="nesting"),
    Case("xlsx-unclosed-tag-in-shared-strings", xlsx_unclosed_tag_in_shared_strings, "either",
         ((2, "ann@example.org"),), group="slow patterns"),
    Case("xlsx-cell-tag-of-spaces", xlsx_cell_tag_of_spaces, "either", MEMBER_ADDRESSES,
         group="slow patterns"),
    Case("csv-utf8-one-stray-byte", csv_stray_byte, "rows",
         ((2, "zoe@example.org"), (3, "rene@example.org"), (4, "ines@example.org")),
         group="read right", warns="row 3", extra={"encoding": "utf-8"}),
    Case("xlsx-formulas-without-values", xlsx_formulas_without_values, "refuse",
         says="save it in Excel or LibreOffice", group="read right"),
    Case("ods-formulas-without-values", ods_formulas_without_values, "refuse",
         says="save it in Excel or LibreOffice", group="read right"),
    Case("xlsx-styled-cell-far-below", xlsx_styled_cell_far_below, "rows",
         ((2, "ann@example.org"), (3, "bob@example.org")), group="read right", extra={"rows": 2}),
]

BY_NAME = {c.name: c for c in CASES}


# -- running a case ------------------------------------------------------------------------------
@dataclass
class Result:
    """What one run of ``ccdesk inspect --json`` on a case's file gave."""

    status: int  # the exit status; minus the signal number if a signal ended it
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    killed: bool = False

    def report(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.stdout) if self.status == 0 else None
        except ValueError:
            return None


#: The child: ``python -m ccdesk ARGS`` with its address space capped, which then writes its own
#: peak resident memory (VmHWM) to the file named by CCDESK_PEAK_FILE. (The parent cannot take it
#: from wait4: a forked child's maximum counts the parent's pages it shared before exec.)
_CHILD = """
import os, resource, runpy, sys
cap = int(os.environ["CCDESK_MEMORY_CAP"])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
sys.argv = ["ccdesk", *sys.argv[1:]]
try:
    runpy.run_module("ccdesk", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status, open(os.environ["CCDESK_PEAK_FILE"], "w") as out:
        out.write(next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0"))
"""


def _peak_kb(pid: int) -> int:
    """VmHWM of a running process, in KB (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
    except (OSError, ValueError):
        return 0


def run_inspect(path: Path, out_dir: Path, *, kill_after: float = KILL_AFTER) -> Result:
    """``python -m ccdesk inspect --json path`` in a child capped at MEMORY_CAP."""
    out, err, peak = out_dir / "stdout.txt", out_dir / "stderr.txt", out_dir / "peak.txt"
    peak.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "CCDESK_MEMORY_CAP": str(MEMORY_CAP), "CCDESK_PEAK_FILE": str(peak)}
    with out.open("wb") as fo, err.open("wb") as fe:
        start = time.monotonic()
        child = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-c", _CHILD, "inspect", "--json", str(path)],
            stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, cwd=out_dir, env=env,
        )
        killed, seen_kb = False, 0
        while True:
            try:
                status = child.wait(0.02)
                break
            except subprocess.TimeoutExpired:
                seen_kb = max(seen_kb, _peak_kb(child.pid))  # the fallback, if it cannot write
                if time.monotonic() - start > kill_after:
                    child.send_signal(signal.SIGKILL)
                    killed = True
                    status = child.wait()
                    break
        seconds = time.monotonic() - start
    with contextlib.suppress(OSError, ValueError):
        seen_kb = max(seen_kb, int(peak.read_text() or 0))
    return Result(status, seconds, seen_kb / 1024, out.read_text("utf-8", "replace"),
                  err.read_text("utf-8", "replace"), killed)


def run_case(case: Case, folder: Path) -> Result:
    """Make the case's file in ``folder`` and open it (with its rewriter running, if any)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = case.make(folder)
    if case.rewrite is None:
        return run_inspect(path, folder)
    stop = threading.Event()
    writer = threading.Thread(target=case.rewrite, args=(path, stop), daemon=True)
    writer.start()
    try:
        return run_inspect(path, folder)
    finally:
        stop.set()
        writer.join()


def problems(case: Case, result: Result) -> list[str]:
    """What is wrong with ``result`` for ``case`` (nothing: it passed)."""
    found: list[str] = []
    if result.killed:
        return [f"still running after {KILL_AFTER:.0f} s: killed"]
    if result.seconds > TIME_LIMIT:
        found.append(f"took {result.seconds:.1f} s (limit {TIME_LIMIT:.0f} s)")
    if "Traceback" in result.stderr:
        found.append("a traceback: " + result.stderr.strip().splitlines()[-1][:200])
    if result.status == 2:
        lines = result.stderr.strip().splitlines()
        if case.expect == "rows":
            found.append(f"refused: {result.stderr.strip()[:300]}")
        elif len(lines) != 1 or not lines[0].startswith("ccdesk: "):
            found.append(f"refusal is not one line: {result.stderr[:300]!r}")
        elif case.says and case.says.lower() not in lines[0].lower():
            found.append(f"refusal does not say {case.says!r}: {lines[0]}")
    elif result.status == 0:
        report = result.report()
        if case.expect == "refuse":
            found.append("read, but should have been refused")
        elif report is None:
            found.append("exit 0 without a JSON report")
        else:
            found += _wrong_rows(case, report, result.stdout)
    else:
        found.append(f"exit status {result.status}: {result.stderr.strip()[-300:]}")
    return found


def _wrong_rows(case: Case, report: dict[str, Any], stdout: str) -> list[str]:
    found = []
    got = [(a["row"], a["email"]) for a in report["addresses"]]
    if "rows" in case.extra and report["rows"] != case.extra["rows"]:
        found.append(f"{report['rows']} rows, expected {case.extra['rows']}")
    if case.addresses and got != list(case.addresses) and got != list(case.extra.get("or", ())):
        found.append(f"addresses {got[:5]}... ({len(got)}), expected {list(case.addresses)[:5]}... "
                     f"({len(case.addresses)})")
    if "valid" in case.extra and report["counts"]["valid"] != case.extra["valid"]:
        found.append(f"{report['counts']['valid']} valid, expected {case.extra['valid']}")
    for word in case.never:
        if word in stdout:
            found.append(f"the output holds {word!r}")
    if case.warns:
        warnings = report.get("warnings", [])
        if not any(case.warns.lower() in w.lower() for w in warnings):
            found.append(f"no warning saying {case.warns!r}: {warnings}")
    if "encoding" in case.extra and report.get("encoding") != case.extra["encoding"]:
        found.append(f"encoding {report.get('encoding')}, expected {case.extra['encoding']}")
    return found
