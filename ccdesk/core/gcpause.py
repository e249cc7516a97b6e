"""Pausing Python's cyclic garbage collector while big, cycle-free data is built.

Building 100,000s of objects triggers the collector again and again, and each full pass walks
every object in the process while it keeps the interpreter lock: a quarter of a sheet's import
time, and most of a window's freezes on a big job (``tests/bench/bench_gui.py``). The data of
ccdesk's jobs forms no reference cycles (reference counting frees it), so the collector can rest
while they run. No Qt here: the core and the window share it.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; nested and concurrent pauses (from
    several threads) are counted, and the collector starts again when the last one ends.

    When it starts again, what exists is frozen first (``gc.freeze``), so that its next full
    pass does not walk the job's objects either; they are still freed by reference counting
    when nothing holds them any more.
    """
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.freeze()
                gc.enable()
