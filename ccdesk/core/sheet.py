"""Read a spreadsheet of members: file → :class:`MemberSheet`, one record per data row.

``read_sheet(path, ImportOptions(...))`` opens the file safely (:mod:`ccdesk.core.formats`),
chooses the sheet, finds the heading row and the email column (or takes the user's choice),
applies the optional filter, and gives every data row exactly one outcome:

* ``valid``: the cleaned, normalised (lower-case) address;
* ``invalid``: with a reason in plain words;
* ``duplicate``: the same address as an earlier row (``duplicate_of`` is that row);
* ``blank``: no address in the row;
* ``filtered_out``: the row does not match the filter (e.g. Membership is not Sustainer).

Row numbers are the numbers Excel shows: 1-based, counting title and blank rows above the
headings exactly as they are in the file. For a CSV file, the number a spreadsheet program
shows when it opens the file (a quoted cell holding a line break is still one row).

Everything here is plain data (JSON-friendly); nothing imports Qt.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, repeat
from operator import is_, ne
from pathlib import Path
from typing import Any, NamedTuple, overload

from ccdesk.core.addresses import Outcome, cell_text, check_cell, fast_address, looks_like_address
from ccdesk.core.formats import (
    MAX_CELLS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    Format,
    FormulasWithoutResultsError,
    Grid,
    Workbook,
    column_index,
    column_letter,
    has_formulas_without_results,
    open_workbook,
    read_file_bytes,
)
from ccdesk.errors import SheetError

__all__ = [
    "HEADER_SCAN_ROWS",
    "MAX_CELLS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "PREVIEW_ROWS",
    "ImportOptions",
    "MemberSheet",
    "NoEmailColumnError",
    "Outcome",
    "PreviewRow",
    "SheetChoices",
    "SheetOptionError",
    "SheetRow",
    "SheetRows",
    "parse_filter",
    "read_sheet",
]

#: How many rows from the top are searched for the heading row.
HEADER_SCAN_ROWS = 30
#: How many rows of the raw sheet a MemberSheet keeps for display.
PREVIEW_ROWS = 20
#: How many rows are read from each sheet to decide which one holds the addresses.
PROBE_ROWS = 250

Progress = Callable[[str, float], None]


class NoEmailColumnError(SheetError):
    """No column of the sheet holds email addresses."""

    title = "No email column found"
    what_to_do = (
        "Make sure one column has a heading such as “Email” or holds the addresses, or choose "
        "the sheet, the heading row and the email column yourself."
    )


class SheetOptionError(SheetError):
    """A sheet, row or column chosen by the user does not exist."""

    title = "That choice does not match the spreadsheet"


# -- options -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read the sheet; every field left empty means "find it automatically".

    Attributes:
        sheet: the sheet's name (case does not matter).
        header_row: the Excel number of the heading row; 0 means "the sheet has no headings".
        column: the email column's heading (case and spaces do not matter) or its letter.
        filter_column: keep only rows whose cell in this column ...
        filter_values: ... is one of these (case and spaces do not matter).
    """

    sheet: str | None = None
    header_row: int | None = None
    column: str | None = None
    filter_column: str | None = None
    filter_values: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "column": self.column,
            "filter_column": self.filter_column,
            "filter_values": list(self.filter_values),
        }


def parse_filter(text: str) -> tuple[str, tuple[str, ...]]:
    """``"Membership=Sustainer,Gold"`` → ``("Membership", ("Sustainer", "Gold"))``."""
    col, sep, values = text.partition("=")
    vals = tuple(v.strip() for v in values.split(",") if v.strip())
    if not sep or not col.strip() or not vals:
        raise SheetOptionError(
            "The filter is not understood",
            "Write it as COLUMN=VALUE or COLUMN=VALUE1,VALUE2, for example Membership=Sustainer.",
        )
    return col.strip(), vals


# -- results -------------------------------------------------------------------------------
class SheetRow(NamedTuple):
    """One data row: its Excel number, the cell as written, and ccdesk's verdict."""

    row: int
    value: str
    email: str | None
    outcome: Outcome
    reason: str = ""
    duplicate_of: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "value": self.value,
            "email": self.email,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "duplicate_of": self.duplicate_of,
        }


_make_row = partial(tuple.__new__, SheetRow)


