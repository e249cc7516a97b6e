"""The window's jobs: the heavy ones in a child process, the light ones on a thread.

Reading a spreadsheet, previewing it and carrying out a run are the engine's work, done by
``ccdesk job`` (the same program) in a process of its own: the window never holds 100,000 rows,
needs no interpreter tweaks to stay responsive, and a crash of a job cannot take it down. The
child reads its request as one JSON line on its standard input and writes its events as JSON
lines (see :mod:`ccdesk.engine.child`):

- :class:`ChildJob` reads and previews with the child attached (``QProcess``): its events
  arrive on a pipe, and Cancel ends the process (reading and previewing change nothing);
- :func:`launch_run` starts a run's child detached, its events going to a file: closing the
  window does not end the run. The window follows the run through the journal (the shared
  truth) like any run another process carries out; Stop is a request written to the journal.

:class:`~ccdesk.gui.worker.Job` runs the light work (the account, the lists, the history) on a
thread.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal, Slot

from ccdesk import engine
from ccdesk.cc.models import ContactList
from ccdesk.core.listsource import chosen_sheet
from ccdesk.core.phases import Phase
from ccdesk.core.sheet import ImportOptions, SheetChoices
from ccdesk.engine import child, wire
from ccdesk.engine.session import Session
from ccdesk.errors import CcdeskError
from ccdesk.gui import tasks
from ccdesk.gui.state import NO_ROWS, RetryOf, RunView, SheetView, WindowState
from ccdesk.gui.tasks import Followed, follow_work
from ccdesk.gui.worker import Job, WorkFunction
from ccdesk.paths import data_dir, private_dir, private_file

log = logging.getLogger("ccdesk.gui.jobs")

#: Who carries out the window's runs, as other processes are told.
PROGRAM = "the background job of a ccdesk window"


class JobFailed(CcdeskError):
    """What a child job reported when it failed (``kind``: paused, cancelled, busy, failed)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(event.get("title") or "The job stopped",
                         event.get("what_to_do") or "", details=event.get("details") or "")
        self.kind = str(event.get("kind") or "failed")
        self.error = str(event.get("error") or "")
        self.run_id = str(event.get("run_id") or "")
        #: for a spreadsheet whose sheet, heading row or email column must be chosen by hand
        self.choices = SheetChoices.from_dict(event["choices"]) if event.get("choices") else None


def ended_early(code: int) -> JobFailed:
    """A child that ended without saying how."""
    return JobFailed({
        "title": "The job ended unexpectedly",
        "what_to_do": "Nothing that was recorded is lost. Try again; if it happens again, send "
                      "the log file to whoever supports ccdesk.",
        "details": f"The job's process ended with code {code}."})


def session_request(session: Session) -> dict[str, Any]:
    """How a child reaches the same account and journal as the window."""
    if session.sandbox is not None or session.profile in ("demo", "sandbox"):
        base = session.endpoints.api_base.removesuffix("/v3")
        return {"sandbox_url": base, "journal": str(session.journal_path), "demo": session.demo}
    return {"profile": session.profile}


#: Files of the jobs folder older than this are a closed window's leftovers.
LEFTOVERS_AFTER = 2 * 86400


def jobs_folder() -> Path:
    """Where the window keeps its jobs' files (the rows of a sheet, a run's events)."""
    return private_dir(data_dir() / "jobs")


def remove_leftovers(now: float | None = None) -> None:
    """Forget the files of windows closed long ago (a sheet's rows, a finished run's events)."""
    now = time.time() if now is None else now
    try:
        for path in jobs_folder().iterdir():
            if now - path.stat().st_mtime > LEFTOVERS_AFTER:
                path.unlink(missing_ok=True)
    except OSError:
        log.debug("could not tidy the jobs folder", exc_info=True)


