"""The job process: the window's heavy work (reading a sheet, previewing, running) in a child
process of the same executable (``ccdesk job``, hidden from ``--help``).

It reads ONE request (a JSON object on one line) from standard input, then writes events on
standard output, one JSON object a line, flushed; the journal (SQLite) stays the shared truth.
Logging goes to standard error, never to standard output. The request::

    {"session": {"profile": NAME} | {"sandbox_url": URL, "journal": PATH, "demo": bool},
     "program": "the window", "wait_limit": SECONDS (optional),
     "job": {"read": {"path", "options", "rows_to"}}
          | {"preview": {"path", "options", "sha256", "action", "lists", "to", "only_failed_of"}}
          | {"preview": {"source_list": NAME_OR_ID, "action", "lists", "to", "only_failed_of"}}
          | {"start": {"run_id"}} | {"resume": {"run_id"}} | {"undo": {"run_id"}}}

(``"job"`` may also be ``{"type": "read", ...fields}``.) The events:

- ``{"type": "progress", "stage", "fraction"}`` (read);
  ``{"type": "progress", "phase", "done", "total"}`` (preview);
  ``{"type": "run", "run_id"}`` then ``{"type": "progress", "run_id", "phase", "done",
  "total", "eta", "counts"}`` (start, resume, undo: an undo names its own new run);
- the end: ``{"type": "result", "sheet": …}`` (read), ``{"type": "result", "run_id",
  "preview": …}`` (preview), ``{"type": "result", "result": …}`` (runs); or ``{"type":
  "error", "kind", "error", "title", "what_to_do", "details", "run_id"}`` with a nonzero exit
  status (:data:`EXIT_STOPPED` for a paused or cancelled run, :data:`EXIT_FAILED` otherwise).

Standard input closing, or standard output going away (the window closed), does not stop a
run: the job goes on to its end, its events unread. Stop a run with
:func:`ccdesk.engine.request_stop` (through the journal).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ccdesk import engine
from ccdesk.core.journal import RunBusy, write_sheet_rows
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase
from ccdesk.core.plan import PlanError
from ccdesk.core.runner import WAIT_LIMIT, RunCancelled, RunPaused, RunProgress, RunResult
from ccdesk.engine.session import Session
from ccdesk.engine.wire import PreviewInfo, options_from_json, sheet_to_json
from ccdesk.errors import CcdeskError, ConfigError
from ccdesk.paths import storage_error

log = logging.getLogger("ccdesk.engine.child")

#: Exit status of a run that stopped before the end and can be resumed (as ``ccdesk run``).
EXIT_STOPPED = 3
#: Exit status of any other failure (as the command line's).
EXIT_FAILED = 2
#: At most this many progress events a second (a change of phase or stage always goes).
EVENTS_PER_SECOND = 5
DEFAULT_PROGRAM = "the window"

JOBS = ("read", "preview", "start", "resume", "undo")


def command() -> list[str]:
    """The argv that starts the job process (this same executable).

    The frozen app starts itself (on Windows the windowed ``ccdesk.exe``: no console). From
    source on Windows, ``pythonw.exe`` is preferred to ``python.exe``, which would open a
    console window beside the window for every job (the job then uses the pipes it was given:
    see ``cli.main``)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "job"]
    python = Path(sys.executable)
    if sys.platform == "win32" and python.name.lower() == "python.exe":
        windowless = python.with_name("pythonw.exe")
        if windowless.is_file():
            python = windowless
    return [str(python), "-m", "ccdesk", "job"]


