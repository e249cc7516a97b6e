"""How ccdesk starts a child process of its own (the window's job process, per DESIGN.md).

ccdesk starts none today: the browser for signing in opens through ``webbrowser`` /
``QDesktopServices`` (ShellExecute on Windows, ``open`` on macOS), which shows no console. A
child started with :mod:`subprocess` from the windowed ``ccdesk.exe`` (or ``pythonw.exe``)
would flash a console window on Windows when the child is a console program (``ccdesk-cli``,
``python.exe``) unless it is started with ``CREATE_NO_WINDOW``: :func:`child_options` gives
the ``Popen`` keywords that do it.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

#: ``subprocess.CREATE_NO_WINDOW`` (defined by Python on Windows only).
CREATE_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)


def child_options(platform: str | None = None) -> dict[str, Any]:
    """Keyword arguments for :class:`subprocess.Popen` that start a child without a console
    window on Windows; elsewhere none are needed (an empty dict).

    Args:
        platform: ``sys.platform`` by default (tests pass another).
    """
    if (platform or sys.platform) == "win32":
        return {"creationflags": CREATE_NO_WINDOW}
    return {}
