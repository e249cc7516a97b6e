"""Work-arounds for defects of the Qt binding, in one place.

WORKAROUND (PySide6 6.12.0): ``SignalInstance.emit()`` returns ``True`` without owning a
reference to it, so every emit from Python code takes one reference away from ``True``. A few
hundred emits later CPython frees ``True`` and aborts ("bool_dealloc: deallocating True or
False"). Signals emitted by Qt itself (C++) are not affected. Every emit in ``ccdesk.gui`` goes
through :func:`emit`, which gives the reference back — only when a probe at import shows the
defect, so a fixed binding needs nothing. Checked by ``tests/gui/test_worker.py``.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    ping = Signal()


_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def _emit_drops_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):  # give back what the probe took
        _incref(True)
    return lost >= 4


EMIT_LEAKS = _emit_drops_a_reference()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, without the binding's reference-count defect."""
    result = signal.emit(*args)
    if EMIT_LEAKS and result is not None:
        _incref(result)


# WORKAROUND (PySide6 6.12.0): a Python handler installed with qInstallMessageHandler costs
# ``None`` one reference per Qt message (whatever the handler returns). The wrapper below gives
# it back, again only when a probe shows the defect.


def _handler_drops_none() -> bool:
    from PySide6.QtCore import qDebug, qInstallMessageHandler

    calls: list[int] = []

    def probe(kind: Any, context: Any, message: str) -> None:
        calls.append(1)

    previous = qInstallMessageHandler(probe)
    try:
        before = sys.getrefcount(None)
        for _ in range(8):
            qDebug("ccdesk: checking the Qt message handler")
        lost = before - sys.getrefcount(None)
    finally:
        qInstallMessageHandler(previous)
    for _ in range(max(0, lost)):
        _incref(None)
    return bool(calls) and lost >= 4


def install_message_handler(handler: Any) -> Any:
    """``qInstallMessageHandler(handler)`` without the binding's reference-count defect."""
    from PySide6.QtCore import qInstallMessageHandler

    leaks = _handler_drops_none()

    def wrapped(kind: Any, context: Any, message: str) -> None:
        try:
            handler(kind, context, message)
        finally:
            if leaks:
                _incref(None)

    return qInstallMessageHandler(wrapped)
