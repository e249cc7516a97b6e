"""Shared test set-up.

- Every per-user folder (platformdirs, QSettings) points at a temporary folder, so no test
  reads or writes a real profile.
- Tests that use ``qtbot`` or ``qapp`` are marked ``gui`` automatically; Qt runs offscreen.
- Tests live under one of the layer folders; a stray test file fails the collection.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TESTS = Path(__file__).resolve().parent
LAYERS = {"sandbox", "cc", "core", "engine", "gui", "cli", "bench", "support", "bundle"}
SHARED = TESTS.parent.parent / "shared"
OPENAPI_PATH = SHARED / "cc-v3-openapi.yaml"


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point ccdesk's and the platform's per-user folders at a fresh temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CCDESK_HOME", str(home / "ccdesk"))
    for var, sub in {
        "XDG_DATA_HOME": ".local/share",
        "XDG_CONFIG_HOME": ".config",
        "XDG_CACHE_HOME": ".cache",
        "XDG_STATE_HOME": ".local/state",
    }.items():
        monkeypatch.setenv(var, str(home / sub))
    yield home


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(TESTS)
        if len(rel.parts) < 2 or rel.parts[0] not in LAYERS:
            raise pytest.UsageError(f"{rel}: tests belong in one of tests/{sorted(LAYERS)}")
        fixtures = getattr(item, "fixturenames", ())
        if "qtbot" in fixtures or "qapp" in fixtures:
            item.add_marker(pytest.mark.gui)


# ---------------------------------------------------------------------------------------------
# The sandbox: one server for the session, reset before each test that asks for it.

# Activities finish fast in tests; rate limits and quotas are the real ones unless a test
# resets them.
FAST_ACTIVITIES = {"activity_delay": 0.05, "activity_seconds": 0.3, "activity_min_seconds": 0.1}


@pytest.fixture(scope="session")
def _sandbox_server():
    from ccdesk.sandbox import Sandbox

    try:
        sandbox = Sandbox(**FAST_ACTIVITIES).start()
    except OSError as exc:  # pragma: no cover - the machine cannot listen on 127.0.0.1
        pytest.exit(f"the sandbox cannot listen on 127.0.0.1: {exc}", returncode=3)
    yield sandbox
    sandbox.stop()


# The sandbox's modes for behaviours the public material leaves open (see README, "The sandbox").
SANDBOX_MODES: dict[str, dict[str, object]] = {
    "realistic": {},  # the default: list changes and opt-outs leave updated_at alone
    "touching": {"list_changes_touch_contacts": True},  # the old, kinder behaviour
}


@pytest.fixture(params=list(SANDBOX_MODES))
def sandbox_mode(request: pytest.FixtureRequest) -> str:
    """Run a test once per sandbox mode: ``"realistic"`` and ``"touching"``.

    Ask for it (as an argument, or ``pytestmark = pytest.mark.usefixtures("sandbox_mode")``
    for a whole module) and the ``sandbox`` fixture is reset in that mode:

    - ``"realistic"`` (the sandbox's default): list-membership changes (bulk add/remove
      activities, PUT of ``list_memberships``) and opt-outs do not touch ``updated_at``;
    - ``"touching"``: they do (``list_changes_touch_contacts=True``).

    One mode alone: ``@pytest.mark.parametrize("sandbox", ["touching"], indirect=True)``.
    """
    return request.param


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, _sandbox_server):
    """A running sandbox holding :func:`tests.support.accounts.small_account`.

    Realistic mode unless the test asks for ``sandbox_mode`` or parametrises ``sandbox``
    indirectly with a mode name (see :func:`sandbox_mode`).
    """
    from tests.support.accounts import small_account

    mode = getattr(request, "param", None)
    if mode is None and "sandbox_mode" in request.fixturenames:
        mode = request.getfixturevalue("sandbox_mode")
    options = SANDBOX_MODES[mode or "realistic"]
    _sandbox_server.reset(small_account(), defaults=True, **FAST_ACTIVITIES, **options)
    yield _sandbox_server
    _sandbox_server.faults.clear()


@pytest.fixture
def api(sandbox):
    """A requests session already holding a valid access token for the sandbox's app."""
    import requests

    session = requests.Session()
    token = sandbox.issue_token()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = sandbox.api_url  # type: ignore[attr-defined]
    yield session
    session.close()
