"""The sandbox HTTP server: a local stand-in for the Constant Contact V3 API.

``Sandbox`` is the facade: build it from a state (see :mod:`ccdesk.sandbox.state`), ``start()``
it on 127.0.0.1 (port 0 = any free port), point a client at :attr:`Sandbox.base_url`, and read
:attr:`Sandbox.requests` to count what was asked. Faults and the clock are scriptable through
:attr:`Sandbox.faults` and :attr:`Sandbox.clock`.

URL layout (``base_url`` stands for ``https://api.cc.email`` and
``https://authz.constantcontact.com`` at once)::

    /v3/…                                  the REST API (Bearer token, rate limits)
    /oauth2/default/v1/authorize           consent page (GET) and decision (POST)
    /oauth2/default/v1/token               the token endpoint (1 request/second per client)
    /oauth2/default/v1/device/authorize    the device flow's first step
    /activate                              where the device flow's user enters the code
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import json
import logging
import math
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ccdesk.paths import replace_file
from ccdesk.sandbox.limits import Clock, DailyQuota, Faults, RateLimiter, RequestLog, utc_day
from ccdesk.sandbox.oauth import DEVICE_GRANT, AccessToken, App, OAuthError, OAuthServer
from ccdesk.sandbox.state import (
    MAILABLE,
    PERMISSIONS,
    ROLE_PRIVILEGES,
    STATUS_FILTERS,
    SUB_RESOURCES,
    AccountState,
    ActivityRecord,
    ApiError,
    ContactRecord,
    ListRecord,
    generate_data,
    iso,
    validation_error,
)

log = logging.getLogger("ccdesk.sandbox")

DEMO_CLIENT_ID = "ccdesk-sandbox-app"
ALL_SCOPES = ["contact_data", "account_read", "offline_access"]
# What the sandbox's own application has registered: ccdesk's default redirect (port 52817)
# on both loopback names, and the port-less forms.
DEMO_REDIRECT_URIS = (
    "http://127.0.0.1:52817/callback", "http://localhost:52817/callback",
    "http://127.0.0.1/callback", "http://localhost/callback",
)
MAX_BODY = 5 * 1024 * 1024
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

THROTTLED = {"error_key": "throttled", "error_message": "Too Many Requests"}
QUOTA_EXCEEDED = {"error_key": "quota_exceeded", "error_message": "Limit Exceeded"}
UNAUTHORIZED = {"error_key": "unauthorized", "error_message": "Unauthorized"}
# The older API gateway's (Mashery's) rate-limit answers: 403, one object (cc-v3-api.md §6, §9).
MASHERY_QPS = {"error_key": "mashery.not.authorized.over.qps",
               "error_message": "Account Over Queries Per Second Limit"}
MASHERY_RATELIMIT = {"error_key": "mashery.not.authorized.over.ratelimit",
                     "error_message": "Account Over Rate Limit"}
# A request the connected user's role does not allow (Constant Contact's documented body).
ACCESS_DENIED = {"error_key": "access_denied",
                 "error_message": "Request forbidden due to insufficient user privileges."}
MASHERY_BODIES = {"mashery_qps": MASHERY_QPS, "mashery_ratelimit": MASHERY_RATELIMIT}
FAULT_BODIES = {
    500: [{"error_key": "server.error", "error_message": "An internal server error occurred."}],
    502: [{"error_key": "bad_gateway", "error_message": "Bad Gateway"}],
    503: [{"error_key": "service.unavailable", "error_message": "Service temporarily unavailable."}],
    504: [{"error_key": "gateway_timeout", "error_message": "Gateway Timeout"}],
}


@dataclass
class SandboxConfig:
    """How a sandbox behaves. The defaults are Constant Contact's real numbers."""

    port: int = 0
    rate_limit: float = 4.0  # requests per second per client id; 0 = unlimited
    daily_quota: int = 10_000  # requests per UTC day per client id; 0 = unlimited
    token_rate_limit: float = 1.0  # token-endpoint requests per second per client id
    latency_ms: float = 0.0  # added to every answer
    auto_approve: bool = False  # skip the consent page (the demo does)
    activity_delay: float = 0.2  # seconds an activity stays "initialized"
    activity_seconds: float = 1.0  # seconds of "processing" for a 500-contact activity
    activity_min_seconds: float = 0.2
    queue_limit: int = 1000  # queued (unfinished) activities per account
    access_lifetime: float = 86400.0
    code_lifetime: float = 300.0
    device_interval: float = 5.0
    device_lifetime: float = 600.0
    # A registered loopback redirect URI must match exactly, port included, as Constant
    # Contact's portal requires. True: any port on a registered loopback address (RFC 8252
    # §7.3). None: exact, unless the sandbox auto-approves (the demo, whose in-process sign-in
    # listens on any free port).
    any_loopback_port: bool | None = None
    list_changes_touch_contacts: bool = False  # True: list changes and opt-outs bump updated_at
    foreign_activities: int = 0  # activities made elsewhere, seeded over the last hour
    foreign_activity_every: float = 120.0  # then one about this often (s; 0 = no more)
    gateway_rate_errors: bool = False  # over a limit: the old gateway's 403 mashery.* answers
    # A 429 says when to try again (Retry-After, seconds). Constant Contact documents no such
    # header, so it is off by default; ccdesk honours it when there is one.
    retry_after: bool = False
    user_role: str | None = None  # account_owner | account_manager | campaign_creator; None:
    # the state's ("user_role" in the state file; account_owner by default)
    seed: int = 1


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: Any
    body: bytes

    def json(self) -> Any:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, "http.status.unsupported_media_type", "Unsupported Media Type")
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "http.status.bad_request", f"Malformed JSON: {exc}") from None

    def form(self) -> dict[str, str]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded.")
        pairs = dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return {**self.query, **pairs}


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or bytes/str with content_type
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


