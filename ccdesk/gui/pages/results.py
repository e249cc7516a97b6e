"""Step 5, the results of a run: what was done, checked, skipped and failed; save the log;
undo a removal; try the failed ones again; resume a run that stopped."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import QApplication, QHBoxLayout, QPushButton

from ccdesk.cc.limits import DEFAULT_LIMITS
from ccdesk.core.export import documents_folder, suggested_log_name
from ccdesk.gui import dialogs, tasks, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.pages import Page
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import WindowState
from ccdesk.gui.widgets import Banner, CountTile, Note, RowTableView, show_focus


class ResultsPage(Page):
    """One run, from the journal."""

    title = "Results"
    resume_wanted = Signal(str, str, str)  # run id, action, headline
    undo_wanted = Signal(str, str)  # run id, headline
    watch_wanted = Signal(str, str, str, str)  # run id, action, headline, who carries it out
    retry_wanted = Signal(str)  # run id
    shown = Signal(str)  # run id: its results are on show

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__(state, jobs, settings)
        self.about = Note()
        self.about.setAccessibleName("Which run")
        self.layout_.addWidget(self.about)
        self.outcome = Banner(kind="ok")
        self.outcome.setAccessibleName("How the run ended")
        self.layout_.addWidget(self.outcome)
        tiles = QHBoxLayout()
        self.tile_done = CountTile("done")
        self.tile_verified = CountTile("checked in Constant Contact")
        self.tile_skipped = CountTile("skipped: nothing to do")
        self.tile_problems = CountTile("problems in the sheet")
        self.tile_failed = CountTile("failed")
        self.tile_waiting = CountTile("not done yet")
        for tile in (self.tile_done, self.tile_verified, self.tile_skipped, self.tile_problems,
                     self.tile_failed, self.tile_waiting):
            tiles.addWidget(tile)
        self.layout_.addLayout(tiles)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("&Save log…")
        self.save_button.setAccessibleName("Save the results log")
        self.save_button.setToolTip("Save the log: every row of the spreadsheet and what happened to it.")
        self.resume_button = QPushButton("&Resume this run")
        self.resume_button.setToolTip("Carry on with the rows not done yet. Nothing is sent twice.")
        self.watch_button = QPushButton("Wa&tch it")
        self.watch_button.setToolTip("Another ccdesk is carrying this run out: follow it here.")
        self.watch_button.hide()
        self.retry_button = QPushButton("Tr&y the failed ones again")
        self.retry_button.setToolTip("Prepare a new preview with only the rows that failed.")
        self.undo_button = QPushButton("&Undo this run…")
        self.undo_button.setToolTip("Put exactly the contacts this run removed back on their lists.")
        self.new_button = QPushButton("Start a &new job")
        for b in (self.save_button, self.resume_button, self.watch_button, self.retry_button,
                  self.undo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        self.layout_.addLayout(buttons)
        self.note = Note()
        self.note.setAccessibleName("About undo and retry")
        self.layout_.addWidget(self.note)
        saved = QHBoxLayout()
        self.saved_note = Note()
        self.saved_note.setAccessibleName("Where the log is saved")
        self.open_log_button = QPushButton("&Open the log")
        self.show_log_button = QPushButton("Show in fol&der")
        saved.addWidget(self.saved_note, 1)
        saved.addWidget(self.open_log_button)
        saved.addWidget(self.show_log_button)
        self.layout_.addLayout(saved)
        for w in (self.saved_note, self.open_log_button, self.show_log_button):
            w.hide()
        self.saved_path: Path | None = None
        self.open_log_button.clicked.connect(
            lambda: self.saved_path and _open(self.saved_path))
        self.show_log_button.clicked.connect(
            lambda: self.saved_path and _open(self.saved_path.parent))
        self.table = RowTableView("Result rows", after_run=True)
        self.layout_.addWidget(self.table, 1)
        self.save_button.clicked.connect(self.save_log)
        self.add_shortcut(QKeySequence.StandardKey.Save, self.save_button)
        self.resume_button.clicked.connect(self.resume)
        self.watch_button.clicked.connect(self._watch)
        self.retry_button.clicked.connect(self.retry_failed)
        self.undo_button.clicked.connect(self.undo)
        self.new_button.clicked.connect(lambda: self.go_wanted.emit("sheet"))
        self.details: tasks.RunDetails | None = None
        self.run_id = ""
        self._busy = False

    # -- loading ---------------------------------------------------------------------------------
    def load(self, run_id: str) -> None:
        """Show a run (read from the journal on a worker thread)."""
        session = self.state.session
        if session is None:
            return
        self.run_id = run_id
        self.about.setText("Reading the run's record…")
        for b in (self.save_button, self.resume_button, self.retry_button, self.undo_button):
            b.setEnabled(False)
        self.jobs.thread("results", tasks.results_work(session, run_id),
                         on_done=self.show_details, on_error=self.error.emit)

    def show_details(self, details: tasks.RunDetails) -> None:
        if self.details is None or self.details.run.run_id != details.run.run_id:
            self.saved_path = None  # another run: its log is not saved yet
            for w in (self.saved_note, self.open_log_button, self.show_log_button):
                w.hide()
        self.details = details
        run, g = details.run, details.groups
        resumable = self.state.resumable(run, details.holder)
        watchable = self.state.watchable(run, details.holder)
        action = run.action
        lists = ", ".join(run.list_names) or "every list"
        file = words.run_source(run)
        self.heading.setText("Results: " + words.ACTION_TITLES.get(action, action))
        self.about.setText(f"Run of {words.when(run.created_at)} · {file} · "
                           f"{run.account.get('organization_name', '')} · "
                           f"{words.plural(run.api_calls, 'Constant Contact request')}")
        done = words.done_word(action)
        self.tile_done.set(g["done"], done)
        self.tile_verified.set(details.result.verified, "checked in Constant Contact")
        self.tile_skipped.set(g["skipped"], "skipped: nothing to do")
        self.tile_problems.set(g["problems"], "problems in the sheet")
        self.tile_problems.setVisible(bool(g["problems"]))
        self.tile_failed.set(g["failed"], "failed")
        self.tile_waiting.set(g["waiting"], "not done yet")
        self.tile_waiting.setVisible(bool(g["waiting"]))
        where = {"remove": f" from {lists}", "undo": f" on {lists}",
                 "move": f" from {words.move_words(run)}",
                 "remove-all": " from every list they were on"}.get(action, "")
        if run.state == "finished":
            text = f"<b>Finished: {words.plural(g['done'], 'contact')} {done}{where}"
            text += " and checked in Constant Contact.</b>" if details.result.verified else ".</b>"
            if g["failed"]:
                text += (f" {words.plural(g['failed'], 'contact')} failed: see why in the table "
                         "(Show: Failed).")
            self.outcome.set_text(text, "warning" if g["failed"] else "ok")
        elif run.state == "cancelled":
            left = run.message.removeprefix("Stopped by you.").strip()
            self.outcome.set_text(
                f"<b>Stopped by you.</b> {words.plural(g['done'], 'contact')} {done}"
                f"{where}. {left} Resume the run to finish it.", "info")
        else:
            reason = run.message or "It stopped before the end"
            if "allowance" in reason:
                limits = self.state.account.limits if self.state.account else DEFAULT_LIMITS
                when = time.strftime("%H:%M", time.localtime(limits.next_reset(time.time())))
                advice = (f"Resume it after {limits.reset_words()} ({when} your time), here or "
                          "from History.")
            elif watchable:
                advice = "Watch it here, or open it again later."
            elif run.state == "running":
                who = details.owner.describe() if details.owner is not None else "ccdesk"
                advice = (f"{who[0].upper()}{who[1:]} ended before the run did: it was closed, "
                          "or it crashed. Resume it to finish.")
            else:
                advice = "Resume it once the problem is solved (for example, when the internet "\
                         "connection is back)."
            headline = (f"Paused: {_html(reason)}." if run.state != "running" else
                        "Not finished: it is being carried out elsewhere." if watchable else
                        "Not finished.")
            sent = details.result.counts.get("sent", 0)
            waiting = (f"{sent:,} sent and not checked yet, {g['waiting'] - sent:,} not sent"
                       if sent else f"{g['waiting']:,} not done yet")
            self.outcome.set_text(
                f"<b>{headline}</b> {words.plural(g['done'], 'contact')} {done}; {waiting}. "
                f"Nothing is lost. {advice}", "warning")
        self.table.set_source(details.journal_path, run.run_id, after_run=True)
        self.table.set_hidden_columns(())
        self.save_button.setEnabled(True)
        self.resume_button.setVisible((run.unfinished or run.state == "cancelled") and not watchable)
        self.resume_button.setEnabled(resumable and self.state.session is not None)
        self.resume_button.setToolTip(self.state.not_resumable_reason(run, details.holder)
                                      or "Carry on with this run where it stopped.")
        self.watch_button.setVisible(watchable)
        can_undo = (action in ("remove", "remove-all", "move") and details.undoable > 0
                    and details.undone_by is None and run.state == "finished")
        self.undo_button.setEnabled(can_undo)
        self.retry_button.setEnabled(g["failed"] > 0 and action != "undo")
        notes = []
        if action == "unsubscribe":
            notes.append("An unsubscribe cannot be undone: only the person can subscribe again.")
        elif details.undone_by:
            notes.append(f"This run was undone: its changes were put back by the undo of "
                         f"{words.when(details.undone_by.created_at)}.")
        elif action == "undo" and details.original is not None:
            notes.append(f"This put back what the run of {words.when(details.original.created_at)}"
                         f" {words.done_word(details.original.action)}.")
        elif can_undo and action == "move":
            notes.append("Undo puts exactly these contacts back on the lists they were taken off, "
                         f"and takes off {words.target_name(run)} only those this run put there.")
        elif can_undo:
            notes.append("Undo puts exactly these contacts back on the lists they were taken off.")
        if g["failed"] and action != "undo":
            notes.append("“Try the failed ones again” looks up only the failed addresses "
                         "afresh and shows a new preview before anything is done.")
        if not resumable and (run.unfinished or run.state == "cancelled"):
            notes.append(self.state.not_resumable_reason(run, details.holder))
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))
        focus = QApplication.focusWidget()
        if self.isVisible() and (focus is None or not focus.isVisible() or not focus.isEnabled()):
            show_focus(self.save_button)
        self.shown.emit(run.run_id)

    # -- actions ----------------------------------------------------------------------------------
    def _watch(self) -> None:
        details = self.details
        if details is not None and details.holder is not None:
            run = details.run
            self.watch_wanted.emit(run.run_id, run.action, words.run_title(run),
                                   details.holder.describe())

    def save_log(self) -> None:
        details, session = self.details, self.state.session
        if details is None or session is None:
            return
        settings = self.settings
        fmt = settings.get("prefs/log_format")
        folder = settings.get("state/last_log_folder") or str(documents_folder())
        suggested = Path(folder) / suggested_log_name(details.run, fmt)
        chosen = dialogs.ask_save_file(self, "Save the results log", str(suggested), fmt)
        if chosen is None:
            return
        path, fmt = chosen
        settings.set("prefs/log_format", fmt)
        settings.set("state/last_log_folder", str(Path(path).parent))
        self.jobs.thread("export-log", tasks.export_log_work(session, details.run.run_id, path, fmt),
                         on_done=self._saved, on_error=self.error.emit)

    def _saved(self, path: Path) -> None:
        self.said.emit(f"The log is saved: {path}")
        self.saved_path = Path(path)
        self.saved_note.setText(f"The log is saved: {path}")
        for w in (self.saved_note, self.open_log_button, self.show_log_button):
            w.show()
        show_focus(self.open_log_button)

    def resume(self) -> None:
        if self.details is not None:
            run = self.details.run
            self.resume_wanted.emit(run.run_id, run.action, "Resuming: " + words.run_title(run))

    def undo(self) -> None:
        details = self.details
        if details is None:
            return
        count = details.undoable
        lists = ", ".join(details.run.list_names) or "their lists"
        if dialogs.confirm_undo(self, count, lists, words.target_name(details.run)):
            self.undo_wanted.emit(details.run.run_id, words.run_headline("undo", count, lists))

    def retry_failed(self) -> None:
        if self.details is not None:
            self.retry_wanted.emit(self.details.run.run_id)


def _open(path: Path) -> None:
    """Open a file or a folder with the program the system chooses."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
