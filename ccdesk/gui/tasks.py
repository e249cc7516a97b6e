"""The work the window hands to :class:`ccdesk.gui.worker.Job`: plain Python over the core.

Each ``*_work`` function returns a ``work(report, cancel)`` callable for a job. They only
compose core functions (read, preview, run, journal, export) and shape their results for the
pages (e.g. a :class:`~ccdesk.gui.rows.RowTable` built here, off the GUI thread). No Qt here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccdesk import engine
from ccdesk.cc.auth import AppKey, DeviceCode
from ccdesk.cc.errors import Cancelled
from ccdesk.cc.models import Account, ContactList
from ccdesk.core.export import export_preview
from ccdesk.core.gcpause import gc_paused
from ccdesk.core.journal import Journal, Owner, RunRecord
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase
from ccdesk.core.plan import Plan
from ccdesk.core.runner import (
    WAIT_LIMIT,
    RunProgress,
    RunResult,
    result_from_items,
)
from ccdesk.core.sheet import ImportOptions, MemberSheet, Outcome, SheetRows
from ccdesk.engine.session import Session
from ccdesk.gui import words
from ccdesk.gui.rows import RowTable, RowUpdate, chunked_update
from ccdesk.gui.words import result_groups

log = logging.getLogger("ccdesk.gui.tasks")

Report = Callable[[Any], None]
Work = Callable[[Report, threading.Event], Any]


@dataclass
class Step:
    """Progress of a step: a phase in plain words, and how far (``total`` 0 = unknown)."""

    phase: str
    done: float = 0
    total: float = 0


# =============================================================================================
# Account


@dataclass
class AccountInfo:
    """Who is connected, as the Account page shows it."""

    connected: bool
    account: Account | None = None
    quota_left: int = 0
    demo: bool = False


def account_work(session: Session) -> Work:
    """Whether the session is connected and, if so, to which organisation."""

    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        report(Step("Checking the connection"))
        if not session.connected():
            return AccountInfo(False, demo=session.demo)
        account = session.account()
        return AccountInfo(True, account, session.quota_left(), session.demo)

    return work


def connect_browser_work(session: Session, app: AppKey, port: int,
                         open_browser: Callable[[str], Any] | None,
                         host: str = "127.0.0.1") -> Work:
    """The browser sign-in (redirect to ``http://HOST:PORT/callback``); returns the
    :class:`AccountInfo` afterwards."""

    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        report(Step("Waiting for you to sign in in the browser"))
        account = session.connect_browser(app, port=port, host_name=host,
                                          open_browser=open_browser, cancel=cancel)
        return AccountInfo(True, account, session.quota_left(), session.demo)

    return work


def device_start_work(session: Session, app: AppKey) -> Work:
    """Ask for a device code (step one of "other ways to connect")."""

    def work(report: Report, cancel: threading.Event) -> DeviceCode:
        return session.start_device(app)

    return work


def device_finish_work(session: Session, app: AppKey, device: DeviceCode) -> Work:
    """Wait until the person approves the device code."""

    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        account = session.finish_device(app, device, cancel=cancel)
        return AccountInfo(True, account, session.quota_left(), session.demo)

    return work


def disconnect_work(session: Session) -> Work:
    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        session.disconnect()
        return AccountInfo(False, demo=session.demo)

    return work


def session_work(factory: Callable[[], Session]) -> Work:
    """Build a session (the demo one starts its sandbox and signs in: a second or so)."""

    def work(report: Report, cancel: threading.Event) -> Session:
        report(Step("Starting"))
        return factory()

    return work


def lists_work(session: Session) -> Work:
    """The account's lists with their sizes."""

    def work(report: Report, cancel: threading.Event) -> list[ContactList]:
        return sorted(session.client().lists(), key=lambda x: x.name.casefold())

    return work


# =============================================================================================
# Spreadsheet


@dataclass
class SheetLoaded:
    """A read sheet and its problem rows, ready to show."""

    sheet: MemberSheet
    problems: RowTable


PROBLEMS = frozenset({Outcome.INVALID, Outcome.DUPLICATE, Outcome.BLANK})


def read_sheet_work(path: str | Path, options: ImportOptions | None = None) -> Work:
    """Read a spreadsheet; cancel stops between stages."""

    def work(report: Report, cancel: threading.Event) -> SheetLoaded:
        def progress(stage: str, fraction: float) -> None:
            if cancel.is_set():
                raise Cancelled()
            report(Step(stage, fraction * 100, 100))

        with gc_paused():
            sheet = engine.read(path, options, progress=progress)
            rows = sheet.rows
            picked = [i for i, o in enumerate(rows.outcomes) if o in PROBLEMS]
            return SheetLoaded(sheet, RowTable.from_sheet_rows(rows[i] for i in picked))

    return work


def only_addresses(sheet: MemberSheet, emails: set[str]) -> MemberSheet:
    """The same sheet, keeping only the valid rows whose address is in ``emails``."""
    r = sheet.rows
    keep = [i for i, (e, o) in enumerate(zip(r.emails, r.outcomes, strict=True))
            if o is Outcome.VALID and e in emails]
    rows = SheetRows([r.numbers[i] for i in keep], [r.values[i] for i in keep],
                     [r.emails[i] for i in keep], [r.outcomes[i] for i in keep],
                     [r.reasons[i] for i in keep], [r.duplicate_of[i] for i in keep])
    counts = {str(o): 0 for o in Outcome}
    counts[str(Outcome.VALID)] = len(keep)
    return dataclasses.replace(sheet, rows=rows, counts=counts)


def import_options(saved: dict[str, Any] | None) -> ImportOptions:
    """The :class:`ImportOptions` a run recorded in the journal."""
    saved = saved or {}
    return ImportOptions(
        sheet=saved.get("sheet"), header_row=saved.get("header_row"), column=saved.get("column"),
        filter_column=saved.get("filter_column"),
        filter_values=tuple(saved.get("filter_values") or ()),
    )


@dataclass
class RetrySheet:
    """The failed rows of a run, as a sheet to preview again."""

    sheet: MemberSheet
    run: RunRecord
    failed: int


def retry_failed_work(session: Session, run_id: str, current: MemberSheet | None) -> Work:
    """"Try the failed ones again": the run's sheet reduced to the addresses that failed."""

    def work(report: Report, cancel: threading.Event) -> RetrySheet:
        journal = session.journal()
        try:
            run = journal.run(run_id)
            failed = {i.email for i in journal.items(run_id, state="failed") if i.email}
        finally:
            journal.close()
        if (current is not None and current.path == run.file_path
                and current.sha256 == run.file_sha256):
            sheet = current
        else:
            report(Step("Reading the spreadsheet again"))
            sheet = engine.read(run.file_path, import_options(run.options.get("import")))
        return RetrySheet(only_addresses(sheet, failed), run, len(failed))

    return work


# =============================================================================================
# Preview


@dataclass
class PreviewReady:
    plan: Plan
    table: RowTable


def preview_work(session: Session, sheet: MemberSheet, action: Action,
                 list_names: Sequence[str]) -> Work:
    """Look the sheet up and plan every row; builds the table too."""

    def work(report: Report, cancel: threading.Event) -> PreviewReady:
        def progress(phase: Phase, done: int, total: int) -> None:
            report(Step(words.PHASES[phase], done, total))

        with gc_paused():
            plan = engine.preview(session, sheet, action, list_names, progress=progress,
                           cancel=cancel)
            report(Step("Preparing the table", 1, 1))
            return PreviewReady(plan, RowTable.from_plan(plan))

    return work


def export_preview_work(plan: Plan, path: str, fmt: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> Path:
        return export_preview(plan, path, fmt)

    return work


# =============================================================================================
# Run


@dataclass
class RunTable:
    """The rows of the run being carried out (sent once, before its first update)."""

    run_id: str
    table: RowTable


@dataclass
class RunTick:
    """One progress event of a run, with the rows whose state changed since the last one."""

    progress: RunProgress
    updates: list[RowUpdate] = field(default_factory=list)


class RunTracker:
    """The run's progress callback: turns :class:`RunProgress` into :class:`RunTick` reports.

    ``RunProgress.rows`` names the rows whose state changed; their new states come from the
    journal, as cheaply as it allows (a full read of a 100,000-row run takes most of a second):

    - rows of a batch being sent are ``sent`` (the journal marks them so before the request);
    - rows just checked are ``done`` (verified) unless the journal lists them as failed — one
      small query of the failed rows;
    - other changes (one-by-one unsubscribes) are read from the journal at most every
      ``interval`` seconds, which grows with the cost of the read, and always at the end.
    """

    def __init__(self, journal: Journal, report: Report, table: RowTable | None = None) -> None:
        self.journal = journal
        self.report = report
        self.table = table
        self.run_id = ""
        self.action = ""
        self.pending: set[int] = set()
        self.interval = 0.2
        self.last_query = 0.0

    def __call__(self, event: RunProgress) -> None:
        if event.run_id != self.run_id:
            self.run_id = event.run_id
            self.action = self.journal.run(event.run_id).action
            if self.table is None:
                self.table = RowTable.from_items(self.journal.items(event.run_id))
            self.report(RunTable(event.run_id, self.table))
        changes: dict[int, tuple[str, str, str, bool]] = {}
        if event.phase is Phase.SENDING:
            changes = {row: ("sent", "", "", False) for row in event.rows}
            self.pending.difference_update(event.rows)
        elif event.phase is Phase.CHECKED and self.action != "unsubscribe":
            changes = self._checked(event.rows)
            self.pending.difference_update(event.rows)
        else:
            self.pending.update(event.rows)
            due = time.monotonic() - self.last_query >= self.interval
            if self.pending and (due or event.phase in (Phase.CHECKED, Phase.FINISHED)):
                changes = self._read()
        self.report(RunTick(event, chunked_update(self.table, changes) if changes else []))

    def _checked(self, rows: Sequence[int]) -> dict[int, tuple[str, str, str, bool]]:
        failed = {i.row: i for i in self.journal.items(self.run_id, state="failed")}
        word = "re-added" if self.action == "undo" else "removed"
        done = ("done", word, "Checked in Constant Contact", True)
        out: dict[int, tuple[str, str, str, bool]] = {}
        for row in rows:
            item = failed.get(row)
            out[row] = ("failed", item.result, item.cc_message, False) if item else done
        return out

    def _read(self) -> dict[int, tuple[str, str, str, bool]]:
        started = time.monotonic()
        items = self.journal.items(self.run_id)
        wanted, self.pending = self.pending, set()
        changes = {i.row: (i.state, i.result, i.cc_message, i.verified) for i in items
                   if i.row in wanted}
        self.last_query = time.monotonic()
        self.interval = max(0.2, 5 * (self.last_query - started))
        return changes

    def flush(self) -> None:
        """Report the rows still waiting for their new state (at the end of the run)."""
        if self.pending and self.table is not None and self.run_id:
            changes = self._read()
            event = RunProgress(self.run_id, "", 0, 0)
            self.report(RunTick(event, chunked_update(self.table, changes)))


#: How other processes are told who is carrying a run out.
PROGRAM = "the window"


def run_work(session: Session, kind: str, *, plan: Plan | None = None, run_id: str = "",
             table: RowTable | None = None, wait_limit: float = WAIT_LIMIT) -> Work:
    """Carry out a run: ``kind`` is ``start`` (with ``plan``), ``resume`` or ``undo``
    (with ``run_id``). Returns the core's :class:`RunResult`; raises ``RunPaused``,
    ``RunCancelled`` and the rest as the core does."""

    def work(report: Report, cancel: threading.Event) -> RunResult:
        with gc_paused():
            return carry_out(report, cancel)

    def carry_out(report: Report, cancel: threading.Event) -> RunResult:
        journal = session.journal()
        try:
            rows = table
            if rows is None and kind == "start" and plan is not None:
                rows = RowTable.from_plan(plan, with_states=True)
            elif rows is None and kind == "resume":
                rows = RowTable.from_items(journal.items(run_id))
            if rows is not None:  # show the rows before the first batch goes out
                report(RunTable(run_id if kind == "resume" else "", rows))
            tracker = RunTracker(journal, report, rows)
            try:
                how = {"progress": tracker, "cancel": cancel, "program": PROGRAM,
                       "wait_limit": wait_limit}
                if kind == "start":
                    assert plan is not None
                    return engine.run(session, plan, **how)
                if kind == "resume":
                    return engine.resume(session, run_id, **how)
                if kind == "undo":
                    return engine.undo(session, run_id, **how)
                raise ValueError(kind)
            finally:
                tracker.flush()
        finally:
            journal.close()

    return work


# =============================================================================================
# Results and history


@dataclass
class RunDetails:
    """Everything the Results page shows about one run."""

    run: RunRecord
    result: RunResult
    table: RowTable
    groups: dict[str, int]
    undone_by: str | None = None  # a finished undo of this run
    original: RunRecord | None = None  # for an undo: the run it undid
    owner: Owner | None = None  # who last carried it out
    holder: Owner | None = None  # who carries it out now


def results_work(session: Session, run_id: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> RunDetails:
        with gc_paused():
            return read(report, cancel)

    def read(report: Report, cancel: threading.Event) -> RunDetails:
        journal = session.journal()
        try:
            run = journal.run(run_id)
            items = journal.items(run_id)  # read once, for the counts and the table
            result = result_from_items(run, items)
            table = RowTable.from_items(items)
            del items
            undone_by = next((r.run_id for r in journal.runs()
                              if r.undo_of == run_id and r.state == "finished"), None)
            original = journal.run(run.undo_of) if run.undo_of else None
            owner = journal.owner(run_id)
            holder = journal.holder(run_id) if run.unfinished else None
        finally:
            journal.close()
        return RunDetails(run, result, table, result_groups(result.counts), undone_by, original,
                          owner, holder)

    return work


@dataclass
class HistoryEntry:
    run: RunRecord
    counts: dict[str, int]
    holder: Owner | None = None  # who carries it out now (this window, or another process)

    @property
    def elsewhere(self) -> bool:
        return self.holder is not None and self.holder.pid != os.getpid()


def history_work(session: Session) -> Work:
    def work(report: Report, cancel: threading.Event) -> list[HistoryEntry]:
        journal = session.journal()
        try:
            return [HistoryEntry(run, result_groups(journal.result_counts(run.run_id)),
                                 journal.holder(run.run_id) if run.unfinished else None)
                    for run in journal.runs()]
        finally:
            journal.close()

    return work


def unfinished_work(session: Session) -> Work:
    def work(report: Report, cancel: threading.Event) -> list[RunRecord]:
        journal = session.journal()
        try:  # not the runs another process is carrying out now
            return [r for r in journal.unfinished_runs() if journal.holder(r.run_id) is None]
        finally:
            journal.close()

    return work


#: Seconds between two looks at a run another process carries out.
WATCH_EVERY = 0.5


def watch_work(session: Session, run_id: str, every: float = WATCH_EVERY) -> Work:
    """Follow a run another process carries out, through the journal, until nobody carries it
    out any more (it ended, paused, or its process died); returns the last status."""

    def work(report: Report, cancel: threading.Event) -> engine.RunStatus:
        while True:
            status = engine.status(session, run_id)
            report(status)
            if status.holder is None or cancel.wait(every):
                return status

    return work


def export_log_work(session: Session, run_id: str, path: str, fmt: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> Path:
        return engine.export(session, run_id, path, fmt)

    return work
