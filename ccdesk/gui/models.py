"""Table and list models of the window (read-only, except the list check boxes).

- the rows of a sheet, a preview or a run: :class:`ccdesk.gui.itemsmodel.ItemsModel`, which
  reads them from SQLite (the roles below are its roles too);
- :class:`SheetGridModel`: the first rows of the raw spreadsheet, as Excel shows them.
- :class:`ListsModel`: the account's lists, with check boxes.
- :class:`HistoryModel`: past runs from the journal.

Custom roles serve raw values (:data:`ROW_ROLE`, :data:`CATEGORY_ROLE`, …) for tests, sorting
and filtering; ``DisplayRole`` serves plain words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from ccdesk.cc.models import ContactList
from ccdesk.core.formats import column_index, column_letter
from ccdesk.core.sheet import MemberSheet
from ccdesk.gui import palette, words

DISPLAY = int(Qt.ItemDataRole.DisplayRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
FONT = int(Qt.ItemDataRole.FontRole)
CHECK = int(Qt.ItemDataRole.CheckStateRole)
USER = int(Qt.ItemDataRole.UserRole)

ROW_ROLE = USER + 1  # the Excel row number (int)
EMAIL_ROLE = USER + 2
OUTCOME_ROLE = USER + 3  # the planned outcome (str, e.g. "remove")
STATE_ROLE = USER + 4  # the run state (str, "" before a run)
CATEGORY_ROLE = USER + 5  # see ccdesk.gui.words.category
FILTER_KEY_ROLE = USER + 6  # "category<TAB>row email reason result"
RUN_ID_ROLE = USER + 7

Index = QModelIndex | QPersistentModelIndex

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_NONE = QModelIndex()


class SheetGridModel(QAbstractTableModel):
    """The first rows of the raw sheet, with Excel's row numbers and column letters.

    The heading row is bold, the email column highlighted, rows above the headings greyed.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[int, list[str]]] = []
        self._width = 0
        self._header: int | None = None
        self._email_col = -1
        self._first_col = 0

    def set_sheet(self, sheet: MemberSheet | None) -> None:
        if sheet is None:
            self.set_rows([], None)
            return
        first = self._first_column(sheet)
        self.set_rows(sheet.preview_rows, sheet.header_row, first_col=first,
                      email_col=column_index(sheet.email_column_letter) - first)

    def set_rows(self, rows: Iterable[Any], header_row: int | None, *, first_col: int = 0,
                 email_col: int = -1) -> None:
        """Show these rows (``PreviewRow``), the heading row in bold and the email column
        (an index from ``first_col``; -1 none yet) in green."""
        self.beginResetModel()
        self._rows = [(p.row, list(p.cells)) for p in rows]
        self._width = max((len(c) for _, c in self._rows), default=0)
        self._header = header_row
        self._email_col = email_col
        self._width = max(self._width, email_col + 1)
        self._first_col = first_col
        self.endResetModel()

    @staticmethod
    def _first_column(sheet: MemberSheet) -> int:
        """The index of the sheet's first used column (the grid starts there)."""
        try:
            j = sheet.columns.index(sheet.email_column)
        except ValueError:
            return 0
        return max(0, column_index(sheet.email_column_letter) - j)

    def rowCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else self._width

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> Any:
        if role != DISPLAY:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if 0 <= section < self._width:
                return column_letter(self._first_col + section)
            return None
        if 0 <= section < len(self._rows):
            return str(self._rows[section][0])
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid():
            return None
        number, cells = self._rows[index.row()]
        col = index.column()
        if role in (DISPLAY, TOOLTIP):
            return cells[col] if col < len(cells) else ""
        if role == ROW_ROLE:
            return number
        if role == FONT and number == self._header:
            font = QFont()
            font.setBold(True)
            return font
        if role == BACKGROUND and col == self._email_col:
            return palette.TONES.email
        if role == FOREGROUND and self._header is not None and number < self._header:
            return palette.TONES.grey
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ListsModel(QAbstractListModel):
    """The account's lists, each with a check box; "Free Members — 199 members"."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._lists: list[ContactList] = []
        self._checked: set[str] = set()

    def set_lists(self, lists: Sequence[ContactList], checked: Iterable[str] = ()) -> None:
        self.beginResetModel()
        self._lists = list(lists)
        wanted = {n.casefold() for n in checked}
        self._checked = {x.list_id for x in self._lists if x.name.casefold() in wanted}
        self.endResetModel()

    def lists(self) -> list[ContactList]:
        return list(self._lists)

    def checked_names(self) -> list[str]:
        return [x.name for x in self._lists if x.list_id in self._checked]

    def set_checked(self, names: Iterable[str]) -> None:
        wanted = {n.casefold() for n in names}
        self._checked = {x.list_id for x in self._lists if x.name.casefold() in wanted}
        if self._lists:
            self.dataChanged.emit(self.index(0), self.index(len(self._lists) - 1), [CHECK])

    def rowCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else len(self._lists)

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid():
            return None
        item = self._lists[index.row()]
        if role == DISPLAY:
            if item.membership_count is None:
                return item.name
            return f"{item.name} — {words.plural(item.membership_count, 'member')}"
        if role == CHECK:
            return (Qt.CheckState.Checked if item.list_id in self._checked
                    else Qt.CheckState.Unchecked)
        if role == USER:
            return item.name
        return None

    def setData(self, index: Index, value: Any, role: int = int(Qt.ItemDataRole.EditRole)) -> bool:
        if not index.isValid() or role != CHECK:
            return False
        item = self._lists[index.row()]
        checked = value in (Qt.CheckState.Checked, int(Qt.CheckState.Checked.value), 2)
        if checked:
            self._checked.add(item.list_id)
        else:
            self._checked.discard(item.list_id)
        self.dataChanged.emit(index, index, [CHECK])
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable)


class HistoryModel(QAbstractTableModel):
    """Past runs, newest first: When, What, Spreadsheet, State, Result."""

    HEADERS = ("When", "What", "Spreadsheet", "State", "Result")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[Any] = []  # ccdesk.gui.tasks.HistoryEntry

    def set_entries(self, entries: Sequence[Any]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entry(self, row: int) -> Any:
        return self._entries[row]

    def rowCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY and 0 <= section < 5:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        run = entry.run
        col = index.column()
        if role in (DISPLAY, TOOLTIP):
            if col == 0:
                return words.when(run.created_at)
            if col == 1:
                text = words.ACTION_TITLES.get(run.action, run.action)
                if run.list_names and run.action in ("remove", "undo"):
                    text += f": {', '.join(run.list_names)}"
                elif run.action == "move":
                    text += f": {words.move_words(run)}"
                return text
            if col == 2:
                return words.run_source(run) if role == DISPLAY else (
                    run.file_path or words.run_source(run))
            if col == 3:
                text = ("Running now" if entry.holder is not None and not entry.elsewhere
                        else words.run_state_words(run.state, elsewhere=entry.elsewhere))
                if getattr(entry, "undone", False):
                    text += ", then undone"
                return f"{text} ({run.message})" if run.message and role == TOOLTIP else text
            if col == 4:
                c = entry.counts
                sent = getattr(entry, "sent", 0)
                parts = [f"{c['done']:,} {words.done_word(run.action)}"]
                if sent:
                    parts.append(f"{sent:,} sent, not checked yet")
                if c["failed"]:
                    parts.append(f"{c['failed']:,} failed")
                if c["waiting"] - sent:
                    parts.append(f"{c['waiting'] - sent:,} not done yet")
                return ", ".join(parts)
        if role == RUN_ID_ROLE:
            return run.run_id
        if role == STATE_ROLE:
            return run.state
        if role == FOREGROUND and col == 3 and run.unfinished:
            return palette.TONES.red
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
