"""The sandbox's sense of time, its rate limits, its scripted faults and its request log.

Everything here is plain Python and thread-safe, so the HTTP handlers (one thread per
connection) and the tests (another thread) can share it.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

# =============================================================================================
# Clock


class Clock:
    """Wall-clock time that tests can move forward (or freeze).

    ``time()`` is the real time plus an offset; ``advance`` adds to the offset, so token
    expiry, the UTC day of the quota and activity progress all jump together. A frozen clock
    only moves when told to.
    """

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at = frozen_at

    def time(self) -> float:
        """Seconds since the epoch, as the sandbox sees it."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> datetime:
        """The sandbox time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock (at ``at``, or now)."""
        current = self.time()
        with self._lock:
            self._frozen_at = current if at is None else at

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        """Back to real time: no offset, not frozen."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    def seconds_to_utc_midnight(self) -> float:
        """Seconds left until the next 00:00 UTC on this clock (when the daily quota resets)."""
        now = self.time()
        return 86400.0 - (now % 86400.0)


def utc_day(epoch: float) -> int:
    """The UTC day number of an epoch time (the daily quota's key)."""
    return int(epoch // 86400)


# =============================================================================================
# Rate limits


class RateLimiter:
    """At most ``rate`` requests in any one-second window, per key (client id).

    Only accepted requests are counted: a 429 does not push the window further out.
    ``rate <= 0`` disables the limit.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        """Record a request at ``now`` and say whether it is within the limit."""
        if self.rate <= 0:
            return True
        with self._lock:
            window = self._seen.setdefault(key, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate:
                return False
            window.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


class DailyQuota:
    """At most ``limit`` accepted requests per key per UTC day; ``limit <= 0`` disables it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def allow(self, key: str, now: float) -> bool:
        """Count one request at ``now`` if the day still has room; say whether it had."""
        day = utc_day(now)
        with self._lock:
            used = self._counts.get((key, day), 0)
            if self.limit > 0 and used >= self.limit:
                return False
            self._counts[(key, day)] = used + 1
            return True

    def used(self, key: str, now: float) -> int:
        """Requests counted for ``key`` on the UTC day of ``now``."""
        with self._lock:
            return self._counts.get((key, utc_day(now)), 0)

    def counts_on(self, now: float) -> dict[str, int]:
        """Every key's count on the UTC day of ``now``."""
        day = utc_day(now)
        with self._lock:
            return {key: n for (key, d), n in self._counts.items() if d == day}

    def set_used(self, key: str, now: float, used: int) -> None:
        """Pretend ``used`` requests were already made today (tests of quota exhaustion)."""
        with self._lock:
            self._counts[(key, utc_day(now))] = used

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


# =============================================================================================
# Faults

FAULT_KINDS = ("status", "drop", "delay", "mashery_qps", "mashery_ratelimit")


@dataclass
class Fault:
    """One scripted fault.

    A request matches when its method (if given) and path (a regular expression matched
    against the whole path, without the query) match. Matching requests are counted from 1
    since the fault was added; the fault fires on match number ``nth`` and the ``times - 1``
    matches after it. A request gets at most one fault (the earliest added that is due); a
    fault that was due but lost the request to an earlier one fires on the next match instead,
    so two faults added for one path fire one after the other.

    Kinds:
        ``status``: answer ``status`` (500, 503, …) with the API's error body, doing nothing.
        ``drop``: close the connection without an answer.
        ``delay``: wait ``delay`` seconds, then answer normally.
        ``mashery_qps`` / ``mashery_ratelimit``: the older gateway's rate-limit answer, 403 with
        the single object ``{"error_key": "mashery.not.authorized.over.qps" (or
        "…over.ratelimit"), "error_message": …}``, doing nothing.
    ``body`` (JSON-able) replaces a ``status`` fault's error body, e.g. ``status=403,
    body={"error_key": "mashery.not.authorized.over.qps", …}``.
    ``headers`` are added to a ``status`` fault's answer, e.g. ``status=429,
    headers={"Retry-After": "2"}``.
    ``after=True`` makes ``drop`` and ``delay`` happen *after* the request took effect, the
    case of a POST whose answer is lost.
    """

    path: str
    kind: str = "status"
    status: int = 500
    method: str | None = None
    nth: int = 1
    times: int = 1
    delay: float = 0.0
    after: bool = False
    body: object = None
    headers: dict[str, str] | None = None
    seen: int = 0
    fired: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")
        self._pattern = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and bool(
            self._pattern.fullmatch(path)
        )


ACTIVITY_OUTCOMES = ("failed", "cancelled", "timed_out", "errors", "stuck", "slow")


@dataclass
class ActivityFault:
    """The next bulk activities end badly, or late, or never.

    Outcomes:
        ``failed``, ``cancelled``, ``timed_out``: the activity ends in that state; its first
        ``applied`` contacts (default none) are changed, the rest are not, and
        ``activity_errors`` says so in one message.
        ``errors``: it completes, but its first ``errors`` contacts are left unchanged and
        each is reported in ``activity_errors``.
        ``stuck``: it stays ``processing`` for ever (until ``Sandbox.end_activity``).
        ``slow``: it completes after ``duration`` seconds of ``processing``.
    ``duration`` (seconds of ``processing``; default 60 for ``slow``, the usual time for the
    others) says when an activity with any outcome but ``stuck`` ends.
    """

    outcome: str = "failed"
    errors: int = 1
    times: int = 1
    duration: float | None = None
    applied: int = 0


@dataclass
class ForeignActivityFault:
    """The next bulk POSTs get a twin made elsewhere: an activity the account made in the web
    app or another app, ``offset`` seconds from theirs (negative: before), of the same size
    (or ``size``) and on the same lists (unless ``same_lists=False``). It is indistinguishable
    in ``GET /activities``, changes nothing, and ends as ``outcome``.
    """

    offset: float = 0.0
    size: int | None = None
    same_lists: bool = True
    outcome: str = "completed"
    path: str = r"/v3/activities/(add|remove)_list_memberships"
    times: int = 1
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)


class Faults:
    """The scripted faults of one sandbox."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._activity: list[ActivityFault] = []
        self._foreign: list[ForeignActivityFault] = []

    def add(self, path: str, kind: str = "status", **options: object) -> Fault:
        """Script a fault; see :class:`Fault` for the options."""
        fault = Fault(path=path, kind=kind, **options)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def activity(
        self,
        outcome: str = "failed",
        errors: int = 1,
        times: int = 1,
        *,
        duration: float | None = None,
        applied: int = 0,
    ) -> ActivityFault:
        """Make the next ``times`` bulk activities end as ``outcome``; see :class:`ActivityFault`."""
        if outcome not in ACTIVITY_OUTCOMES:
            raise ValueError(f"outcome is one of {ACTIVITY_OUTCOMES}")
        if outcome == "slow" and duration is None:
            duration = 60.0
        if duration is not None and duration < 0:
            raise ValueError("duration is seconds, at least 0")
        fault = ActivityFault(outcome=outcome, errors=errors, times=times, duration=duration,
                              applied=applied)
        with self._lock:
            self._activity.append(fault)
        return fault

    def foreign_activity(
        self,
        offset: float = 0.0,
        *,
        size: int | None = None,
        same_lists: bool = True,
        outcome: str = "completed",
        path: str = r"/v3/activities/(add|remove)_list_memberships",
        times: int = 1,
    ) -> ForeignActivityFault:
        """Put an activity made elsewhere next to each of the next ``times`` bulk POSTs
        matching ``path``; see :class:`ForeignActivityFault`."""
        if outcome not in ("completed", "failed", "cancelled", "timed_out"):
            raise ValueError("outcome is completed, failed, cancelled or timed_out")
        fault = ForeignActivityFault(offset=offset, size=size, same_lists=same_lists,
                                     outcome=outcome, path=path, times=times)
        with self._lock:
            self._foreign.append(fault)
        return fault

    def take_foreign(self, path: str) -> ForeignActivityFault | None:
        """The twin to create next to the bulk activity posted to ``path`` now, if any."""
        with self._lock:
            for fault in self._foreign:
                if fault.times > 0 and fault._pattern.fullmatch(path):
                    fault.times -= 1
                    return fault
        return None

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that fires for this request, if any (counts the request)."""
        chosen = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen >= fault.nth and fault.fired < fault.times:
                    fault.fired += 1
                    chosen = fault
        return chosen

    def take_activity(self) -> ActivityFault | None:
        """The activity fault for the activity being created now, if any."""
        with self._lock:
            for fault in self._activity:
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._activity.clear()
            self._foreign.clear()


# =============================================================================================
# Request log


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received."""

    seq: int
    time: float
    method: str
    path: str
    query: str
    status: int
    client_id: str | None
    duration_ms: float
    fault: str | None = None


class RequestLog:
    """Every request, in order; tests read it to count API calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._seq = 0

    def add(self, **fields: object) -> RequestRecord:
        with self._lock:
            self._seq += 1
            record = RequestRecord(seq=self._seq, **fields)  # type: ignore[arg-type]
            self._records.append(record)
            return record

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """How many requests match; ``path`` is a regular expression matched at the start."""
        pattern = re.compile(path) if path else None
        return sum(
            1
            for r in self.records()
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.match(r.path))
            and (status is None or r.status == status)
        )

    def api_calls(self) -> int:
        """Requests to the REST API (``/v3/…``), the ones that count against the quota."""
        return self.count(path=r"/v3/")

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
