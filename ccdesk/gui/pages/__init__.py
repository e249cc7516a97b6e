"""The window's pages, one per step: account, spreadsheet, preview, run, results, history.

Each page is a ``QWidget`` built from the window's state (:class:`~ccdesk.gui.state.WindowState`),
the jobs service (:class:`~ccdesk.gui.jobs.Jobs`) and the settings. It reads the state and
follows its signals; it asks for work by emitting requests (``preview_wanted``, ``run_wanted``,
…) that the main window connects to the jobs service, and for light reads (the lists, a run's
results) it uses the service's threads. Pages never call the main window or each other, so each
can be built and tested alone.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from ccdesk.gui.jobs import Jobs
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import WindowState
from ccdesk.gui.widgets import Heading


class Page(QWidget):
    """A step of the window, with a heading."""

    title = ""
    go_wanted = Signal(str)  # show another step ("sheet", "preview", …)
    error = Signal(object)  # an error to show in a message box
    said = Signal(str)  # a short message for the status bar

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__()
        self.state = state
        self.jobs = jobs
        self.settings = settings
        self.heading = Heading(self.title)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.heading)
        self.setAccessibleName(self.title)
        # Takes the spare height while a page has little to show (keeps its content at the top).
        self.filler = QWidget()
        self.filler.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def entered(self) -> None:
        """Called when the page is shown."""
