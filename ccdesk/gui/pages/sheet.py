"""Step 2, the spreadsheet: open it (dialog or drag and drop), check what ccdesk found — the
sheet, the heading row, the email column, an optional filter — against the first rows of the
sheet, and see the rows with problems."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from ccdesk.core.formats import column_index, column_letter
from ccdesk.core.pasted import is_pasted
from ccdesk.core.sheet import ImportOptions, MemberSheet, SheetChoices
from ccdesk.errors import CcdeskError
from ccdesk.gui import dialogs, palette, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.models import SheetGridModel
from ccdesk.gui.pages import Page, source
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import SheetView, WindowState
from ccdesk.gui.widgets import Banner, Note, ProgressStrip, RowTableView, primary, show_focus

NO_FILTER = "(no filter: use every row)"


class SheetPage(Page):
    """Open a spreadsheet and check how ccdesk reads it."""

    title = "The spreadsheet of upgraded members"
    open_wanted = Signal(str, object)  # path, ImportOptions or None (a new file)
    cancel_wanted = Signal()

    def __init__(self, state: WindowState, jobs: Jobs, settings: Settings) -> None:
        super().__init__(state, jobs, settings)
        self.intro = Note("Open the spreadsheet (Excel, LibreOffice or CSV) that lists the "
                          "members who upgraded. You can also drag the file onto this window, "
                          "or paste addresses copied from an email or a web page.")
        self.layout_.addWidget(self.intro)
        self.open_button = primary(QPushButton("&Open spreadsheet…"))
        self.open_button.setAccessibleName("Open a spreadsheet")
        self.paste_button = QPushButton("Paste a&ddresses…")
        self.paste_button.setAccessibleName("Paste addresses copied from an email or a web page")
        self.paste_button.setToolTip("Addresses copied from an email or a web page: one a line, "
                                     "or separated by commas or semicolons")
        self.paste_dialog: dialogs.PasteDialog | None = None
        self.sample_button = QPushButton("Open the sam&ple")
        self.sample_button.setAccessibleName("Open the demo's sample spreadsheet")
        self.sample_button.setToolTip("The demo's spreadsheet of members who upgraded.")
        self.list_button = QPushButton(source.USE_LIST)
        self.list_button.setToolTip(source.USE_LIST_TIP)
        self.list_dialog: source.ListSourceDialog | None = None
        self.file_label = QLabel("No spreadsheet is open.")
        self.file_label.setAccessibleName("Open spreadsheet")
        self.file_label.setWordWrap(True)  # a long name wraps rather than being cut off
        row = QHBoxLayout()  # the ways to give the members; what is open, on its own line
        row.addWidget(self.open_button)
        row.addWidget(self.paste_button)
        row.addWidget(self.list_button)
        row.addWidget(self.sample_button)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.file_label)
        self.progress = ProgressStrip("Reading the spreadsheet")
        self.progress.hide()
        self.layout_.addWidget(self.progress)

        # -- what ccdesk found, and the person's corrections
        self.details = QWidget()
        form = QFormLayout(self.details)
        form.setContentsMargins(0, 0, 0, 0)
        self.sheet_choice = QComboBox()
        self.sheet_choice.setAccessibleName("Sheet")
        self.sheet_choice.setToolTip("The sheet (tab) of the workbook that holds the members.")
        form.addRow("Shee&t:", self.sheet_choice)
        self.header_choice = QSpinBox()
        self.header_choice.setRange(0, 1_048_576)
        self.header_choice.setSpecialValueText("no heading row")
        self.header_choice.setAccessibleName("Row of the column headings")
        self.header_choice.setToolTip("The row number, as in Excel, of the row with the column headings.")
        form.addRow("Headings are in &row:", self.header_choice)
        self.column_choice = QComboBox()
        self.column_choice.setAccessibleName("Email column")
        self.column_choice.setToolTip("The column that holds the members' email addresses.")
        form.addRow("&Email column:", self.column_choice)
        self.filter_column = QComboBox()
        self.filter_column.setAccessibleName("Filter: column")
        self.filter_column.setToolTip("Keep only the rows whose value in this column is one of those typed.")
        self.filter_values = QLineEdit()
        self.filter_values.setPlaceholderText("e.g. Sustainer (several: Sustainer, Gold)")
        self.filter_values.setAccessibleName("Filter: values to keep")
        self.filter_values.setToolTip("The values to keep, separated by commas; other rows are left out.")
        self.apply_filter = QPushButton("&Apply")
        self.apply_filter.setAccessibleName("Apply the filter")
        self.apply_filter.setToolTip("Read the sheet again, keeping only the rows that match.")
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filter_column, 1)
        values_label = QLabel("i&s")
        values_label.setBuddy(self.filter_values)
        filter_row.addWidget(values_label)
        filter_row.addWidget(self.filter_values, 2)
        filter_row.addWidget(self.apply_filter)
        filter_label = QLabel("Only rows &where:")
        filter_label.setBuddy(self.filter_column)
        form.addRow(filter_label, filter_row)
        self.layout_.addWidget(self.details)
        self.found = Note(rich=True)
        self.found.setAccessibleName("What ccdesk found")
        self.layout_.addWidget(self.found)

        self.grid_model = SheetGridModel(self)
        self.grid = QTableView()
        self.grid.setModel(self.grid_model)
        self.grid.setAccessibleName("The first rows of the sheet")
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setWordWrap(False)
        self.grid.setTabKeyNavigation(False)
        self.grid.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.grid.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.grid.horizontalHeader().setDefaultSectionSize(150)
        self.layout_.addWidget(self.grid, 2)

        self.counts = Banner()
        self.counts.setAccessibleName("Rows found")
        self.layout_.addWidget(self.counts)
        self.problems_button = QPushButton("See the rows with pro&blems")
        self.problems_button.setCheckable(True)
        self.next_button = primary(QPushButton("&Next: choose what to do →"))
        self.next_button.setAccessibleName("Next: choose what to do")
        buttons = QHBoxLayout()
        buttons.addWidget(self.problems_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        self.layout_.addLayout(buttons)
        self.problems = RowTableView("Rows with problems", hide_columns=(4,))
        self.problems.hide()
        self.layout_.addWidget(self.problems, 2)
        self.layout_.addWidget(self.filler)

        for w in (self.details, self.found, self.grid, self.counts, self.problems_button,
                  self.next_button):
            w.hide()

        self.open_button.clicked.connect(self.choose_file)
        self.paste_button.clicked.connect(self.paste_addresses)
        self.sample_button.clicked.connect(self.open_sample)
        self.list_button.clicked.connect(self.choose_list)
        self.progress.cancel_clicked.connect(self.cancel_wanted)
        self.sheet_choice.activated.connect(self._sheet_chosen)
        self.header_choice.editingFinished.connect(self._header_chosen)
        self.column_choice.activated.connect(self._column_chosen)
        self.filter_column.activated.connect(self._filter_column_chosen)
        self.apply_filter.clicked.connect(self._reread)
        self.filter_values.returnPressed.connect(self._reread)
        self.problems_button.toggled.connect(self.problems.setVisible)
        self.next_button.clicked.connect(lambda: self.go_wanted.emit("preview"))
        self._path: str | None = None
        self._user: dict[str, object] = {}
        self._choices: SheetChoices | None = None  # offered for a file ccdesk could not lay out
        self.setAcceptDrops(False)  # the main window takes the drops
        jobs.reading.connect(lambda stage, fraction: self.progress.step(stage, fraction * 100, 100))
        jobs.read_failed.connect(self._failed)
        jobs.read_cancelled.connect(self._cancelled)
        state.sheet_changed.connect(self._loaded)

    def default_button(self) -> QPushButton | None:
        return self.next_button if self.next_button.isEnabled() else self.open_button

    def entered(self) -> None:
        self.sample_button.setVisible(self.state.demo)
        if self.state.sheet is None:
            show_focus(self.open_button)

    # -- opening ---------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path = dialogs.ask_open_sheet(self, self.settings.last_folder)
        if path:
            self.open(path)

    def choose_list(self) -> None:
        """Offer the account's lists; the one chosen becomes the source (issue 16)."""
        self.list_dialog = source.ListSourceDialog(self, self.state, self.jobs)
        self.list_dialog.chosen.connect(self.jobs.use_list)
        self.list_dialog.open()

    def open_sample(self) -> None:
        from ccdesk.paths import resource

        self.open(str(resource("demo", "upgraded-members.xlsx")))

    def paste_addresses(self) -> None:
        """Ask for pasted addresses (window-modal; they are read when the person says OK)."""
        dialog = dialogs.PasteDialog(self)
        self.paste_dialog = dialog
        dialog.accepted.connect(lambda: self.open_pasted(dialog.pasted()))
        dialog.finished.connect(lambda _: self._paste_closed(dialog))
        dialog.open()

    def _paste_closed(self, dialog: QDialog) -> None:
        if self.paste_dialog is dialog:
            self.paste_dialog = None
        dialog.deleteLater()

    def open_pasted(self, text: str) -> None:
        """Save pasted addresses as a small file in the data folder and read it like a sheet."""
        from ccdesk import engine
        from ccdesk.paths import storage_error

        try:
            path = engine.paste(text)
        except OSError as exc:
            self.error.emit(storage_error(exc))
            return
        except CcdeskError as exc:
            self.error.emit(exc)
            return
        self.open(str(path), remember_folder=False)

    def open(self, path: str, options: ImportOptions | None = None, *,
             remember_folder: bool = True) -> None:
        """Read ``path`` (a new file when ``options`` is None: everything found afresh; its
        folder is where Open starts next time, unless ``remember_folder`` is False)."""
        if options is None:
            self._user = {}
            if remember_folder:
                self.settings.last_folder = str(Path(path).parent)
        self._path = path
        self.progress.start(f"Reading {Path(path).name}")
        self._set_opening(False)
        self.open_wanted.emit(path, options)

    def _set_opening(self, enabled: bool) -> None:
        """Open and Paste are offered (True) or not while a file is being read (False)."""
        self.open_button.setEnabled(enabled)
        self.paste_button.setEnabled(enabled)

    def _cancelled(self) -> None:
        self.progress.hide()
        self._set_opening(True)
        self.file_label.setText("Reading was cancelled.")

    def _failed(self, exc: BaseException) -> None:
        self.progress.hide()
        self._set_opening(True)
        title, what_to_do, _ = dialogs.error_texts(exc)
        failed = Path(self._path or "").name
        shown = self._sheet()
        choices: SheetChoices | None = getattr(exc, "choices", None)
        if choices is not None:  # the person can choose the layout: offer that file's choices
            self.offer_choices(choices, title, what_to_do)
            return
        if shown is not None:  # the sheet on show stays, and the page says so plainly
            self._path = shown.path
            self.file_label.setText(
                f"<b>{_html(failed)} could not be opened.</b> Still showing "
                f"<b>{_html(Path(shown.path).name)}</b> ({words.file_size(shown.size)}).")
            self.found.setText(f"<b>{_html(failed)}: {_html(title)}</b><br>{_html(what_to_do)}"
                               f"<br>Below is still {_html(Path(shown.path).name)}, as read "
                               "before.")
        else:
            self.file_label.setText(f"<b>{_html(failed)} could not be opened.</b>")
            self.found.setText(f"<b>{_html(title)}</b><br>{_html(what_to_do)}")
        self.found.show()
        self.error.emit(exc)

    def _loaded(self, view: SheetView | None) -> None:
        self.progress.hide()
        self._set_opening(True)
        if view is not None:
            self.show_sheet(view)

    def offer_choices(self, choices: SheetChoices, title: str, what_to_do: str) -> None:
        """A file whose sheet, heading row or email column ccdesk could not find: show its
        first rows and its own choices, with no column chosen yet, and nothing to go on with."""
        self._choices = choices
        self._path = choices.path
        name = Path(choices.path).name
        self.file_label.setText(f"<b>{_html(name)}</b>: choose where the addresses are.")
        self.file_label.setToolTip(choices.path)
        self._fill_choices(choices.sheet_names, choices.sheet, choices.header_row,
                           choices.columns)
        self.column_choice.setPlaceholderText("Choose the column with the addresses")
        self.column_choice.setCurrentIndex(-1)
        self.filter_column.setCurrentIndex(0)
        self.filter_values.clear()
        self.filter_values.setEnabled(False)
        self.apply_filter.setEnabled(False)
        first = column_index(choices.columns[0][0]) if choices.columns else 0
        self.grid_model.set_rows(choices.preview_rows, choices.header_row, first_col=first)
        self._fit_grid()
        self.found.setText(
            f"<b>{_html(name)}: {_html(title)}</b><br>{_html(what_to_do)}<br>Choose above the "
            "sheet, the row of the column headings and the column with the email addresses; "
            f"ccdesk then reads {_html(name)} again. Below are its first rows.")
        self.problems.clear()
        for w in (self.counts, self.problems_button, self.problems):
            w.hide()
        self.problems_button.setChecked(False)
        for w in (self.details, self.found, self.grid, self.next_button):
            w.show()
        self.next_button.setEnabled(False)
        self.filler.hide()
        show_focus(self.column_choice if choices.columns else self.header_choice)

    def _fill_choices(self, sheets: list[str], sheet: str, header_row: int | None,
                      columns: list[tuple[str, str]]) -> None:
        """The choices above the rows, for one file: its sheets, heading row and columns."""
        self.sheet_choice.clear()
        self.sheet_choice.addItems(sheets)
        self.sheet_choice.setCurrentText(sheet)
        self.sheet_choice.setEnabled(len(sheets) > 1)
        self.header_choice.blockSignals(True)
        self.header_choice.setValue(header_row or 0)
        self.header_choice.blockSignals(False)
        self.column_choice.clear()
        self.filter_column.clear()
        self.filter_column.addItem(NO_FILTER, None)
        for letter, heading in columns:
            self.column_choice.addItem(f"{letter}: {heading}", letter)
            self.filter_column.addItem(f"{letter}: {heading}", letter)

    def _fit_grid(self) -> None:
        self.grid.resizeColumnsToContents()
        for column in range(self.grid_model.columnCount()):
            self.grid.setColumnWidth(column, min(self.grid.columnWidth(column), 320))

    # -- showing what was found --------------------------------------------------------------------
    def show_sheet(self, view: SheetView) -> None:
        if view.from_list:
            self._choices, self._path = None, None
            source.show_list_source(self, view)
            return
        sheet = view.sheet
        self._choices = None
        self._path = sheet.path
        name = Path(sheet.path).name
        if is_pasted(sheet.path):
            self.file_label.setText(f"Pasted addresses, kept as <b>{_html(name)}</b>")
        else:
            self.file_label.setText(f"<b>{_html(name)}</b> ({words.file_size(sheet.size)})")
        self.file_label.setToolTip(sheet.path)
        first = _first_letter_index(sheet)
        self._fill_choices(sheet.sheet_names, sheet.sheet, sheet.header_row,
                           [(column_letter(first + j), h) for j, h in enumerate(sheet.columns)])
        self.column_choice.setCurrentIndex(max(0, self.column_choice.findData(sheet.email_column_letter)))
        if sheet.filter_column:
            index = next((i for i in range(1, self.filter_column.count())
                          if self.filter_column.itemText(i).endswith(": " + sheet.filter_column)), 0)
            self.filter_column.setCurrentIndex(index)
            self.filter_values.setText(", ".join(sheet.filter_values))
        else:
            self.filter_column.setCurrentIndex(0)
            self.filter_values.clear()
        self.filter_values.setEnabled(self.filter_column.currentIndex() > 0)
        self.apply_filter.setEnabled(self.filter_column.currentIndex() > 0)
        self.grid_model.set_sheet(sheet)
        self._fit_grid()
        self.found.set_folding(_found_text(sheet), _found_text(sheet, check=False))
        self._show_counts(sheet)
        self.problems.set_source(view.rows_path, "sheet", with_states=False)
        self.problems.set_categories((words.PROBLEM,))
        n_problems = sum(sheet.counts.get(o, 0) for o in words.PROBLEM_OUTCOMES)
        self.problems_button.setText(f"See the {words.plural(n_problems, 'row')} with pro&blems")
        self.problems_button.setEnabled(n_problems > 0)
        if not n_problems:
            self.problems_button.setChecked(False)
        for w in (self.details, self.found, self.grid, self.counts, self.problems_button,
                  self.next_button):
            w.show()
        self.filler.hide()
        ready = sheet.counts.get("valid", 0)
        self.next_button.setEnabled(ready > 0)
        if ready:
            show_focus(self.next_button)

    def _show_counts(self, sheet: MemberSheet) -> None:
        c = sheet.counts
        total = sum(c.values())
        parts = [f"<b>{words.plural(c.get('valid', 0), 'address', 'addresses')} ready</b>"]
        for key, one, many in (("invalid", "invalid address", "invalid addresses"),
                               ("duplicate", "repeated address", "repeated addresses"),
                               ("blank", "row without an address", "rows without an address"),
                               ("filtered_out", "row left out by the filter",
                                "rows left out by the filter")):
            if c.get(key):
                parts.append(words.plural(c[key], one, many))
        text = f"{words.plural(total, 'data row')}: " + " · ".join(parts) + "."
        if c.get("invalid") or c.get("duplicate") or c.get("blank"):
            text += (" Rows with problems are skipped; fix them in the spreadsheet and open it "
                     "again if they matter.")
        for warning in sheet.warnings:  # e.g. rows with a character that could not be read
            text += " " + html.escape(warning)
        if not c.get("valid"):
            text += " There is nothing to do with this sheet: check the email column above."
            self.counts.set_text(text, "warning")
        else:
            self.counts.set_text(text, "warning" if sheet.warnings else "info")

    # -- corrections -------------------------------------------------------------------------------
    def _options(self) -> ImportOptions:
        u = self._user
        fcol = self.filter_column.currentData()
        values = tuple(v.strip() for v in self.filter_values.text().split(",") if v.strip())
        return ImportOptions(
            sheet=u.get("sheet"),  # type: ignore[arg-type]
            header_row=u.get("header_row"),  # type: ignore[arg-type]
            column=u.get("column"),  # type: ignore[arg-type]
            filter_column=fcol if fcol and values else None,
            filter_values=values if fcol else (),
        )

    def _reread(self) -> None:
        if self._path:
            self.open(self._path, self._options())

    def _sheet_chosen(self) -> None:
        self._user = {"sheet": self.sheet_choice.currentText()}
        self.filter_column.setCurrentIndex(0)
        self.filter_values.clear()
        self._reread()

    def _shown_layout(self) -> tuple[int, str | None] | None:
        """The heading row (0: none) and email column letter on show (None: nothing shown)."""
        if self._choices is not None:
            return self._choices.header_row or 0, None
        sheet = self._sheet()
        return None if sheet is None else (sheet.header_row or 0, sheet.email_column_letter)

    def _header_chosen(self) -> None:
        shown = self._shown_layout()
        if shown is None or self.header_choice.value() == shown[0]:
            return
        self._user["header_row"] = self.header_choice.value()
        self._user.pop("column", None)
        self._reread()

    def _column_chosen(self) -> None:
        shown = self._shown_layout()
        letter = self.column_choice.currentData()
        if shown is None or letter is None or letter == shown[1]:
            return
        self._user["column"] = letter
        self._user.setdefault("header_row", shown[0])
        self._reread()

    def _sheet(self) -> MemberSheet | None:
        return self.state.sheet.sheet if self.state.sheet is not None else None

    def _filter_column_chosen(self) -> None:
        on = self.filter_column.currentIndex() > 0
        self.filter_values.setEnabled(on)
        self.apply_filter.setEnabled(on)
        if on:
            show_focus(self.filter_values)
        elif self._sheet() is not None and self._sheet().filter_column:
            self._reread()


def _first_letter_index(sheet: MemberSheet) -> int:
    try:
        j = sheet.columns.index(sheet.email_column)
    except ValueError:
        return 0
    return max(0, column_index(sheet.email_column_letter) - j)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _found_text(sheet: MemberSheet, *, check: bool = True) -> str:
    where = (f"the headings in <b>row {sheet.header_row}</b>" if sheet.header_row
             else "no heading row")
    column = f"<b>column {sheet.email_column_letter}</b> “{_html(sheet.email_column)}”"
    text = f"ccdesk found {where} and the email addresses in {column}"
    if len(sheet.sheet_names) > 1:
        text += f" of the sheet “{_html(sheet.sheet)}”"
    text += "."
    if sheet.filter_column:
        text += (f" Only rows whose {_html(sheet.filter_column)} is "
                 f"{_html(' or '.join(sheet.filter_values))} are used.")
    if not check:
        return text
    text += (" <br>Check in the first rows below that this is right: the heading row is "
             "<b>bold</b> and the email column is "
             f"<span style='background:{palette.TONES.email_css}'>green</span>. "
             "If not, change the choices above.")
    return text


__all__ = ["SheetPage"]
