"""The results log (and the preview) as CSV or XLSX: a staff document.

The XLSX log has two sheets. **Summary** says what the run was in plain words: the
organisation, the list(s), the action, the spreadsheet, who ran it on which computer, when it
started and ended, and the totals in the window's words. **Results** has one row per sheet row:
the member's name (when the sheet has name columns and is still as it was), the address, what
was planned, what happened, why, ccdesk's note, Constant Contact's own message, and when (real
date cells, the time zone in the heading). The CSV log is the Results table alone (UTF-8 with a
BOM, one heading row), so that it stays a plain table.

No cell runs as a formula: in XLSX every text is written as a string cell (so an address such
as ``-bob@example.org`` stays as written); in CSV, a text a spreadsheet would read as a formula
(after the spaces and invisible characters it trims) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccdesk.core.journal import BatchRecord, ItemRecord, Journal, RunRecord
from ccdesk.errors import CcdeskError
from ccdesk.paths import private_dir, private_file

FORMATS = ("csv", "xlsx")
#: The Results heading without name columns; the time column's heading names the time zone
#: (see :func:`log_columns`).
LOG_COLUMNS = ("Sheet row", "Email", "Contact id", "Planned", "Result", "Reason", "Note",
               "Constant Contact's message", "Time")
#: The first column of a log whose members came from a Constant Contact list, not a sheet.
LIST_ROW_COLUMN = "Member (order read)"
PREVIEW_COLUMNS = ("Sheet row", "Email", "Outcome", "Reason", "Note")
SUMMARY_TITLE = "Summary"
RESULTS_TITLE = "Results"

# Characters a spreadsheet skips (or folds) before it decides that a cell is a formula.
_TRIMMED = frozenset(" \t\n\r\u00a0\u200b\u200c\u200d\ufeff\u2060\u3000\u202f\u205f"
                     + "".join(chr(c) for c in range(0x2000, 0x200B)))
_FORMULA_START = frozenset("=+-@\u2212")
_WIDTHS = {"Sheet row": 10, "Email": 34, "Contact id": 38, "Planned": 30, "Result": 34,
           "Reason": 40, "Note": 36, "Constant Contact's message": 50}
_NAME_WIDTH, _TIME_WIDTH = 20, 21
_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


class ExportError(CcdeskError):
    title = "The log could not be saved"
    what_to_do = "Choose another folder (one you can write to) and try again."


class FileInUse(ExportError):
    """The file is there but may not be written: on Windows, another program (Excel) has it open."""

    title = "The file is open in another program"
    what_to_do = ("If it is open in Excel, close it in Excel and try again, or save the log "
                  "under another name.")


# ---- no formulas --------------------------------------------------------------------------------

def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula: it starts with ``=``, ``+``,
    ``-`` or ``@`` (or a full-width or small form of them, or a minus sign) once the leading
    spaces, tabs, line breaks and invisible characters are skipped; or with a tab or a carriage
    return at all."""
    if text.startswith(("\t", "\r")):
        return True
    rest = text.lstrip("".join(_TRIMMED))
    if not rest:
        return False
    first = rest[0]
    return first in _FORMULA_START or unicodedata.normalize("NFKC", first)[:1] in _FORMULA_START


def neutralise(value: Any) -> Any:
    """A CSV cell value that no spreadsheet will run as a formula (a leading apostrophe)."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return neutralise(value)


# ---- the window's words, for the log ---------------------------------------------------------------
# ccdesk.gui.words has the same words for the window; the core may not import the gui, and a test
# checks that the two agree.

ACTION_WORDS = {
    "remove": "Remove from the list",
    "remove-all": "Remove from all lists",
    "unsubscribe": "Unsubscribe (permanent)",
    "move": "Move to another list",
    "undo": "Undo: put back on the list",
}
_DONE_RESULTS = ("removed", "unsubscribed", "re-added", "moved")
#: Not done yet; ``added``: a move's row put on its new list, not taken off the old one yet.
_WAITING = frozenset({"remove", "unsubscribe", "re_add", "move", "planned", "sent", "added"})
_PROBLEMS = frozenset({"invalid", "duplicate", "blank", "filtered_out"})
#: What happened to a row that was not changed (the window's words for these outcomes too).
SKIP_WORDS = {
    "skip_not_found": "Skipped: not in Constant Contact",
    "skip_unsubscribed": "Skipped: already unsubscribed",
    "skip_deleted": "Skipped: deleted in Constant Contact",
    "invalid": "Problem: not a valid address",
    "duplicate": "Problem: repeated address",
    "blank": "Problem: no address",
    "filtered_out": "Left out by the filter",
}


def done_word(action: str) -> str:
    """The past tense of a run's action: "removed", "unsubscribed", "put back"."""
    return {"remove": "removed", "remove-all": "removed", "unsubscribe": "unsubscribed",
            "move": "moved", "undo": "put back"}.get(action, "done")


