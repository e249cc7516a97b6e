"""Table and list models of the window (read-only, except the list check boxes).

- :class:`RowTableModel`: the rows of a preview or a run (over a
  :class:`~ccdesk.gui.rows.RowTable`), updated during a run with exact-range ``dataChanged``;
  sorting is done here on plain lists (fast), never row by row in the proxy.
- :class:`RowFilterProxy`: filters by outcome category and a search text, with Qt's own
  regular-expression filter on :data:`FILTER_KEY_ROLE` — so with no filter set, not one row is
  looked at, and 100,000 rows cost nothing.
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
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from ccdesk.cc.models import ContactList
from ccdesk.core.formats import column_index, column_letter
from ccdesk.core.sheet import MemberSheet
from ccdesk.gui import words
from ccdesk.gui.rows import RowTable, RowUpdate

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
_RED = QBrush(QColor("#b00020"))
_GREEN = QBrush(QColor("#1b6e20"))
_GREY = QBrush(QColor("#6b6b6b"))
_NONE = QModelIndex()


class RowTableModel(QAbstractTableModel):
    """The rows of a preview or a run.

    Columns: Row (Excel row number), Email, What will happen, Why, Result.
    """

    ROW, EMAIL, OUTCOME, REASON, RESULT = range(5)
    HEADERS = ("Row", "Email", "What will happen", "Why", "Result")

    def __init__(self, table: RowTable | None = None, parent: Any = None, *,
                 after_run: bool = False) -> None:
        super().__init__(parent)
        self._t = table or RowTable().finish()
        self._order: list[int] | None = None  # display position → table index (None: identity)
        self._pos: list[int] | None = None  # table index → display position
        self.after_run = after_run

    # -- the data -------------------------------------------------------------------------------
    @property
    def table(self) -> RowTable:
        return self._t

    def set_table(self, table: RowTable, *, after_run: bool | None = None) -> None:
        """Show other rows (a reset)."""
        self.beginResetModel()
        self._t = table
        self._order = self._pos = None
        if after_run is not None:
            self.after_run = after_run
        self.endResetModel()

    def counts(self) -> dict[str, int]:
        """Rows per category (see :func:`ccdesk.gui.words.category`)."""
        return dict(self._t.counts)

    def apply(self, update: RowUpdate) -> None:
        """New states for some rows: signalled as exact row ranges."""
        t = self._t
        counts = t.counts
        category = words.category
        for i, state, result, message, verified in zip(
                update.indexes, update.states, update.results, update.messages, update.verified,
                strict=True):
            old = category(t.outcomes[i], t.states[i])
            t.states[i], t.results[i], t.messages[i], t.verified[i] = state, result, message, verified
            new = category(t.outcomes[i], state)
            if new != old:
                counts[old] -= 1
                counts[new] += 1
        positions = update.indexes if self._pos is None else sorted(self._pos[i] for i in update.indexes)
        last = self.columnCount() - 1
        for first, end in _ranges(positions):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))

    # -- Qt's interface ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else len(self._t.rows)

    def columnCount(self, parent: Index = _NONE) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY and 0 <= section < 5:
            if section == self.OUTCOME and self.after_run:
                return "What was planned"
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid():
            return None
        i = index.row()
        if self._order is not None:
            i = self._order[i]
        return self._value(i, index.column(), role)

    def multiData(self, index: Index, roles: Any) -> None:
        """Every role a view asks for, for one cell, in one call.

        A view asks for about eight roles per cell; while a worker thread is busy each call from
        Qt into Python has to win the interpreter lock back, so one call per cell instead of
        eight keeps repaints quick during a run.
        """
        if index.isValid():
            self.cell_data(index.row(), index.column(), roles)

    def cell_data(self, row: int, col: int, roles: Any) -> None:
        """:meth:`multiData` for the cell at ``row`` (in the model's current order), ``col``."""
        i = row if self._order is None else self._order[row]
        value_of = self._value
        for k in range(len(roles)):
            slot = roles[k]
            value = value_of(i, col, slot.role())
            if value is None:
                slot.clearData()  # the view may hand over the last cell's values: clear them
            else:
                slot.setData(value)

    def _value(self, i: int, col: int, role: int) -> Any:
        t = self._t
        if role in (DISPLAY, TOOLTIP):
            if col == 0:
                return t.rows[i] if role == DISPLAY else f"Row {t.rows[i]} of the spreadsheet"
            if col == 1:
                return t.emails[i]
            if col == 2:
                return words.outcome_words(t.outcomes[i])
            if col == 3:
                return t.reasons[i]
            if col == 4:
                text = words.status_words(t.states[i], t.results[i], t.verified[i])
                if t.messages[i] and t.states[i] == "failed":
                    text = f"{text}: {t.messages[i]}"
                return text
            return None
        if role == ALIGN and col == 0:
            return _RIGHT
        if role == FOREGROUND:
            cat = words.category(t.outcomes[i], t.states[i])
            if cat == words.FAILED or (cat == words.PROBLEM and col in (2, 3)):
                return _RED
            if cat == words.DONE and col == 4:
                return _GREEN
            if cat in (words.SKIPPED, words.FILTERED) and col in (2, 3):
                return _GREY
            return None
        if role == FILTER_KEY_ROLE:
            return (f"{words.category(t.outcomes[i], t.states[i])}\t{t.rows[i]} {t.emails[i]} "
                    f"{t.reasons[i]} {t.messages[i]}")
        if role == ROW_ROLE:
            return t.rows[i]
        if role == EMAIL_ROLE:
            return t.emails[i]
        if role == OUTCOME_ROLE:
            return t.outcomes[i]
        if role == STATE_ROLE:
            return t.states[i]
        if role == CATEGORY_ROLE:
            return words.category(t.outcomes[i], t.states[i])
        return None

    # flags(): Qt's own (enabled, selectable, no children), without a call into Python per cell.

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort on plain lists (one Python ``sorted``), then a layout change."""
        t = self._t
        n = len(t.rows)
        reverse = order == Qt.SortOrder.DescendingOrder
        keys: Sequence[Any]
        if column <= 0:
            keys = t.rows
        elif column == 1:
            keys = [e.casefold() for e in t.emails]
        elif column == 2:
            keys = t.outcomes
        elif column == 3:
            keys = t.reasons
        else:
            keys = [(s, r) for s, r in zip(t.states, t.results, strict=True)]
        self.layoutAboutToBeChanged.emit()
        old_order = self._order
        persistent = self.persistentIndexList()
        before = [(p, old_order[p.row()] if old_order is not None else p.row()) for p in persistent]
        if column <= 0:
            self._order = list(range(n - 1, -1, -1)) if reverse else None
        else:
            self._order = sorted(range(n), key=keys.__getitem__, reverse=reverse)
        if self._order is None:
            self._pos = None
        else:
            pos = [0] * n
            for display, item in enumerate(self._order):
                pos[item] = display
            self._pos = pos
        for p, item in before:
            row = item if self._pos is None else self._pos[item]
            self.changePersistentIndex(p, self.index(row, p.column()))
        self.layoutChanged.emit()


def _ranges(sorted_rows: Iterable[int]) -> list[tuple[int, int]]:
    """``[1, 2, 3, 7, 8]`` → ``[(1, 3), (7, 8)]``."""
    out: list[tuple[int, int]] = []
    for r in sorted_rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


class RowFilterProxy(QSortFilterProxyModel):
    """Shows the rows of some categories whose text contains a search string.

    Sorting is handed to the source model (see :meth:`RowTableModel.sort`).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setFilterRole(FILTER_KEY_ROLE)
        self.setFilterKeyColumn(0)
        self.categories: frozenset[str] | None = None
        self.text = ""

    def set_filter(self, categories: Iterable[str] | None = None, text: str = "") -> None:
        """Only rows of these categories (None: all) containing ``text`` (any case)."""
        cats = frozenset(categories) if categories is not None else None
        text = text.strip()
        if cats == self.categories and text == self.text:
            return
        self.categories, self.text = cats, text
        parts = []
        if cats is not None:
            parts.append("^(?:" + "|".join(sorted(QRegularExpression.escape(c) for c in cats) or ["-"])
                         + ")\t")
        if text:
            if not parts:
                parts.append("\t")
            parts.append(".*" + QRegularExpression.escape(text))
        pattern = QRegularExpression(
            "".join(parts), QRegularExpression.PatternOption.CaseInsensitiveOption)
        # WORKAROUND: changing the filter of a big attached model makes QSortFilterProxyModel
        # insert and remove rows range by range (minutes for 100,000 scattered rows); detaching
        # the source first makes it a reset and one linear pass instead.
        source = self.sourceModel()
        self.setSourceModel(None)  # type: ignore[arg-type]
        self.setFilterRegularExpression(pattern)
        self.setSourceModel(source)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)

    # Painting a cell makes Qt call into Python for its data and its flags; through a proxy each
    # such call also maps the index to the source (and that asks the source's rowCount and
    # columnCount, in Python too). While a job's thread computes, every entry into Python waits
    # for the interpreter lock, so a repaint costs in proportion to these calls. Unfiltered
    # (sorting is the source's own), the proxy's rows are the source's: no mapping needed.
    def multiData(self, index: Index, roles: Any) -> None:
        # QSortFilterProxyModel would ask the source role by role: hand the whole cell on.
        source = self.sourceModel()
        if not isinstance(source, RowTableModel):
            super().multiData(index, roles)
        elif not index.isValid():
            return
        elif self.categories is None and not self.text:
            source.cell_data(index.row(), index.column(), roles)
        else:
            source.multiData(self.mapToSource(index), roles)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else _NO_FLAGS


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
        self.beginResetModel()
        if sheet is None:
            self._rows, self._width, self._header, self._email_col = [], 0, None, -1
        else:
            self._rows = [(p.row, list(p.cells)) for p in sheet.preview_rows]
            self._width = max((len(c) for _, c in self._rows), default=0)
            self._header = sheet.header_row
            letter = sheet.email_column_letter
            self._email_col = column_index(letter) - self._first_column(sheet)
            self._width = max(self._width, self._email_col + 1)
            self._first_col = self._first_column(sheet)
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
            return QBrush(QColor("#dff0d8"))
        if role == FOREGROUND and self._header is not None and number < self._header:
            return _GREY
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
                return text
            if col == 2:
                return run.file_path.replace("\\", "/").rsplit("/", 1)[-1] if role == DISPLAY \
                    else run.file_path
            if col == 3:
                text = ("Running now" if entry.holder is not None and not entry.elsewhere
                        else words.run_state_words(run.state, elsewhere=entry.elsewhere))
                return f"{text} ({run.message})" if run.message and role == TOOLTIP else text
            if col == 4:
                c = entry.counts
                parts = [f"{c['done']:,} {words.done_word(run.action)}"]
                if c["failed"]:
                    parts.append(f"{c['failed']:,} failed")
                if c["waiting"]:
                    parts.append(f"{c['waiting']:,} not done yet")
                return ", ".join(parts)
        if role == RUN_ID_ROLE:
            return run.run_id
        if role == STATE_ROLE:
            return run.state
        if role == FOREGROUND and col == 3 and run.unfinished:
            return _RED
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
