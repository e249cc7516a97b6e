"""The wheel carries every package and every resource folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_and_resource_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ccdesk").rglob("__init__.py")}
    found |= {"ccdesk.resources." + ".".join(p.relative_to(ROOT / "resources").parts)
              for p in (ROOT / "resources").rglob("*") if p.is_dir() and "__pycache__" not in p.parts}
    found.add("ccdesk.resources")
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_resources_are_found_from_the_checkout() -> None:
    from ccdesk.paths import resource

    assert resource("demo", "demo-account.json").is_file()
    assert resource("demo", "upgraded-members.xlsx").is_file()


def test_the_desktop_entry_installs_with_its_icons(tmp_path: Path) -> None:
    """resources/linux/install-desktop.sh: the menu entry (Exec quoted when the path has spaces)
    and the icon at every standard size, under XDG_DATA_HOME."""
    import os
    import shutil
    import subprocess

    if shutil.which("sh") is None or shutil.which("install") is None:
        pytest.skip("needs a POSIX shell and install(1)")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    subprocess.run(["sh", str(ROOT / "resources" / "linux" / "install-desktop.sh"), "/opt/my apps/ccdesk"],
                   env=env, check=True, capture_output=True)
    entry = tmp_path / "applications" / "ccdesk.desktop"
    assert 'Exec="/opt/my apps/ccdesk" %f' in entry.read_text(encoding="utf-8")
    for size in (16, 32, 48, 64, 128, 256):
        assert (tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "ccdesk.png").is_file()
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "ccdesk.svg").is_file()
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(entry)], check=True)
