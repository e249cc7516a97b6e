"""Spreadsheet fixtures, generated on the fly (no binary files are committed).

Every writer takes ``rows``: a list of rows, each a list of cell values (``None`` or ``""``
for an empty cell; str, int, float). Row ``i`` of the list is Excel row ``i + 1`` and cell
``j`` is column ``j`` (A = 0), so title rows, blank rows and empty leading columns are written
exactly where they are given.

How each format is made:

* xlsx (and xlsm): openpyxl; xlsm adds a ``vbaProject.bin`` part and the macro content type.
* csv / tsv / txt: the ``csv`` module, in any encoding, with or without a byte-order mark.
* ods: a minimal OpenDocument spreadsheet written with ``zipfile`` (optionally with the
  million-row "repeated" tail LibreOffice writes).
* xls: BIFF8 records in an OLE2 compound file, written here (optionally with the FILEPASS
  record of a password-protected workbook).
* xlsb: the binary records of MS-XLSB in a zip, written here.
* an encrypted (password-protected) xlsx: an OLE2 compound file holding ``EncryptionInfo``
  and ``EncryptedPackage`` streams, as Excel writes it (the payload is random bytes).

The compound-file and BIFF/XLSB writers cover only what these tests need; calamine (and
LibreOffice) read their output.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

Rows = Sequence[Sequence[Any]]
Sheets = Mapping[str, Rows]

_PKG_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"


def _types(*overrides: tuple[str, str]) -> str:
    parts = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG_CT}">'
        f'<Default Extension="rels" ContentType="{_RELS_CT}"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{parts}</Types>'
    )


def _rels(*targets: tuple[str, str, str]) -> str:
    parts = "".join(
        f'<Relationship Id="{i}" Type="{_DOC_RELS}/{kind}" Target="{target}"/>'
        for i, kind, target in targets
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_RELS}">{parts}</Relationships>'


def _empty(v: Any) -> bool:
    return v is None or v == ""


# -- xlsx / xlsm -----------------------------------------------------------------------------
def write_xlsx(path: Path, sheets: Sheets | Rows, *, hidden: Sequence[str] = ()) -> Path:
    """An xlsx written by openpyxl; ``sheets`` maps names to rows (or is the rows of one)."""
    import openpyxl

    if not isinstance(sheets, Mapping):
        sheets = {"Sheet1": sheets}
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        if name in hidden:
            ws.sheet_state = "hidden"
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row, start=1):
                if not _empty(v):
                    ws.cell(row=i, column=j, value=v)
    wb.save(path)
    return path


def write_xlsm(path: Path, sheets: Sheets | Rows) -> Path:
    """An xlsx turned into a macro-enabled workbook (content type + a vbaProject part)."""
    tmp = path.with_suffix(".tmp.xlsx")
    write_xlsx(tmp, sheets)
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
            dst.writestr(info.filename, data)
        dst.writestr("xl/vbaProject.bin", b"\0" * 512)
    tmp.unlink()
    return path


def write_xlsx_raw(path: Path, sheet_xml: str | bytes, *, shared_strings: Sequence[str] = ()) -> Path:
    """An xlsx whose worksheet XML is given verbatim (for hand-made or hostile sheets)."""
    if isinstance(sheet_xml, str):
        sheet_xml = sheet_xml.encode()
    ct = _types(
        ("/xl/workbook.xml", f"{_SML}.sheet.main+xml"),
        ("/xl/worksheets/sheet1.xml", f"{_SML}.worksheet+xml"),
    )
    rels = _rels(("rId1", "officeDocument", "xl/workbook.xml"))
    wb = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    wb_rels = _rels(("rId1", "worksheet", "worksheets/sheet1.xml"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings:
            items = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared_strings)
            z.writestr(
                "xl/sharedStrings.xml",
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f"{items}</sst>",
            )
    return path


def sheet_xml(cells: str, prefix: str = "") -> str:
    """A worksheet XML document around ``cells`` (rows of <c> elements)."""
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns{':' + prefix if prefix else ''}"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {ns}='
        f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><{p}sheetData>'
        f"{cells}</{p}sheetData></{p}worksheet>"
    )


# -- csv -------------------------------------------------------------------------------------
def write_csv(
    path: Path,
    rows: Rows,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\r\n",
    bom: bool = False,
) -> Path:
    """A CSV file; ``encoding="utf-16"`` writes a byte-order mark by itself."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    data = buf.getvalue().encode(encoding)
    if bom and encoding.replace("-", "").lower() == "utf8":
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


