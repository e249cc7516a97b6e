"""Tests of ``ccdesk.credentials``: the OS keyring and nothing else.

Two kinds:

- Failure paths and rules, with small in-test backends (:class:`FakeKeyring` and friends):
  locked vs unavailable vs absent vs corrupt, refusing insecure backends, no secret in any
  text, laziness, the lock, Windows' size limit.
- The happy path against a real Secret Service (``@pytest.mark.keyring``): each test gets its
  own D-Bus session bus and gnome-keyring-daemon in a temporary home (see
  :class:`PrivateSecretService`); they skip with the reason when those cannot be started.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null
from keyring.compat import properties

from ccdesk.credentials import (
    DEFAULT_PROFILE,
    SERVICE_NAME,
    CredentialsCorrupt,
    CredentialStore,
    KeyringLocked,
    KeyringUnavailable,
    NoSecureKeyring,
    StoredCredentials,
)
from ccdesk.errors import CcdeskError, ConfigError

# Distinctive fake secrets: if one of these shows up in any text, it leaked.
CLIENT_ID = "client-id-0f3a9c"
CLIENT_SECRET = "SECRET-cs-7d41e2b9"
ACCESS = "SECRET-at-" + "a1b2c3" * 20
REFRESH = "SECRET-rt-5e6f7a8b"
NEW_ACCESS = "SECRET-at2-" + "d4e5f6" * 20
NEW_REFRESH = "SECRET-rt2-9c0d1e2f"
ALL_SECRETS = (CLIENT_SECRET, ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH)
NO_SECURE_MESSAGE = (
    "ccdesk keeps your Constant Contact connection in the system's password store (Keychain, "
    "Windows Credential Manager, or GNOME Keyring/KWallet). None is available here:"
)


def full_credentials(**changes) -> StoredCredentials:
    values = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, access_token=ACCESS,
                  access_expires_at=1_900_000_000.0, refresh_token=REFRESH,
                  scope="account_read contact_data offline_access")
    values.update(changes)
    return StoredCredentials(**values)


def assert_no_secret(*texts: object) -> None:
    """None of the fake secrets (nor a prefix long enough to matter) is in any of ``texts``."""
    for text in texts:
        text = str(text)
        for secret in ALL_SECRETS:
            assert secret not in text
            assert secret[:16] not in text


def exception_texts(exc: BaseException) -> list[str]:
    """Everything an exception can show: message, repr, details, title, advice, traceback."""
    return [str(exc), repr(exc), getattr(exc, "details", ""), getattr(exc, "title", ""),
            getattr(exc, "what_to_do", ""), "".join(traceback.format_exception(exc))]


def unregistered(cls: type[keyring.backend.KeyringBackend]) -> type[keyring.backend.KeyringBackend]:
    """Keep a test backend out of keyring's registry, so keyring never picks it on its own."""
    keyring.backend.KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls


# =============================================================================================
# Test backends


@unregistered
class FakeKeyring(keyring.backend.KeyringBackend):
    """An in-memory backend of priority 1 that can fail on demand and records every call.

    ``failures`` maps an operation ("get", "set", "delete") to the exception it raises.
    Entering the backend from two threads at once is recorded in ``overlaps``.
    """

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.failures: dict[str, BaseException] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.delay = 0.0
        self.overlaps = 0
        self._inside = 0
        self._guard = threading.Lock()

    def _enter(self, op: str, service: str, username: str) -> None:
        with self._guard:
            self._inside += 1
            if self._inside > 1:
                self.overlaps += 1
        try:
            self.calls.append((op, service, username))
            if self.delay:
                time.sleep(self.delay)
            if op in self.failures:
                raise self.failures[op]
        finally:
            with self._guard:
                self._inside -= 1

    def ops(self) -> list[str]:
        return [op for op, _, _ in self.calls]

    def get_password(self, service: str, username: str) -> str | None:
        self._enter("get", service, username)
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._enter("set", service, username)
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._enter("delete", service, username)
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


