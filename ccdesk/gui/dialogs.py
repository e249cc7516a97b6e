"""Dialogs, each behind a small function or an ``ask()`` classmethod.

Pages call these through the module (``dialogs.show_error(...)``), so tests replace them with
``monkeypatch.setattr`` and never meet a modal event loop (pytest-qt's advice for dialogs).

- :func:`show_error`: a title, a what-to-do sentence, details on request (with the log file);
  opened window-modal with ``open()``, not ``exec()``.
- :func:`ask_yes_no`, :func:`ask_open_sheet`, :func:`ask_save_file`: simple questions.
- :class:`AppKeyDialog`: the first-time set-up of the application key.
- :class:`ConfirmRunDialog`: "Remove 40 members from Free Members?"; for an unsubscribe the
  person types the count.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from ccdesk.cc.auth import (
    DEFAULT_REDIRECT_HOST,
    DEFAULT_REDIRECT_PORT,
    DEVELOPER_PORTAL,
    REDIRECT_HOSTS,
    redirect_uri_for,
)
from ccdesk.cc.errors import ConnectionFailed, host_of
from ccdesk.cc.limits import DEFAULT_LIMITS, MAX_PER_DAY, MAX_PER_SECOND, Limits
from ccdesk.errors import CcdeskError
from ccdesk.gui import words

log = logging.getLogger("ccdesk.gui")

SHEET_FILTER = ("Spreadsheets (*.xlsx *.xlsm *.xls *.xlsb *.ods *.csv *.tsv *.txt);;"
                "All files (*)")


# ---- errors -----------------------------------------------------------------------------------

def error_texts(exc: BaseException) -> tuple[str, str, str]:
    """(title, what to do, details) for any exception; unknown ones get a generic text."""
    if isinstance(exc, CcdeskError):
        return exc.title, exc.what_to_do, exc.details
    if isinstance(exc, requests.RequestException):  # one that escaped the client's typing
        url = getattr(getattr(exc, "request", None), "url", None) or ""
        typed = ConnectionFailed(host=host_of(url) if url else "Constant Contact",
                                 server_message=type(exc).__name__)
        return typed.title, typed.what_to_do, typed.details
    details = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return ("Something unexpected went wrong",
            "Nothing that was recorded is lost. Try again; if it happens again, send the log "
            "file named below to whoever supports ccdesk.", details)


def show_error(parent: QWidget | None, exc: BaseException, log_file: Path | str | None = None
               ) -> QMessageBox:
    """Show an error window-modally (returns at once) and return the message box."""
    box = error_box(parent, exc, log_file)
    box.open()
    return box


def error_box(parent: QWidget | None, exc: BaseException, log_file: Path | str | None = None
              ) -> QMessageBox:
    """The message box for an error (not shown yet): title, what to do, details."""
    title, what_to_do, details = error_texts(exc)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(title)
    box.setInformativeText(what_to_do)
    more = details
    if log_file:
        more = (more + "\n\n" if more else "") + f"More is in the log file:\n{log_file}"
    if more:
        box.setDetailedText(more)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setAccessibleName("Error")
    return box


def show_info(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """An information message, window-modal, returning at once."""
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


# ---- simple questions -------------------------------------------------------------------------

def ask_yes_no(parent: QWidget | None, title: str, text: str, yes: str, no: str = "Cancel",
               *, informative: str = "", danger: bool = False) -> bool:
    """A question with two named buttons; True when the person chose ``yes``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if danger else QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button if danger else yes_button)
    box.setEscapeButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button


