"""Work-arounds for defects of the Qt binding, applied once when ``ccdesk.gui`` is imported.

WORKAROUND (PySide6 / shiboken6 6.12.0 on Python 3.10 and 3.11): the binding hands out
``None`` and ``True`` without owning a reference to them — every call of a Qt method that
returns nothing, every ``Signal.emit()``, every Python callable Qt calls that returns ``None``
(a model's ``data()``, a slot, a message handler) takes one reference away. From Python 3.12
these singletons are immortal (PEP 683) and nothing happens; on 3.11 a few thousand calls later
CPython frees ``None`` or ``True`` and aborts ("none_dealloc: deallocating None", "bool_dealloc").
ccdesk's window makes millions of such calls on a big job.

The cure here is what Python 3.12 does: make ``None``, ``True`` and ``False`` immortal, by giving
them a reference count no program can use up (2**40). It is applied only on CPython before 3.12
and only when a probe shows the defect, so a fixed binding or a newer Python needs nothing. The
proper fix is outside ccdesk: a PySide6 release without the defect, or Python 3.12+.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

log = logging.getLogger("ccdesk.gui")

#: What the probe found: the singletons whose references the binding drops.
DEFECTS: tuple[str, ...] = ()
_HEADROOM = 1 << 40


def _probe() -> tuple[str, ...]:
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    found = []
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("ccdesk-probe")  # a method that returns nothing
    if before - sys.getrefcount(None) >= 8:
        found.append("None")
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.ping.emit()
    if before - sys.getrefcount(True) >= 8:
        found.append("True")
    return tuple(found)


def _make_immortal(obj: Any) -> None:
    """Raise a singleton's reference count far out of reach (CPython's ``ob_refcnt``)."""
    count = ctypes.c_ssize_t.from_address(id(obj))
    if count.value < _HEADROOM:
        count.value += _HEADROOM


def apply() -> tuple[str, ...]:
    """Detect the binding's defects and neutralise them; returns what was found. Idempotent."""
    global DEFECTS
    immortal_already = sys.version_info >= (3, 12)
    standard_layout = sys.implementation.name == "cpython" and not hasattr(sys, "gettotalrefcount")
    if immortal_already or not standard_layout:
        return DEFECTS
    DEFECTS = _probe()
    if DEFECTS:
        for singleton in (None, True, False):
            _make_immortal(singleton)
        log.info("Qt binding drops references to %s: None, True and False made immortal",
                 " and ".join(DEFECTS))
    return DEFECTS
