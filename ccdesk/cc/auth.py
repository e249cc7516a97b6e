"""Connecting a Constant Contact account and keeping its tokens fresh.

- :func:`connect_with_browser`: the authorization-code flow with PKCE (S256) for a public
  desktop app, or with the client secret for a confidential one. The system browser opens the
  consent page; the redirect comes back to a one-shot listener on 127.0.0.1
  (:class:`LoopbackReceiver`); ``state`` is checked; the code is exchanged with the verifier.
- :func:`start_device_flow` / :func:`finish_device_flow`: the device flow, for when no
  redirect can reach this computer.
- :class:`TokenManager`: hands out the access token, refreshing it only when it is expired or
  about to be, or after a 401; never two refreshes at once; a rotated refresh token is saved
  before the new access token is used. If the store refuses it, it is kept in memory (the old
  one is dead), the person is told, and the save is tried again (on later calls, at the next
  refresh, and when the process ends): a token the server issued is never thrown away.

Facts: ``../shared/cc-v3-api.md`` §1. Nothing here logs or prints a token, code or secret.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import html
import logging
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from ccdesk.cc.errors import (
    ApiError,
    ConnectionFailed,
    OAuthFlowError,
    ReconnectNeeded,
    ServerError,
    error_from_response,
    host_of,
)
from ccdesk.credentials import StoredCredentials

log = logging.getLogger("ccdesk.cc.auth")

DEFAULT_SCOPES = ("contact_data", "account_read", "offline_access")
DEFAULT_REDIRECT_PORT = 52817
DEFAULT_REDIRECT_HOST = "127.0.0.1"
#: The hosts a redirect URI may name. Constant Contact requires the registered URI exactly;
#: whether it accepts 127.0.0.1 as well as localhost is unverified, so both are offered.
REDIRECT_HOSTS = ("127.0.0.1", "localhost")
REDIRECT_PATH = "/callback"
REFRESH_MARGIN = 300.0  # refresh when less than five minutes are left
TOKEN_INTERVAL = 1.05  # the token endpoint allows one request a second per application
PRODUCTION_API = "https://api.cc.email/v3"
PRODUCTION_AUTHZ = "https://authz.constantcontact.com/oauth2/default/v1"
#: Constant Contact's developer portal, where an organisation registers ccdesk's application
#: ("My Applications"). The set-up form and the README name it; a test keeps them the same.
DEVELOPER_PORTAL = "https://app.constantcontact.com/pages/dma/portal/"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SAVE_RETRY_INTERVAL = 30.0  # seconds between tries to save credentials the store refused


@dataclass(frozen=True)
class Endpoints:
    """Where the API and the OAuth2 server are."""

    api_base: str = PRODUCTION_API
    authz_base: str = PRODUCTION_AUTHZ

    @classmethod
    def for_base(cls, base_url: str) -> Endpoints:
        """The endpoints of a sandbox (or any server laid out like it) at ``base_url``."""
        base = base_url.rstrip("/")
        return cls(api_base=f"{base}/v3", authz_base=f"{base}/oauth2/default/v1")

    @property
    def authorize(self) -> str:
        return f"{self.authz_base}/authorize"

    @property
    def token(self) -> str:
        return f"{self.authz_base}/token"

    @property
    def device(self) -> str:
        return f"{self.authz_base}/device/authorize"


@dataclass(frozen=True, repr=False)
class AppKey:
    """The application registered with Constant Contact: its key and, if confidential, secret."""

    client_id: str
    client_secret: str | None = None

    def __repr__(self) -> str:
        kind = "confidential" if self.client_secret else "public"
        return f"AppKey(client_id={self.client_id!r}, {kind})"


class CredentialStoreLike(Protocol):
    """What the token manager needs of a credential store (:class:`ccdesk.credentials.CredentialStore`)."""

    def load(self) -> StoredCredentials | None: ...

    def save(self, credentials: StoredCredentials) -> None: ...

    def delete(self) -> None: ...


class InMemoryStore:
    """Credentials kept only in memory: the demo account (whose tokens die with the sandbox)."""

    def __init__(self, credentials: StoredCredentials | None = None) -> None:
        self._credentials = credentials
        self.saves = 0

    def load(self) -> StoredCredentials | None:
        return self._credentials

    def save(self, credentials: StoredCredentials) -> None:
        self._credentials = credentials
        self.saves += 1

    def delete(self) -> None:
        self._credentials = None


# =============================================================================================
# PKCE and the token endpoint


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


class _TokenGate:
    """Keeps token-endpoint requests of one application one second apart."""

    _last: ClassVar[dict[str, float]] = {}
    _lock = threading.Lock()

    @classmethod
    def wait(cls, client_id: str, sleep: Callable[[float], None]) -> None:
        with cls._lock:
            now = time.monotonic()
            start = max(now, cls._last.get(client_id, 0.0) + TOKEN_INTERVAL)
            cls._last[client_id] = start
        if start > now:
            sleep(start - now)


def token_request(
    endpoints: Endpoints,
    app: AppKey,
    form: dict[str, str],
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    timeout: tuple[float, float] = (5.0, 30.0),
) -> dict[str, Any]:
    """POST to the token endpoint; returns the token response or raises a typed error.

    A public app sends its client id in the form; a confidential one authenticates with HTTP
    Basic. A 429 (one request a second) is waited out and retried a few times.
    """
    http = session or requests.Session()
    body = dict(form)
    auth = None
    if app.client_secret:
        auth = (app.client_id, app.client_secret)
    else:
        body["client_id"] = app.client_id
    for attempt in range(1, 6):
        _TokenGate.wait(app.client_id, sleep)
        try:
            response = http.post(endpoints.token, data=body, auth=auth, timeout=timeout,
                                 headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            log.info("POST token → no answer (%s)", type(exc).__name__)
            if attempt >= 3:
                raise ConnectionFailed(method="POST", path="/token",
                                       server_message=type(exc).__name__,
                                       host=host_of(endpoints.token)) from exc
            sleep(attempt)
            continue
        log.info("POST token (%s) → %s", form.get("grant_type", "?").rsplit(":", 1)[-1],
                 response.status_code)
        if response.status_code == 429 or response.status_code >= 500:
            if attempt >= 5:
                break
            sleep(1.0 * attempt)
            continue
        if response.status_code >= 400:
            raise error_from_response(response.status_code, response.text, method="POST",
                                      path="/token")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or "access_token" not in data:
            raise ServerError(status=response.status_code, method="POST", path="/token",
                              server_message="the token answer was not understood")
        return data
    raise error_from_response(response.status_code, response.text, method="POST", path="/token")


def credentials_from_token_response(
    app: AppKey, data: dict[str, Any], *, now: float, previous: StoredCredentials | None = None
) -> StoredCredentials:
    """Turn a token response into credentials to store (keeps the refresh token if none came)."""
    expires_at = now + float(data.get("expires_in") or 0)
    scope = data.get("scope") or ""
    if previous is not None:
        return previous.with_tokens(data["access_token"], expires_at, data.get("refresh_token"),
                                    scope or previous.scope)
    return StoredCredentials(
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=data["access_token"],
        access_expires_at=expires_at,
        refresh_token=data.get("refresh_token"),
        scope=scope,
    )


# =============================================================================================
# The browser flow


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer
    timeout = 5.0  # seconds: a connection that sends nothing is dropped, and blocks nobody

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the authorization code: never log it

    def _plain(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.server.path:
            self._plain(404)
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        expected = self.server.expected_state
        given = params.get("state", "")
        if expected is None or not secrets.compare_digest(given.encode(), expected.encode()):
            # Not the answer to this sign-in (forged, stale or garbled): refuse it and keep
            # waiting for the real one.
            self._plain(400)
            return
        with self.server.lock:
            first = self.server.result is None
            if first:
                self.server.result = params
        if not first:
            self._plain(400)
            return
        title = ("ccdesk was not connected" if "error" in params
                 else "ccdesk is connected to Constant Contact")
        text = "You can close this tab and go back to ccdesk."
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head>"
            "<body style='font-family:sans-serif;margin:3em'>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(page)
        self.server.done.set()


class _CallbackServer(ThreadingHTTPServer):
    daemon_threads = True  # a stalled connection never keeps the process (or close) waiting
    block_on_close = False
    path: str
    expected_state: str | None
    result: dict[str, str] | None
    done: threading.Event
    lock: threading.Lock


class LoopbackReceiver:
    """A one-shot HTTP listener on 127.0.0.1 that receives the OAuth redirect.

    Each connection is served on its own thread with a read timeout, so an idle or slow local
    connection cannot hold up the real redirect. Only a redirect carrying this sign-in's
    ``state`` is taken; anything else (a forged or stale redirect, garbage) gets a 400 and the
    listener keeps waiting. :meth:`close` returns within about a second.

    Args:
        port: the registered port (0 = any free port, for tests).
        path: the redirect path.
        host_name: the host written in the redirect URI (``localhost`` or ``127.0.0.1``);
            the listener itself only ever binds 127.0.0.1.
        state: the ``state`` sent with the authorization request (settable later, before the
            browser opens, as :attr:`state`).
    """

    def __init__(self, port: int = DEFAULT_REDIRECT_PORT, path: str = REDIRECT_PATH,
                 host_name: str = "127.0.0.1", state: str | None = None) -> None:
        self.host_name = host_name
        try:
            self._server = _CallbackServer(("127.0.0.1", port), _CallbackHandler)
        except OSError as exc:
            raise OAuthFlowError(
                "ccdesk cannot receive Constant Contact's answer",
                f"Port {port} on this computer is in use. Close the other program using it, or "
                "change the redirect port in Account → Application key or with --port (and in "
                "your Constant Contact application's redirect URI), then try again.",
                details=str(exc),
            ) from exc
        self._server.path = path
        self._server.expected_state = state
        self._server.result = None
        self._server.done = threading.Event()
        self._server.lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="ccdesk-oauth-callback")
        self._thread.start()

    @property
    def state(self) -> str | None:
        return self._server.expected_state

    @state.setter
    def state(self, value: str) -> None:
        self._server.expected_state = value

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host_name}:{self.port}{self._server.path}"

    def wait(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, str]:
        """The redirect's query parameters; raises OAuthFlowError on timeout or cancel."""
        deadline = time.monotonic() + timeout
        while not self._server.done.wait(0.1):
            if cancel is not None and cancel.is_set():
                raise OAuthFlowError("Connecting was cancelled", "Connect again when you are ready.")
            if time.monotonic() > deadline:
                raise OAuthFlowError(
                    "Connecting took too long",
                    "The Constant Contact page was not completed in time. Connect again and "
                    "finish signing in within a few minutes.",
                )
        return dict(self._server.result or {})

    def close(self) -> None:
        """Stop listening (bounded: connection threads are daemons, not waited for)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=1)

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def redirect_uri_for(host: str = DEFAULT_REDIRECT_HOST, port: int = DEFAULT_REDIRECT_PORT) -> str:
    """The exact redirect URI to register with Constant Contact for this host and port."""
    return f"http://{host}:{port}{REDIRECT_PATH}"


def authorize_url(endpoints: Endpoints, app: AppKey, redirect_uri: str, state: str,
                  challenge: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
    """The consent-page URL to open in the browser."""
    query = {
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{endpoints.authorize}?{urlencode(query)}"


def connect_with_browser(
    endpoints: Endpoints,
    app: AppKey,
    store: CredentialStoreLike,
    *,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    port: int = DEFAULT_REDIRECT_PORT,
    host_name: str = "127.0.0.1",
    open_browser: Callable[[str], Any] = webbrowser.open,
    timeout: float = 300.0,
    cancel: threading.Event | None = None,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
) -> StoredCredentials:
    """Run the browser sign-in and store the credentials; returns them.

    Raises:
        OAuthFlowError: the person said no, took too long, cancelled, or the answer did not
            match this request.
        ApiError: the token endpoint refused (e.g. :class:`AppConfigError`).
    """
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    with LoopbackReceiver(port, host_name=host_name, state=state) as receiver:
        redirect_uri = receiver.redirect_uri
        url = authorize_url(endpoints, app, redirect_uri, state, challenge, scopes)
        log.info("opening the browser for Constant Contact's consent page")
        if open_browser(url) is False:
            log.warning("the browser could not be opened automatically")
        answer = receiver.wait(timeout, cancel)
    if answer.get("state") != state:
        raise OAuthFlowError(
            "The answer from Constant Contact did not match",
            "Another sign-in may have been in progress. Connect again.",
        )
    if "error" in answer:
        if answer["error"] == "access_denied":
            raise OAuthFlowError(
                "ccdesk was not allowed to connect",
                "On Constant Contact's page, press Allow (or Accept) to let ccdesk connect.",
            )
        raise OAuthFlowError(
            "Constant Contact refused to connect",
            "Check the application key and its redirect URI, then connect again.",
            details=f"{answer.get('error')}: {answer.get('error_description', '')}",
        )
    code = answer.get("code")
    if not code:
        raise OAuthFlowError("Constant Contact's answer was incomplete", "Connect again.")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    data = token_request(endpoints, app, form, session=session)
    credentials = credentials_from_token_response(app, data, now=clock())
    store.save(credentials)
    return credentials


# =============================================================================================
# The device flow


@dataclass(frozen=True)
class DeviceCode:
    """What the person needs to see (``user_code`` at ``verification_uri``) and how to poll."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: float
    interval: float
    device_code: str = field(repr=False)