@unregistered
class PlaintextLike(FakeKeyring):
    """Looks like keyrings.alt's PlaintextKeyring (and claims a high priority, to be sure)."""

    priority = 2  # type: ignore[assignment]


PlaintextLike.__module__ = "keyrings.alt.file"
PlaintextLike.__qualname__ = PlaintextLike.__name__ = "PlaintextKeyring"


@unregistered
class PlaintextSubclass(PlaintextLike):
    """Someone's own class built on a keyrings.alt one: still refused."""

    priority = 3  # type: ignore[assignment]


@unregistered
class LowPriority(FakeKeyring):
    """A backend that keyring itself would call "not recommended"."""

    priority = 0.5  # type: ignore[assignment]


@unregistered
class NotViable(FakeKeyring):
    """A backend whose priority says it cannot work here, as keyring backends do."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("the daemon is neither running nor activatable")


@unregistered
class WindowsLike(FakeKeyring):
    """Stands in for keyring's Windows Credential Manager backend (its size limit applies)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        assert len(password.encode("utf-16-le")) <= 2560, "CredWrite: The stub received bad data."
        super().set_password(service, username, password)


WindowsLike.__module__ = "keyring.backends.Windows"


class LockedException(Exception):
    """Shaped like secretstorage's own exception for a locked item."""


LockedException.__module__ = "secretstorage.exceptions"


