"""Step 3, what will happen: choose the list(s) and the action, look the sheet up in Constant
Contact (changing nothing), and see for every row what a run would do, what it costs, and
save that preview."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.lookup import Action
from ccdesk.core.plan import Plan
from ccdesk.gui import dialogs, tasks, words
from ccdesk.gui.models import ListsModel
from ccdesk.gui.pages import Page
from ccdesk.gui.widgets import Banner, CountTile, Note, ProgressStrip, RowTableView, primary

if TYPE_CHECKING:
    from ccdesk.gui.main_window import MainWindow


class PreviewPage(Page):
    """Choose lists and action; preview; export; go to the run."""

    title = "What will happen"

    def __init__(self, app: MainWindow) -> None:
        super().__init__(app)
        self.retry_banner = Banner(kind="info")
        self.retry_banner.hide()
        self.layout_.addWidget(self.retry_banner)

        # -- 1. lists
        lists_box = QGroupBox("1. Which &list should they come off?")
        self.lists_model = ListsModel(self)
        self.lists_view = QListView()
        self.lists_view.setModel(self.lists_model)
        self.lists_view.setAccessibleName("Lists to take them off")
        self.lists_view.setMaximumHeight(160)
        self.lists_note = Note("Loading the account's lists…")
        self.refresh_lists = QPushButton("Refresh")
        self.refresh_lists.setAccessibleName("Refresh the lists")
        box = QVBoxLayout(lists_box)
        note_row = QHBoxLayout()  # what to do first, then the lists
        note_row.addWidget(self.lists_note, 1)
        note_row.addWidget(self.refresh_lists)
        box.addLayout(note_row)
        box.addWidget(self.lists_view)
        box.addStretch(1)
        lists_box.setFocusProxy(self.lists_view)

        # -- 2. action
        action_box = QGroupBox("2. What should happen to them?")
        self.actions = QButtonGroup(self)
        self.action_buttons: dict[str, QRadioButton] = {}
        box = QVBoxLayout(action_box)
        for key, text in (("remove", "&Remove from the list (recommended)"),
                          ("remove-all", "Remove from &all lists"),
                          ("unsubscribe", "&Unsubscribe (permanent)")):
            button = QRadioButton(text)
            button.setAccessibleDescription(words.ACTION_EXPLANATIONS[key])
            self.actions.addButton(button)
            self.action_buttons[key] = button
            box.addWidget(button)
        self.action_note = Banner(kind="info")
        box.addWidget(self.action_note)
        box.addStretch(1)

        # The choices fold into one line once a preview is shown, to give the table room.
        self.choices = QWidget()
        choices = QHBoxLayout(self.choices)
        choices.setContentsMargins(0, 0, 0, 0)
        choices.addWidget(lists_box, 1)
        choices.addWidget(action_box, 1)
        self.layout_.addWidget(self.choices)
        self.chosen = QLabel()
        self.chosen.setAccessibleName("Your choices")
        self.change_choices = QPushButton("&Change the choices")
        folded = QHBoxLayout()
        folded.addWidget(self.chosen, 1)
        folded.addWidget(self.change_choices)
        self.folded = QWidget()
        self.folded.setLayout(folded)
        folded.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self.folded)
        self.folded.hide()

        self.preview_button = primary(QPushButton("&Show what will happen"))
        self.preview_button.setAccessibleName("Preview: show what will happen (changes nothing)")
        self.preview_hint = Note("This looks the members up in Constant Contact. It changes "
                                 "nothing.")
        row = QHBoxLayout()
        row.addWidget(self.preview_button)
        row.addWidget(self.preview_hint, 1)
        self.layout_.addLayout(row)
        self.progress = ProgressStrip("Preview")
        self.progress.hide()
        self.layout_.addWidget(self.progress)

        # -- the result
        self.result = QWidget()
        result = QVBoxLayout(self.result)
        result.setContentsMargins(0, 0, 0, 0)
        self.summary = Banner(kind="info")
        self.summary.setAccessibleName("Summary")
        result.addWidget(self.summary)
        tiles = QHBoxLayout()
        self.tile_change = CountTile("will be removed")
        self.tile_skip = CountTile("skipped: nothing to do")
        self.tile_problem = CountTile("problems in the sheet")
        self.tile_filtered = CountTile("left out by the filter")
        for tile in (self.tile_change, self.tile_skip, self.tile_problem, self.tile_filtered):
            tiles.addWidget(tile)
        result.addLayout(tiles)
        self.cost = Note()
        self.cost.setAccessibleName("Cost in Constant Contact requests")
        result.addWidget(self.cost)
        self.table = RowTableView("Preview rows", hide_columns=(4,))
        result.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.export_button = QPushButton("Sa&ve this preview…")
        self.run_button = primary(QPushButton("Run…"))
        self.run_button.setAccessibleName("Run: make these changes")
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        result.addLayout(buttons)
        self.layout_.addWidget(self.result, 1)
        self.result.hide()
        self.layout_.addWidget(self.filler)

        self.refresh_lists.clicked.connect(self.load_lists)
        self.change_choices.clicked.connect(lambda: self.unfold(focus=True))
        self.lists_model.dataChanged.connect(self._choices_changed)
        self.actions.buttonClicked.connect(self._choices_changed)
        self.preview_button.clicked.connect(self.make_preview)
        self.progress.cancel_clicked.connect(self._cancel)
        self.export_button.clicked.connect(self.export)
        self.run_button.clicked.connect(self.run)
        self._job = None
        self._lists_job = None
        self.lists_loaded = False
        self.plan: Plan | None = None
        action = app.settings.get("state/last_action")
        self.action_buttons.get(action, self.action_buttons["remove"]).setChecked(True)
        self._update_action_note()

    # -- state -------------------------------------------------------------------------------------
    def action(self) -> Action:
        for key, button in self.action_buttons.items():
            if button.isChecked():
                return Action(key)
        return Action.REMOVE

    def set_choices(self, action: str, lists: list[str]) -> None:
        """Choose an action and lists (used by "try the failed ones again")."""
        self.unfold()
        if action in self.action_buttons:
            self.action_buttons[action].setChecked(True)
        self.lists_model.set_checked(lists)
        self._update_action_note()

    def entered(self) -> None:
        if self.app.session is not None and not self.lists_loaded and self._lists_job is None:
            self.load_lists()
        self._update_ready()

    def reset(self) -> None:
        """A new sheet or account: forget the preview."""
        self.plan = None
        self.result.hide()
        self.filler.show()
        self.retry_banner.hide()
        self.unfold()
        self._update_ready()

    def account_changed(self) -> None:
        self.lists_loaded = False
        self.lists_model.set_lists([])
        self.reset()

    def show_retry(self, text: str) -> None:
        self.retry_banner.set_text(text)
        self.retry_banner.show()

    def fold(self) -> None:
        """Show the choices as one line (after a preview)."""
        action = self.action()
        if action is Action.REMOVE:
            lists = _html(", ".join(self.lists_model.checked_names()))
            text = f"You chose: take them off <b>{lists}</b> (remove from the list)."
        else:
            text = f"You chose: <b>{words.ACTION_TITLES[str(action)].lower()}</b>."
        self.chosen.setText(text)
        self.choices.hide()
        self.folded.show()

    def unfold(self, *, focus: bool = False) -> None:
        """Show every choice again."""
        self.folded.hide()
        self.choices.show()
        if focus:
            self.lists_view.setFocus()

    def _update_action_note(self) -> None:
        action = self.action()
        kind = "warning" if action is Action.UNSUBSCRIBE else "info"
        self.action_note.set_text(words.ACTION_EXPLANATIONS[str(action)], kind)
        self.lists_view.setEnabled(action is Action.REMOVE)
        if action is not Action.REMOVE:
            self.lists_note.setText("No list to choose: this acts on every list.")
        elif self.lists_loaded:
            self._lists_hint()

    def _lists_hint(self) -> None:
        if not self.lists_model.rowCount():
            self.lists_note.setText("This account has no lists.")
        else:
            self.lists_note.setText("Tick the list the upgraded members should come off, "
                                    "usually your free-member list.")

    def _choices_changed(self, *args: object) -> None:
        self._update_action_note()
        if self.plan is not None:
            self.summary.set_text("<b>The choices changed.</b> Press “Show what will happen” "
                                  "again to see the new preview.", "warning")
            self.run_button.setEnabled(False)
        self._update_ready()

    def _update_ready(self) -> None:
        ready = self.app.sheet is not None and self.app.session is not None and self._job is None
        if self.action() is Action.REMOVE:
            ready = ready and bool(self.lists_model.checked_names())
        self.preview_button.setEnabled(ready)
        if self.app.sheet is None:
            self.preview_hint.setText("Open a spreadsheet first (step 2).")
        elif self.action() is Action.REMOVE and not self.lists_model.checked_names():
            self.preview_hint.setText("Tick a list first.")
        else:
            self.preview_hint.setText("This looks the members up in Constant Contact. It "
                                      "changes nothing.")

    # -- lists -------------------------------------------------------------------------------------
    def load_lists(self) -> None:
        session = self.app.session
        if session is None:
            return
        self.lists_note.setText("Loading the account's lists…")
        self._lists_job = self.app.start_job("lists", tasks.lists_work(session),
                                             on_done=self._lists_loaded, on_error=self._lists_failed)

    def _lists_loaded(self, lists: list) -> None:
        self._lists_job = None
        self.lists_loaded = True
        remembered = self.app.settings.get("state/last_lists")
        known = {x.name.casefold() for x in lists}
        chosen = [n for n in remembered if n.casefold() in known]
        if not chosen:  # a first-time guess: the free-member list
            chosen = [x.name for x in lists if "free" in x.name.casefold()][:1]
        self.lists_model.set_lists(lists, chosen)
        self._lists_hint()
        self._update_action_note()
        self._update_ready()

    def _lists_failed(self, exc: BaseException) -> None:
        self._lists_job = None
        title, what_to_do, _ = dialogs.error_texts(exc)
        self.lists_note.setText(f"The lists could not be loaded: {title}. {what_to_do}")
        self.app.report_error(exc)

    # -- preview -----------------------------------------------------------------------------------
    def make_preview(self) -> None:
        session, sheet = self.app.session, self.app.sheet
        if session is None or sheet is None or self._job is not None:
            return
        action = self.action()
        lists = self.lists_model.checked_names() if action is Action.REMOVE else []
        self.app.settings.set("state/last_action", str(action))
        if lists:
            self.app.settings.set("state/last_lists", lists)
        self.result.hide()
        self.filler.show()
        self.preview_button.setEnabled(False)
        self.progress.start("Looking the members up in Constant Contact")
        self._job = self.app.start_job(
            "preview", tasks.preview_work(session, sheet, action, lists),
            on_done=self._previewed, on_error=self._failed, on_cancel=self._cancelled,
            on_progress=self._progress)

    def _progress(self, step: tasks.Step) -> None:
        self.progress.step(step.phase, step.done, step.total)

    def _cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _cancelled(self, exc: object) -> None:
        self._job = None
        self.progress.hide()
        self.preview_hint.setText("The preview was cancelled.")
        self._update_ready()

    def _failed(self, exc: BaseException) -> None:
        self._job = None
        self.progress.hide()
        title, what_to_do, _ = dialogs.error_texts(exc)
        self.preview_hint.setText(f"No preview: {title}. {what_to_do}")
        self._update_ready()
        self.app.report_error(exc)

    def _previewed(self, ready: tasks.PreviewReady) -> None:
        self._job = None
        self.progress.hide()
        self.show_plan(ready)
        self._update_ready()
        self.app.plan_ready(ready)

    def show_plan(self, ready: tasks.PreviewReady) -> None:
        plan = self.plan = ready.plan
        counts = ready.table.counts
        action = str(plan.action)
        changes = counts.get(words.CHANGE, 0)
        verb = {"remove": "will be removed", "remove-all": "will be removed from every list",
                "unsubscribe": "will be unsubscribed"}[action]
        self.tile_change.set(changes, verb)
        self.tile_skip.set(counts.get(words.SKIPPED, 0), "skipped: nothing to do")
        self.tile_problem.set(counts.get(words.PROBLEM, 0), "problems in the sheet")
        self.tile_filtered.set(counts.get(words.FILTERED, 0), "left out by the filter")
        self.tile_filtered.setVisible(bool(counts.get(words.FILTERED)))
        self.summary.set_text(f"<b>{_html(plan.summary())}.</b>", "info")
        cost = plan.cost
        text = (f"Looking these members up used {words.plural(cost.lookup_spent, 'request')} "
                f"of today's Constant Contact allowance ({cost.lookup.explanation}). ")
        if changes:
            text += (f"The run needs about {words.plural(cost.run_total, 'more request')}; "
                     f"{cost.quota_left:,} are left today.")
            if cost.run_verify:
                how = ("reading what is left on the list" if cost.check == "by_list"
                       else "reading each changed contact")
                text += (f" That includes {words.plural(cost.run_verify, 'request')} to check "
                         f"the changes afterwards, {how}.")
        refusal = plan.refusal()
        if refusal is not None:
            self.summary.set_text(f"<b>{_html(refusal.title)}.</b> {_html(refusal.what_to_do)}",
                                  "warning")
        elif changes and not cost.fits:
            self.summary.set_text(
                f"<b>{_html(plan.summary())}.</b><br>Not enough of today's Constant Contact "
                f"allowance is left for this run (it needs about {cost.run_total:,}; "
                f"{cost.quota_left:,} are left). Run it after midnight UTC, or split the sheet.",
                "warning")
        if action in ("remove", "remove-all") and changes:
            text += (" Removed contacts stay in your account (Constant Contact still counts "
                     "them); unsubscribed ones are not billed.")
        self.cost.setText(text)
        self.table.set_table(ready.table, after_run=False)
        self.table.set_hidden_columns((4,))
        self.run_button.setText(f"Run: {words.run_headline(action, changes, plan.list_names)}…"
                                if changes else "Nothing to run")
        self.run_button.setEnabled(bool(changes) and cost.fits and refusal is None)
        self.export_button.setEnabled(True)
        self.result.show()
        self.filler.hide()
        self.fold()
        (self.run_button if self.run_button.isEnabled() else self.table.view).setFocus()

    # -- export and run ----------------------------------------------------------------------------
    def export(self) -> None:
        if self.plan is None:
            return
        settings = self.app.settings
        fmt = settings.get("prefs/log_format")
        stem = Path(self.plan.sheet.path).stem
        folder = settings.last_folder or str(Path.home())
        chosen = dialogs.ask_save_file(self.app, "Save the preview",
                                       str(Path(folder) / f"{stem} - preview.{fmt}"), fmt)
        if chosen is None:
            return
        path, fmt = chosen
        settings.set("prefs/log_format", fmt)
        self.app.start_job("export-preview", tasks.export_preview_work(self.plan, path, fmt),
                           on_done=self._exported, on_error=self.app.report_error)

    def _exported(self, path: Path) -> None:
        self.app.say(f"The preview is saved: {path}")
        self.preview_hint.setText(f"The preview is saved in {path}.")

    def run(self) -> None:
        plan = self.plan
        if plan is None:
            return
        changes = len(plan.changes)
        if not dialogs.ConfirmRunDialog.ask(self.app, action=str(plan.action), count=changes,
                                            lists=plan.list_names,
                                            organisation=plan.account.organization_name):
            return
        self.app.start_run(plan)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