def result_groups(counts: Mapping[str, int]) -> dict[str, int]:
    """The journal's result counts grouped as the window's Results page shows them: ``done``,
    ``failed``, ``skipped`` (nothing to do), ``problems`` (in the sheet) and ``waiting`` (not
    done yet)."""
    out = {"done": 0, "failed": 0, "skipped": 0, "problems": 0, "waiting": 0}
    for key, n in counts.items():
        if key in _DONE_RESULTS:
            out["done"] += n
        elif key == "failed":
            out["failed"] += n
        elif key in _WAITING:
            out["waiting"] += n
        elif key in _PROBLEMS:
            out["problems"] += n
        else:
            out["skipped"] += n
    return out


def result_totals(action: str, counts: Mapping[str, int], verified: int) -> list[tuple[str, int]]:
    """The totals of a run in the window's words, e.g. ``("Removed", 40)``, in the order the
    Summary sheet shows them."""
    groups = result_groups(counts)
    return [(done_word(action).capitalize(), groups["done"]),
            ("Checked in Constant Contact", verified),
            ("Skipped: nothing to do", groups["skipped"]),
            ("Problems in the sheet", groups["problems"]),
            ("Failed", groups["failed"]),
            ("Not done yet", groups["waiting"])]


def _list_names(run: RunRecord, ids: Sequence[str]) -> str:
    names = {**run.options.get("list_names", {}), **{x["list_id"]: x["name"] for x in run.lists}}
    return ", ".join(names.get(i, "another list") for i in ids)


def target_name(run: RunRecord) -> str:
    """The list a move (or the undo of one) put its members on ("" for other runs)."""
    return (run.options.get("target") or {}).get("name", "")


def move_words(run: RunRecord) -> str:
    """Where a move's run took its members: "Free Members to Sustainers"."""
    return f"{', '.join(run.list_names)} to {target_name(run)}"


def _lists_of_run(run: RunRecord) -> str:
    if run.action == "remove-all":
        return "Every list they were on"
    if run.action == "unsubscribe":
        return "All email from the organisation (not one list)"
    if target_name(run) and run.action == "move":
        return f"{', '.join(run.list_names)}, to {target_name(run)}"
    return ", ".join(run.list_names)


def planned_words(run: RunRecord, item: ItemRecord) -> str:
    """What the run was to do to a row, e.g. "Remove from Free Members" ("" for a row it was
    to leave alone)."""
    if item.outcome == "unsubscribe":
        return "Unsubscribe"
    if item.outcome == "move":
        return f"Move from {_list_names(run, item.list_ids)} to {target_name(run)}"
    if item.outcome == "re_add" and target_name(run):  # the undo of a move (some rows only
        return item.reason  # come off its target: list_ids is the target, not a list left)
    if item.outcome not in ("remove", "re_add"):
        return ""
    lists = _list_names(run, item.list_ids) or _lists_of_run(run)
    return f"Remove from {lists}" if item.outcome == "remove" else f"Put back on {lists}"


def result_words(run: RunRecord, item: ItemRecord) -> str:
    """What happened to a row, in plain words: "Removed", "Skipped: not on Free Members",
    "Problem: not a valid address", "Failed", "Not done yet"."""
    if item.state == "planned" and item.added and run.action == "move":
        return f"Put on {target_name(run)}; not taken off {_list_names(run, item.list_ids)} yet"
    if item.state == "planned":
        return "Not done yet"
    if item.state == "sent":
        return "Sent; not checked yet"
    if item.state == "failed":
        return "Failed"
    if item.state == "done":
        return {"removed": "Removed", "unsubscribed": "Unsubscribed", "moved": "Moved",
                "re-added": "Put back"}.get(item.result, item.result.capitalize() or "Done")
    result = item.result or item.outcome
    if result == "skip_not_on_list":
        if run.action == "remove-all" or not run.list_names:
            return "Skipped: on no list"
        return f"Skipped: not on {', '.join(run.list_names)}"
    return SKIP_WORDS.get(result, result.replace("_", " ").capitalize())