@pytest.fixture
def fake() -> FakeKeyring:
    return FakeKeyring()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger (ccdesk, keyring, secretstorage, jeepney) from DEBUG up."""
    caplog.set_level(logging.DEBUG)
    return caplog


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(parts)


# =============================================================================================
# StoredCredentials


def test_repr_and_str_show_client_id_and_which_fields_are_set_never_values() -> None:
    creds = full_credentials()
    for text in (repr(creds), str(creds), f"{creds}", format(creds), repr([creds])):
        assert CLIENT_ID in text
        assert "client_secret" in text and "access_token" in text and "refresh_token" in text
        assert_no_secret(text)
    bare = StoredCredentials(client_id=CLIENT_ID)
    assert repr(bare) == f"StoredCredentials(client_id={CLIENT_ID!r}, set=[])"
    assert bare.fields_set() == ()


def test_with_tokens_replaces_tokens_and_keeps_refresh_token_when_none_came() -> None:
    creds = full_credentials()
    rotated = creds.with_tokens(NEW_ACCESS, 2_000_000_000, NEW_REFRESH, "contact_data")
    assert (rotated.access_token, rotated.access_expires_at, rotated.refresh_token, rotated.scope) == (
        NEW_ACCESS, 2_000_000_000.0, NEW_REFRESH, "contact_data")
    assert (rotated.client_id, rotated.client_secret) == (CLIENT_ID, CLIENT_SECRET)
    assert creds.access_token == ACCESS  # unchanged: frozen

    long_lived = creds.with_tokens(NEW_ACCESS, 2_000_000_000.0, None)
    assert long_lived.refresh_token == REFRESH
    assert long_lived.scope == creds.scope


def test_confidential_means_a_client_secret_is_set() -> None:
    assert full_credentials().confidential
    assert not full_credentials(client_secret=None).confidential


@pytest.mark.parametrize(
    "changes",
    [{"client_id": ""}, {"access_token": 123}, {"access_expires_at": "soon"},
     {"access_expires_at": float("nan")}, {"scope": None}],
)
def test_bad_values_are_refused_without_quoting_them(changes) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        full_credentials(**changes)
    assert_no_secret(*exception_texts(info.value))


def test_errors_are_ccdesk_errors_with_plain_advice() -> None:
    assert issubclass(KeyringUnavailable, CcdeskError)
    assert issubclass(CredentialsCorrupt, CcdeskError)
    assert not issubclass(CredentialsCorrupt, KeyringUnavailable)
    # Locked is a kind of unavailable: callers catch KeyringLocked first to tell them apart.
    assert issubclass(KeyringLocked, KeyringUnavailable)
    assert issubclass(NoSecureKeyring, KeyringUnavailable)
    assert KeyringLocked().title == "Your password store is locked"
    assert KeyringLocked().what_to_do == (
        "Unlock it (log in to your desktop session or open your keyring app) and try again.")
    assert "connect it again" in CredentialsCorrupt().what_to_do
    assert NoSecureKeyring().what_to_do.startswith(NO_SECURE_MESSAGE)


# =============================================================================================
# The store, with a fake backend


def test_round_trip_is_one_json_entry_under_the_service_and_profile(fake: FakeKeyring) -> None:
    store = CredentialStore(backend=fake)
    assert store.profile == DEFAULT_PROFILE
    assert store.load() is None
    store.save(full_credentials())
    assert list(fake.entries) == [(SERVICE_NAME, DEFAULT_PROFILE)]
    document = json.loads(fake.entries[(SERVICE_NAME, DEFAULT_PROFILE)])
    assert document["client_id"] == CLIENT_ID
    assert document["refresh_token"] == REFRESH
    assert document["format"] == 1
    assert store.load() == full_credentials()
    assert SERVICE_NAME == "ccdesk"


def test_public_app_without_tokens_round_trips(fake: FakeKeyring) -> None:
    store = CredentialStore("office", backend=fake)
    bare = StoredCredentials(client_id=CLIENT_ID)
    store.save(bare)
    assert json.loads(fake.entries[(SERVICE_NAME, "office")]) == {"format": 1, "client_id": CLIENT_ID}
    assert store.load() == bare


def test_token_update_replaces_access_and_refresh_token_in_one_write(fake: FakeKeyring) -> None:
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    fake.calls.clear()
    store.save(store.load().with_tokens(NEW_ACCESS, 2_000_000_000.0, NEW_REFRESH))
    assert fake.ops() == ["get", "set"]
    loaded = store.load()
    assert (loaded.access_token, loaded.refresh_token) == (NEW_ACCESS, NEW_REFRESH)


def test_profiles_are_separate(fake: FakeKeyring) -> None:
    office, branch = CredentialStore("office", backend=fake), CredentialStore("branch", backend=fake)
    office.save(full_credentials())
    assert branch.load() is None
    branch.save(full_credentials(client_id="other-client"))
    office.delete()
    assert office.load() is None
    assert branch.load().client_id == "other-client"


def test_delete_removes_the_entry_and_is_idempotent(fake: FakeKeyring, debug_logs) -> None:
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    store.delete()
    assert fake.entries == {}
    assert store.load() is None
    debug_logs.clear()
    store.delete()  # already gone: fine
    assert "already gone" in debug_logs.text
    assert [r.levelno for r in debug_logs.records if r.name == "ccdesk.credentials"] == [logging.DEBUG]


def test_delete_that_does_not_take_is_an_error(fake: FakeKeyring) -> None:
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    fake.failures["delete"] = keyring.errors.PasswordDeleteError("access denied")
    with pytest.raises(KeyringUnavailable) as info:
        store.delete()
    assert not isinstance(info.value, KeyringLocked)
    assert (SERVICE_NAME, DEFAULT_PROFILE) in fake.entries


@pytest.mark.parametrize("op", ["get", "set", "delete"])
@pytest.mark.parametrize(
    "error",
    [keyring.errors.KeyringLocked("Failed to unlock the collection!"), LockedException("locked")],
    ids=["keyring", "secretstorage"],
)
def test_locked_store_raises_keyring_locked(fake: FakeKeyring, op: str, error: Exception) -> None:
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    fake.failures[op] = error
    action = {"get": store.load, "set": lambda: store.save(full_credentials()), "delete": store.delete}
    with pytest.raises(KeyringLocked) as info:
        action[op]()
    assert info.value.title == "Your password store is locked"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "locked" in info.value.details.lower()


@pytest.mark.parametrize("op", ["get", "set", "delete"])
@pytest.mark.parametrize(
    "error",
    [keyring.errors.KeyringError("backend error"), keyring.errors.InitError("no collection"),
     keyring.errors.PasswordSetError("cannot set"), RuntimeError("D-Bus went away"),
     OSError(5, "I/O error")],
    ids=lambda e: type(e).__name__,
)
def test_broken_store_raises_keyring_unavailable(fake: FakeKeyring, op: str, error: Exception) -> None:
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    fake.failures[op] = error
    action = {"get": store.load, "set": lambda: store.save(full_credentials()), "delete": store.delete}
    with pytest.raises(KeyringUnavailable) as info:
        action[op]()
    assert type(info.value) is KeyringUnavailable
    assert type(error).__name__ in info.value.details  # the log can say what happened


def test_a_failed_load_never_writes_or_deletes(fake: FakeKeyring) -> None:
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    before = dict(fake.entries)
    fake.calls.clear()
    for error in (keyring.errors.KeyringLocked("locked"), keyring.errors.KeyringError("broken")):
        fake.failures["get"] = error
        with pytest.raises(KeyringUnavailable):
            store.load()
    assert fake.ops() == ["get", "get"]
    assert fake.entries == before
    del fake.failures["get"]
    assert store.load() == full_credentials()  # unlocked again: everything is still there


def test_a_locked_store_is_not_an_empty_one(fake: FakeKeyring) -> None:
    """The mistake this guards against: `load() or connect_again()` after a locked read."""
    fake.failures["get"] = keyring.errors.KeyringLocked("locked")
    with pytest.raises(KeyringLocked):
        CredentialStore(backend=fake).load()


@pytest.mark.parametrize(
    "blob",
    [
        f"not json {REFRESH}",
        f'["{ACCESS}"]',
        json.dumps({"access_token": ACCESS, "refresh_token": REFRESH}),
        json.dumps({"client_id": "", "refresh_token": REFRESH}),
        json.dumps({"client_id": CLIENT_ID, "refresh_token": 5, "access_token": ACCESS}),
        json.dumps({"client_id": CLIENT_ID, "access_expires_at": "soon", "refresh_token": REFRESH}),
        json.dumps({"format": "x", "client_id": CLIENT_ID, "refresh_token": REFRESH}),
        REFRESH,
    ],
    ids=["not-json", "list", "no-client-id", "empty-client-id", "bad-type", "bad-expiry",
         "bad-format", "bare-token"],
)
def test_corrupt_entry_raises_credentials_corrupt_without_quoting_it(
    fake: FakeKeyring, blob: str, debug_logs
) -> None:
    fake.entries[(SERVICE_NAME, DEFAULT_PROFILE)] = blob
    store = CredentialStore(backend=fake)
    with pytest.raises(CredentialsCorrupt) as info:
        store.load()
    assert info.value.title == "Your saved Constant Contact connection is damaged"
    assert info.value.details
    assert_no_secret(*exception_texts(info.value), all_log_text(debug_logs))
    # The advice works: disconnect (delete) and connect again (save) both go through.
    store.delete()
    assert store.load() is None
    store.save(full_credentials())
    assert store.load() == full_credentials()


def test_secrets_never_reach_errors_or_logs(fake: FakeKeyring, debug_logs) -> None:
    """A chatty backend that quotes the password in its error: nothing of it gets through."""
    store = CredentialStore(backend=fake)
    store.save(full_credentials())
    store.load()

    class Chatty(keyring.errors.PasswordSetError):
        pass

    blob = fake.entries[(SERVICE_NAME, DEFAULT_PROFILE)]
    fake.failures["set"] = Chatty(f"cannot store {blob!r} ({NEW_REFRESH})")
    with pytest.raises(KeyringUnavailable) as info:
        store.save(full_credentials().with_tokens(NEW_ACCESS, 2e9, NEW_REFRESH))
    assert "Chatty" in info.value.details and "[secret]" in info.value.details
    assert info.value.__cause__ is None
    store.delete()
    assert_no_secret(*exception_texts(info.value), all_log_text(debug_logs), repr(store))
    assert any(r.name == "ccdesk.credentials" for r in debug_logs.records)


# ---------------------------------------------------------------------------------------------
# Insecure backends


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null.Keyring(), PlaintextLike(), PlaintextSubclass(), LowPriority(),
     NotViable()],
    ids=["fail", "null", "plaintext", "plaintext-subclass", "low-priority", "not-viable"],
)
def test_insecure_backends_are_refused_with_the_message(backend) -> None:
    store = CredentialStore(backend=backend)
    for action in (store.backend_name, store.load, lambda: store.save(full_credentials()),
                   store.delete):
        with pytest.raises(NoSecureKeyring) as info:
            action()
        assert isinstance(info.value, KeyringUnavailable)
        assert info.value.title == "No secure password store"
        assert NO_SECURE_MESSAGE in str(info.value)
        assert type(backend).__qualname__ in info.value.details
    if isinstance(backend, FakeKeyring):
        assert backend.calls == [] and backend.entries == {}  # never used, not even to read


def test_default_backend_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    with pytest.raises(NoSecureKeyring):
        CredentialStore().load()


def test_a_chain_uses_only_its_best_secure_member(monkeypatch: pytest.MonkeyPatch) -> None:
    secure, plain = FakeKeyring(), PlaintextLike()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [plain, secure])
    store = CredentialStore(backend=chainer.ChainerBackend())
    store.save(full_credentials())
    assert plain.calls == [] and list(secure.entries) == [(SERVICE_NAME, DEFAULT_PROFILE)]

    monkeypatch.setattr(chainer.ChainerBackend, "backends", [plain, LowPriority()])
    with pytest.raises(NoSecureKeyring) as info:
        CredentialStore(backend=chainer.ChainerBackend()).load()
    assert "PlaintextKeyring" in info.value.details and "LowPriority" in info.value.details


def test_backend_name_is_friendly_for_known_stores() -> None:
    assert CredentialStore(backend=WindowsLike()).backend_name() == "Windows Credential Manager"
    assert CredentialStore(backend=FakeKeyring()).backend_name() == FakeKeyring.name
    # Secret Service: see test_real_round_trip (asking here would touch the desktop's own bus).


# ---------------------------------------------------------------------------------------------
# Laziness, threads, profiles


def test_nothing_touches_the_keyring_before_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeKeyring()
    asked: list[int] = []

    def get_keyring() -> keyring.backend.KeyringBackend:
        asked.append(1)
        return backend

    monkeypatch.setattr(keyring, "get_keyring", get_keyring)
    store = CredentialStore("office")
    explicit = CredentialStore("office", backend=backend)
    assert asked == [] and backend.calls == []
    assert repr(store) == "CredentialStore(profile='office')"
    assert store.load() is None
    assert store.load() is None
    explicit.delete()
    assert asked == [1]  # chosen once, then kept


def test_calls_from_many_threads_never_overlap(fake: FakeKeyring) -> None:
    fake.delay = 0.001
    errors: list[BaseException] = []
    saved = [full_credentials(access_token=f"SECRET-at-thread-{i}") for i in range(8)]

    def work(i: int) -> None:
        store = CredentialStore(backend=fake)  # a store of its own, same profile: same lock
        try:
            for _ in range(10):
                store.save(saved[i])
                assert store.load() in saved
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert fake.overlaps == 0
    assert CredentialStore(backend=fake).load() in saved


def test_stores_of_one_profile_share_a_lock() -> None:
    assert CredentialStore("office").lock is CredentialStore("office").lock
    assert CredentialStore("office").lock is not CredentialStore("branch").lock


@pytest.mark.parametrize("profile", ["", "  ", " office", "office\n", "x" * 201])
def test_unusable_profile_names_are_refused(profile: str) -> None:
    with pytest.raises(ConfigError):
        CredentialStore(profile)


def test_save_wants_stored_credentials(fake: FakeKeyring) -> None:
    with pytest.raises(TypeError):
        CredentialStore(backend=fake).save({"client_id": CLIENT_ID})  # type: ignore[arg-type]
    assert fake.calls == []


# ---------------------------------------------------------------------------------------------
# Windows Credential Manager's size limit


def test_windows_keeps_a_too_long_access_token_in_memory_only(debug_logs) -> None:
    backend = WindowsLike()
    long_token = "SECRET-at-jwt-" + "x" * 1300  # a real access token is ~1,000+ characters
    creds = full_credentials(access_token=long_token)
    store = CredentialStore(backend=backend)
    store.save(creds)
    stored = json.loads(backend.entries[(SERVICE_NAME, DEFAULT_PROFILE)])
    assert "access_token" not in stored and "access_expires_at" not in stored
    assert stored["refresh_token"] == REFRESH  # the refresh token is never dropped
    assert store.load() == creds  # this process still has the access token
    # Another process (or the next start) gets no access token and refreshes.
    assert CredentialStore(backend=backend).load() == full_credentials(
        access_token=None, access_expires_at=None)
    assert "kept in memory only" in debug_logs.text
    # Someone else saves: what is stored wins over the memory.
    CredentialStore(backend=backend).save(full_credentials(refresh_token=NEW_REFRESH))
    assert store.load().refresh_token == NEW_REFRESH
    # A short token fits whole.
    store.save(full_credentials())
    assert json.loads(backend.entries[(SERVICE_NAME, DEFAULT_PROFILE)])["access_token"] == ACCESS


def test_windows_refuses_credentials_that_never_fit() -> None:
    backend = WindowsLike()
    with pytest.raises(KeyringUnavailable) as info:
        CredentialStore(backend=backend).save(full_credentials(refresh_token="SECRET-rt-" + "y" * 1400))
    assert "too long" in info.value.title
    assert backend.entries == {}


# =============================================================================================
# A real Secret Service: a private D-Bus session and gnome-keyring-daemon

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={tmpdir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
STARTUP_TIMEOUT = 15.0


class CannotStart(Exception):
    """The private Secret Service could not be started here (the tests skip)."""


class PrivateSecretService:
    """A D-Bus session bus and a gnome-keyring-daemon of our own, in a temporary home.

    Never the desktop's own bus, even when ``DBUS_SESSION_BUS_ADDRESS`` is set (under
    ``dbus-run-session`` or not): a test must not write to, or replace the daemon of, a real
    person's keyring. The bus has no activatable services (its own config file), so nothing but
    our daemon can answer as ``org.freedesktop.secrets``; the login keyring is created and
    unlocked with a throwaway password on the daemon's stdin (``--unlock``).
    """

    PASSWORD = b"ccdesk-test-keyring"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.runtime = root / "run"
        self.address = ""
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None
        self._keyring_log = root / "gnome-keyring.log"

    @property
    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "LANG": "C.UTF-8",
        }
        if self.address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def start(self) -> None:
        for tool in ("dbus-daemon", "gnome-keyring-daemon"):
            if shutil.which(tool) is None:
                raise CannotStart(f"{tool} is not installed (apt-get install gnome-keyring dbus)")
        try:
            import jeepney  # noqa: F401
            import secretstorage  # noqa: F401
        except ImportError as exc:
            raise CannotStart(f"keyring's Secret Service backend needs {exc.name}") from exc
        self.home.mkdir(parents=True)
        self.runtime.mkdir(mode=0o700)
        config = self.root / "bus.conf"
        config.write_text(BUS_CONFIG.format(tmpdir=self.root), encoding="utf-8")
        self._bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=self.env,
        )
        assert self._bus.stdout is not None
        ready, _, _ = select.select([self._bus.stdout], [], [], STARTUP_TIMEOUT)
        line = self._bus.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("unix:"):
            raise CannotStart(f"dbus-daemon did not start (exit code {self._bus.poll()})")
        self.address = line
        self.start_keyring()

    def start_keyring(self) -> None:
        """Start (or restart) the daemon; it unlocks the login keyring with :attr:`PASSWORD`."""
        import secretstorage

        with open(self._keyring_log, "ab") as log_file:
            self._keyring = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets",
                 f"--control-directory={self.runtime / 'keyring'}"],
                stdin=subprocess.PIPE, stdout=log_file, stderr=log_file, env=self.env,
            )
        assert self._keyring.stdin is not None
        self._keyring.stdin.write(self.PASSWORD)
        self._keyring.stdin.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            problem = "not on the bus yet"
            try:
                with self.connect() as connection:
                    if secretstorage.check_service_availability(connection):
                        if not secretstorage.get_default_collection(connection).is_locked():
                            return
                        problem = "the login keyring is locked"
            except (secretstorage.exceptions.SecretStorageException, OSError) as exc:
                problem = str(exc)
            if self._keyring.poll() is not None or time.monotonic() > deadline:
                tail = self._keyring_log.read_text(errors="replace")[-500:]
                raise CannotStart(f"gnome-keyring-daemon did not come up ({problem}): {tail}")
            time.sleep(0.05)

    def connect(self):
        """A D-Bus connection to this bus (whatever ``DBUS_SESSION_BUS_ADDRESS`` says)."""
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus=self.address)

    def stop_keyring(self) -> None:
        _stop(self._keyring)
        self._keyring = None

    def stop(self) -> None:
        self.stop_keyring()
        _stop(self._bus)
        self._bus = None

    def backend(self) -> keyring.backend.KeyringBackend:
        from keyring.backends import SecretService

        return SecretService.Keyring()

    def items(self, profile: str) -> list:
        """The Secret Service items stored under ccdesk's service for ``profile``."""
        import secretstorage

        with self.connect() as connection:
            collection = secretstorage.get_default_collection(connection)
            return list(collection.search_items({"service": SERVICE_NAME, "username": profile}))

    def lock(self) -> None:
        import secretstorage

        with self.connect() as connection:
            secretstorage.get_default_collection(connection).lock()

    def secret_tool_lookup(self, profile: str) -> str | None:
        """What ``secret-tool`` (libsecret, not Python) finds for the profile."""
        if shutil.which("secret-tool") is None:
            return None
        result = subprocess.run(
            ["secret-tool", "lookup", "service", SERVICE_NAME, "username", profile],
            capture_output=True, env=self.env, timeout=STARTUP_TIMEOUT, check=False,
        )
        return result.stdout.decode() if result.returncode == 0 else None


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture
def secret_service(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSecretService]:
    """A private, unlocked Secret Service for one test; this process talks to it."""
    service = PrivateSecretService(tmp_path_factory.mktemp("secret-service"))
    try:
        service.start()
    except (CannotStart, OSError) as exc:
        service.stop()
        pytest.skip(f"no private Secret Service here: {exc}")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    monkeypatch.delenv("GNOME_KEYRING_CONTROL", raising=False)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def real_store(secret_service: PrivateSecretService) -> Callable[..., CredentialStore]:
    """Make stores that use the private Secret Service explicitly (never keyring's global pick)."""

    def make(profile: str = DEFAULT_PROFILE) -> CredentialStore:
        return CredentialStore(profile, backend=secret_service.backend())

    return make


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*")
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes()]


