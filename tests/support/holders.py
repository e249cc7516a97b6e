"""Another process holding a run, as a second window or a scheduled job would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held_elsewhere(journal_path: Path | str, run_id: str,
                   program: str = "a scheduled job") -> Iterator[subprocess.Popen[str]]:
    """A child process that claims ``run_id`` and holds it until the block ends (then it is
    killed, as with kill -9: it has no chance to let go)."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from ccdesk.core.journal import Journal\n"
        f"claim = Journal({str(journal_path)!r}).claim({run_id!r}, {program!r})\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
