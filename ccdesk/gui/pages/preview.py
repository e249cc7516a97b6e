"""Step 3, what will happen: choose the list(s) and the action, look the sheet up in Constant
Contact (changing nothing), and see for every row what a run would do, what it costs, and
save that preview."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.cc.limits import DEFAULT_LIMITS
from ccdesk.core.journal import RunRecord
from ccdesk.core.lookup import Action
from ccdesk.core.phases import Phase
from ccdesk.engine.wire import PreviewInfo
from ccdesk.gui import dialogs, tasks, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.models import ListsModel
from ccdesk.gui.pages import Page
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import RetryOf, WindowState
from ccdesk.gui.widgets import (
    Banner,
    CountTile,
    Note,
    ProgressStrip,
    RowTableView,
    primary,
    show_focus,
)


class PreviewPage(Page):
    """Choose lists and action; preview; export; go to the run."""

    title = "What will happen"
    preview_wanted = Signal(str, list, str)  # action, list names, the list a move puts them on
    cancel_wanted = Signal()
    run_wanted = Signal(str)  # the run's headline

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__(state, jobs, settings)
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
        self.refresh_lists = QPushButton("Refresh the lis&ts")
        self.refresh_lists.setAccessibleName("Refresh the lists")
        self.refresh_lists.setToolTip("Read the account's lists from Constant Contact again.")
        box = QVBoxLayout(lists_box)
        note_row = QHBoxLayout()  # what to do first, then the lists
        note_row.addWidget(self.lists_note, 1)
        note_row.addWidget(self.refresh_lists)
        box.addLayout(note_row)
        box.addWidget(self.lists_view)
        box.addStretch(1)
        lists_box.setFocusProxy(self.lists_view)
        QWidget.setTabOrder(self.lists_view, self.refresh_lists)  # Alt+L: the lists first

        # -- 2. action
        action_box = QGroupBox("2. What should happen to them?")
        self.actions = QButtonGroup(self)
        self.action_buttons: dict[str, QRadioButton] = {}
        box = QVBoxLayout(action_box)
        for key, text in (("remove", "R&emove from the list (recommended)"),
                          ("remove-all", "Remove from &all lists"),
                          ("unsubscribe", "&Unsubscribe (permanent)")):
            button = QRadioButton(text)
            button.setAccessibleDescription(words.ACTION_EXPLANATIONS[key])
            button.setToolTip(words.ACTION_EXPLANATIONS[key])
            self.actions.addButton(button)
            self.action_buttons[key] = button
            box.addWidget(button)
        # The fourth choice: a move, with the list to move them to beside it.
        move = QRadioButton("M&ove to another list:")
        move.setAccessibleDescription(words.ACTION_EXPLANATIONS["move"])
        move.setToolTip(words.ACTION_EXPLANATIONS["move"])
        self.actions.addButton(move)
        self.action_buttons["move"] = move
        self.target = QComboBox()
        self.target.setAccessibleName("The list to move them to")
        self.target.setToolTip("The list they are put on, for example Sustainers. They are "
                               "taken off the list(s) ticked on the left.")
        self.target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        move_row = QHBoxLayout()
        move_row.addWidget(move)
        move_row.addWidget(self.target, 1)
        box.addLayout(move_row)
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
        self.change_choices.setToolTip("Show the lists and the action again; the preview is made again.")
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
        self.preview_button.setToolTip("Look the members up and show what a run would do. Changes nothing.")
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
        self.export_button = QPushButton("Save this &preview…")
        self.export_button.setToolTip("Save this table as a spreadsheet (Excel or CSV) to check it.")
        self.run_button = primary(QPushButton("&Run…"))
        self.run_button.setAccessibleName("Run: make these changes")
        self.run_button.setToolTip("Make these changes in Constant Contact (you confirm first).")
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        result.addLayout(buttons)
        self.layout_.addWidget(self.result, 1)
        self.result.hide()
        self.layout_.addWidget(self.filler)
        self.add_shortcut("Ctrl+R", self.run_button)

        self.refresh_lists.clicked.connect(self.load_lists)
        self.change_choices.clicked.connect(lambda: self.unfold(focus=True))
        self.lists_model.dataChanged.connect(self._choices_changed)
        self.actions.buttonClicked.connect(self._choices_changed)
        self.target.currentIndexChanged.connect(self._choices_changed)
        self.preview_button.clicked.connect(self.make_preview)
        self.progress.cancel_clicked.connect(self.cancel_wanted)
        self.export_button.clicked.connect(self.export)
        self.run_button.clicked.connect(self.run)
        self._busy = False
        self._note = ""
        self._account_key: tuple[int, object] | None = None  # the account the lists are of
        self._lists_job = None
        self.lists_loaded = False
        self._retry_waiting: RunRecord | None = None  # "try again": previewed once lists load
        self.plan: PreviewInfo | None = None
        # Every session starts on the recommended, undoable action: a permanent one is never
        # remembered (and neither is the other: one rule is easier to trust).
        self.action_buttons["remove"].setChecked(True)
        self._update_action_note()
        state.session_changed.connect(lambda session: self.account_changed())
        state.account_changed.connect(lambda info: self.account_changed())
        state.sheet_changed.connect(lambda view: self.reset())
        state.preview_changed.connect(self._preview_changed)
        state.retry_changed.connect(self._retry)
        jobs.previewing.connect(self._progress)
        jobs.preview_failed.connect(self._failed)
        jobs.preview_cancelled.connect(self._cancelled)
        jobs.run_ended.connect(self._run_ended)

    # -- state -------------------------------------------------------------------------------------
    def action(self) -> Action:
        for key, button in self.action_buttons.items():
            if button.isChecked():
                return Action(key)
        return Action.REMOVE

    def target_name(self) -> str:
        """The list a move puts them on ("" when none can be chosen)."""
        return self.target.currentText() if self.target.count() else ""

    def set_choices(self, action: str, lists: list[str], to: str = "") -> None:
        """Choose an action, lists and a move's target (used by "try the failed ones again")."""
        self.unfold()
        if action in self.action_buttons:
            self.action_buttons[action].setChecked(True)
        self.lists_model.set_checked(lists)
        if to and self.target.findText(to) >= 0:
            self.target.setCurrentIndex(self.target.findText(to))
        self._update_action_note()

    def default_button(self) -> QPushButton | None:
        if self.result.isVisible() and self.run_button.isEnabled():
            return self.run_button
        return self.preview_button

    def entered(self) -> None:
        if self.state.session is not None and not self.lists_loaded and self._lists_job is None:
            self.load_lists()
        self._update_ready()

    def reset(self) -> None:
        """A new sheet or account: forget the preview."""
        self.plan = None
        self._busy = False
        self._note = ""
        self.result.hide()
        self.filler.show()
        self.retry_banner.hide()
        self.unfold()
        self._update_ready()

    def account_changed(self) -> None:
        info = self.state.account
        key = (id(self.state.session), info.account if info else None)
        if key == self._account_key:
            return
        self._account_key = key
        self.lists_loaded = False
        self.lists_model.set_lists([])
        self.reset()

    def fold(self) -> None:
        """Show the choices as one line (after a preview)."""
        action = self.action()
        lists = _html(", ".join(self.lists_model.checked_names()))
        if action is Action.REMOVE:
            text = f"You chose: take them off <b>{lists}</b> (remove from the list)."
        elif action is Action.MOVE:
            text = (f"You chose: move them from <b>{lists}</b> to "
                    f"<b>{_html(self.target_name())}</b>.")
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
            show_focus(self.lists_view)

    def _update_action_note(self) -> None:
        action = self.action()
        kind = "warning" if action is Action.UNSUBSCRIBE else "info"
        self.action_note.set_text(words.ACTION_EXPLANATIONS[str(action)], kind)
        self.lists_view.setEnabled(action.on_chosen_lists)
        self.target.setEnabled(action is Action.MOVE)
        if not action.on_chosen_lists:
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
        has_rows = self.state.sheet is not None or self.state.retry is not None
        ready = has_rows and self.state.session is not None and not self._busy
        action, ticked = self.action(), self.lists_model.checked_names()
        clash = action is Action.MOVE and self.target_name() in ticked
        if action.on_chosen_lists:
            ready = ready and bool(ticked)
        if action is Action.MOVE:
            ready = ready and bool(self.target_name()) and not clash
        self.preview_button.setEnabled(ready)
        if not has_rows:
            self.preview_hint.setText("Open a spreadsheet first (step 2).")
        elif action.on_chosen_lists and not ticked:
            self.preview_hint.setText("Tick a list first.")
        elif action is Action.MOVE and not self.target_name():
            self.preview_hint.setText("This account has no other list to move them to.")
        elif clash:
            self.preview_hint.setText(f"They cannot be moved to {self.target_name()}, the list "
                                      "they leave: choose another list to move them to.")
        else:
            self.preview_hint.setText(self._note or "This looks the members up in Constant "
                                      "Contact. It changes nothing.")

    def _say(self, note: str) -> None:
        """A note beside the preview button that stays until the next preview."""
        self._note = note
        self.preview_hint.setText(note)

    # -- lists -------------------------------------------------------------------------------------
    def load_lists(self) -> None:
        session = self.state.session
        if session is None:
            return
        self.lists_note.setText("Loading the account's lists…")
        self._lists_job = self.jobs.thread("lists", tasks.lists_work(session),
                                           on_done=self._lists_loaded, on_error=self._lists_failed)

    def _lists_loaded(self, lists: list) -> None:
        self._lists_job = None
        self.lists_loaded = True
        remembered = self.settings.get("state/last_lists")
        known = {x.name.casefold() for x in lists}
        chosen = [n for n in remembered if n.casefold() in known]
        if not chosen:  # a first-time guess: the free-member list
            chosen = [x.name for x in lists if "free" in x.name.casefold()][:1]
        self.lists_model.set_lists(lists, chosen)
        self._fill_targets([x.name for x in lists], chosen)
        self._lists_hint()
        self._update_action_note()
        self._update_ready()
        if self._retry_waiting is not None and self.state.retry is not None:
            self._preview_retry(self._retry_waiting)
        self._retry_waiting = None

    def _fill_targets(self, names: list[str], chosen: list[str]) -> None:
        """The lists a move may put them on; first choice: the last one used, else a list of
        paying members (a name with "sustain", "paid" or "member" but not "free"), else the
        first list not ticked."""
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(names)
        last = self.settings.get("state/last_target") or ""
        guesses = [n for n in names if n.casefold() == last.casefold()]
        guesses += [n for n in names if n not in chosen and "free" not in n.casefold()
                    and any(w in n.casefold() for w in ("sustain", "paid", "paying"))]
        guesses += [n for n in names if n not in chosen]
        if guesses:
            self.target.setCurrentIndex(names.index(guesses[0]))
        self.target.blockSignals(False)

    def _lists_failed(self, exc: BaseException) -> None:
        self._lists_job = None
        self._retry_waiting = None
        title, what_to_do, _ = dialogs.error_texts(exc)
        self.lists_note.setText(f"The lists could not be loaded: {title}. {what_to_do}")
        self.error.emit(exc)

    # -- preview -----------------------------------------------------------------------------------
    def make_preview(self) -> None:
        if self.state.session is None or self._busy:
            return
        if self.state.sheet is None and self.state.retry is None:
            return
        action = self.action()
        lists = self.lists_model.checked_names() if action.on_chosen_lists else []
        to = self.target_name() if action is Action.MOVE else ""
        if lists:
            self.settings.set("state/last_lists", lists)
        if to:
            self.settings.set("state/last_target", to)
        self.result.hide()
        self.filler.show()
        self._busy = True
        self._note = ""
        self._update_ready()
        self.progress.start("Looking the members up in Constant Contact")
        self.preview_wanted.emit(str(action), lists, to)

    def _progress(self, phase: Phase, done: int, total: int) -> None:
        self.progress.step(words.PHASES[phase], done, total)

    def _cancelled(self) -> None:
        self._busy = False
        self.progress.hide()
        self.preview_hint.setText("The preview was cancelled.")
        self._update_ready()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.progress.hide()
        title, what_to_do, _ = dialogs.error_texts(exc)
        self.preview_hint.setText(f"No preview: {title}. {what_to_do}")
        self._update_ready()
        self.error.emit(exc)

    def _run_ended(self, run_id: str, how: str) -> None:
        self.lists_loaded = False  # their sizes changed: read again when the page is shown
        if self.isVisible():
            self.load_lists()
        view = self.state.run
        if view is not None and view.refused:
            title = getattr(view.error, "title", "it was refused")
            self._say(f"The run did not start ({title}): nothing was changed. Show what will "
                      "happen again, then run it.")

    def _retry(self, retry: RetryOf | None) -> None:
        """"Try the failed ones again": preview only the addresses that failed in a run."""
        if retry is None:
            self._retry_waiting = None
            self.retry_banner.hide()
            return
        run = retry.run
        self.reset()
        self.retry_banner.set_text(
            f"<b>Trying again only the {words.plural(retry.failed, 'address', 'addresses')} "
            f"that failed</b> in the run of {words.when(run.created_at)}. They are looked "
            "up afresh; check the preview, then run it.")
        self.retry_banner.show()
        self.go_wanted.emit("preview")
        if self.lists_loaded:
            self._preview_retry(run)
            return
        # The lists (and a move's targets) are not there yet (a window that has not shown this
        # page, or a run just ended): its choices could not be ticked, so wait for them.
        self._retry_waiting = run
        if self._lists_job is None:
            self.load_lists()

    def _preview_retry(self, run: RunRecord) -> None:
        self._retry_waiting = None
        self.set_choices(run.action, run.list_names, words.target_name(run))
        self.make_preview()

    def _preview_changed(self, info: PreviewInfo | None) -> None:
        if info is None:
            if self.plan is not None:
                self.reset()
                if self.state.running:  # it is being carried out
                    self._say("The last preview was sent to be run (see Run, then Results). To "
                              "run the sheet again, show what will happen again: it is looked "
                              "up afresh.")
            self.plan = None
            return
        self._busy = False
        self.progress.hide()
        self.show_plan(info)
        self._update_ready()

    def show_plan(self, info: PreviewInfo) -> None:
        self.plan = info
        plan = info.plan
        session = self.state.session
        assert session is not None
        self.table.set_source(session.journal_path, info.run_id, after_run=False,
                              with_states=False)
        counts: dict[str, int] = {}
        for outcome, n in info.counts.items():
            cat = words.category(outcome)
            counts[cat] = counts.get(cat, 0) + n
        action = str(plan.action)
        changes = counts.get(words.CHANGE, 0)
        verb = {"remove": "will be removed", "remove-all": "will be removed from every list",
                "unsubscribe": "will be unsubscribed", "move": "will be moved"}[action]
        self.tile_change.set(changes, verb)
        self.tile_skip.set(counts.get(words.SKIPPED, 0), "skipped: nothing to do")
        self.tile_problem.set(counts.get(words.PROBLEM, 0), "problems in the sheet")
        self.tile_filtered.set(counts.get(words.FILTERED, 0), "left out by the filter")
        self.tile_filtered.setVisible(bool(counts.get(words.FILTERED)))
        self.summary.set_text(f"<b>{_html(info.summary)}.</b>", "info")
        cost = plan.cost
        text = (f"Looking these members up used {words.plural(cost.lookup_spent, 'request')} "
                f"of today's Constant Contact allowance ({cost.lookup.explanation}). ")
        if changes:
            text += (f"The run needs about {words.plural(cost.run_total, 'more request')}; "
                     f"{cost.quota_left:,} are left today.")
            if cost.run_verify:
                how = ("reading what is left on the list" if cost.check == "by_list"
                       else "reading each changed contact")
                if cost.add_check is not None:
                    how = "first that they are on the new list, then off the old one"
                text += (f" That includes {words.plural(cost.run_verify, 'request')} to check "
                         f"the changes afterwards, {how}.")
        refusal = info.refusal
        if refusal is not None:
            self.summary.set_text(f"<b>{_html(refusal.title)}.</b> {_html(refusal.what_to_do)}",
                                  "warning")
        elif changes and not cost.fits:
            reset = (self.state.account.limits if self.state.account else DEFAULT_LIMITS
                     ).reset_words()
            self.summary.set_text(
                f"<b>{_html(info.summary)}.</b><br>Not enough of today's Constant Contact "
                f"allowance is left for this run (it needs about {cost.run_total:,}; "
                f"{cost.quota_left:,} are left). Run it after {reset}, or split the sheet.",
                "warning")
        if action in ("remove", "remove-all") and changes:
            text += (" Removed contacts stay in your account (Constant Contact still counts "
                     "them); unsubscribed ones are not billed.")
        short = f"The look-up used {words.plural(cost.lookup_spent, 'request')}"
        short += (f"; the run needs about {cost.run_total:,} more of the {cost.quota_left:,} "
                  "left today." if changes else ".")
        self.cost.set_folding(_html(text), _html(short))
        self.table.set_hidden_columns((4,))
        to = plan.target.name if plan.target else ""
        self.run_button.setText(f"&Run: {words.run_headline(action, changes, plan.list_names, to)}…"
                                if changes else "Nothing to run")
        self.run_button.setEnabled(bool(changes) and cost.fits and refusal is None)
        self.export_button.setEnabled(True)
        self.result.show()
        self.filler.hide()
        self.fold()
        show_focus(self.run_button if self.run_button.isEnabled() else self.table.view)

    # -- export and run ----------------------------------------------------------------------------
    def export(self) -> None:
        info, session = self.plan, self.state.session
        if info is None or session is None:
            return
        settings = self.settings
        fmt = settings.get("prefs/log_format")
        stem = (info.plan.sheet.sheet if info.plan.sheet.from_list
                else Path(info.plan.sheet.path).stem)
        folder = settings.last_folder or str(Path.home())
        chosen = dialogs.ask_save_file(self, "Save the preview",
                                       str(Path(folder) / f"{stem} - preview.{fmt}"), fmt)
        if chosen is None:
            return
        path, fmt = chosen
        settings.set("prefs/log_format", fmt)
        self.jobs.thread("export-preview",
                         tasks.export_preview_work(session, info.run_id, path, fmt),
                         on_done=self._exported, on_error=self.error.emit)

    def _exported(self, path: Path) -> None:
        self.said.emit(f"The preview is saved: {path}")
        self.preview_hint.setText(f"The preview is saved in {path}.")

    def run(self) -> None:
        info = self.plan
        if info is None:
            return
        plan = info.plan
        to = plan.target.name if plan.target else ""
        if not dialogs.ConfirmRunDialog.ask(self, action=str(plan.action), count=info.changes,
                                            lists=plan.list_names, to=to,
                                            organisation=plan.account.organization_name):
            return
        self.run_wanted.emit(words.run_headline(str(plan.action), info.changes, plan.list_names,
                                                to))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