class _Events:
    """One JSON object a line, flushed. Once the reader is gone, events are dropped: the job
    goes on."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._gone = False
        self._last_at = 0.0
        self._last_key: object = None

    def send(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            if self._gone:
                return
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):  # a closed pipe or file: nobody listens any more
                self._gone = True
                log.info("the window stopped listening; the job goes on")
                _silence(self._out)

    def progress(self, key: object, event: dict[str, Any], *, last: bool = False) -> None:
        """A progress event, unless one went less than 1/EVENTS_PER_SECOND ago for the same
        ``key`` (stage or phase) and this is not the ``last`` of its phase."""
        now = time.monotonic()
        if key == self._last_key and not last and now - self._last_at < 1 / EVENTS_PER_SECOND:
            return
        self._last_key, self._last_at = key, now
        self.send({"type": "progress", **event})


def _silence(out: IO[str]) -> None:
    """Point the standard output's descriptor at the null device (no error at exit)."""
    try:
        fileno = out.fileno()
    except (OSError, ValueError, AttributeError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except OSError:
        pass


def _session(spec: dict[str, Any]) -> Session:
    if spec.get("sandbox_url"):
        return Session.for_sandbox(spec["sandbox_url"], spec.get("journal"),
                                   demo=bool(spec.get("demo")))
    session = Session.for_profile(spec.get("profile") or "default")
    if not session.connected():
        raise ConfigError("No Constant Contact account is connected",
                          "Connect an account first, or try the demo.")
    return session


def _job(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    job = request.get("job")
    if not isinstance(job, dict):
        raise ConfigError("The job request is not understood", "Say which job to do.",
                          details=f"job: {job!r}")
    if "type" in job:
        kind = job["type"]
        fields = job
    elif len(job) == 1:
        [(kind, fields)] = job.items()
    else:
        kind, fields = None, {}
    if kind not in JOBS or not isinstance(fields, dict):
        raise ConfigError("The job request is not understood",
                          f"Ask for one of: {', '.join(JOBS)}.", details=f"job: {job!r}")
    return kind, fields


def _field(fields: dict[str, Any], name: str) -> Any:
    try:
        return fields[name]
    except KeyError:
        raise ConfigError("The job request is not understood",
                          f"The job needs its {name!r}.") from None


def main(stdin: IO[str], stdout: IO[str]) -> int:
    """Read one request from ``stdin``, do it, write its events on ``stdout``; the exit
    status."""
    events = _Events(stdout)
    taken: list[str] = []  # the run this job took on, once known
    session: Session | None = None
    try:
        line = stdin.readline()
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise TypeError(type(request).__name__)
        except (ValueError, TypeError) as exc:
            raise ConfigError("The job request is not understood",
                              "Send one JSON object on one line.", details=str(exc)) from None
        kind, fields = _job(request)
        if kind in ("start", "resume"):
            taken.append(_field(fields, "run_id"))
        program = str(request.get("program") or DEFAULT_PROGRAM)
        wait_limit = float(request.get("wait_limit") or WAIT_LIMIT)
        if kind == "read":
            return _read(fields, events)
        session = _session(request.get("session") or {})
        if kind == "preview":
            return _preview(session, fields, events)
        return _carry_out(kind, session, fields, events, taken, program, wait_limit)
    except (RunPaused, RunCancelled) as exc:
        events.send(_error("paused" if isinstance(exc, RunPaused) else "cancelled", exc,
                           exc.run_id))
        return EXIT_STOPPED
    except RunBusy as exc:
        events.send(_error("busy", exc, exc.run_id))
        return EXIT_FAILED
    except CcdeskError as exc:
        events.send(_error("failed", exc, taken[-1] if taken else None))
        return EXIT_FAILED
    except (OSError, sqlite3.Error) as exc:  # the data folder or the journal: in words
        log.warning("job failed: %r", exc, exc_info=True)
        error = storage_error(exc)
        events.send({**_error("failed", error, taken[-1] if taken else None),
                     "error": type(exc).__name__})
        return EXIT_FAILED
    except Exception as exc:
        log.exception("the job failed unexpectedly")
        events.send({"type": "error", "kind": "failed", "error": type(exc).__name__,
                     "title": CcdeskError.title, "what_to_do": CcdeskError.what_to_do,
                     "details": f"{type(exc).__name__}: {exc}"[:2000],
                     "run_id": taken[-1] if taken else None})
        return 1
    finally:
        if session is not None:
            session.close()


def _error(kind: str, exc: CcdeskError, run_id: str | None) -> dict[str, Any]:
    event = {"type": "error", "kind": kind, "error": type(exc).__name__, "title": exc.title,
             "what_to_do": exc.what_to_do, "details": exc.details, "run_id": run_id}
    choices = getattr(exc, "choices", None)
    if choices is not None:  # a sheet whose layout the person can choose by hand
        event["choices"] = choices.to_dict()
    return event


# ---- the jobs -------------------------------------------------------------------------------


def _read(fields: dict[str, Any], events: _Events) -> int:
    def progress(stage: str, fraction: float) -> None:
        events.progress(stage, {"stage": stage, "fraction": fraction}, last=fraction >= 1)

    sheet = engine.read(_field(fields, "path"), options_from_json(fields.get("options")),
                        progress=progress)
    rows_to = fields.get("rows_to")
    if rows_to:
        write_sheet_rows(Path(rows_to), sheet.rows)
    events.send({"type": "result", "sheet": sheet_to_json(sheet)})
    return 0


def _preview(session: Session, fields: dict[str, Any], events: _Events) -> int:
    def progress(phase: Phase, done: int, total: int) -> None:
        events.progress(phase, {"phase": str(phase), "done": done, "total": total},
                        last=done == total)

    action = Action(_field(fields, "action"))
    lists = list(fields.get("lists") or ())
    failed_of = fields.get("only_failed_of")
    to = fields.get("to") or None
    if fields.get("source_list"):  # a Constant Contact list instead of a file
        plan = engine.preview_list(session, str(fields["source_list"]), action, lists,
                                   only_failed_of=failed_of, progress=progress, to=to)
    else:
        sheet = engine.read(_field(fields, "path"), options_from_json(fields.get("options")))
        expected = fields.get("sha256")
        if expected and expected != sheet.sha256:
            raise PlanError("The spreadsheet changed since you opened it", "Open it again.")
        if failed_of:
            sheet = engine.only_failed(session, sheet, failed_of)
        plan = engine.preview(session, sheet, action, lists, progress=progress, to=to)
    run_id = engine.record(session, plan)
    events.send({"type": "result", "run_id": run_id,
                 "preview": PreviewInfo.of(run_id, plan).to_json()})
    return 0


def _carry_out(kind: str, session: Session, fields: dict[str, Any], events: _Events,
               taken: list[str], program: str, wait_limit: float) -> int:
    def on_run(run_id: str) -> None:
        taken.append(run_id)
        events.send({"type": "run", "run_id": run_id})

    def progress(event: RunProgress) -> None:
        events.progress((event.run_id, event.phase), {
            "run_id": event.run_id, "phase": str(event.phase), "done": event.done,
            "total": event.total, "eta": event.eta_seconds, "counts": event.counts},
            last=event.done == event.total)

    job: Callable[..., RunResult] = {"start": engine.start, "resume": engine.resume,
                                     "undo": engine.undo}[kind]
    result = job(session, _field(fields, "run_id"), progress=progress, program=program,
                 wait_limit=wait_limit, on_run=on_run)
    events.send({"type": "result", "result": result.to_dict()})
    return 0


__all__ = ["EXIT_FAILED", "EXIT_STOPPED", "command", "main"]
