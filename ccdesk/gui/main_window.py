"""The main window: the steps on the left, the demo banner and the account on top, one page
at a time in the middle.

The window builds the state (:class:`~ccdesk.gui.state.WindowState`), the jobs service
(:class:`~ccdesk.gui.jobs.Jobs`) and the pages, and connects the pages' requests to the
service. It also does what belongs to the window as a whole: the steps, the menus, message
boxes, the demo banner, and closing.

Sessions come from factories so that tests (and the demo) can inject their own:
``account_factory()`` for a real account, ``demo_factory()`` for the demo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
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
from ccdesk.cc.limits import Limits
from ccdesk.core.journal import RunRecord
from ccdesk.credentials import CredentialStore, KeyringUnavailable
from ccdesk.engine.session import Session, reset_demo
from ccdesk.errors import CcdeskError
from ccdesk.gui import dialogs, palette, tasks, words
from ccdesk.gui.icons import app_icon
from ccdesk.gui.jobs import Jobs, remove_leftovers
from ccdesk.gui.pages.account import AccountPage
from ccdesk.gui.pages.history import HistoryPage
from ccdesk.gui.pages.preview import PreviewPage
from ccdesk.gui.pages.results import ResultsPage
from ccdesk.gui.pages.run import RunPage
from ccdesk.gui.pages.sheet import SheetPage
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import WindowState
from ccdesk.gui.widgets import COMPACT_HEIGHT, Banner, PageStack, set_compact, show_focus
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
    sheet_loaded = Signal(object)  # state.SheetView
    preview_ready = Signal(object)  # engine.wire.PreviewInfo
    run_ended = Signal(str, str)  # run id, "finished" / "paused" / "cancelled" / "failed" / …
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
        palette.refresh()
        self.settings = settings or Settings()
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._focus_moved)
        self.demo = demo
        self.demo_factory = demo_factory or default_demo_factory()
        self.account_factory = account_factory or (lambda: Session.for_profile())
        self.log_file = log_file
        self.state = WindowState(self)
        self.jobs = Jobs(self.state, self)
        self.last_error: BaseException | None = None
        self._offered_resume = False
        self._quota_read = 0.0  # time.monotonic() of the last read during a run
        self._first_check = True
        self.file_to_open: str | None = None  # from the command line / file manager
        self._closing = False

        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build()
        self.account_page.open_browser = open_browser
        self._connect()
        # A fixed minimum instead of the layout's changing one: the window does not jump in
        # size when a page's content changes (and the offscreen platform used by the tests
        # does not warn about size hints it cannot pass on).
        self.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.setMinimumSize(900, 600)
        self._restore_geometry()
        self.update_title()
        if start:
            QTimer.singleShot(0, self.begin)

    # -- the state, for tests and callers ---------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self.state.session

    @property
    def sheet(self) -> Any:
        """The open sheet (what was found; its rows are in a file), or None."""
        return self.state.sheet.sheet if self.state.sheet is not None else None

    @property
    def account_info(self) -> tasks.AccountInfo | None:
        return self.state.account

    # =========================================================================================
    # Building

    def _build(self) -> None:
        central = QWidget()
        self.setCentralWidget(central)
        outer = QVBoxLayout(central)
        self.demo_banner = Banner(kind="demo")
        self.demo_banner.set_text(
            "<b>Demo account.</b> The members, lists and spreadsheet are made up, and nothing "
            "real is touched: ccdesk works on a practice copy of Constant Contact inside itself. "
            "It keeps its changes and runs until you reset it.",
            short="<b>Demo account.</b> Made up; nothing real is touched.")
        self.demo_banner.setAccessibleName("Demo account: nothing real is touched")
        self.leave_demo_button = QPushButton("Lea&ve the demo")
        self.reset_demo_button = QPushButton("Reset the de&mo…")
        self.reset_demo_button.setAccessibleName(
            "Reset the demo: its members, lists and runs go back to the start")
        self.reset_demo_button.setToolTip("The demo's members, lists and runs go back to the start.")
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
        made = (self.state, self.jobs, self.settings)
        self.account_page = AccountPage(*made)
        self.sheet_page = SheetPage(*made)
        self.preview_page = PreviewPage(*made)
        self.run_page = RunPage(*made)
        self.results_page = ResultsPage(*made)
        self.history_page = HistoryPage(*made)
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

    def _connect(self) -> None:
        """Pages' requests to the jobs service; the state's changes to the window."""
        jobs, state = self.jobs, self.state
        for page in self.pages.values():
            page.go_wanted.connect(self.go)
            page.error.connect(self.report_error)
            page.said.connect(self.say)
        self.account_page.account_found.connect(self.account_ready)
        self.account_page.limits_changed.connect(self.refresh_quota)
        self.account_page.demo_wanted.connect(self.switch_to_demo)
        self.account_page.leave_demo_wanted.connect(self.leave_demo)
        self.sheet_page.open_wanted.connect(jobs.read)
        self.sheet_page.cancel_wanted.connect(jobs.cancel_read)
        self.preview_page.preview_wanted.connect(jobs.preview)
        self.preview_page.cancel_wanted.connect(jobs.cancel_preview)
        self.preview_page.run_wanted.connect(self._start_run)
        self.run_page.stop_wanted.connect(jobs.stop_run)
        self.results_page.resume_wanted.connect(self._resume)
        self.results_page.undo_wanted.connect(self._undo)
        self.results_page.watch_wanted.connect(self._watch)
        self.results_page.retry_wanted.connect(jobs.retry_failed)
        self.results_page.shown.connect(self.results_shown)
        self.history_page.results_wanted.connect(self.show_results)
        self.history_page.resume_wanted.connect(self._resume)
        self.history_page.watch_wanted.connect(self._watch)
        self.history_page.loaded.connect(self.history_loaded)
        jobs.error.connect(self.report_error)
        jobs.run_ended.connect(self._run_over)
        state.sheet_changed.connect(self._sheet_changed)
        state.preview_changed.connect(self._preview_changed)
        state.run_changed.connect(self._run_moved)
        self.notice.connect(self._show_notice)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open spreadsheet…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._open_from_menu)
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
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
        self.guide_action = QAction("&Staff guide", self)
        self.guide_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self.guide_action.triggered.connect(self.show_guide)
        help_menu.addAction(self.guide_action)
        help_menu.addSeparator()
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
        focus = QApplication.focusWidget()
        if focus is None or not focus.isVisible() or not focus.isEnabled():
            # The focus was on something now hidden: to the page's next step, visibly.
            target = page.default_button() or self.step_buttons[key]
            show_focus(target if target.isEnabled() else self.step_buttons[key])

    def current_page(self) -> str:
        page = self.stack.currentWidget()
        return next(k for k, p in self.pages.items() if p is page)

    def _update_steps(self) -> None:
        connected = bool(self.account_info and self.account_info.connected)
        available = {
            "account": True,
            "sheet": connected,
            "preview": connected and (self.state.sheet is not None
                                      or self.state.retry is not None),
            "run": self.state.run is not None,
            "results": bool(self.results_page.run_id),
            "history": connected,
        }
        for key, ok in available.items():
            self.step_buttons[key].setEnabled(ok)
            self.go_actions[key].setEnabled(ok)
        self.open_action.setEnabled(connected)
        for action in getattr(self, "recent_actions", ()):
            action.setEnabled(connected and bool(action.data()))

    def update_title(self) -> None:
        title = "ccdesk"
        if self.demo:
            title += " (demo)"
        if self.sheet is not None:
            name = (f"{self.sheet.sheet} (list)" if self.sheet.from_list
                    else Path(self.sheet.path).name)
            title = f"{name} — {title}"
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

    def busy(self) -> bool:
        return self.jobs.busy()

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
        remove_leftovers()
        if self.demo:
            self._make_session(self.demo_factory)
        else:
            self._make_session(self.account_factory)

    def _make_session(self, factory: SessionFactory) -> None:
        self._first_check = True
        self.account_page.show_checking()
        self.go("account")
        self.account_line.setText("Starting…" if self.demo else "Checking the connection…")
        self.jobs.thread("session", tasks.session_work(factory), on_done=self._session_made,
                       on_error=self._session_failed)

    def _session_made(self, session: Session) -> None:
        session.on_notice = self.notice.emit  # queued to this thread when sent from a job
        self.state.set_session(session)
        self.demo = self.state.demo
        self.jobs.wait_limit = max(1, int(self.settings.get("prefs/wait_limit_minutes"))) * 60.0
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
        if self._first_start():
            # Nothing was ever connected here: the password store is left alone (unlocking it
            # may prompt) until the person presses Connect, which asks it first.
            log.info("first start: the password store is not asked until Connect")
            self.account_page.unchecked = True
            self.account_ready(tasks.AccountInfo(False, demo=self.demo))
            return
        self.account_page.unchecked = False
        self.account_page.show_checking()
        self.jobs.thread("account", tasks.account_work(self.session), on_done=self.account_ready,
                       on_error=self._account_failed)

    def _first_start(self) -> bool:
        """No account was ever connected or set up in this window, and the session keeps its
        connection in the system's password store."""
        session, settings = self.session, self.settings
        return (session is not None and not session.demo
                and isinstance(session.store, CredentialStore)
                and not settings.get("state/connected_once")
                and not settings.get("prefs/client_id"))

    def _account_failed(self, exc: BaseException) -> None:
        self.account_ready(tasks.AccountInfo(False, demo=self.demo))
        self.report_error(exc)

    def account_ready(self, info: tasks.AccountInfo) -> None:
        """The connection is known (connected or not)."""
        was = self.account_info
        self.state.set_account(info)
        if info.connected and not info.demo and not self.settings.get("state/connected_once"):
            self.settings.set("state/connected_once", True)
        if info.connected and info.account is not None:
            self.account_line.setText(
                f"Connected to <b>{_html(info.account.organization_name)}</b> as "
                f"{_html(info.account.contact_email)} · "
                f"{info.quota_left:,} Constant Contact requests left today")
        else:
            self.account_line.setText("Not connected to Constant Contact.")
        changed = (was is None or was.connected != info.connected
                   or (was.account != info.account))
        self._update_steps()
        self.account_changed.emit(info)
        if info.connected and changed:
            if self._first_check:  # already connected at start-up: straight to the sheet
                self.go("sheet")
            else:
                show_focus(self.account_page.next_button)
            if self.file_to_open:  # given at start-up: open it as soon as it can be
                path, self.file_to_open = self.file_to_open, None
                self.open_sheet(path)
            self._offer_resume()
        elif self.file_to_open and not info.connected:
            self.say(f"Connect an account (or try the demo), then {Path(self.file_to_open).name} "
                     "opens.")
        self._first_check = False

    QUOTA_EVERY = 5.0  # seconds: how often the requests left are read again during a run

    def _run_moved(self, view: Any) -> None:
        """During a run, the requests left go down: read them again now and then."""
        now = time.monotonic()
        if view is not None and view.active and now - self._quota_read >= self.QUOTA_EVERY:
            self._quota_read = now
            self.refresh_quota()

    def refresh_quota(self) -> None:
        session, info = self.session, self.account_info
        if session is None or info is None or not info.connected:
            return

        def work(report: Any, cancel: Any) -> tuple[int, Limits]:
            return session.allowance()

        def done(allowance: tuple[int, Limits]) -> None:
            if self.account_info is not None and self.account_info.connected:
                self.account_info.quota_left, self.account_info.limits = allowance
                self.account_ready(self.account_info)

        self.jobs.thread("quota", work, on_done=done, on_error=lambda exc: None)

    def switch_to_demo(self) -> None:
        """"Try the demo": the built-in demo account."""
        if self.state.running:
            return
        self._drop_session()
        self.demo = True
        self._show_demo(True)
        self._make_session(self.demo_factory)

    def leave_demo(self) -> None:
        """Back to the real account (not connected yet, usually)."""
        if self.state.running:
            return
        self._drop_session()
        self.demo = False
        self._show_demo(False)
        self._make_session(self.account_factory)

    def reset_demo(self) -> None:
        """"Reset the demo" (after asking): the demo account back as bundled, its runs gone."""
        if not self.demo:
            return
        if self.state.running:
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
        session = self.session
        self.jobs.shutdown()
        self.state.set_sheet(None)
        self.state.set_run(None)
        self.state.set_account(None)
        self.state.set_session(None)
        if session is not None:
            session.close()
        self._offered_resume = False
        self.results_page.run_id = ""
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

    def _fill_recent_menu(self) -> None:
        """File ▸ Open Recent: the last spreadsheets opened (a file no longer there is greyed),
        then "Clear the list"."""
        menu = self.recent_menu
        menu.clear()
        usable = self.open_action.isEnabled()
        recent = self.settings.recent_files()
        self.recent_actions: list[QAction] = []
        for n, path in enumerate(recent, 1):
            there = Path(path).is_file()
            name = Path(path).name.replace("&", "&&")
            action = QAction(f"&{n} {name}" if n < 10 else name, menu)
            if not there:
                action.setText(f"{action.text()} (not found)")
            action.setToolTip(path if there else f"{path}: moved, renamed or deleted")
            action.setStatusTip(path)
            action.setData(there)
            action.setEnabled(usable and there)
            action.triggered.connect(lambda checked=False, p=path: self.open_recent(p))
            menu.addAction(action)
            self.recent_actions.append(action)
        if not recent:
            empty = menu.addAction("No spreadsheets opened yet")
            empty.setEnabled(False)
        menu.addSeparator()
        self.clear_recent_action = menu.addAction("&Clear the list")
        self.clear_recent_action.setEnabled(bool(recent))
        self.clear_recent_action.triggered.connect(self.clear_recent)

    def open_recent(self, path: str) -> None:
        """File ▸ Open Recent ▸ a file: opened as File ▸ Open opens one; a file that is gone
        is taken off the list, and the person is told."""
        if not Path(path).is_file():
            self.settings.remove_recent(path)
            self._fill_recent_menu()
            dialogs.show_info(self, "The spreadsheet is not there any more",
                              f"{path}\n\nwas moved, renamed or deleted, so it is taken off "
                              "File ▸ Open Recent. Open it with File ▸ Open spreadsheet… from "
                              "where it is now.")
            return
        self.open_sheet(path)

    def clear_recent(self) -> None:
        self.settings.clear_recent()
        self._fill_recent_menu()

    def _sheet_changed(self, view: Any) -> None:
        self.update_title()
        self._update_steps()
        if view is not None:
            if not view.from_list:  # a Constant Contact list is no recent file
                self.settings.add_recent(view.sheet.path)
                self._fill_recent_menu()
            self.sheet_loaded.emit(view)

    def _preview_changed(self, info: Any) -> None:
        self._update_steps()
        if info is not None:
            self.preview_ready.emit(info)
            self.refresh_quota()

    # =========================================================================================
    # Runs

    def _start_run(self, headline: str) -> None:
        """Run the confirmed preview."""
        if self.session is None or self.state.running:
            return
        self.jobs.start_run(headline)
        self._run_started()

    def _resume(self, run_id: str, action: str, headline: str) -> None:
        if self.session is None or self.state.running:
            return
        self.jobs.resume(run_id, action, headline)
        self._run_started()

    def _undo(self, run_id: str, headline: str) -> None:
        if self.session is None or self.state.running:
            return
        self.jobs.undo(run_id, headline)
        self._run_started()

    def _watch(self, run_id: str, action: str, headline: str, who: str) -> None:
        """Follow a run another process (a window, the command line, a scheduled job) carries
        out, through the journal, until it ends there."""
        if self.session is None or self.state.running:
            return
        self.jobs.watch(run_id, action, headline, who)
        self._run_started()

    def _run_started(self) -> None:
        if self.state.run is not None:
            self._update_steps()
            self.go("run")

    def resume_run(self, run: RunRecord) -> None:
        self._resume(run.run_id, run.action, "Resuming: " + words.run_title(run))

    def _run_over(self, run_id: str, how: str) -> None:
        view = self.state.run
        self._update_steps()
        if how == "abandoned":
            self.say("The process carrying the run out ended before the end.")
        elif how == "finished":
            self.say("The run is finished.")
        elif how == "cancelled":
            self.say("The run was stopped.")
        self.run_ended.emit(run_id, how)
        if self._closing:
            QTimer.singleShot(0, self, self.close)
            return
        self.refresh_quota()
        error = view.error if view is not None else None
        if error is not None and how in ("paused", "failed"):
            if not run_id or (getattr(error, "error", "") == "PlanError" and how == "failed"):
                self.go("preview")
                self.report_error(error)
                return
            self.report_error(error)
        if run_id:
            self.show_results(run_id)

    def show_results(self, run_id: str) -> None:
        self.results_page.load(run_id)
        self._update_steps()
        self.go("results")

    def _offer_resume(self) -> None:
        if self._offered_resume or self.session is None:
            return
        self._offered_resume = True

        def found(runs: list[RunRecord]) -> None:
            runs = [r for r in runs if self.state.resumable(r, None)]  # none held elsewhere
            if not runs or self.state.running:
                return
            run = runs[0]
            lists = ", ".join(run.list_names)
            description = (f"{words.ACTION_TITLES.get(run.action, run.action)}"
                           f"{': ' + lists if lists else ''}, started {words.when(run.created_at)} "
                           f"from {words.run_source(run)}. "
                           + (f"It stopped because: {run.message}." if run.message else ""))
            if dialogs.ask_resume(self, description):
                self.resume_run(run)

        self.jobs.thread("unfinished", tasks.unfinished_work(self.session), on_done=found,
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

    def _focus_moved(self, old: QWidget | None, new: QWidget | None) -> None:
        """The focus frame is always drawn, wherever the focus goes and however (Qt draws it
        only after Tab otherwise): a keyboard user always sees where they are."""
        if new is not None and new.window() is self:
            self.setAttribute(Qt.WidgetAttribute.WA_KeyboardFocusChange, True)
            new.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """On a small screen, long explanations fold to their first words ("More…")."""
        super().resizeEvent(event)
        set_compact(self, self.height() < COMPACT_HEIGHT)

    def changeEvent(self, event: QEvent) -> None:
        """A new desktop palette (a dark theme switched on): ccdesk's colours follow it."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            palette.refresh()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.state.running and self.demo:
            # The demo's account lives in this window: its run stops (and can be resumed).
            event.ignore()
            if self._closing:
                return
            if dialogs.ask_stop_and_close(self):
                self._closing = True
                self.jobs.stop_run()
                self.say("Stopping, then closing…")
            return
        if self.state.running:
            self.say("The run goes on without the window.")
            log.info("the window closes; its run goes on in process of its own")
        self.settings.set("state/geometry", self.saveGeometry())
        self.settings.sync()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """End the window's jobs (a run's child goes on by itself) and the demo sandbox."""
        self.jobs.shutdown()
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

    def show_guide(self) -> None:
        """Help ▸ Staff guide: the guide in a window beside this one."""
        from ccdesk.gui.guide import StaffGuideDialog

        if getattr(self, "guide", None) is None:
            self.guide = StaffGuideDialog(self)
        if self.guide.isVisible():  # already open, perhaps behind: bring it forward
            self.guide.raise_()
            self.guide.activateWindow()
        else:
            self.guide.show()

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
