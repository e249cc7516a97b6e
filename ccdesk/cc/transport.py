"""The HTTP layer: one session, pacing, the day's request count, retries, error mapping.

Rules (``../shared/cc-v3-api.md`` §5–6):

- Constant Contact allows 4 requests a second per application key; :class:`Pacer` keeps
  ccdesk under that with margin (3.7/s by default), across every thread of the process.
- It allows 10,000 requests a day per key, reset at 00:00 UTC; :class:`DailyUsage` counts what
  this computer sent (persisted), so the app can say what is left and refuse a job that cannot
  fit.
- A partner key may be granted more: the numbers of each key are a
  :class:`~ccdesk.cc.limits.Limits` (the defaults are the ones above), which the pacer's rate
  and the day's allowance follow.
- ``throttled`` (or the older gateway's 403 ``mashery.not.authorized.over…``) → wait a second
  (or as long as a ``Retry-After`` header asks, up to a minute) and retry;
  ``quota_exceeded`` → :class:`QuotaExceeded` at once;
  500/502/503/504, lost connections and timeouts → capped, jittered exponential back-off,
  bounded; other 4xx → no retry; 401 → one token refresh, one retry.
- A request that changes things and is not idempotent (the bulk-activity POSTs) is never
  re-sent once it may have reached the server: the caller gets :class:`OutcomeUnknown`.

Logging: method, path, status and time at INFO; never headers, bodies or query strings (they
hold tokens and addresses) above DEBUG, and never tokens at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from ccdesk.cc.errors import (
    ApiError,
    ConnectionFailed,
    ForeignLink,
    OutcomeUnknown,
    QuotaExceeded,
    RateLimited,
    ServerError,
    error_from_response,
    host_of,
    is_throttled,
)
from ccdesk.cc.limits import DEFAULT_LIMITS, Limits
from ccdesk.paths import replace_file

log = logging.getLogger("ccdesk.cc")

DAILY_LIMIT = DEFAULT_LIMITS.per_day
DEFAULT_RATE = DEFAULT_LIMITS.pacing_rate  # 3.7 a second: under the 4/s limit, a margin for jitter
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
RETRY_STATUSES = frozenset({500, 502, 503, 504})
USER_AGENT = "ccdesk"


class TokenSource(Protocol):
    """Where the transport gets access tokens (see :class:`ccdesk.cc.auth.TokenManager`)."""

    def access_token(self) -> str: ...

    def refresh(self, stale: str) -> str: ...


# =============================================================================================
# Pacing


class Pacer:
    """Spaces requests at least ``1/rate`` seconds apart; shared by threads.

    Args:
        rate: requests per second to stay under; 0: no pacing at all (tests), which
            :meth:`set_rate` then leaves alone.
        clock: a monotonic clock (injectable for tests).
        sleep: how to wait (injectable for tests).
    """

    _shared: ClassVar[dict[str, Pacer]] = {}
    _shared_lock = threading.Lock()

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    @classmethod
    def for_client(cls, client_id: str, rate: float | None = None) -> Pacer:
        """The process-wide pacer of one application key (the limit is per key), at ``rate``
        when given (the key's :attr:`~ccdesk.cc.limits.Limits.pacing_rate`)."""
        with cls._shared_lock:
            if client_id not in cls._shared:
                cls._shared[client_id] = cls(DEFAULT_RATE if rate is None else rate)
            pacer = cls._shared[client_id]
        if rate is not None:
            pacer.set_rate(rate)
        return pacer

    @property
    def rate(self) -> float:
        """Requests per second (0: not paced)."""
        return 1.0 / self.interval if self.interval else 0.0

    def set_rate(self, rate: float) -> None:
        """Pace at ``rate`` from the next request on (a pacer made unpaced stays so)."""
        if rate <= 0:
            raise ValueError("a rate is more than 0 requests a second")
        with self._lock:
            if self.interval:
                self.interval = 1.0 / rate

    def wait(self) -> float:
        """Block until the next request may go; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay

    def hold(self, seconds: float) -> None:
        """Let no request go for ``seconds`` (after Constant Contact said "throttled")."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


# =============================================================================================
# The day's request count


class DailyUsage:
    """Requests sent today per application key, remembered across runs and processes.

    "Today" is the key's allowance day: from its daily reset (00:00 UTC unless its
    :class:`~ccdesk.cc.limits.Limits` say otherwise) to the next. The count lives in a small
    JSON file in the per-user data folder. Every change is a read-modify-write of that file
    under a lock file (:class:`_FileLock`), written to a temporary file and moved into place
    with ``os.replace``: two processes counting at once (two windows, a window and a scheduled
    job) add up instead of overwriting each other. Constant Contact's own count may still be
    higher when other computers share the key, so this is a floor, and a ``quota_exceeded``
    answer marks the day as used up.

    Args:
        path: the file (None: counted in memory only).
        limits: the limits of every key not given its own with :meth:`set_limits`.
        wall: the wall clock (injectable for tests).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        limits: Limits = DEFAULT_LIMITS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.default_limits = limits
        self._limits: dict[str, Limits] = {}
        self._wall = wall
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, Any]] = {}
        if path is not None:
            self._counts = self._read() or {}

    @property
    def limit(self) -> int:
        """Requests a day of a key without limits of its own."""
        return self.default_limits.per_day

    def set_limits(self, client_id: str, limits: Limits) -> None:
        """Count ``client_id``'s allowance by ``limits`` from now on."""
        with self._lock:
            self._limits[client_id] = limits

    def limits_for(self, client_id: str | None) -> Limits:
        """The limits ``client_id``'s allowance is counted by."""
        return self._limits.get(client_id or "", self.default_limits)

    def _day(self, client_id: str) -> str:
        return self.limits_for(client_id).day_of(self._wall())

    def _read(self) -> dict[str, dict[str, Any]] | None:
        """What the file holds (None when it cannot be read)."""
        assert self.path is not None
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return None
        if not isinstance(loaded, dict):
            return None
        return {k: v for k, v in loaded.items() if isinstance(v, dict)}

    def _update(self, client_id: str, change: Callable[[int], int]) -> None:
        """Apply ``change`` to today's count of ``client_id``, merged with the file's."""
        with self._lock:
            lock = _FileLock(self.path.with_name(self.path.name + ".lock")) if self.path else None
            with lock or contextlib.nullcontext():
                used = self._today(client_id)
                self._counts[client_id] = {"day": self._day(client_id), "used": change(used)}
                self._save()

    def count(self, client_id: str, n: int = 1) -> None:
        """Add ``n`` requests to today's count."""
        self._update(client_id, lambda used: used + n)

    def used(self, client_id: str) -> int:
        """Requests counted today (by every process sharing the file)."""
        with self._lock:
            return self._today(client_id)

    def _today(self, client_id: str) -> int:
        """Today's count of ``client_id`` as the file has it now (the lock held)."""
        if self.path is not None and (on_disk := self._read()) is not None:
            self._counts = on_disk
        entry = self._counts.get(client_id)
        if not entry or entry.get("day") != self._day(client_id):
            return 0
        try:
            return int(entry.get("used") or 0)
        except (TypeError, ValueError):
            return 0

    def remaining(self, client_id: str) -> int:
        """Requests left today (never negative)."""
        return max(0, self.limits_for(client_id).per_day - self.used(client_id))

    def mark_exhausted(self, client_id: str) -> None:
        """Constant Contact said the quota is used up: believe it until the daily reset."""
        per_day = self.limits_for(client_id).per_day
        self._update(client_id, lambda used: max(used, per_day))

    def seconds_until_reset(self, client_id: str | None = None) -> float:
        """Seconds until the day's count of ``client_id`` starts again (00:00 UTC by default)."""
        return self.limits_for(client_id).seconds_until_reset(self._wall())

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".usage-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._counts, handle)
            replace_file(tmp, self.path)  # atomic; on Windows waits out a reader
        except OSError as exc:  # one line: a full or read-only disk is no reason for a traceback
            log.warning("could not save the API usage count to %s: %s", self.path, exc)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    Path(tmp).unlink()


class _FileLock:
    """A lock between processes: a lock file created exclusively (works on every platform).

    A lock file older than ``stale`` seconds is left over from a crash and is broken. When the
    lock cannot be had within ``wait`` seconds (or the folder cannot be written), the work goes
    ahead without it: the count is a floor, not a ledger.
    """

    def __init__(self, path: Path, *, wait: float = 5.0, stale: float = 30.0) -> None:
        self.path = path
        self.wait = wait
        self.stale = stale
        self._held = False

    def __enter__(self) -> _FileLock:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                with contextlib.suppress(OSError):
                    if time.time() - self.path.stat().st_mtime > self.stale:
                        self.path.unlink()
                        continue
                if time.monotonic() > deadline:
                    log.warning("the API usage file stayed locked; counting without the lock")
                    return self
                time.sleep(0.005)
                continue
            except OSError:
                return self  # e.g. a read-only folder: the save will say so
            os.close(fd)
            self._held = True
            return self

    def __exit__(self, *exc: object) -> None:
        if self._held:
            self._held = False
            with contextlib.suppress(OSError):
                self.path.unlink()


# =============================================================================================
# Retries


@dataclass
class RetryPolicy:
    """How often and how long to retry.

    Back-off for attempt n (1-based) is ``base * 2**(n-1)`` capped at ``cap``, jittered into
    ``[half, full]``; ``throttle_wait`` is the pause after a ``throttled`` answer.
    """

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    max_throttled: int = 20
    throttle_wait: float = 1.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        full = min(self.cap, self.base * 2 ** (attempt - 1))
        return self.rng.uniform(full / 2, full)


def _host_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL; None when it has a user part or is odd."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


#: The longest pause a Retry-After header may ask for before a retry (a throttle, not a day).
MAX_RETRY_AFTER = 60.0


def _retry_after(response: requests.Response) -> float:
    """The seconds a 429's ``Retry-After`` header asks for (0 without one; capped).

    Constant Contact documents no such header and ccdesk paces itself without it; when one is
    there, ccdesk waits at least that long. Only the delay-seconds form is read."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value.isdigit():
        return 0.0
    return min(float(value), MAX_RETRY_AFTER)


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether a failed request certainly did not reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


# =============================================================================================
# The transport


class Transport:
    """Sends API requests: paced, counted, retried, errors typed.

    Args:
        api_base: e.g. ``https://api.cc.email/v3`` (or a sandbox's ``…/v3``).
        tokens: the access-token source.
        client_id: the application key (the limits are per key).
        limits: the key's limits, when known (see :meth:`set_limits`); otherwise the usage
            count's for the key, and the pacer's rate as it is.
        pacer, usage, retry: injectable; defaults are the process-wide pacer of the key, a
            non-persistent usage count, and the default retry policy.
        session: a ``requests.Session`` to reuse.
        timeout: (connect, read) seconds.
        sleep: how to wait between retries (tests inject a fake).
    """

    def __init__(
        self,
        api_base: str,
        *,
        tokens: TokenSource,
        client_id: str,
        limits: Limits | None = None,
        pacer: Pacer | None = None,
        usage: DailyUsage | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        parts = urlsplit(self.api_base)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._host = _host_of(self.api_base)
        self.tokens = tokens
        self.client_id = client_id
        self.pacer = pacer or Pacer.for_client(client_id)
        self.usage = usage or DailyUsage()
        if limits is not None:
            self.set_limits(limits)
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.timeout = timeout
        self._sleep = sleep
        self.calls = 0  # requests sent by this transport (retries included)

    def url(self, path: str) -> str:
        """An absolute URL for an API path (``/contacts``) or a ``_links`` href (``/v3/…``).

        An absolute href must be on the API's own host (same scheme, host and port, no user
        part): the access token goes nowhere else.

        Raises:
            ForeignLink: the href points at another host.
        """
        if "://" in path or path.startswith("//") or ":" in path.split("/", 1)[0]:
            if _host_of(path) != self._host or self._host is None:
                shown = urlsplit(path)
                log.warning("refused to follow a link to %s (not the API host)",
                            shown.hostname or "an unknown host")
                raise ForeignLink(method="GET", path=shown.path,
                                  server_message=f"a link to {shown.hostname or '?'}")
            return path
        if path.startswith("/v3/"):
            return self.origin + path
        return self.api_base + "/" + path.lstrip("/")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request and return its parsed JSON (None for an empty answer).

        Raises:
            ApiError: a subclass saying what went wrong; see :mod:`ccdesk.cc.errors`.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method != "POST"
        url = self.url(path)
        shown = urlsplit(url).path  # never the query: it can hold addresses
        attempt = throttled = 0
        refreshed = False
        while True:
            token = self.tokens.access_token()
            self.pacer.wait()
            self.usage.count(self.client_id)
            self.calls += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, params=params, json=json_body, timeout=self.timeout,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            except requests.RequestException as exc:
                kind = type(exc).__name__
                log.info("%s %s → no answer (%s)", method, shown, kind)
                if not idempotent and not _never_sent(exc):
                    raise OutcomeUnknown(method=method, path=shown, server_message=kind) from exc
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    raise ConnectionFailed(method=method, path=shown, server_message=kind,
                                           host=host_of(url)) from exc
                self._sleep(self.retry.backoff(attempt))
                continue
            elapsed = (time.monotonic() - started) * 1000
            log.info("%s %s → %s in %.0f ms", method, shown, response.status_code, elapsed)
            if response.status_code < 400:
                if not response.content:
                    return None
                try:
                    return response.json()
                except ValueError as exc:
                    raise ServerError(status=response.status_code, method=method, path=shown,
                                      server_message="the answer was not JSON") from exc
            error = error_from_response(response.status_code, response.text, method=method,
                                        path=shown)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.tokens.refresh(token)
                continue
            if isinstance(error, QuotaExceeded):
                self.usage.mark_exhausted(self.client_id)
                raise error
            if isinstance(error, RateLimited):
                throttled += 1
                if throttled > self.retry.max_throttled:
                    raise error
                wait = self.retry.throttle_wait * (1 + self.retry.rng.random() * 0.25)
                if not is_throttled(error):  # e.g. the 1,000-queued-activities limit
                    wait = max(wait, self.retry.backoff(min(throttled, 6)))
                wait = max(wait, _retry_after(response))
                self.pacer.hold(wait)
                continue
            if response.status_code in RETRY_STATUSES:
                if not idempotent and response.status_code != 503:
                    # 500/502/504 on a POST: it may have been done. 503 means "not served".
                    raise OutcomeUnknown(status=error.status, error_key=error.error_key,
                                         server_message=error.server_message, method=method,
                                         path=shown) from error
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    raise error
                self._sleep(self.retry.backoff(attempt))
                continue
            raise error

    def quota_left(self) -> int:
        """Requests left today for this application key, as far as this computer knows."""
        return self.usage.remaining(self.client_id)

    @property
    def limits(self) -> Limits:
        """The limits this key's requests are paced and counted by."""
        return self.usage.limits_for(self.client_id)

    def set_limits(self, limits: Limits) -> None:
        """Pace and count this key's requests by ``limits`` from the next request on."""
        self.usage.set_limits(self.client_id, limits)
        self.pacer.set_rate(limits.pacing_rate)


__all__ = ["ApiError", "DailyUsage", "Pacer", "RetryPolicy", "TokenSource", "Transport"]