# -- ods -------------------------------------------------------------------------------------
_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
)


def _ods_cell(v: Any) -> str:
    if _empty(v):
        return "<table:table-cell/>"
    if isinstance(v, bool):
        return f'<table:table-cell office:value-type="boolean" office:boolean-value="{str(v).lower()}"/>'
    if isinstance(v, int | float):
        return (f'<table:table-cell office:value-type="float" office:value="{v}">'
                f"<text:p>{v}</text:p></table:table-cell>")
    lines = "".join(f"<text:p>{escape(part)}</text:p>" for part in str(v).split("\n"))
    return f'<table:table-cell office:value-type="string">{lines}</table:table-cell>'


def ods_content(sheets: Sheets, *, hidden: Sequence[str] = (), libreoffice_tail: bool = True,
                raw_rows: Mapping[str, str] | None = None) -> str:
    """content.xml of an ODS file (``raw_rows`` replaces a sheet's rows with given XML)."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
        '<office:automatic-styles><style:style style:name="taHidden" style:family="table">'
        '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
        "<office:body><office:spreadsheet>"
    ]
    for name, rows in sheets.items():
        style = ' table:style-name="taHidden"' if name in hidden else ""
        parts.append(f"<table:table table:name={quoteattr(name)}{style}>")
        parts.append('<table:table-column table:number-columns-repeated="1024"/>')
        if raw_rows and name in raw_rows:
            parts.append(raw_rows[name])
        else:
            for row in rows:
                cells = "".join(_ods_cell(v) for v in row)
                if libreoffice_tail:
                    cells += f'<table:table-cell table:number-columns-repeated="{1024 - len(row)}"/>'
                parts.append(f"<table:table-row>{cells or '<table:table-cell/>'}</table:table-row>")
            if libreoffice_tail:
                parts.append(
                    f'<table:table-row table:number-rows-repeated="{1048576 - len(rows)}">'
                    '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
                )
        parts.append("</table:table>")
    parts.append("</office:spreadsheet></office:body></office:document-content>")
    return "".join(parts)


def write_ods(path: Path, sheets: Sheets | Rows, *, hidden: Sequence[str] = (),
              libreoffice_tail: bool = True, raw_rows: Mapping[str, str] | None = None) -> Path:
    """A minimal OpenDocument spreadsheet."""
    if not isinstance(sheets, Mapping):
        sheets = {"Sheet1": sheets}
    ns = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
    mime = "application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="{ns}" '
        f'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        z.writestr(
            "content.xml",
            ods_content(sheets, hidden=hidden, libreoffice_tail=libreoffice_tail, raw_rows=raw_rows),
            zipfile.ZIP_DEFLATED,
        )
    return path


# -- OLE2 compound file ---------------------------------------------------------------------
_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF


def compound_file(streams: Mapping[str, bytes]) -> bytes:
    """An OLE2 compound file (version 3, 512-byte sectors) holding ``streams`` at its root.

    Every stream is padded to at least 4,096 bytes so that none lives in the mini stream.
    """
    ss = 512
    sectors: list[bytes] = []
    fat: list[int] = []
    entries: list[tuple[str, int, int]] = []
    for name, data in streams.items():
        padded = data + b"\0" * (max(4096, -(-len(data) // ss) * ss) - len(data))
        count = len(padded) // ss
        start = len(sectors)
        for k in range(count):
            sectors.append(padded[k * ss : (k + 1) * ss])
            fat.append(start + k + 1 if k < count - 1 else _END)
        entries.append((name, start, len(padded)))

    def entry(name: str, kind: int, start: int, size: int, child: int, right: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", _NOSTREAM, right, child)
            + b"\0" * 16  # CLSID
            + b"\0" * 4  # state bits
            + b"\0" * 16  # creation and modification times
            + struct.pack("<IQ", start, size)
        )

    dir_entries = [entry("Root Entry", 5, _END, 0, 1 if entries else _NOSTREAM, _NOSTREAM)]
    for i, (name, start, size) in enumerate(entries, start=1):
        right = i + 1 if i < len(entries) else _NOSTREAM
        dir_entries.append(entry(name, 2, start, size, _NOSTREAM, right))
    while len(dir_entries) % 4:
        unused = struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", _NOSTREAM, _NOSTREAM, _NOSTREAM)
        dir_entries.append(b"\0" * 64 + unused + b"\0" * 48)
    dir_start = len(sectors)
    dir_blob = b"".join(dir_entries)
    n_dir = len(dir_blob) // ss
    for k in range(n_dir):
        sectors.append(dir_blob[k * ss : (k + 1) * ss])
        fat.append(dir_start + k + 1 if k < n_dir - 1 else _END)
    n_fat = 1
    while len(sectors) + n_fat > n_fat * (ss // 4):
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound_file: too big for this simple writer")
    fat_start = len(sectors)
    fat.extend([_FATSECT] * n_fat)
    fat.extend([_FREE] * (n_fat * (ss // 4) - len(fat)))
    fat_blob = struct.pack(f"<{len(fat)}I", *fat)
    for k in range(n_fat):
        sectors.append(fat_blob[k * ss : (k + 1) * ss])
    difat = [fat_start + k for k in range(n_fat)] + [_FREE] * (109 - n_fat)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x003E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == 512
    return header + b"".join(sectors)


def write_encrypted_xlsx(path: Path) -> Path:
    """What Excel writes for "Encrypt with Password": an OLE2 file, not a zip."""
    info = struct.pack("<HHI", 4, 4, 0x40) + os.urandom(200)  # agile encryption, version 4.4
    package = struct.pack("<Q", 5000) + os.urandom(5008)
    path.write_bytes(compound_file({"EncryptionInfo": info, "EncryptedPackage": package}))
    return path


# -- xls (BIFF8) -----------------------------------------------------------------------------
def _rec(typ: int, data: bytes) -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def _sst_records(strings: list[str]) -> bytes:
    total = len(strings)
    chunks: list[bytearray] = [bytearray(struct.pack("<II", total, total))]
    for s in strings:
        item = struct.pack("<HB", len(s), 1) + s.encode("utf-16-le")
        if len(chunks[-1]) + len(item) > 8224:
            chunks.append(bytearray())
        chunks[-1] += item
    out = _rec(0x00FC, bytes(chunks[0]))
    for c in chunks[1:]:
        out += _rec(0x003C, bytes(c))
    return out


def xls_workbook_stream(sheets: Sheets, *, password: bool = False,
                        extra_sheet_records: Mapping[str, bytes] | None = None) -> bytes:
    """The BIFF8 ``Workbook`` stream of an xls file."""
    strings: list[str] = []
    index: dict[str, int] = {}
    for rows in sheets.values():
        for row in rows:
            for v in row:
                if isinstance(v, str) and v and v not in index:
                    index[v] = len(strings)
                    strings.append(v)
    bof_globals = _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    body = bof_globals
    if password:
        body += _rec(0x002F, struct.pack("<HHH", 1, 1, 1) + b"\0" * 48)  # RC4 FILEPASS
    body += _rec(0x0042, struct.pack("<H", 1200))
    boundsheet_at: list[int] = []
    for name in sheets:
        boundsheet_at.append(len(body) + 4)
        encoded = name.encode("utf-16-le")
        body += _rec(0x0085, struct.pack("<IBBBB", 0, 0, 0, len(name), 1) + encoded)
    body += _sst_records(strings) + _rec(0x000A, b"")
    stream = bytearray(body)
    for k, (name, rows) in enumerate(sheets.items()):
        struct.pack_into("<I", stream, boundsheet_at[k], len(stream))
        width = max((len(r) for r in rows), default=0)
        sheet = _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
        sheet += _rec(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if _empty(v):
                    continue
                if isinstance(v, bool):
                    sheet += _rec(0x0205, struct.pack("<HHHBB", i, j, 15, int(v), 0))
                elif isinstance(v, int | float):
                    sheet += _rec(0x0203, struct.pack("<HHHd", i, j, 15, float(v)))
                else:
                    sheet += _rec(0x00FD, struct.pack("<HHHI", i, j, 15, index[str(v)]))
        if extra_sheet_records and name in extra_sheet_records:
            sheet += extra_sheet_records[name]
        sheet += _rec(0x000A, b"")
        stream += sheet
    return bytes(stream)


def write_xls(path: Path, sheets: Sheets | Rows, *, password: bool = False,
              extra_sheet_records: Mapping[str, bytes] | None = None) -> Path:
    """A legacy Excel 97-2003 workbook (BIFF8 in an OLE2 compound file)."""
    if not isinstance(sheets, Mapping):
        sheets = {"Sheet1": sheets}
    stream = xls_workbook_stream(sheets, password=password, extra_sheet_records=extra_sheet_records)
    path.write_bytes(compound_file({"Workbook": stream}))
    return path


def xls_record(typ: int, data: bytes) -> bytes:
    """One BIFF record (for hand-made hostile sheets)."""
    return _rec(typ, data)


# -- xlsb ------------------------------------------------------------------------------------
def xlsb_record(typ: int, data: bytes = b"") -> bytes:
    """One MS-XLSB record: type and size as 7-bit variable-length numbers, then the data."""
    head = bytearray()
    if typ < 0x80:
        head.append(typ)
    else:
        head += bytes([(typ & 0x7F) | 0x80, typ >> 7])
    size = len(data)
    while True:
        b = size & 0x7F
        size >>= 7
        head.append(b | (0x80 if size else 0))
        if not size:
            break
    return bytes(head) + data


def _wide(s: str) -> bytes:
    return struct.pack("<I", len(s)) + s.encode("utf-16-le")


def xlsb_sheet(rows: Rows, *, extra: bytes = b"") -> bytes:
    """The binary worksheet part of an xlsb file."""
    width = max((len(r) for r in rows), default=1)
    out = xlsb_record(0x0081)
    out += xlsb_record(0x0094, struct.pack("<IIII", 0, max(len(rows) - 1, 0), 0, max(width - 1, 0)))
    out += xlsb_record(0x0091)
    for i, row in enumerate(rows):
        out += xlsb_record(0x0000, struct.pack("<I", i) + b"\0" * 13)
        for j, v in enumerate(row):
            if _empty(v):
                continue
            if isinstance(v, int | float) and not isinstance(v, bool):
                out += xlsb_record(0x0005, struct.pack("<IId", j, 0, float(v)))
            else:
                out += xlsb_record(0x0006, struct.pack("<II", j, 0) + _wide(str(v)))
    out += extra
    out += xlsb_record(0x0092) + xlsb_record(0x0082)
    return out


def write_xlsb(path: Path, sheets: Sheets | Rows, *, raw_sheets: Mapping[str, bytes] | None = None) -> Path:
    """An Excel binary workbook (xlsb)."""
    if not isinstance(sheets, Mapping):
        sheets = {"Sheet1": sheets}
    names = list(sheets)
    ct = _types(
        ("/xl/workbook.bin", "application/vnd.ms-excel.sheet.binary.macroEnabled.main"),
        *((f"/xl/worksheets/sheet{k}.bin", "application/vnd.ms-excel.worksheet")
          for k in range(1, len(names) + 1)),
    )
    rels = _rels(("rId1", "officeDocument", "xl/workbook.bin"))
    wb_rels = _rels(*((f"rId{k}", "worksheet", f"worksheets/sheet{k}.bin") for k in range(1, len(names) + 1)))
    wb = xlsb_record(0x0083) + xlsb_record(0x008F)
    for k, name in enumerate(names, start=1):
        wb += xlsb_record(0x009C, struct.pack("<II", 0, k) + _wide(f"rId{k}") + _wide(name))
    wb += xlsb_record(0x0090) + xlsb_record(0x0084)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.bin", wb)
        z.writestr("xl/_rels/workbook.bin.rels", wb_rels)
        for k, (name, rows) in enumerate(sheets.items(), start=1):
            data = raw_sheets[name] if raw_sheets and name in raw_sheets else xlsb_sheet(rows)
            z.writestr(f"xl/worksheets/sheet{k}.bin", data)
    return path


# -- one table, every format -----------------------------------------------------------------
FORMATS = ("xlsx", "xlsm", "xls", "xlsb", "ods", "csv")


def write_any(path: Path, fmt: str, sheets: Sheets | Rows) -> Path:
    """``sheets`` written as ``fmt`` (csv keeps only the first sheet)."""
    if fmt == "xlsx":
        return write_xlsx(path, sheets)
    if fmt == "xlsm":
        return write_xlsm(path, sheets)
    if fmt == "xls":
        return write_xls(path, sheets)
    if fmt == "xlsb":
        return write_xlsb(path, sheets)
    if fmt == "ods":
        return write_ods(path, sheets)
    if fmt == "csv":
        rows = next(iter(sheets.values())) if isinstance(sheets, Mapping) else sheets
        return write_csv(path, rows)
    raise ValueError(fmt)
