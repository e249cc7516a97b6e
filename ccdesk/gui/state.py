"""What the window is working on, in one object with change signals.

:class:`WindowState` holds the session, the connected account, the open sheet, the current
preview and the run on show. Pages are built from it (and from the jobs service,
:class:`ccdesk.gui.jobs.Jobs`): they read it and follow its signals, and never reach into the
main window or into each other. Only the jobs service changes it.

The big tables are not here: a sheet's rows, a preview's and a run's are in SQLite files (the
journal, or a sheet's rows file) that :class:`ccdesk.gui.itemsmodel.ItemsModel` reads as the
view scrolls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ccdesk.core.journal import Owner, RunRecord
from ccdesk.core.sheet import MemberSheet
from ccdesk.engine import RunStatus
from ccdesk.engine.session import Session
from ccdesk.engine.wire import PreviewInfo
from ccdesk.gui.tasks import AccountInfo

#: ``SheetView.rows_path`` of a Constant Contact list as the source: its members are read by
#: the preview, so there is no rows file.
NO_ROWS = Path()


@dataclass
class SheetView:
    """An open spreadsheet: what was found (its rows left out), and where its rows are. Or a
    Constant Contact list chosen instead (``sheet.source_list``; ``rows_path`` is
    :data:`NO_ROWS`)."""

    sheet: MemberSheet
    rows_path: Path

    @property
    def path(self) -> str:
        return self.sheet.path

    @property
    def from_list(self) -> bool:
        return self.sheet.from_list


@dataclass
class RetryOf:
    """The next preview tries again the failed rows of a run."""

    run: RunRecord
    failed: int


@dataclass
class RunView:
    """The run on the Run page: this window's, or one another process carries out."""

    action: str
    headline: str
    own: bool  # started (or resumed, or undone) by this window
    run_id: str = ""  # "" until the run's child has recorded it (an undo's new run)
    who: str = ""  # for a run carried out elsewhere: who, in words
    status: RunStatus | None = None  # the journal's latest, read by the jobs service
    ended: str = ""  # "", or how it ended: finished, paused, cancelled, failed, abandoned
    error: BaseException | None = None
    stopping: bool = False  # Stop was pressed
    stop_sent: bool = False  # and asked of the process carrying the run out
    draft: bool = False  # a preview being started (it stays a draft if it is refused)
    refused: bool = False  # and it was refused before it began: nothing was done

    @property
    def active(self) -> bool:
        return not self.ended


class WindowState(QObject):
    """The window's state; each change is announced by the matching signal."""

    session_changed = Signal(object)  # Session | None
    account_changed = Signal(object)  # AccountInfo | None
    sheet_changed = Signal(object)  # SheetView | None
    preview_changed = Signal(object)  # PreviewInfo | None
    retry_changed = Signal(object)  # RetryOf | None: the next preview is of a run's failed rows
    run_changed = Signal(object)  # RunView | None (also on each new status)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.account: AccountInfo | None = None
        self.sheet: SheetView | None = None
        self.preview: PreviewInfo | None = None
        self.retry: RetryOf | None = None
        self.run: RunView | None = None
        self.demo = False

    # -- queries ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return bool(self.account and self.account.connected)

    @property
    def running(self) -> bool:
        """A run of this window is under way."""
        return self.run is not None and self.run.own and self.run.active

    @property
    def watching(self) -> bool:
        return self.run is not None and not self.run.own and self.run.active

    def resumable(self, run: RunRecord, holder: Owner | None) -> bool:
        """Whether ``run`` can be resumed here and now (``holder``: who carries it out now)."""
        return (run.state in ("running", "paused", "cancelled") and not self.running
                and holder is None)

    def watchable(self, run: RunRecord, holder: Owner | None) -> bool:
        """Whether another process carries ``run`` out now (it can be watched, not resumed)."""
        return run.unfinished and not self.running and holder is not None

    def not_resumable_reason(self, run: RunRecord | None, holder: Owner | None) -> str:
        """Why Resume is greyed for ``run`` ("" when it is not)."""
        if run is None:
            return "Choose a run in the list to resume it."
        if run.state == "finished":
            return "This run is finished: there is nothing left to resume."
        if self.session is None:
            return "Connect to Constant Contact to resume this run."
        if self.running:
            return "Another run is in progress; resume this one when it is finished."
        if holder is not None:
            who = holder.describe()
            return (f"{who[0].upper()}{who[1:]} is carrying this run out now. Watch it here, "
                    "or let it finish: its results show here when you open the run again.")
        return ""

    # -- changes (the jobs service makes them) -----------------------------------------------
    def set_session(self, session: Session | None) -> None:
        self.session = session
        self.demo = bool(session is not None and session.demo and session.sandbox is not None)
        self.session_changed.emit(session)

    def set_account(self, info: AccountInfo | None) -> None:
        self.account = info
        self.account_changed.emit(info)

    def set_sheet(self, view: SheetView | None) -> None:
        self.sheet = view
        self.retry = None
        self.set_preview(None)
        self.sheet_changed.emit(view)

    def set_preview(self, info: PreviewInfo | None) -> None:
        self.preview = info
        self.preview_changed.emit(info)

    def set_retry(self, retry: RetryOf | None) -> None:
        self.retry = retry
        self.retry_changed.emit(retry)

    def set_run(self, run: RunView | None) -> None:
        self.run = run
        self.run_changed.emit(run)

    def run_updated(self) -> None:
        self.run_changed.emit(self.run)
