"""Step 1, the account: connect (browser, or a code for another device), see who is connected
and how many Constant Contact requests are left today, disconnect, or try the demo."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.cc.auth import AppKey, DeviceCode, redirect_uri_for
from ccdesk.cc.limits import DEFAULT_LIMITS, Limits
from ccdesk.engine.session import FirstCallFailed, limits_of, save_limits
from ccdesk.errors import StorageError
from ccdesk.gui import dialogs, tasks, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.pages import Page
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import WindowState
from ccdesk.gui.widgets import Note, PageStack, primary, show_focus

log = logging.getLogger("ccdesk.gui")

WAITING_TEXT = ("<p>Your web browser has opened Constant Contact's sign-in page.</p>"
                "<p>Sign in there and press Allow. ccdesk carries on by itself as soon as you "
                "have; you can then close the browser tab.</p>")
NOTHING_OPENED_TEXT = ("Nothing opened? Check your browser's windows, or copy the sign-in link "
                       "and paste it into your browser's address bar.")
BROWSER_FAILED_TEXT = ("<p><b>ccdesk could not open your web browser.</b></p>"
                       "<p>Press “Copy the sign-in link”, open your web browser yourself, paste "
                       "the link into its address bar and press Enter. Then sign in to "
                       "Constant Contact there and press Allow.</p>")
OTHER_WAYS_TEXT = (
    "<p><b>Sign in on another device, with a code.</b></p>"
    "<p>Use this when the web browser on this computer cannot be used to sign in, for "
    "example when it cannot reach Constant Contact's sign-in page, or when Constant Contact "
    "cannot send it back to ccdesk.</p>"
    "<p>When you press <b>Get a code</b>, ccdesk asks Constant Contact for a short code and "
    "shows it here with a web address. On any computer, tablet or phone, open that address, "
    "sign in to Constant Contact as usual, type the code and press Allow. ccdesk carries on by "
    "itself once you have. The code works for a few minutes.</p>"
    "<p>This works only if your organisation's ccdesk application was registered for the "
    "<i>Device Flow</i> in Constant Contact's developer portal; ask whoever set ccdesk up.</p>")


def _system_browser(url: str) -> bool:
    """Open ``url`` in the system's web browser; False when it could not be opened."""
    return bool(QDesktopServices.openUrl(QUrl.fromEncoded(url.encode("ascii", "replace"))))


def _panel(*widgets: Any) -> QWidget:
    panel = QWidget()
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        if isinstance(w, QHBoxLayout):
            layout.addLayout(w)
        else:
            layout.addWidget(w)
    return panel


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row


