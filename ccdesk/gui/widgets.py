"""Small building blocks shared by the pages: headings, notes, count tiles, banners, the row
table with its outcome filter and search box, and a progress strip with Cancel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ccdesk.gui import palette, words
from ccdesk.gui.itemsmodel import ItemsModel


def show_focus(widget: QWidget) -> None:
    """Move the keyboard focus to ``widget``, visibly: the focus frame is drawn even when the
    last thing the person did was a click (Qt shows it only after Tab, otherwise)."""
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    widget.window().setAttribute(Qt.WidgetAttribute.WA_KeyboardFocusChange, True)
    widget.update()


def primary(button: QPushButton) -> QPushButton:
    """Make a button stand out as the page's next step."""
    font = button.font()
    font.setBold(True)
    button.setFont(font)
    button.setMinimumHeight(button.sizeHint().height() + 6)
    return button


class PageStack(QWidget):
    """Shows one page at a time, like ``QStackedWidget``, but lays out only the page shown.

    ``QStackedLayout`` asks every page, hidden or not, for its height at each layout pass; with
    many word-wrapped labels that made every show or hide of a widget cost ~20 ms. Here hidden
    pages take no part in the layout.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._pages: list[QWidget] = []
        self._current: QWidget | None = None

    def addWidget(self, page: QWidget) -> None:
        self._pages.append(page)
        self._layout.addWidget(page)
        if self._current is None:
            self._current = page
        else:
            page.hide()

    def setCurrentWidget(self, page: QWidget) -> None:
        if page is self._current:
            return
        if self._current is not None:
            self._current.hide()
        self._current = page
        page.show()

    def currentWidget(self) -> QWidget | None:
        return self._current


class Heading(QLabel):
    """A page's title."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.setFont(font)
        self.setAccessibleName(text)


