"""The engine: the job as one API, called by the command line and by the window alike.

Read a sheet, preview it against the account, run, resume or undo a run, watch a run another
process carries out, list runs, read a run's result, save its log. Each call opens what it
needs (a journal connection, the session's client) and closes it; progress comes as values
(:class:`~ccdesk.core.phases.Phase`, counts), never as sentences: the words for people live in
each front end. A job changed here is changed for both.

A preview can be recorded in the journal as a ``ready`` run (:func:`record`) and carried out
later, by another process (:func:`start`), or dropped (:func:`discard`). Every run, resume,
undo and start watches the journal for a stop request (:func:`request_stop`, from any process).

The wiring of a session (the keyring, the day's request count, the demo account) is
:mod:`ccdesk.engine.session`; the window's job process is :mod:`ccdesk.engine.child`, and what
it says (JSON lines) is :mod:`ccdesk.engine.wire`.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccdesk.core.addresses import Outcome as SheetOutcome
from ccdesk.core.export import default_log_path, export_log
from ccdesk.core.journal import READY, Owner, Progress, RunRecord
from ccdesk.core.listsource import preview_list as _preview_list
from ccdesk.core.lookup import Action
from ccdesk.core.pasted import save_pasted
from ccdesk.core.phases import Phase
from ccdesk.core.plan import Plan, PlanError
from ccdesk.core.plan import preview as _preview
from ccdesk.core.runner import (
    DEFAULT_PROGRAM,
    WAIT_LIMIT,
    ProgressCallback,
    RunResult,
    known_run,
    record_run,
    result_of,
    resume_run,
    start_ready,
    start_run,
    undo_run,
)
from ccdesk.core.sheet import ImportOptions, MemberSheet, SheetRows, read_sheet

if TYPE_CHECKING:
    from ccdesk.engine.session import Session

log = logging.getLogger("ccdesk.engine")


def read(path: str | Path, options: ImportOptions | None = None, *,
         progress: Callable[[str, float], None] | None = None) -> MemberSheet:
    """Read a spreadsheet and give every row an outcome (``progress(stage, fraction)``)."""
    return read_sheet(path, options, progress=progress)


def paste(text: str) -> Path:
    """Save pasted addresses (text copied from an email or a web page) as a small CSV file in
    the data folder, readable by its owner only, to be read like any sheet; returns its path.

    Raises:
        SheetError: the text holds no item.
        OSError: the file cannot be written.
    """
    return save_pasted(text)


def preview(session: Session, sheet: MemberSheet, action: Action, lists: Sequence[str], *,
            progress: Callable[[Phase, int, int], None] | None = None,
            cancel: threading.Event | None = None, to: str | None = None) -> Plan:
    """Look the sheet up in the account and plan every row (``to``: a move's target list).
    Changes nothing."""
    return _preview(session.client(), sheet, action, list(lists), progress=progress,
                    cancel=cancel, to=to)


def preview_list(session: Session, source: str, action: Action, lists: Sequence[str], *,
                 only_failed_of: str | None = None,
                 progress: Callable[[Phase, int, int], None] | None = None,
                 cancel: threading.Event | None = None, to: str | None = None) -> Plan:
    """Read the members of the list ``source`` (its name or id) and plan every one of them, as
    a sheet's rows (:mod:`ccdesk.core.listsource`). Changes nothing.

    Args:
        only_failed_of: plan only the members whose change failed in this run ("try the
            failed ones again").
        to: a move's target list.
    """
    only = failed_addresses(session, only_failed_of) if only_failed_of else None
    return _preview_list(session.client(), source, action, list(lists), only=only,
                         progress=progress, cancel=cancel, to=to)


#: Ready runs (recorded previews nobody started) older than this are deleted when another
#: preview is recorded.
KEEP_READY = 2 * 24 * 3600.0
#: Seconds between two looks at the journal for a stop request while a run goes on.
STOP_POLL = 0.3


def record(session: Session, plan: Plan) -> str:
    """Record a preview as a run in state ``ready`` (not listed with the runs): another process
    can start it (:func:`start`), a window can show its rows from the journal. Returns its id."""
    with session.journal() as journal:
        journal.prune_ready(KEEP_READY)
        return record_run(plan, journal)


def start(session: Session, run_id: str, *, progress: ProgressCallback | None = None,
          cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
          wait_limit: float = WAIT_LIMIT, on_run: Callable[[str], None] | None = None,
          ) -> RunResult:
    """Carry out a ready run (a recorded preview), after the checks a run of a fresh preview
    gets: refusal, age, the file unchanged, today's allowance."""
    return _carry_out(start_ready, run_id, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit, on_run=on_run)


def discard(session: Session, run_id: str) -> None:
    """Delete a ready run (a preview nobody started) and its items.

    Raises:
        PlanError: there is no such run, or it is not a ready one (runs are kept).
    """
    with session.journal() as journal:
        try:
            state = journal.run(run_id).state
        except KeyError:
            raise PlanError(f"There is no run {run_id}",
                            "Preview the sheet again.") from None
        if state != READY or not journal.discard_ready(run_id):
            raise PlanError("Only a preview that was not started can be discarded",
                            f"Run {run_id} has started; it is kept in History.")


def request_stop(session: Session, run_id: str) -> None:
    """Ask whoever carries the run out (this window, another one, the command line) to stop it
    as Stop does: at the next batch boundary, resumable. Nobody at it: the request is dropped
    when the run is next taken on."""
    with session.journal() as journal:
        journal.request_stop(run_id)


def run(session: Session, plan: Plan, *, progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
        wait_limit: float = WAIT_LIMIT, on_run: Callable[[str], None] | None = None) -> RunResult:
    """Carry out a preview: record it as a run in the journal, then make the changes."""
    return _carry_out(start_run, plan, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit, on_run=on_run)


def resume(session: Session, run_id: str, *, progress: ProgressCallback | None = None,
           cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
           wait_limit: float = WAIT_LIMIT, on_run: Callable[[str], None] | None = None,
           ) -> RunResult:
    """Carry on with an unfinished run (paused, stopped, or its owner gone)."""
    return _carry_out(resume_run, run_id, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit, on_run=on_run)


def undo(session: Session, run_id: str, *, progress: ProgressCallback | None = None,
         cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
         wait_limit: float = WAIT_LIMIT, on_run: Callable[[str], None] | None = None) -> RunResult:
    """Put back exactly the contacts a removal run removed, on exactly those lists; for a
    move, also take off the target list those the move put there (``on_run`` is told the
    undo run's own id)."""
    return _carry_out(undo_run, run_id, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit, on_run=on_run)


class _StopWatch:
    """A daemon thread that looks in the journal (a connection of its own) every
    :data:`STOP_POLL` seconds for a stop request of the run being carried out, and sets
    ``cancel`` when there is one: any process can stop the run (:func:`request_stop`)."""

    def __init__(self, session: Session, cancel: threading.Event) -> None:
        self._session = session
        self._cancel = cancel
        self._run_id: str | None = None
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, run_id: str) -> None:
        """From now on, watch this run (the run a job took on: for an undo, the undo's own)."""
        self._run_id = run_id
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ccdesk-stop-watch",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        try:
            journal = self._session.journal()
        except Exception:
            log.warning("stop requests cannot be watched", exc_info=True)
            return
        try:
            while not self._ended.is_set():
                run_id = self._run_id
                try:
                    if run_id is not None and journal.stop_requested(run_id):
                        log.info("run %s: a stop was requested", run_id)
                        self._cancel.set()
                        return
                except sqlite3.Error as exc:  # busy or locked for a moment: look again
                    log.debug("stop request not readable: %s", exc)
                self._ended.wait(STOP_POLL)
        finally:
            journal.close()

    def end(self) -> None:
        self._ended.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _carry_out(job: Callable[..., RunResult], subject: Plan | str, session: Session,
               *, cancel: threading.Event | None, on_run: Callable[[str], None] | None,
               **how: Any) -> RunResult:
    """``job(subject, client, journal, **how)`` with a journal connection of its own, watching
    for stop requests of the run it takes on (which sets ``cancel``)."""
    cancel = cancel if cancel is not None else threading.Event()
    watch = _StopWatch(session, cancel)

    def taken_on(run_id: str) -> None:
        watch.watch(run_id)
        if on_run is not None:
            on_run(run_id)

    try:
        with session.journal() as journal:
            return job(subject, session.client(), journal, cancel=cancel, on_run=taken_on, **how)
    finally:
        watch.end()


def only_addresses(sheet: MemberSheet, emails: AbstractSet[str]) -> MemberSheet:
    """The same sheet, keeping only the valid rows whose address is in ``emails``."""
    r = sheet.rows
    keep = [i for i, (e, o) in enumerate(zip(r.emails, r.outcomes, strict=True))
            if o is SheetOutcome.VALID and e in emails]
    rows = SheetRows([r.numbers[i] for i in keep], [r.values[i] for i in keep],
                     [r.emails[i] for i in keep], [r.outcomes[i] for i in keep],
                     [r.reasons[i] for i in keep], [r.duplicate_of[i] for i in keep])
    counts = {str(o): 0 for o in SheetOutcome}
    counts[str(SheetOutcome.VALID)] = len(keep)
    return dataclasses.replace(sheet, rows=rows, counts=counts)


def failed_addresses(session: Session, run_id: str) -> set[str]:
    """The addresses whose change failed in a run (to try them again)."""
    with session.journal() as journal:
        known_run(journal, run_id)
        return {i.email for i in journal.items(run_id, state="failed") if i.email}


def only_failed(session: Session, sheet: MemberSheet, run_id: str) -> MemberSheet:
    """"Try the failed ones again": the sheet reduced to the valid rows whose address failed in
    run ``run_id``."""
    return only_addresses(sheet, failed_addresses(session, run_id))


def result(session: Session, run_id: str) -> RunResult:
    """A run's counts as the journal has them."""
    with session.journal() as journal:
        return result_of(journal, run_id)


@dataclass(frozen=True)
class RunStatus:
    """A run as the journal has it now: for a window watching a run another process (a second
    window, the command line, a scheduled job) carries out."""

    run: RunRecord
    counts: dict[str, int]
    progress: Progress | None
    holder: Owner | None  # who carries it out now; None: nobody

    @property
    def abandoned(self) -> bool:
        """Marked running, but nobody carries it out: its process ended before the end."""
        return self.holder is None and self.run.state == "running"


def status(session: Session, run_id: str) -> RunStatus:
    """Where a run is now, whoever carries it out."""
    with session.journal() as journal:
        return RunStatus(journal.run(run_id), journal.result_counts(run_id),
                         journal.progress(run_id), journal.holder(run_id))


def runs(session: Session) -> list[RunRecord]:
    """The runs kept on this computer for this account's profile, newest first."""
    with session.journal() as journal:
        return journal.runs()


def export(session: Session, run_id: str, path: str | Path | None = None,
           fmt: str = "xlsx") -> Path:
    """Save a run's results log (by default in the data folder's ``logs``); returns where."""
    with session.journal() as journal:
        known_run(journal, run_id)
        return export_log(journal, run_id, path or default_log_path(run_id, fmt), fmt)


__all__ = ["RunStatus", "discard", "export", "failed_addresses", "only_addresses", "only_failed",
           "paste", "preview", "preview_list", "read", "record", "request_stop", "result",
           "resume", "run", "runs", "start", "status", "undo"]
