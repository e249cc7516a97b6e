"""Where ccdesk keeps things.

Per-user folders come from ``platformdirs`` and can all be moved at once with the
``CCDESK_HOME`` environment variable (tests and portable installs use it). Bundled files
(icons, the demo account, the sample sheet) are found by :func:`resource`, which works from a
source checkout, an installed wheel and a PyInstaller bundle alike.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from ccdesk import APP_NAME, APP_ORG

HOME_ENV = "CCDESK_HOME"


def _folder(kind: str) -> Path:
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
    path.mkdir(parents=True, exist_ok=True)
    return path


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
