"""Open a spreadsheet file safely and hand back its cells.

Three jobs, in this order, before any parser sees the file:

1. **What is it really?** The format comes from the content, never the extension: a zip that
   holds ``xl/workbook.xml`` is xlsx (xlsm when it carries macros), ``xl/workbook.bin`` is
   xlsb, an OpenDocument ``mimetype`` is ods, an OLE2 compound file with a ``Workbook``
   stream is a legacy xls, and text is CSV. An OLE2 file holding ``EncryptionInfo`` /
   ``EncryptedPackage`` is a password-protected Office file. PDFs, Word files, web pages
   saved as ".xls" and the like get a message that says what they are.
2. **Is it safe to parse?** The file size is capped; a zip's entries are counted and every
   entry is decompressed once, in a stream, against a byte budget and a compression-ratio cap
   (so a zip bomb, including one that lies about its sizes, is refused within a second or
   so); and the extent of every sheet (the rectangle of cells the reader will have to hold) is
   measured from the raw data *before* the spreadsheet library builds it, so a 5 KB file that
   names cell XFD1048576 cannot exhaust the memory. So are, in an xlsx, the number of cells
   and shared strings and the text the cells copy from the shared strings; and in an xls the
   compound file's counts and sector chains, which the library trusts.
3. **Read it.** xlsx, xlsm, xlsb, xls and ods through python-calamine; CSV / TSV / TXT
   through the standard library (encoding and delimiter detected).

The result is a :class:`Workbook` whose :meth:`Workbook.grid` gives a sheet's cells with the
Excel number of its first row and the index of its first column.
"""

from __future__ import annotations

import array
import contextlib
import csv
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from ccdesk.core.diskfile import NotARegularFile, read_snapshot
from ccdesk.errors import SheetError

__all__ = [
    "MAX_CELLS",
    "MAX_COMPRESSION_RATIO",
    "MAX_COPIED_TEXT_BYTES",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_UNCOMPRESSED_BYTES",
    "MAX_ZIP_ENTRIES",
    "CorruptFileError",
    "FileChangedError",
    "FileTooBigError",
    "Format",
    "FormulasWithoutResultsError",
    "Grid",
    "NotAFileError",
    "NotASpreadsheetError",
    "PasswordProtectedError",
    "SheetTooBigError",
    "UnsafeFileError",
    "Workbook",
    "column_index",
    "column_letter",
    "has_formulas_without_results",
    "open_workbook",
]

# -- limits (documented in the README, "Spreadsheets") --------------------------------------
#: The largest file ccdesk opens. A 100,000-row member export is 3 to 10 MB.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: The most data a zipped workbook (xlsx, xlsm, xlsb, ods) may unpack to, all entries together.
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
#: The highest compression ratio accepted for an entry bigger than 1 MB. Real sheets compress
#: 5 to 20 times; zip bombs a thousand times or more.
MAX_COMPRESSION_RATIO = 200
#: The most entries a zipped workbook may hold.
MAX_ZIP_ENTRIES = 10_000
#: The most rows a sheet may have (Excel's own limit is 1,048,576).
MAX_ROWS = 1_000_000
#: The most cells in the rectangle a sheet spans (e.g. 1,000,000 rows x 20 columns). The
#: reader holds every cell of that rectangle in memory, so this is the memory cap.
MAX_CELLS = 20_000_000

_MB = 1024 * 1024


class Format(StrEnum):
    """The real format of a file, whatever its name says."""

    XLSX = "xlsx"
    XLSM = "xlsm"
    XLSB = "xlsb"
    XLS = "xls"
    ODS = "ods"
    CSV = "csv"


# -- errors: every refusal says what to do --------------------------------------------------
_RESAVE = "Open it in Excel, save it again as an Excel Workbook (.xlsx), and open that file."


class FileTooBigError(SheetError):
    """The file, or the data inside it, is over a limit."""

    title = "The file is too big"


class SheetTooBigError(SheetError):
    """A sheet has more rows or cells than ccdesk reads."""

    title = "The sheet is too big"


class PasswordProtectedError(SheetError):
    """An encrypted or password-protected workbook."""

    title = "The spreadsheet is password-protected"
    what_to_do = (
        "Open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with "
        "Password, then clear the password), save it, and open it again in ccdesk."
    )


class CorruptFileError(SheetError):
    """A file that cannot be parsed."""

    title = "The file is damaged or incomplete"
    what_to_do = (
        "Open it in Excel: if it opens, save it again as .xlsx and try again; if it does not, "
        "export the list again from where it came from."
    )


class NotASpreadsheetError(SheetError):
    """A file that is something other than a spreadsheet."""

    title = "This file is not a spreadsheet"
    what_to_do = "Export the list of members as Excel (.xlsx) or CSV and open that file."


class NotAFileError(SheetError):
    """Something that is not a regular file: a device, a pipe, a socket."""

    title = "This is not a file"
    what_to_do = "Choose the spreadsheet file itself, saved in a folder on your computer."


class FileChangedError(SheetError):
    """A file that changed (or shrank) each time it was read."""

    title = "The file changed while ccdesk was reading it"
    what_to_do = (
        "It may still be saving or downloading. Wait until that has finished, close it in "
        "other programs, and open it again."
    )


class FormulasWithoutResultsError(SheetError):
    """The addresses are formulas whose results were never saved in the file."""

    title = "The spreadsheet's formulas have no saved results"
    what_to_do = (
        "The program that made it did not calculate them, so ccdesk sees empty cells. Open the "
        "file and save it in Excel or LibreOffice (that stores the results), then open it again."
    )


class UnsafeFileError(SheetError):
    """A file built to exhaust memory or time (zip bomb, far-away cells)."""

    title = "The file looks unsafe to open"
    what_to_do = (
        "It unpacks to far more data than a list of members could need, so ccdesk did not "
        "open it. " + _RESAVE
    )


def _size(n: int) -> str:
    return f"{n / _MB:,.0f} MB" if n >= _MB else f"{n / 1024:,.0f} KB"


def column_letter(index: int) -> str:
    """Excel's letters for a 0-based column index: 0 → A, 26 → AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str | bytes) -> int:
    """The 0-based index of Excel's column ``letters``, in either case: A → 0, aa → 26."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


# -- the result ---------------------------------------------------------------------------
@dataclass(slots=True)
class Grid:
    """A sheet's cells: ``rows[i][j]`` is Excel row ``first_row + i``, column ``first_col + j``.

    Empty cells are ``""`` (or ``None``); numbers may be int or float, dates datetime.
    """

    rows: list[list[Any]]
    first_row: int = 1
    first_col: int = 0


