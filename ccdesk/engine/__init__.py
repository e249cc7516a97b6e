"""The engine: the job as one API, called by the command line and by the window alike.

Read a sheet, preview it against the account, run, resume or undo a run, watch a run another
process carries out, list runs, read a run's result, save its log. Each call opens what it
needs (a journal connection, the session's client) and closes it; progress comes as values
(:class:`~ccdesk.core.phases.Phase`, counts), never as sentences: the words for people live in
each front end. A job changed here is changed for both.

The wiring of a session (the keyring, the day's request count, the demo account) is
:mod:`ccdesk.engine.session`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccdesk.core.export import default_log_path, export_log
from ccdesk.core.journal import Owner, Progress, RunRecord
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase
from ccdesk.core.plan import Plan, PlanError
from ccdesk.core.plan import preview as _preview
from ccdesk.core.runner import (
    DEFAULT_PROGRAM,
    WAIT_LIMIT,
    ProgressCallback,
    RunResult,
    result_of,
    resume_run,
    start_run,
    undo_run,
)
from ccdesk.core.sheet import ImportOptions, MemberSheet, read_sheet

if TYPE_CHECKING:
    from ccdesk.engine.session import Session


def read(path: str | Path, options: ImportOptions | None = None, *,
         progress: Callable[[str, float], None] | None = None) -> MemberSheet:
    """Read a spreadsheet and give every row an outcome (``progress(stage, fraction)``)."""
    return read_sheet(path, options, progress=progress)


def preview(session: Session, sheet: MemberSheet, action: Action, lists: Sequence[str], *,
            progress: Callable[[Phase, int, int], None] | None = None,
            cancel: threading.Event | None = None) -> Plan:
    """Look the sheet up in the account and plan every row. Changes nothing."""
    return _preview(session.client(), sheet, action, list(lists), progress=progress,
                    cancel=cancel)


def run(session: Session, plan: Plan, *, progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
        wait_limit: float = WAIT_LIMIT) -> RunResult:
    """Carry out a preview: record it as a run in the journal, then make the changes."""
    return _carry_out(start_run, plan, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit)


def resume(session: Session, run_id: str, *, progress: ProgressCallback | None = None,
           cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
           wait_limit: float = WAIT_LIMIT) -> RunResult:
    """Carry on with an unfinished run (paused, stopped, or its owner gone)."""
    return _carry_out(resume_run, run_id, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit)


def undo(session: Session, run_id: str, *, progress: ProgressCallback | None = None,
         cancel: threading.Event | None = None, program: str = DEFAULT_PROGRAM,
         wait_limit: float = WAIT_LIMIT) -> RunResult:
    """Put back exactly the contacts a removal run removed, on exactly those lists."""
    return _carry_out(undo_run, run_id, session, progress=progress, cancel=cancel,
                      program=program, wait_limit=wait_limit)


def _carry_out(job: Callable[..., RunResult], subject: Plan | str, session: Session,
               **how: Any) -> RunResult:
    """``job(subject, client, journal, **how)`` with a journal connection of its own."""
    with session.journal() as journal:
        return job(subject, session.client(), journal, **how)


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
        try:
            journal.run(run_id)
        except KeyError:
            raise PlanError(f"There is no run {run_id}",
                            "See the runs kept on this computer in History (or: ccdesk runs).") from None
        return export_log(journal, run_id, path or default_log_path(run_id, fmt), fmt)


__all__ = ["RunStatus", "export", "preview", "read", "result", "resume", "run", "runs", "status",
           "undo"]
