"""The layers below the window never load Qt."""

from __future__ import annotations

import subprocess
import sys


def test_headless_layers_do_not_import_qt() -> None:
    code = (
        "import sys\n"
        "import ccdesk.core, ccdesk.cc, ccdesk.sandbox, ccdesk.cli\n"
        "import ccdesk.sandbox.server, ccdesk.sandbox.state\n"
        "ccdesk.cli.build_parser()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt modules loaded by headless layers: {out.stdout.strip()}"