class Workbook:
    """An opened file: its real format, its sheets, and their cells."""

    format: Format
    sheet_names: list[str]
    hidden_sheets: set[str]
    #: Things the person should know about what was read, in plain words (known once a
    #: sheet has been read whole).
    warnings: tuple[str, ...] = ()

    def grid(self, name: str, max_rows: int | None = None) -> Grid:  # pragma: no cover
        """The cells of sheet ``name`` (only the first ``max_rows`` rows when given)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""


# -- opening -------------------------------------------------------------------------------
def open_workbook(path: str | Path, data: bytes | None = None) -> Workbook:
    """Check ``path`` (or its already-read bytes ``data``) and open it for reading.

    Raises a :class:`~ccdesk.errors.SheetError` subclass for anything ccdesk will not read.
    """
    path = Path(path)
    if data is None:
        data = read_file_bytes(path)
    if not data:
        raise NotASpreadsheetError(
            "The file is empty", "Export the list again; the file has nothing in it."
        )
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        fmt = _check_zip(data)
        return _CalamineBook(data, fmt)
    if head == _OLE_MAGIC:
        names = _Cfb(data).names()
        lowered = {n.lower() for n in names}
        if {"encryptioninfo", "encryptedpackage"} & lowered:
            raise PasswordProtectedError(details="OLE2 container with EncryptionInfo")
        if "workbook" in lowered or "book" in lowered:
            _check_xls(data)
            return _CalamineBook(data, Format.XLS)
        if "worddocument" in lowered:
            raise NotASpreadsheetError("This file is a Word document, not a spreadsheet")
        if "powerpoint document" in lowered:
            raise NotASpreadsheetError("This file is a PowerPoint file, not a spreadsheet")
        raise NotASpreadsheetError(details=f"OLE2 streams: {sorted(names)[:10]}")
    _refuse_known_binary(data)
    return _CsvBook(path, data)


def read_file_bytes(path: Path) -> bytes:
    """The whole file, refusing a missing, unreadable or oversized one, anything that is not
    a regular file (a folder, a device, a pipe: refused before it is opened for reading), and
    a file that changes while it is read (read a second time first: a file being saved or
    downloaded may just have finished). See :mod:`ccdesk.core.diskfile`."""
    try:
        for _ in range(2):
            snap = read_snapshot(path, MAX_FILE_BYTES)
            if snap.size > MAX_FILE_BYTES:
                raise FileTooBigError(
                    f"The file is too big ({_size(snap.size)})",
                    f"ccdesk reads files up to {_size(MAX_FILE_BYTES)}. Save only the columns you "
                    "need (the email column is enough), or split the list into several files.",
                )
            if snap.unchanged:
                return snap.data
    except NotARegularFile as exc:
        if exc.folder:
            raise SheetError("That is a folder, not a file", "Choose the spreadsheet file itself.") from exc
        raise NotAFileError(details=str(exc)) from exc
    except FileNotFoundError as exc:
        raise SheetError(
            "The file was not found", f"Check the name and the folder: {path}", str(exc)
        ) from exc
    except IsADirectoryError as exc:
        raise SheetError("That is a folder, not a file", "Choose the spreadsheet file itself.") from exc
    except PermissionError as exc:
        raise SheetError(
            "ccdesk is not allowed to read the file",
            "Close it in Excel if it is open there, or copy it to your Documents folder and try again.",
            str(exc),
        ) from exc
    except OSError as exc:
        raise SheetError(
            "The file cannot be read", "Copy it to your computer and try again.", str(exc)
        ) from exc
    raise FileChangedError(details=str(path))


_BINARY_MAGIC = {
    b"%PDF": "This file is a PDF, not a spreadsheet",
    b"\x89PNG": "This file is a picture, not a spreadsheet",
    b"\xff\xd8\xff": "This file is a picture, not a spreadsheet",
    b"GIF8": "This file is a picture, not a spreadsheet",
    b"{\\rtf": "This file is a Word (RTF) document, not a spreadsheet",
    b"Rar!": "This file is a RAR archive, not a spreadsheet",
    b"7z\xbc\xaf": "This file is a 7-Zip archive, not a spreadsheet",
    b"\x1f\x8b": "This file is a compressed archive, not a spreadsheet",
}


def _refuse_known_binary(data: bytes) -> None:
    for magic, title in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise NotASpreadsheetError(title)
    # Old BIFF2-4 worksheets (Excel 2.x-4.x) are bare records, not in a compound file.
    if data[:2] in (b"\x09\x00", b"\x09\x02", b"\x09\x04") and data[2:3] in (b"\x04", b"\x06"):
        raise NotASpreadsheetError(
            "This is a very old Excel file (Excel 4 or earlier)", _RESAVE
        )


# -- zip containers: xlsx, xlsm, xlsb, ods ---------------------------------------------------
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def _check_zip(data: bytes) -> Format:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise CorruptFileError(details=f"zip: {exc}") from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UnsafeFileError(details=f"{len(infos)} zip entries")
    names = {i.filename for i in infos}
    lower = {n.lower(): n for n in names}
    declared = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise PasswordProtectedError(details=f"encrypted zip entry {info.filename}")
        declared += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MB and ratio > MAX_COMPRESSION_RATIO:
            raise UnsafeFileError(details=f"{info.filename}: ratio {ratio:.0f}")
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise UnsafeFileError(details=f"declared uncompressed size {declared}")

    if "mimetype" in names:
        mime = _read_member(zf, lower["mimetype"], 200).strip()
        if mime == _ODS_MIME or mime.startswith(_ODS_MIME + b"-template"):
            fmt = Format.ODS
        elif mime.startswith(b"application/vnd.oasis.opendocument.text"):
            raise NotASpreadsheetError("This file is a text document (ODT), not a spreadsheet")
        else:
            raise NotASpreadsheetError(details=f"OpenDocument type {mime[:80]!r}")
    elif "xl/workbook.bin" in lower:
        fmt = Format.XLSB
    elif "xl/workbook.xml" in lower or ("[content_types].xml" in lower and any(
        n.startswith("xl/") for n in lower
    )):
        macro = "xl/vbaproject.bin" in lower or b"macroEnabled" in _read_member(
            zf, lower.get("[content_types].xml", ""), 1 * _MB
        )
        fmt = Format.XLSM if macro else Format.XLSX
    elif "word/document.xml" in lower:
        raise NotASpreadsheetError("This file is a Word document, not a spreadsheet")
    elif any(n.startswith("ppt/") for n in lower):
        raise NotASpreadsheetError("This file is a PowerPoint file, not a spreadsheet")
    elif any(n.startswith("index/") for n in lower):
        raise NotASpreadsheetError(
            "This is an Apple Numbers file",
            "In Numbers choose File > Export To > Excel, and open the exported file.",
        )
    else:
        raise NotASpreadsheetError(
            "This file is a zip archive, not a spreadsheet",
            "Unzip it and open the spreadsheet inside it.",
        )

    # Decompress every entry once, for real: sizes can lie, and the sheets are measured.
    total = 0
    sheets: list[_XlsxSheetScan] = []
    strings: list[_SharedStringsScan] = []
    binary: list[_XlsbSheetScan] = []
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        scanner: _Scanner | None = None
        low = name.lower()
        if fmt in (Format.XLSX, Format.XLSM):
            # Every part: the workbook's relationships may name any part as a sheet.
            reopen = partial(_chunks, zf, info)
            sheets.append(_XlsxSheetScan(name, reopen, info.file_size))
            scanner = sheets[-1]
            if low == "xl/sharedstrings.xml":
                strings.append(_SharedStringsScan(name, reopen))
                scanner = _Both(sheets[-1], strings[-1])
        elif fmt is Format.ODS and low == "content.xml":
            scanner = _OdsScan()
        elif fmt is Format.XLSB and low.startswith("xl/") and low.endswith(".bin") and low not in (
            "xl/workbook.bin", "xl/styles.bin", "xl/vbaproject.bin"
        ):
            binary.append(_XlsbSheetScan(name))  # (the shared strings too: their lengths)
            scanner = binary[-1]
        total = _stream_member(zf, info, total, scanner)
    if fmt in (Format.XLSX, Format.XLSM):
        cells = sum(s.cells for s in sheets)
        for irregular in (s for s in strings if s.lengths is None):
            if cells * irregular.size > MAX_COPIED_TEXT_BYTES:
                _refuse_copied_text(cells * irregular.size, irregular.name)
        lengths = max((s.lengths for s in strings if s.lengths is not None), key=len,
                      default=array.array("Q"))
        _check_cells(cells, lengths, _xlsx_string_indexes(sheets))
    elif fmt is Format.XLSB:
        lengths = max((s.lengths for s in binary), key=len, default=array.array("Q"))
        _check_cells(sum(s.cells for s in binary), lengths, ((s.name, s.shared) for s in binary))
    return fmt


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    if not name:
        return b""
    try:
        with zf.open(name) as fh:
            return fh.read(limit)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise CorruptFileError(details=f"{name}: {exc}") from exc


class _Scanner:
    def feed(self, chunk: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _Both(_Scanner):
    def __init__(self, *scanners: _Scanner) -> None:
        self.scanners = scanners

    def feed(self, chunk: bytes) -> None:
        for scanner in self.scanners:
            scanner.feed(chunk)

    def close(self) -> None:
        for scanner in self.scanners:
            scanner.close()


_CHUNK = 256 * 1024


def _stream_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, total: int, scanner: _Scanner | None) -> int:
    """Decompress one entry against the budget, feeding a scanner; returns the new total."""
    try:
        for chunk in _chunks(zf, info):
            total += len(chunk)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise UnsafeFileError(details=f"unpacks to more than {MAX_UNCOMPRESSED_BYTES} bytes")
            if scanner is not None:
                scanner.feed(chunk)
        if scanner is not None:
            scanner.close()  # may read the entry again
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError,
            zlib.error) as exc:
        raise CorruptFileError(details=f"{info.filename}: {exc}") from exc
    return total


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The decompressed content of an entry, chunk by chunk (zipfile checks its size and CRC:
    calamine checks the CRC of the sheets it reads, but not of the shared strings).

    Chunks of 256 KB: each is measured while it is still in the CPU cache, and dropped before
    the next one is made, so the memory is reused."""
    with zf.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _check_area(rows: int, cols: int, where: str) -> None:
    if rows > MAX_ROWS:
        raise SheetTooBigError(
            f"The sheet has too many rows ({rows:,})",
            f"ccdesk reads up to {MAX_ROWS:,} rows. Split the list into smaller files.",
            where,
        )
    if rows * cols > MAX_CELLS:
        raise UnsafeFileError(
            "The sheet is too big to open",
            f"Its cells span {rows:,} rows and {cols:,} columns; ccdesk reads up to "
            f"{MAX_CELLS:,} cells. Delete the columns you do not need, or save only the email "
            "column, and try again.",
            where,
        )


def _refuse_cell_count(cells: int, where: str, limit: int | None = None) -> None:
    raise UnsafeFileError(
        "The sheet is too big to open",
        f"It holds {cells:,} cells or more; ccdesk reads up to {limit or MAX_CELLS:,}. Delete the columns "
        "you do not need, or save only the email column, and try again.",
        where,
    )


