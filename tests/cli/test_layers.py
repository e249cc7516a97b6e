"""The layers: the contracts of pyproject.toml, and no Qt loaded below the window."""

from __future__ import annotations

import subprocess
import sys


def test_headless_layers_do_not_import_qt() -> None:
    code = (
        "import sys\n"
        "import ccdesk.core, ccdesk.cc, ccdesk.engine, ccdesk.sandbox, ccdesk.cli\n"
        "import ccdesk.sandbox.server, ccdesk.sandbox.state\n"
        "ccdesk.cli.build_parser()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt modules loaded by headless layers: {out.stdout.strip()}"


def test_the_layer_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: cli > gui > engine > core > cc, no Qt below the
    window, the sandbox only for the demo wiring and its own command."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is a test dependency: pip install -e '.[test]'"
    out = subprocess.run([str(lint), "--no-cache"], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 kept, 0 broken" in out.stdout