@pytest.mark.keyring
def test_real_round_trip(secret_service: PrivateSecretService, real_store,
                         _private_user_folders: Path) -> None:
    store = real_store()
    assert store.backend_name() == "Secret Service (GNOME Keyring or KWallet)"
    assert store.load() is None
    store.save(full_credentials())
    assert store.load() == full_credentials()
    assert real_store().load() == full_credentials()  # a new store (as after a restart)
    assert len(secret_service.items(DEFAULT_PROFILE)) == 1
    # libsecret's own tool sees the same single entry: a JSON document.
    seen = secret_service.secret_tool_lookup(DEFAULT_PROFILE)
    if seen is not None:
        assert json.loads(seen)["refresh_token"] == REFRESH
    # The keyring file is encrypted, and nothing else was written in clear anywhere.
    for secret in (REFRESH, ACCESS, CLIENT_SECRET):
        for root in (secret_service.root, _private_user_folders):
            assert files_containing(root, secret.encode()) == []


@pytest.mark.keyring
def test_real_update_tokens_replaces_the_one_entry(secret_service: PrivateSecretService,
                                                   real_store) -> None:
    store = real_store()
    store.save(full_credentials())
    store.save(store.load().with_tokens(NEW_ACCESS, 2_000_000_000.0, NEW_REFRESH))
    loaded = real_store().load()
    assert (loaded.access_token, loaded.refresh_token, loaded.client_secret) == (
        NEW_ACCESS, NEW_REFRESH, CLIENT_SECRET)
    assert len(secret_service.items(DEFAULT_PROFILE)) == 1
    store.save(loaded.with_tokens(ACCESS, 2_000_000_100.0, None))  # no rotation: refresh kept
    assert real_store().load().refresh_token == NEW_REFRESH


