"""The results log (and the preview) as CSV or XLSX.

One row per sheet row: sheet row, email, contact id, action, outcome, reason, Constant
Contact's message, time. Every text cell that a spreadsheet would read as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is neutralised with a leading
apostrophe, so opening the log can never run anything.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ccdesk.core.journal import ItemRecord, Journal, RunRecord
from ccdesk.errors import CcdeskError
from ccdesk.paths import private_dir, private_file

FORMATS = ("csv", "xlsx")
LOG_COLUMNS = ("Sheet row", "Email", "Contact id", "Action", "Outcome", "Reason",
               "Constant Contact's message", "Time")
PREVIEW_COLUMNS = ("Sheet row", "Email", "Outcome", "Reason", "Note")
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(CcdeskError):
    title = "The log could not be saved"
    what_to_do = "Choose another folder (one you can write to) and try again."


class FileInUse(ExportError):
    """The file is there but may not be written: on Windows, another program (Excel) has it open."""

    title = "The file is open in another program"
    what_to_do = ("If it is open in Excel, close it in Excel and try again, or save the log "
                  "under another name.")


def neutralise(value: Any) -> Any:
    """A cell value that no spreadsheet will run as a formula."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def _xlsx_text(value: Any) -> Any:
    """A neutralised value without the control characters an XLSX file cannot hold (they
    come from the sheet's cells, e.g. an invalid address; shown as U+FFFD)."""
    value = neutralise(value)
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def _local_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def log_rows(journal: Journal, run_id: str) -> Iterator[list[Any]]:
    """The results log of a run, one list per sheet row (without the heading), read from the
    journal as they are written out.

    Raises:
        KeyError: there is no such run (at once, before any file is written).
    """
    run = journal.run(run_id)
    return (_log_row(run, item) for item in journal.iter_items(run_id))


def _log_row(run: RunRecord, item: ItemRecord) -> list[Any]:
    outcome = item.result or item.state
    if item.state == "planned":
        outcome = "not done yet"
    elif item.state == "sent":
        outcome = "sent, not yet confirmed"
    return [item.row, item.email or item.value, item.contact_id or "", run.action, outcome,
            item.reason, item.cc_message, _local_time(item.updated_at)]


def write_table(path: Path | str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                fmt: str | None = None, *, sheet_title: str = "ccdesk") -> Path:
    """Write rows as CSV (UTF-8 with BOM, so Excel reads it right) or XLSX."""
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
                    writer.writerow([neutralise(v) for v in row])
        else:
            from openpyxl import Workbook
            from openpyxl.styles import Font

            book = Workbook(write_only=True)
            sheet = book.create_sheet(sheet_title[:31])
            sheet.freeze_panes = "A2"
            heading = []
            for name in columns:
                from openpyxl.cell import WriteOnlyCell

                cell = WriteOnlyCell(sheet, value=name)
                cell.font = Font(bold=True)
                heading.append(cell)
            sheet.append(heading)
            for row in rows:
                sheet.append([_xlsx_text(v) for v in row])
            book.save(path)
    except PermissionError as exc:
        if path.exists():  # Windows: Excel holds the file it has open (a sharing violation)
            raise FileInUse(details=str(exc)) from exc
        raise ExportError(details=str(exc)) from exc
    except OSError as exc:
        raise ExportError(details=str(exc)) from exc
    return path


def export_log(journal: Journal, run_id: str, path: Path | str, fmt: str | None = None) -> Path:
    """Save the results log of a run."""
    return write_table(path, LOG_COLUMNS, log_rows(journal, run_id), fmt, sheet_title="Results")


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


def default_log_path(run_id: str, fmt: str = "xlsx") -> Path:
    """Where a run's log goes unless the person chooses: the data folder's ``logs``."""
    from ccdesk.paths import data_dir

    return private_dir(data_dir() / "logs") / f"ccdesk-run-{run_id}.{fmt}"