def start_device_flow(
    endpoints: Endpoints,
    app: AppKey,
    *,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    session: requests.Session | None = None,
) -> DeviceCode:
    """Ask for a device code to show the person."""
    http = session or requests.Session()
    try:
        response = http.post(endpoints.device, timeout=(5.0, 30.0),
                             data={"client_id": app.client_id, "scope": " ".join(scopes)})
    except requests.RequestException as exc:
        raise ConnectionFailed(method="POST", path="/device/authorize",
                               server_message=type(exc).__name__,
                               host=host_of(endpoints.device)) from exc
    if response.status_code >= 400:
        raise error_from_response(response.status_code, response.text, method="POST",
                                  path="/device/authorize")
    data = response.json()
    return DeviceCode(
        user_code=data["user_code"],
        verification_uri=data["verification_uri"],
        verification_uri_complete=data.get("verification_uri_complete") or data["verification_uri"],
        expires_in=float(data.get("expires_in") or 600),
        interval=float(data.get("interval") or 5),
        device_code=data["device_code"],
    )


def finish_device_flow(
    endpoints: Endpoints,
    app: AppKey,
    device: DeviceCode,
    store: CredentialStoreLike,
    *,
    cancel: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    session: requests.Session | None = None,
) -> StoredCredentials:
    """Poll until the person approves (or not), then store the credentials."""
    interval = device.interval
    deadline = clock() + device.expires_in
    form = {"grant_type": DEVICE_GRANT, "device_code": device.device_code}
    while True:
        waited = 0.0
        while waited < interval:
            if cancel is not None and cancel.is_set():
                raise OAuthFlowError("Connecting was cancelled", "Connect again when you are ready.")
            step = min(0.2, interval - waited)
            sleep(step)
            waited += step
        try:
            data = token_request(endpoints, app, form, session=session, sleep=sleep)
        except ApiError as exc:
            if exc.error_key == "authorization_pending":
                if clock() > deadline:
                    raise _device_expired() from exc
                continue
            if exc.error_key == "slow_down":
                interval += 5
                continue
            if exc.error_key == "access_denied":
                raise OAuthFlowError(
                    "ccdesk was not allowed to connect",
                    "On Constant Contact's page, press Allow to let ccdesk connect.",
                ) from exc
            if exc.error_key == "expired_token":
                raise _device_expired() from exc
            raise
        credentials = credentials_from_token_response(app, data, now=clock())
        store.save(credentials)
        return credentials