# -- xlsx: the extent of a sheet --------------------------------------------------------------
# How calamine (0.37, as in python-calamine 0.9, pinned in pyproject.toml;
# src/xlsx/cells_reader.rs, through quick-xml) reads a worksheet part: nothing counts before the
# start tag of <sheetData>. Then an element whose *local* name is "row" sets the current row from
# its r="..." (if it has one), and its end adds one to the current row and sets the current column
# to 0. An element whose local name is "c" is a cell: at its r="..." (the last one, if there are
# several), or else at the current row and column; either way the current column becomes the
# cell's column + 1. What is inside a cell is its value. When every cell is read, calamine
# allocates the whole rectangle up to the furthest cell, and that is what is measured here.
#
# Which parts are sheets is up to the workbook's relationships, and calamine takes any part
# name from there; so every part of the zip is looked at, from the first bytes "sheetData" on
# (a part without a <sheetData> start tag is refused by calamine before any cell is read).
#
# Three ways to measure, cheapest first; each hands over to the next at anything unusual:
# 1. The envelope check (every chunk as it is unpacked, one C-speed regex search, no Python
#    object per cell): every cell tag is written as Excel and the usual libraries write it,
#    <c r="A1"> followed by nothing but s="..." and t="..." (so no second r=, which calamine
#    would take instead), and its reference lies inside a rectangle that the limits allow
#    (with the default limits: columns A-T and rows up to 1,000,000, or wider and less tall
#    for a wider sheet, sized on the first chunk). Why that bounds the sheet: every tag
#    calamine could take for a cell holds the bytes "<c" or ":c" followed by white space
#    (space, tab, CR or LF for quick-xml), "/" or ">"; each such place is searched for, in
#    values and comments too (they can only add); one with a prefix, or not written that
#    way, or outside the rectangle, hands over to 2; and a cell written that way sits at its
#    reference, whatever the rows around it say.
# 2. The furthest reference, when every cell is written that way (the attributes cm, vm and
#    ph allowed too) but some lie outside the rectangle: a sheet wider or taller than the
#    first chunk suggested, or a far-away cell.
# 3. The exact path, which follows the XML the way quick-xml and calamine do (comments,
#    quoted attribute values, namespace prefixes, cells without references, rows without r=).
# 2 and 3 read the part again from its start: a position that depends on the rows before it
# is only known when the rows are followed from the start.
_X_START = b"sheetData"
_X_WS = b" \t\r\n"  # white space for quick-xml: with "/" and ">", what ends a tag name
#: A cell with a namespace prefix (<x:c ...>): only the exact path follows those.
_X_PREFIXED = re.compile(rb":c[ \t\r\n/>]")
#: The other attributes a cell may have (none of them r: calamine takes the *last* r="..."),
#: then the tag's end. Path 1 allows at most two of the common s and t, spelt out (faster).
_X_ATTRS = rb'(?: (?:[st]|cm|vm|ph)="[^"]*+")*+ ?/?>'
_X_ST = rb' [st]="[^"]*+"'
_X_ATTRS_ST = rb"(?:>|%s(?:>|%s ?/?>| ?/>)| ?/>)" % (_X_ST, _X_ST)
#: A cell tag that closes itself (<c r="A9" s="1"/>: a format, no value). calamine keeps no
#: cell for it, so it does not count towards the sheet's extent.
_X_EMPTY_CELL_END = rb'(?: (?:[st]|cm|vm|ph)="[^"]*+")*+ ?/>'
_X_TAIL_REFS = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"(?!%s)' % _X_EMPTY_CELL_END)
_X_SPLIT_REF = re.compile(rb"([A-Z]+)([0-9]+)")
#: The text of an inline string (<is><t>...</t></is>) or of a rich-text run: what a cell holds
#: of the sheet's own bytes. Each match consumes what it reads: linear.
_X_INLINE_TEXT = re.compile(rb"<t(?:[ \t\r\n][^>]*+)?>([^<]*+)")
# The exact path's tokens: a comment, CDATA section or processing instruction (skipped, as
# quick-xml does); a tag, "/" (end tag), prefix, local name, attributes (quoted values may
# hold ">"); or a lone "<" (a token cut by the end of a chunk, or a damaged file).
_X_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|<(/?)(?![!?])(?:([^ \t\r\n/>:\"']*+):)?([^ \t\r\n/>\"']*+)((?:[^>\"']|\"[^\"]*+\"|'[^']*+')*+)>"
    rb"|<",
    re.DOTALL,
)
_X_ATTR = re.compile(rb"""[ \t\r\n]+([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""")
# A whole row of cells without references and with plain values, as the exporters that leave
# r="..." out of cells write it: the exact path takes it in one step rather than token by
# token, with the same result (each cell one column further, the row ending at </row>).
# White space between the tags (pretty-printed files) is text that neither path counts.
_X_PLAIN_VALUE = (
    rb'(?:(?:<v>[^<]*</v>|<f>[^<]*</f>|<f(?: [a-z0-9]+="[^"<>]*")*/>'
    rb'|<is>[ \t\r\n]*<t(?: xml:space="preserve")?>[^<]*</t>[ \t\r\n]*</is>)[ \t\r\n]*)*'
)
_X_PLAIN_ROW = re.compile(
    rb'<row(?: r="([1-9][0-9]{0,6})")?(?: (?!r=)[A-Za-z0-9:]+="[^"<>]*")*>[ \t\r\n]*'
    rb'((?:<c(?: (?:[st]|cm|vm|ph)="[^"<>]*")*(?:/>|>[ \t\r\n]*' + _X_PLAIN_VALUE
    + rb"</c>)[ \t\r\n]*)*)</row>"
)
_X_CALAMINE_REF = re.compile(rb"([A-Za-z]*)([0-9]*)")
#: The most cells path 3 follows, token by token: a sheet written so unusually and so big is
#: refused rather than followed for minutes.
_EXACT_MAX_CELLS = 1_000_000
#: Excel's grid: columns A to XFD, rows 1 to 1,048,576.
_EXCEL_COLUMNS = 16_384
_EXCEL_ROWS = 1_048_576


def _refuse_beyond_grid(details: str) -> None:
    raise UnsafeFileError("The sheet is too big to open",
                          "A cell lies beyond the last column or row Excel has. " + _RESAVE, details)


def _greater(value: bytes, low: bytes, high: bytes) -> bytes:
    """A regex matching the strings of ``low``-``high`` characters that sort after ``value``
    as numbers or column letters do: longer is greater, then character by character."""
    cls = b"[%s-%s]" % (low, high)
    alternatives = [cls + b"{%d,}" % (len(value) + 1)]
    for i, ch in enumerate(value):
        if ch < high[0]:
            nxt = bytes([ch + 1])
            rest = len(value) - i - 1
            alternatives.append(
                re.escape(value[:i]) + b"[%s-%s]" % (nxt, high) + (cls + b"{%d}" % rest if rest else b"")
            )
    return b"|".join(alternatives)


def _prefixed(data: bytes, start: int, end: int) -> bool:
    """Whether a cell tag with a namespace prefix (<x:c ...>) may be in ``data[start:end]``.

    Colons are few in most sheets: the first few dozen are found with bytes.find (memchr) and
    looked at one by one; past that, one regex pass does the rest."""
    at = data.find(b":", start, end)
    for _ in range(64):
        if at < 0:
            return False
        if _X_PREFIXED.match(data, at):  # may look past ``end``: only ever finds more
            return True
        at = data.find(b":", at + 1, end)
    return at >= 0 and _X_PREFIXED.search(data, at, end) is not None


def _at_most(value: bytes, low: bytes, high: bytes) -> bytes:
    """A regex matching the non-empty strings of ``low``-``high`` characters that sort at or
    before ``value`` as numbers or column letters do (shorter is smaller): "T" gives [A-T]."""
    cls = b"[%s-%s]" % (low, high)
    n = len(value)
    alternatives = [cls + b"{1,%d}" % (n - 1)] if n > 1 else []
    for i, ch in enumerate(value):
        top = ch if i == n - 1 else ch - 1  # the last character may equal value's
        if top >= low[0]:
            rest = n - i - 1
            alternatives.append(
                re.escape(value[:i]) + b"[%s-%c]" % (low, top) + (cls + b"{%d}" % rest if rest else b"")
            )
    return b"(?:" + b"|".join(alternatives) + b")"


def _xlsx_envelope(col: int, row: int) -> re.Pattern[bytes] | None:
    """The regex of path 1: it finds every cell tag that is not <c r="..."> with the usual
    attributes inside a rectangle of at most MAX_CELLS cells and MAX_ROWS rows holding column
    ``col`` (0-based) and row ``row``. As tall as possible: a sheet grows downwards."""
    cols = min(max(col + 1, MAX_CELLS // MAX_ROWS, 1), 16_384)
    rows = min(MAX_ROWS, MAX_CELLS // cols)
    if cols <= col or rows < max(row, 1):
        return None
    ref = _at_most(column_letter(cols - 1).encode(), b"A", b"Z") + _at_most(
        str(rows).encode(), b"0", b"9")
    return re.compile(rb'<c(?! r="%s"%s)[ \t\r\n/>]' % (ref, _X_ATTRS_ST))


def _whole_tags(tail: bytes, chunk: bytes) -> tuple[list[tuple[bytes, int, int]], bytes]:
    """The (data, start, end) stretches of ``tail + chunk`` that hold whole tags, and the new
    tail: from the chunk's last "<" on, which waits for the next chunk (unless it is too long
    to be a cell tag). The chunk itself is not copied."""
    head = chunk.find(b"<")
    if head < 0:
        head = len(chunk)
    stretches = []
    if tail or head:  # the tag cut at the end of the last chunk, completed
        piece = tail + chunk[:head]
        if head == len(chunk) and len(piece) <= 65536:
            return [], piece
        stretches.append((piece, 0, len(piece)))
    if head == len(chunk):
        return stretches, b""
    cut = chunk.rfind(b"<")
    if len(chunk) - cut > 65536:
        cut = len(chunk)
    if cut > head:
        stretches.append((chunk, head, cut))
    return stretches, chunk[cut:]


class _XlsxSheetScan(_Scanner):
    """Measures one part of an xlsx or xlsm as calamine would read it, were it a sheet.

    ``reopen`` gives the part's content again from the start (for paths 2 and 3)."""

    def __init__(self, name: str, reopen: Callable[[], Iterable[bytes]], size: int = 0) -> None:
        self.name = name
        self.reopen = reopen
        self.size = size  # unpacked, as the zip declares it (zipfile reads no more than that)
        self.started = False  # the bytes "sheetData" have been seen
        self.fits = True  # path 1 holds so far
        self.envelope: re.Pattern[bytes] | None = None
        self.tail = b""
        self.max_row = 0  # 1-based; measured by paths 2 and 3 only
        self.max_col = -1  # 0-based
        self.cells = 0  # cell tags (each one a cell calamine holds, wherever it is)
        self.text = 0  # bytes of inline text in the cells
        self.in_text = False  # the last stretch ended inside a text

    # -- path 1 --------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if not self.fits:  # measured again from the start by close(); the text, here
            stretches, self.tail = _whole_tags(self.tail, chunk)
            for data, start, end in stretches:
                self._count_text(data, start, end)
            return
        if not self.started:
            data = self.tail + chunk
            start = data.find(_X_START)
            if start < 0:
                self.tail = data[-len(_X_START) + 1 :]
                return
            self.started, self.tail, chunk = True, b"", data[start:]
        stretches, self.tail = _whole_tags(self.tail, chunk)
        for data, start, end in stretches:
            self._count_text(data, start, end)
            self._check(data, start, end, stretches[-1])

    def _count_text(self, data: bytes, start: int, end: int) -> None:
        """Add up the cells' inline text: calamine holds it all, and Python a copy of it. A
        text may run on past the end of a stretch (``in_text``). A part no bigger than the text
        budget cannot hold more text than that: counted only in bigger ones."""
        if self.size <= MAX_COPIED_TEXT_BYTES:
            return
        if self.in_text:
            stop = data.find(b"<", start, end)
            self.text += (end if stop < 0 else stop) - start
            if stop < 0:
                self._text_fits()
                return
            self.in_text, start = False, stop
        if data.find(b"<t", start, end) < 0:
            return
        last = None
        for last in _X_INLINE_TEXT.finditer(data, start, end):
            self.text += last.end(1) - last.start(1)
        self.in_text = last is not None and last.end(1) == end
        self._text_fits()

    def _text_fits(self) -> None:
        if self.text > MAX_COPIED_TEXT_BYTES:
            _refuse_copied_text(self.text, self.name)

    def _check(self, data: bytes, start: int, end: int, sample: tuple[bytes, int, int]) -> None:
        if not self.fits:
            return
        if self.envelope is None:  # sized on the last references of the first chunk
            text, first, last = sample
            refs = _X_TAIL_REFS.findall(text, max(first, last - 4096), last)
            col = max((column_index(letters) for letters, _ in refs), default=0)
            row = max((int(digits) for _, digits in refs), default=0)
            self.envelope = _xlsx_envelope(col, row)
        if self.envelope is None or self.envelope.search(data, start, end) or _prefixed(data, start, end):
            self.fits, self.tail = False, b""
        else:  # every cell tag is <c r="...">
            self.cells += data.count(b'<c r="', start, end)

    def close(self) -> None:
        if self.started and self.fits and self.tail:
            whole = (self.tail, 0, len(self.tail))
            self._check(*whole, whole)
        self.tail = b""
        if self.fits:
            return  # no sheetData, or every cell inside the envelope
        if not self._measure_refs():
            self._measure_exact()
        _check_area(self.max_row, self.max_col + 1, self.name)

    def _cell(self, row: int, col: int) -> None:
        """A cell at ``row``, ``col`` (0-based); refuses as soon as the sheet is too big."""
        if row >= _EXCEL_ROWS or col >= _EXCEL_COLUMNS:
            _refuse_beyond_grid(f"{self.name}: a cell at row {row + 1}, column {col + 1}")
        if row >= self.max_row or col > self.max_col:
            self.max_row = max(self.max_row, row + 1)
            self.max_col = max(self.max_col, col)
            _check_area(self.max_row, self.max_col + 1, self.name)

    # -- path 2 --------------------------------------------------------------------------
    def _measure_refs(self) -> bool:
        """The furthest reference, if every cell is written as path 1 wants (False if not).

        Per chunk: its last references first (in an ordinary sheet its furthest), then one
        regex pass finds each cell tag written otherwise, and each reference beyond the
        furthest so far; in an ordinary sheet, none of either."""
        self.max_row, self.max_col = 0, -1
        self.cells = 0
        tail = b""
        started = False
        for chunk in self.reopen():
            if not started:
                data = tail + chunk
                start = data.find(_X_START)
                if start < 0:
                    tail = data[-len(_X_START) + 1 :]
                    continue
                started, chunk, tail = True, data[start:], b""
            stretches, tail = _whole_tags(tail, chunk)
            if not all(self._refs(*stretch) for stretch in stretches):
                return False
        return not tail or self._refs(tail, 0, len(tail))

    def _refs(self, data: bytes, start: int, end: int) -> bool:
        for letters, digits in _X_TAIL_REFS.findall(data, max(start, end - 4096), end):
            self._cell(int(digits) - 1, column_index(letters))
        if _prefixed(data, start, end):
            return False
        pattern = re.compile(
            rb'<c(?:(?! r="[A-Z]{1,3}[0-9]{1,7}"%s)[ \t\r\n/>]| r="((?:%s)[0-9]{1,7}|[A-Z]{1,3}(?:%s))"%s)'
            % (_X_ATTRS, _greater(column_letter(self.max_col).encode(), b"A", b"Z"),
               _greater(str(self.max_row).encode(), b"0", b"9"), _X_ATTRS)
        )
        for m in pattern.finditer(data, start, end):
            ref = m.group(1)
            if ref is None:
                return False  # a cell written otherwise
            if m.group().endswith(b"/>"):
                continue  # no value: not a cell to calamine
            letters, digits = _X_SPLIT_REF.fullmatch(ref).groups()  # type: ignore[union-attr]
            self._cell(int(digits) - 1, column_index(letters))
        self.cells += data.count(b'<c r="', start, end)
        return True

    # -- path 3 --------------------------------------------------------------------------
    def _measure_exact(self) -> None:
        """Follow the part token by token as quick-xml and calamine do.

        Where the two could disagree, the file is refused rather than guessed at: a row or
        cell tag inside a cell, a cell's value whose tags do not nest, an end of cell outside
        a cell, an unreadable reference or attribute list, or markup that is not a tag, a
        comment, a CDATA section or a processing instruction (a DOCTYPE). None of these is in
        a sheet any spreadsheet program writes. The current row is never lowered (a later
        <row r=...> with a smaller number counts as the current row): rows out of order, which
        no program writes either, can then only make the measure larger, never smaller."""
        self.max_row, self.max_col = 0, -1
        self.cells = 0
        self.x_started = self.x_done = self.in_cell = False
        self.stack: list[tuple[bytes | None, bytes]] = []
        self.row = self.col = 0  # calamine's current row and column (0-based)
        tail = b""
        for chunk in self.reopen():
            data = tail + chunk if tail else chunk
            tail = data[self._tokens(data) :]
            if len(tail) > _MB:  # no tag, comment or CDATA section of a sheet is that long
                break
            if self.x_done:
                return
        if tail and self._tokens(tail) < len(tail):
            self._damaged("markup that is not a tag")

    def _damaged(self, what: str) -> None:
        raise CorruptFileError(details=f"{self.name}: {what}")

    def _tokens(self, data: bytes) -> int:
        """Follow the tokens of ``data``; returns where an unfinished one starts."""
        find, token, plain_row = data.find, _X_MARKUP.match, _X_PLAIN_ROW.match
        pos = 0
        while (at := find(b"<", pos)) >= 0:
            if self.x_started and not self.in_cell and data.startswith(b"<row", at):
                row = plain_row(data, at)
                if row is not None:  # a whole row in one step
                    self._plain_row(row.group(1), _without_empty_tail(row.group(2)))
                    pos = row.end()
                    continue
            m = token(data, at)
            assert m is not None  # (a lone "<" matches at worst)
            pos = m.end()
            closing, prefix, local, attrs = m.groups()
            if local is None:
                if pos - at == 1:
                    return at  # a lone "<": cut by the chunk's end, or damaged
                continue  # comment, CDATA, processing instruction
            if self.x_done:
                break
            # quick-xml's name ends at white space, "/" or ">"; "<c/x>" is not a cell.
            plain = not attrs or attrs == b"/" or attrs[0] in _X_WS
            if closing:
                plain = not attrs.strip(_X_WS)  # "</c >" is the end of a cell, "</c x>" not
                if self.in_cell:
                    if local == b"c" and plain and not self.stack:
                        self.in_cell = False
                    elif plain and self.stack and self.stack[-1] == (prefix, local):
                        self.stack.pop()  # (a row or cell never gets onto the stack)
                    else:
                        self._damaged("a cell's value does not nest")
                elif not plain or not self.x_started:
                    continue
                elif local == b"row":
                    self.row += 1
                    self.col = 0
                elif local == b"c":
                    self._damaged("the end of a cell outside a cell")
                elif local == b"sheetData":
                    self.x_done = True  # calamine stops here
                continue
            empty = attrs.endswith(b"/")
            if self.in_cell:
                if not plain or local in (b"c", b"row"):
                    self._damaged("a row or cell inside a cell")
                if not empty:
                    self.stack.append((prefix, local))
            elif not plain:
                continue
            elif not self.x_started:
                if local == b"sheetData":
                    self.x_started = True
                    self.x_done = empty
            elif local == b"row":
                r = self._r(attrs, empty)
                if r is not None:
                    self.row = max(self.row, self._ref(r, column=False)[0])
                if empty:
                    self.row += 1
                    self.col = 0
            elif local == b"c":
                self._count_one(1)
                r = self._r(attrs, empty)
                row = self.row
                if r is not None:
                    row, self.col = self._ref(r, column=True)
                if not empty:  # a cell that closes itself has no value: calamine keeps none
                    self._cell(row, self.col)
                self.col += 1
                self.in_cell = not empty
        return len(data)

    def _plain_row(self, r: bytes | None, cells: bytes) -> None:
        """A row matched by _X_PLAIN_ROW: the same steps as token by token, all at once."""
        if r is not None:
            self.row = max(self.row, int(r) - 1)
        count = cells.count(b"<c")  # one per cell: no value _X_PLAIN_ROW allows holds "<c"
        self._count_one(count)
        if count:
            self._cell(self.row, self.col + count - 1)  # the furthest of them
        self.row += 1
        self.col = 0

    def _count_one(self, n: int) -> None:
        """``n`` more cells on the exact path; refuses as soon as they are more than it can
        follow within seconds (_EXACT_MAX_CELLS)."""
        self.cells += n
        if self.cells > _EXACT_MAX_CELLS:
            _refuse_cell_count(self.cells, self.name, _EXACT_MAX_CELLS)

    def _r(self, attrs: bytes, empty: bool) -> bytes | None:
        """The value of the attribute r (no prefix), as quick-xml splits the attributes."""
        if empty:
            attrs = attrs[:-1]
        found = None
        pos = 0
        while (m := _X_ATTR.match(attrs, pos)) is not None:  # anchored: linear
            pos = m.end()
            if m.group(1) == b"r":
                if found is not None:
                    self._damaged("two r attributes")
                found = m.group(2) if m.group(2) is not None else m.group(3)
        if attrs[pos:].strip(_X_WS):
            self._damaged("unreadable attributes")
        return found

    def _ref(self, value: bytes, column: bool) -> tuple[int, int]:
        """(row, column), 0-based, as calamine reads a reference: letters in either case, then
        digits (a row's r may carry letters too; they are ignored)."""
        m = _X_CALAMINE_REF.fullmatch(value)
        if m is None or not m.group(2) or (column and not m.group(1)):
            self._damaged(f"cell reference {value[:20]!r}")
        letters, digits = m.groups()  # type: ignore[union-attr]
        if len(letters) > 3 or len(digits) > 7:  # beyond XFD1048576 (calamine wraps around)
            _refuse_beyond_grid(f"{self.name}: cell reference {value[:20]!r}")
        if not int(digits):
            self._damaged(f"cell reference {value[:20]!r}")
        return int(digits) - 1, (column_index(letters) if letters else 0)


# -- xlsx: the shared strings ---------------------------------------------------------------
#: The most text the cells of a workbook may copy, all together, from its shared strings (xlsx)
#: or from a cell repeated N times (ods). calamine gives every cell its own copy, and Python
#: another: a 1 MB text used by 3,000 cells would need 6 GB.
MAX_COPIED_TEXT_BYTES = 256 * _MB
#: A "<" that does not start a plain tag (a name without prefix, attributes in double quotes
#: without "<" or ">", at most one space before the end): a comment, CDATA, a prefixed name...
#: When there is none, no tag can hide in a value or a comment.
_S_NOT_PLAIN = re.compile(rb'<(?!/?[A-Za-z]++(?: [A-Za-z:]++="[^"<>]*+")*+ ?/?>)')
#: A plain start tag <si> or <si ...> (not <si/>: calamine makes no string of it).
_S_START = re.compile(rb"<si(?:>| [^<>]*+(?<!/)>)")
#: A plain start or end tag of a string: (b"" or b"/").
_S_TAG = re.compile(rb"<(/?)si(?=[ >])[^<>]*+(?<!/)>")
#: A plain start tag whose first tag inside is not the start of a <t> or <r> (calamine makes no
#: string of one without either; and a stretch that ends before it is looked at again).
_S_CHILD = rb"[ \t\r\n]*+<[tr](?:>| [^<>]*+(?<!/)>)"
_S_CHILDLESS = re.compile(rb"<si(?:>| [^<>]*+(?<!/)>)(?!%s|[ \t\r\n]*+\Z)" % _S_CHILD)
_S_CHILD_FIRST = re.compile(_S_CHILD)
_S_OPEN_AT_END = re.compile(rb"<si(?:>| [^<>]*+(?<!/)>)[ \t\r\n]*+\Z")
#: The index in a cell's <v> (any prefix; spaces and "+" as a lenient number parser takes them).
_X_V_NUMBER = re.compile(rb"<(?:[^ \t\r\n<>/:]++:)?v(?:[ \t\r\n][^<>]*+)?>[ \t\r\n]*+\+?([0-9]{1,10})")


class _SharedStringsScan(_Scanner):
    """The length in bytes of each string of xl/sharedStrings.xml, numbered as calamine numbers
    them: each <si> element (its bytes are at least its text's length once read).

    Only when the strings are written regularly: every <si> holds a <t> or <r> first, and ends
    before the next one starts (as every program writes them). Otherwise (``lengths`` is None)
    any string could be as long as the whole part (``size``)."""

    def __init__(self, name: str, reopen: Callable[[], Iterable[bytes]], size: int = 0) -> None:
        self.name = name
        self.reopen = reopen
        self.size = size  # unpacked, as the zip declares it (zipfile reads no more than that)
        self.lengths: array.array[int] | None = array.array("Q")
        self.size = 0
        self.started = False  # the bytes "<sst" have been seen
        self.plain = True  # every tag so far is plain and regular: the fast way holds
        self.open = False  # a string is open at the end of the last stretch
        self.need_child = False  # ... and its first tag is still to come
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if not self.plain:
            return
        if not self.started:
            data = self.tail + chunk
            start = data.find(b"<sst")
            if start < 0:
                self.tail = data[-3:]
                return
            self.started, self.tail, chunk = True, b"", data[start:]
        stretches, self.tail = _whole_tags(self.tail, chunk)
        for data, start, end in stretches:
            self._split(data, start, end)

    def _split(self, data: bytes, start: int, end: int) -> None:
        if not self.plain:
            return
        kinds = _S_TAG.findall(data, start, end)
        first, other = (b"/", b"") if self.open else (b"", b"/")
        if (_S_NOT_PLAIN.search(data, start, end) or _S_CHILDLESS.search(data, start, end)
                or (self.need_child and not _S_CHILD_FIRST.match(data, start, end))
                or kinds[0::2].count(first) != len(kinds[0::2])
                or kinds[1::2].count(other) != len(kinds[1::2])):
            self.plain = False  # followed tag by tag instead
            return
        if kinds:
            self.open = kinds[-1] == b""
            self.need_child = _S_OPEN_AT_END.search(data, start, end) is not None
        pieces = _S_START.split(data[start:end])
        lengths = self.lengths
        assert lengths is not None
        if lengths:
            lengths[-1] += len(pieces[0])
        lengths.extend(map(len, pieces[1:]))
        if len(lengths) > MAX_CELLS:
            raise UnsafeFileError(details=f"{self.name}: more than {MAX_CELLS} strings")

    def close(self) -> None:
        if self.plain and self.tail:
            self._split(self.tail, 0, len(self.tail))
        self.tail = b""
        if not self.plain or self.need_child:
            self._measure_exact()

    def _measure_exact(self) -> None:
        """The same, following the tags one by one as quick-xml reads them (comments, CDATA
        and quoted values skipped, any prefix); at most _EXACT_MAX_CELLS tags (seconds)."""
        lengths = array.array("Q")
        tags = 0
        string: tuple[bytes | None, bytes] | None = None  # the open string's name
        child = False  # its first tag has been seen
        opened = offset = 0
        tail = b""
        for chunk in self.reopen():
            data = tail + chunk if tail else chunk
            pos = 0
            while (at := data.find(b"<", pos)) >= 0:
                m = _X_MARKUP.match(data, at)
                assert m is not None  # (a lone "<" matches at worst)
                closing, prefix, local, attrs = m.groups()
                if local is None and m.end() - at == 1:
                    pos = at
                    break  # cut by the chunk's end
                pos = m.end()
                if local is None:
                    continue  # comment, CDATA, processing instruction
                tags += 1
                if tags > _EXACT_MAX_CELLS:
                    raise UnsafeFileError(details=f"{self.name}: over {_EXACT_MAX_CELLS} unusual tags")
                if attrs and attrs != b"/" and attrs[0] not in _X_WS:
                    continue  # (a longer name)
                if string is not None and not child:  # the string's first tag: <t> or <r>
                    if closing or local not in (b"t", b"r") or attrs.endswith(b"/"):
                        self.lengths = None
                        return
                    child = True
                elif local != b"si":
                    continue
                elif string is None and not closing and not attrs.endswith(b"/"):
                    string, child, opened = (prefix, local), False, offset + at
                elif string is not None and closing and (prefix, local) == string:
                    lengths.append(offset + pos - opened)
                    string = None
                else:  # nested, stray or mismatched: calamine may number the strings otherwise
                    self.lengths = None
                    return
            else:
                pos = len(data)
            tail = data[pos:] if pos < len(data) else b""
            offset += pos
            if len(tail) > _MB or len(lengths) > MAX_CELLS:
                raise UnsafeFileError(details=f"{self.name}: unreadable or too many strings")
        if tail:  # a DOCTYPE (where entities are declared), or damage: calamine may read on
            raise CorruptFileError(details=f"{self.name}: markup that is not a tag")
        self.lengths = lengths if string is None else None


def _check_cells(cells: int, lengths: Sequence[int], used: Iterable[tuple[str, Iterable[int]]]) -> None:
    """Refuse a workbook whose ``cells`` and shared strings (their ``lengths``) are more than
    calamine may hold: more than MAX_CELLS together, or more than MAX_COPIED_TEXT_BYTES of text
    copied from the shared strings (each cell gets a copy of its string). ``used`` gives, sheet
    by sheet, at least every index of a shared string a cell uses; it is read only when the
    cells times the longest string are over the limit."""
    if cells + len(lengths) > MAX_CELLS:
        _refuse_cell_count(cells + len(lengths), "cells and shared strings")
    if cells * max(lengths, default=0) <= MAX_COPIED_TEXT_BYTES:
        return  # (nearly every workbook: short strings)
    n = len(lengths)
    text = 0
    for where, indexes in used:
        text += sum(lengths[i] for i in indexes if i < n)
        if text > MAX_COPIED_TEXT_BYTES:
            _refuse_copied_text(text, where)


def _xlsx_string_indexes(sheets: list[_XlsxSheetScan]) -> Iterator[tuple[str, Iterator[int]]]:
    """For each part with a <sheetData>, every number in a <v> (taken as a string's index)."""
    for sheet in sheets:
        if sheet.started:
            yield sheet.name, _v_numbers(sheet.reopen())


def _v_numbers(chunks: Iterable[bytes]) -> Iterator[int]:
    tail = b""
    for chunk in chunks:
        stretches, tail = _whole_tags(tail, chunk)
        for data, start, end in stretches:
            yield from map(int, _X_V_NUMBER.findall(data, start, end))
    yield from map(int, _X_V_NUMBER.findall(tail))


def _refuse_copied_text(text: int, where: str) -> None:
    raise UnsafeFileError(
        "The file looks unsafe to open",
        f"Its cells repeat long texts: ccdesk reads up to {_size(MAX_COPIED_TEXT_BYTES)} of text. "
        + _RESAVE,
        f"{where}: {text} bytes of text in its cells",
    )


# ods: rows and cells may be "repeated" N times; the reader expands every repeat except the
# empty ones at the end of a row or a table (which LibreOffice writes by the million).
#: A row, cell or table tag, up to its ">" (none: a "<" or the end comes first; no file that
#: is not built to mislead has one, and looking further for each would take quadratic time).
_O_TOKEN = re.compile(
    rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^<>]*+)(>?)"
)
_O_ROWS_REP = re.compile(rb'table:number-rows-repeated\s*=\s*"(\d+)"')
_O_COLS_REP = re.compile(rb'table:number-columns-repeated\s*=\s*"(\d+)"')
_O_VALUE = re.compile(
    rb"office:(?:value-type|value|string-value|date-value|time-value|boolean-value)\s*="
    rb"|table:formula\s*="
)


class _OdsScan(_Scanner):
    def __init__(self) -> None:
        self.tail = b""
        self._new_table()
        self.offset = 0  # where the next data given to _scan starts, in the part
        self.cell_at: int | None = None  # where the open cell with content starts
        self.cell_rep = 1
        self.row_text = 0  # bytes of the row's cells with content, each times its repeats
        self.text = 0  # the same for every row, each times its repeats: what calamine copies

    def _new_table(self) -> None:
        self.rows_total = 0  # rows up to and including the last row with a value
        self.rows_pending = 0  # rows since then
        self.width = 0
        self.row_rep = 1
        self.row_cols = 0
        self.row_width = 0  # up to the last cell with a value

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        cut = data.rfind(b"<")
        if cut < 0:
            data, self.tail = data, b""
        else:
            data, self.tail = data[:cut], data[cut:]
            if len(self.tail) > 1 * _MB:
                data, self.tail = data + self.tail, b""
        self._scan(data)

    def close(self) -> None:
        if self.tail:
            self._scan(self.tail)
        self._end_table()

    def _end_table(self) -> None:
        _check_area(self.rows_total, max(self.width, 1), "content.xml")

    def _scan(self, data: bytes) -> None:
        base = self.offset
        self.offset += len(data)
        for m in _O_TOKEN.finditer(data):
            closing, tag, attrs, end = m.groups()
            if not end:
                raise CorruptFileError(details="content.xml: a tag without its end")
            empty = attrs.endswith(b"/")
            if tag == b"table":
                if closing or empty:
                    self._end_table()
                    self._new_table()
                else:
                    self._end_table()
                    self._new_table()
            elif tag == b"table-row":
                if closing:
                    self._end_row()
                else:
                    rep = _O_ROWS_REP.search(attrs)
                    self.row_rep = int(rep.group(1)) if rep else 1
                    self.row_cols = 0
                    self.row_width = 0
                    if empty:
                        self._end_row()
            elif not closing:  # a cell
                rep = _O_COLS_REP.search(attrs)
                n = int(rep.group(1)) if rep else 1
                self.row_cols += n
                if _O_VALUE.search(attrs):
                    self.row_width = self.row_cols
                    if empty:  # (its value in its attributes)
                        self.row_text += n * len(attrs)
                if not empty:
                    self.cell_at, self.cell_rep = base + m.start(), n
            elif self.cell_at is not None:  # the end of a cell with content
                self.row_text += self.cell_rep * (base + m.end() - self.cell_at)
                self.cell_at = None

    def _end_row(self) -> None:
        if self.row_width:
            self.rows_total += self.rows_pending + self.row_rep
            self.rows_pending = 0
            self.width = max(self.width, self.row_width)
            _check_area(self.rows_total, max(self.width, 1), "content.xml")
        else:
            self.rows_pending += self.row_rep
        self.text += self.row_rep * self.row_text
        self.row_text = 0
        if self.text > MAX_COPIED_TEXT_BYTES:
            _refuse_copied_text(self.text, "content.xml")
        self.row_rep = 1
        self.row_cols = 0
        self.row_width = 0


# xlsb: binary records; rows come from BrtRowHdr, columns from each cell record; the shared
# strings (BrtSSTItem, in xl/sharedStrings.bin) are measured, and the cells that use one counted.
class _XlsbSheetScan(_Scanner):
    def __init__(self, name: str) -> None:
        self.name = name
        self.cells = 0
        self.shared = array.array("L")  # the index of each cell's shared string (BrtCellIsst)
        self.lengths = array.array("Q")  # the size of each shared string's record
        self.buf = b""
        self.in_data = False
        self.done = False
        self.row = 0
        self.max_row = 0
        self.max_col = 0

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        data = self.buf + chunk
        pos = self._records(data)
        self.buf = data[pos:]
        if len(self.buf) > 64 * _MB:
            raise CorruptFileError(details=f"{self.name}: record too long")

    def close(self) -> None:
        _check_area(self.max_row + 1, self.max_col + 1, self.name)

    def _records(self, data: bytes) -> int:
        pos, n = 0, len(data)
        unpack = struct.unpack_from
        while pos < n and not self.done:
            start = pos
            # record type: 1 or 2 bytes of 7 bits; size: 1 to 4 bytes of 7 bits
            typ = data[pos]
            pos += 1
            if typ & 0x80:
                if pos >= n:
                    return start
                typ = (typ & 0x7F) | ((data[pos] & 0x7F) << 7)
                pos += 1
            size = 0
            for shift in (0, 7, 14, 21):
                if pos >= n:
                    return start
                b = data[pos]
                pos += 1
                size |= (b & 0x7F) << shift
                if not b & 0x80:
                    break
            if pos + size > n:
                return start
            if typ == 0x0091:
                self.in_data = True
            elif typ == 0x0092:
                self.done = True
            elif typ == 0x0013:
                self.lengths.append(size)
            elif typ == 0x0094 and size >= 16:
                r1, r2, c1, c2 = unpack("<IIII", data, pos)
                if r2 >= r1 and c2 >= c1:
                    _check_area(r2 - r1 + 1, c2 - c1 + 1, self.name)
            elif self.in_data:
                if typ == 0x0000 and size >= 4:
                    self.row = unpack("<I", data, pos)[0]
                    if self.row > 0x100000:
                        self.done = True
                    elif self.row > self.max_row:
                        self.max_row = self.row
                elif 0x0002 <= typ <= 0x000B and size >= 4:
                    self.cells += 1
                    if typ == 0x0007 and size >= 12:
                        self.shared.append(unpack("<I", data, pos + 8)[0])
                    col = unpack("<I", data, pos)[0]
                    if col > self.max_col:
                        self.max_col = col
                        if col > 16_384:
                            _check_area(self.max_row + 1, col + 1, self.name)
            pos += size
        return pos


# -- OLE2 compound files: legacy xls, and encrypted Office files ------------------------------
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_DIFSECT = 0xFFFFFFFC
_RESERVED = 0xFFFFFFFA  # sector numbers from here on are markers, not sectors


class _Cfb:
    """A minimal, bounded reader of the OLE2 compound file format (MS-CFB).

    calamine reads the same structures again and trusts them: it reserves memory for the
    header's counts, follows the DIFAT chain and every sector chain until it ends, and loads
    every FAT sector the DIFAT names. So a file is refused here if a count is more than the
    file can hold, if the DIFAT names more FAT sectors than the file has, or if any chain
    loops (calamine would follow it until the memory runs out)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        if len(data) < 512:
            raise CorruptFileError(details="OLE2 header too short")
        try:
            (self.major, _, shift, mini_shift) = struct.unpack_from("<HHHH", data, 26)
            self.ssz = 1 << shift
            self.mini_ssz = 1 << mini_shift
            if shift not in (9, 12) or mini_shift != 6:
                raise CorruptFileError(details=f"OLE2 sector shift {shift}/{mini_shift}")
            (n_fat, first_dir, _, self.cutoff, first_minifat, n_minifat, first_difat, n_difat) = (
                struct.unpack_from("<IIIIIIII", data, 44)
            )
            self.n_sectors = max(0, (len(data) - self.ssz) // self.ssz)
            # calamine reserves room for as many DIFAT entries as the 4 bytes at offset 62 say
            # (they straddle two fields: a real file has at most 0xFF in the upper half).
            reserved = struct.unpack_from("<I", data, 62)[0]
            if n_fat > self.n_sectors or n_difat > self.n_sectors or reserved > 1 << 24:
                raise CorruptFileError(details=f"OLE2 header counts {n_fat}/{n_difat}/{reserved:#x}")
            fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < _DIFSECT]
            difat = first_difat
            seen: set[int] = set()
            per = self.ssz // 4 - 1
            while difat < _RESERVED:  # to its end, as calamine follows it
                if difat >= self.n_sectors or difat in seen:
                    raise CorruptFileError(details="OLE2 DIFAT chain broken or looping")
                seen.add(difat)
                entries = struct.unpack_from(f"<{per + 1}I", data, self._off(difat))
                fat_sectors.extend(s for s in entries[:per] if s < _DIFSECT)
                difat = entries[per]
            if len(fat_sectors) > self.n_sectors:
                raise CorruptFileError(details=f"OLE2 DIFAT names {len(fat_sectors)} FAT sectors")
            fat: list[int] = []
            for s in fat_sectors:
                if s >= self.n_sectors:
                    raise CorruptFileError(details="OLE2 FAT sector out of range")
                fat.extend(struct.unpack_from(f"<{self.ssz // 4}I", data, self._off(s)))
            _refuse_loops(fat)
            self.fat = fat
            self.dir_data = self._chain_bytes(first_dir, self.fat, self.ssz, self._off)
            self.entries = []
            for i in range(len(self.dir_data) // 128):
                raw = self.dir_data[i * 128 : (i + 1) * 128]
                name_len = struct.unpack_from("<H", raw, 64)[0]
                kind = raw[66]
                start = struct.unpack_from("<I", raw, 116)[0]
                size = struct.unpack_from("<Q", raw, 120)[0]
                if self.major == 3:
                    size &= 0xFFFFFFFF
                name = raw[: max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
                self.entries.append((name, kind, start, size))
            self.first_minifat, self.n_minifat = first_minifat, n_minifat
        except struct.error as exc:
            raise CorruptFileError(details=f"OLE2: {exc}") from exc

    def _off(self, sector: int) -> int:
        return (sector + 1) * self.ssz

    def _chain(self, start: int, fat: list[int], limit: int) -> list[int]:
        chain = []
        s = start
        while s != _ENDOFCHAIN:
            if s >= len(fat) or s >= limit or len(chain) > limit:
                raise CorruptFileError(details="OLE2 sector chain broken")
            chain.append(s)
            s = fat[s]
        return chain

    def _chain_bytes(self, start: int, fat: list[int], size: int, off: Callable[[int], int]) -> bytes:
        if start in (_ENDOFCHAIN, _FREESECT):
            return b""
        limit = len(fat)
        parts = [self.data[off(s) : off(s) + size] for s in self._chain(start, fat, limit)]
        return b"".join(parts)

    def names(self) -> list[str]:
        return [e[0] for e in self.entries if e[1] in (1, 2)]

    def stream(self, wanted: set[str]) -> bytes | None:
        for name, kind, start, size in self.entries:
            if kind == 2 and name.lower() in wanted:
                if size > len(self.data) * 2:
                    raise CorruptFileError(details="OLE2 stream size")
                if size < self.cutoff:
                    return self._mini_stream_bytes(start, size)
                return self._chain_bytes(start, self.fat, self.ssz, self._off)[:size]
        return None

    def _mini_stream_bytes(self, start: int, size: int) -> bytes:
        root = self.entries[0] if self.entries else None
        if root is None:
            raise CorruptFileError(details="OLE2 without root")
        container = self._chain_bytes(root[2], self.fat, self.ssz, self._off)
        minifat_bytes = self._chain_bytes(self.first_minifat, self.fat, self.ssz, self._off)
        minifat = list(struct.unpack_from(f"<{len(minifat_bytes) // 4}I", minifat_bytes))
        chain = self._chain(start, minifat, len(minifat))
        out = b"".join(container[s * self.mini_ssz : (s + 1) * self.mini_ssz] for s in chain)
        return out[:size]


def _refuse_loops(fat: list[int]) -> None:
    """Refuse a FAT in which any chain of sectors loops back on itself."""
    state = bytearray(len(fat))  # 0: not seen; 1: on the chain being followed; 2: ends well
    for start in range(len(fat)):
        chain = []
        s = start
        while s < len(fat) and not state[s]:
            state[s] = 1
            chain.append(s)
            s = fat[s]
        if s < len(fat) and state[s] == 1:
            raise CorruptFileError(details=f"OLE2 sector chain loops at sector {s}")
        for s in chain:
            state[s] = 2


_XLS_CELL_RECORDS = frozenset({0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x0006, 0x00D6, 0x0201})


def _check_xls(data: bytes) -> None:
    """Refuse a password-protected xls, and one whose sheets would not fit in memory."""
    stream = _Cfb(data).stream({"workbook", "book"})
    if not stream:
        raise CorruptFileError(details="xls without a Workbook stream")
    n = len(stream)
    unpack = struct.unpack_from
    sheets: list[int] = []
    pos = 0
    try:
        while pos + 4 <= n:
            typ, size = unpack("<HH", stream, pos)
            body = pos + 4
            if typ == 0x002F and size >= 2 and unpack("<H", stream, body)[0] != 0:
                raise PasswordProtectedError(details="xls FILEPASS record")
            if typ == 0x0085 and size >= 4:
                sheets.append(unpack("<I", stream, body)[0])
            elif typ == 0x00FC and size >= 8:
                unique = unpack("<i", stream, body + 4)[0]
                if unique < 0 or unique > n:
                    raise CorruptFileError(details=f"xls SST count {unique}")
            elif typ == 0x000A:
                break
            pos = body + size
        for start in sheets:
            if start >= n:
                raise CorruptFileError(details="xls sheet offset out of range")
            _check_xls_sheet(stream, start)
    except struct.error as exc:
        raise CorruptFileError(details=f"xls: {exc}") from exc


def _check_xls_sheet(stream: bytes, pos: int) -> None:
    n = len(stream)
    unpack = struct.unpack_from
    min_row = min_col = 1 << 20
    max_row = max_col = -1
    while pos + 4 <= n:
        typ, size = unpack("<HH", stream, pos)
        body = pos + 4
        if typ == 0x000A:
            break
        if typ in _XLS_CELL_RECORDS and size >= 4:
            row, col = unpack("<HH", stream, body)
            min_row, max_row = min(min_row, row), max(max_row, row)
            min_col, max_col = min(min_col, col), max(max_col, col)
        elif typ in (0x00BD, 0x00BE) and size >= 6:
            row, first = unpack("<HH", stream, body)
            last = unpack("<H", stream, body + size - 2)[0]
            min_row, max_row = min(min_row, row), max(max_row, row)
            min_col, max_col = min(min_col, first), max(max_col, last, first)
        elif typ == 0x0200 and size in (10, 14):
            if size == 10:
                r1, r2, c1, c2 = unpack("<HHHH", stream, body)
            else:
                r1, r2, c1, c2 = unpack("<IIHH", stream, body)
            if r2 >= 1 and c2 >= 1:
                if r2 - 1 < r1 or c2 - 1 < c1:
                    raise CorruptFileError(details="xls DIMENSIONS upside down")
                _check_area(r2 - r1, c2 - c1, "xls DIMENSIONS")
        pos = body + size
    if max_row >= 0:
        _check_area(max_row - min_row + 1, max_col - min_col + 1, "xls sheet")


# -- calamine -----------------------------------------------------------------------------
class _CalamineBook(Workbook):
    def __init__(self, data: bytes, fmt: Format) -> None:
        import python_calamine as pc

        self.format = fmt
        self._pc = pc
        self._sheets: dict[str, Any] = {}
        try:
            self._wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
            meta = self._wb.sheets_metadata
        except BaseException as exc:
            raise self._map_error(exc) from exc
        self.sheet_names = []
        self.hidden_sheets = set()
        for m in meta:
            if str(m.typ).endswith("ChartSheet"):
                continue
            self.sheet_names.append(m.name)
            if not str(m.visible).endswith(".Visible"):
                self.hidden_sheets.add(m.name)

    def _map_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError | SheetError):
            return exc
        pc = self._pc
        text = str(exc)
        if isinstance(exc, pc.PasswordError) or "password" in text.lower():
            return PasswordProtectedError(details=text)
        return CorruptFileError(details=f"{type(exc).__name__}: {text}"[:500])

    def _sheet(self, name: str) -> Any:
        sheet = self._sheets.get(name)
        if sheet is None:
            try:
                sheet = self._wb.get_sheet_by_name(name)
            except BaseException as exc:
                raise self._map_error(exc) from exc
            self._sheets[name] = sheet
        return sheet

    def grid(self, name: str, max_rows: int | None = None) -> Grid:
        sheet = self._sheet(name)
        try:
            start = sheet.start
            if start is None:
                return Grid([], 1, 0)
            if max_rows is None and sheet.height > MAX_ROWS:
                _check_area(sheet.height, 1, name)
            rows = sheet.to_python(skip_empty_area=True, nrows=max_rows)
        except SheetError:
            raise
        except BaseException as exc:
            raise self._map_error(exc) from exc
        return Grid(rows, start[0] + 1, start[1])

    def close(self) -> None:
        self._sheets.clear()
        with contextlib.suppress(Exception):  # closing twice is harmless
            self._wb.close()


# -- CSV and other text ---------------------------------------------------------------------
_DELIMITERS = (",", ";", "\t", "|")
#: The most cells a CSV row may have: Excel's columns, A to XFD.
_CSV_COLUMNS = 16_384
_SEP_LINE = re.compile(r"\A\"?sep=(.)\"?\r?\n", re.IGNORECASE)
_HTML = re.compile(rb"\A\s*<(?:!doctype\s+html|html|table|head|body|meta)\b", re.IGNORECASE)
_XML_SPREADSHEET = b"urn:schemas-microsoft-com:office:spreadsheet"


def decode_text(data: bytes) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: UTF-8 (BOM or not), UTF-16 (BOM), else
    Windows-1252. A UTF-8 file with a few bytes that are not UTF-8 stays UTF-8, those bytes
    read as U+FFFD (the caller warns about their rows). Refuses binary content."""
    if data.startswith(b"\xef\xbb\xbf"):
        enc, body = "utf-8-sig", data
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc, body = "utf-16", data
    elif len(data) >= 4 and data[1:4:2] == b"\0\0" and data[0] and data[2]:
        enc, body = "utf-16-le", data  # UTF-16 without a byte-order mark
    elif len(data) >= 4 and data[0:4:2] == b"\0\0" and data[1] and data[3]:
        enc, body = "utf-16-be", data
    else:
        enc, body = "utf-8", data
    try:
        text = body.decode(enc)
    except UnicodeDecodeError:
        if enc.startswith("utf-16"):
            raise CorruptFileError(details="bad UTF-16") from None
        text = body.decode(enc, "replace")
        if enc == "utf-8" and not _mostly_utf8(text):
            try:
                text, enc = body.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, enc = body.decode("latin-1"), "cp1252"
    sample = text[:65536]
    if "\0" in sample or sum(ch < " " and ch not in "\t\r\n\f\v" for ch in sample[:4096]) > 64:
        raise NotASpreadsheetError(details="binary content")
    return text, enc


def _mostly_utf8(text: str) -> bool:
    """Whether ``text``, decoded as UTF-8 with every unreadable byte replaced by U+FFFD, is
    UTF-8 with a few stray bytes: at least as many characters beyond ASCII read right as were
    replaced. (A Windows-1252 file's accented letters are almost never valid UTF-8, so there
    nearly every one is replaced.)"""
    bad = text.count(_REPLACED)
    beyond_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return beyond_ascii - bad >= bad


#: What decode_text puts where a UTF-8 file holds a byte that is not UTF-8.
_REPLACED = "\ufffd"


def sniff_delimiter(text: str, hint: str = "") -> str:
    """The delimiter among , ; tab | that splits the first lines most consistently."""
    sample = text[:65536]
    if len(text) > len(sample):
        cut = sample.rfind("\n")
        if cut > 0:
            sample = sample[:cut]
    best, best_score = ",", (0, 0, 0)
    order = ("\t", *_DELIMITERS) if hint == "\t" else _DELIMITERS
    for i, delim in enumerate(order):
        counts: dict[int, int] = {}
        try:
            for n, row in enumerate(csv.reader(io.StringIO(sample, newline=""), delimiter=delim)):
                if n >= 200:
                    break
                if row:
                    counts[len(row)] = counts.get(len(row), 0) + 1
        except csv.Error:
            continue
        if not counts:
            continue
        width, agree = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if width < 2:
            continue
        score = (agree, width, -i)
        if score > best_score:
            best, best_score = delim, score
    return best


def _text_start(data: bytes) -> bytes:
    """The start of a text file (64 KB) without its byte-order mark and leading white space,
    as UTF-8 when it is UTF-16: what a web page or an XML file begins with, whatever the
    program that saved it."""
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "replace").encode("utf-8", "replace")
    elif len(head) >= 4 and (head[1:4:2] == b"\0\0" or head[0:4:2] == b"\0\0"):
        enc = "utf-16-le" if head[1:4:2] == b"\0\0" else "utf-16-be"
        head = head[: len(head) // 2 * 2].decode(enc, "replace").encode("utf-8", "replace")
    return head.lstrip()


class _CsvBook(Workbook):
    def __init__(self, path: Path, data: bytes) -> None:
        self.format = Format.CSV
        start = _text_start(data)
        _refuse_known_binary(start)
        if _HTML.match(start[:1024]):
            raise NotASpreadsheetError(
                "This file is a web page saved with a spreadsheet name", _RESAVE
            )
        if start[:5] == b"<?xml":
            if _XML_SPREADSHEET in start:
                raise NotASpreadsheetError("This is an old Excel 2003 XML spreadsheet", _RESAVE)
            raise NotASpreadsheetError("This file is XML, not a spreadsheet")
        self.text, self.encoding = decode_text(data)
        stem = path.stem or "Sheet1"
        self.sheet_names = [stem]
        self.hidden_sheets = set()
        hint = "\t" if path.suffix.lower() == ".tsv" else ""
        text = self.text
        m = _SEP_LINE.match(text)
        if m:  # Excel's "sep=;" first line chooses the delimiter and is not shown
            self.delimiter = m.group(1)
            text = text[m.end() :]
        else:
            self.delimiter = sniff_delimiter(text, hint)
        self._body = text
        self._rows: list[list[str]] | None = None

    def _parse(self, max_rows: int | None) -> list[list[str]]:
        rows: list[list[str]] = []
        limit = MAX_ROWS + 1 if max_rows is None else max_rows  # one more, to notice
        reader = csv.reader(io.StringIO(self._body, newline=""), delimiter=self.delimiter)
        width, tall = 0, MAX_CELLS  # the cell budget, as for xlsx: rows x widest row
        try:
            for row in reader:
                rows.append(row)
                if len(row) > width:
                    width = len(row)
                    tall = MAX_CELLS // width
                    if width > _CSV_COLUMNS:
                        raise SheetTooBigError(
                            f"Row {len(rows)} has too many cells ({width:,})",
                            f"ccdesk, like Excel, reads up to {_CSV_COLUMNS:,} columns. Save only "
                            "the columns you need (the email column is enough) and try again.",
                            "csv",
                        )
                if len(rows) > tall:
                    _check_area(len(rows), width, "csv")
                if len(rows) >= limit:
                    break
        except csv.Error as exc:
            raise CorruptFileError(
                "The CSV file cannot be read",
                "A quotation mark may be left open, or a cell is far too long. Open it in Excel, "
                "save it again as CSV or .xlsx, and try again.",
                str(exc),
            ) from exc
        if max_rows is None and len(rows) > MAX_ROWS:
            _check_area(len(rows), 1, "csv")
        if max_rows is None and _REPLACED in self._body:
            self.warnings = (_unreadable_rows(rows),)
        return rows

    def grid(self, name: str, max_rows: int | None = None) -> Grid:
        if self._rows is None:
            if max_rows is not None:
                return Grid(self._parse(max_rows), 1, 0)
            self._rows = self._parse(None)
        rows = self._rows if max_rows is None else self._rows[:max_rows]
        return Grid(rows, 1, 0)


def _unreadable_rows(rows: list[list[str]], shown: int = 5) -> str:
    """The warning for the rows that hold a character that could not be read."""
    numbers = [i for i, row in enumerate(rows, start=1) if any(_REPLACED in cell for cell in row)]
    listed = ", ".join(str(n) for n in numbers[:shown])
    if len(numbers) > shown:
        listed += f" and {len(numbers) - shown:,} more"
    one = len(numbers) == 1
    which = f"Row {listed} has" if one else f"Rows {listed} have"
    return (f"{which} a character that could not be read (shown as {_REPLACED}). The rest of "
            f"the file reads normally; check {'that row' if one else 'those rows'} in the file.")


# -- formulas without saved results ---------------------------------------------------------
# A cell's formula whose result was never saved: calamine reads such a cell as empty. In xlsx
# an <f> with no <v> after it before the cell ends; in ods a formula cell with no office:*value
# attribute and nothing inside. Each scan stops at the next "<": linear in the part's size.
_X_FORMULA_ALONE = re.compile(
    rb"<(?:[A-Za-z0-9_]+:)?f(?:[ \t\r\n][^<>]*)?(?:/>|>[^<]*</(?:[A-Za-z0-9_]+:)?f[ \t\r\n]*>)"
    rb"[ \t\r\n]*</(?:[A-Za-z0-9_]+:)?c[ \t\r\n]*>"
)
_O_FORMULA_CELL = re.compile(  # the look-ahead settles each tag once, the group takes it whole
    rb"<table:table-cell\b(?=[^<>]*?\btable:formula=)([^<>]*+)>([ \t\r\n]*</table:table-cell>)?"
)
_O_RESULT = re.compile(rb"\boffice:(?:value|string-value|boolean-value|date-value|time-value)=")
_OVERLAP = 64 * 1024


def has_formulas_without_results(path: str | Path) -> bool:
    """Whether a workbook (xlsx, xlsm or ods) has a formula cell whose result was not saved.

    Asked only when a sheet gave no addresses, to say why; it reads the file again (already
    found safe to unpack), and a file that cannot be read again counts as having none."""
    try:
        data = read_file_bytes(Path(path))
        if not data.startswith(b"PK\x03\x04"):
            return False
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                low = info.filename.lower()
                if low == "content.xml":
                    found = _scan_parts(zf, info, _ods_formula_alone)
                elif low.startswith("xl/worksheets/") and low.endswith(".xml"):
                    found = _scan_parts(zf, info, lambda text: _X_FORMULA_ALONE.search(text) is not None)
                else:
                    continue
                if found:
                    return True
    except (SheetError, zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, zlib.error):
        return False
    return False


def _ods_formula_alone(text: bytes) -> bool:
    for m in _O_FORMULA_CELL.finditer(text):
        attrs = m.group(1)
        if not _O_RESULT.search(attrs) and (attrs.endswith(b"/") or m.group(2) is not None):
            return True
    return False


def _scan_parts(zf: zipfile.ZipFile, info: zipfile.ZipInfo, found: Callable[[bytes], bool]) -> bool:
    """Whether ``found`` is true of some stretch of the entry (chunks overlap by 64 KB, so a
    cell cut by a chunk's end is whole in the next stretch)."""
    tail, total = b"", 0
    for chunk in _chunks(zf, info):
        total += len(chunk)
        if total > MAX_UNCOMPRESSED_BYTES:
            return False
        text = tail + chunk
        if found(text):
            return True
        tail = text[-_OVERLAP:]
    return False


def _without_empty_tail(cells: bytes) -> bytes:
    """The cells of a row matched by _X_PLAIN_ROW up to the last one with a value: a cell tag
    that closes itself (<c s="1"/>, a format) holds none, and calamine keeps no cell for it,
    so it does not widen the sheet."""
    end = len(cells)
    while True:
        while end and cells[end - 1] in _X_WS:
            end -= 1
        if not cells.endswith(b"/>", 0, end):  # a cell with content ends with </c>
            return cells[:end]
        end = max(cells.rfind(b"<c", 0, end), 0)
