"""The window's pages, one per step: account, spreadsheet, preview, run, results, history.

Each page is a ``QWidget`` built from the window's state (:class:`~ccdesk.gui.state.WindowState`),
the jobs service (:class:`~ccdesk.gui.jobs.Jobs`) and the settings. It reads the state and
follows its signals; it asks for work by emitting requests (``preview_wanted``, ``run_wanted``,
…) that the main window connects to the jobs service, and for light reads (the lists, a run's
results) it uses the service's threads. Pages never call the main window or each other, so each
can be built and tested alone.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

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

    def default_button(self) -> QPushButton | None:
        """The button Enter presses on this page now (None: none)."""
        return None

    def add_shortcut(self, keys: QKeySequence | QKeySequence.StandardKey | str,
                     button: QPushButton) -> QShortcut:
        """A key that presses ``button`` while this page is shown (said in its tooltip)."""
        sequence = QKeySequence(keys)
        shortcut = QShortcut(sequence, self)
        shortcut.activated.connect(
            lambda: button.animateClick() if button.isEnabled() and button.isVisible() else None)
        name = sequence.toString(QKeySequence.SequenceFormat.NativeText)
        button.setToolTip(f"{button.toolTip()} ({name})".strip())
        return shortcut

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter presses the focused button, or else the page's default button. In a field,
        a list or a table, Enter belongs to it (it applies a search, opens a run, …)."""
        if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            focus = QApplication.focusWidget()
            if isinstance(focus, QPushButton) and focus.isEnabled():
                focus.animateClick()
                return
            if not isinstance(focus, (QLineEdit, QAbstractSpinBox, QComboBox, QAbstractItemView)):
                button = self.default_button()
                if button is not None and button.isEnabled() and button.isVisibleTo(self):
                    button.animateClick()
                    return
        super().keyPressEvent(event)
