"""The worker: core work on a QThread, progress as queued signals, exactly one terminal signal,
no exception swallowed; and the binding work-arounds it relies on."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

from PySide6.QtCore import QThread

from ccdesk.cc.errors import Cancelled, QuotaExceeded
from ccdesk.gui.worker import Job


def terminal_spy(job: Job) -> list[str]:
    seen: list[str] = []
    job.finished.connect(lambda value: seen.append("finished"))
    job.failed.connect(lambda exc: seen.append("failed"))
    job.cancelled.connect(lambda exc: seen.append("cancelled"))
    return seen


def test_finished_with_progress_on_the_gui_thread(qtbot):
    worker_threads: list[object] = []

    def work(report, cancel):
        worker_threads.append(QThread.currentThread())
        for i in range(5):
            report(i)
        return "result"

    job = Job("test", work)
    seen = terminal_spy(job)
    progress: list[int] = []
    on_gui: list[bool] = []
    gui_thread = QThread.currentThread()

    def got(value: int) -> None:
        progress.append(value)
        on_gui.append(QThread.currentThread() is gui_thread)

    job.progress.connect(got)
    results: list[object] = []
    job.finished.connect(results.append)
    with qtbot.waitSignals([job.finished, job.ended], timeout=5000, order="strict"):
        job.start()
    assert results == ["result"]
    assert worker_threads and worker_threads[0] is not gui_thread
    assert progress == [0, 1, 2, 3, 4] and all(on_gui)
    assert seen == ["finished"] and job.outcome == "finished" and not job.running
    assert job.wait(1000)


def test_failure_is_handed_on_and_logged(qtbot, caplog):
    def work(report, cancel):
        raise QuotaExceeded(status=429, error_key="quota_exceeded")

    job = Job("boom", work)
    seen = terminal_spy(job)
    with caplog.at_level(logging.ERROR, "ccdesk.gui.worker"), \
            qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        job.start()
    assert isinstance(blocker.args[0], QuotaExceeded)
    assert seen == ["failed"]
    assert "boom failed: QuotaExceeded" in caplog.text
    assert caplog.records[0].exc_info is not None  # the traceback is in the log


def test_unexpected_errors_are_not_swallowed(qtbot):
    job = Job("bug", lambda report, cancel: 1 / 0)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        job.start()
    assert isinstance(blocker.args[0], ZeroDivisionError)


def test_cancel_ends_with_cancelled_only(qtbot):
    started = threading.Event()

    def work(report, cancel):
        started.set()
        while not cancel.wait(0.01):
            pass
        raise Cancelled()

    job = Job("slow", work)
    seen = terminal_spy(job)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.start()
        assert started.wait(5)
        job.cancel()
    qtbot.waitUntil(lambda: not job.running)
    assert seen == ["cancelled"]


def test_the_thread_stops_by_itself_so_closing_can_wait(qtbot):
    """The GUI thread may block in wait() before the terminal signal is delivered."""
    job = Job("quick", lambda report, cancel: 42)
    seen = terminal_spy(job)
    job.start()
    assert job.wait(5000)  # no event loop ran: the worker's thread quit by itself
    qtbot.waitUntil(lambda: seen == ["finished"], timeout=5000)


BINDING_STRESS = """
from PySide6.QtCore import QObject, Signal

class Emitter(QObject):
    ping = Signal(object)

emitter = Emitter()
for _ in range(50_000):
    emitter.setObjectName("x")  # returns nothing
    emitter.ping.emit(1)
print("alive")
"""


def test_the_installed_binding_keeps_its_references():
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None and True on every emit and every
    call that returns nothing: the process aborts ("none_dealloc") after a few thousand. The
    dependency metadata keeps that release off CPython < 3.12; this checks what is installed."""
    import PySide6

    done = subprocess.run([sys.executable, "-c", BINDING_STRESS], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "alive" in done.stdout, (PySide6.__version__, done.stderr)
