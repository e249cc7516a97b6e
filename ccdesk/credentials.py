"""The OS keyring: the only place ccdesk keeps a secret.

Everything needed to act on a Constant Contact account — the client id, the client secret of
a confidential app, the access token with its expiry, the refresh token and the granted scope —
is kept as **one** keyring entry per account profile: service :data:`SERVICE_NAME`, username =
the profile name, password = a small JSON document. One entry means the access and refresh
tokens are always replaced together, in one write: with rotating refresh tokens the new refresh
token is stored by the same write that stores the new access token, before either is used.

Rules this module keeps:

- **Secure stores only.** Keychain (macOS), Windows Credential Manager, Secret Service (GNOME
  Keyring, KWallet) and other backends of priority >= 1 are accepted. keyring's ``fail`` and
  ``null`` backends, anything from ``keyrings.alt`` (plain-text and "encrypted" files) and any
  backend of priority < 1 are refused with :class:`NoSecureKeyring`: there is no plain-text
  fallback.
- **Absent is not unavailable.** :meth:`CredentialStore.load` returns ``None`` only when
  nothing is stored. A locked store raises :class:`KeyringLocked`; any other failure of the
  store raises :class:`KeyringUnavailable` (``KeyringLocked`` is a subclass: catch it first to
  tell them apart). A damaged entry raises :class:`CredentialsCorrupt`. A failed read never
  writes anything.
- **No secret in text.** The values never appear in a log line, an exception (message,
  ``details`` or chained cause), or a ``repr``/``str``: :class:`StoredCredentials` shows the
  client id and *which* fields are set, nothing more.
- **Lazy and thread-safe.** The keyring is not touched until the first call that needs it
  (unlocking may show a prompt); every call holds a lock shared by all stores of the same
  profile.

Windows Credential Manager holds at most 2,560 bytes (1,280 characters) per entry, and a
Constant Contact access token alone is about 1,000 characters. When the whole entry does not
fit, the access token is kept in memory only (for this process) and everything else is stored;
the next start then gets a new access token with the stored refresh token. The refresh token is
never dropped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ccdesk.errors import CcdeskError, ConfigError

if TYPE_CHECKING:  # keyring is imported lazily: importing it is not free on every platform
    from collections.abc import Callable

    import keyring.backend

__all__ = [
    "DEFAULT_PROFILE",
    "SERVICE_NAME",
    "CredentialStore",
    "CredentialsCorrupt",
    "KeyringLocked",
    "KeyringUnavailable",
    "NoSecureKeyring",
    "StoredCredentials",
]

log = logging.getLogger("ccdesk.credentials")

SERVICE_NAME = "ccdesk"
DEFAULT_PROFILE = "default"

FORMAT_VERSION = 1
"""Version of the JSON document stored in the keyring (key ``"format"``)."""

_SECRET_FIELDS = ("client_secret", "access_token", "refresh_token")
_OPTIONAL_STR_FIELDS = ("client_secret", "access_token", "refresh_token")
_MAX_PROFILE_LENGTH = 200
_MAX_DETAIL_LENGTH = 300
_MAX_DELETE_ROUNDS = 5

# Backends that are never acceptable, by module: they store nothing, fail on everything, or
# keep secrets in files ccdesk cannot vouch for.
_INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

# Friendly names for the stores people know.
_FRIENDLY_NAMES = {
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Manager",
    "keyring.backends.SecretService": "Secret Service (GNOME Keyring or KWallet)",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.kwallet": "KWallet",
}

# Windows Credential Manager: CRED_MAX_CREDENTIAL_BLOB_SIZE is 5 * 512 bytes, and keyring
# writes the password as UTF-16.
_WINDOWS_BLOB_BYTES = 5 * 512

# Words that may be a token, in a backend's error message: 16+ characters of a token alphabet,
# at least one of them a digit.
_TOKEN_SHAPED = re.compile(r"(?=[\w.~+=-]*\d)[\w.~+=-]{16,}")

_T = TypeVar("_T")


# =============================================================================================
# Errors


class KeyringUnavailable(CcdeskError):
    """The system's password store cannot be used right now (other than being locked).

    :class:`KeyringLocked` and :class:`NoSecureKeyring` are subclasses; catch them before this
    class to show their own advice.
    """

    title = "Your password store is not working"
    what_to_do = (
        "ccdesk keeps your Constant Contact connection in the system's password store and could "
        "not reach it. Restart your computer (or log out and in again) and try again. If it keeps "
        "happening, send the log file to whoever supports ccdesk."
    )


class KeyringLocked(KeyringUnavailable):
    """The password store is locked, or the person dismissed the unlock prompt.

    Nothing was read or written; the stored connection, if any, is intact.
    """

    title = "Your password store is locked"
    what_to_do = "Unlock it (log in to your desktop session or open your keyring app) and try again."


class NoSecureKeyring(KeyringUnavailable):
    """This computer has no secure password store ccdesk is willing to use."""

    title = "No secure password store"
    what_to_do = (
        "ccdesk keeps your Constant Contact connection in the system's password store (Keychain, "
        "Windows Credential Manager, or GNOME Keyring/KWallet). None is available here: on Linux, "
        "install GNOME Keyring or KWallet and log in to a desktop session that starts it, then "
        "try again. ccdesk will not keep your connection in a plain file."
    )


class CredentialsCorrupt(CcdeskError):
    """Something is stored for the profile, but it is not a ccdesk connection ccdesk can read."""

    title = "Your saved Constant Contact connection is damaged"
    what_to_do = "Disconnect your Constant Contact account in ccdesk and connect it again."


# =============================================================================================
# What is stored


@dataclass(frozen=True, repr=False)
class StoredCredentials:
    """Everything ccdesk keeps about one connected Constant Contact account.

    ``repr`` and ``str`` show the client id and which fields are set, never a secret value.

    Attributes:
        client_id: the application's API key (not a secret).
        client_secret: the application's secret, only for a confidential app.
        access_token: the current access token.
        access_expires_at: when the access token expires, in epoch seconds.
        refresh_token: the refresh token (replaced on every refresh when tokens rotate).
        scope: the scopes granted, space-separated.
    """

    client_id: str
    client_secret: str | None = None
    access_token: str | None = None
    access_expires_at: float | None = None  # epoch seconds
    refresh_token: str | None = None
    scope: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.client_id, str) or not self.client_id:
            raise ValueError("client_id must be a non-empty string")
        for name in _OPTIONAL_STR_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")
        expires = self.access_expires_at
        if expires is not None:
            if isinstance(expires, bool) or not isinstance(expires, int | float):
                raise TypeError(f"access_expires_at must be a number, not {type(expires).__name__}")
            if not math.isfinite(expires):
                raise ValueError("access_expires_at must be a finite number")
            object.__setattr__(self, "access_expires_at", float(expires))
        if not isinstance(self.scope, str):
            raise TypeError(f"scope must be a string, not {type(self.scope).__name__}")

    @property
    def confidential(self) -> bool:
        """Whether this is a confidential app (one with a client secret)."""
        return bool(self.client_secret)

    def with_tokens(
        self,
        access_token: str,
        access_expires_at: float,
        refresh_token: str | None,
        scope: str | None = None,
    ) -> StoredCredentials:
        """The same connection with new tokens, as after a token refresh.

        Args:
            access_token: the new access token.
            access_expires_at: its expiry, in epoch seconds.
            refresh_token: the new refresh token; ``None`` (or empty) keeps the current one, as
                when the server does not rotate refresh tokens.
            scope: the scopes now granted; ``None`` keeps the current ones.

        Returns:
            A new :class:`StoredCredentials`; this one is unchanged.
        """
        return dataclasses.replace(
            self,
            access_token=access_token,
            access_expires_at=access_expires_at,
            refresh_token=refresh_token or self.refresh_token,
            scope=self.scope if scope is None else scope,
        )

    def fields_set(self) -> tuple[str, ...]:
        """Names of the optional fields that hold a value (for logs: names, never values)."""
        names = (*_SECRET_FIELDS, "access_expires_at", "scope")
        return tuple(name for name in names if getattr(self, name) not in (None, ""))

    def __repr__(self) -> str:
        return f"StoredCredentials(client_id={self.client_id!r}, set={list(self.fields_set())!r})"

    __str__ = __repr__


def _encode(credentials: StoredCredentials) -> str:
    """The keyring password for ``credentials``: compact JSON, empty fields left out."""
    document: dict[str, Any] = {"format": FORMAT_VERSION}
    for item in dataclasses.fields(credentials):
        value = getattr(credentials, item.name)
        if value not in (None, ""):
            document[item.name] = value
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _decode(blob: object) -> StoredCredentials:
    """Parse a keyring password written by :func:`_encode`.

    Raises:
        CredentialsCorrupt: it is not such a document. The message and details name what is
            wrong, never the stored text.
    """
    if not isinstance(blob, str):
        raise CredentialsCorrupt(details=f"the stored value is a {type(blob).__name__}, not text")
    try:
        document = json.loads(blob)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CredentialsCorrupt(details="the stored value is not a JSON object")
    version = document.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CredentialsCorrupt(details="the stored value has no valid format number")
    if not isinstance(document.get("client_id"), str) or not document["client_id"]:
        raise CredentialsCorrupt(details="the stored value has no client_id")
    values = {item.name: document.get(item.name) for item in dataclasses.fields(StoredCredentials)}
    if values["scope"] is None:
        values["scope"] = ""
    try:
        return StoredCredentials(**values)
    except (TypeError, ValueError) as exc:
        # The messages of StoredCredentials' checks name the field and type, never the value.
        raise CredentialsCorrupt(details=f"the stored value has a bad field: {exc}") from None


# =============================================================================================
# Which backends are acceptable


def _class_path(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _module_is(backend: object, prefixes: tuple[str, ...]) -> bool:
    """Whether the backend's class, or a class it derives from, is from one of these modules."""
    return any(
        cls.__module__ == prefix or cls.__module__.startswith(prefix + ".")
        for cls in type(backend).__mro__
        for prefix in prefixes
    )