class AccountPage(Page):
    """Connect, see the connection, disconnect."""

    title = "Your Constant Contact account"
    account_found = Signal(object)  # tasks.AccountInfo, after connecting or disconnecting
    limits_changed = Signal()  # the application key's limits were saved
    demo_wanted = Signal()
    leave_demo_wanted = Signal()
    sign_in_link = Signal(str)  # the consent page's address, from the sign-in's thread

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__(state, jobs, settings)
        self.stack = PageStack()
        self.layout_.addWidget(self.stack)
        self.status = Note()
        self.status.setAccessibleName("Account status")
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.filler)

        # -- checking
        self.checking = _panel(Note("Checking the connection to Constant Contact…"))

        # -- not connected
        self.connect_button = primary(QPushButton("&Connect your account"))
        self.connect_button.setDefault(True)
        self.connect_button.setAccessibleName("Connect your Constant Contact account")
        self.demo_button = QPushButton("&Try the demo")
        self.demo_button.setAccessibleName("Try the demo account (nothing real is touched)")
        self.device_button = QPushButton("Other &ways to connect…")
        self.device_button.setFlat(True)
        self.device_button.setToolTip("For when the browser on this computer cannot be used "
                                      "to sign in: explains the other way first.")
        self.key_button = QPushButton("Change the application &key…")
        self.key_button.setFlat(True)
        self.key_button.setToolTip("The API key (client id) of your organisation's ccdesk "
                                   "application, and the redirect address registered with it.")
        self.not_connected = _panel(
            Note("ccdesk is not connected to a Constant Contact account yet."),
            Note("Connecting is done once. Your web browser opens Constant Contact's sign-in "
                 "page: sign in as usual and press Allow. ccdesk never sees your password."),
            Note("The first time, ccdesk asks for your organisation's application key (the "
                 "“API key” of the ccdesk application registered in Constant Contact's "
                 "developer portal). Whoever set up Constant Contact for you can give it."),
            Note("Not ready yet? Try the demo: a made-up organisation with a sample "
                 "spreadsheet, so you can see every step. Nothing real is touched."),
            _row(self.connect_button, self.demo_button),
            _row(self.device_button, self.key_button),
        )

        # -- waiting for the browser
        self.cancel_connect = QPushButton("&Cancel")
        self.cancel_connect.setAccessibleName("Cancel connecting")
        self.waiting_uri = Note()
        self.waiting_uri.setAccessibleName("Redirect address in use")
        self.waiting_text = Note(WAITING_TEXT, rich=True)
        self.waiting_text.setAccessibleName("Signing in")
        self.waiting_hint = Note(NOTHING_OPENED_TEXT)
        self.copy_link = QPushButton("Copy the sign-in &link")
        self.copy_link.setToolTip("Puts the address of Constant Contact's sign-in page on the "
                                  "clipboard: paste it into your web browser's address bar.")
        self.copy_link.setEnabled(False)
        self.waiting = _panel(
            self.waiting_text,
            self.waiting_hint,
            self.waiting_uri,
            _row(self.copy_link, self.cancel_connect),
        )
        self._sign_in_url = ""

        # -- other ways to connect: explained before anything starts
        self.start_device = primary(QPushButton("Get a c&ode"))
        self.start_device.setAccessibleName("Get a code to sign in on another device")
        self.back_from_other = QPushButton("&Back")
        self.back_from_other.setAccessibleName("Back, without connecting")
        self.other_ways = _panel(
            Note(OTHER_WAYS_TEXT, rich=True),
            _row(self.start_device, self.back_from_other),
        )

        # -- device code
        self.device_text = Note(rich=True)
        self.device_text.setAccessibleName("Code to enter on the other device")
        self.copy_code = QPushButton("&Copy the code")
        self.open_page = QPushButton("&Open the page here")
        self.cancel_device = QPushButton("Ca&ncel")
        self.cancel_device.setAccessibleName("Cancel connecting")
        self.device = _panel(self.device_text, _row(self.copy_code, self.open_page,
                                                    self.cancel_device))
        self._device_code: DeviceCode | None = None

        # -- connected
        self.organisation = QLabel()
        font = self.organisation.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.organisation.setFont(font)
        self.organisation.setAccessibleName("Organisation")
        self.login = Note()
        self.login.setAccessibleName("Signed in as")
        self.quota = Note()
        self.quota.setAccessibleName("Requests left today")
        self.disconnect_button = QPushButton("&Disconnect")
        self.disconnect_button.setAccessibleName("Disconnect this Constant Contact account")
        self.leave_demo_button = QPushButton("&Leave the demo and connect your own account")
        self.next_button = primary(QPushButton("&Next: open the spreadsheet →"))
        self.limits_button = QPushButton("&Application key and limits…")
        self.limits_button.setFlat(True)
        self.limits_button.setAccessibleName("Change the application key or its limits")
        self.demo_note = Note("This is the built-in demo account: made-up members in a practice "
                              "copy of Constant Contact that lives inside ccdesk. Nothing you do "
                              "here reaches Constant Contact.")
        self.connected = _panel(self.organisation, self.login, self.quota, self.demo_note,
                                _row(self.next_button, self.disconnect_button,
                                     self.leave_demo_button),
                                _row(self.limits_button))
        for w in (self.checking, self.not_connected, self.waiting, self.other_ways, self.device,
                  self.connected):
            self.stack.addWidget(w)

        self.connect_button.clicked.connect(self.connect_account)
        self.demo_button.clicked.connect(self.demo_wanted)
        self.device_button.clicked.connect(self.show_other_ways)
        self.start_device.clicked.connect(self.connect_with_code)
        self.back_from_other.clicked.connect(self._back_to_connect)
        self.copy_link.clicked.connect(self._copy_link)
        self.sign_in_link.connect(self._open_sign_in_page)
        self.key_button.clicked.connect(self.change_key)
        self.limits_button.clicked.connect(self.change_key)
        self.cancel_connect.clicked.connect(self._cancel_job)
        self.cancel_device.clicked.connect(self._cancel_job)
        self.copy_code.clicked.connect(self._copy_code)
        self.open_page.clicked.connect(self._open_device_page)
        self.disconnect_button.clicked.connect(self.disconnect)
        self.leave_demo_button.clicked.connect(self.leave_demo_wanted)
        self.next_button.clicked.connect(lambda: self.go_wanted.emit("sheet"))
        self._job: Any = None
        self.open_browser: Callable[[str], Any] | None = None  # None: the system's browser
        #: The password store has not been asked yet (a first start): Connect asks it first.
        self.unchecked = False
        state.account_changed.connect(self._account_changed)

    # -- what the window tells the page ----------------------------------------------------------
    def default_button(self) -> QPushButton | None:
        shown = self.stack.currentWidget()
        for panel, button in ((self.connected, self.next_button),
                              (self.not_connected, self.connect_button),
                              (self.other_ways, self.start_device)):
            if shown is panel:
                return button
        return None

    def _account_changed(self, info: tasks.AccountInfo | None) -> None:
        if info is None:
            self.show_checking()
        else:
            self.show_account(info)

    def show_checking(self) -> None:
        self.stack.setCurrentWidget(self.checking)
        self.status.clear()

    def show_account(self, info: tasks.AccountInfo) -> None:
        if not info.connected or info.account is None:
            self.stack.setCurrentWidget(self.not_connected)
            self.demo_button.setVisible(not info.demo)
            show_focus(self.connect_button)
            return
        account = info.account
        self.organisation.setText(account.organization_name or "Your organisation")
        person = " ".join(x for x in (account.first_name, account.last_name) if x)
        login = account.contact_email + (f" ({person})" if person else "")
        self.login.setText(f"Connected as {login}")
        self.set_quota(info.quota_left, info.limits)
        self.demo_note.setVisible(info.demo)
        self.disconnect_button.setVisible(not info.demo)
        self.limits_button.setVisible(not info.demo)
        self.leave_demo_button.setVisible(info.demo)
        self.stack.setCurrentWidget(self.connected)

    def set_quota(self, left: int, limits: Limits = DEFAULT_LIMITS) -> None:
        reset = time.strftime("%H:%M", time.localtime(limits.next_reset(time.time())))
        self.quota.setText(
            f"Constant Contact requests left today: {left:,} of {limits.per_day:,}. The count "
            f"starts again at {limits.reset_words()} ({reset} your time). A preview or a run "
            "shows its cost before it spends anything.")

    # -- connecting ----------------------------------------------------------------------------------
    def _app_key(self, *, force_form: bool = False) -> tuple[AppKey, str, int] | None:
        """The application key and its redirect (host, port), asking when not known yet."""
        settings = self.settings
        client_id = settings.get("prefs/client_id")
        host, port = settings.redirect_for(client_id)
        confidential = settings.get("prefs/confidential")
        if client_id and not confidential and not force_form:
            return AppKey(client_id), host, port
        choice = dialogs.AppKeyDialog.ask(self, client_id, port, confidential, host,
                                          limits_of(client_id) if client_id else DEFAULT_LIMITS,
                                          limits_of)
        if choice is None:
            return None
        settings.set("prefs/client_id", choice.client_id)
        settings.set_redirect(choice.client_id, choice.host, choice.port)
        settings.set("prefs/confidential", choice.client_secret is not None)
        try:
            save_limits(choice.client_id, choice.limits)
        except StorageError as exc:
            self.error.emit(exc)
        self.limits_changed.emit()
        return AppKey(choice.client_id, choice.client_secret), choice.host, choice.port

    def change_key(self) -> None:
        self._app_key(force_form=True)

    def connect_account(self) -> None:
        """"Connect your account": the browser flow.

        At a first start the password store was left alone (unlocking it may prompt): it is
        asked now, and a connection already stored there (by the command line) is used."""
        session = self.state.session
        if session is None:
            return
        if self.unchecked:
            self.unchecked = False
            self.status.setText("Checking this computer's password store…")
            self.connect_button.setEnabled(False)

            def checked(info: tasks.AccountInfo) -> None:
                self.connect_button.setEnabled(True)
                self.status.clear()
                if info.connected:
                    self.account_found.emit(info)
                else:
                    self.connect_account()

            def failed(exc: BaseException) -> None:
                self.connect_button.setEnabled(True)
                self._connect_failed(exc)

            self.jobs.thread("account", tasks.account_work(session), on_done=checked,
                             on_error=failed)
            return
        key = self._app_key()
        if key is None:
            return
        app_key, host, port = key
        self.status.clear()
        self.waiting_uri.setText(
            f"Constant Contact sends you back to {redirect_uri_for(host, port)}: your "
            "application must have exactly this Redirect URI, port included (see “Change the "
            "application key”).")
        self._sign_in_url = ""
        self.waiting_text.setText(WAITING_TEXT)
        self.waiting_hint.setText(NOTHING_OPENED_TEXT)
        self.copy_link.setEnabled(False)
        self.stack.setCurrentWidget(self.waiting)
        show_focus(self.cancel_connect)

        def hand_over(url: str) -> bool:  # on the sign-in's thread: the window opens it
            self.sign_in_link.emit(url)
            return True

        self._job = self.jobs.thread(
            "connect", tasks.connect_browser_work(session, app_key, port, hand_over, host),
            on_done=self._connected, on_error=self._connect_failed,
            on_cancel=self._connect_cancelled)

    def _open_sign_in_page(self, url: str) -> None:
        """Open the consent page in the browser; if it cannot be opened, say so and offer the
        link to copy. Either way the sign-in goes on waiting for Constant Contact's answer."""
        if self._job is None or self.stack.currentWidget() is not self.waiting:
            return  # cancelled meanwhile
        self._sign_in_url = url
        self.copy_link.setEnabled(True)
        opener = self.open_browser or _system_browser
        try:
            opened = opener(url) is not False
        except Exception:  # a browser that cannot start is "not opened"
            log.info("the browser could not be started", exc_info=True)
            opened = False
        if opened:
            return
        log.info("the browser could not be opened; the sign-in link is offered to copy")
        self.waiting_text.setText(BROWSER_FAILED_TEXT)
        self.waiting_hint.setText("ccdesk is waiting for you to sign in. Once you have pressed "
                                  "Allow, it carries on by itself.")
        show_focus(self.copy_link)

    def _copy_link(self) -> None:
        if self._sign_in_url:
            QGuiApplication.clipboard().setText(self._sign_in_url)
            self.status.setText("The sign-in link is copied. Paste it into your web browser's "
                                "address bar.")

    def show_other_ways(self) -> None:
        """"Other ways to connect…": say what the other way is; nothing starts until the
        person presses "Get a code"."""
        self.status.clear()
        self.stack.setCurrentWidget(self.other_ways)
        show_focus(self.start_device)

    def _back_to_connect(self) -> None:
        self.stack.setCurrentWidget(self.not_connected)
        show_focus(self.connect_button)

    def connect_with_code(self) -> None:
        """"Get a code": the device flow (a code to enter on any device)."""
        session = self.state.session
        if session is None:
            return
        key = self._app_key()
        if key is None:
            return
        app_key = key[0]
        self.status.setText("Asking Constant Contact for a code…")

        def got_code(device: DeviceCode) -> None:
            self._device_code = device
            self.status.clear()
            self.device_text.setText(
                "<p>On any computer, tablet or phone, open<br>"
                f"<b>{device.verification_uri}</b><br>and enter this code:</p>"
                f"<p style='font-size:x-large'><b>{device.user_code}</b></p>"
                f"<p>The code works for {words.plural(max(1, round(device.expires_in / 60)), 'minute')}. "
                "ccdesk carries on by itself once you have allowed it.</p>")
            self.stack.setCurrentWidget(self.device)
            show_focus(self.copy_code)
            self._job = self.jobs.thread(
                "device", tasks.device_finish_work(session, app_key, device),
                on_done=self._connected, on_error=self._connect_failed,
                on_cancel=self._connect_cancelled)

        self.jobs.thread("device-code", tasks.device_start_work(session, app_key),
                         on_done=got_code, on_error=self._connect_failed)

    def _copy_code(self) -> None:
        if self._device_code is not None:
            QGuiApplication.clipboard().setText(self._device_code.user_code)
            self.status.setText("The code is copied.")

    def _open_device_page(self) -> None:
        if self._device_code is not None and not _system_browser(
                self._device_code.verification_uri_complete):
            self.status.setText("ccdesk could not open your web browser here. Open the address "
                                "above on any device instead.")

    def _cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()
        self.status.setText("Cancelling…")

    def _connected(self, info: tasks.AccountInfo) -> None:
        self._job = None
        self._sign_in_url = ""
        self.status.setText("Connected. Your connection is kept in this computer's password "
                            "store.")
        self.account_found.emit(info)

    def _connect_failed(self, exc: BaseException) -> None:
        self._job = None
        self._sign_in_url = ""
        title, what_to_do, _ = dialogs.error_texts(exc)
        # Signed in, but the first call failed: the connection is kept, so "not connected"
        # would be untrue (the window checks it again at the next start or Connect).
        prefix = "" if isinstance(exc, FirstCallFailed) else "Not connected: "
        self.status.setText(f"{prefix}{title}. {what_to_do}")
        self.stack.setCurrentWidget(self.not_connected)
        self.error.emit(exc)

    def _connect_cancelled(self, exc: object) -> None:
        self._job = None
        self._sign_in_url = ""
        self.status.setText("Connecting was cancelled. Nothing was stored.")
        self.stack.setCurrentWidget(self.not_connected)

    def disconnect(self) -> None:
        session = self.state.session
        if session is None:
            return
        if not dialogs.ask_yes_no(
                self, "Disconnect?", "Disconnect ccdesk from this Constant Contact account?",
                "Disconnect", informative="ccdesk forgets the connection stored on this computer. "
                "Your runs and their logs are kept. You can connect again at any time."):
            return
        self.jobs.thread("disconnect", tasks.disconnect_work(session),
                         on_done=self._disconnected, on_error=self.error.emit)

    def _disconnected(self, info: tasks.AccountInfo) -> None:
        self.status.setText("Disconnected: nothing is stored for this account any more.")
        self.account_found.emit(info)
