"""Which Constant Contact account ccdesk acts on, and the objects that go with it.

A :class:`Session` bundles the connection (endpoints, the credential store, the client), the
day's request count and the journal. The window and the CLI both start from one:

- :meth:`Session.for_profile`: a real account; its secrets in the OS keyring;
- :meth:`Session.demo_session`: the built-in demo account, served by an in-process sandbox and
  connected through the real OAuth flow (auto-approved), tokens kept in memory only; the
  account is kept in the demo data folder between starts (:func:`reset_demo` starts it over);
- :meth:`Session.for_sandbox`: a sandbox already serving elsewhere (rehearsals, tests).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from ccdesk.cc.auth import (
    DEFAULT_REDIRECT_HOST,
    DEFAULT_REDIRECT_PORT,
    AppKey,
    CredentialStoreLike,
    DeviceCode,
    Endpoints,
    InMemoryStore,
    TokenManager,
    connect_with_browser,
    finish_device_flow,
    start_device_flow,
)
from ccdesk.cc.client import ConstantContact
from ccdesk.cc.errors import AppConfigError, AuthError, OAuthFlowError
from ccdesk.cc.limits import DEFAULT_LIMITS, Limits, LimitsFile
from ccdesk.cc.models import Account
from ccdesk.cc.transport import DailyUsage
from ccdesk.core.journal import JOURNAL_NAME, Journal, Owner, default_path, holder_of
from ccdesk.errors import CcdeskError, ConfigError
from ccdesk.paths import config_dir, data_dir, private_dir, storage_error

log = logging.getLogger("ccdesk.engine.session")

SANDBOX_CLIENT_ID = "ccdesk-sandbox-app"

UNSAVED_SIGN_IN = (
    "Constant Contact renewed ccdesk's sign-in, but the password store would not save it. "
    "ccdesk keeps it for now and tries again; if the password store is locked, unlock it."
)
UNSAVED_AT_CLOSE = (
    "The renewed sign-in could still not be saved in the password store. If ccdesk asks you to "
    "connect again next time, connect again; nothing else is lost."
)
DEMO_STATE_NAME = "demo-account.json"  # the demo account as it stands, next to its journal
DEMO_USAGE_NAME = "demo-api-usage.json"  # this computer's count of the demo's requests today
DEMO_STATE_UNUSABLE = (
    "The demo account saved on this computer could not be read, so the demo starts again from "
    "the beginning. Runs made earlier in the demo may no longer match it."
)


LIMITS_NAME = "application-limits.json"  # each application key's limits, when not the defaults


def limits_file() -> LimitsFile:
    """Where the limits of each application key are kept (the configuration folder)."""
    return LimitsFile(config_dir() / LIMITS_NAME)


def limits_of(client_id: str) -> Limits:
    """The limits Constant Contact grants ``client_id`` (its defaults unless set otherwise)."""
    return limits_file().get(client_id)


def save_limits(client_id: str, limits: Limits) -> None:
    """Keep ``limits`` for the application key ``client_id`` (the defaults: forget them).

    Raises:
        StorageError: the configuration folder cannot be written.
    """
    try:
        limits_file().set(client_id, limits)
    except OSError as exc:
        raise storage_error(exc) from exc


def demo_folder() -> Path:
    """Where the demo keeps its account and its journal."""
    return data_dir() / "demo"


def demo_journal() -> Path:
    """The demo's journal (its runs), apart from a real account's."""
    return demo_folder() / JOURNAL_NAME


def sandbox_journal() -> Path:
    """The journal of a sandbox serving elsewhere (``--sandbox-url``)."""
    return data_dir() / "sandbox" / JOURNAL_NAME


class DemoBusy(CcdeskError):
    """The demo cannot be reset while one of its runs is being carried out."""

    title = "A run of the demo is being carried out"
    what_to_do = "Let it finish or stop it, then reset the demo."


def reset_demo() -> None:
    """Put the demo back to the start: the bundled account, and no runs in its journal.

    Call it with no demo session open (the next :meth:`Session.demo_session` starts afresh).

    Raises:
        DemoBusy: a window or a command is carrying out a run of the demo now.
    """
    folder = demo_folder()
    if demo_journal().exists():
        with Journal(demo_journal()) as journal:
            for run in journal.unfinished_runs():
                holder = journal.holder(run.run_id)
                if holder is not None:
                    raise DemoBusy(details=f"run {run.run_id}: {holder.describe()}")
    for name in (DEMO_STATE_NAME, JOURNAL_NAME, f"{JOURNAL_NAME}-wal", f"{JOURNAL_NAME}-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "locks", ignore_errors=True)
    (data_dir() / DEMO_USAGE_NAME).unlink(missing_ok=True)  # the reset account's count is 0


def _saved_demo(path: Path) -> tuple[dict[str, Any] | None, bool]:
    """The demo account saved at ``path`` (None when there is none), and whether the file was
    there but unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, False
    except (OSError, UnicodeDecodeError) as exc:
        log.info("the saved demo account cannot be read: %s", exc)
        return None, True
    try:
        data = json.loads(text)
    except ValueError as exc:
        log.info("the saved demo account is not JSON: %s", exc)
        return None, True
    if not isinstance(data, dict) or "saved" not in data:
        log.info("the saved demo account is not a saved sandbox")
        return None, True
    return data, False


