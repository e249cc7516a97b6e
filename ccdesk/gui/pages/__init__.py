"""The window's pages, one per step: account, spreadsheet, preview, run, results, history.

Each page is a ``QWidget`` that holds a reference to the main window (its "app"): it starts
core work through ``app.start_job``, reads the shared state (``app.session``, ``app.sheet``,
``app.plan``) and reports errors through ``app.report_error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from ccdesk.gui.widgets import Heading

if TYPE_CHECKING:
    from ccdesk.gui.main_window import MainWindow


class Page(QWidget):
    """A step of the window, with a heading."""

    title = ""

    def __init__(self, app: MainWindow) -> None:
        super().__init__()
        self.app = app
        self.heading = Heading(self.title)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.heading)
        self.setAccessibleName(self.title)
        # Takes the spare height while a page has little to show (keeps its content at the top).
        self.filler = QWidget()
        self.filler.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def entered(self) -> None:
        """Called when the page is shown."""
