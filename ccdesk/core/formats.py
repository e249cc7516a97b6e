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
   names cell XFD1048576 cannot exhaust the memory.
3. **Read it.** xlsx, xlsm, xlsb, xls and ods through python-calamine; CSV / TSV / TXT
   through the standard library (encoding and delimiter detected). While calamine parses an
   xlsx sheet (without the interpreter lock), a helper thread hands the caller a forecast of
   the email column read from the XML, or else the file's texts that hold an "@", for work
   ahead on the processor the parse leaves idle.

The result is a :class:`Workbook` whose :meth:`Workbook.grid` gives a sheet's cells with the
Excel number of its first row and the index of its first column.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import logging
import os
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain, islice, repeat
from operator import itemgetter, lt, sub
from pathlib import Path
from typing import Any

from ccdesk.core.diskfile import NotARegularFile, read_snapshot
from ccdesk.errors import SheetError

__all__ = [
    "MAX_CELLS",
    "MAX_COMPRESSION_RATIO",
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


# -- the result ---------------------------------------------------------------------------
@dataclass(slots=True)
class Grid:
    """A sheet's cells: ``rows[i][j]`` is Excel row ``first_row + i``, column ``first_col + j``.

    Empty cells are ``""`` (or ``None``); numbers may be int or float, dates datetime.
    """

    rows: list[list[Any]]
    first_row: int = 1
    first_col: int = 0


log = logging.getLogger("ccdesk.core.formats")

#: What :meth:`Workbook.grid` may call while a sheet is being parsed: see there.
Meanwhile = Callable[[list[str]], object]
#: A forecast of one column of a sheet, read from its XML while calamine parses it:
#: (the column's index, the Excel row of the first text, the texts row by row; "" where the
#: row has no cell there). There is none when a cell there is not plain text (a number, rich
#: text...). Only a forecast: the caller compares it with what calamine gives.
Forecast = tuple[int, int, list[str]]
#: What :meth:`Workbook.grid` may call with a forecast: ``foresee(forecast, stopped)``, where
#: ``stopped()`` turns true when the parse has finished (the work should then end soon). It
#: returns whether it has worked the forecast out (then no texts are handed over for it).
Foresee = Callable[[Forecast, Callable[[], bool]], bool]


class Workbook:
    """An opened file: its real format, its sheets, and their cells."""

    format: Format
    sheet_names: list[str]
    hidden_sheets: set[str]
    #: Things the person should know about what was read, in plain words (known once a
    #: sheet has been read whole).
    warnings: tuple[str, ...] = ()

    def grid(
        self, name: str, max_rows: int | None = None, *, meanwhile: Meanwhile | None = None,
        foresee: Foresee | None = None,
    ) -> Grid:  # pragma: no cover
        """The cells of sheet ``name`` (only the first ``max_rows`` rows when given).

        While the sheet is being parsed (by a reader that parses without the interpreter
        lock), work may be handed to the callers' functions from another thread, on the
        processor the parse leaves idle: first ``foresee`` (if given) with a
        :data:`Forecast` of the column holding the most texts with an "@"; then, unless it
        returns True, ``meanwhile`` (if given) with blocks of the file's texts that hold an
        "@". The calls stop when the parse has finished; this method waits for the one in
        progress. The work must be optional: an exception in it is logged, and stops only
        the work ahead."""
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
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        scanner: _Scanner | None = None
        low = name.lower()
        if fmt in (Format.XLSX, Format.XLSM):
            # Every part: the workbook's relationships may name any part as a sheet.
            scanner = _XlsxSheetScan(name, lambda info=info: _chunks(zf, info))
        elif fmt is Format.ODS and low == "content.xml":
            scanner = _OdsScan()
        elif fmt is Format.XLSB and low.startswith("xl/") and low.endswith(".bin") and low not in (
            "xl/workbook.bin", "xl/styles.bin", "xl/sharedstrings.bin", "xl/vbaproject.bin"
        ):
            scanner = _XlsbSheetScan(name)
        total = _stream_member(zf, info, total, scanner)
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
    the next one is made, so the memory is reused (fresh pages are costly to fault in).
    Tried and dropped: inflating on a helper thread (on two cores it was slower, the threads
    taking turns at the interpreter lock); inflating with zlib directly (the CRC is most of
    what it saves, and it is needed); and handing calamine the unpacked bytes as a stored zip
    (its parse was no faster)."""
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


# -- xlsx: the extent of a sheet --------------------------------------------------------------
# How calamine (0.37, src/xlsx/cells_reader.rs, through quick-xml) reads a worksheet part:
# nothing counts before the start tag of <sheetData>. Then an element whose *local* name is
# "row" sets the current row from its r="..." (if it has one), and its end adds one to the
# current row and sets the current column to 0. An element whose local name is "c" is a cell:
# at its r="..." (the last one, if there are several), or else at the current row and column;
# either way the current column becomes the cell's column + 1. What is inside a cell is its
# value. When every cell is read, calamine allocates the whole rectangle up to the furthest
# cell, and that is what is measured here.
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
# The exact path's tokens: a comment, CDATA section or processing instruction (skipped, as
# quick-xml does); a tag, "/" (end tag), prefix, local name, attributes (quoted values may
# hold ">"); or a lone "<" (a token cut by the end of a chunk, or a damaged file).
_X_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|<(/?)(?![!?])(?:([^ \t\r\n/>:\"']*):)?([^ \t\r\n/>\"']*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
    rb"|<",
    re.DOTALL,
)
_X_ATTR = re.compile(rb"""[ \t\r\n]+([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""")
# A whole row of cells without references and with plain values, as the exporters that leave
# r="..." out of cells write it: the exact path takes it in one step (ten times faster than
# token by token, and the same: each cell one column further, the row ending at </row>).
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


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n - 1


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

    def __init__(self, name: str, reopen: Callable[[], Iterable[bytes]]) -> None:
        self.name = name
        self.reopen = reopen
        self.started = False  # the bytes "sheetData" have been seen
        self.fits = True  # path 1 holds so far
        self.envelope: re.Pattern[bytes] | None = None
        self.tail = b""
        self.max_row = 0  # 1-based; measured by paths 2 and 3 only
        self.max_col = -1  # 0-based

    # -- path 1 --------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if not self.fits:
            return  # measured again from the start by close()
        if not self.started:
            data = self.tail + chunk
            start = data.find(_X_START)
            if start < 0:
                self.tail = data[-len(_X_START) + 1 :]
                return
            self.started, self.tail, chunk = True, b"", data[start:]
        stretches, self.tail = _whole_tags(self.tail, chunk)
        for data, start, end in stretches:
            self._check(data, start, end, stretches[-1])

    def _check(self, data: bytes, start: int, end: int, sample: tuple[bytes, int, int]) -> None:
        if not self.fits:
            return
        if self.envelope is None:  # sized on the last references of the first chunk
            text, first, last = sample
            refs = _X_TAIL_REFS.findall(text, max(first, last - 4096), last)
            col = max((_col_index(letters) for letters, _ in refs), default=0)
            row = max((int(digits) for _, digits in refs), default=0)
            self.envelope = _xlsx_envelope(col, row)
        if self.envelope is None or self.envelope.search(data, start, end) or _prefixed(data, start, end):
            self.fits, self.tail = False, b""

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
            self._cell(int(digits) - 1, _col_index(letters))
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
            self._cell(int(digits) - 1, _col_index(letters))
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
        self.x_started = self.x_done = self.in_cell = False
        self.stack: list[tuple[bytes | None, bytes]] = []
        self.row = self.col = 0  # calamine's current row and column (0-based)
        tail = b""
        for chunk in self.reopen():
            data = tail + chunk if tail else chunk
            tail = data[self._tokens(data) :]
            if len(tail) > 16 * _MB:
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
        if count:
            self._cell(self.row, self.col + count - 1)  # the furthest of them
        self.row += 1
        self.col = 0

    def _r(self, attrs: bytes, empty: bool) -> bytes | None:
        """The value of the attribute r (no prefix), as quick-xml splits the attributes."""
        if empty:
            attrs = attrs[:-1]
        found = None
        pos = 0
        for m in _X_ATTR.finditer(attrs):
            if m.start() != pos:
                break
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
            raise UnsafeFileError(
                "The sheet is too big to open",
                "A cell lies beyond the last column or row Excel has. " + _RESAVE,
                f"{self.name}: cell reference {value[:20]!r}",
            )
        if not int(digits):
            self._damaged(f"cell reference {value[:20]!r}")
        return int(digits) - 1, (_col_index(letters) if letters else 0)


# ods: rows and cells may be "repeated" N times; the reader expands every repeat except the
# empty ones at the end of a row or a table (which LibreOffice writes by the million).
_O_TOKEN = re.compile(
    rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
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
        self.cell_open = False

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
        for m in _O_TOKEN.finditer(data):
            closing, tag, attrs, empty = m.groups()
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

    def _end_row(self) -> None:
        if self.row_width:
            self.rows_total += self.rows_pending + self.row_rep
            self.rows_pending = 0
            self.width = max(self.width, self.row_width)
            _check_area(self.rows_total, max(self.width, 1), "content.xml")
        else:
            self.rows_pending += self.row_rep
        self.row_rep = 1
        self.row_cols = 0
        self.row_width = 0


# xlsb: binary records; rows come from BrtRowHdr, columns from each cell record.
class _XlsbSheetScan(_Scanner):
    def __init__(self, name: str) -> None:
        self.name = name
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


class _Cfb:
    """A minimal, bounded reader of the OLE2 compound file format (MS-CFB)."""

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
            fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < _FREESECT - 1]
            difat = first_difat
            per = self.ssz // 4 - 1
            for _ in range(min(n_difat, self.n_sectors + 1)):
                if difat >= self.n_sectors:
                    break
                entries = struct.unpack_from(f"<{per + 1}I", data, self._off(difat))
                fat_sectors.extend(s for s in entries[:per] if s < _FREESECT - 1)
                difat = entries[per]
            fat: list[int] = []
            for s in fat_sectors[: n_fat or len(fat_sectors)]:
                if s >= self.n_sectors:
                    raise CorruptFileError(details="OLE2 FAT sector out of range")
                fat.extend(struct.unpack_from(f"<{self.ssz // 4}I", data, self._off(s)))
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


# -- xlsx: texts to check ahead -------------------------------------------------------------
#: The text of a <t> element (in shared strings or an inline string) that holds an "@".
_X_TEXT_AT = re.compile(rb"<t(?:[ \t\r\n][^>]*)?>([^<@]*@[^<]*)</t>")
#: Below this many unpacked bytes of strings and sheets, the parse is over before any
#: checking ahead could pay for itself.
_AHEAD_MIN_BYTES = 1 * _MB


def _texts_ahead(data: bytes) -> Iterator[list[str]]:
    """The texts with an "@" in the shared strings, then in the worksheets of an xlsx, in
    blocks of at most _AHEAD_BLOCK: very likely the email column's cells, as calamine will give
    them. Only a guess (rich text and Excel's _xHHHH_ escapes come out otherwise, and a text
    cut by a chunk's end is missed): it is used to check texts ahead, never as a cell's
    value. The file has passed _check_zip."""
    def order(info: zipfile.ZipInfo) -> int | None:
        name = info.filename.lower()
        if name.endswith("sharedstrings.xml"):
            return 0
        return 1 if name.startswith("xl/worksheets/") and name.endswith(".xml") else None

    zf = zipfile.ZipFile(io.BytesIO(data))
    parts = sorted((i for i in zf.infolist() if order(i) is not None),
                   key=lambda i: (order(i), i.filename))
    if sum(i.file_size for i in parts) < _AHEAD_MIN_BYTES:
        return
    for info in parts:
        for text, end in _stretches(zf, info, b"<t"):
            yield from _blocks([_xml_text(raw) for raw in _X_TEXT_AT.findall(text, 0, end)])


def _stretches(zf: zipfile.ZipFile, info: zipfile.ZipInfo, start: bytes) -> Iterator[tuple[bytes, int]]:
    """The part's content as (text, end) stretches, each cut before the last ``start`` in it
    (an element that may run on into the next chunk waits for it, unless it is too long)."""
    tail = b""
    for chunk in _chunks(zf, info):
        text = tail + chunk if tail else chunk
        cut = text.rfind(start)
        if cut < 0 or len(text) - cut > 65536:
            cut = len(text)
        tail = text[cut:]
        yield text, cut
    yield tail, len(tail)


#: Texts per block handed over: the parse's end waits for the block in progress, and texts
#: off the fast path take up to ~50 µs each to check.
_AHEAD_BLOCK = 500


def _blocks(texts: list[str]) -> Iterator[list[str]]:
    for at in range(0, len(texts), _AHEAD_BLOCK):
        yield texts[at : at + _AHEAD_BLOCK]


_X_WB_SHEET = re.compile(rb"<(?:[A-Za-z0-9_]+:)?sheet\b([^>]*)>")
_X_REL = re.compile(rb"<(?:[A-Za-z0-9_]+:)?Relationship\b([^>]*)>")
_X_NAME = re.compile(rb'\sname="([^"]*)"')
_X_RID = re.compile(rb'\s[A-Za-z0-9_]+:id="([^"]*)"')
_X_ID = re.compile(rb'\sId="([^"]*)"')
_X_TARGET = re.compile(rb'\sTarget="([^"]*)"')
_X_SI = re.compile(rb"<si>(?:<t((?:[ \t\r\n][^>]*)?)>([^<]*)</t>|.*?)</si>", re.DOTALL)
_XML_SPACE = " \t\r\n"  # what calamine trims from a text without xml:space="preserve"
#: The reference of a cell whose value holds an "@", for choosing the column to forecast.
_X_AT_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})[0-9]{1,7}"([^>]*)>(?:<is><t(?:[ \t\r\n][^>]*)?>([^<]*)</t>|<v>([0-9]+)</v>)'
)
_X_TYPE = re.compile(rb'\st="([^"]*)"')


def _sheet_part(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """The part holding sheet ``name``, from the workbook and its relationships."""
    try:
        book = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    rid = None
    for attrs in _X_WB_SHEET.findall(book):
        m, r = _X_NAME.search(attrs), _X_RID.search(attrs)
        if m and r and html.unescape(m.group(1).decode("utf-8", "replace")) == name:
            rid = r.group(1)
            break
    for attrs in _X_REL.findall(rels):
        i, t = _X_ID.search(attrs), _X_TARGET.search(attrs)
        if rid is not None and i and t and i.group(1) == rid:
            target = t.group(1).decode("utf-8", "replace")
            target = target[1:] if target.startswith("/") else "xl/" + target
            try:
                return zf.getinfo(target)
            except KeyError:
                return None
    return None


def _forecast(data: bytes | None, name: str, stopped: Callable[[], bool]) -> Forecast | None:
    """A :data:`Forecast` of the column of sheet ``name`` that holds the most texts with an
    "@": None if there is none, if any of its cells is not plain text, or if ``stopped()``
    turns true first. Everything is done in bulk (C loops), never cell by cell."""
    if data is None:
        return None
    zf = zipfile.ZipFile(io.BytesIO(data))
    part = _sheet_part(zf, name)
    if part is None:
        return None
    shared: list[str | None] = []
    for info in zf.infolist():
        if info.filename.lower().endswith("sharedstrings.xml"):
            raw = b"".join(_chunks(zf, info))
            shared = [
                None if m.group(2) is None
                else _xml_text(m.group(2)) if b"preserve" in m.group(1)
                else _xml_text(m.group(2)).strip(_XML_SPACE)
                for m in _X_SI.finditer(raw)
            ]
            break
    pattern: re.Pattern[bytes] | None = None
    letters = b""
    cells: list[tuple[bytes, bytes, bytes, bytes, bytes, bytes]] = []
    for text, cut in _stretches(zf, part, b"<c "):
        if stopped():
            return None
        if pattern is None:
            letters = _forecast_column(text, cut, shared)
            if not letters:
                return None
            pattern = re.compile(
                rb'<c r="' + letters + rb'([0-9]{1,7})"((?: [a-z]{1,3}="[^"]*+")*+) ?(?:/>|>'
                rb'(?:<is><t( xml:space="preserve")?>([^<]*+)</t></is>|<v>([0-9]*+)</v>'
                rb"|(.*?))</c>)",
                re.DOTALL,
            )
        cells += pattern.findall(text, 0, cut)
    if not cells or any(map(itemgetter(5), cells)):
        return None  # no cell, or one that is not a plain text
    rows = list(map(int, map(itemgetter(0), cells)))
    if not all(map(lt, rows, rows[1:])):
        return None  # rows out of order
    # Each cell's text: inline strings as written; shared strings by their index.
    kinds = {a: (m.group(1) if (m := _X_TYPE.search(a)) else b"n") for a in set(map(itemgetter(1), cells))}
    if any(k not in (b"inlineStr", b"s") for k in kinds.values()) and any(
        v for a, v in zip(map(itemgetter(1), cells), map(itemgetter(4), cells), strict=True)
        if kinds[a] not in (b"inlineStr", b"s")
    ):
        return None  # a number, a date or a formula's result
    inline = list(map(itemgetter(3), cells))
    joined = b"\n".join(inline)
    if joined.count(b"\n") != len(inline) - 1:
        return None
    try:
        texts: list[str | None] = joined.decode("utf-8").split("\n")  # type: ignore[assignment]
    except UnicodeDecodeError:
        return None
    if b"&" in joined:
        texts = [html.unescape(t) if t and "&" in t else t for t in texts]
    texts = [t if kept else t.strip(_XML_SPACE)  # type: ignore[union-attr]
             for t, kept in zip(texts, map(itemgetter(2), cells), strict=True)]
    if b"s" in kinds.values():
        for i in [i for i, a in enumerate(map(itemgetter(1), cells)) if kinds[a] == b"s"]:
            index = cells[i][4]
            texts[i] = shared[int(index)] if index and int(index) < len(shared) else None
        if None in texts:
            return None
    first = rows[0]
    column = [""] * (rows[-1] - first + 1)
    for at, text in zip(map(sub, rows, repeat(first)), texts, strict=True):
        column[at] = text  # type: ignore[call-overload]  # (no None left: checked above)
    return _col_index(letters), first, column


def _forecast_column(text: bytes, end: int, shared: list[str | None]) -> bytes:
    """The letters of the column holding the most "@" texts in ``text[:end]`` (b"" if none)."""
    votes: dict[bytes, int] = {}
    for letters, attrs, inline, index in _X_AT_CELL.findall(text, 0, end):
        if b"@" in inline or (index and b't="s"' in attrs and int(index) < len(shared)
                              and "@" in (shared[int(index)] or "")):
            votes[letters] = votes.get(letters, 0) + 1
    return max(votes, key=votes.__getitem__) if votes else b""


def _processors() -> int:
    """How many processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _xml_text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return html.unescape(text) if "&" in text else text


# -- calamine -----------------------------------------------------------------------------
class _CalamineBook(Workbook):
    def __init__(self, data: bytes, fmt: Format) -> None:
        import python_calamine as pc

        self.format = fmt
        self._pc = pc
        self._sheets: dict[str, Any] = {}
        # The texts to check ahead while calamine parses (xlsx and xlsm: see _texts_ahead),
        # on a second processor: with one only, that work would hold up the parse.
        self._ahead: Iterator[list[str]] | None = (
            _texts_ahead(data) if fmt in (Format.XLSX, Format.XLSM) and _processors() > 1 else None
        )
        self._data: bytes | None = data if self._ahead is not None else None
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

    def _sheet(
        self, name: str, meanwhile: Meanwhile | None = None, foresee: Foresee | None = None
    ) -> Any:
        sheet = self._sheets.get(name)
        if sheet is None:
            try:
                if meanwhile is not None and self._ahead is not None:
                    sheet = self._parse_meanwhile(name, meanwhile, foresee)
                else:
                    sheet = self._wb.get_sheet_by_name(name)
            except BaseException as exc:
                raise self._map_error(exc) from exc
            self._sheets[name] = sheet
        return sheet

    def _parse_meanwhile(self, name: str, meanwhile: Meanwhile, foresee: Foresee | None = None) -> Any:
        """Parse sheet ``name`` (calamine parses without the interpreter lock) while a helper
        thread hands ``foresee`` a forecast and ``meanwhile`` the file's texts with an "@"
        (see :meth:`Workbook.grid`), until the parse is done.

        The parse itself stays on this thread: on another one, the C library's allocator
        gives it an arena of its own, and the fresh pages cost some 5,000 more page faults
        per 100,000-row import. The texts come from one iterator for the whole book: a
        second sheet's parse carries on where the first one stopped, and no block is handed
        over twice."""
        done = threading.Event()

        texts = self._ahead
        assert texts is not None

        def ahead() -> None:
            try:
                # First the forecast (which, when it holds, spares the caller the most), then
                # the texts, for whatever the forecast does not cover.
                forecast = None if foresee is None else _forecast(self._data, name, done.is_set)
                if forecast is not None and not done.is_set() and foresee(forecast, done.is_set):
                    return  # worked out: the texts are not needed for this sheet
                while not done.is_set():
                    block = next(texts, None)
                    if block is None:
                        self._ahead = None  # every text seen
                        return
                    if done.is_set():  # the parse ended meanwhile: the block waits for the next
                        self._ahead = chain((block,), texts)
                        return
                    meanwhile(block)
            except Exception:  # a bug, but the import does not need this work: say so, go on
                self._ahead = None
                log.exception("Checking the texts ahead failed; they will be checked as usual")

        helper = threading.Thread(target=ahead, name="ccdesk-check-ahead", daemon=True)
        helper.start()
        try:
            return self._wb.get_sheet_by_name(name)
        finally:
            done.set()
            helper.join()  # at most one step of the work ahead (see Workbook.grid)

    def grid(
        self, name: str, max_rows: int | None = None, *, meanwhile: Meanwhile | None = None,
        foresee: Foresee | None = None,
    ) -> Grid:
        sheet = self._sheet(name, meanwhile, foresee)
        if max_rows is None and meanwhile is not None:
            self._ahead = self._data = None  # the sheet is read: no more checking ahead
        try:
            start = sheet.start
            if start is None:
                return Grid([], 1, 0)
            if max_rows is None:
                if sheet.height > MAX_ROWS:
                    _check_area(sheet.height, 1, name)
                # In slices, not to_python(): one call building 100,000 rows keeps the
                # interpreter lock for ~100 ms and a window on another thread would freeze.
                # (iter_rows() starts at row 1, padding with empty rows, but at the first
                # column; to_python is the reference if a version behaves otherwise.)
                rows, it = [], islice(sheet.iter_rows(), start[0], None)
                while chunk := list(islice(it, 4096)):
                    rows += chunk
                if len(rows) != sheet.height or (rows and len(rows[0]) != sheet.width):
                    rows = sheet.to_python(skip_empty_area=True)
            else:
                rows = sheet.to_python(skip_empty_area=True, nrows=max_rows)
        except SheetError:
            raise
        except BaseException as exc:
            raise self._map_error(exc) from exc
        return Grid(rows, start[0] + 1, start[1])

    def close(self) -> None:
        self._sheets.clear()
        self._ahead = self._data = None
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

    def grid(
        self, name: str, max_rows: int | None = None, *, meanwhile: Meanwhile | None = None,
        foresee: Foresee | None = None,
    ) -> Grid:
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
_O_FORMULA_CELL = re.compile(
    rb"<table:table-cell\b([^<>]*\btable:formula=[^<>]*)>([ \t\r\n]*</table:table-cell>)?"
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
