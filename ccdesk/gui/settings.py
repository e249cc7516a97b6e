"""The window's remembered settings: one registry of keys, stored with QSettings (INI).

Every key is declared once in :data:`KEYS` with its type and default, and belongs to one of
two groups: ``prefs`` (choices the person made: the application key's id, the redirect port,
the log format) and ``state`` (what the window remembers by itself: geometry, last folder,
last lists). The file lives in :func:`ccdesk.paths.config_dir` (``CCDESK_HOME`` moves it, which
is how tests keep it private). :data:`VERSION` is written with it so that a later ccdesk can
migrate old keys.

**No secret ever goes here**: not the client secret, not a token. Those live in the OS keyring
only (:mod:`ccdesk.credentials`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from ccdesk.cc.auth import DEFAULT_REDIRECT_HOST, DEFAULT_REDIRECT_PORT, REDIRECT_HOSTS
from ccdesk.paths import config_dir

VERSION = 1
FILE_NAME = "ccdesk.ini"


@dataclass(frozen=True)
class Key:
    """One setting: its name in the file, its Python type and its default."""

    name: str
    type: type
    default: Any


KEYS: dict[str, Key] = {k.name: k for k in (
    # prefs: chosen by the person
    Key("prefs/client_id", str, ""),
    Key("prefs/confidential", bool, False),  # whether the app has a secret (never the secret)
    Key("prefs/redirect_port", int, DEFAULT_REDIRECT_PORT),  # the last one chosen
    Key("prefs/redirects", str, "{}"),  # JSON {client_id: {"host": …, "port": …}}
    Key("prefs/log_format", str, "xlsx"),
    # minutes a run waits for Constant Contact's jobs before it pauses (resumable)
    Key("prefs/wait_limit_minutes", int, 20),
    # state: remembered by the window
    Key("state/geometry", QByteArray, QByteArray()),
    Key("state/last_folder", str, ""),
    Key("state/last_lists", list, []),
    Key("state/last_target", str, ""),  # the list a move put them on last time
    Key("state/last_log_folder", str, ""),
    Key("state/recent_files", list, []),  # spreadsheets opened, newest first (File ▸ Open Recent)
    # an account was connected here once: from then on the window asks the password store at
    # start (at a first start it leaves the store alone until the person presses Connect)
    Key("state/connected_once", bool, False),
)}

#: How many spreadsheets File ▸ Open Recent remembers.
MAX_RECENT = 8

_FORBIDDEN = ("secret", "token", "password")


class Settings:
    """Typed access to the keys of :data:`KEYS`.

    Args:
        path: the INI file; ``<config dir>/ccdesk.ini`` by default.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else config_dir() / FILE_NAME
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)
        if self._qs.value("version") is None:
            self._qs.setValue("version", VERSION)

    def get(self, name: str) -> Any:
        """The value of a key (its default when unset or unreadable)."""
        key = KEYS[name]
        raw = self._qs.value(name)
        if raw is None:
            return _copy(key.default)
        try:
            if key.type is bool:
                return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            if key.type is int:
                return int(raw)
            if key.type is list:
                value = json.loads(raw) if isinstance(raw, str) else list(raw)
                return [str(v) for v in value] if isinstance(value, list) else _copy(key.default)
            if key.type is QByteArray:
                return raw if isinstance(raw, QByteArray) else QByteArray(raw)
            return str(raw)
        except (TypeError, ValueError):
            return _copy(key.default)

    def set(self, name: str, value: Any) -> None:
        """Change a key (written to disk soon; :meth:`sync` forces it)."""
        key = KEYS[name]
        if any(word in name for word in _FORBIDDEN):  # pragma: no cover - a programming error
            raise ValueError(f"{name}: secrets never go into the settings file")
        if key.type is list:
            value = json.dumps(list(value))  # an INI list of one item would read back as a str
        self._qs.setValue(name, value)

    def sync(self) -> None:
        """Write pending changes to the file now."""
        self._qs.sync()

    # the redirect URI of each application key
    def _redirects(self) -> dict[str, Any]:
        try:
            table = json.loads(self.get("prefs/redirects"))
        except ValueError:
            return {}
        return table if isinstance(table, dict) else {}

    def redirect_for(self, client_id: str) -> tuple[str, int]:
        """(host, port) of the redirect URI registered for this application key."""
        entry = self._redirects().get(client_id)
        if isinstance(entry, dict):
            host, port = entry.get("host"), entry.get("port")
            if host in REDIRECT_HOSTS and isinstance(port, int) and 0 <= port <= 65535:
                return host, port
        return DEFAULT_REDIRECT_HOST, self.get("prefs/redirect_port")

    def set_redirect(self, client_id: str, host: str, port: int) -> None:
        """Remember the redirect URI's host and port for this application key."""
        if host not in REDIRECT_HOSTS:
            raise ValueError(f"the redirect host is one of {REDIRECT_HOSTS}")
        table = self._redirects()
        table[client_id] = {"host": host, "port": int(port)}
        self.set("prefs/redirects", json.dumps(table, sort_keys=True))
        self.set("prefs/redirect_port", int(port))

    # the spreadsheets opened lately
    def recent_files(self) -> list[str]:
        """The spreadsheets opened lately, newest first (at most :data:`MAX_RECENT`)."""
        return self.get("state/recent_files")[:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        """Put ``path`` first in the recent spreadsheets."""
        path = str(Path(path))
        kept = [p for p in self.recent_files() if p != path]
        self.set("state/recent_files", [path, *kept][:MAX_RECENT])

    def remove_recent(self, path: str) -> None:
        """Forget ``path`` (a file that was moved or deleted)."""
        self.set("state/recent_files", [p for p in self.recent_files() if p != str(Path(path))])

    def clear_recent(self) -> None:
        self.set("state/recent_files", [])

    # conveniences for the keys used in several places
    @property
    def last_folder(self) -> str:
        return self.get("state/last_folder")

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.set("state/last_folder", folder)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value