# ---- ccdesk's words and Constant Contact's ------------------------------------------------------

# What the runner writes into items.cc_message in its own words (ccdesk.core.runner).
_OWN_MESSAGES = frozenset({
    "Checked in Constant Contact", "Confirmed by Constant Contact",
    "Deleted in Constant Contact since the preview", "Constant Contact did not record the opt-out",
    "Constant Contact no longer reports on this job", "Never reached Constant Contact; sent again.",
})
_OWN_PREFIXES = ("Its answer was lost and ",)
_REFUSED = "Refused by Constant Contact: "
_READ_BACK = re.compile(r"(Still (?:not )?on .*?|Not found in Constant Contact any more)(?:\. (.*))?",
                        re.DOTALL)


def _ccdesk_titles() -> frozenset[str]:
    """Every error title ccdesk itself writes (a failed row may carry one instead of Constant
    Contact's message)."""
    import ccdesk.cc.client
    import ccdesk.cc.errors  # noqa: F401  (their classes are the subclasses walked below)

    titles: set[str] = set()
    todo: list[type] = [CcdeskError]
    while todo:
        cls = todo.pop()
        title = getattr(cls, "title", None)
        if isinstance(title, str):
            titles.add(title)
        todo.extend(cls.__subclasses__())
    return frozenset(titles)


@dataclass
class _Splitter:
    """Splits items.cc_message into ccdesk's note and Constant Contact's own words."""

    batches: dict[int, BatchRecord] = field(default_factory=dict)
    titles: frozenset[str] = field(default_factory=_ccdesk_titles)

    def _own(self, text: str) -> bool:
        return text in _OWN_MESSAGES or text in self.titles or text.startswith(_OWN_PREFIXES)

    def job_words(self, text: str) -> tuple[str, str]:
        """A batch's message (the job's errors, or ccdesk's words about the job)."""
        if not text or self._own(text):
            return text, ""
        for prefix in ("Constant Contact's job ", "Constant Contact cancelled the job"):
            if text.startswith(prefix):
                note, _, words = text.partition(": ")
                return note, words
        return "", text

    def split(self, item: ItemRecord) -> tuple[str, str]:
        """``(ccdesk's note, Constant Contact's words)`` for one row."""
        text = item.cc_message
        if not text or self._own(text):
            return text, ""
        if text.startswith(_REFUSED):
            words = text[len(_REFUSED):]
            if words in self.titles:
                return words, ""
            return _REFUSED[:-2], words
        read_back = _READ_BACK.fullmatch(text)
        if read_back:
            why, rest = read_back.group(1), read_back.group(2) or ""
            batch = self.batches.get(item.batch) if item.batch is not None else None
            if batch is not None:
                part = _message_for(item, batch).rstrip(". ")
                if part and text.endswith(". " + part):
                    why, rest = text[:-len(part) - 2], part
                elif not part:
                    why, rest = text, ""
            note, words = self.job_words(rest)
            return ". ".join(x for x in (why, note) if x), words
        return "", text


def _message_for(item: ItemRecord, batch: BatchRecord) -> str:
    """The part of a batch's message the runner gave a row (ccdesk.core.runner._message_for)."""
    own = [m for m in batch.message.split("; ") if item.contact_id and item.contact_id in m]
    return "; ".join(own) if own else batch.message


def split_message(item: ItemRecord, batches: Mapping[int, BatchRecord] | None = None) -> tuple[str, str]:
    """A row's stored message as ``(ccdesk's note, Constant Contact's own words)``."""
    return _Splitter(dict(batches or {})).split(item)


# ---- time -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Zone:
    label: str  # "Europe/London" or "UTC+01:00"
    tz: dt.tzinfo

    def local(self, epoch: float) -> dt.datetime:
        """The wall-clock time in this zone (naive: XLSX has no time zones)."""
        return dt.datetime.fromtimestamp(round(epoch), self.tz).replace(tzinfo=None)

    def words(self, epoch: float) -> str:
        when = self.local(epoch)
        return f"{when.day} {when:%B %Y, %H:%M:%S} ({self.label})"


