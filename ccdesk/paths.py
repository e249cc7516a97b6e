"""Where ccdesk keeps things.

Per-user folders come from ``platformdirs`` and can all be moved at once with the
``CCDESK_HOME`` environment variable (tests and portable installs use it). They hold members'
data (the journal, results logs, the app log), so on POSIX they are made readable by their
owner only (0700), and :func:`private_file` creates such files 0600, whatever the umask. Bundled files
(icons, the demo account, the sample sheet) are found by :func:`resource`, which works from a
source checkout, an installed wheel and a PyInstaller bundle alike.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import platformdirs

from ccdesk import APP_NAME, APP_ORG
from ccdesk.errors import StorageError

HOME_ENV = "CCDESK_HOME"


def _posix() -> bool:
    """Whether file modes (0600, 0700) mean anything here. On Windows they do not: ccdesk's
    folders are under the user's profile (``%LOCALAPPDATA%``), which only that user (and the
    system and administrators) may open."""
    return os.name == "posix"


def _windows() -> bool:
    return os.name == "nt"


def folder_path(kind: str) -> Path:
    """Where the per-user folder ``kind`` ("data", "config", "cache", "log", "state") is,
    without creating it."""
    override = os.environ.get(HOME_ENV)
    if override:
        path = Path(override) / kind
    else:
        dirs = platformdirs.PlatformDirs(APP_NAME, APP_ORG)
        path = Path(
            {
                "data": dirs.user_data_dir,
                "config": dirs.user_config_dir,
                "cache": dirs.user_cache_dir,
                "log": dirs.user_log_dir,
                "state": dirs.user_state_dir,
            }[kind]
        )
    return path


def _folder(kind: str) -> Path:
    path = folder_path(kind)
    try:
        return private_dir(path)
    except OSError as exc:
        raise storage_error(exc) from exc


def storage_error(exc: BaseException) -> StorageError:
    """A one-line :class:`~ccdesk.errors.StorageError` for a failed file operation.

    ``exc`` is an ``OSError`` or an ``sqlite3`` error; the title names the data folder (or the
    file, when it lies outside ccdesk's folders) and the system's reason.
    """
    reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or \
        type(exc).__name__
    data = folder_path("data")
    filename = getattr(exc, "filename", None)
    if isinstance(filename, str | os.PathLike):
        where = Path(os.fspath(filename))
        homes = [folder_path(kind) for kind in ("data", "config", "cache", "log", "state")]
        if not any(where == home or home in where.parents for home in homes):
            return StorageError(
                f"ccdesk could not use {where} ({reason})",
                "Check that its folder exists and can be written to and that the disk is not "
                "full, then try again.", details=f"{type(exc).__name__}: {exc}")
    return StorageError(f"ccdesk cannot use its data folder {data} ({reason})",
                        details=f"{type(exc).__name__}: {exc}")


def private_dir(path: Path) -> Path:
    """Make sure folder ``path`` exists and (on POSIX) only its owner can enter it (0700).

    Missing parents are created as usual; the folder itself is created 0700, or narrowed to
    0700 when it exists with wider permissions.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if _posix():
        current = path.stat().st_mode & 0o777
        if current != 0o700:
            path.chmod(0o700)
    return path


def private_file(path: Path | str, *, private_folder: bool = True) -> Path:
    """Create file ``path`` (empty) if missing, 0600 on POSIX; return it.

    Created before a library opens it (SQLite, a spreadsheet writer), so the file never
    exists with wider permissions; SQLite gives its -wal and -shm files the database file's
    permissions. An existing file is narrowed to 0600. Its folder is created if missing and,
    with ``private_folder`` (ccdesk's own folders, not one the person chose), made 0700.
    """
    path = Path(path)
    if private_folder:
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        info = os.fstat(fd)
        if _posix() and stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return path


#: How long :func:`replace_file` keeps trying on Windows while another program has the target open.
REPLACE_PATIENCE = 2.0


def replace_file(source: Path | str, target: Path | str, *, patience: float = REPLACE_PATIENCE) -> None:
    """Move ``source`` over ``target`` in one step (``os.replace``), on every platform.

    On Windows the move fails with ``PermissionError`` while another process has ``target``
    open (another ccdesk reading it, a virus scanner, a cloud-sync or indexing service): the
    move is tried again for up to ``patience`` seconds before the error is raised. On POSIX an
    open file never blocks the move, so a ``PermissionError`` there is raised at once.
    """
    deadline = time.monotonic() + patience
    pause = 0.01
    while True:
        try:
            Path(source).replace(target)
            return
        except PermissionError:
            if not _windows() or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


def data_dir() -> Path:
    """The per-user data folder: the run journal, the daily API-usage counter."""
    return _folder("data")


def config_dir() -> Path:
    """The per-user configuration folder (QSettings lives here, never secrets)."""
    return _folder("config")


def cache_dir() -> Path:
    """The per-user cache folder."""
    return _folder("cache")


def log_dir() -> Path:
    """The per-user folder of the application log."""
    return _folder("log")


def resources_root() -> Path:
    """The folder that holds ccdesk's bundled resources.

    Looks, in order, in a PyInstaller bundle, in an installed wheel (``ccdesk/resources``) and
    in a source checkout (``resources/`` beside the package).
    """
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = []
    if bundle:
        candidates.append(Path(bundle) / "resources")
    here = Path(__file__).resolve().parent
    candidates += [here / "resources", here.parent / "resources"]
    for candidate in candidates:
        if (candidate / "README.md").is_file():
            return candidate
    raise FileNotFoundError("ccdesk's resources folder is missing; reinstall ccdesk.")


def resource(*parts: str) -> Path:
    """The path of one bundled resource, e.g. ``resource("demo", "demo-account.json")``."""
    path = resources_root().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"ccdesk resource not found: {'/'.join(parts)}")
    return path
