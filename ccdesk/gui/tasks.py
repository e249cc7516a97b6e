"""The light work the window does on a thread (:class:`ccdesk.gui.worker.Job`): the account,
the lists, the history, a run's results, following a run through the journal. The heavy work
(reading, previewing, running) is done by the engine in a child process
(:mod:`ccdesk.gui.jobs`). No Qt here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccdesk import engine
from ccdesk.cc.auth import AppKey, DeviceCode
from ccdesk.cc.limits import DEFAULT_LIMITS, Limits
from ccdesk.cc.models import Account, ContactList
from ccdesk.core.export import export_recorded_preview
from ccdesk.core.journal import Owner, RunRecord
from ccdesk.core.runner import RunResult, result_of
from ccdesk.engine.session import Session
from ccdesk.gui.words import result_groups

log = logging.getLogger("ccdesk.gui.tasks")

Report = Callable[[Any], None]
Work = Callable[[Report, threading.Event], Any]


@dataclass
class Step:
    """Progress of a step: a phase in plain words, and how far (``total`` 0 = unknown)."""

    phase: str
    done: float = 0
    total: float = 0


# =============================================================================================
# Account


@dataclass
class AccountInfo:
    """Who is connected, as the Account page shows it."""

    connected: bool
    account: Account | None = None
    quota_left: int = 0
    demo: bool = False
    limits: Limits = DEFAULT_LIMITS  # the application key's (what "left today" is out of)


def _connected_info(session: Session, account: Account) -> AccountInfo:
    left, limits = session.allowance()
    return AccountInfo(True, account, left, session.demo, limits)


def account_work(session: Session) -> Work:
    """Whether the session is connected and, if so, to which organisation."""

    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        report(Step("Checking the connection"))
        if not session.connected():
            return AccountInfo(False, demo=session.demo)
        account = session.account()
        return _connected_info(session, account)

    return work


def connect_browser_work(session: Session, app: AppKey, port: int,
                         open_browser: Callable[[str], Any] | None,
                         host: str = "127.0.0.1") -> Work:
    """The browser sign-in (redirect to ``http://HOST:PORT/callback``); returns the
    :class:`AccountInfo` afterwards."""

    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        report(Step("Waiting for you to sign in in the browser"))
        account = session.connect_browser(app, port=port, host_name=host,
                                          open_browser=open_browser, cancel=cancel)
        return _connected_info(session, account)

    return work


def device_start_work(session: Session, app: AppKey) -> Work:
    """Ask for a device code (step one of "other ways to connect")."""

    def work(report: Report, cancel: threading.Event) -> DeviceCode:
        return session.start_device(app)

    return work


def device_finish_work(session: Session, app: AppKey, device: DeviceCode) -> Work:
    """Wait until the person approves the device code."""

    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        account = session.finish_device(app, device, cancel=cancel)
        return _connected_info(session, account)

    return work


def disconnect_work(session: Session) -> Work:
    def work(report: Report, cancel: threading.Event) -> AccountInfo:
        session.disconnect()
        return AccountInfo(False, demo=session.demo)

    return work


def session_work(factory: Callable[[], Session]) -> Work:
    """Build a session (the demo one starts its sandbox and signs in: a second or so)."""

    def work(report: Report, cancel: threading.Event) -> Session:
        report(Step("Starting"))
        return factory()

    return work


def lists_work(session: Session) -> Work:
    """The account's lists with their sizes."""

    def work(report: Report, cancel: threading.Event) -> list[ContactList]:
        return sorted(session.client().lists(), key=lambda x: x.name.casefold())

    return work


# =============================================================================================
# Runs


@dataclass
class RetryFacts:
    """What "Try the failed ones again" needs to know about a run."""

    run: RunRecord
    failed: int


def retry_facts_work(session: Session, run_id: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> RetryFacts:
        with session.journal() as journal:
            return RetryFacts(journal.run(run_id), journal.result_counts(run_id).get("failed", 0))

    return work


@dataclass
class Followed:
    """One look at a run being carried out (by this window's child, or elsewhere)."""

    run_id: str
    status: engine.RunStatus | None
    ended: str = ""  # how it ended, once it has: finished, paused, cancelled, failed, abandoned
    error: dict[str, Any] | None = None  # the child's error event, if it ended with one


#: Seconds between two looks at a run being carried out.
WATCH_EVERY = 0.5
#: How long a run's child may take to claim its run before the window says it did not start.
START_PATIENCE = 90.0
#: How long the journal may show nobody carrying a run out (after somebody did) before the
#: window believes its process ended: its last words may still be on their way.
GONE_AFTER = 3.0

#: How a run ended, from its child's error event (any other kind of error: "failed").
_ENDED_BY_ERROR = ("paused", "cancelled")


def follow_work(session: Session, run_id: str, events: Path | None = None,
                every: float = WATCH_EVERY) -> Work:
    """Follow a run through the journal until nobody carries it out any more; with ``events``
    (the file a run's child of this window writes), its run id, result and error are read
    there too. Returns the last :class:`Followed` (None: stopped following)."""

    def work(report: Report, cancel: threading.Event) -> Followed | None:
        said = EventsFile(events) if events is not None else None
        rid, last, held, started, free_since = run_id, None, False, time.monotonic(), None
        launched = time.time()
        while True:
            for event in said.read() if said is not None else ():
                if event.get("type") == "run":
                    rid = event.get("run_id") or rid
                elif event.get("type") in ("result", "error"):
                    last = event
            status = engine.status(session, rid) if rid else None
            seen = Followed(rid, status)
            now = time.monotonic()
            if status is not None and status.holder is not None:
                held, free_since = True, None
            elif said is not None and not held and rid and _taken_since(session, rid, launched):
                held, free_since = True, now  # taken on and let go between two looks
            elif free_since is None:
                free_since = now
            if last is not None and (status is None or status.holder is None):
                kind = last.get("kind", "")
                seen.ended = ("finished" if last["type"] == "result"
                              else kind if kind in _ENDED_BY_ERROR else "failed")
                seen.error = last if last["type"] == "error" else None
            elif said is None and status is not None and status.holder is None:
                seen.ended = "abandoned" if status.abandoned else status.run.state
            elif held and free_since is not None and now - free_since > GONE_AFTER:
                seen.ended = "abandoned"
            elif not held and now - started > START_PATIENCE:
                seen.ended, seen.error = "failed", {
                    "title": "The run did not start",
                    "what_to_do": "Try again. If it happens again, send the log file to "
                                  "whoever supports ccdesk.", "details": "", "run_id": rid}
            if seen.ended:
                if said is not None:
                    said.remove()
                return seen
            report(seen)
            if cancel.wait(every):
                return None

    return work


# =============================================================================================
# Results and history


@dataclass
class RunDetails:
    """Everything the Results page shows about one run (its rows are read by the table)."""

    run: RunRecord
    result: RunResult
    groups: dict[str, int]
    journal_path: Path
    undone_by: RunRecord | None = None  # a finished undo of this run
    original: RunRecord | None = None  # for an undo: the run it undid
    owner: Owner | None = None  # who last carried it out
    holder: Owner | None = None  # who carries it out now
    #: Rows an undo would change (a move's: also those put on its target but still on the old list).
    undoable: int = 0


def results_work(session: Session, run_id: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> RunDetails:
        with session.journal() as journal:
            run = journal.run(run_id)
            result = result_of(journal, run_id)
            undone_by = next((r for r in journal.runs()
                              if r.undo_of == run_id and r.state == "finished"), None)
            original = journal.run(run.undo_of) if run.undo_of else None
            owner = journal.owner(run_id)
            holder = journal.holder(run_id) if run.unfinished else None
            return RunDetails(run, result, result_groups(result.counts), journal.path,
                              undone_by, original, owner, holder, journal.undoable_count(run_id))

    return work


@dataclass
class HistoryEntry:
    run: RunRecord
    counts: dict[str, int]
    holder: Owner | None = None  # who carries it out now (this window, or another process)
    here: bool = False  # it is the run this window carries out
    undone: bool = False  # a finished undo put back what it did
    sent: int = 0  # rows sent to Constant Contact and not read back yet

    @property
    def elsewhere(self) -> bool:
        return self.holder is not None and not self.here


def history_work(session: Session) -> Work:
    def work(report: Report, cancel: threading.Event) -> list[HistoryEntry]:
        with session.journal() as journal:
            runs = journal.runs()
            undone = {r.undo_of for r in runs if r.undo_of and r.state == "finished"}
            entries = []
            for run in runs:
                counts = journal.result_counts(run.run_id)
                entries.append(HistoryEntry(
                    run, result_groups(counts),
                    journal.holder(run.run_id) if run.unfinished else None,
                    undone=run.run_id in undone, sent=counts.get("sent", 0)))
            return entries

    return work


def unfinished_work(session: Session) -> Work:
    def work(report: Report, cancel: threading.Event) -> list[RunRecord]:
        with session.journal() as journal:  # not the runs another process is carrying out now
            return [r for r in journal.unfinished_runs() if journal.holder(r.run_id) is None]

    return work


def export_log_work(session: Session, run_id: str, path: str, fmt: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> Path:
        return engine.export(session, run_id, path, fmt)

    return work


def export_preview_work(session: Session, run_id: str, path: str, fmt: str) -> Work:
    def work(report: Report, cancel: threading.Event) -> Path:
        with session.journal() as journal:
            return export_recorded_preview(journal, run_id, path, fmt)

    return work


def _taken_since(session: Session, run_id: str, when: float) -> bool:
    """Whether some process took the run on at ``when`` or later."""
    with session.journal() as journal:
        owner = journal.owner(run_id)
    return owner is not None and owner.since >= when - 1.0


class EventsFile:
    """Reads the events file of a run's child as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return []
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def remove(self) -> None:
        """Forget the file, and the request next to it."""
        request = self.path.with_name(self.path.name.replace(".events.jsonl", ".request.json"))
        for path in (self.path, request):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.debug("could not remove %s", path, exc_info=True)
