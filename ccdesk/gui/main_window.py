"""The main window: the steps on the left, the demo banner and the account on top, one page
at a time in the middle.

The window owns the shared state — the :class:`~ccdesk.engine.session.Session`, the open sheet,
the current preview — and every :class:`~ccdesk.gui.worker.Job`. Pages start work through
:meth:`MainWindow.start_job` and report errors through :meth:`MainWindow.report_error`.

Sessions come from factories so that tests (and the demo) can inject their own:
``account_factory()`` for a real account, ``demo_factory()`` for the demo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import EllipsisType
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.cc.errors import AuthError
from ccdesk.core.journal import Owner, RunRecord
from ccdesk.core.plan import Plan, PlanError
from ccdesk.core.runner import RunPaused, RunResult
from ccdesk.core.sheet import MemberSheet
from ccdesk.credentials import KeyringUnavailable
from ccdesk.engine.session import Session, reset_demo
from ccdesk.errors import CcdeskError
from ccdesk.gui import dialogs, tasks, words
from ccdesk.gui.icons import app_icon
from ccdesk.gui.pages.account import AccountPage
from ccdesk.gui.pages.history import HistoryPage
from ccdesk.gui.pages.preview import PreviewPage
from ccdesk.gui.pages.results import ResultsPage
from ccdesk.gui.pages.run import RunPage
from ccdesk.gui.pages.sheet import SheetPage
from ccdesk.gui.settings import Settings
from ccdesk.gui.widgets import Banner, PageStack
from ccdesk.gui.worker import Job, WorkFunction, keep_window_responsive
from ccdesk.paths import storage_error

log = logging.getLogger("ccdesk.gui")

SessionFactory = Callable[[], Session]

STEPS = (
    ("account", "1  Account"),
    ("sheet", "2  Spreadsheet"),
    ("preview", "3  What will happen"),
    ("run", "4  Run"),
    ("results", "5  Results"),
    ("history", "History"),
)


def default_demo_factory(data: dict[str, Any] | None = None) -> SessionFactory:
    return lambda: Session.demo_session(data)


class MainWindow(QMainWindow):
    """ccdesk's window.

    Args:
        settings: the remembered settings (a fresh :class:`Settings` by default).
        demo: start on the demo account.
        demo_factory: builds the demo session.
        account_factory: builds the session of the real account.
        open_browser: how to open the sign-in page (the system browser by default).
        log_file: named in error details.
        start: begin at once (build the session, check the connection).
    """

    session_ready = Signal()
    account_changed = Signal(object)  # tasks.AccountInfo
    sheet_loaded = Signal(object)  # tasks.SheetLoaded
    preview_ready = Signal(object)  # tasks.PreviewReady
    run_ended = Signal(str, str)  # run id, "finished" / "paused" / "cancelled" / "failed"
    results_shown = Signal(str)  # run id
    history_loaded = Signal(int)  # number of runs
    error_shown = Signal(object)  # the exception
    notice = Signal(str)  # a plain-words notice from the session, from any thread

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        demo: bool = False,
        demo_factory: SessionFactory | None = None,
        account_factory: SessionFactory | None = None,
        open_browser: Callable[[str], Any] | None = None,
        log_file: Path | str | None = None,
        start: bool = True,
    ) -> None:
        super().__init__()
        keep_window_responsive()
        self.settings = settings or Settings()
        self.demo = demo
        self.demo_factory = demo_factory or default_demo_factory()
        self.account_factory = account_factory or (lambda: Session.for_profile())
        self.open_browser = open_browser
        self.log_file = log_file
        self.session: Session | None = None
        self.account_info: tasks.AccountInfo | None = None
        self.loaded: tasks.SheetLoaded | None = None
        self.sheet: MemberSheet | None = None
        self.plan: Plan | None = None
        self.jobs: set[Job] = set()
        self.last_error: BaseException | None = None
        self._offered_resume = False
        self._first_check = True
        self.file_to_open: str | None = None  # from the command line / file manager
        self._closing = False

        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build()
        self.notice.connect(self._show_notice)
        # A fixed minimum instead of the layout's changing one: the window does not jump in
        # size when a page's content changes (and the offscreen platform used by the tests
        # does not warn about size hints it cannot pass on).
        self.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.setMinimumSize(900, 600)
        self._restore_geometry()
        self.update_title()
        if start:
            QTimer.singleShot(0, self.begin)

    # =========================================================================================
    # Building

    def _build(self) -> None:
        central = QWidget()
        self.setCentralWidget(central)
        outer = QVBoxLayout(central)
        self.demo_banner = Banner(
            "<b>Demo account.</b> The members, lists and spreadsheet are made up, and nothing "
            "real is touched: ccdesk works on a practice copy of Constant Contact inside itself. "
            "It keeps its changes and runs until you reset it.",
            "demo")
        self.demo_banner.setAccessibleName("Demo account: nothing real is touched")
        self.leave_demo_button = QPushButton("Leave the demo")
        self.reset_demo_button = QPushButton("Reset the demo…")
        self.reset_demo_button.setAccessibleName(
            "Reset the demo: its members, lists and runs go back to the start")
        self.demo_banner.layout().addWidget(self.reset_demo_button)
        self.demo_banner.layout().addWidget(self.leave_demo_button)
        outer.addWidget(self.demo_banner)
        self.account_line = QLabel("Not connected")
        self.account_line.setAccessibleName("Connected account")
        outer.addWidget(self.account_line)

        body = QHBoxLayout()
        outer.addLayout(body, 1)
        side = QFrame()
        side.setFrameShape(QFrame.Shape.StyledPanel)
        side.setMinimumWidth(190)
        side_layout = QVBoxLayout(side)
        self.step_buttons: dict[str, QPushButton] = {}
        self.step_group = QButtonGroup(self)
        self.step_group.setExclusive(True)
        for key, text in STEPS:
            button = QPushButton(text)
            button.setCheckable(True)
            button.setFlat(True)
            button.setStyleSheet("QPushButton { text-align: left; padding: 6px 10px; }"
                                 "QPushButton:checked { font-weight: bold; }")
            button.setAccessibleName(f"Step: {text.split('  ')[-1]}")
            button.clicked.connect(lambda checked=False, k=key: self.go(k))
            self.step_group.addButton(button)
            self.step_buttons[key] = button
            side_layout.addWidget(button)
            if key == "results":
                side_layout.addSpacing(16)
        side_layout.addStretch(1)
        body.addWidget(side)

        self.stack = PageStack()
        self.account_page = AccountPage(self)
        self.sheet_page = SheetPage(self)
        self.preview_page = PreviewPage(self)
        self.run_page = RunPage(self)
        self.results_page = ResultsPage(self)
        self.history_page = HistoryPage(self)
        self.pages = {"account": self.account_page, "sheet": self.sheet_page,
                      "preview": self.preview_page, "run": self.run_page,
                      "results": self.results_page, "history": self.history_page}
        for page in self.pages.values():
            self.stack.addWidget(page)
        body.addWidget(self.stack, 1)
        self.leave_demo_button.clicked.connect(self.leave_demo)
        self.reset_demo_button.clicked.connect(self.reset_demo)
        self._build_menus()
        self._show_demo(self.demo)
        self.statusBar()
        self._update_steps()

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open spreadsheet…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._open_from_menu)
        menu.addAction(self.open_action)
        self.reset_demo_action = QAction("&Reset the demo…", self)
        self.reset_demo_action.triggered.connect(self.reset_demo)
        menu.addAction(self.reset_demo_action)
        menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        go = self.menuBar().addMenu("&Go")
        self.go_actions: dict[str, QAction] = {}
        for n, (key, text) in enumerate(STEPS, 1):
            action = QAction(text.split("  ")[-1], self)
            action.setShortcut(QKeySequence(f"Ctrl+{n}"))
            action.triggered.connect(lambda checked=False, k=key: self.go(k))
            go.addAction(action)
            self.go_actions[key] = action
        help_menu = self.menuBar().addMenu("&Help")
        logs = QAction("Open the folder of the &log file", self)
        logs.triggered.connect(self._open_log_folder)
        help_menu.addAction(logs)
        about = QAction("&About ccdesk", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    # =========================================================================================
    # Navigation

    def go(self, key: str) -> None:
        """Show a page (if its step is available)."""
        if not self.step_buttons[key].isEnabled():
            return
        page = self.pages[key]
        self.stack.setCurrentWidget(page)
        self.step_buttons[key].setChecked(True)
        page.entered()

    def current_page(self) -> str:
        page = self.stack.currentWidget()
        return next(k for k, p in self.pages.items() if p is page)

    def _update_steps(self) -> None:
        connected = bool(self.account_info and self.account_info.connected)
        available = {
            "account": True,
            "sheet": connected,
            "preview": connected and self.sheet is not None,
            "run": self.run_page.running or self.run_page.watching or bool(self.run_page.run_id),
            "results": bool(self.results_page.run_id),
            "history": connected,
        }
        for key, ok in available.items():
            self.step_buttons[key].setEnabled(ok)
            self.go_actions[key].setEnabled(ok)
        self.open_action.setEnabled(connected)

    def update_title(self) -> None:
        title = "ccdesk"
        if self.demo:
            title += " (demo)"
        if self.sheet is not None:
            title = f"{Path(self.sheet.path).name} — {title}"
        self.setWindowTitle(title)

    def _show_notice(self, text: str) -> None:
        """A notice from the session: a renewed sign-in the password store refused, or (the
        demo keeps no sign-in) a saved demo account that could not be read."""
        self.say(text)
        title = "The demo starts again" if self.demo else "ccdesk could not save your sign-in"
        dialogs.show_info(self, title, text)

    def say(self, text: str) -> None:
        """A short message in the status bar."""
        self.statusBar().showMessage(text, 15_000)

    # =========================================================================================
    # Jobs and errors

    def start_job(self, name: str, work: WorkFunction, *, on_done: Callable[[Any], Any],
                  on_error: Callable[[BaseException], Any] | None = None,
                  on_cancel: Callable[[Any], Any] | None = None,
                  on_progress: Callable[[Any], Any] | None = None) -> Job:
        """Run ``work`` on a worker thread; the callbacks run on the GUI thread."""
        job = Job(name, work, self)
        if on_progress is not None:
            job.progress.connect(on_progress)
        job.finished.connect(on_done)
        job.failed.connect(on_error or self.report_error)
        job.cancelled.connect(on_cancel or (lambda exc: None))
        job.ended.connect(lambda: self._job_ended(job))
        self.jobs.add(job)
        return job.start()

    def _job_ended(self, job: Job) -> None:
        self.jobs.discard(job)
        job.deleteLater()

    def busy(self) -> bool:
        return bool(self.jobs)

    def report_error(self, exc: BaseException) -> None:
        """Show an error: title, what to do, details (with the log file)."""
        self.last_error = exc
        title, what_to_do, _ = dialogs.error_texts(exc)
        log.info("shown to the user: %s (%s)", title, type(exc).__name__)
        self.say(f"{title}. {what_to_do}")
        self.error_shown.emit(exc)
        dialogs.show_error(self, exc, self.log_file)
        if isinstance(exc, AuthError) or isinstance(getattr(exc, "cause", None), AuthError):
            self.check_account()
            self.go("account")
        elif isinstance(exc, KeyringUnavailable):
            self.go("account")

    # =========================================================================================
    # Session and account

    def begin(self) -> None:
        """Build the session and check the connection."""
        if self.demo:
            self._make_session(self.demo_factory)
        else:
            self._make_session(self.account_factory)

    def _make_session(self, factory: SessionFactory) -> None:
        self._first_check = True
        self.account_page.show_checking()
        self.go("account")
        self.account_line.setText("Starting…" if self.demo else "Checking the connection…")
        self.start_job("session", tasks.session_work(factory), on_done=self._session_made,
                       on_error=self._session_failed)

    def _session_made(self, session: Session) -> None:
        self.session = session
        session.on_notice = self.notice.emit  # queued to this thread when sent from a job
        self.demo = session.demo and session.sandbox is not None
        self._show_demo(self.demo)
        self.update_title()
        self.session_ready.emit()
        self.check_account()

    def _session_failed(self, exc: BaseException) -> None:
        self.account_ready(tasks.AccountInfo(False, demo=self.demo))
        self.report_error(exc)

    def check_account(self) -> None:
        if self.session is None:
            return
        self.account_page.show_checking()
        self.start_job("account", tasks.account_work(self.session), on_done=self.account_ready,
                       on_error=self._account_failed)

    def _account_failed(self, exc: BaseException) -> None:
        self.account_ready(tasks.AccountInfo(False, demo=self.demo))
        self.report_error(exc)

    def account_ready(self, info: tasks.AccountInfo) -> None:
        """The connection is known (connected or not)."""
        was = self.account_info
        self.account_info = info
        self.account_page.show_account(info)
        if info.connected and info.account is not None:
            self.account_line.setText(
                f"Connected to <b>{_html(info.account.organization_name)}</b> as "
                f"{_html(info.account.contact_email)} · "
                f"{info.quota_left:,} Constant Contact requests left today")
        else:
            self.account_line.setText("Not connected to Constant Contact.")
        changed = (was is None or was.connected != info.connected
                   or (was.account != info.account))
        if changed:
            self.preview_page.account_changed()
        self._update_steps()
        self.account_changed.emit(info)
        if info.connected and changed:
            if self._first_check:  # already connected at start-up: straight to the sheet
                self.go("sheet")
            else:
                self.account_page.next_button.setFocus()
            if self.file_to_open:  # given at start-up: open it as soon as it can be
                path, self.file_to_open = self.file_to_open, None
                self.open_sheet(path)
            self._offer_resume()
        elif self.file_to_open and not info.connected:
            self.say(f"Connect an account (or try the demo), then {Path(self.file_to_open).name} "
                     "opens.")
        self._first_check = False

    def refresh_quota(self) -> None:
        session, info = self.session, self.account_info
        if session is None or info is None or not info.connected:
            return

        def work(report: Any, cancel: Any) -> int:
            return session.quota_left()

        def done(left: int) -> None:
            if self.account_info is not None and self.account_info.connected:
                self.account_info.quota_left = left
                self.account_ready(self.account_info)

        self.start_job("quota", work, on_done=done, on_error=lambda exc: None)

    def switch_to_demo(self) -> None:
        """"Try the demo": the built-in demo account."""
        if self.run_page.running:
            return
        self._drop_session()
        self.demo = True
        self._show_demo(True)
        self._make_session(self.demo_factory)

    def leave_demo(self) -> None:
        """Back to the real account (not connected yet, usually)."""
        if self.run_page.running:
            return
        self._drop_session()
        self.demo = False
        self._show_demo(False)
        self._make_session(self.account_factory)

    def reset_demo(self) -> None:
        """"Reset the demo" (after asking): the demo account back as bundled, its runs gone."""
        if not self.demo:
            return
        if self.run_page.running:
            self.say("Stop the run first, then reset the demo.")
            return
        if not dialogs.ask_yes_no(
                self, "Reset the demo?", "Put the demo back to the start?", "Reset the demo",
                informative="The demo account's members and lists go back to how they were at "
                "the start, and its History is emptied: every run made in the demo is forgotten "
                "and can no longer be resumed or undone. Nothing real is touched.", danger=True):
            return
        self._drop_session()
        try:
            reset_demo()
        except CcdeskError as exc:  # a command-line run of the demo is in progress
            self.report_error(exc)
        except OSError as exc:
            self.report_error(storage_error(exc))
        else:
            self.say("The demo is back at the start.")
        self._make_session(self.demo_factory)

    def _show_demo(self, demo: bool) -> None:
        self.demo_banner.setVisible(demo)
        self.reset_demo_action.setVisible(demo)

    def _drop_session(self) -> None:
        self._stop_jobs()
        if self.session is not None:
            self.session.close()
        self.session = None
        self.account_info = None
        self._offered_resume = False
        self.loaded = self.sheet = self.plan = None
        self.preview_page.account_changed()
        self.results_page.run_id = ""
        self.run_page.run_id = ""
        self._update_steps()
        self.update_title()

    # =========================================================================================
    # Sheet and preview

    def open_sheet(self, path: str) -> None:
        """Open a spreadsheet (the menu, drag and drop, tests)."""
        if not self.step_buttons["sheet"].isEnabled():
            self.say("Connect an account (or try the demo) first.")
            return
        self.go("sheet")
        self.sheet_page.open(path)

    def _open_from_menu(self) -> None:
        self.go("sheet")
        self.sheet_page.choose_file()

    def sheet_ready(self, loaded: tasks.SheetLoaded) -> None:
        self.loaded = loaded
        self.sheet = loaded.sheet
        self.plan = None
        self.preview_page.reset()
        self.update_title()
        self._update_steps()
        self.sheet_loaded.emit(loaded)

    def plan_ready(self, ready: tasks.PreviewReady) -> None:
        self.plan = ready.plan
        self.preview_ready.emit(ready)
        self.refresh_quota()

    def retry_failed(self, run_id: str) -> None:
        """"Try the failed ones again": a new preview of only the failed addresses."""
        if self.session is None:
            return
        self.start_job("retry", tasks.retry_failed_work(self.session, run_id, self.sheet),
                       on_done=self._retry_ready, on_error=self.report_error)

    def _retry_ready(self, retry: tasks.RetrySheet) -> None:
        self.sheet = retry.sheet
        self.plan = None
        self.preview_page.reset()
        self.preview_page.set_choices(retry.run.action, retry.run.list_names)
        self.preview_page.show_retry(
            f"<b>Trying again only the {words.plural(retry.failed, 'address', 'addresses')} "
            f"that failed</b> in the run of {words.when(retry.run.created_at)}. They are looked "
            "up afresh; check the preview, then run it.")
        self._update_steps()
        self.go("preview")
        self.preview_page.make_preview()

    # =========================================================================================
    # Runs

    def start_run(self, plan: Plan) -> None:
        """Run a confirmed preview."""
        if self.session is None or self.run_page.running:
            return
        job = self.start_job("run", tasks.run_work(self.session, "start", plan=plan,
                                                            wait_limit=self._wait_limit()),
                             on_done=self._run_finished, on_error=self._run_failed,
                             on_cancel=self._run_cancelled)
        self.run_page.begin(job, action=str(plan.action), headline=words.run_headline(
            str(plan.action), len(plan.changes), plan.list_names))
        self._update_steps()
        self.go("run")

    def resume_run(self, run: RunRecord) -> None:
        if self.session is None or self.run_page.running:
            return
        job = self.start_job("resume", tasks.run_work(self.session, "resume", run_id=run.run_id,
                                                            wait_limit=self._wait_limit()),
                             on_done=self._run_finished, on_error=self._run_failed,
                             on_cancel=self._run_cancelled)
        self.run_page.begin(job, action=run.action, headline="Resuming: " + words.ACTION_TITLES.get(
            run.action, run.action) + f" (run of {words.when(run.created_at)})")
        self._update_steps()
        self.go("run")

    def undo_run(self, run_id: str, count: int, lists: str = "") -> None:
        if self.session is None or self.run_page.running:
            return
        job = self.start_job("undo", tasks.run_work(self.session, "undo", run_id=run_id,
                                                            wait_limit=self._wait_limit()),
                             on_done=self._run_finished, on_error=self._run_failed,
                             on_cancel=self._run_cancelled)
        self.run_page.begin(job, action="undo", headline=words.run_headline(
            "undo", count, lists or "their lists"))
        self._update_steps()
        self.go("run")

    def watch_run(self, run: RunRecord, holder: Owner) -> None:
        """Follow a run another process (``holder``: a window, the command line, a scheduled
        job) carries out, through the journal, until it ends there."""
        if self.session is None or self.run_page.running:
            return
        job = self.start_job("watch", tasks.watch_work(self.session, run.run_id),
                             on_done=self._watch_over, on_error=self.report_error)
        self.run_page.watch(job, action=run.action, who=holder.describe(),
                            headline=words.ACTION_TITLES.get(run.action, run.action)
                            + f" (run of {words.when(run.created_at)})")
        self._update_steps()
        self.go("run")

    def _watch_over(self, status: Any) -> None:
        if self._closing or not self.run_page.watching:
            return  # stopped watching (the window closes, or a run of its own began)
        how = "abandoned" if status.abandoned else status.run.state
        if how == "abandoned":
            self.say("The process carrying the run out ended before the end.")
        self._run_over(status.run.run_id, how)

    def _run_over(self, run_id: str, how: str) -> None:
        self.run_page.finish(how)
        self._update_steps()
        self.run_ended.emit(run_id, how)
        if self._closing:
            QTimer.singleShot(0, self, self.close)
            return
        self.refresh_quota()
        if run_id:
            self.show_results(run_id)

    def _run_finished(self, result: RunResult) -> None:
        self.say("The run is finished.")
        self._run_over(result.run_id, "finished")

    def _run_cancelled(self, exc: object) -> None:
        run_id = getattr(exc, "run_id", "") or self.run_page.run_id
        self.say("The run was stopped.")
        self._run_over(run_id, "cancelled")

    def _run_failed(self, exc: BaseException) -> None:
        if isinstance(exc, RunPaused):
            self._run_over(exc.run_id, "paused")
            if not self._closing:
                self.report_error(exc)
            return
        if isinstance(exc, PlanError) and not self.run_page.run_id:
            self._update_steps()
            self.run_ended.emit("", "failed")
            self.go("preview")
            self.report_error(exc)
            return
        self._run_over(self.run_page.run_id, "failed")
        if not self._closing:
            self.report_error(exc)

    def show_results(self, run_id: str) -> None:
        self.results_page.load(run_id)
        self._update_steps()
        self.go("results")

    def _wait_limit(self) -> float:
        return max(1, int(self.settings.get("prefs/wait_limit_minutes"))) * 60.0

    def resumable(self, run: RunRecord, holder: Owner | EllipsisType | None = ...) -> bool:
        """Whether ``run`` can be resumed here and now (``holder``: who carries it out, as a
        worker read it; looked up when not given)."""
        if run.state not in ("running", "paused", "cancelled") or self.run_page.running:
            return False
        return self._holder(run, holder) is None

    def watchable(self, run: RunRecord, holder: Owner | EllipsisType | None = ...) -> bool:
        """Whether another process carries ``run`` out now (it can be watched, not resumed)."""
        return (run.unfinished and not self.run_page.running
                and self._holder(run, holder) is not None)

    def not_resumable_reason(self, run: RunRecord,
                             holder: Owner | EllipsisType | None = ...) -> str:
        if self.run_page.running:
            return "Another run is in progress; resume this one when it is finished."
        holder = self._holder(run, holder)
        if holder is not None:
            who = holder.describe()
            return (f"{who[0].upper()}{who[1:]} is carrying this run out now. Watch it here, "
                    "or let it finish: its results show here when you open the run again.")
        return ""

    def _holder(self, run: RunRecord, holder: Owner | EllipsisType | None) -> Owner | None:
        if holder is not ...:
            return holder
        return self.session.run_holder(run.run_id) if self.session is not None else None

    def _offer_resume(self) -> None:
        if self._offered_resume or self.session is None:
            return
        self._offered_resume = True

        def found(runs: list[RunRecord]) -> None:
            runs = [r for r in runs if self.resumable(r, None)]  # none held elsewhere
            if not runs or self.run_page.running:
                return
            run = runs[0]
            lists = ", ".join(run.list_names)
            description = (f"{words.ACTION_TITLES.get(run.action, run.action)}"
                           f"{': ' + lists if lists else ''}, started {words.when(run.created_at)} "
                           f"from {Path(run.file_path).name}. "
                           + (f"It stopped because: {run.message}." if run.message else ""))
            if dialogs.ask_resume(self, description):
                self.resume_run(run)

        self.start_job("unfinished", tasks.unfinished_work(self.session), on_done=found,
                       on_error=self.report_error)

    # =========================================================================================
    # Drag and drop, closing, geometry

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and self.step_buttons["sheet"].isEnabled():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.open_sheet(urls[0].toLocalFile())

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.run_page.running:
            event.ignore()
            if self._closing:
                return
            if dialogs.ask_stop_and_close(self):
                self._closing = True
                self.run_page.stop()
                self.say("Stopping, then closing…")
            return
        self.settings.set("state/geometry", self.saveGeometry())
        self.settings.sync()
        self.shutdown()
        event.accept()

    def _stop_jobs(self, timeout_ms: int = 20_000) -> None:
        for job in list(self.jobs):
            job.cancel()
        for job in list(self.jobs):
            if not job.wait(timeout_ms):  # pragma: no cover - a stuck network call
                log.warning("job %s did not stop in time", job.name)

    def shutdown(self) -> None:
        """Stop every job (at its next safe point) and the demo sandbox."""
        self._stop_jobs()
        if self.session is not None:
            self.session.close()

    def _restore_geometry(self) -> None:
        geometry = self.settings.get("state/geometry")
        if geometry is None or geometry.isEmpty() or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(max(900, min(1180, screen.width() - 40)),
                        max(600, min(800, screen.height() - 60)))

    # =========================================================================================
    # Help

    def _open_log_folder(self) -> None:
        from PySide6.QtCore import QUrl

        from ccdesk.paths import log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def _about(self) -> None:
        from ccdesk import __version__

        dialogs.show_info(self, "About ccdesk",
                          f"ccdesk {__version__}\n\nTakes members who upgraded off Constant "
                          "Contact lists, safely: preview, run, log, undo.\n\n"
                          f"Log file: {self.log_file or 'not set'}")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