class Note(QLabel):
    """A wrapped paragraph of explanation.

    A long one can fold away (:meth:`set_folding`): on a small screen (see :func:`set_compact`)
    only its first part shows, with a "More" link that unfolds it (and "Less" to fold it).
    """

    MORE, LESS = "more", "less"

    def __init__(self, text: str = "", parent: QWidget | None = None, *, rich: bool = False) -> None:
        super().__init__(text, parent)
        self._short = ""  # "" when the note does not fold
        self._full = text
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._compact = False
        self._unfolded = False  # the person asked for the whole text
        self.linkActivated.connect(self._link)

    def setText(self, text: str) -> None:
        """Show ``text``; it does not fold."""
        self._full, self._short = text, ""
        super().setText(text)

    def set_folding(self, full: str, short: str = "") -> None:
        """Show ``full`` (rich text), or only ``short`` while the window is compact (no
        ``short``: it never folds)."""
        if not short:
            self.setText(full)
            return
        self._full, self._short = full, short
        self.setTextFormat(Qt.TextFormat.RichText)
        self._show()

    @property
    def folded(self) -> bool:
        return bool(self._short) and self._compact and not self._unfolded

    def set_compact(self, compact: bool) -> None:
        if compact != self._compact:
            self._compact = compact
            self._show()

    def full_text(self) -> str:
        return self._full

    def _show(self) -> None:
        if not self._short:  # a note that does not fold shows what it was given
            return
        links = (Qt.TextInteractionFlag.LinksAccessibleByMouse
                 | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        flags = self.textInteractionFlags()
        # A Tab stop only while there is a More/Less link to press.
        self.setTextInteractionFlags(flags | links if self._compact else flags & ~links)
        if self.folded:
            super().setText(f"{self._short} <a href='{self.MORE}'>More…</a>")
        elif self._compact:
            super().setText(f"{self._full} <a href='{self.LESS}'>Less</a>")
        else:
            super().setText(self._full)
        self.setAccessibleDescription(_plain(self._full))

    def _link(self, link: str) -> None:
        if link in (self.MORE, self.LESS):
            self._unfolded = link == self.MORE
            self._show()


def _plain(html: str) -> str:
    """Rich text without its tags (for a screen reader's description)."""
    return re.sub(r"<[^>]+>", "", html).replace("&amp;", "&").replace("&lt;", "<")


#: Below this height (logical pixels) the window is compact: long notes fold.
COMPACT_HEIGHT = 700


def set_compact(root: QWidget, compact: bool) -> None:
    """Fold (or unfold) the long notes under ``root``."""
    for note in root.findChildren(Note):
        note.set_compact(compact)


class Banner(QFrame):
    """A coloured strip with a message (the demo banner, warnings on a page)."""


    def __init__(self, text: str = "", kind: str = "info", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = Note(text, rich=True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.label.setOpenExternalLinks(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        self.set_kind(kind)

    def set_kind(self, kind: str) -> None:
        """The banner's meaning ("demo", "warning", "info", "ok"), in the palette's tints."""
        tones = palette.TONES
        if getattr(self, "_kind", None) == (kind, tones.dark):
            return  # a style sheet change re-polishes the banner: only when needed
        self._kind = (kind, tones.dark)
        back, border, text = tones.banners[kind]
        self.setObjectName("banner")
        self.setStyleSheet(f"QFrame#banner {{ background: {back}; border: 1px solid {border};"
                           f" border-radius: 4px; }} QFrame#banner QLabel {{ color: {text}; }}")

    @property
    def kind(self) -> str:
        return self._kind[0]

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            palette.refresh()
            if self._kind[1] != palette.TONES.dark:
                self.set_kind(self._kind[0])
        super().changeEvent(event)

    def set_text(self, text: str, kind: str | None = None, *, short: str = "") -> None:
        """The banner's message; ``short``: what shows of it while the window is compact."""
        if kind:
            self.set_kind(kind)
        self.label.set_folding(text, short)
        self.setAccessibleDescription(_plain(text))

    def text(self) -> str:
        return self.label.full_text()


class CountTile(QFrame):
    """A big number with a caption underneath ("40 / will be removed")."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.number = QLabel("0")
        font = self.number.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        font.setBold(True)
        self.number.setFont(font)
        self.caption = QLabel(caption)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.number)
        layout.addWidget(self.caption)
        self.setAccessibleName(caption)

    def set(self, value: int, caption: str | None = None) -> None:
        self.number.setText(f"{value:,}")
        if caption is not None:
            self.caption.setText(caption)
        self.setAccessibleName(f"{value:,} {self.caption.text()}")


RESULT_COLUMN = 4  # of ItemsModel: what a run did to the row


class RowTableView(QWidget):
    """A row table with an outcome filter ("Show:") and a search box ("Find:").

    Ctrl+F moves to the search box. The table is a ``QTableView`` over an
    :class:`~ccdesk.gui.itemsmodel.ItemsModel`, which reads the rows from SQLite as the view
    scrolls and filters, searches and sorts there.
    """

    filter_changed = Signal()

    def __init__(self, name: str, parent: QWidget | None = None, *, after_run: bool = False,
                 hide_columns: tuple[int, ...] = ()) -> None:
        super().__init__(parent)
        self.model = ItemsModel(self)
        self.model.after_run = after_run
        self._categories: tuple[str, ...] | None = None  # fixed by the page (e.g. problems)
        self.show_filter = QComboBox()
        self.show_filter.setAccessibleName(f"{name}: show which rows")
        self.show_filter.setToolTip("Show all rows, or only the rows with this outcome.")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find an address, a row number or a word")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(f"{name}: find")
        self.search.setToolTip("Show only the rows with this text in them (address, row number, note).")
        self.shown = QLabel()
        self.shown.setAccessibleName(f"{name}: rows shown")
        self.shown.setMinimumWidth(self.fontMetrics().horizontalAdvance("100,000 of 100,000 rows"))
        self.shown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.show_label = QLabel("Sho&w:")
        self.show_label.setBuddy(self.show_filter)
        find_label = QLabel("F&ind:")
        find_label.setBuddy(self.search)
        bar = QHBoxLayout()
        bar.addWidget(self.show_label)
        bar.addWidget(self.show_filter, 1)
        bar.addSpacing(12)
        bar.addWidget(find_label)
        bar.addWidget(self.search, 2)
        bar.addSpacing(8)
        bar.addWidget(self.shown)
        self.view = QTableView()
        self.view.setAccessibleName(name)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        self.view.setTabKeyNavigation(False)  # one Tab stop: the arrows move inside
        self.view.setAlternatingRowColors(True)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        vertical = self.view.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((60, 250, 180, 270)):
            self.view.setColumnWidth(column, width)
        self.view.setColumnWidth(RESULT_COLUMN, 230)
        self.set_hidden_columns(hide_columns)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        self.search.returnPressed.connect(self._apply_filter)
        self.show_filter.currentIndexChanged.connect(self._apply_filter)
        self.model.countsChanged.connect(self._fill_filter)
        self.model.settled.connect(self._update_shown)
        QShortcut(QKeySequence.StandardKey.Find, self, self.search.setFocus,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._fill_filter()

    # -- data ---------------------------------------------------------------------------------
    def set_source(self, path: str | Path, run_id: str, *, after_run: bool = False,
                   with_states: bool = True) -> None:
        """Show the rows of ``run_id`` in the SQLite file at ``path``."""
        self.model.set_source(path, run_id, after_run=after_run, with_states=with_states)
        self.view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self._fill_filter()
        self._update_shown()

    def source(self) -> str:
        """The run id of the rows on show ("" none)."""
        return self.model.run_id

    def clear(self) -> None:
        self.model.clear()
        self._fill_filter()
        self._update_shown()

    def refresh(self) -> None:
        """Read again what a running job changed (the labels follow when it is read)."""
        self.model.refresh()

    def set_categories(self, categories: tuple[str, ...] | None) -> None:
        """Show only these categories, always (the "Show:" choice is then hidden)."""
        self._categories = categories
        self.show_filter.setVisible(categories is None)
        self.show_label.setVisible(categories is None)
        self._apply_filter()

    def set_hidden_columns(self, columns: tuple[int, ...]) -> None:
        """Hide these columns. When the Result column (4) shows, it comes right after the
        address, so a narrow window keeps it in view; "Why", the longest, is last."""
        for column in range(self.model.columnCount()):
            self.view.setColumnHidden(column, column in columns)
        header = self.view.horizontalHeader()
        result_at = 2 if RESULT_COLUMN not in columns else RESULT_COLUMN
        if header.visualIndex(RESULT_COLUMN) != result_at:
            header.moveSection(header.visualIndex(RESULT_COLUMN), result_at)

    # -- the filter -----------------------------------------------------------------------------
    def _fill_filter(self) -> None:
        counts = self.model.counts()
        total = sum(counts.values())
        wanted = self.show_filter.currentData()
        items: list[tuple[str, Any]] = [(f"All rows ({total:,})", None)]
        for cat in words.CATEGORY_ORDER:
            n = counts.get(cat, 0)
            if n:
                label = words.category_label(cat, after_run=self.model.after_run)
                items.append((f"{label} ({n:,})", cat))
        present = [self.show_filter.itemData(i) for i in range(self.show_filter.count())]
        texts = [self.show_filter.itemText(i) for i in range(self.show_filter.count())]
        if present == [d for _, d in items] and texts == [t for t, _ in items]:
            return
        self.show_filter.blockSignals(True)
        self.show_filter.clear()
        for text, data in items:
            self.show_filter.addItem(text, data)
        index = max(0, self.show_filter.findData(wanted)) if wanted is not None else 0
        self.show_filter.setCurrentIndex(index)
        self.show_filter.blockSignals(False)
        if wanted is not None and index == 0:
            self._apply_filter()

    def choose(self, category: str | None) -> None:
        """Show only one category (None: all rows)."""
        index = self.show_filter.findData(category) if category is not None else 0
        self.show_filter.setCurrentIndex(max(0, index))
        self._apply_filter()

    def _apply_filter(self) -> None:
        self._search_timer.stop()
        if self._categories is not None:
            cats: list[str] | None = list(self._categories)
        else:
            cat = self.show_filter.currentData()
            cats = [cat] if cat is not None else None
        self.model.set_filter(cats, self.search.text())
        self._update_shown()
        self.filter_changed.emit()

    def _update_shown(self) -> None:
        shown = self.model.rowCount()
        counts = self.model.counts()
        total = (sum(counts.get(c, 0) for c in self._categories) if self._categories is not None
                 else sum(counts.values()))
        self.shown.setText(f"{shown:,} of {total:,} rows" if shown != total else f"{total:,} rows")


class ProgressStrip(QWidget):
    """A determinate progress bar, the phase in words, and a Cancel button."""

    cancel_clicked = Signal()

    def __init__(self, name: str, parent: QWidget | None = None, cancel_text: str = "Cancel") -> None:
        super().__init__(parent)
        self.phase = QLabel()
        self.phase.setWordWrap(True)
        self.phase.setAccessibleName(f"{name}: what is happening")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setAccessibleName(f"{name}: progress")
        self.cancel = QPushButton(cancel_text)
        self.cancel.setAccessibleName(f"Cancel {name.lower()}")
        self.cancel.clicked.connect(self.cancel_clicked)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.phase)
        layout.addLayout(row)

    def start(self, phase: str) -> None:
        self.phase.setText(phase)
        self.bar.setValue(0)
        self.cancel.setEnabled(True)
        self.show()

    def step(self, phase: str, done: float, total: float) -> None:
        """Show a phase; ``total`` 0 keeps the bar where it is (a wait of unknown length)."""
        text = phase
        if total:
            self.bar.setValue(int(100 * min(done, total) / total))
            if total > 1 and total != 100:
                text = f"{phase}: {int(done):,} of {int(total):,}"
        self.phase.setText(text + "…" if not text.endswith(("…", ".")) else text)