def _priority(backend: keyring.backend.KeyringBackend) -> float | None:
    """The backend's priority, or ``None`` when it says it cannot work here."""
    try:
        return float(type(backend).priority)
    except Exception as exc:  # noqa: BLE001 - keyring reports "not viable" by raising anything
        log.debug("keyring backend %s is not viable: %s", _class_path(backend),
                  _describe(exc))
        return None


def _insecure_reason(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why ``backend`` must not hold ccdesk's secrets, or ``None`` when it may."""
    if _module_is(backend, _INSECURE_MODULES):
        return f"{_class_path(backend)} is not a secure password store"
    priority = _priority(backend)
    if priority is None:
        return f"{_class_path(backend)} cannot work on this computer"
    if priority < 1:
        return f"{_class_path(backend)} has priority {priority:g}; ccdesk needs a secure store (>= 1)"
    return None


def _choose_secure(candidate: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    """``candidate`` if it is secure; the best secure member of a chain; else refuse.

    Raises:
        NoSecureKeyring: no secure store is available.
    """
    from keyring.backends.chainer import ChainerBackend

    if isinstance(candidate, ChainerBackend):
        # A chain writes to whichever member accepts first, which may be a plain-text one: use
        # only its best secure member, so that every read and write goes to one known store.
        reasons = []
        for member in candidate.backends:
            reason = _insecure_reason(member)
            if reason is None:
                return member
            reasons.append(reason)
        raise NoSecureKeyring(details="; ".join(reasons) or "the keyring chain is empty")
    reason = _insecure_reason(candidate)
    if reason is not None:
        raise NoSecureKeyring(details=reason)
    return candidate


def _blob_limit(backend: keyring.backend.KeyringBackend) -> Callable[[str], bool] | None:
    """A test "does this password fit?" for stores with a size limit, else ``None``."""
    if _module_is(backend, ("keyring.backends.Windows",)):
        return lambda blob: len(blob.encode("utf-16-le")) <= _WINDOWS_BLOB_BYTES
    return None


# =============================================================================================
# Turning backend failures into ccdesk errors


def _is_locked_error(exc: BaseException) -> bool:
    from keyring.errors import KeyringLocked as KeyringLibLocked

    if isinstance(exc, KeyringLibLocked):
        return True
    # secretstorage raises its own LockedException from some calls; don't import it to check.
    return any(
        cls.__name__ == "LockedException" and cls.__module__.startswith("secretstorage")
        for cls in type(exc).__mro__
    )


def _describe(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """``module.Type: message`` for ``details``, without anything that may be a secret.

    The known ``secrets`` are cut out, and so is every token-shaped word (a long run of
    letters, digits and ``-._~+=`` with at least one digit): a backend may quote a password
    ccdesk did not give it this time, such as the one stored before.
    """
    message = str(exc)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        message = message.replace(secret, "[secret]")
    message = _TOKEN_SHAPED.sub("[secret]", message)
    if len(message) > _MAX_DETAIL_LENGTH:
        message = message[:_MAX_DETAIL_LENGTH] + "…"
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}: {message}" if message else cls.__qualname__


def _secrets_of(credentials: StoredCredentials | None, blob: str | None = None) -> tuple[str, ...]:
    values = [] if credentials is None else [getattr(credentials, f) for f in _SECRET_FIELDS]
    return tuple(v for v in (*values, blob) if v)


# =============================================================================================
# The store


_profile_locks: dict[str, threading.RLock] = {}
_profile_locks_guard = threading.Lock()


def _profile_lock(profile: str) -> threading.RLock:
    """The lock all stores of ``profile`` share within this process."""
    with _profile_locks_guard:
        return _profile_locks.setdefault(profile, threading.RLock())


class CredentialStore:
    """The keyring entry of one account profile.

    Nothing touches the keyring until the first method call that needs it. All methods are
    thread-safe; stores of the same profile share one lock (:attr:`lock`), which a caller may
    also hold across a load → refresh → save sequence.

    Args:
        profile: the account profile; the keyring username of the entry.
        backend: the keyring backend to use; by default keyring's own choice (its
            configuration, then the best backend found). Either way an insecure backend is
            refused.

    Raises:
        ConfigError: the profile name is empty or unusable.
    """

    def __init__(
        self,
        profile: str = DEFAULT_PROFILE,
        *,
        backend: keyring.backend.KeyringBackend | None = None,
    ) -> None:
        if (
            not isinstance(profile, str)
            or not profile.strip()
            or profile != profile.strip()
            or len(profile) > _MAX_PROFILE_LENGTH
            or not profile.isprintable()
        ):
            raise ConfigError(
                "The account profile name is not usable",
                "Use a short name made of letters, digits and dashes, such as “office”.",
                details=f"profile name of length {len(profile) if isinstance(profile, str) else '?'}",
            )
        self.profile = profile
        self._given_backend = backend
        self._backend: keyring.backend.KeyringBackend | None = None
        self._lock = _profile_lock(profile)
        # When the store cannot hold the access token (Windows' size limit): the full
        # credentials of the last save, and what was really stored for them.
        self._memory_only: tuple[StoredCredentials, StoredCredentials] | None = None

    def __repr__(self) -> str:
        return f"CredentialStore(profile={self.profile!r})"

    @property
    def lock(self) -> threading.RLock:
        """The lock every call holds; shared by all stores of this profile in this process."""
        return self._lock

    # -- backend ---------------------------------------------------------------------------

    def _get_backend(self) -> keyring.backend.KeyringBackend:
        """The secure backend to use, chosen on first use (not cached when refused)."""
        if self._backend is not None:
            return self._backend
        if self._given_backend is not None:
            candidate = self._given_backend
        else:
            try:
                import keyring

                candidate = keyring.get_keyring()
            except Exception as exc:  # noqa: BLE001 - a broken keyring config raises anything
                raise NoSecureKeyring(details=f"keyring could not choose a backend: {_describe(exc)}") \
                    from None
        chosen = _choose_secure(candidate)
        log.debug("credentials for profile %r are kept in %s", self.profile, _class_path(chosen))
        self._backend = chosen
        return chosen

    def backend_name(self) -> str:
        """The name of the password store in use, for people (e.g. "macOS Keychain").

        Raises:
            NoSecureKeyring: there is no secure store (a :class:`KeyringUnavailable`).
        """
        with self.lock:
            backend = self._get_backend()
        module = type(backend).__module__
        return _FRIENDLY_NAMES.get(module) or str(type(backend).name)

    def _call(self, action: str, func: Callable[[], _T], secrets: tuple[str, ...] = ()) -> _T:
        """Run one backend call; turn its failures into ccdesk errors without any secret.

        The original exception is not chained (``from None``): a backend may quote what it was
        given. Its type and message, with known secrets cut out, go to ``details``.
        """
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - any backend failure is "unavailable"
            details = f"{action} {SERVICE_NAME}/{self.profile}: {_describe(exc, secrets)}"
            log.debug("keyring call failed: %s", details)
            if _is_locked_error(exc):
                raise KeyringLocked(details=details) from None
            raise KeyringUnavailable(details=details) from None

    # -- the three operations ----------------------------------------------------------------

    def load(self) -> StoredCredentials | None:
        """The stored credentials of this profile.

        Returns:
            The credentials, or ``None`` when nothing is stored for the profile.

        Raises:
            KeyringLocked: the store is locked (nothing was read).
            KeyringUnavailable: the store cannot be used (or there is no secure store).
            CredentialsCorrupt: something is stored but it is not readable credentials.
        """
        with self.lock:
            backend = self._get_backend()
            blob = self._call("reading", lambda: backend.get_password(SERVICE_NAME, self.profile))
            if blob is None:
                log.debug("no credentials stored for profile %r", self.profile)
                return None
            credentials = _decode(blob)
            if self._memory_only is not None:
                full, stored = self._memory_only
                if credentials == stored:
                    credentials = full
                else:  # someone else saved since: what is stored is the truth
                    self._memory_only = None
            log.debug("loaded credentials for profile %r: %r", self.profile, credentials)
            return credentials

    def save(self, credentials: StoredCredentials) -> None:
        """Store ``credentials`` for this profile, replacing what was there, in one write.

        Args:
            credentials: the complete credentials (use :meth:`StoredCredentials.with_tokens`
                to change only the tokens).

        Raises:
            KeyringLocked: the store is locked (nothing was written).
            KeyringUnavailable: the store cannot be used; what was stored before is unchanged
                as far as the store guarantees.
        """
        if not isinstance(credentials, StoredCredentials):
            raise TypeError(f"expected StoredCredentials, not {type(credentials).__name__}")
        with self.lock:
            backend = self._get_backend()
            to_store = credentials
            blob = _encode(to_store)
            fits = _blob_limit(backend)
            if fits is not None and not fits(blob):
                to_store = dataclasses.replace(credentials, access_token=None, access_expires_at=None)
                blob = _encode(to_store)
                if not fits(blob):
                    raise KeyringUnavailable(
                        "Your connection details are too long for the password store",
                        "Disconnect your Constant Contact account in ccdesk and connect it again. "
                        "If it keeps happening, send the log file to whoever supports ccdesk.",
                        details=f"{_class_path(backend)} holds at most {_WINDOWS_BLOB_BYTES} bytes "
                        f"per entry; the entry without the access token needs "
                        f"{len(blob.encode('utf-16-le'))}",
                    )
                log.info("the access token is too long for %s; it is kept in memory only",
                         self.backend_name())
            secrets = _secrets_of(credentials, blob)
            self._call("writing", lambda: backend.set_password(SERVICE_NAME, self.profile, blob),
                       secrets)
            self._memory_only = (credentials, to_store) if to_store is not credentials else None
            log.debug("saved credentials for profile %r: %r", self.profile, credentials)

    def delete(self) -> None:
        """Remove everything stored for this profile ("disconnect").

        Deleting what is already gone is not an error. Duplicate entries (left by other tools)
        are removed too.

        Raises:
            KeyringLocked: the store is locked (nothing was removed).
            KeyringUnavailable: the store cannot be used, or the entry would not go away.
        """
        from keyring.errors import PasswordDeleteError

        with self.lock:
            backend = self._get_backend()
            self._memory_only = None
            removed = 0
            for _ in range(_MAX_DELETE_ROUNDS):
                present = self._call(
                    "checking", lambda: backend.get_password(SERVICE_NAME, self.profile)
                ) is not None
                if not present:
                    break

                def remove() -> bool:
                    try:
                        backend.delete_password(SERVICE_NAME, self.profile)
                    except PasswordDeleteError:
                        return False  # gone meanwhile, or it would not go: the next check tells
                    return True

                removed += self._call("deleting", remove)
            else:
                raise KeyringUnavailable(
                    details=f"the entry {SERVICE_NAME}/{self.profile} is still there after "
                    f"{_MAX_DELETE_ROUNDS} attempts to delete it"
                )
            if removed:
                log.debug("deleted credentials for profile %r", self.profile)
            else:
                log.debug("no credentials to delete for profile %r (already gone)", self.profile)