# method, path, handler, OAuth scope needed, user privilege needed (the description's
# x-authorization-privileges)
Route = tuple[str, re.Pattern[str], Callable[..., Response], str | None, str | None]


def _cursor_encode(params: dict[str, str], after: str) -> str:
    raw = urlencode([*sorted(params.items()), ("next", after)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _cursor_decode(cursor: str) -> tuple[dict[str, str], str]:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        params = dict(parse_qsl(raw, keep_blank_values=True))
        after = params.pop("next")
    except (binascii.Error, UnicodeDecodeError, KeyError, ValueError):
        raise validation_error("The cursor is not valid.") from None
    return params, after


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise validation_error(f"{name} must be a number.") from None
    if not low <= number <= high:
        raise validation_error(f"{name} must be between {low} and {high}.")
    return number


def _bool_param(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "false").lower()
    if value not in ("true", "false"):
        raise validation_error(f"{name} must be true or false.")
    return value == "true"


TIME_FILTERS = ("updated_after", "updated_before", "created_after", "created_before")


def _time_param(query: dict[str, str], name: str) -> float:
    try:
        return datetime.fromisoformat(query[name].replace(" ", "+")).timestamp()
    except ValueError:
        raise validation_error(f"{name} must be an ISO-8601 date-time.") from None


def _in_window(rec: ContactRecord, window: dict[str, float]) -> bool:
    for name, when in window.items():
        stamp = rec.updated_at if name.startswith("updated") else rec.created_at
        stamp_ms, when_ms = math.floor(stamp * 1000), round(when * 1000)  # as the API shows them
        if (name.endswith("_after") and stamp_ms <= when_ms) or (
            name.endswith("_before") and stamp_ms >= when_ms
        ):
            return False
    return True


def _csv_param(query: dict[str, str], name: str, allowed: tuple[str, ...] | None) -> list[str]:
    items = [v.strip() for v in query.get(name, "").split(",") if v.strip()]
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise validation_error(f"{name} does not have a valid value: {bad[0]}.")
    return items


class Sandbox:
    """A Constant Contact V3 stand-in served over real HTTP on 127.0.0.1.

    Args:
        data: the account in the state-file format; ``None`` gives an empty account. A saved
            sandbox (see :meth:`save`) also brings back its clock and today's request counts.
        config: behaviour; keyword overrides of :class:`SandboxConfig` fields also work.
        clock: share a clock (tests); a new running clock by default.
        save_to: keep the account in this file (see :meth:`save`): after every request that
            may change it, and when the sandbox stops (a failure then is logged, not raised).
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        config: SandboxConfig | None = None,
        *,
        clock: Clock | None = None,
        save_to: Path | str | None = None,
        **overrides: Any,
    ) -> None:
        self.config = config or SandboxConfig()
        for name, value in overrides.items():
            if not hasattr(self.config, name):
                raise TypeError(f"unknown sandbox option {name!r}")
            setattr(self.config, name, value)
        self.clock = clock or Clock()
        self.faults = Faults()
        self.requests = RequestLog()
        self.rate = RateLimiter(self.config.rate_limit)
        self.quota = DailyQuota(self.config.daily_quota)
        self.token_rate = RateLimiter(self.config.token_rate_limit)
        self._data = data or {"lists": [], "contacts": []}
        self.state = self._new_state()
        self.save_path = Path(save_to) if save_to is not None else None
        self._save_lock = threading.Lock()
        self._restore_clock_and_quota(self._data.get("saved", {}))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.oauth = self._new_oauth("http://127.0.0.1")
        self._routes = self._build_routes()

    # ---- life cycle ------------------------------------------------------------------------

    def _new_state(self) -> AccountState:
        state = AccountState.from_data(self._data, now=self.clock.time(), seed=self.config.seed)
        state.list_changes_touch_contacts = self.config.list_changes_touch_contacts
        if self.config.user_role is not None:
            if self.config.user_role not in ROLE_PRIVILEGES:
                raise ValueError(f"user_role {self.config.user_role!r}: use one of "
                                 f"{sorted(ROLE_PRIVILEGES)}")
            state.user_role = self.config.user_role
        if self.config.foreign_activities > 0:
            state.start_foreign(self.config.foreign_activities, now=self.clock.time(),
                                every=self.config.foreign_activity_every)
        return state

    def _new_oauth(self, base_url: str) -> OAuthServer:
        c = self.config
        oauth = OAuthServer(
            self.clock,
            issuer=f"{base_url}/oauth2/default",
            auto_approve=c.auto_approve,
            access_lifetime=c.access_lifetime,
            code_lifetime=c.code_lifetime,
            device_interval=c.device_interval,
            device_lifetime=c.device_lifetime,
            loopback_any_port=c.auto_approve if c.any_loopback_port is None else c.any_loopback_port,
            login_email=self.state.account.get("contact_email", "owner@example.org"),
        )
        oauth.register_app(App(DEMO_CLIENT_ID, name="ccdesk", redirect_uris=list(DEMO_REDIRECT_URIS)))
        return oauth

    def start(self) -> Sandbox:
        """Start serving on a background thread; returns self."""
        server = _Server(("127.0.0.1", self.config.port), _Handler)
        server.sandbox = self
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self.oauth.issuer = f"{self.base_url}/oauth2/default"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="ccdesk-sandbox", daemon=True,
        )
        self._thread.start()
        log.info("sandbox serving at %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and free the port (and save the account, with ``save_to``)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._save_or_log()

    # ---- keeping the account ------------------------------------------------------------

    def saved_data(self) -> dict[str, Any]:
        """The account as it stands, with the clock and today's request counts, in the
        state-file format (its ``"saved"`` member; see :mod:`ccdesk.sandbox.state`)."""
        now = self.clock.time()
        with self.state.lock:
            data = self.state.to_saved()
        data["saved"]["saved_at"] = now
        data["saved"]["quota_day"] = utc_day(now)
        data["saved"]["quota_used"] = self.quota.counts_on(now)
        return data

    def save(self) -> None:
        """Write :meth:`saved_data` to ``save_to`` (owner-only, replaced atomically); without
        ``save_to``, nothing."""
        if self.save_path is None:
            return
        text = json.dumps(self.saved_data(), separators=(",", ":"))
        with self._save_lock:
            folder = self.save_path.parent
            folder.mkdir(parents=True, exist_ok=True)
            # mkstemp makes the file 0600; the rename swaps it in whole or not at all.
            fd, temp = tempfile.mkstemp(prefix=f".{self.save_path.name}.", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                replace_file(temp, self.save_path)
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(temp).unlink()
                raise

    def _save_or_log(self) -> None:
        # A full or read-only disk must not turn an applied change into an error answer, nor
        # stop the sandbox from stopping: the account is only not kept.
        try:
            self.save()
        except OSError as exc:
            log.warning("the sandbox's account could not be saved in %s: %s", self.save_path, exc)

    def _restore_clock_and_quota(self, saved: dict[str, Any]) -> None:
        # Time never runs backwards across a restart (a clock moved on by a test, a computer
        # clock set back): activities keep their order and end when they should.
        behind = float(saved.get("saved_at", 0.0)) - self.clock.time()
        if behind > 0:
            self.clock.advance(behind)
        if saved.get("quota_day") == utc_day(self.clock.time()):  # the same UTC day: kept
            for key, used in saved.get("quota_used", {}).items():
                self.quota.set_used(key, self.clock.time(), int(used))

    def __enter__(self) -> Sandbox:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(
        self, data: dict[str, Any] | None = None, *, defaults: bool = False, **overrides: Any
    ) -> None:
        """Start over (same port): fresh account, tokens, faults, limits and request log.

        Args:
            data: a new account (state-file format); the previous one when None.
            defaults: forget earlier option changes (back to :class:`SandboxConfig`'s defaults).
            overrides: option changes, as for the constructor.
        """
        if defaults:
            self.config = SandboxConfig(port=self.config.port)
            self.clock.reset()
        for name, value in overrides.items():
            if not hasattr(self.config, name):
                raise TypeError(f"unknown sandbox option {name!r}")
            setattr(self.config, name, value)
        if data is not None:
            self._data = data
        self.clock.unfreeze()
        self.state = self._new_state()
        self.faults.clear()
        self.requests.clear()
        self.rate = RateLimiter(self.config.rate_limit)
        self.quota = DailyQuota(self.config.daily_quota)
        self.token_rate = RateLimiter(self.config.token_rate_limit)
        self.oauth = self._new_oauth(self.base_url or "http://127.0.0.1")
        self.save()

    def set_limits(
        self, rate_limit: float | None = None, daily_quota: int | None = None,
        token_rate_limit: float | None = None,
    ) -> None:
        """Change the rate limits while serving (counters start afresh)."""
        if rate_limit is not None:
            self.config.rate_limit = rate_limit
            self.rate = RateLimiter(rate_limit)
        if daily_quota is not None:
            self.config.daily_quota = daily_quota
            self.quota = DailyQuota(daily_quota)
        if token_rate_limit is not None:
            self.config.token_rate_limit = token_rate_limit
            self.token_rate = RateLimiter(token_rate_limit)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v3"

    @property
    def oauth_url(self) -> str:
        return f"{self.base_url}/oauth2/default/v1"

    # ---- conveniences for tests and the demo -----------------------------------------------------

    def register_app(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        redirect_uris: list[str] | None = None,
        rotating_refresh: bool = True,
    ) -> App:
        """Register another application (a confidential one when ``secret`` is given)."""
        app = App(client_id, client_secret=secret, rotating_refresh=rotating_refresh)
        if redirect_uris is not None:
            app.redirect_uris = redirect_uris
        return self.oauth.register_app(app)

    def issue_token(
        self,
        client_id: str = DEMO_CLIENT_ID,
        scope: list[str] | None = None,
        lifetime: float | None = None,
    ) -> dict[str, Any]:
        """A token response as if the user had connected (tests not about OAuth)."""
        return self.oauth.issue_for_test(client_id, scope or ALL_SCOPES, lifetime=lifetime)

    def settle(self) -> None:
        """Apply every bulk activity whose time has come."""
        with self.state.lock:
            self.state.settle(self.clock.time())

    def finish_activities(self) -> None:
        """Complete every pending activity now (moves no clock); stuck ones stay stuck."""
        with self.state.lock:
            self.state.settle(float("inf"))

    def end_activity(self, activity_id: str, outcome: str = "completed") -> None:
        """End an unfinished activity (a stuck one, say) now, as ``outcome``.

        ``completed`` applies all its changes; ``failed``, ``cancelled`` and ``timed_out``
        apply those of its first ``applied`` contacts (see ``Faults.activity``).
        """
        with self.state.lock:
            self.state.end_activity(activity_id, outcome, now=self.clock.time())

    def add_foreign_activity(
        self,
        size: int,
        *,
        created_at: float | None = None,
        lists: list[str] | None = None,
        kind: str = "remove_list_memberships",
        seconds: float | None = None,
        outcome: str = "completed",
    ) -> str:
        """Add an activity the account made elsewhere, now (or at ``created_at``); its id.

        Args:
            size: its ``items_total_count``.
            created_at: epoch seconds on the sandbox clock; now by default.
            lists: names of its target lists; one or two of the account's by default.
            kind: what it is (not shown by the API): an import, a removal, …
            seconds: how long it processes; as long as a bulk job that size by default.
            outcome: ``completed``, ``failed``, ``cancelled`` or ``timed_out``.
        """
        with self.state.lock:
            when = self.clock.time() if created_at is None else created_at
            list_ids = None if lists is None else [self.list_id(name) for name in lists]
            activity = self.state.add_foreign_activity(
                size=size, created_at=when, kind=kind, list_ids=list_ids, seconds=seconds,
                outcome=outcome,
            )
            return activity.activity_id

    def contact(self, email: str) -> dict[str, Any] | None:
        """A contact as the API would show it, plus ``lists``: the names of its lists."""
        with self.state.lock:
            self.state.settle(self.clock.time())
            rec = self.state.by_email.get(email.lower())
            if rec is None:
                return None
            out = self.state.contact_json(rec, ["list_memberships"])
            out["lists"] = sorted(self.state.lists[i].name for i in rec.lists)
            return out

    def members(self, list_name: str) -> set[str]:
        """The addresses on a list, lower-cased."""
        with self.state.lock:
            self.state.settle(self.clock.time())
            rec = self.state.list_by_name(list_name)
            if rec is None:
                raise KeyError(list_name)
            return {self.state.by_seq[seq].address.lower() for seq in rec.members}

    def list_id(self, name: str) -> str:
        rec = self.state.list_by_name(name)
        if rec is None:
            raise KeyError(name)
        return rec.list_id

    def quota_used(self, client_id: str = DEMO_CLIENT_ID) -> int:
        return self.quota.used(client_id, self.clock.time())

    def snapshot(self) -> dict[str, Any]:
        """The account now, in the state-file format."""
        with self.state.lock:
            return self.state.to_data()

    # ---- dispatch ----------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        started = time.perf_counter()
        parts = urlsplit(handler.path)
        path = parts.path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if 0 < length <= MAX_BODY else b""
        request = Request(
            method, path, dict(parse_qsl(parts.query, keep_blank_values=True)),
            parts.query, handler.headers, body,
        )
        client_id: str | None = None
        fault_name: str | None = None
        if self.config.latency_ms > 0:
            time.sleep(self.config.latency_ms / 1000)
        fault = self.faults.take(method, path)
        if fault is not None:
            fault_name = f"{fault.kind}:{fault.status}" if fault.kind == "status" else fault.kind
        try:
            if fault is not None and not fault.after and fault.kind == "drop":
                self._log(request, 0, client_id, started, fault_name)  # logged before the drop
                self._drop(handler)
                return
            if fault is not None and not fault.after and fault.kind == "delay":
                time.sleep(fault.delay)
            if fault is not None and fault.kind == "status":
                body = fault.body if fault.body is not None else FAULT_BODIES.get(
                    fault.status, FAULT_BODIES[500])
                response = Response(fault.status, body, headers=dict(fault.headers or {}))
            elif fault is not None and fault.kind in MASHERY_BODIES:
                response = Response(403, MASHERY_BODIES[fault.kind])
            elif length > MAX_BODY:
                response = Response(413, [{"error_key": "http.status.payload_too_large",
                                           "error_message": "Request body too large."}])
            else:
                response, client_id = self._route(request)
            if fault is not None and fault.after and fault.kind == "drop":
                self._log(request, 0, client_id, started, fault_name)
                self._drop(handler)
                return
            if fault is not None and fault.after and fault.kind == "delay":
                time.sleep(fault.delay)
        except Exception:  # a bug in the sandbox: answer 500, keep serving, log why
            log.exception("sandbox error on %s %s", method, path)
            response = Response(500, FAULT_BODIES[500])
        if method != "GET" and self.save_path is not None:
            self._save_or_log()  # before the answer: a change that was answered is kept
        # Logged before the answer goes out, so a test that has the answer sees the record.
        self._log(request, response.status, client_id, started, fault_name)
        self._write(handler, response)

    def _log(self, request: Request, status: int, client_id: str | None, started: float,
             fault: str | None) -> None:
        self.requests.add(
            time=self.clock.time(), method=request.method, path=request.path,
            query=request.raw_query, status=status, client_id=client_id,
            duration_ms=(time.perf_counter() - started) * 1000, fault=fault,
        )

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, response: Response) -> None:
        if response.body is None:
            payload = b""
        elif isinstance(response.body, bytes):
            payload = response.body
        elif isinstance(response.body, str):
            payload = response.body.encode("utf-8")
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode("utf-8")
        try:
            handler.send_response(response.status)
            if payload or response.status not in (204, 302):
                handler.send_header("Content-Type", response.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if payload and handler.command != "HEAD":
                handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _route(self, request: Request) -> tuple[Response, str | None]:
        path = request.path
        if path.startswith("/v3/"):
            return self._api(request)
        if path.startswith("/oauth2/default/v1/"):
            return self._oauth(request)
        if path == "/activate":
            return self._activate(request), None
        if path == "/":
            return self._index(), None
        return Response(404, "Not found", "text/plain; charset=utf-8"), None

    # ---- the REST API ---------------------------------------------------------------------------

    def _build_routes(self) -> list[Route]:
        uid = r"(?P<id>[^/]+)"
        table: list[tuple[str, str, Callable[..., Response], str | None, str | None]] = [
            ("GET", r"/v3/account/user/privileges", self._user_privileges, None, None),
            ("GET", r"/v3/account/summary", self._account_summary, "account_read", "account:read"),
            ("GET", r"/v3/contact_lists", self._get_lists, "contact_data", "contacts:lists:read"),
            ("GET", rf"/v3/contact_lists/{uid}", self._get_list, "contact_data",
             "contacts:lists:read"),
            ("GET", r"/v3/contacts", self._get_contacts, "contact_data", "contacts:read"),
            ("POST", r"/v3/contacts", self._post_contact, "contact_data", "contacts:write"),
            ("GET", rf"/v3/contacts/{uid}", self._get_contact, "contact_data", "contacts:read"),
            ("PUT", rf"/v3/contacts/{uid}", self._put_contact, "contact_data", "contacts:write"),
            ("DELETE", rf"/v3/contacts/{uid}", self._delete_contact, "contact_data",
             "contacts:write"),
            ("POST", r"/v3/activities/remove_list_memberships", self._remove_memberships,
             "contact_data", "contacts:write"),
            ("POST", r"/v3/activities/add_list_memberships", self._add_memberships,
             "contact_data", "contacts:write"),
            ("GET", r"/v3/activities", self._get_activities, "contact_data", "contacts:write"),
            ("GET", rf"/v3/activities/{uid}", self._get_activity, "contact_data", "contacts:write"),
        ]
        return [(m, re.compile(p), fn, scope, privilege) for m, p, fn, scope, privilege in table]

    def _retry_after(self, seconds: float) -> dict[str, str]:
        """The Retry-After header of a 429, when the sandbox sends one (``retry_after``)."""
        return {"Retry-After": str(max(1, math.ceil(seconds)))} if self.config.retry_after else {}

    def _api(self, request: Request) -> tuple[Response, str | None]:
        token = self.oauth.check_bearer(request.headers.get("Authorization"))
        if token is None:
            return Response(401, UNAUTHORIZED), None
        client_id = token.client_id
        now = self.clock.time()
        if not self.rate.allow(client_id, now):
            if self.config.gateway_rate_errors:
                return Response(403, MASHERY_QPS), client_id
            return Response(429, THROTTLED, headers=self._retry_after(1.0)), client_id
        if not self.quota.allow(client_id, now):
            if self.config.gateway_rate_errors:
                return Response(403, MASHERY_RATELIMIT), client_id
            return Response(429, QUOTA_EXCEEDED,
                            headers=self._retry_after(self.clock.seconds_to_utc_midnight())), client_id
        allowed_methods = []
        for method, pattern, fn, scope, privilege in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed_methods.append(method)
                continue
            if scope and scope not in token.scope:
                return Response(403, [{"error_key": "unauthorized",
                                       "error_message": f"This request needs the {scope} scope."}]), client_id
            if privilege and privilege not in ROLE_PRIVILEGES[self.state.user_role]:
                return Response(403, ACCESS_DENIED), client_id
            try:
                with self.state.lock:
                    self.state.settle(now)
                    return fn(request, token, now, **match.groupdict()), client_id
            except ApiError as exc:
                return Response(exc.status, exc.body()), client_id
        if allowed_methods:
            return Response(405, [{"error_key": "http.status.method_not_allowed",
                                   "error_message": "Method Not Allowed"}],
                            headers={"Allow": ", ".join(allowed_methods)}), client_id
        return Response(404, [{"error_key": "http.status.not_found",
                               "error_message": "Resource not found."}]), client_id

    # account

    def _account_summary(self, request: Request, token: AccessToken, now: float) -> Response:
        fields = _csv_param(request.query, "extra_fields", ("physical_address", "company_logo"))
        keys = ("contact_email", "contact_phone", "country_code", "encoded_account_id", "first_name",
                "last_name", "organization_name", "organization_phone", "state_code",
                "time_zone_id", "website")
        out = {k: self.state.account[k] for k in keys if k in self.state.account}
        if "physical_address" in fields:
            out["physical_address"] = self.state.account.get(
                "physical_address",
                {"address_line1": "1 Harbour Road", "city": "Salem", "state_code": "MA",
                 "postal_code": "01970", "country_code": "US"},
            )
        return Response(200, out)

    def _user_privileges(self, request: Request, token: AccessToken, now: float) -> Response:
        return Response(200, self.state.privileges_json())

    # lists

    def _list_json(self, rec: ListRecord, membership: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "list_id": rec.list_id,
            "name": rec.name,
            "description": rec.description,
            "favorite": rec.favorite,
            "created_at": iso(rec.created_at),
            "updated_at": iso(rec.updated_at),
        }
        if rec.deleted_at is not None:
            out["deleted_at"] = iso(rec.deleted_at)
        if membership:
            out["membership_count"] = self.state.membership_count(rec, membership)
        return out

    def _get_lists(self, request: Request, token: AccessToken, now: float) -> Response:
        query = request.query
        after = ""
        if "cursor" in query:
            query, after = _cursor_decode(query["cursor"])
        limit = _int_param(query, "limit", 50, 1, 500)  # the parameter's own description
        membership = query.get("include_membership_count")
        if membership not in (None, "all", "active"):
            raise validation_error("include_membership_count does not have a valid value",
                                   "contact_lists.api.validation.error")
        statuses = set(_csv_param(query, "status", ("all", "active", "deleted"))) or {"active"}
        name = query.get("name")
        selected = [
            self.state.lists[i] for i in self.state.list_order
            if (name is None or self.state.lists[i].name == name)
            and ("all" in statuses
                 or ("deleted" in statuses and self.state.lists[i].deleted_at is not None)
                 or ("active" in statuses and self.state.lists[i].deleted_at is None))
        ]
        start = 0
        if after:
            ids = [rec.list_id for rec in selected]
            start = ids.index(after) + 1 if after in ids else len(ids)
        page = selected[start:start + limit]
        out: dict[str, Any] = {"lists": [self._list_json(rec, membership) for rec in page]}
        if _bool_param(query, "include_count"):
            out["lists_count"] = len(selected)
        if start + limit < len(selected):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["limit"] = str(limit)
            out["_links"] = {"next": {"href": "/v3/contact_lists?cursor="
                                      + _cursor_encode(params, page[-1].list_id)}}
        return Response(200, out)

    def _get_list(self, request: Request, token: AccessToken, now: float, id: str) -> Response:
        rec = self.state.lists.get(id)
        if rec is None:
            raise ApiError(404, "contact_lists.api.not_found", "List not found.")
        membership = request.query.get("include_membership_count")
        if membership not in (None, "all", "active"):
            raise validation_error("include_membership_count does not have a valid value")
        return Response(200, self._list_json(rec, membership))

    # contacts

    def _find_contact(self, contact_id: str) -> ContactRecord:
        if not UUID_RE.match(contact_id):
            raise ApiError(404, "contacts.api.not_found", "contact_id is in an invalid format.")
        rec = self.state.contacts.get(contact_id)
        if rec is None:
            raise ApiError(404, "contacts.api.not_found", "Contact not found.")
        return rec

    def _get_contacts(self, request: Request, token: AccessToken, now: float) -> Response:
        query = request.query
        after_id = ""
        if "cursor" in query:
            query, after_id = _cursor_decode(query["cursor"])
        limit = _int_param(query, "limit", 50, 1, 500)
        statuses = frozenset(_csv_param(query, "status", STATUS_FILTERS))
        include = _csv_param(query, "include", SUB_RESOURCES)
        list_ids = _csv_param(query, "lists", None)
        if len(list_ids) > 25:
            raise validation_error("lists accepts at most 25 list ids.")
        for unsupported in ("segment_id", "tags"):
            if unsupported in query:
                raise validation_error(f"The sandbox does not model {unsupported}.")
        known_lists = [i for i in list_ids if i in self.state.lists]
        include_count = _bool_param(query, "include_count")
        window = {name: _time_param(query, name) for name in TIME_FILTERS if name in query}
        email = query.get("email")

        if email is not None:
            rec = self.state.by_email.get(email.strip().lower())
            found = []
            if rec is not None and self.state.matches_status(rec, statuses) and (
                not list_ids or any(i in rec.lists for i in list_ids)
            ):
                found = [rec]
            out: dict[str, Any] = {"contacts": [self.state.contact_json(r, include) for r in found]}
            if include_count:
                out["contacts_count"] = len(found)
            return Response(200, out)

        if list_ids and not known_lists:
            matches: list[ContactRecord] = []
            iterator = iter(matches)
        else:
            after = -1
            if after_id:
                prev = self.state.contacts.get(after_id)
                if prev is None:
                    raise validation_error("The cursor is not valid.")
                after = prev.seq
            iterator = self.state.iter_contacts(statuses, known_lists, after)
        if window:
            iterator = (rec for rec in iterator if _in_window(rec, window))
        page = []
        for rec in iterator:
            page.append(rec)
            if len(page) > limit:
                break
        more = len(page) > limit
        page = page[:limit]
        out = {"contacts": [self.state.contact_json(r, include) for r in page]}
        if include_count:
            everyone = self.state.iter_contacts(statuses, known_lists, -1) \
                if (known_lists or not list_ids) else iter(())
            out["contacts_count"] = sum(1 for rec in everyone if not window or _in_window(rec, window))
        if more:
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["limit"] = str(limit)
            out["_links"] = {"next": {"href": "/v3/contacts?cursor="
                                      + _cursor_encode(params, page[-1].contact_id)}}
        return Response(200, out)

    def _get_contact(self, request: Request, token: AccessToken, now: float, id: str) -> Response:
        rec = self._find_contact(id)
        include = _csv_param(request.query, "include", SUB_RESOURCES)
        return Response(200, self.state.contact_json(rec, include))

    def _put_contact(self, request: Request, token: AccessToken, now: float, id: str) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise validation_error("The request body must be a JSON object.")
        rec = self._find_contact(id)
        self.state.put_contact(rec, body, now=now)
        return Response(200, self.state.contact_json(rec, SUB_RESOURCES))

    def _post_contact(self, request: Request, token: AccessToken, now: float) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise validation_error("The request body must be a JSON object.")
        email = body.get("email_address") or {}
        address = email.get("address") if isinstance(email, dict) else None
        if not isinstance(address, str) or "@" not in address:
            raise validation_error("email_address.address is required.")
        source = body.get("create_source")
        if source not in ("Account", "Contact"):
            raise validation_error("create_source is required and must be Account or Contact.")
        permission = email.get("permission_to_send", "implicit")
        if permission not in PERMISSIONS:
            raise validation_error("email_address.permission_to_send is not a valid value.")
        lists = body.get("list_memberships") or []
        unknown = [i for i in lists if i not in self.state.lists]
        if unknown:
            raise ApiError(404, "contact_lists.api.not_found", f"List {unknown[0]} not found.")
        rec = self.state.add_contact(
            address, permission=permission, first_name=body.get("first_name"),
            last_name=body.get("last_name"), list_ids=lists, now=now, source=source,
        )
        return Response(201, self.state.contact_json(rec, ["list_memberships"]))

    def _delete_contact(self, request: Request, token: AccessToken, now: float, id: str) -> Response:
        rec = self._find_contact(id)
        self.state.soft_delete(rec, now=now)
        return Response(204)

    # activities

    def _membership_activity(self, request: Request, token: AccessToken, now: float, kind: str) -> Response:
        key = "activities.api.validation.error"
        body = request.json()
        if not isinstance(body, dict):
            raise validation_error("The request body must be a JSON object.", key)
        source = body.get("source")
        targets = body.get("list_ids")
        if not isinstance(source, dict):
            raise validation_error("source is required.", key)
        if not isinstance(targets, list) or not targets:
            raise validation_error("list_ids is required.", key)
        if len(targets) > 50:
            raise validation_error("list_ids accepts at most 50 lists.", key)
        if any(t not in self.state.lists for t in targets):
            raise validation_error("list_ids contains a list that does not exist.", key)
        kinds = [k for k in ("contact_ids", "list_ids", "tag_ids", "engagement_level", "segment_id")
                 if source.get(k) not in (None, [], "")]
        if source.get("all_active_contacts") is True:
            kinds.append("all_active_contacts")
        if len(kinds) != 1:
            raise validation_error("source must contain exactly one of contact_ids, list_ids, "
                                   "all_active_contacts, tag_ids or engagement_level.", key)
        exclude = body.get("exclude") or {}
        excluded = set(exclude.get("contact_ids") or []) if isinstance(exclude, dict) else set()
        if excluded and kinds[0] not in ("list_ids", "all_active_contacts"):
            raise validation_error("exclude can only be used with a list_ids or "
                                   "all_active_contacts source.", key)
        if kinds[0] == "contact_ids":
            ids = source["contact_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise validation_error("source.contact_ids must be a list of contact ids.", key)
            if len(ids) > 500:
                raise validation_error("source.contact_ids accepts at most 500 contacts.", key)
            contact_ids = list(dict.fromkeys(ids))
        elif kinds[0] == "list_ids":
            lists = source["list_ids"]
            if len(lists) > 50:
                raise validation_error("source.list_ids accepts at most 50 lists.", key)
            if any(i not in self.state.lists for i in lists):
                raise validation_error("source.list_ids contains a list that does not exist.", key)
            seqs = sorted({s for i in lists for s in self.state.lists[i].members})
            contact_ids = [self.state.by_seq[s].contact_id for s in seqs]
        elif kinds[0] == "all_active_contacts":
            contact_ids = [r.contact_id for r in self.state.by_seq
                           if r.deleted_at is None and r.permission in MAILABLE]
        else:
            raise validation_error(f"The sandbox does not model a {kinds[0]} source.", key)
        contact_ids = [i for i in contact_ids if i not in excluded]
        if self.state.queued_activities() >= self.config.queue_limit:
            return Response(429, {"error_key": "activities.queue.limit",
                                  "error_message": "You exceeded 1,000 queued activities for "
                                                   "this user account."})
        c = self.config
        start = now + c.activity_delay
        duration = max(c.activity_min_seconds, c.activity_seconds * len(contact_ids) / 500)
        activity = ActivityRecord(
            activity_id=self.state.new_id(), kind=kind, client_id=token.client_id,
            contact_ids=contact_ids, list_ids=list(dict.fromkeys(targets)),
            created_at=now, start_at=start, done_at=start + duration,
        )
        fault = self.faults.take_activity()
        if fault is not None:
            if fault.duration is not None:
                activity.done_at = start + fault.duration
            if fault.outcome == "stuck":
                activity.done_at = math.inf
            elif fault.outcome == "errors":
                activity.error_count = fault.errors
            elif fault.outcome != "slow":
                activity.outcome = fault.outcome
                activity.applied = fault.applied
        self.state.add_activity(activity)
        twin = self.faults.take_foreign(request.path)
        if twin is not None:
            self.state.add_foreign_activity(
                size=twin.size if twin.size is not None else len(contact_ids),
                created_at=now + twin.offset, kind=kind,
                list_ids=activity.list_ids if twin.same_lists else None,
                seconds=activity.done_at - activity.start_at if activity.done_at != math.inf
                else None,
                outcome=twin.outcome,
            )
        return Response(201, self.state.activity_json(activity, now))

    def _remove_memberships(self, request: Request, token: AccessToken, now: float) -> Response:
        return self._membership_activity(request, token, now, "remove_list_memberships")

    def _add_memberships(self, request: Request, token: AccessToken, now: float) -> Response:
        return self._membership_activity(request, token, now, "add_list_memberships")

    def _get_activity(self, request: Request, token: AccessToken, now: float, id: str) -> Response:
        activity = self.state.visible_activity(id, now)
        if activity is None:
            raise ApiError(404, "activities.api.not_found", "Activity not found.")
        return Response(200, self.state.activity_json(activity, now))

    def _get_activities(self, request: Request, token: AccessToken, now: float) -> Response:
        query = request.query
        after = ""
        if "cursor" in query:
            query, after = _cursor_decode(query["cursor"])
        limit = _int_param(query, "limit", 50, 1, 500)
        wanted = _csv_param(query, "state", ("processing", "completed", "cancelled", "failed",
                                             "timed_out", "initialized"))
        visible = []
        newest_first = sorted(reversed(self.state.activity_order),
                              key=lambda i: -self.state.activities[i].created_at)
        for activity_id in newest_first:
            activity = self.state.visible_activity(activity_id, now)
            if activity is None:
                continue
            if wanted and activity.state_at(now)[0] not in wanted:
                continue
            visible.append(activity)
        start = 0
        if after:
            ids = [a.activity_id for a in visible]
            start = ids.index(after) + 1 if after in ids else len(ids)
        page = visible[start:start + limit]
        out: dict[str, Any] = {"activities": [self.state.activity_json(a, now) for a in page]}
        if start + limit < len(visible):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["limit"] = str(limit)
            out["_links"] = {"next": {"href": "/v3/activities?cursor="
                                      + _cursor_encode(params, page[-1].activity_id)}}
        return Response(200, out)

    # ---- OAuth -----------------------------------------------------------------------------------

    def _oauth(self, request: Request) -> tuple[Response, str | None]:
        tail = request.path[len("/oauth2/default/v1/"):]
        try:
            if tail == "authorize" and request.method in ("GET", "POST"):
                return self._authorize(request), request.query.get("client_id")
            if tail == "token" and request.method == "POST":
                return self._token(request)
            if tail == "device/authorize" and request.method == "POST":
                return self._device_authorize(request)
        except OAuthError as exc:
            return Response(exc.status, exc.body(), headers={"Cache-Control": "no-store"}), None
        return Response(404, {"error": "not_found", "error_description": "Unknown endpoint."}), None

    def _token(self, request: Request) -> tuple[Response, str | None]:
        form = request.form() if request.body else dict(request.query)  # §1.5: query works too
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth[6:]).decode("utf-8")
                client_id, _, secret = decoded.partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError("invalid_client", "Client authentication failed.", 401) from None
        if client_id and not self.token_rate.allow(client_id, self.clock.time()):
            return Response(429, {"error": "rate_limited",
                                  "error_description": "Too many token requests; wait one second."},
                            headers={"Cache-Control": "no-store"}), client_id
        app = self.oauth.authenticate_client(client_id, secret)
        body = self.oauth.token(form, app)
        return Response(200, body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}), client_id

    def _device_authorize(self, request: Request) -> tuple[Response, str | None]:
        form = request.form() if request.body else dict(request.query)  # §1.4: query works too
        client_id = form.get("client_id")
        app = self.oauth.apps.get(client_id or "")
        if app is None:
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        scopes = self.oauth.check_scope(form.get("scope", ""))
        return Response(200, self.oauth.start_device(app, scopes, self.base_url)), client_id

    def _authorize(self, request: Request) -> Response:
        params = request.query
        if request.method == "POST":
            params = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        app = self.oauth.apps.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if app is None or not self.oauth.redirect_allowed(app, redirect_uri):
            # RFC 6749 §4.1.2.1: never redirect to an unchecked address.
            return _page(400, "This sign-in link is not valid",
                         "The application or its return address is not registered.")
        state = params.get("state")

        def back(**values: str) -> Response:
            if state is not None:
                values["state"] = state
            sep = "&" if "?" in redirect_uri else "?"
            return Response(302, None, headers={"Location": redirect_uri + sep + urlencode(values)})

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type",
                        error_description="response_type must be code.")
        try:
            scopes = self.oauth.check_scope(params.get("scope", ""))
        except OAuthError as exc:
            return back(error=exc.error, error_description=exc.description)
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None and method != "S256":
            return back(error="invalid_request",
                        error_description="code_challenge_method must be S256.")
        if challenge is not None and not self.oauth.valid_challenge(challenge):
            return back(error="invalid_request", error_description="code_challenge is malformed.")
        if challenge is None and app.public:
            return back(error="invalid_request",
                        error_description="PKCE is required: send code_challenge.")
        decision = params.get("decision") if request.method == "POST" else None
        if decision == "deny":
            return back(error="access_denied", error_description="The user denied the request.")
        if decision == "allow" or self.oauth.auto_approve:
            return back(code=self.oauth.issue_code(app.client_id, redirect_uri, scopes, challenge))
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        org = html.escape(self.state.account.get("organization_name", ""))
        scope_text = ", ".join(html.escape(s) for s in scopes)
        return _page(
            200,
            f"Allow {html.escape(app.name)} to use your Constant Contact account?",
            f"<p>Account: <b>{org}</b> (sandbox)</p><p>It asks for: {scope_text}</p>"
            f'<form method="post" action="/oauth2/default/v1/authorize">{hidden}'
            '<button name="decision" value="allow">Allow</button> '
            '<button name="decision" value="deny">Deny</button></form>',
            raw=True,
        )

    def _activate(self, request: Request) -> Response:
        params = request.query
        if request.method == "POST":
            params = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        user_code = params.get("user_code", "")
        decision = params.get("decision")
        if user_code and (decision or (self.oauth.auto_approve and request.method == "GET")):
            if self.oauth.decide_device(user_code, decision != "deny"):
                word = "denied" if decision == "deny" else "connected"
                return _page(200, f"Device {word}", "You can close this page.")
            return _page(400, "That code is not valid", "Check the code and try again.")
        return _page(
            200,
            "Connect a device",
            '<form method="post" action="/activate"><label>Code '
            f'<input name="user_code" value="{html.escape(user_code)}"></label> '
            '<button name="decision" value="allow">Allow</button> '
            '<button name="decision" value="deny">Deny</button></form>',
            raw=True,
        )

    def _index(self) -> Response:
        account = html.escape(self.state.account.get("organization_name", ""))
        return _page(
            200,
            "ccdesk sandbox",
            f"<p>A local stand-in for the Constant Contact V3 API. Account: <b>{account}</b>.</p>"
            f"<p>REST API: <code>{self.api_url}</code><br>OAuth2: <code>{self.oauth_url}</code>"
            f"<br>Application id (client_id): <code>{DEMO_CLIENT_ID}</code></p>",
            raw=True,
        )


def _page(status: int, title: str, text: str, *, raw: bool = False) -> Response:
    body = text if raw else f"<p>{html.escape(text)}</p>"
    return Response(
        status,
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>",
        "text/html; charset=utf-8",
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ccdesk-sandbox"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the record

    def do_GET(self) -> None:
        self.server.sandbox.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.sandbox.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.sandbox.handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.sandbox.handle(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.sandbox.handle(self, "PATCH")


def start_sandbox(data: dict[str, Any] | None = None, **options: Any) -> Sandbox:
    """Build and start a sandbox; ``generate=N`` makes a generated account of N contacts."""
    n = options.pop("generate", None)
    if n is not None:
        data = generate_data(int(n), seed=options.get("seed", 1))
    return Sandbox(data, **options).start()


__all__ = ["DEMO_CLIENT_ID", "DEVICE_GRANT", "Sandbox", "SandboxConfig", "start_sandbox"]
