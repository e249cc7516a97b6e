"""Run light work off the GUI thread (the account, the lists, following a run; the heavy work
runs in a child process, see :mod:`ccdesk.gui.jobs`): a worker ``QObject`` moved to a ``QThread``.

The core's contract is plain Python: a function takes a progress callback and a cancel token
(a :class:`threading.Event`). :class:`Job` adapts it for Qt:

- the function runs on its own ``QThread`` inside a worker object;
- every call of its ``report`` callback becomes a :attr:`Job.progress` signal, delivered on the
  GUI thread (queued);
- it always ends with **exactly one** terminal signal: :attr:`Job.finished` (the return value),
  :attr:`Job.failed` (the exception, logged with its traceback: never swallowed) or
  :attr:`Job.cancelled` (when it stopped because the cancel token was set);
- :attr:`Job.ended` follows the terminal signal, once the thread has stopped.

The signals of :class:`Job` are emitted on the GUI thread, so tests can wait on them with
``qtbot.waitSignal`` and slots may touch widgets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ccdesk.cc.errors import Cancelled, OAuthFlowError
from ccdesk.core.runner import RunCancelled

log = logging.getLogger("ccdesk.gui.worker")

Report = Callable[[Any], None]
WorkFunction = Callable[[Report, threading.Event], Any]


def is_cancellation(exc: BaseException, cancel: threading.Event) -> bool:
    """Whether ``exc`` means "stopped because the person asked", not a failure."""
    if isinstance(exc, Cancelled | RunCancelled):
        return True
    return cancel.is_set() and isinstance(exc, OAuthFlowError)


class _Worker(QObject):
    """Lives on the job's thread; runs the function once."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal(object)

    def __init__(self, name: str, fn: WorkFunction, cancel: threading.Event) -> None:
        super().__init__()
        self._name = name
        self._fn: WorkFunction | None = fn
        self._cancel = cancel

    def _report(self, value: Any) -> None:
        self.progress.emit(value)

    @Slot()
    def run(self) -> None:
        fn, self._fn = self._fn, None  # drop the closure (it may hold a big plan) when done
        try:
            try:
                result = fn(self._report, self._cancel)  # type: ignore[misc]
            except BaseException as exc:
                if is_cancellation(exc, self._cancel):
                    log.info("%s: cancelled", self._name)
                    self.cancelled.emit(exc)
                else:
                    log.error("%s failed: %s", self._name, type(exc).__name__, exc_info=exc)
                    self.failed.emit(exc)
                return
            log.debug("%s: finished", self._name)
            self.finished.emit(result)
        finally:
            # The thread stops by itself: the GUI thread may be blocked waiting for it (closing).
            self.thread().quit()


class Job(QObject):
    """One piece of core work on its own thread.

    Args:
        name: a short name for the log (never data).
        fn: ``fn(report, cancel) -> result``; call ``report(value)`` for progress and check
            ``cancel`` (a :class:`threading.Event`) at safe points.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal(object)
    ended = Signal()

    def __init__(self, name: str, fn: WorkFunction, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_event = threading.Event()
        self.outcome = ""  # "finished", "failed" or "cancelled" once ended
        self._running = False
        self._thread = QThread()
        self._thread.setObjectName(f"ccdesk-{name}")
        self._worker = _Worker(name, fn, self.cancel_event)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)

    @property
    def running(self) -> bool:
        """Started and not yet ended."""
        return self._running

    def start(self) -> Job:
        """Start the work; returns self."""
        log.debug("%s: starting", self.name)
        self._running = True
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next safe point (it ends with ``cancelled``)."""
        self.cancel_event.set()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the thread has stopped (at most ``msecs``); True if it did.

        Signals still queued for the GUI thread are delivered after this returns.
        """
        return self._thread.wait(msecs)

    # -- relays: these run on the GUI thread ---------------------------------------------------
    @Slot(object)
    def _on_progress(self, value: object) -> None:
        if self._running:
            self.progress.emit(value)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self._end("finished")
        self.finished.emit(result)
        self.ended.emit()

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        self._end("failed")
        self.failed.emit(exc)
        self.ended.emit()

    @Slot(object)
    def _on_cancelled(self, exc: object) -> None:
        self._end("cancelled")
        self.cancelled.emit(exc)
        self.ended.emit()

    def _end(self, outcome: str) -> None:
        self._running = False
        self.outcome = outcome
        self._thread.quit()
        self._thread.wait()
