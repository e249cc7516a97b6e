"""The wheel carries every package and every resource folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
