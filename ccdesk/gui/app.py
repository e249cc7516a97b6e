"""Start the window: ``ccdesk`` (or ``ccdesk --demo``) with no sub-command lands here.

:func:`run_app` sets up the application log (a rotating file in the per-user log folder, Qt's
own messages routed into it, uncaught exceptions logged and shown), builds the
``QApplication`` and the :class:`~ccdesk.gui.main_window.MainWindow`, and runs the event loop.
Nothing secret is logged: ccdesk's loggers never write tokens, secrets or request bodies, and
a filter masks anything token-shaped that slips into a message anyway.

Measuring start-up: with the environment variable ``CCDESK_EXIT_AFTER_PAINT=1`` the window
closes itself right after its first paint, prints ``first paint after N ms`` on standard error
(N counted from the start of the process: on Linux from the kernel's start time of the process,
so the interpreter's or the bundle's own start is included; elsewhere from when this module
was imported) and ccdesk exits with status 0. ``tests/bench/bench_startup.py`` uses it, with
``QT_QPA_PLATFORM=offscreen``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections import deque
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Any

from ccdesk import APP_DISPLAY_NAME, APP_NAME, APP_ORG, __version__
from ccdesk.errors import ConfigError
from ccdesk.paths import log_dir, private_dir, private_file
from ccdesk.redact import install as install_redaction

log = logging.getLogger("ccdesk.gui")

LOG_NAME = "ccdesk.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

#: ``CCDESK_EXIT_AFTER_PAINT=1``: report the time to first paint and quit (see above).
EXIT_AFTER_PAINT_ENV = "CCDESK_EXIT_AFTER_PAINT"
_IMPORTED = time.monotonic()

#: The last errors logged, newest last (for a support view; never secrets).
RECENT_ERRORS: deque[str] = deque(maxlen=20)

_SECRETISH = re.compile(
    r"(?i)(bearer\s+|access_token[\"'=:\s]+|refresh_token[\"'=:\s]+|client_secret[\"'=:\s]+"
    r"|code=|password[\"'=:\s]+)[^\s&\"',]+")


class _MaskSecrets(logging.Filter):
    """Masks token-shaped values (belt and braces: nothing should log them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRETISH.sub(lambda m: m.group(1) + "***", message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.levelno >= logging.ERROR:
            RECENT_ERRORS.append(masked.splitlines()[0] if masked else record.levelname)
        return True


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log file created 0600 (POSIX), the rotated copies keeping that mode."""

    def _open(self) -> Any:
        private_file(self.baseFilename, private_folder=False)
        return super()._open()


def setup_logging(folder: Path | None = None) -> Path:
    """Log ``ccdesk.*`` at INFO to a rotating file (0600 in a 0700 folder); returns its path.
    Idempotent."""
    path = private_dir(folder or log_dir()) / LOG_NAME
    root = logging.getLogger("ccdesk")
    for handler in root.handlers:
        if getattr(handler, "_ccdesk_file", None) == str(path):
            return path
    handler = _PrivateRotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS,
                                  encoding="utf-8", delay=True)
    handler._ccdesk_file = str(path)  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    handler.addFilter(_MaskSecrets())
    install_redaction(handler)  # addresses, codes and state in query strings too
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    # The terminal keeps the level the command line chose (records of ccdesk.* at INFO now
    # reach the root's handlers too): give handlers without a level the root's level.
    top = logging.getLogger()
    for other in top.handlers:
        if other.level == logging.NOTSET:
            other.setLevel(top.level)
    _route_qt_messages()
    _install_excepthooks()
    log.info("ccdesk %s starting; log file %s", __version__, path)
    return path


def _route_qt_messages() -> None:
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("ccdesk.qt")
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def handler(kind: Any, context: Any, message: str) -> None:
        qt_log.log(levels.get(kind, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def _install_excepthooks() -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        log.critical("uncaught exception:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        _show_crash(exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        log.critical("uncaught exception in thread %s:\n%s",
                     getattr(args.thread, "name", "?"),
                     "".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                        args.exc_traceback)))

    sys.excepthook = hook
    threading.excepthook = thread_hook


def _show_crash(exc: BaseException) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    from ccdesk.gui import dialogs

    window = QApplication.activeWindow()
    dialogs.show_error(window, exc, log_dir() / LOG_NAME)


def _demo_data(demo_state: str | None) -> dict[str, Any] | None:
    if not demo_state:
        return None
    try:
        with open(demo_state, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError("The demo state file cannot be read",
                          "Check the path and that it is a sandbox state file (JSON).",
                          details=str(exc)) from exc


def _seconds_since_process_start() -> float:
    """How long ago this process started: from ``/proc`` on Linux (to about 10 ms), else from
    when this module was imported."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start, in ticks since boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED


def _exit_after_first_paint(window: Any) -> None:
    """Once ``window`` has painted for the first time, print the time since the process started
    on standard error and close it (the application then exits with status 0)."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                QTimer.singleShot(0, self.report)  # once this paint is done and flushed
            return False

        def report(self) -> None:
            elapsed_ms = round(_seconds_since_process_start() * 1000)
            log.info("first paint after %d ms", elapsed_ms)
            print(f"first paint after {elapsed_ms} ms", file=sys.stderr, flush=True)
            window.close()
            QApplication.exit(0)

    window.installEventFilter(FirstPaint(window))


def run_app(demo: bool = False, demo_state: str | None = None, file: str | None = None) -> int:
    """Open ccdesk's window and run until it is closed; returns the exit status.

    Args:
        demo: use the built-in demo account (an in-process sandbox; nothing real is touched).
        demo_state: with the demo, load this sandbox state file instead of the demo account.
        file: a spreadsheet to open once the account is connected (a file manager's "Open
            with ccdesk", or ``ccdesk members.xlsx``).
    """
    log_file = setup_logging()
    data = _demo_data(demo_state)

    from PySide6.QtWidgets import QApplication

    from ccdesk.gui.icons import app_icon
    from ccdesk.gui.main_window import MainWindow, default_demo_factory
    from ccdesk.gui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_ORG)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_NAME)
    app.setWindowIcon(app_icon())
    window = MainWindow(Settings(), demo=demo or data is not None,
                        demo_factory=default_demo_factory(data), log_file=log_file)
    if file:
        window.file_to_open = str(Path(file).resolve())
    if os.environ.get(EXIT_AFTER_PAINT_ENV) == "1":
        _exit_after_first_paint(window)
    window.show()
    status = app.exec()
    log.info("ccdesk closed (status %s)", status)
    return int(status)
