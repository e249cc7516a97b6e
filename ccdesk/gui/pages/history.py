"""History: every run recorded on this computer, newest first; open one to see its results,
save its log, undo it, or resume it."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Signal
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableView

from ccdesk.gui import tasks, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.models import RUN_ID_ROLE, HistoryModel
from ccdesk.gui.pages import Page
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import WindowState
from ccdesk.gui.widgets import Note, show_focus


class HistoryPage(Page):
    """Past runs from the journal."""

    title = "History"
    results_wanted = Signal(str)  # run id
    resume_wanted = Signal(str, str, str)  # run id, action, headline
    watch_wanted = Signal(str, str, str, str)  # run id, action, headline, who carries it out
    loaded = Signal(int)  # the number of runs shown

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__(state, jobs, settings)
        self.intro = Note("Every run is recorded on this computer. Open one to see what it did, "
                          "save its log, undo it, or carry on with one that did not finish.")
        self.layout_.addWidget(self.intro)
        self.model = HistoryModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setAccessibleName("Past runs")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(False)
        self.view.setTabKeyNavigation(False)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((150, 260, 220, 190)):
            self.view.setColumnWidth(column, width)
        self.layout_.addWidget(self.view, 1)
        self.empty = Note("No runs yet.")
        self.layout_.addWidget(self.empty)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("&See the results")
        self.resume_button = QPushButton("&Resume")
        self.resume_button.setToolTip("Carry on with this run's rows not done yet. Nothing is sent twice.")
        self.watch_button = QPushButton("&Watch")
        self.watch_button.setToolTip("Another ccdesk (a window, the command line, a scheduled "
                                     "job) is carrying this run out: follow it here.")
        self.watch_button.hide()
        self.refresh_button = QPushButton("Refresh the &list")
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.watch_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        self.layout_.addLayout(buttons)
        self.why_not = Note()
        self.why_not.setAccessibleName("Why Resume is not available")
        self.why_not.hide()
        self.layout_.addWidget(self.why_not)
        self.open_button.clicked.connect(self.open_selected)
        self.resume_button.clicked.connect(self.resume_selected)
        self.watch_button.clicked.connect(self.watch_selected)
        self.refresh_button.clicked.connect(self.load)
        self.view.activated.connect(lambda index: self.open_selected())
        self.view.selectionModel().currentRowChanged.connect(self._selection_changed)
        self._selection_changed()

    def default_button(self) -> QPushButton | None:
        return self.open_button

    def entered(self) -> None:
        self.load()

    def load(self) -> None:
        session = self.state.session
        if session is None:
            self.model.set_entries([])
            self.empty.setText("Connect an account (or try the demo) to see its runs.")
            self.empty.show()
            return
        self.jobs.thread("history", tasks.history_work(session), on_done=self._loaded,
                         on_error=self.error.emit)

    def _loaded(self, entries: list[tasks.HistoryEntry]) -> None:
        here = self.state.run.run_id if self.state.running and self.state.run else ""
        for entry in entries:
            entry.here = bool(here) and entry.run.run_id == here
        self.model.set_entries(entries)
        self.empty.setText("No runs yet.")
        self.empty.setVisible(not entries)
        if entries:
            self.view.setCurrentIndex(self.proxy.index(0, 0))
            show_focus(self.view)
        self._selection_changed()
        self.loaded.emit(len(entries))

    def _selected(self) -> tasks.HistoryEntry | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.model.entry(self.proxy.mapToSource(index).row())

    def _selection_changed(self, *args: QModelIndex) -> None:
        entry = self._selected()
        self.open_button.setEnabled(entry is not None)
        resumable = entry is not None and self.state.resumable(entry.run, entry.holder)
        watchable = entry is not None and entry.elsewhere and self.state.watchable(entry.run,
                                                                                   entry.holder)
        self.resume_button.setEnabled(resumable)
        self.resume_button.setVisible(not watchable)
        why = "" if resumable else self.state.not_resumable_reason(
            entry.run if entry is not None else None, entry.holder if entry else None)
        self.resume_button.setToolTip(why or "Carry on with this run where it stopped.")
        self.why_not.setText(why if entry is not None and entry.run.state != "finished" else "")
        self.why_not.setVisible(bool(self.why_not.text()))
        self.watch_button.setVisible(watchable)

    def open_selected(self) -> None:
        entry = self._selected()
        if entry is not None:
            self.results_wanted.emit(entry.run.run_id)

    def resume_selected(self) -> None:
        entry = self._selected()
        if entry is not None and self.state.resumable(entry.run, entry.holder):
            run = entry.run
            self.resume_wanted.emit(run.run_id, run.action, "Resuming: " + words.run_title(run))

    def watch_selected(self) -> None:
        entry = self._selected()
        if entry is not None and entry.holder is not None and entry.elsewhere:
            run = entry.run
            self.watch_wanted.emit(run.run_id, run.action, words.run_title(run),
                                   entry.holder.describe())

    def run_id_at(self, row: int) -> str:
        return self.proxy.index(row, 0).data(RUN_ID_ROLE)