def ask_open_sheet(parent: QWidget | None, folder: str = "") -> str | None:
    """The spreadsheet to open, or None."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open the spreadsheet of upgraded members",
                                          folder, SHEET_FILTER)
    return path or None


def ask_save_file(parent: QWidget | None, title: str, suggested: str, fmt: str = "xlsx"
                  ) -> tuple[str, str] | None:
    """Where to save a table, as (path, "xlsx" or "csv"), or None."""
    filters = {"xlsx": "Excel workbook (*.xlsx)", "csv": "CSV, for any program (*.csv)"}
    order = [fmt, *(f for f in filters if f != fmt)]
    path, chosen = QFileDialog.getSaveFileName(parent, title, suggested,
                                               ";;".join(filters[f] for f in order))
    if not path:
        return None
    kind = "csv" if "csv" in chosen or path.lower().endswith(".csv") else "xlsx"
    if not path.lower().endswith("." + kind):
        path += "." + kind
    return path, kind


# ---- the application key ------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class AppKeyChoice:
    """What the application-key form returns. ``repr`` never shows the secret."""

    client_id: str
    client_secret: str | None
    port: int
    host: str = DEFAULT_REDIRECT_HOST
    limits: Limits = DEFAULT_LIMITS  # what Constant Contact grants this key

    def __repr__(self) -> str:
        return (f"AppKeyChoice(client_id={self.client_id!r}, host={self.host!r}, port={self.port}, "
                f"limits={self.limits!r})")


def redirect_uri(port: int, host: str = DEFAULT_REDIRECT_HOST) -> str:
    """The exact redirect URI to register (Constant Contact wants an exact match)."""
    return redirect_uri_for(host, port)


class AppKeyDialog(QDialog):
    """First-time set-up: the API key (client id), an optional secret and the redirect URI's
    host and port (shown as the exact URI to register)."""

    def __init__(self, parent: QWidget | None = None, client_id: str = "",
                 port: int = DEFAULT_REDIRECT_PORT, confidential: bool = False,
                 host: str = DEFAULT_REDIRECT_HOST, limits: Limits = DEFAULT_LIMITS,
                 limits_of: Callable[[str], Limits] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set up the connection to Constant Contact")
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        self.intro = intro = QLabel(
            "<p>ccdesk talks to Constant Contact through an <b>application</b> that your "
            "organisation registers once, free, in Constant Contact's developer portal "
            f"(<a href='{DEVELOPER_PORTAL}'>{DEVELOPER_PORTAL}</a>, “My Applications”). Copy "
            "its details here. You only do this once.</p>")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        intro.setOpenExternalLinks(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.client_id = QLineEdit(client_id)
        self.client_id.setPlaceholderText("e.g. 4a8b2c1d-…")
        self.client_id.setAccessibleName("API key (client id)")
        form.addRow("&API key (client id):", self.client_id)
        self.has_secret = QCheckBox("My application has a &client secret")
        self.has_secret.setChecked(confidential)
        form.addRow("", self.has_secret)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("Client secret")
        self.secret.setPlaceholderText("only if your application has one")
        self.secret.setEnabled(confidential)
        self.has_secret.toggled.connect(self.secret.setEnabled)
        form.addRow("Client &secret:", self.secret)
        self.host = QComboBox()
        self.host.addItems(list(REDIRECT_HOSTS))
        self.host.setCurrentText(host if host in REDIRECT_HOSTS else DEFAULT_REDIRECT_HOST)
        self.host.setAccessibleName("Redirect host")
        form.addRow("Redirect &host:", self.host)
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setValue(port)
        self.port.setAccessibleName("Redirect port")
        form.addRow("&Redirect port:", self.port)
        layout.addLayout(form)
        self.uri_note = QLabel()
        self.uri_note.setWordWrap(True)
        self.uri_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.uri_note)
        self.port.valueChanged.connect(self._update_note)
        self.host.currentTextChanged.connect(self._update_note)
        self._update_note()
        secret_note = QLabel("The secret is kept only in this computer's password store, "
                             "never in a file.")
        secret_note.setWordWrap(True)
        layout.addWidget(secret_note)
        self._add_limits(layout, limits, limits_of)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Continue to sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.client_id.textChanged.connect(self._update_ok)
        self.secret.textChanged.connect(self._update_ok)
        self.has_secret.toggled.connect(self._update_ok)
        self._update_ok()

    def _update_note(self) -> None:
        self.uri_note.setText(
            f"In your application's settings, the <b>Redirect URI</b> must be exactly<br>"
            f"<code>{redirect_uri(self.port.value(), self.host.currentText())}</code><br>"
            "port included. Keep the port at 52817 unless that number is already used on this "
            "computer. If Constant Contact does not accept this address, choose the other "
            "host here and register that one instead.")

    def _update_ok(self) -> None:
        ok = bool(self.client_id.text().strip())
        if self.has_secret.isChecked():
            ok = ok and bool(self.secret.text())
        self.ok.setEnabled(ok)

    def choice(self) -> AppKeyChoice:
        secret = self.secret.text() if self.has_secret.isChecked() else ""
        return AppKeyChoice(self.client_id.text().strip(), secret or None, self.port.value(),
                            self.host.currentText(), self.limits())

    # -- the key's limits (the last section) ---------------------------------------------------

    def _add_limits(self, layout: QVBoxLayout, limits: Limits,
                    limits_of: Callable[[str], Limits] | None) -> None:
        """The section "Limits": requests a second, a day, and when the day starts again."""
        box = QGroupBox("Limits (only if Constant Contact raised yours)")
        box.setAccessibleName("Limits of this application key")
        column = QVBoxLayout(box)
        note = QLabel("Usually 4 a second and 10,000 a day from 00:00 UTC. Partner applications "
                      "may have more, e.g. 10 and 250,000.")
        note.setWordWrap(True)
        column.addWidget(note)
        form = QFormLayout()
        column.addLayout(form)
        self.per_second = QSpinBox()
        self.per_second.setRange(1, MAX_PER_SECOND)
        self.per_second.setAccessibleName("Requests a second")
        form.addRow("Requests a s&econd:", self.per_second)
        self.per_day = QSpinBox()
        self.per_day.setRange(1, MAX_PER_DAY)
        self.per_day.setGroupSeparatorShown(True)
        self.per_day.setAccessibleName("Requests a day")
        form.addRow("Requests a &day:", self.per_day)
        self.reset_at = QTimeEdit()
        self.reset_at.setDisplayFormat("HH:mm")
        self.reset_at.setAccessibleName("Daily count starts again at (UTC)")
        form.addRow("Day starts again at (&UTC):", self.reset_at)
        self.default_limits = QPushButton("Constant Contact's defaults")
        self.default_limits.clicked.connect(lambda: self._show_limits(DEFAULT_LIMITS))
        form.addRow("", self.default_limits)
        layout.addWidget(box)
        self._show_limits(limits)
        if limits_of is not None:  # another key typed in: show that key's limits
            shown = [self.client_id.text().strip()]

            def key_changed() -> None:
                key = self.client_id.text().strip()
                if key and key != shown[0]:
                    shown[0] = key
                    self._show_limits(limits_of(key))

            self.client_id.editingFinished.connect(key_changed)

    def _show_limits(self, limits: Limits) -> None:
        self.per_second.setValue(limits.per_second)
        self.per_day.setValue(limits.per_day)
        self.reset_at.setTime(QTime(limits.reset_minutes // 60, limits.reset_minutes % 60))

    def limits(self) -> Limits:
        """The limits as the form shows them."""
        time = self.reset_at.time()
        return Limits(self.per_second.value(), self.per_day.value(),
                      time.hour() * 60 + time.minute())

    @classmethod
    def ask(cls, parent: QWidget | None, client_id: str = "", port: int = DEFAULT_REDIRECT_PORT,
            confidential: bool = False, host: str = DEFAULT_REDIRECT_HOST,
            limits: Limits = DEFAULT_LIMITS,
            limits_of: Callable[[str], Limits] | None = None) -> AppKeyChoice | None:
        """Run the form; the choice, or None when cancelled.

        Args:
            limits: the key's limits as they are.
            limits_of: the limits of another key, should the person type one in.
        """
        dialog = cls(parent, client_id, port, confidential, host, limits, limits_of)
        try:
            return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()


# ---- confirming a run ---------------------------------------------------------------------------

class ConfirmRunDialog(QDialog):
    """States the count and the list; an unsubscribe needs the count typed in."""

    def __init__(self, parent: QWidget | None, *, action: str, count: int, lists: str,
                 organisation: str, to: str = "") -> None:
        super().__init__(parent)
        self.count = count
        self.typed = action == "unsubscribe"
        self.setWindowTitle("Go ahead?")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        headline = QLabel(f"<b>{_escape(words.run_headline(action, count, lists, to))}</b>"
                          f"<br>in {_escape(organisation)}.")
        headline.setTextFormat(Qt.TextFormat.RichText)
        headline.setWordWrap(True)
        layout.addWidget(headline)
        from ccdesk.gui.widgets import Banner

        explanation = Banner(words.ACTION_EXPLANATIONS.get(action, ""),
                             "warning" if self.typed else "info")
        layout.addWidget(explanation)
        self.entry: QLineEdit | None = None
        if self.typed:
            prompt = QLabel(f"To confirm, type the number of contacts to unsubscribe: "
                            f"<b>{count:,}</b>")
            prompt.setWordWrap(True)
            layout.addWidget(prompt)
            self.entry = QLineEdit()
            self.entry.setAccessibleName("Type the number of contacts to confirm")
            prompt.setBuddy(self.entry)
            layout.addWidget(self.entry)
            self.mismatch = QLabel()
            self.mismatch.setWordWrap(True)
            self.mismatch.setAccessibleName("What is wrong with the number typed")
            self.mismatch.hide()
            layout.addWidget(self.mismatch)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        verb = {"remove": "Remove", "remove-all": "Remove", "unsubscribe": "Unsubscribe",
                "move": "Move"}.get(action, "Go")
        self.go = self.buttons.addButton(f"{verb} {count:,} now", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if self.entry is not None:
            self.entry.textChanged.connect(self._check)
            self.go.setEnabled(False)
            self.entry.setFocus()
        else:
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setFocus()

    def _check(self, text: str) -> None:
        """Enable the button for the count, written with or without thousands separators
        ("6,000", "6 000", "6000"); say what is wrong once the number is as long as it."""
        typed = text.strip()
        digits = "".join(ch for ch in typed if ch not in ",. '\u00a0\u202f")
        matches = digits.isdigit() and int(digits) == self.count
        self.go.setEnabled(matches)
        if not typed or matches:
            self.mismatch.hide()
            return
        if not digits.isdigit():
            self.mismatch.setText(f"Type only the number, for example {self.count:,}.")
        elif len(digits) >= len(str(self.count)):
            self.mismatch.setText(f"You typed {int(digits):,}; the number to type is "
                                  f"{self.count:,}, the contacts this run unsubscribes.")
        else:
            self.mismatch.hide()
            return
        self.mismatch.show()

    @classmethod
    def ask(cls, parent: QWidget | None, *, action: str, count: int, lists: str,
            organisation: str, to: str = "") -> bool:
        """True when the person confirmed."""
        dialog = cls(parent, action=action, count=count, lists=lists, organisation=organisation,
                     to=to)
        try:
            return dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            dialog.deleteLater()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def confirm_undo(parent: QWidget | None, count: int, lists: str, to: str = "") -> bool:
    """Ask before undoing a removal (or a move to ``to``)."""
    how = ("Exactly the contacts this run removed are added back to the lists they were taken "
           "off.")
    if to:
        how += (f" Those this run put on {to} are taken off it again; those already on it "
                "before stay.")
    return ask_yes_no(parent, "Undo this run?",
                      f"Put {words.plural(count, 'contact')} back on {lists}?",
                      f"Put {count:,} back", informative=how)


def ask_resume(parent: QWidget | None, description: str) -> bool:
    return ask_yes_no(parent, "A run did not finish",
                      "A run did not finish last time.", "Resume it now", "Later",
                      informative=f"{description}\n\nNothing is sent twice: ccdesk checks what "
                      "Constant Contact already did before it carries on. You can also resume it "
                      "later from History.")


def ask_stop_and_close(parent: QWidget | None) -> bool:
    return ask_yes_no(parent, "A run is in progress",
                      "Stop the run and close ccdesk?", "Stop and close", "Keep running",
                      informative="ccdesk finishes the batch it is sending, records it, and "
                      "then closes. You can resume the rest later from History.", danger=True)


# ---- pasted addresses ---------------------------------------------------------------------------

class PasteDialog(QDialog):
    """"Paste addresses": a box for text copied from an email or a web page, what it accepts,
    and a live count of what ccdesk finds in it. Enter makes a new line; Ctrl+Enter is OK.

    Opened window-modally with ``open()`` (the page acts on ``accepted``), so a test can fill
    it in and press its buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        from PySide6.QtGui import QKeySequence, QShortcut
        from PySide6.QtWidgets import QPlainTextEdit

        super().__init__(parent)
        self.setWindowTitle("Paste addresses")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Paste the addresses copied from an email or a web page: one a line, or separated "
            "by commas or semicolons. <i>Name &lt;address&gt;</i> and <i>mailto:</i> links are "
            "understood. ccdesk keeps them in a small file and checks them as it checks a "
            "spreadsheet.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(intro)
        label = QLabel("&Addresses:")
        layout.addWidget(label)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Pasted addresses")
        self.text.setPlaceholderText("Ada Lovelace <ada@example.org>; bob@example.org, …")
        self.text.setTabChangesFocus(True)
        label.setBuddy(self.text)
        layout.addWidget(self.text, 1)
        self.found = QLabel()
        self.found.setAccessibleName("Addresses found")
        self.found.setWordWrap(True)
        layout.addWidget(self.found)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("&Check these addresses",
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setToolTip("Ctrl+Enter")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self._accept_if_ok)
        from PySide6.QtCore import QTimer

        # A long paste is counted when typing pauses (counting 20,000 takes a moment).
        self._count_later = QTimer(self, singleShot=True, interval=250, timeout=self._update)
        self.text.textChanged.connect(self._changed)
        self.resize(560, 380)
        self._update()
        self.text.setFocus()

    def set_text(self, text: str) -> None:
        """Put ``text`` in the box, as pasting it would (the cursor after it)."""
        from PySide6.QtGui import QTextCursor

        self.text.setPlainText(text)
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def pasted(self) -> str:
        """The text in the box."""
        return self.text.toPlainText()

    def _accept_if_ok(self) -> None:
        if self.ok.isEnabled():
            self.accept()

    #: Text up to this long is counted at every change; longer text when typing pauses.
    COUNT_AT_ONCE = 20_000

    def _changed(self) -> None:
        text = self.pasted()
        if len(text) <= self.COUNT_AT_ONCE:
            self._count_later.stop()
            self._update()
            return
        import re

        self.ok.setEnabled(re.search(r"[^\s,;\ufeff]", text) is not None)  # something to cut
        self.found.setText("Counting…")
        self._count_later.start()

    def _update(self) -> None:
        from ccdesk.core.pasted import count_pasted

        c = count_pasted(self.pasted())
        if not c.items:
            self.found.setText("Nothing pasted yet.")
        else:
            parts = [f"<b>{words.plural(c.addresses, 'address', 'addresses')} found</b>"]
            if c.repeats:
                parts.append(words.plural(c.repeats, "repeat"))
            if c.not_addresses:
                parts.append(words.plural(c.not_addresses, "piece that is not an address",
                                          "pieces that are not an address"))
            self.found.setText(" · ".join(parts) + ".")
        self.ok.setEnabled(c.items > 0)