def _device_expired() -> OAuthFlowError:
    return OAuthFlowError(
        "The connection code expired",
        "The code was not entered in time. Start connecting again to get a new code.",
    )


# =============================================================================================
# Keeping the access token fresh


class TokenManager:
    """Hands out a valid access token, refreshing it when needed (thread-safe).

    Args:
        endpoints: the OAuth2 server.
        store: where the credentials are kept (the keyring, or memory for the demo).
        clock: wall clock (token expiry is wall time).
        margin: refresh when fewer than this many seconds of validity are left.
    """

    def __init__(
        self,
        endpoints: Endpoints,
        store: CredentialStoreLike,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self.endpoints = endpoints
        self.store = store
        self._session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self.margin = margin
        self._lock = threading.Lock()
        self._credentials: StoredCredentials | None = None
        self.refreshes = 0
        #: Credentials the store refused to save (kept in memory, saved again later), if any.
        self.unsaved: StoredCredentials | None = None
        #: Called (from the thread that refreshed) when the store refuses new credentials.
        self.on_save_failed: Callable[[BaseException], None] | None = None
        self._save_failed_at = 0.0
        self._at_exit = False

    def credentials(self) -> StoredCredentials:
        """The current credentials (loaded from the store once)."""
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> StoredCredentials:
        if self._credentials is None:
            loaded = self.store.load()
            if loaded is None:
                raise ReconnectNeeded(
                    "No Constant Contact account is connected",
                    "Connect your Constant Contact account first (Account → Connect).",
                )
            self._credentials = loaded
        return self._credentials

    @property
    def client_id(self) -> str:
        return self.credentials().client_id

    def access_token(self) -> str:
        """A token valid for at least ``margin`` seconds, refreshing if needed."""
        with self._lock:
            if (self.unsaved is not None
                    and time.monotonic() - self._save_failed_at >= SAVE_RETRY_INTERVAL):
                self._save_locked(self.unsaved, notify=False)
            credentials = self._load_locked()
            if self._fresh(credentials):
                return credentials.access_token  # type: ignore[return-value]
            credentials = self._latest_locked()  # another process may have renewed it
            if self._fresh(credentials):
                return credentials.access_token  # type: ignore[return-value]
            return self._refresh_locked()

    def _fresh(self, credentials: StoredCredentials) -> bool:
        return bool(credentials.access_token and credentials.access_expires_at is not None
                    and credentials.access_expires_at - self.margin > self._clock())

    def refresh(self, stale: str) -> str:
        """After a 401 with token ``stale``: refresh, unless another thread (or another
        process sharing the store) already did."""
        with self._lock:
            credentials = self._load_locked()
            if credentials.access_token and credentials.access_token != stale:
                return credentials.access_token
            credentials = self._latest_locked()
            if credentials.access_token and credentials.access_token != stale:
                return credentials.access_token
            return self._refresh_locked()

    def _latest_locked(self) -> StoredCredentials:
        """Ours, or the store's when another process (the window's job, a scheduled job)
        renewed the sign-in since we loaded it: with rotating refresh tokens, its renewal
        made ours useless."""
        current = self._load_locked()
        if self.unsaved is not None:  # ours is newer than what the store holds
            return current
        try:
            stored = self.store.load()
        except Exception:
            log.debug("could not read the password store again", exc_info=True)
            return current
        if (stored is not None and stored.client_id == current.client_id
                and stored.refresh_token and stored.refresh_token != current.refresh_token):
            log.info("the sign-in was renewed by another ccdesk process; using that one")
            self._credentials = stored
            return stored
        return current

    def _refresh_locked(self) -> str:
        credentials = self._load_locked()
        if not credentials.refresh_token:
            raise ReconnectNeeded()
        app = AppKey(credentials.client_id, credentials.client_secret)
        form = {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
        data = token_request(self.endpoints, app, form, session=self._session, sleep=self._sleep)
        fresh = credentials_from_token_response(app, data, now=self._clock(), previous=credentials)
        # With rotating refresh tokens the old one is dead now: the new one is the only one.
        # Keep it first, then store it; a store that refuses it does not lose it.
        self._credentials = fresh
        self.refreshes += 1
        log.info("access token refreshed")
        self._save_locked(fresh)
        assert fresh.access_token is not None
        return fresh.access_token

    def retry_save(self) -> bool:
        """Try again to store credentials the store refused; True when nothing is left unsaved."""
        with self._lock:
            if self.unsaved is not None:
                self._save_locked(self.unsaved, notify=False)
            return self.unsaved is None

    def _save_locked(self, credentials: StoredCredentials, *, notify: bool = True) -> None:
        try:
            self.store.save(credentials)
        except Exception as exc:  # noqa: BLE001 - whatever the store's trouble, keep the token
            first = self.unsaved is None
            self.unsaved = credentials
            self._save_failed_at = time.monotonic()
            if first or notify:
                log.warning("the renewed Constant Contact sign-in could not be saved in the "
                            "password store; it is kept in memory and saving is tried again (%s)",
                            getattr(exc, "details", "") or type(exc).__name__)
            if not self._at_exit:
                self._at_exit = True
                atexit.register(self.retry_save)
            if notify and self.on_save_failed is not None:
                try:
                    self.on_save_failed(exc)
                except Exception:  # telling must not break the call
                    log.exception("could not report the unsaved sign-in")
            return
        if self.unsaved is not None:
            log.warning("the renewed Constant Contact sign-in is now saved in the password store")
        self.unsaved = None