def _offset_label(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _local_zone(at: float) -> _Zone:
    """This computer's time zone: its name when it has one (TZ, /etc/localtime), else its offset
    at ``at``."""
    from zoneinfo import ZoneInfo

    names = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            names.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    here = dt.datetime.fromtimestamp(at).astimezone()
    for name in names:
        if not name or ("/" not in name and name.upper() not in ("UTC", "GMT")):
            continue
        try:
            zone = ZoneInfo(name)
        except (ValueError, OSError, KeyError):
            continue
        if dt.datetime.fromtimestamp(at, zone).utcoffset() == here.utcoffset():
            return _Zone("UTC" if name in ("Etc/UTC", "Etc/GMT", "Etc/Universal") else name, zone)
    offset = here.utcoffset() or dt.timedelta(0)
    return _Zone(_offset_label(offset), dt.timezone(offset))


# ---- the member's names, from the sheet again ----------------------------------------------------

_NAME_HEADINGS = (
    ("first", ("First name", "Firstname", "First", "Given name", "Forename", "Prénom", "Vorname",
               "Nombre")),
    ("last", ("Last name", "Lastname", "Surname", "Family name", "Last", "Nom", "Nachname",
              "Apellido", "Apellidos")),
    ("full", ("Name", "Full name", "Fullname", "Member name", "Contact name", "Display name",
              "Member", "Nom complet")),
)


@dataclass
class MemberNames:
    """The name columns carried from the member sheet into the log (maybe none, and why)."""

    headings: list[str]
    by_row: dict[int, list[str]]
    note: str


def _source_rows(run: RunRecord) -> list[tuple[str, Any]]:
    """The Summary's rows saying where the members came from: the spreadsheet and its sheet,
    or the Constant Contact list they were read from."""
    source = run.options.get("source_list")
    if source:
        return [("Source", f"The members of {source.get('name', '')} (a Constant Contact list, "
                           "as read for the preview; a row is a member, in the order read)")]
    return [("Spreadsheet", run.file_path), ("Sheet", run.sheet)]


def member_names(run: RunRecord, journal: Journal | None = None) -> MemberNames:
    """The member sheet's name columns (first, last, full name, found by heading), read again
    with the run's import options — only if the file is still there and unchanged (sha256)."""
    from ccdesk.core.addresses import cell_text
    from ccdesk.core.formats import open_workbook, read_file_bytes
    from ccdesk.core.sheet import ImportOptions, _choose_sheet, _headings, _key, _layout

    source = run.options.get("source_list")
    if source:
        return MemberNames([], {}, f"Not included: the members were read from the list "
                                   f"{source.get('name', '')}, not from a spreadsheet")
    options = run.options.get("import")
    if options is None and run.undo_of and journal is not None:
        try:
            options = journal.run(run.undo_of).options.get("import")
        except KeyError:
            options = None
    if options is None:
        return MemberNames([], {}, "Not included: the run did not record how the sheet was read")
    path = Path(run.file_path)
    try:
        data = read_file_bytes(path)
    except (OSError, CcdeskError):
        return MemberNames([], {}, f"Not included: the spreadsheet is no longer at {path}")
    if hashlib.sha256(data).hexdigest() != run.file_sha256:
        return MemberNames([], {}, "Not included: the spreadsheet has changed since the run")
    try:
        opts = ImportOptions(sheet=run.sheet or options.get("sheet"),
                             header_row=options.get("header_row"), column=options.get("column"),
                             filter_column=options.get("filter_column"),
                             filter_values=tuple(options.get("filter_values") or ()))
        book = open_workbook(path, data)
        try:
            sheet, _ = _choose_sheet(book, opts)
            grid = book.grid(sheet)
        finally:
            book.close()
        lay = _layout(grid, opts, sheet)
    except (CcdeskError, OSError, ValueError) as exc:
        return MemberNames([], {}, f"Not included: the spreadsheet could not be read again ({exc})")
    if lay.header is None:
        return MemberNames([], {}, "None: the sheet has no headings")
    width = max((len(r) for r in grid.rows[:2000]), default=0)
    headings = _headings(grid, lay.header, width)
    keys = [_key(h) for h in headings]
    columns: list[int] = []
    for _, names in _NAME_HEADINGS:
        wanted = {_key(n) for n in names}
        found = next((j for j, k in enumerate(keys) if k in wanted and j != lay.column), None)
        if found is not None:
            columns.append(found)
    if not columns:
        return MemberNames([], {}, "None: the sheet has no name columns")
    by_row = {}
    for i in range(lay.header + 1, len(grid.rows)):
        row = grid.rows[i]
        by_row[grid.first_row + i] = [cell_text(row[j] if j < len(row) else "").strip()
                                      for j in columns]
    shown = [headings[j] for j in columns]
    return MemberNames(shown, by_row, "From the spreadsheet: " + ", ".join(shown))


# ---- the log ---------------------------------------------------------------------------------------

def log_columns(names: Sequence[str], zone_label: str) -> list[str]:
    """The Results heading: the name columns after the sheet row, and the time zone in the time
    column's heading, e.g. "Time (Europe/London)"."""
    columns = list(LOG_COLUMNS)
    columns[-1] = f"Time ({zone_label})"
    return [columns[0], *names, *columns[1:]]


@dataclass
class LogDocument:
    """A run's log ready to be written: the summary lines, the heading, and its rows."""

    summary: list[tuple[str, Any]]
    columns: list[str]
    rows: Iterable[Sequence[Any]]
    widths: list[float]


_UNFINISHED = {"running": "interrupted, can be resumed", "paused": "paused, can be resumed",
               "cancelled": "stopped, can be resumed", "ready": "not started"}


def _run_by(journal: Journal, run_id: str) -> str:
    owner = journal.owner(run_id)
    if owner is None:
        return "Not recorded"
    program = owner.program
    if program.startswith("the "):  # "the window" → "The window on office-pc"
        program = "T" + program[1:]
    return f"{program} on {owner.host}"


def log_document(journal: Journal, run_id: str) -> LogDocument:
    """The log of a run, read from the journal (the rows as they are written out).

    Raises:
        KeyError: there is no such run (at once, before any file is written).
    """
    run = journal.run(run_id)
    batches = {b.batch: b for b in journal.batches(run_id)}
    counts = journal.result_counts(run_id)
    verified = journal.verified_count(run_id)
    owner = journal.owner(run_id)
    started = min([t for t in (*(b.sent_at for b in batches.values()),
                               owner.since if owner else None) if t] or [run.created_at])
    zone = _local_zone(run.updated_at)
    names = member_names(run, journal)
    summary: list[tuple[str, Any]] = [
        ("ccdesk results log", ""),
        ("", ""),
        ("Organisation", run.account.get("organization_name", "")),
        ("Lists" if len(run.lists) > 1 else "List", _lists_of_run(run)),
        ("Action", ACTION_WORDS.get(run.action, run.action)),
        *_source_rows(run),
        ("Run by", _run_by(journal, run_id)),
        ("Started", zone.words(started)),
        ("Ended", zone.words(run.updated_at) if run.state == "finished"
         else "Not finished: " + _UNFINISHED.get(run.state, run.state)),
        ("", ""),
        ("Members of the list" if run.options.get("source_list") else "Rows in the sheet",
         sum(counts.values())),
        *result_totals(run.action, counts, verified),
        ("", ""),
        ("Members' names", names.note),
        ("Run", run_id),
    ]
    if run.undo_of:
        summary.append(("Undoes run", run.undo_of))
    splitter = _Splitter(batches)
    blank = [""] * len(names.headings)

    def rows() -> Iterator[list[Any]]:
        for item in journal.iter_items(run_id):
            note, words = splitter.split(item)
            yield [item.row, *names.by_row.get(item.row, blank), item.email or item.value,
                   item.contact_id or "", planned_words(run, item), result_words(run, item),
                   item.reason, note, words, zone.local(item.updated_at)]

    widths = [_WIDTHS["Sheet row"], *[_NAME_WIDTH] * len(names.headings),
              *[_WIDTHS[c] for c in LOG_COLUMNS[1:-1]], _TIME_WIDTH]
    columns = log_columns(names.headings, zone.label)
    if run.options.get("source_list"):  # members of a list: numbered in the order read
        columns[0] = LIST_ROW_COLUMN
    return LogDocument(summary, columns, rows(), widths)


def log_rows(journal: Journal, run_id: str) -> Iterator[Sequence[Any]]:
    """The Results rows of a run (without the heading).

    Raises:
        KeyError: there is no such run (at once).
    """
    return iter(log_document(journal, run_id).rows)


def _xlsx_cell(sheet: Any, value: Any, *, bold: bool = False) -> Any:
    """A write-only cell: text always a string cell (never a formula), without the control
    characters an XLSX file cannot hold (shown as U+FFFD); datetimes as dates."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, dt.datetime):
        cell.number_format = _TIME_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def write_table(path: Path | str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                fmt: str | None = None, *, sheet_title: str = "ccdesk",
                summary: Sequence[tuple[str, Any]] | None = None,
                widths: Sequence[float] | None = None) -> Path:
    """Write rows as CSV (UTF-8 with BOM, so Excel reads it right) or XLSX.

    In XLSX, ``summary`` (label, value pairs) is written first on a sheet of its own, and
    ``widths`` are the table's column widths; CSV is the table alone."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ExportError("That file type is not offered", "Save the log as .xlsx or .csv.")
    try:
        private_file(path, private_folder=False)  # members' addresses: 0600, even if chosen
        if fmt == "csv":
            with open(path, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_csv_cell(v) for v in row])
        else:
            _write_xlsx(path, columns, rows, sheet_title, summary, widths)
    except PermissionError as exc:
        if path.exists():  # Windows: Excel holds the file it has open (a sharing violation)
            raise FileInUse(details=str(exc)) from exc
        raise ExportError(details=str(exc)) from exc
    except OSError as exc:
        raise ExportError(details=str(exc)) from exc
    return path