@pytest.mark.keyring
def test_real_delete_is_complete_and_idempotent(secret_service: PrivateSecretService,
                                                real_store, debug_logs) -> None:
    import secretstorage

    store = real_store()
    store.save(full_credentials())
    # A duplicate left by another tool: disconnecting removes it too.
    with secret_service.connect() as connection:
        secretstorage.get_default_collection(connection).create_item(
            "duplicate", {"service": SERVICE_NAME, "username": DEFAULT_PROFILE},
            b'{"client_id":"x"}', replace=False)
    assert len(secret_service.items(DEFAULT_PROFILE)) == 2
    store.delete()
    assert secret_service.items(DEFAULT_PROFILE) == []
    assert store.load() is None
    debug_logs.clear()
    store.delete()
    store.delete()
    assert "already gone" in debug_logs.text


@pytest.mark.keyring
def test_real_profiles_are_separate(secret_service: PrivateSecretService, real_store) -> None:
    office, branch = real_store("office"), real_store("branch")
    office.save(full_credentials())
    branch.save(full_credentials(client_id="other-client", client_secret=None))
    assert office.load() == full_credentials()
    assert not branch.load().confidential
    branch.delete()
    assert branch.load() is None
    assert office.load() == full_credentials()
    assert real_store().load() is None  # the default profile is a profile of its own


