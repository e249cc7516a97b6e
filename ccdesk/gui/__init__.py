"""The window (PySide6). The only package that imports Qt.

Importing it first neutralises known defects of the Qt binding (see
:mod:`ccdesk.gui.qtcompat`).
"""

from ccdesk.gui import qtcompat as _qtcompat

_qtcompat.apply()