def _write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str,
                summary: Sequence[tuple[str, Any]] | None, widths: Sequence[float] | None) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    if summary is not None:
        front = book.create_sheet(SUMMARY_TITLE)
        front.column_dimensions["A"].width = 30
        front.column_dimensions["B"].width = 70
        for n, (label, value) in enumerate(summary):
            front.append([_xlsx_cell(front, label, bold=bool(label) and (n == 0 or value != "")),
                          _xlsx_cell(front, value)])
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for j, width in enumerate(widths or ()):
        sheet.column_dimensions[get_column_letter(j + 1)].width = width
    sheet.append([_xlsx_cell(sheet, name, bold=True) for name in columns])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    book.save(path)


def export_log(journal: Journal, run_id: str, path: Path | str, fmt: str | None = None) -> Path:
    """Save the results log of a run: XLSX with a Summary sheet and a Results sheet, or CSV
    with the Results table alone."""
    doc = log_document(journal, run_id)
    return write_table(path, doc.columns, doc.rows, fmt, sheet_title=RESULTS_TITLE,
                       summary=doc.summary, widths=doc.widths)


def export_preview(plan: Any, path: Path | str, fmt: str | None = None) -> Path:
    """Save a preview (a :class:`ccdesk.core.plan.Plan`)."""
    rows = ([i.row, i.email or i.value, str(i.outcome), i.reason, i.warning] for i in plan.items)
    return write_table(path, PREVIEW_COLUMNS, rows, fmt, sheet_title="Preview")


