"""Step 2's other source: a Constant Contact list instead of a spreadsheet (issue 16).

:class:`ListSourceDialog` lists the account's lists with their member counts (read on a worker
thread, like the preview page's lists) and hands back the one chosen; the spreadsheet page then
shows "The members of Sustainers (100)" (:func:`show_list_source`) and Next leads to the
preview as for a sheet. The members themselves are read by the preview, as they are then: what
the page shows is the list, and the list is what is previewed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.cc.models import ContactList
from ccdesk.gui import dialogs, tasks, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.state import SheetView, WindowState
from ccdesk.gui.widgets import show_focus

#: The button's words on the spreadsheet page (Alt+L).
USE_LIST = "Use a Constant Contact &list instead…"
USE_LIST_TIP = ("Instead of a spreadsheet, take the members of a list you keep in Constant "
                "Contact (for example Sustainers): the preview shows which of them are on the "
                "list they should come off.")


class ListSourceDialog(QDialog):
    """Choose the Constant Contact list whose members are the source. Opened with ``open()``
    (never ``exec()``); ``chosen`` is emitted with the :class:`ContactList` on OK."""

    chosen = Signal(object)  # ContactList

    def __init__(self, parent: QWidget | None, state: WindowState, jobs: Jobs) -> None:
        super().__init__(parent)
        self.setWindowTitle("Use a Constant Contact list")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.state = state
        layout = QVBoxLayout(self)
        intro = QLabel("Choose the list whose members upgraded, for example your paying "
                       "members' list. ccdesk reads its members when you preview (nothing is "
                       "changed), and shows which of them are on the list they should come "
                       "off. A run then changes exactly the contacts the preview showed.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.note = QLabel("Loading the account's lists…")
        self.note.setWordWrap(True)
        self.note.setAccessibleName("About the lists")
        layout.addWidget(self.note)
        self.lists = QListWidget()
        self.lists.setAccessibleName("The account's lists")
        layout.addWidget(self.lists, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button: QPushButton = self.buttons.addButton(
            "&Use this list", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setEnabled(False)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.lists.currentItemChanged.connect(lambda *_: self._update())
        self.lists.itemDoubleClicked.connect(lambda *_: self.accept())
        self.resize(460, 420)
        session = state.session
        if session is None:
            self.note.setText("Connect to Constant Contact first.")
            return
        jobs.thread("source lists", tasks.lists_work(session), on_done=self.set_lists,
                    on_error=self._failed)

    def set_lists(self, lists: list[ContactList]) -> None:
        """Show the lists (sorted by name), each with its member count."""
        self.lists.clear()
        for item in lists:
            count = item.membership_count
            text = item.name if count is None else (
                f"{item.name} ({words.plural(count, 'member')})")
            row = QListWidgetItem(text)
            row.setData(Qt.ItemDataRole.UserRole, item)
            self.lists.addItem(row)
        if not lists:
            self.note.setText("This account has no lists.")
            return
        self.note.setText("Choose the list (the members of the list they should come off are "
                          "chosen on the next step).")
        best = next((i for i, x in enumerate(lists) if "sustain" in x.name.casefold()), 0)
        self.lists.setCurrentRow(best)
        show_focus(self.lists)

    def _failed(self, exc: BaseException) -> None:
        title, what_to_do, _ = dialogs.error_texts(exc)
        self.note.setText(f"The lists could not be loaded: {title}. {what_to_do}")

    def _update(self) -> None:
        self.use_button.setEnabled(self.current() is not None)

    def current(self) -> ContactList | None:
        item = self.lists.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def choose(self, name: str) -> None:
        """Select the list called ``name`` (for tests and the keyboard)."""
        for row in range(self.lists.count()):
            if self.lists.item(row).data(Qt.ItemDataRole.UserRole).name == name:
                self.lists.setCurrentRow(row)
                return
        raise KeyError(name)

    def accept(self) -> None:
        chosen = self.current()
        if chosen is None:
            return
        super().accept()
        self.chosen.emit(chosen)


def members_words(view: SheetView) -> str:
    """``"The members of <b>Sustainers</b> (100)"``."""
    source = view.sheet.source_list or {}
    count = source.get("membership_count")
    name = words_html(str(source.get("name", "")))
    return f"The members of <b>{name}</b>" + (f" ({count:,})" if count is not None else "")


def show_list_source(page: QWidget, view: SheetView) -> None:
    """Show a list source on the spreadsheet page (``page`` is a
    :class:`~ccdesk.gui.pages.sheet.SheetPage`): its name and size, what will happen, and
    Next; the spreadsheet's own choices, rows and problems are put away."""
    source = view.sheet.source_list or {}
    name = words_html(str(source.get("name", "")))
    page.file_label.setText(members_words(view))  # type: ignore[attr-defined]
    page.file_label.setToolTip("A Constant Contact list")  # type: ignore[attr-defined]
    for w in (page.details, page.grid, page.problems_button, page.problems):  # type: ignore[attr-defined]
        w.hide()
    page.problems_button.setChecked(False)  # type: ignore[attr-defined]
    page.found.set_folding(  # type: ignore[attr-defined]
        f"The members of the Constant Contact list <b>{name}</b> are the source, in place of a "
        "spreadsheet. They are read when you preview, as they are then; each member gets one "
        "line in the preview and the log (numbered in the order read). The run changes exactly "
        "the contacts the preview shows, even if the list changes in between.",
        f"The members of <b>{name}</b> are the source, read when you preview.")
    count = source.get("membership_count")
    page.counts.set_text(  # type: ignore[attr-defined]
        (f"<b>{words.plural(count, 'member')}</b> on {name} now. " if count is not None else "")
        + "Next, choose the list they should come off.", "info")
    for w in (page.found, page.counts, page.next_button):  # type: ignore[attr-defined]
        w.show()
    page.filler.show()  # type: ignore[attr-defined]
    page.next_button.setEnabled(True)  # type: ignore[attr-defined]
    show_focus(page.next_button)  # type: ignore[attr-defined]


def words_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["USE_LIST", "USE_LIST_TIP", "ListSourceDialog", "members_words", "show_list_source"]
