"""Step 4, the run: a determinate progress bar with the phase in words, the counts so far, the
time left, a Stop button, and the rows updating as they finish."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton

from ccdesk.core.journal import RunRecord
from ccdesk.core.phases import Phase
from ccdesk.gui import words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.pages import Page
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import RunView, WindowState
from ccdesk.gui.widgets import Banner, Note, RowTableView, show_focus


def run_fraction(counts: Mapping[str, int]) -> float | None:
    """The share of the run's changes that are done, from the journal's counts (None: nothing
    to change).

    A change sent to Constant Contact but not yet checked counts as half done, so the bar
    always agrees with the counts beside it ("12 removed · 500 sent, not checked yet · …"):
    never 70 % next to "0 removed"."""
    groups = words.result_groups(counts)
    todo = groups["done"] + groups["failed"] + groups["waiting"]
    if not todo:
        return None
    half = counts.get("sent", 0) + counts.get("added", 0)  # a move's row: on the new list only
    return (groups["done"] + groups["failed"] + half / 2) / todo


class TimeLeft:
    """The time left of a run, from how fast its share done grows, held steady.

    The share grows in steps (a batch of 500 is sent at once, then checked at once), so the
    raw estimate swings. What is shown counts down with the clock, and moves to a new estimate
    only when the two differ by more than a quarter. Nothing is shown in the first seconds, or
    before 2 % more of the run is done.
    """

    SETTLE_SECONDS = 3.0
    SETTLE_SHARE = 0.02
    TOLERANCE = 0.25

    def __init__(self) -> None:
        self._start: tuple[float, float] | None = None  # (time, share) when first seen
        self._shown: tuple[float, float] | None = None  # (estimate, time it was made)

    def update(self, share: float, now: float) -> float | None:
        """The time left to show, in seconds (None: not known yet)."""
        if self._start is None:
            self._start = (now, share)
            return None
        if share >= 1:
            return 0.0
        since, first = self._start
        gained, elapsed = share - first, now - since
        if gained < self.SETTLE_SHARE or elapsed < self.SETTLE_SECONDS:
            return self._counted_down(now)
        raw = elapsed / gained * (1 - share)
        current = self._counted_down(now)
        if current is None or abs(raw - current) > self.TOLERANCE * max(current, 10.0):
            current = raw
        self._shown = (current, now)
        return current

    def _counted_down(self, now: float) -> float | None:
        if self._shown is None:
            return None
        estimate, at = self._shown
        return max(0.0, estimate - (now - at))


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
        self.bar.setToolTip("The share of the changes done. A change sent to Constant Contact "
                            "counts as half done until ccdesk has checked it.")
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
        self._time_left = TimeLeft()
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
        if status is not None and not self.what.isVisibleTo(self):
            self.what.setText(_source(status.run))
            self.what.setVisible(bool(self.what.text()))
        if status is not None:
            self.table.refresh()
            self._show_progress(view)
        if view.stopping and view.active and not self.stopping.isVisible():
            self.stopping.set_text(words.stopping_text(status.counts if status else {},
                                                       view.action))
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
        self.what.clear()
        self.what.hide()
        self.phase.setText("Starting…" if view.own else "Looking…")
        self.bar.setValue(0)
        self._time_left = TimeLeft()
        self.counts.clear()
        self.eta.clear()
        self.stopping.hide()
        self.stop_button.setEnabled(True)
        self.table.clear()
        if view.own:
            self.keep_open.setText(KEEP_OPEN_DEMO if self.state.demo else KEEP_OPEN)
            show_focus(self.stop_button)
        else:
            who = view.who or "another ccdesk"
            self.keep_open.setText(f"{who[0].upper()}{who[1:]} is carrying this run out; this "
                                   "window watches it. Closing the window changes nothing: the "
                                   "run goes on.")

    def _show_progress(self, view: RunView) -> None:
        status = view.status
        assert status is not None
        progress = status.progress
        counts = status.counts
        share = run_fraction(counts)
        if share is not None:
            self.bar.setValue(max(self.bar.value(), int(100 * share)) if not view.ended
                              else int(100 * share))
        if progress is not None:
            phase = Phase(progress.phase)
            text = words.PHASES[phase]
            finished = phase is Phase.FINISHED
            # No "18 of 5,894" here: a resumed run counts this attempt only, the counts below
            # count the whole run, and the two would disagree.
            if phase is Phase.WAITING:
                text += " (Constant Contact works through the changes on its side)"
            if not view.ended:
                self.phase.setText(text + "…" if not finished else "Finished.")
        left = None if share is None or view.ended else self._time_left.update(share,
                                                                               time.monotonic())
        if view.ended or share is None:
            self.eta.clear()
        else:
            self.eta.setText("Time left: " + (words.duration(left) if left is not None
                                              else "working it out"))
        groups = words.result_groups(counts)
        sent = counts.get("sent", 0)  # at Constant Contact, not read back yet
        added = counts.get("added", 0)  # a move's rows on their new list, not off the old yet
        parts = [f"{groups['done']:,} {words.done_word(view.action)}"]
        if added:
            parts.append(f"{added:,} on the new list, not off the old one yet")
        if sent:
            parts.append(f"{sent:,} sent, not checked yet")
        parts += [f"{groups['failed']:,} failed",
                  f"{groups['waiting'] - sent - added:,} not done yet"]
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


def _source(run: RunRecord) -> str:
    """Where a run's members come from and which lists it changes, in a sentence."""
    parts = []
    origin = words.source_list_name(run) or (Path(run.file_path).name if run.file_path else "")
    if origin:
        parts.append(f"The members of {origin}")
    names = [x.get("name", "") for x in run.lists if x.get("name")]
    if names and run.action == "remove":
        parts.append(("off " if parts else "Off ") + ", ".join(names))
    elif names and run.action == "move":
        parts.append(("from " if parts else "From ") + words.move_words(run))
    elif names and run.action == "undo":
        parts.append(("back onto " if parts else "Back onto ") + ", ".join(names))
    return " ".join(parts) + "." if parts else ""