def export_recorded_preview(journal: Journal, run_id: str, path: Path | str,
                            fmt: str | None = None) -> Path:
    """Save a preview recorded in the journal (a run not carried out yet)."""
    rows = ([i.row, i.email or i.value, i.outcome, i.reason, ""]
            for i in journal.iter_items(run_id))
    return write_table(path, PREVIEW_COLUMNS, rows, fmt, sheet_title="Preview")


# ---- where and under what name -------------------------------------------------------------------

def suggested_log_name(run: RunRecord, fmt: str) -> str:
    """A file name a person recognises: "ccdesk – Free Members – 2026-12-04.xlsx" (the lists;
    the action for a removal from all lists or an unsubscribe), safe on Windows."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError("That file type is not offered", "Save the log as .xlsx or .csv.")
    if run.action == "remove-all":
        what = "Remove from all lists"
    elif run.action == "unsubscribe":
        what = "Unsubscribe"
    elif run.action == "move":
        what = move_words(run)
    else:
        what = ", ".join(run.list_names) or ACTION_WORDS.get(run.action, run.action)
        if run.action == "undo":
            what = f"Undo – {what}"
    what = " ".join(_WINDOWS_FORBIDDEN.sub("-", what).split()).strip(" .") or "run"
    if len(what) > 80:
        what = what[:79].rstrip(" .") + "…"
    day = time.strftime("%Y-%m-%d", time.localtime(run.created_at))
    return f"ccdesk – {what} – {day}.{fmt}"


def documents_folder() -> Path:
    """The person's Documents folder (where a saved log is offered first); home without one."""
    try:
        from platformdirs import user_documents_dir

        folder = Path(user_documents_dir())
    except Exception:  # noqa: BLE001  (no Documents folder known on this system)
        return Path.home()
    return folder if folder.is_dir() else Path.home()


def default_log_path(run_id: str, fmt: str = "xlsx") -> Path:
    """Where a run's log goes unless the person chooses: the data folder's ``logs``."""
    from ccdesk.paths import data_dir

    return private_dir(data_dir() / "logs") / f"ccdesk-run-{run_id}.{fmt}"