class ChildJob(QObject):
    """A reading or a preview, in an attached child process.

    Signals (on the GUI thread): ``progress(event)`` for each progress event,
    ``finished(event)`` with the result event, ``failed(JobFailed)``, ``cancelled()``; then
    ``ended()``.
    """

    progress = Signal(dict)
    finished = Signal(dict)
    failed = Signal(object)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, name: str, request: dict[str, Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.request = request
        self.outcome = ""
        self._cancelled = False
        self._last: dict[str, Any] | None = None
        self._process = QProcess(self)
        self._process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._process.setStandardErrorFile(QProcess.nullDevice())
        self._process.readyReadStandardOutput.connect(self._read)
        self._process.finished.connect(self._finished)
        self._process.errorOccurred.connect(self._error)

    @property
    def running(self) -> bool:
        return not self.outcome

    def start(self) -> ChildJob:
        argv = child.command()
        log.debug("%s: starting %s", self.name, argv)
        self._process.start(argv[0], argv[1:])
        self._process.write((json.dumps(self.request) + "\n").encode())
        self._process.closeWriteChannel()
        return self

    def cancel(self) -> None:
        """End the job now (reading and previewing change nothing)."""
        if self.running:
            self._cancelled = True
            self._process.kill()

    def wait(self, msecs: int = 30_000) -> bool:
        return self._process.waitForFinished(msecs) or not self.running

    @Slot()
    def _read(self) -> None:
        while self._process.canReadLine():
            line = bytes(self._process.readLine().data()).strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("%s: not an event: %r", self.name, line[:200])
                continue
            if event.get("type") == "progress":
                if not self._cancelled:
                    self.progress.emit(event)
            else:
                self._last = event

    @Slot(QProcess.ProcessError)
    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end_failed(JobFailed({
                "title": "ccdesk could not start its job",
                "what_to_do": "Try again. If it happens again, reinstall ccdesk.",
                "details": self._process.errorString()}))

    @Slot(int, QProcess.ExitStatus)
    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.outcome:
            return
        self._read()
        last = self._last
        if self._cancelled:
            self.outcome = "cancelled"
            self.cancelled.emit()
        elif last is not None and last.get("type") == "result":
            self.outcome = "finished"
            self.finished.emit(last)
        elif last is not None and last.get("type") == "error":
            self._end_failed(JobFailed(last), emit_ended=False)
        else:
            self._end_failed(ended_early(code), emit_ended=False)
        self.ended.emit()

    def _end_failed(self, exc: JobFailed, *, emit_ended: bool = True) -> None:
        if self.outcome:
            return
        self.outcome = "failed"
        log.info("%s failed: %s", self.name, exc.title)
        self.failed.emit(exc)
        if emit_ended:
            self.ended.emit()


@dataclass
class RunLaunch:
    """A run's child, started detached: where its events go."""

    events: Path


def launch_run(request: dict[str, Any]) -> RunLaunch:
    """Start a run's child detached (it outlives the window), its events written to a file."""
    folder = jobs_folder()
    stem = f"run-{os.getpid()}-{id(request):x}-{os.urandom(3).hex()}"
    request_file = private_file(folder / f"{stem}.request.json")
    request_file.write_text(json.dumps(request) + "\n", encoding="utf-8")
    events = private_file(folder / f"{stem}.events.jsonl")
    events.write_text("", encoding="utf-8")
    argv = child.command()
    process = QProcess()
    process.setProgram(argv[0])
    process.setArguments(argv[1:])
    process.setStandardInputFile(str(request_file))
    process.setStandardOutputFile(str(events), QProcess.OpenModeFlag.Append)
    process.setStandardErrorFile(QProcess.nullDevice())
    if not process.startDetached():
        raise JobFailed({"title": "ccdesk could not start the run",
                         "what_to_do": "Try again. If it happens again, reinstall ccdesk.",
                         "details": process.errorString()})
    log.info("a run's job started (its events: %s)", events.name)
    return RunLaunch(events)


class Jobs(QObject):
    """The jobs service: starts the window's work and keeps :class:`WindowState` up to date.

    Pages ask for work by emitting requests, which the main window connects to these methods;
    pages follow the outcome through the state's signals and the progress signals here.
    """

    reading = Signal(str, float)  # stage, fraction
    read_failed = Signal(object)
    read_cancelled = Signal()
    previewing = Signal(object, int, int)  # Phase, done, total
    preview_failed = Signal(object)
    preview_cancelled = Signal()
    run_ended = Signal(str, str)  # run id, how: finished, paused, cancelled, failed, abandoned
    error = Signal(object)  # an error to show (the window shows it)
    notice = Signal(str)  # a plain-words notice

    def __init__(self, state: WindowState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.active: set[Job | ChildJob] = set()
        self.wait_limit = 20 * 60.0
        self._reader: ChildJob | None = None
        self._previewer: ChildJob | None = None
        self._follower: Job | None = None
        self._old_rows: list[Path] = []

    # -- light work on a thread ---------------------------------------------------------------
    def thread(self, name: str, work: WorkFunction, *, on_done: Callable[[Any], Any],
               on_error: Callable[[BaseException], Any] | None = None,
               on_cancel: Callable[[Any], Any] | None = None,
               on_progress: Callable[[Any], Any] | None = None) -> Job:
        """Run ``work`` on a worker thread; the callbacks run on the GUI thread."""
        job = Job(name, work, self)
        if on_progress is not None:
            job.progress.connect(on_progress)
        job.finished.connect(on_done)
        job.failed.connect(on_error or self.error.emit)
        job.cancelled.connect(on_cancel or (lambda exc: None))
        self._keep(job)
        return job.start()

    def _keep(self, job: Job | ChildJob) -> None:
        self.active.add(job)
        job.ended.connect(lambda: self._ended(job))

    def _ended(self, job: Job | ChildJob) -> None:
        self.active.discard(job)
        job.deleteLater()

    def busy(self) -> bool:
        return bool(self.active)

    def _child(self, name: str, request: dict[str, Any]) -> ChildJob:
        session = self.state.session
        assert session is not None
        job = ChildJob(name, {"session": session_request(session), "program": PROGRAM,
                              "job": request}, self)
        self._keep(job)
        return job

    # -- reading a spreadsheet ----------------------------------------------------------------
    def read(self, path: str, options: ImportOptions | None = None) -> None:
        """Read a spreadsheet in a child; the state's sheet changes when it is read. A reading
        or a preview under way is dropped (it would be of another sheet)."""
        self._drop(self._reader)
        self._drop(self._previewer, self.preview_cancelled)
        rows = jobs_folder() / f"sheet-{os.getpid()}-{os.urandom(4).hex()}.sqlite"
        job = self._child("read", {"type": "read", "path": path,
                                   "options": wire.options_to_json(options or ImportOptions()),
                                   "rows_to": str(rows)})
        job.progress.connect(lambda e: self.reading.emit(e.get("stage", ""),
                                                         float(e.get("fraction", 0))))
        job.finished.connect(lambda e: self._read_done(e, rows))
        job.failed.connect(lambda exc: self._read_failed(exc, rows))
        job.cancelled.connect(lambda: (_remove(rows), self.read_cancelled.emit()))
        self._reader = job.start()

    def cancel_read(self) -> None:
        """Cancel the reading under way (the page is told: ``read_cancelled``)."""
        if self._reader is not None and self._reader.running:
            self._reader.cancel()

    def _drop(self, job: ChildJob | None, tell: Any = None) -> None:
        """End a job that a newer one replaces; its outcome no longer matters (only ``tell``,
        if given, is emitted: the page showing its progress must stop showing it)."""
        if job is not None and job.running:
            with warnings.catch_warnings():  # a signal nobody listens to: nothing to undo
                warnings.simplefilter("ignore", RuntimeWarning)
                for signal in (job.progress, job.finished, job.failed, job.cancelled):
                    signal.disconnect()
            job.cancel()
            if tell is not None:
                tell.emit()

    def _read_failed(self, exc: BaseException, rows: Path) -> None:
        """A file that could not be read. One that needs its layout chosen by hand replaces
        the sheet on show (the page offers that file's choices); otherwise the sheet on show
        stays, and the page says so."""
        self._reader = None
        _remove(rows)
        if getattr(exc, "choices", None) is not None and self.state.sheet is not None:
            self._discard_preview()
            old = self.state.sheet
            self.state.set_sheet(None)
            _remove(old.rows_path)
        self.read_failed.emit(exc)

    def _read_done(self, event: dict[str, Any], rows: Path) -> None:
        self._reader = None
        self._discard_preview()
        old = self.state.sheet
        self.state.set_sheet(SheetView(wire.sheet_from_json(event["sheet"]), rows))
        if old is not None:
            _remove(old.rows_path)

    def use_list(self, source: ContactList) -> None:
        """Take the members of a Constant Contact list as the source instead of a sheet (issue
        16): the state's sheet becomes that list (no rows: they are read by the preview). A
        reading or a preview under way is dropped, and the preview on show goes."""
        self._drop(self._reader)
        self._drop(self._previewer, self.preview_cancelled)
        self._discard_preview()
        old = self.state.sheet
        self.state.set_sheet(SheetView(chosen_sheet(source), NO_ROWS))
        if old is not None:
            _remove(old.rows_path)

    # -- previewing ---------------------------------------------------------------------------
    def preview(self, action: str, lists: list[str], to: str = "") -> None:
        """Look the open sheet up and plan it (or, after :meth:`retry_failed`, the failed rows
        of a run); ``to``: the list a move puts them on."""
        view, retry = self.state.sheet, self.state.retry
        request: dict[str, Any] = {"type": "preview", "action": action, "lists": lists,
                                   "to": to or None}
        if retry is not None and retry.run.options.get("source_list"):
            request.update(source_list=retry.run.options["source_list"]["list_id"],
                           only_failed_of=retry.run.run_id)
        elif retry is not None:
            request.update(path=retry.run.file_path, sha256=retry.run.file_sha256,
                           options=retry.run.options.get("import") or {},
                           only_failed_of=retry.run.run_id)
        elif view is not None and view.sheet.source_list:  # a Constant Contact list
            request.update(source_list=view.sheet.source_list["list_id"], only_failed_of=None)
        elif view is not None:
            request.update(path=view.sheet.path, options=wire.options_to_json(view.sheet.options),
                           sha256=view.sheet.sha256, only_failed_of=None)
        else:
            return
        self._drop(self._previewer)
        job = self._child("preview", request)
        job.progress.connect(lambda e: self.previewing.emit(
            Phase(e["phase"]), int(e.get("done", 0)), int(e.get("total", 0))))
        job.finished.connect(self._previewed)
        job.failed.connect(self.preview_failed.emit)
        job.cancelled.connect(self.preview_cancelled.emit)
        self._previewer = job.start()

    def cancel_preview(self) -> None:
        """Cancel the preview under way (the page is told: ``preview_cancelled``)."""
        if self._previewer is not None and self._previewer.running:
            self._previewer.cancel()

    def _previewed(self, event: dict[str, Any]) -> None:
        self._previewer = None
        self._discard_preview()
        self.state.set_preview(wire.PreviewInfo.from_json(event["preview"]))

    def retry_failed(self, run_id: str) -> None:
        """"Try the failed ones again": the next preview is of the rows that failed in the run."""
        session = self.state.session
        if session is None:
            return
        self._drop(self._previewer, self.preview_cancelled)  # it is of the whole sheet
        self.thread("retry", tasks.retry_facts_work(session, run_id),
                    on_done=lambda facts: self.state.set_retry(RetryOf(facts.run, facts.failed)))

    def _discard_preview(self, *, now: bool = False) -> None:
        """Forget the preview on show (its draft run in the journal goes)."""
        info = self.state.preview
        if info is not None:
            self.state.set_preview(None)
            self._discard_draft(info.run_id, now=now)

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, headline: str) -> None:
        """Carry out the preview on show."""
        info = self.state.preview
        if info is None or self.state.running:
            return
        self.state.preview = None  # being carried out: not to be discarded with the page
        view = RunView(str(info.plan.action), headline, True, run_id=info.run_id)
        view.draft = True
        self._launch("start", info.run_id, view)
        self.state.set_preview(None)

    def resume(self, run_id: str, action: str, headline: str) -> None:
        if not self.state.running:
            self._launch("resume", run_id, RunView(action, headline, True, run_id=run_id))

    def undo(self, run_id: str, headline: str) -> None:
        if not self.state.running:
            self._launch("undo", run_id, RunView("undo", headline, True))

    def watch(self, run_id: str, action: str, headline: str, who: str) -> None:
        """Follow a run another process carries out."""
        if self.state.running:
            return
        self._follow(RunView(action, headline, False, run_id=run_id, who=who), None)

    def _launch(self, kind: str, run_id: str, view: RunView) -> None:
        session = self.state.session
        assert session is not None
        try:
            launch = launch_run({"session": session_request(session), "program": PROGRAM,
                                 "wait_limit": self.wait_limit,
                                 "job": {"type": kind, "run_id": run_id}})
        except JobFailed as exc:
            self.error.emit(exc)
            return
        self._follow(view, launch.events)

    def _follow(self, view: RunView, events: Path | None) -> None:
        self._stop_following()
        session = self.state.session
        assert session is not None
        self.state.set_run(view)
        job = Job("follow", follow_work(session, view.run_id, events), self)
        job.progress.connect(lambda seen: self._seen(view, seen))
        job.finished.connect(lambda seen: self._seen(view, seen))
        job.failed.connect(self.error.emit)
        self._keep(job)
        self._follower = job.start()

    def _seen(self, view: RunView, seen: Followed | None) -> None:
        if seen is None or view is not self.state.run or view.ended:
            return
        if seen.run_id:
            view.run_id = seen.run_id
        if seen.status is not None:
            view.status = seen.status
            if seen.status.holder is not None and view.stopping and not view.stop_sent:
                self._ask_to_stop(view)  # taken on after Stop: taking it on cleared the request
        if seen.ended:
            view.ended = seen.ended
            view.error = JobFailed(seen.error) if seen.error else None
            if view.draft and seen.status is not None and seen.status.run.state == "ready":
                view.refused = True  # refused before it began: nothing was done
                self._discard_draft(view.run_id)
            self.state.run_updated()
            self.run_ended.emit(view.run_id, view.ended)
            return
        self.state.run_updated()

    def stop_run(self) -> None:
        """Stop the run on show (this window's or another process's), through the journal.

        Pressed before the run's process has taken the run on (its first second, or before an
        undo's run exists), the request is made again as soon as it has."""
        view = self.state.run
        if view is None or not view.active:
            return
        view.stopping = True
        if view.status is not None and view.status.holder is not None:
            self._ask_to_stop(view)
        self.state.run_updated()

    def _ask_to_stop(self, view: RunView) -> None:
        session = self.state.session
        if session is None or not view.run_id:
            return
        engine.request_stop(session, view.run_id)
        view.stop_sent = True

    def _discard_draft(self, run_id: str, *, now: bool = False) -> None:
        """Delete a draft run from the journal: on a thread (a 100,000-row delete takes a
        moment), or ``now`` when the window closes. If it cannot be (the journal is busy), it
        is pruned later."""
        session = self.state.session
        if session is None:
            return

        def work(report: Any, cancel: Any) -> None:
            engine.discard(session, run_id)

        def failed(exc: BaseException) -> None:
            log.debug("could not discard the draft run %s: %r", run_id, exc)

        if not now:
            self.thread("discard", work, on_done=lambda _: None, on_error=failed)
            return
        try:
            work(None, None)
        except Exception as exc:  # noqa: BLE001 - see failed()
            failed(exc)

    def _stop_following(self) -> None:
        if self._follower is not None and self._follower.running:
            self._follower.cancel()
        self._follower = None

    # -- the end --------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 20_000) -> None:
        """End every job of the window (a run's child goes on by itself) and forget the
        window's files."""
        for job in list(self.active):
            job.cancel()
        for job in list(self.active):
            if not job.wait(timeout_ms):  # pragma: no cover - a stuck network call
                log.warning("job %s did not stop in time", job.name)
        self._discard_preview(now=True)
        if self.state.sheet is not None:
            _remove(self.state.sheet.rows_path)


def _remove(path: Path) -> None:
    if path == NO_ROWS:  # a list source: no rows file
        return
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            log.debug("could not remove %s", p, exc_info=True)