@pytest.mark.keyring
def test_real_store_never_logs_a_secret(secret_service: PrivateSecretService, real_store,
                                        debug_logs) -> None:
    store = real_store()
    store.save(full_credentials())
    creds = store.load()
    store.save(creds.with_tokens(NEW_ACCESS, 2e9, NEW_REFRESH))
    store.load()
    store.delete()
    assert any(r.name == "ccdesk.credentials" for r in debug_logs.records)
    assert_no_secret(all_log_text(debug_logs), repr(store), repr(creds))


@pytest.mark.keyring
def test_real_locked_keyring_is_not_absent_and_nothing_is_overwritten(
    secret_service: PrivateSecretService, real_store
) -> None:
    store = real_store()
    store.save(full_credentials())
    secret_service.lock()  # no prompter on this bus: unlocking fails as if dismissed
    for action in (store.load, lambda: store.save(full_credentials(refresh_token=NEW_REFRESH)),
                   store.delete):
        with pytest.raises(KeyringLocked):
            action()
    # Log in again (the daemon unlocks with the password): everything is as it was.
    secret_service.stop_keyring()
    secret_service.start_keyring()
    assert real_store().load() == full_credentials()


@pytest.mark.keyring
def test_real_keyring_gone_is_unavailable_not_absent(secret_service: PrivateSecretService,
                                                     real_store) -> None:
    store = real_store()
    store.save(full_credentials())
    secret_service.stop_keyring()
    with pytest.raises(KeyringUnavailable):
        store.load()  # the backend was chosen already: the call itself fails
    with pytest.raises(KeyringUnavailable):
        real_store().load()  # a new store: the backend says it cannot work here
    secret_service.start_keyring()
    assert store.load() == full_credentials()
