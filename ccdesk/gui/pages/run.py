"""Step 4, the run: a determinate progress bar with the phase in words, the counts so far, the
time left, a Stop button, and the rows updating as they finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton

from ccdesk.core.phases import Phase
from ccdesk.core.runner import RunProgress
from ccdesk.gui import tasks, words
from ccdesk.gui.pages import Page
from ccdesk.gui.widgets import Banner, Note, RowTableView

if TYPE_CHECKING:
    from ccdesk.gui.main_window import MainWindow
    from ccdesk.gui.worker import Job


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


KEEP_OPEN = ("Keep ccdesk open until the run is finished. If it is closed or the computer "
             "sleeps, nothing is lost: resume the run from History.")


class RunPage(Page):
    """Shows a run (start, resume or undo) while it happens."""

    title = "Running"
    REFRESH_MS = 40

    def __init__(self, app: MainWindow) -> None:
        super().__init__(app)
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
        self.job: Job | None = None
        self.watching = False  # the run shown is carried out by another process
        self.run_id = ""
        self.action = ""
        self._one_by_one = False
        self._latest: Any = None
        self._latest_counts: dict[str, int] = {}  # the journal's counts at the last event
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(self.REFRESH_MS)
        self._refresh.timeout.connect(self._show_latest)

    @property
    def running(self) -> bool:
        """A run of this window is under way (watching another process's run is not one)."""
        return self.job is not None and self.job.running and not self.watching

    def begin(self, job: Job, *, action: str, headline: str) -> None:
        """Show a run of this window that is starting."""
        self._show(job, action, "Running: " + headline, headline, watching=False)
        self.phase.setText("Starting…")
        self.stop_button.setEnabled(True)
        self.keep_open.setText(KEEP_OPEN)
        self.stop_button.setFocus()
        job.progress.connect(self._progress)

    def watch(self, job: Job, *, action: str, headline: str, who: str) -> None:
        """Show a run another process carries out (``who``), as the journal tells it."""
        self._show(job, action, "Running elsewhere: " + headline, headline, watching=True)
        self.phase.setText("Looking…")
        self.keep_open.setText(f"{who[0].upper()}{who[1:]} is carrying this run out; this window "
                               "only watches. Closing it changes nothing: the run goes on.")
        job.progress.connect(self._watched)

    def _show(self, job: Job, action: str, heading: str, headline: str, *, watching: bool) -> None:
        """A fresh page for a run: its own (with Stop and its rows) or one watched."""
        self._stop_watching()
        self.job = job
        self.watching = watching
        self.run_id = ""
        self.action = action
        self._one_by_one = action == "unsubscribe"
        self.heading.setText(heading)
        self.what.setText(headline + ".")
        self.bar.setValue(0)
        self.counts.clear()
        self.eta.clear()
        self._latest = None
        self._latest_counts = {}
        self.stopping.hide()
        self.stop_button.setVisible(not watching)
        self.table.setVisible(not watching)  # a watched run's rows are read on Results

    def _stop_watching(self) -> None:
        if self.watching and self.job is not None and self.job.running:
            self.job.cancel()
        self.watching = False

    def _watched(self, status: Any) -> None:
        """One look at the watched run: the journal's counts and its owner's last progress."""
        self.run_id = status.run.run_id
        progress = status.progress
        if progress is not None:
            self._latest = RunProgress(status.run.run_id, Phase(progress.phase), progress.done,
                                       progress.total, progress.eta, status.counts)
        self._latest_counts = status.counts
        if not self._refresh.isActive():
            self._refresh.start()

    def finish(self, how: str) -> None:
        """The run is over (``finished``, ``paused``, ``cancelled`` or ``failed``)."""
        self._refresh.stop()
        self._show_latest()
        self.stop_button.setEnabled(False)
        self.stopping.hide()
        title = {"finished": "Finished", "paused": "Paused", "cancelled": "Stopped",
                 "failed": "Stopped by a problem", "abandoned": "Ended before the end"}.get(how, how)
        self.watching = False
        self.heading.setText(f"{title}: {self.what.text().rstrip('.')}")
        if how == "finished":
            self.bar.setValue(100)
        self.counts.setText(self.counts.text().replace("So far: ", "In the end: "))
        self.eta.clear()

    def stop(self) -> None:
        """Stop: no more changes are sent, and waiting for Constant Contact ends at once."""
        if self.job is None or not self.job.running:
            return
        self.job.cancel()
        self.stop_button.setEnabled(False)
        self.stopping.set_text(words.stopping_text(self._latest_counts))
        self.stopping.show()

    def _progress(self, value: Any) -> None:
        if isinstance(value, tasks.RunTable):
            if value.run_id:
                self.run_id = value.run_id
            if value.table is not self.table.model.table:
                self.table.set_table(value.table, after_run=True)
                self.table.set_hidden_columns(())
            return
        if not isinstance(value, tasks.RunTick):
            return
        for update in value.updates:
            self.table.apply(update)
        event = value.progress
        if not event.phase:  # the final flush of row states
            return
        self.run_id = event.run_id
        self._latest_counts = event.counts
        # Many events can arrive at once: show the latest, at most every REFRESH_MS.
        self._latest = event
        if not self._refresh.isActive():
            self._refresh.start()

    def _show_latest(self) -> None:
        event = self._latest
        if event is None:
            return
        self._latest = None
        self.bar.setValue(overall_percent(event.phase, event.done, event.total, self.bar.value(),
                                          one_by_one=self._one_by_one))
        text = words.PHASES[event.phase]
        finished = event.phase is Phase.FINISHED
        if event.total and not finished:
            text += f": {event.done:,} of {event.total:,}"
        if event.phase is Phase.WAITING:
            text += " (Constant Contact works through the changes on its side)"
        self.phase.setText(text + "…" if not finished else "Finished.")
        groups = words.result_groups(event.counts)
        done = words.done_word(self.action)
        parts = [f"{groups['done']:,} {done}", f"{groups['failed']:,} failed",
                 f"{groups['waiting']:,} not done yet"]
        self.counts.setText("So far: " + " · ".join(parts))
        if event.eta_seconds is not None and event.phase in (Phase.SENDING, Phase.UNSUBSCRIBING):
            self.eta.setText(f"Time left: {words.duration(event.eta_seconds)}")
        elif event.phase is Phase.FINISHED:
            self.eta.clear()
