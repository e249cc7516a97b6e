"""Step 4, the run: a determinate progress bar with the phase in words, the counts so far, the
time left, a Stop button, and the rows updating as they finish."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton

from ccdesk.core.phases import Phase
from ccdesk.gui import words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.pages import Page
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import RunView, WindowState
from ccdesk.gui.widgets import Banner, Note, RowTableView


def overall_percent(phase: Phase, done: int, total: int, previous: int, *, one_by_one: bool) -> int:
    """The whole run's progress (0–100) from one phase's progress.

    Sending takes the bar to 70 % (100 % for one-by-one unsubscribes, which check themselves),
    waiting for Constant Contact holds it, checking the result takes it from 80 % to 100 %.
    """
    fraction = min(done, total) / total if total else 0.0
    if phase in (Phase.SENDING, Phase.UNSUBSCRIBING):
        return int((100 if one_by_one else 70) * fraction)
    if phase is Phase.WAITING:
        return max(previous, 70)
    if phase in (Phase.CHECKING, Phase.CHECKED):
        return max(previous, 80 + int(20 * fraction))
    if phase is Phase.FINISHED:
        return 100
    return previous


KEEP_OPEN = ("The run goes on if you close this window: open ccdesk again to watch it. If "
             "the computer sleeps or is shut down, nothing is lost: resume the run from History.")
KEEP_OPEN_DEMO = ("The demo's practice account lives inside this window: closing it stops the "
                  "run, and you can resume it the next time.")


class RunPage(Page):
    """Shows a run (start, resume or undo) while it happens."""

    title = "Running"
    stop_wanted = Signal()

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__(state, jobs, settings)
        self.what = Note()
        self.what.setAccessibleName("What this run does")
        self.layout_.addWidget(self.what)
        self.phase = QLabel("Starting…")
        self.phase.setWordWrap(True)
        self.phase.setAccessibleName("What is happening")
        self.layout_.addWidget(self.phase)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setAccessibleName("Run progress")
        self.stop_button = QPushButton("&Stop")
        self.stop_button.setAccessibleName("Stop the run")
        self.stop_button.setToolTip("Send no more changes. What was already sent carries on at "
                                    "Constant Contact and is checked when you resume the run.")
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.stop_button)
        self.layout_.addLayout(row)
        self.counts = QLabel()
        self.counts.setAccessibleName("Counts so far")
        self.eta = QLabel()
        self.eta.setAccessibleName("Time left")
        line = QHBoxLayout()
        line.addWidget(self.counts, 1)
        line.addWidget(self.eta)
        self.layout_.addLayout(line)
        self.stopping = Banner(kind="info")
        self.stopping.hide()
        self.layout_.addWidget(self.stopping)
        self.keep_open = Note(KEEP_OPEN)
        self.layout_.addWidget(self.keep_open)
        self.table = RowTableView("Run rows", after_run=True)
        self.layout_.addWidget(self.table, 1)
        self.stop_button.clicked.connect(self.stop)
        self.shown: RunView | None = None  # the run on show
        state.run_changed.connect(self.show_run)

    @property
    def run_id(self) -> str:
        return self.shown.run_id if self.shown is not None else ""

    def show_run(self, view: RunView | None) -> None:
        """Show the state's run: a new one, a new look at it, or its end."""
        if view is None:
            self.shown = None
            return
        if view is not self.shown:
            self._begin(view)
        if view.run_id and self.table.source() != view.run_id and self.state.session is not None:
            self.table.set_source(self.state.session.journal_path, view.run_id, after_run=True)
            self.table.set_hidden_columns(())
        status = view.status
        if status is not None:
            self.table.refresh()
            self._show_progress(view)
        if view.stopping and view.active and not self.stopping.isVisible():
            self.stopping.set_text(words.stopping_text(status.counts if status else {}))
            self.stopping.show()
            self.stop_button.setEnabled(False)
        if view.ended:
            self._finish(view)

    def _begin(self, view: RunView) -> None:
        self.shown = view
        if view.headline.startswith("Resuming: "):
            heading = view.headline
        else:
            heading = ("Running: " if view.own else "Running elsewhere: ") + view.headline
        self.heading.setText(heading)
        self.what.setText(view.headline + ".")
        self.phase.setText("Starting…" if view.own else "Looking…")
        self.bar.setValue(0)
        self.counts.clear()
        self.eta.clear()
        self.stopping.hide()
        self.stop_button.setEnabled(True)
        self.table.clear()
        if view.own:
            self.keep_open.setText(KEEP_OPEN_DEMO if self.state.demo else KEEP_OPEN)
            self.stop_button.setFocus()
        else:
            who = view.who or "another ccdesk"
            self.keep_open.setText(f"{who[0].upper()}{who[1:]} is carrying this run out; this "
                                   "window watches it. Closing the window changes nothing: the "
                                   "run goes on.")

    def _show_progress(self, view: RunView) -> None:
        status = view.status
        assert status is not None
        progress = status.progress
        if progress is not None:
            phase = Phase(progress.phase)
            self.bar.setValue(overall_percent(phase, progress.done, progress.total,
                                              self.bar.value(),
                                              one_by_one=view.action == "unsubscribe"))
            text = words.PHASES[phase]
            finished = phase is Phase.FINISHED
            if progress.total and not finished:
                text += f": {progress.done:,} of {progress.total:,}"
            if phase is Phase.WAITING:
                text += " (Constant Contact works through the changes on its side)"
            if not view.ended:
                self.phase.setText(text + "…" if not finished else "Finished.")
            if progress.eta is not None and phase in (Phase.SENDING, Phase.UNSUBSCRIBING):
                self.eta.setText(f"Time left: {words.duration(progress.eta)}")
            else:
                self.eta.clear()
        groups = words.result_groups(status.counts)
        sent = status.counts.get("sent", 0)  # at Constant Contact, not read back yet
        parts = [f"{groups['done']:,} {words.done_word(view.action)}"]
        if sent:
            parts.append(f"{sent:,} sent, not checked yet")
        parts += [f"{groups['failed']:,} failed", f"{groups['waiting'] - sent:,} not done yet"]
        prefix = "In the end: " if view.ended else "So far: "
        self.counts.setText(prefix + " · ".join(parts))

    def _finish(self, view: RunView) -> None:
        self.stop_button.setEnabled(False)
        self.stopping.hide()
        title = {"finished": "Finished", "paused": "Paused", "cancelled": "Stopped",
                 "failed": "Stopped by a problem",
                 "abandoned": "Ended before the end"}.get(view.ended, view.ended)
        self.heading.setText(f"{title}: {view.headline}")
        self.phase.setText(f"{title}.")
        if view.ended == "finished":
            self.bar.setValue(100)
        self.eta.clear()

    def stop(self) -> None:
        """Stop: no more changes are sent, and waiting for Constant Contact ends at once."""
        view = self.shown
        if view is None or not view.active:
            return
        self.stop_button.setEnabled(False)
        self.stop_wanted.emit()
