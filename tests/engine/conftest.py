"""Helpers for the engine tests: the job process (``python -m ccdesk job``) driven as a real
subprocess against the test sandbox over real HTTP, its events read line by line."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ccdesk.core.journal import Journal
from ccdesk.engine.child import command
from tests.core.conftest import write_sheet

#: The small account's addresses a run on Free Members removes (ivy is unsubscribed: skipped).
REMOVABLE = ["ada@example.org", "ben@example.org", "chloe@example.org", "eve@example.org"]
VALUES = [*REMOVABLE, "gus@example.org", "ivy@example.org", "not an address", ""]
#: A move to Sustainers: ada … eve are moved, fay (already on Sustainers) is only taken off Free
#: Members, gus (not on Free Members) and ivy (unsubscribed) are skipped.
MOVED = ["ada@example.org", "ben@example.org", "chloe@example.org", "eve@example.org"]
FAY = "fay@example.org"
MOVE_VALUES = [*MOVED, FAY, "gus@example.org", "ivy@example.org"]
REMOVE_POST = r"/v3/activities/remove_list_memberships$"
ADD_POST = r"/v3/activities/add_list_memberships$"


@pytest.fixture
def url(sandbox) -> str:
    """The test sandbox, approving sign-ins by itself, no rate limits (the job process paces
    itself at Constant Contact's 4 a second; the sheets here are small)."""
    sandbox.reset(auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    return sandbox.base_url


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal" / "journal.sqlite3"


def open_session(url: str, journal_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An in-process engine session on the test sandbox at ``url``: its sign-in and its runs
    unpaced, its activities checked at once, a lost answer looked for at once."""
    from ccdesk.cc import auth
    from ccdesk.cc.transport import Pacer
    from ccdesk.core import runner
    from ccdesk.engine.session import Session
    from ccdesk.sandbox import DEMO_CLIENT_ID

    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    monkeypatch.setattr(runner, "FIRST_POLL", 0.05)
    monkeypatch.setattr(runner, "RECOVER_GRACE", 0.01)
    monkeypatch.setitem(Pacer._shared, DEMO_CLIENT_ID, Pacer(rate=0))
    return Session.for_sandbox(url, journal_path)


@pytest.fixture
def session(url, journal_path, monkeypatch):
    """:func:`open_session` on the small account."""
    s = open_session(url, journal_path, monkeypatch)
    yield s
    s.close()


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_sheet(tmp_path / "members.csv", VALUES)


@pytest.fixture
def move_sheet(tmp_path: Path) -> Path:
    return write_sheet(tmp_path / "upgraded.csv", MOVE_VALUES)


class Job:
    """A running job process: its events as they come."""

    def __init__(self, request: dict[str, Any], *, close_stdin: bool = True) -> None:
        self.proc = subprocess.Popen(command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        if close_stdin:
            self.proc.stdin.close()
        self.events: list[dict[str, Any]] = []

    def next_event(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            return None
        event = json.loads(line)
        self.events.append(event)
        return event

    def until(self, condition: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        while (event := self.next_event()) is not None:
            if condition(event):
                return event
        raise AssertionError(f"the job ended before {what}: {self.events} {self.stderr()}")

    def finish(self, timeout: float = 60) -> tuple[int, list[dict[str, Any]]]:
        while self.next_event() is not None:
            pass
        code = self.proc.wait(timeout=timeout)
        return code, self.events

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def jobs():
    started: list[Job] = []

    def start(request: dict[str, Any], **kwargs: Any) -> Job:
        job = Job(request, **kwargs)
        started.append(job)
        return job

    yield start
    for job in started:
        job.kill()
        for stream in (job.proc.stdout, job.proc.stderr, job.proc.stdin):
            if stream is not None and not stream.closed:
                stream.close()


def request(url: str, journal_path: Path, job: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"session": {"sandbox_url": url, "journal": str(journal_path)},
            "program": "the test window", "job": job, **more}


def run_job(jobs: Callable[..., Job], url: str, journal_path: Path,
            job: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    return jobs(request(url, journal_path, job)).finish()


def preview_of(jobs: Callable[..., Job], url: str, journal_path: Path, sheet: Path,
               **fields: Any) -> dict[str, Any]:
    """Read the sheet, preview it (removal from Free Members); the preview's result event."""
    code, events = run_job(jobs, url, journal_path, {"read": {"path": str(sheet), "options": {}}})
    assert code == 0, events
    sha = events[-1]["sheet"]["sha256"]
    job = {"path": str(sheet), "options": {}, "sha256": sha, "action": "remove",
           "lists": ["Free Members"], "only_failed_of": None, **fields}
    code, events = run_job(jobs, url, journal_path, {"preview": job})
    assert code == 0, events
    return events[-1]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def journal_at(path: Path) -> Journal:
    return Journal(path)


__all__ = ["ADD_POST", "REMOVABLE", "REMOVE_POST", "VALUES", "Job", "journal_at", "preview_of",
           "request", "run_job", "wait_for"]