class SheetRows(Sequence[SheetRow]):
    """The data rows of a sheet, in order: a read-only sequence of :class:`SheetRow`.

    Stored as parallel columns (cheaper than 100,000 objects); a ``SheetRow`` is made when a
    row is looked at. The columns are public, read-only by convention: ``numbers``,
    ``values``, ``emails``, ``outcomes``, ``reasons``, ``duplicate_of``.
    """

    __slots__ = ("duplicate_of", "emails", "numbers", "outcomes", "reasons", "values")

    def __init__(
        self,
        numbers: Sequence[int],
        values: list[str],
        emails: list[str | None],
        outcomes: list[Outcome],
        reasons: list[str],
        duplicate_of: list[int | None],
    ) -> None:
        self.numbers = numbers
        self.values = values
        self.emails = emails
        self.outcomes = outcomes
        self.reasons = reasons
        self.duplicate_of = duplicate_of

    def __len__(self) -> int:
        return len(self.outcomes)

    @overload
    def __getitem__(self, index: int) -> SheetRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[SheetRow]: ...
    def __getitem__(self, index: int | slice) -> SheetRow | list[SheetRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return _make_row(
            (
                self.numbers[index],
                self.values[index],
                self.emails[index],
                self.outcomes[index],
                self.reasons[index],
                self.duplicate_of[index],
            )
        )

    def __iter__(self) -> Iterator[SheetRow]:
        return map(
            _make_row,
            zip(self.numbers, self.values, self.emails, self.outcomes, self.reasons,
                self.duplicate_of, strict=True),
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SheetRows | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<SheetRows: {len(self)} rows>"

    def where(self, *outcomes: Outcome | str) -> list[SheetRow]:
        """The rows whose outcome is one of ``outcomes``."""
        wanted = set(outcomes)
        return [self[i] for i, o in enumerate(self.outcomes) if o in wanted]


class PreviewRow(NamedTuple):
    """A row of the raw sheet, as text, for display."""

    row: int
    cells: list[str]


@dataclass(frozen=True)
class SheetChoices:
    """What a person needs to choose the sheet, the heading row and the email column by hand,
    when ccdesk could not find them: sent with the error (``SheetError.choices``).

    Attributes:
        header_row: the Excel number of the likely heading row (None: none found).
        columns: (letter, heading) of each column, headings from ``header_row``.
        preview_rows: the sheet's first rows, as text.
    """

    path: str
    sheet_names: list[str]
    sheet: str
    header_row: int | None
    columns: list[tuple[str, str]]
    preview_rows: list[PreviewRow]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sheet_names": list(self.sheet_names), "sheet": self.sheet,
                "header_row": self.header_row, "columns": [list(c) for c in self.columns],
                "preview_rows": [[r.row, list(r.cells)] for r in self.preview_rows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SheetChoices:
        return cls(str(data["path"]), list(data["sheet_names"]), str(data["sheet"]),
                   data.get("header_row"), [(str(a), str(b)) for a, b in data["columns"]],
                   [PreviewRow(int(n), list(cells)) for n, cells in data["preview_rows"]])


@dataclass(slots=True)
class MemberSheet:
    """What ccdesk found in a spreadsheet. Plain data; see :meth:`to_dict` for JSON."""

    path: str
    format: str
    sha256: str
    size: int
    sheet_names: list[str]
    sheet: str
    header_row: int | None
    email_column: str
    email_column_letter: str
    columns: list[str]
    preview_rows: list[PreviewRow]
    rows: SheetRows
    counts: dict[str, int]
    options: ImportOptions = field(default_factory=ImportOptions)
    filter_column: str | None = None
    filter_values: tuple[str, ...] = ()
    hidden_sheets: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    found_by: str = "heading"  # "heading", "content" or "choice"
    #: What the person should know about how the file was read, in plain words.
    warnings: list[str] = field(default_factory=list)
    #: A Constant Contact list read in place of a file (``{"list_id", "name",
    #: "membership_count"}``; :mod:`ccdesk.core.listsource`): then ``path`` and ``sha256`` are
    #: empty, ``format`` is ``"list"``, ``sheet`` the list's name, and the rows its members.
    source_list: dict[str, Any] | None = None

    @property
    def from_list(self) -> bool:
        """The members were read from a Constant Contact list, not from a file."""
        return self.source_list is not None

    # -- accessors --
    def valid_rows(self) -> list[SheetRow]:
        """Rows with a valid address (each address once), in sheet order."""
        return self.rows.where(Outcome.VALID)

    @property
    def addresses(self) -> list[str]:
        """The distinct valid addresses, normalised, in sheet order."""
        valid = Outcome.VALID
        return [e for e, o in zip(self.rows.emails, self.rows.outcomes, strict=True) if o is valid]  # type: ignore[misc]

    def problems(self) -> list[SheetRow]:
        """Rows that are ``invalid`` or ``duplicate``, in sheet order."""
        return self.rows.where(Outcome.INVALID, Outcome.DUPLICATE)

    def by_outcome(self, outcome: Outcome | str) -> list[SheetRow]:
        return self.rows.where(outcome)

    def row(self, number: int) -> SheetRow | None:
        """The record of Excel row ``number``, if it is a data row."""
        nums = self.rows.numbers
        if not len(nums):
            return None
        i = number - nums[0]
        if 0 <= i < len(nums) and nums[i] == number:
            return self.rows[i]
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``ccdesk inspect --json`` shape (documented in the README)."""
        r = self.rows
        valid, problem = Outcome.VALID, (Outcome.INVALID, Outcome.DUPLICATE)
        return {
            "file": self.path,
            "format": self.format,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "email_column": self.email_column,
            "rows": len(r),
            "counts": dict(self.counts),
            "problems": [
                {"row": n, "value": v, "outcome": str(o), "reason": why}
                for n, v, o, why in zip(r.numbers, r.values, r.outcomes, r.reasons, strict=True)
                if o in problem
            ],
            "addresses": [
                {"row": n, "email": e}
                for n, e, o in zip(r.numbers, r.emails, r.outcomes, strict=True)
                if o is valid
            ],
            "email_column_letter": self.email_column_letter,
            "sheets": list(self.sheet_names),
            "hidden_sheets": list(self.hidden_sheets),
            "columns": list(self.columns),
            "filter": (
                {"column": self.filter_column, "values": list(self.filter_values)}
                if self.filter_column
                else None
            ),
            "found_by": self.found_by,
            "warnings": list(self.warnings),
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sha256": self.sha256,
            "size": self.size,
            "duplicates": [
                {"row": n, "duplicate_of": d}
                for n, d in zip(r.numbers, r.duplicate_of, strict=True)
                if d is not None
            ],
            **({"source_list": dict(self.source_list)} if self.source_list else {}),
        }


# -- headings ------------------------------------------------------------------------------
def _key(text: str) -> str:
    """A heading or value reduced for comparison: case, accents kept, spaces and marks gone."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


# Headings that name the main email column, in several languages.
_PRIMARY = {
    _key(h)
    for h in (
        "Email", "E-mail", "Emails", "Email Address", "E-mail Address", "Email Addresses",
        "email_address", "EmailAddress", "Mail", "Mail Address", "Email Addr",
        "Primary Email", "Email (Primary)", "Primary Email Address", "Email 1", "Email1",
        "E-Mail-Adresse", "E-Mail Adresse", "Emailadresse", "Mailadresse",
        "Courriel", "Adresse courriel", "Adresse e-mail", "Adresse électronique", "Adresse mail",
        "Correo", "Correo electrónico", "Correo electronico", "Email de contacto",
        "Indirizzo email", "Posta elettronica", "E-mailadres", "Emailadres",
        "E-post", "E-postadresse", "E-postadress", "Sähköposti", "Endereço de email", "E-mail адрес",
    )
}
_EMAILISH = ("email", "mail", "courriel", "correo", "epost", "sähköposti")
# Columns about email that are not the address itself.
_NOT_ADDRESS = (
    "optin", "optout", "optedin", "consent", "permission", "subscribe", "status", "bounce",
    "format", "verified", "valid", "date", "type", "preference", "frequency", "count", "sent",
    "open", "click", "domain", "allowed", "ok",
)


def heading_rank(text: object) -> int:
    """How strongly a heading names the email column: 3 surely, 2 probably, 1 maybe, 0 no."""
    if not isinstance(text, str) or "@" in text or len(text) > 80:
        return 0
    k = _key(text)
    if not k:
        return 0
    if k in _PRIMARY:
        return 3
    if any(w in k for w in _EMAILISH):
        if any(w in k for w in _NOT_ADDRESS):
            return 1
        return 2
    return 0


def _nonblank(v: object) -> bool:
    return v is not None and v != "" and not (isinstance(v, str) and not v.strip())


def _cell(row: Sequence[Any], j: int) -> Any:
    return row[j] if j < len(row) else ""


@dataclass(slots=True)
class _Layout:
    header: int | None  # index into grid.rows, or None
    column: int  # index into the grid's row lists
    found_by: str
    score: tuple = ()


def _content_score(rows: list[list[Any]], start: int, j: int, limit: int = 200) -> tuple[int, int]:
    """(address-like cells, non-blank cells) in column j of rows[start:start+limit]."""
    hits = filled = 0
    for row in rows[start : start + limit]:
        v = _cell(row, j)
        if _nonblank(v):
            filled += 1
            if looks_like_address(v):
                hits += 1
    return hits, filled


def _find_by_heading(rows: list[list[Any]], header: int | None = None) -> _Layout | None:
    scan = [header] if header is not None else range(min(HEADER_SCAN_ROWS, len(rows)))
    best: _Layout | None = None
    for i in scan:
        row = rows[i]
        texts = sum(1 for v in row if isinstance(v, str) and v.strip())
        for j, v in enumerate(row):
            rank = heading_rank(v)
            if not rank:
                continue
            hits, filled = _content_score(rows, i + 1, j)
            good = hits > 0 and hits * 2 >= filled
            score = (good, rank, texts, hits, -i)
            if best is None or score > best.score:
                best = _Layout(i, j, "heading", score)
    return best


def _find_by_content(rows: list[list[Any]], start: int = 0) -> _Layout | None:
    width = max((len(r) for r in rows[start : start + 200]), default=0)
    best_j, best = -1, (0, 0)
    for j in range(width):
        hits, filled = _content_score(rows, start, j)
        if hits and hits * 2 >= filled and (hits, -j) > (best[0], -best_j if best_j >= 0 else 1):
            best_j, best = j, (hits, filled)
    if best_j < 0:
        return None
    # The heading row: the nearest non-empty row above the first address, if it has no address.
    first = next(
        i for i in range(start, len(rows)) if looks_like_address(_cell(rows[i], best_j))
    )
    header = None
    for i in range(first - 1, start - 1, -1):
        if any(_nonblank(v) for v in rows[i]):
            if not any(looks_like_address(v) for v in rows[i]) and all(
                isinstance(v, str) or not _nonblank(v) for v in rows[i]
            ):
                header = i
            break
    return _Layout(header, best_j, "content", (best[0],))


def _match_column(name: str, headings: list[str], first_col: int) -> int | None:
    """The index of the column whose heading (or letter) is ``name``."""
    k = _key(name)
    for j, h in enumerate(headings):
        if _key(h) == k and k:
            return j
    for j, h in enumerate(headings):
        if h.strip().casefold() == name.strip().casefold():
            return j
    if re.fullmatch(r"[A-Za-z]{1,3}", name.strip()):
        j = column_index(name.strip()) - first_col
        if j >= 0:
            return j
    return None


def _headings(grid: Grid, header: int | None, width: int) -> list[str]:
    row = grid.rows[header] if header is not None else []
    out = []
    for j in range(width):
        text = cell_text(_cell(row, j)).strip() if header is not None else ""
        out.append(text or f"Column {column_letter(grid.first_col + j)}")
    return out


def _layout(grid: Grid, options: ImportOptions, sheet: str) -> _Layout:
    rows = grid.rows
    header: int | None = None
    explicit_header = options.header_row is not None
    if explicit_header:
        n = options.header_row or 0
        if n == 0:
            header = None
        else:
            header = n - grid.first_row
            if header < 0 or header >= len(rows) or not any(_nonblank(v) for v in rows[header]):
                raise SheetOptionError(
                    f"Row {n} of sheet “{sheet}” is empty",
                    "Choose the row that holds the column headings (the row number Excel shows).",
                )
    if options.column:
        width = max((len(r) for r in rows[:HEADER_SCAN_ROWS * 4]), default=0)
        candidates = [header] if explicit_header else [
            *range(min(HEADER_SCAN_ROWS, len(rows))), None
        ]
        for h in candidates:
            heads = _headings(grid, h, width) if h is not None else []
            j = _match_column(options.column, heads, grid.first_col) if h is not None else None
            if j is None and (h is None or explicit_header):
                j = _match_column(options.column, [], grid.first_col)
            if j is not None:
                if h is None and not explicit_header:
                    found = _find_by_content(rows)
                    h = found.header if found else None
                return _Layout(h, j, "choice")
        heads = _headings(grid, header, width) if header is not None else []
        listing = ", ".join(f"“{h}”" for h in heads[:12]) or "no headings"
        raise SheetOptionError(
            f"No column called “{options.column}” in sheet “{sheet}”",
            f"Choose one of the columns: {listing}; or give the column letter (e.g. C).",
        )
    if explicit_header:
        found = _find_by_heading(rows, header) if header is not None else None
        if found and found.score[0]:
            return found
        start = 0 if header is None else header + 1
        by_content = _find_by_content(rows, start)
        if by_content:
            return _Layout(header, by_content.column, "content")
        if found:
            return found
        raise NoEmailColumnError(details=f"sheet {sheet}, header row {options.header_row}")
    found = _find_by_heading(rows)
    if found and found.score[0]:
        return found
    by_content = _find_by_content(rows)
    if by_content:
        return by_content
    if found:
        return found
    raise NoEmailColumnError(
        f"No email column found in sheet “{sheet}”",
        NoEmailColumnError.what_to_do,
    )


# -- the main entry point ------------------------------------------------------------------
def _choose_sheet(book: Workbook, options: ImportOptions) -> tuple[str, Grid | None]:
    names = book.sheet_names
    if not names:
        raise NoEmailColumnError("The file has no sheets", "Export the list again.")
    if options.sheet:
        for name in names:
            if name == options.sheet:
                return name, None
        for name in names:
            if name.strip().casefold() == options.sheet.strip().casefold():
                return name, None
        raise SheetOptionError(
            f"No sheet called “{options.sheet}”",
            "Choose one of the sheets: " + ", ".join(f"“{n}”" for n in names) + ".",
        )
    if len(names) == 1:
        return names[0], None
    visible = [n for n in names if n not in book.hidden_sheets] or names
    ranked: list[tuple[tuple, str]] = []
    for order, name in enumerate(visible):
        probe = book.grid(name, max_rows=PROBE_ROWS)
        try:
            lay = _layout(probe, ImportOptions(column=options.column), name)
        except SheetError:
            continue
        good = lay.found_by != "heading" or bool(lay.score and lay.score[0])
        ranked.append(((good, lay.found_by == "heading", -order), name))
    if not ranked:
        return visible[0], None
    ranked.sort(reverse=True)
    return ranked[0][1], None


def read_sheet(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
) -> MemberSheet:
    """Read ``path`` and give every data row an outcome.

    ``progress(stage, fraction)`` is called now and then (fraction from 0 to 1); an exception
    raised by it stops the reading (that is how a caller cancels).

    Raises :class:`~ccdesk.errors.SheetError` (or a subclass) when the file cannot be used.
    """
    options = options or ImportOptions()
    report = progress or (lambda stage, fraction: None)
    path = Path(path)
    try:
        sheet = _read(path, options, report)
    except NoEmailColumnError:
        _refuse_formulas_without_results(path)
        raise
    if not sheet.counts[str(Outcome.VALID)]:
        _refuse_formulas_without_results(path)
    return sheet


def _refuse_formulas_without_results(path: Path) -> None:
    """No addresses: if formulas without saved results are why, say so (never 0 rows)."""
    if has_formulas_without_results(path):
        raise FormulasWithoutResultsError(details=str(path))


def _read(path: Path, options: ImportOptions, report: Progress) -> MemberSheet:
    report("Opening the file", 0.0)
    data = read_file_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    book = open_workbook(path, data)
    try:
        report("Reading the sheet", 0.1)
        try:
            sheet, _ = _choose_sheet(book, options)
        except SheetOptionError as exc:  # no such sheet: offer the file's own
            first = next((n for n in book.sheet_names if n not in book.hidden_sheets),
                         book.sheet_names[0])
            exc.choices = _choices(path, book, first, book.grid(first, max_rows=PREVIEW_ROWS),
                                   ImportOptions())
            raise
        grid = book.grid(sheet)
        del data
        report("Finding the email column", 0.5)
        try:
            lay = _layout(grid, options, sheet)
        except (NoEmailColumnError, SheetOptionError) as exc:
            if sum(1 for row in grid.rows[:PREVIEW_ROWS] if any(_nonblank(v) for v in row)) > 1:
                exc.choices = _choices(path, book, sheet, grid, options)  # rows to choose in
            raise
        result = _build(path, book, grid, sheet, lay, options, digest, report)
    finally:
        book.close()
    report("Done", 1.0)
    return result


def _choices(path: Path, book: Workbook, sheet: str, grid: Grid,
             options: ImportOptions) -> SheetChoices:
    """The choices to offer for ``sheet``: its first rows, and its columns named from the row
    the person chose, or else the top row with the most words (the likely headings)."""
    rows = grid.rows
    header: int | None = None
    if options.header_row:
        i = options.header_row - grid.first_row
        header = i if 0 <= i < len(rows) else None
    elif options.header_row is None:
        texts = [sum(1 for v in row if isinstance(v, str) and v.strip())
                 for row in rows[:HEADER_SCAN_ROWS]]
        if texts and max(texts) >= 2:
            header = texts.index(max(texts))
    width = min(50, max((len(r) for r in rows[:HEADER_SCAN_ROWS * 4]), default=0))
    headings = _headings(grid, header, width)
    return SheetChoices(
        path=str(path), sheet_names=list(book.sheet_names), sheet=sheet,
        header_row=None if header is None else grid.first_row + header,
        columns=[(column_letter(grid.first_col + j), headings[j]) for j in range(width)],
        preview_rows=[PreviewRow(grid.first_row + i, [cell_text(v) for v in row[:50]])
                      for i, row in enumerate(rows[:PREVIEW_ROWS])])


def _build(
    path: Path,
    book: Workbook,
    grid: Grid,
    sheet: str,
    lay: _Layout,
    options: ImportOptions,
    digest: str,
    report: Progress,
) -> MemberSheet:
    rows = grid.rows
    # The last row with anything in it; empty rows after it are not data.
    end = len(rows)
    while end > 0 and not any(_nonblank(v) for v in rows[end - 1]):
        end -= 1
    width = max((len(r) for r in rows[: min(end, 2000)]), default=0)
    width = max(width, lay.column + 1)
    headings = _headings(grid, lay.header, width)
    start = 0 if lay.header is None else lay.header + 1
    col = lay.column

    fcol: int | None = None
    fkeys: frozenset[str] = frozenset()
    fname: str | None = None
    if options.filter_column:
        fcol = _match_column(options.filter_column, headings if lay.header is not None else [],
                             grid.first_col)
        if fcol is None:
            listing = ", ".join(f"“{h}”" for h in headings[:12])
            raise SheetOptionError(
                f"No column called “{options.filter_column}” to filter on",
                f"Choose one of the columns: {listing}.",
            )
        if not options.filter_values:
            raise SheetOptionError(
                "The filter has no values", "Give at least one value, e.g. Membership=Sustainer."
            )
        fkeys = frozenset(_key(v) for v in options.filter_values)
        fname = headings[fcol] if fcol < len(headings) else f"Column {column_letter(fcol)}"

    records = _outcomes(rows, start, end, col, grid.first_row, fcol, fkeys, fname,
                        options.filter_values, report)
    tally = Counter(records.outcomes)
    counts = {str(o): tally.get(o, 0) for o in Outcome}

    preview = [
        PreviewRow(grid.first_row + i, [cell_text(v) for v in row[:50]])
        for i, row in enumerate(rows[:PREVIEW_ROWS])
    ]
    header_row = None if lay.header is None else grid.first_row + lay.header
    return MemberSheet(
        path=str(path),
        format=str(book.format),
        sha256=digest,
        size=path.stat().st_size if path.exists() else 0,
        sheet_names=list(book.sheet_names),
        sheet=sheet,
        header_row=header_row,
        email_column=headings[col],
        email_column_letter=column_letter(grid.first_col + col),
        columns=headings,
        preview_rows=preview,
        rows=records,
        counts=counts,
        options=options,
        filter_column=fname,
        filter_values=tuple(options.filter_values) if fname else (),
        hidden_sheets=sorted(book.hidden_sheets),
        encoding=getattr(book, "encoding", None),
        delimiter=getattr(book, "delimiter", None),
        found_by=lay.found_by,
        warnings=list(book.warnings),
    )


_SLICE = 5000
_VALID, _INVALID, _DUPLICATE = Outcome.VALID, Outcome.INVALID, Outcome.DUPLICATE
_BLANK, _FILTERED = Outcome.BLANK, Outcome.FILTERED_OUT


def _column(data: list[list[Any]], j: int) -> list[Any]:
    try:
        return [r[j] for r in data]
    except IndexError:  # rows of a CSV file can be short
        return [r[j] if j < len(r) else "" for r in data]


def _column_text(data: list[list[Any]], j: int) -> list[str]:
    """Column ``j`` as text (one pass: each row is touched once)."""
    try:
        return [v if type(v := r[j]) is str else cell_text(v) for r in data]
    except IndexError:  # rows of a CSV file can be short
        return [cell_text(_cell(r, j)) for r in data]


def _outcomes(
    rows: list[list[Any]],
    start: int,
    end: int,
    col: int,
    first_row: int,
    fcol: int | None,
    fkeys: frozenset[str],
    fname: str | None,
    fvalues: Iterable[str],
    report: Progress,
) -> SheetRows:
    """Give every data row its outcome.

    Column-wise on purpose (the benchmark in tests/bench/ holds it to a budget): the plain
    addresses that make up nearly every real sheet cost one regex match and one ``lower()``
    each inside C loops; only the rest go one by one through
    :func:`ccdesk.core.addresses.check_cell`.
    """
    data = rows[start:end]
    n = len(data)
    numbers = range(first_row + start, first_row + end)
    values = _column_text(data, col)
    emails = list(map(fast_address, values))
    outcomes: list[Outcome] = [_VALID] * n
    reasons: list[str] = [""] * n
    duplicate_of: list[int | None] = [None] * n
    report("Checking the addresses", 0.6)

    if fcol is not None:
        fcells = _column(data, fcol)
        keep = {v: _key(cell_text(v)) in fkeys for v in set(fcells)}
        shown = ", ".join(fvalues)
        for i in [i for i, v in enumerate(fcells) if not keep[v]]:
            emails[i] = None
            if not any(_nonblank(x) for x in data[i]):
                outcomes[i], reasons[i], values[i] = _BLANK, "Empty row", ""
                continue
            text = cell_text(fcells[i]).strip()
            outcomes[i] = _FILTERED
            reasons[i] = f"{fname} is “{text}”, not {shown}" if text else f"{fname} is empty"

    # Everything the fast path did not settle, one by one.
    for k, i in enumerate(list(compress(range(n), map(is_, emails, repeat(None))))):
        if not k % 256 and k:
            report("Checking the addresses", 0.6)  # (a caller may stop here too)
        if outcomes[i] is not _VALID:
            continue  # filtered out
        checked = check_cell(_cell(data[i], col))
        if checked.outcome is _BLANK:
            outcomes[i] = _BLANK
            reasons[i] = checked.reason if any(_nonblank(x) for x in data[i]) else "Empty row"
        elif checked.outcome is _INVALID:
            outcomes[i], reasons[i] = _INVALID, checked.reason
        else:
            emails[i] = checked.email
    report("Finding duplicates", 0.8)

    # The first row of each address (setdefault keeps the earliest): C-level passes of 5,000
    # rows (one pass over 100,000 keeps the interpreter lock ~20 ms: a window would wait).
    keep_first = {}.setdefault
    first: list[int] = []
    for at in range(0, n, _SLICE):
        first += map(keep_first, emails[at:at + _SLICE], numbers[at:at + _SLICE])
    for i in list(compress(range(n), map(ne, first, numbers))):
        if emails[i] is None or outcomes[i] is not _VALID:
            continue
        d = first[i]
        outcomes[i], reasons[i], duplicate_of[i] = _DUPLICATE, f"Same address as row {d}", d
    return SheetRows(numbers, values, emails, outcomes, reasons, duplicate_of)


def describe_limits() -> dict[str, int]:
    """The documented limits, for display."""
    return {"max_file_bytes": MAX_FILE_BYTES, "max_rows": MAX_ROWS, "max_cells": MAX_CELLS}


__all__ += ["Format", "describe_limits", "heading_rank"]
