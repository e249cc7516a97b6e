"""Smoke test of the built one-folder app (``resources/packaging/ccdesk.spec``).

Skipped unless ``CCDESK_BUNDLE`` names the built folder::

    .venv/bin/pyinstaller --noconfirm resources/packaging/ccdesk.spec
    CCDESK_BUNDLE=dist/ccdesk .venv/bin/python -m pytest tests/bundle

Each test runs the bundle's own executables in a child process, from an empty folder, with
its own ``CCDESK_HOME``, ``HOME`` and XDG folders, and without the virtual environment's
Python variables, so nothing outside the bundle can stand in for what it should carry. The
demo account is ccdesk's in-process sandbox on 127.0.0.1: no other network is used.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import ccdesk

BUNDLE_ENV = "CCDESK_BUNDLE"
ROOT = Path(__file__).resolve().parents[2]
EXE_SUFFIX = ".exe" if os.name == "nt" else ""
LIST = "Free Members"

pytestmark = [pytest.mark.bundle, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The built folder named by ``CCDESK_BUNDLE`` (relative to the working folder or the
    checkout); the tests skip when it is not set."""
    value = os.environ.get(BUNDLE_ENV)
    if not value:
        pytest.skip(f"{BUNDLE_ENV} is not set: build the app with `pyinstaller "
                    "resources/packaging/ccdesk.spec` and set CCDESK_BUNDLE=dist/ccdesk to test it")
    path = Path(value)
    if not path.is_absolute() and not path.exists():
        path = ROOT / path
    path = path.resolve()
    missing = [n for n in ("ccdesk", "ccdesk-cli") if not (path / (n + EXE_SUFFIX)).is_file()]
    if missing:
        pytest.fail(f"{BUNDLE_ENV}={value}: {path} has no {', '.join(missing)} "
                    "(is it the built dist folder?)")
    return path


@pytest.fixture
def resources(bundle: Path) -> Path:
    """The bundle's resources folder (``sys._MEIPASS/resources``; in a macOS app, whose
    executables are in ``Contents/MacOS``, under ``Contents/Resources``)."""
    found = [p for p in (bundle / "_internal" / "resources", bundle / "resources",
                         bundle.parent / "Resources" / "resources")
             if (p / "README.md").is_file()]
    assert found, f"no resources folder in {bundle}"
    return found[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: private per-user folders, offscreen Qt, no proxies, no venv."""
    home = tmp_path / "home"
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", BUNDLE_ENV,
            "CCDESK_EXIT_AFTER_PAINT", "QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH"}
    values = {k: v for k, v in os.environ.items()
              if k not in drop and not k.lower().endswith("_proxy")}
    values.update({
        "HOME": str(home), "CCDESK_HOME": str(tmp_path / "ccdesk-home"),
        "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local/state"),
        "QT_QPA_PLATFORM": "offscreen", "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    home.mkdir()
    return values


def run(bundle: Path, env: dict[str, str], cwd: Path, *argv: str, exe: str = "ccdesk-cli",
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(bundle / (exe + EXE_SUFFIX)), *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def run_json(bundle: Path, env: dict[str, str], cwd: Path, *argv: str) -> Any:
    done = run(bundle, env, cwd, *argv, "--json")
    assert done.returncode == 0, f"ccdesk {' '.join(argv)}: status {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout)


def test_version(bundle: Path, env: dict[str, str], tmp_path: Path) -> None:
    done = run(bundle, env, tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ccdesk {ccdesk.__version__}"


def test_help(bundle: Path, env: dict[str, str], tmp_path: Path) -> None:
    done = run(bundle, env, tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ccdesk")
    for command in ("inspect", "preview", "run", "runs", "resume", "export", "undo", "status",
                    "connect", "disconnect", "sandbox"):
        assert re.search(rf"^\s+{command}\s", done.stdout, re.MULTILINE), f"{command} missing from --help"
    done = run(bundle, env, tmp_path, "run", "--help")
    assert done.returncode == 0 and "--yes" in done.stdout, done.stderr


def test_the_headless_demo_job(bundle: Path, resources: Path, env: dict[str, str],
                               tmp_path: Path) -> None:
    """inspect → preview → run → runs → export on the demo account, with the bundle's own
    sample sheet and demo account (found through ``ccdesk.paths.resources_root``)."""
    sheet = str(resources / "demo" / "upgraded-members.xlsx")

    inspected = run_json(bundle, env, tmp_path, "inspect", sheet)
    assert inspected["format"] == "xlsx" and inspected["rows"] > 0
    assert inspected["counts"]["valid"] > 0

    preview = run_json(bundle, env, tmp_path, "preview", sheet, "--list", LIST, "--demo")
    assert preview["rows"] == inspected["rows"] == sum(preview["counts"].values())
    assert preview["counts"]["remove"] > 0

    done = run(bundle, env, tmp_path, "run", sheet, "--list", LIST, "--demo", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "finished"
    assert result["counts"]["removed"] == result["verified"] == preview["counts"]["remove"]
    assert sum(result["counts"].values()) == preview["rows"]
    assert Path(result["log"]).is_file()
    assert Path(result["log"]).is_relative_to(env["CCDESK_HOME"])

    runs = run_json(bundle, env, tmp_path, "runs", "--demo")
    assert [r["run_id"] for r in runs["runs"]] == [result["run_id"]]

    target = tmp_path / "results.csv"
    exported = run_json(bundle, env, tmp_path, "export", result["run_id"], "--demo",
                        "--format", "csv", "-o", str(target))
    assert exported["run_id"] == result["run_id"]
    with open(target, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + preview["rows"]  # headings + one row per sheet row


def test_the_window_s_job_process_reads_a_sheet(bundle: Path, resources: Path,
                                               env: dict[str, str], tmp_path: Path) -> None:
    """The window starts its jobs as ``ccdesk job`` with its own executable (the windowed one):
    a request on its standard input, events as JSON lines on its standard output."""
    sheet = str(resources / "demo" / "upgraded-members.xlsx")
    rows = tmp_path / "rows.sqlite"
    request = {"job": {"type": "read", "path": sheet, "rows_to": str(rows)}}
    done = subprocess.run([str(bundle / ("ccdesk" + EXE_SUFFIX)), "job"], cwd=tmp_path, env=env,
                          input=json.dumps(request) + "\n", capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert events and events[-1]["type"] == "result", done.stdout
    assert events[-1]["sheet"]["counts"]["valid"] > 0
    assert any(e["type"] == "progress" for e in events)
    assert rows.is_file()


def test_the_window_opens_and_paints(bundle: Path, env: dict[str, str], tmp_path: Path) -> None:
    """``ccdesk --demo`` (the windowed executable), offscreen, until its first paint."""
    env = {**env, "CCDESK_EXIT_AFTER_PAINT": "1"}
    done = run(bundle, env, tmp_path, "--demo", exe="ccdesk", timeout=90)
    assert done.returncode == 0, done.stderr
    found = re.search(r"^first paint after (\d+) ms$", done.stderr, re.MULTILINE)
    assert found, done.stderr
    log = (Path(env["CCDESK_HOME"]) / "log" / "ccdesk.log").read_text(encoding="utf-8")
    assert f"ccdesk {ccdesk.__version__} starting" in log
    assert "Traceback" not in log and "CRITICAL" not in log, log
    assert "resource not found" not in log, log