class FirstCallFailed(CcdeskError):
    """Signed in and stored, but the first account call failed (a timeout, a 5xx, no network).

    The connection is kept: only Constant Contact refusing the credentials drops it.
    """

    title = "Connected, but Constant Contact did not answer"
    what_to_do = (
        "Your connection is kept on this computer. Check the internet connection and try again "
        "in a few minutes; there is no need to connect again."
    )


def _headless_browser(url: str) -> bool:
    """Open a sandbox's (auto-approving) consent page without a browser: follow its redirect."""
    requests.get(url, timeout=10)
    return True


class Session:
    """An account connection plus its journal and request count."""

    def __init__(
        self,
        endpoints: Endpoints,
        store: CredentialStoreLike,
        *,
        profile: str = "default",
        demo: bool = False,
        journal_path: Path | str | None = None,
        usage: DailyUsage | None = None,
        sandbox: Any = None,
    ) -> None:
        self.endpoints = endpoints
        self.store = store
        self.profile = profile
        self.demo = demo
        self.sandbox = sandbox
        self.usage = usage or DailyUsage(data_dir() / (DEMO_USAGE_NAME if demo else "api-usage.json"))
        self._journal_path = journal_path
        self._client: ConstantContact | None = None
        self._account: Account | None = None
        self._lock = threading.Lock()
        self._on_notice: Callable[[str], None] | None = None
        self._notices: list[str] = []  # arose while building, before anyone listened

    @property
    def on_notice(self) -> Callable[[str], None] | None:
        """Where plain-words notices go (the CLI prints them on standard error, the window
        shows them); called from whichever thread the notice arises in. Notices from building
        the session are passed on as soon as this is set."""
        return self._on_notice

    @on_notice.setter
    def on_notice(self, callback: Callable[[str], None] | None) -> None:
        self._on_notice = callback
        pending, self._notices = self._notices, []
        for text in pending:
            self._notice(text)

    # ---- building ---------------------------------------------------------------------------

    @classmethod
    def for_profile(cls, profile: str = "default", endpoints: Endpoints | None = None) -> Session:
        """A real Constant Contact account, credentials in the OS keyring."""
        from ccdesk.credentials import CredentialStore

        return cls(endpoints or Endpoints(), CredentialStore(profile), profile=profile)

    @classmethod
    def demo_session(cls, data: dict[str, Any] | None = None, **sandbox_options: Any) -> Session:
        """The demo account in an in-process sandbox, already connected.

        Args:
            data: an account to serve instead (``--demo-state``), in the state-file format;
                it is not kept. Without it, the demo account is loaded from and kept in
                :func:`demo_folder` (the bundled account the first time, or when the saved
                one cannot be read: a notice then says so).
            sandbox_options: :class:`~ccdesk.sandbox.SandboxConfig` fields.
        """
        from ccdesk.sandbox import Sandbox
        from ccdesk.sandbox.demo import load_demo_data

        options = {"auto_approve": True, "activity_delay": 0.3, "activity_seconds": 1.5,
                   **sandbox_options}
        save_to = None
        unusable = False
        if data is None:
            save_to = demo_folder() / DEMO_STATE_NAME
            private_dir(save_to.parent)
            data, unusable = _saved_demo(save_to)
        sandbox = None
        if data is not None:
            try:
                sandbox = Sandbox(data, save_to=save_to, **options)
            except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
                if save_to is None:
                    raise
                log.info("the saved demo account does not fit: %r", exc)
                unusable = True
        if sandbox is None:
            sandbox = Sandbox(load_demo_data(), save_to=save_to, **options)
        if unusable:
            sandbox.save()  # the unreadable file is replaced now, not at the first change
        sandbox.start()
        try:
            session = cls(Endpoints.for_base(sandbox.base_url), InMemoryStore(), profile="demo",
                          demo=True, journal_path=demo_journal(),
                          sandbox=sandbox)
            if unusable:
                session._notices.append(DEMO_STATE_UNUSABLE)
            session.connect_browser(AppKey(SANDBOX_CLIENT_ID), port=0,
                                    open_browser=_headless_browser)
        except BaseException:
            sandbox.stop()  # e.g. an unusable data folder: no server left running
            raise
        return session

    @classmethod
    def for_sandbox(cls, base_url: str, journal_path: Path | str | None = None, *,
                    demo: bool = False) -> Session:
        """A sandbox already serving at ``base_url`` (must auto-approve), connected.

        Args:
            journal_path: its journal (default: :func:`sandbox_journal`; with ``demo``,
                :func:`demo_journal`).
            demo: it is the demo's sandbox (a window's): the demo's journal and its count of
                the day's requests.
        """
        if journal_path is None:
            journal_path = demo_journal() if demo else sandbox_journal()
        usage = DailyUsage(data_dir() / DEMO_USAGE_NAME) if demo else None
        session = cls(Endpoints.for_base(base_url), InMemoryStore(), profile="demo" if demo
                      else "sandbox", demo=True, journal_path=journal_path, usage=usage)
        session.connect_browser(AppKey(SANDBOX_CLIENT_ID), port=0, open_browser=_headless_browser)
        return session

    def close(self) -> None:
        """Save a renewed sign-in the password store refused earlier; stop the demo sandbox."""
        tokens = self._client.transport.tokens if self._client is not None else None
        if isinstance(tokens, TokenManager) and not tokens.retry_save():
            self._notice(UNSAVED_AT_CLOSE)
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    # ---- the connection -----------------------------------------------------------------------

    def connected(self) -> bool:
        """Whether credentials are stored (the keyring may say it is locked: that raises)."""
        return self.store.load() is not None

    def client(self) -> ConstantContact:
        """The API client for this account (built once)."""
        with self._lock:
            if self._client is None:
                self._client = ConstantContact.from_store(self.endpoints, self.store,
                                                          usage=self.usage, limits=limits_of)
                tokens = self._client.transport.tokens
                if isinstance(tokens, TokenManager):
                    tokens.on_save_failed = lambda exc: self._notice(UNSAVED_SIGN_IN)
            return self._client

    def _notice(self, text: str) -> None:
        if self.on_notice is None:
            log.warning("%s", text)
        else:
            log.info("%s", text)
            self.on_notice(text)

    def account(self, *, refresh: bool = False) -> Account:
        """Which organisation this is (one call the first time)."""
        if self._account is None or refresh:
            self._account = self.client().account()
        return self._account

    def quota_left(self) -> int:
        """Requests left today for the application key (as far as this computer knows)."""
        return self.allowance()[0]

    def allowance(self) -> tuple[int, Limits]:
        """Requests left today for the connected application key, and its limits (read
        afresh: they may have been changed since). Not connected: the defaults, untouched."""
        client_id = self._client_id()
        if client_id is None:
            return DEFAULT_LIMITS.per_day, DEFAULT_LIMITS
        limits = self._apply_limits(client_id, limits_of(client_id))
        return self.usage.remaining(client_id), limits

    def _client_id(self) -> str | None:
        """The connected application key: the client's once it is built (no password-store
        read: the window asks every few seconds during a run), else the stored one's."""
        with self._lock:
            client = self._client
        if client is not None:
            return client.transport.client_id
        credentials = self.store.load()
        return None if credentials is None else credentials.client_id

    def limits(self) -> Limits:
        """The limits of the connected application key (the defaults when not connected)."""
        return self.allowance()[1]

    def set_limits(self, limits: Limits, client_id: str | None = None) -> Limits:
        """Keep ``limits`` for ``client_id`` (default: the connected key) and use them now.

        Raises:
            ConfigError: no key given and none connected.
            StorageError: the configuration folder cannot be written.
        """
        if client_id is None:
            credentials = self.store.load()
            if credentials is None:
                raise ConfigError("No Constant Contact account is connected",
                                  "Connect first, or name the application key (--client-id).")
            client_id = credentials.client_id
        save_limits(client_id, limits)
        return self._apply_limits(client_id, limits)

    def _apply_limits(self, client_id: str, limits: Limits) -> Limits:
        """Count (and, for the client of this session, pace) ``client_id`` by ``limits``."""
        self.usage.set_limits(client_id, limits)
        with self._lock:
            client = self._client
        if client is not None and client.transport.client_id == client_id:
            client.transport.set_limits(limits)
        return limits

    def connect_browser(
        self,
        app: AppKey,
        *,
        port: int = DEFAULT_REDIRECT_PORT,
        host_name: str = DEFAULT_REDIRECT_HOST,
        open_browser: Callable[[str], Any] | None = None,
        timeout: float = 300.0,
        cancel: threading.Event | None = None,
    ) -> Account:
        """Sign in through the browser; stores the credentials; returns the account.

        ``host_name`` and ``port`` make the redirect URI (``http://HOST:PORT/callback``), which
        must be registered exactly so with the application.
        """
        kwargs: dict[str, Any] = {"port": port, "host_name": host_name, "timeout": timeout,
                                  "cancel": cancel}
        if open_browser is not None:
            kwargs["open_browser"] = open_browser
        connect_with_browser(self.endpoints, app, self.store, **kwargs)
        return self._after_connect()

    def start_device(self, app: AppKey) -> DeviceCode:
        """The code to show for the device flow."""
        return start_device_flow(self.endpoints, app)

    def finish_device(self, app: AppKey, device: DeviceCode,
                      cancel: threading.Event | None = None) -> Account:
        """Wait for the person to approve the device code; stores the credentials."""
        finish_device_flow(self.endpoints, app, device, self.store, cancel=cancel)
        return self._after_connect()

    def _after_connect(self) -> Account:
        with self._lock:
            self._client = None
        try:
            return self.account(refresh=True)
        except (AuthError, AppConfigError):
            self.store.delete()  # the credentials were refused: they are worth nothing
            raise
        except CcdeskError as exc:
            # A timeout, a 5xx, a lost connection: the credentials are good; keep them.
            log.warning("the first account call after connecting failed: %s", exc.details or exc)
            raise FirstCallFailed(details=exc.details or exc.one_line()) from exc

    def disconnect(self) -> None:
        """Forget everything stored for this profile."""
        self.store.delete()
        with self._lock:
            self._client = None
            self._account = None

    # ---- the journal ----------------------------------------------------------------------------

    @property
    def journal_path(self) -> Path:
        """The journal's file (the shared truth of this account's runs)."""
        return Path(self._journal_path) if self._journal_path else default_path()

    def journal(self) -> Journal:
        """A journal connection (each thread should open its own)."""
        return Journal(self._journal_path)

    def run_holder(self, run_id: str) -> Owner | None:
        """Who is carrying the run out now (another window, a scheduled job), or None."""
        return holder_of(self._journal_path, run_id)


__all__ = ["DemoBusy", "FirstCallFailed", "OAuthFlowError", "Session", "demo_folder", "limits_file",
           "limits_of", "reset_demo", "save_limits"]
