"""ccdesk: take upgraded members off Constant Contact lists, safely.

The package is layered (see ``DESIGN.md``): ``ccdesk.sandbox`` (a local Constant Contact
V3 server), ``ccdesk.cc`` (the API client), ``ccdesk.core`` (sheet → plan → run → log) and
``ccdesk.gui`` (the window). Only ``ccdesk.gui`` imports Qt.
"""

__version__ = "0.1.0"

APP_NAME = "ccdesk"
APP_DISPLAY_NAME = "ccdesk"
APP_ORG = "ccdesk"
