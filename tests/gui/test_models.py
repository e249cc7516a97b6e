"""The table and list models: Qt's model tester on each, filtering, sorting, exact-range
updates, and the plain-Python rows behind them."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt

from ccdesk.cc.models import ContactList
from ccdesk.core.journal import RunRecord
from ccdesk.core.sheet import read_sheet
from ccdesk.gui import words
from ccdesk.gui.models import (
    CATEGORY_ROLE,
    CHECK,
    ROW_ROLE,
    HistoryModel,
    ListsModel,
    RowFilterProxy,
    RowTableModel,
    SheetGridModel,
)
from ccdesk.gui.rows import RowTable, RowUpdate, chunked_update
from ccdesk.gui.tasks import HistoryEntry, only_addresses
from tests.gui.conftest import SAMPLE


def make_table(n: int = 30) -> RowTable:
    outcomes = ["remove", "skip_not_on_list", "invalid"]
    return RowTable(
        rows=[i + 4 for i in range(n)],
        emails=[f"person{i}@example.org" for i in range(n)],
        outcomes=[outcomes[i % 3] for i in range(n)],
        reasons=[f"reason {i}" for i in range(n)],
        states=["planned" if i % 3 == 0 else "skipped" if i % 3 == 1 else "" for i in range(n)],
        results=[""] * n, messages=[""] * n, verified=[False] * n,
    ).finish()


def test_row_model_passes_the_model_tester(qtmodeltester):
    model = RowTableModel(make_table())
    qtmodeltester.check(model)
    model.sort(1, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)


def test_filter_proxy_passes_the_model_tester(qtmodeltester):
    model = RowTableModel(make_table())
    proxy = RowFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter([words.CHANGE], "person1")
    qtmodeltester.check(proxy)
    assert [proxy.index(r, 0).data(ROW_ROLE) for r in range(proxy.rowCount())] == [4 + 12, 4 + 15,
                                                                                   4 + 18]
    proxy.set_filter(None, "")
    assert proxy.rowCount() == 30


def test_filter_categories_and_text():
    model = RowTableModel(make_table())
    proxy = RowFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter([words.PROBLEM])
    assert proxy.rowCount() == 10
    assert {proxy.index(r, 0).data(CATEGORY_ROLE) for r in range(10)} == {words.PROBLEM}
    proxy.set_filter(None, "REASON 2")  # any case; matches "reason 2", "reason 20"…
    assert proxy.rowCount() == 11
    proxy.set_filter([], "")  # no category at all: nothing
    assert proxy.rowCount() == 0


def test_updates_are_exact_ranges_and_move_rows_between_categories(qtbot):
    model = RowTableModel(make_table())
    proxy = RowFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter([words.DONE])
    assert proxy.rowCount() == 0
    seen: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, roles=(): seen.append((a.row(), b.row(), a.column(),
                                                                  b.column())))
    model.apply(RowUpdate([0, 3, 6, 15], ["done"] * 4, ["removed"] * 4, [""] * 4, [True] * 4))
    assert seen == [(0, 0, 0, 4), (3, 3, 0, 4), (6, 6, 0, 4), (15, 15, 0, 4)]
    assert proxy.rowCount() == 4
    assert model.counts()[words.DONE] == 4 and model.counts()[words.CHANGE] == 6
    assert model.index(3, 4).data() == "Removed (checked)"
    seen.clear()
    model.apply(RowUpdate([9, 12], ["sent", "sent"], ["", ""], ["", ""], [False, False]))
    assert seen == [(9, 9, 0, 4), (12, 12, 0, 4)]
    # after sorting, an update still names the right rows
    model.sort(0, Qt.SortOrder.DescendingOrder)
    seen.clear()
    model.apply(RowUpdate([27], ["failed"], ["failed"], ["Still on Free Members"], [False]))
    assert seen == [(2, 2, 0, 4)]
    assert model.index(2, 4).data() == "Failed: Still on Free Members"


def test_chunked_update_resolves_rows_and_splits():
    table = make_table(30)
    updates = chunked_update(table, {5: ("sent", "", "", False), 4: ("sent", "", "", False),
                                     999: ("done", "removed", "", True)}, size=1)
    assert [u.indexes for u in updates] == [[0], [1]]


def test_sheet_grid_model(qtmodeltester):
    sheet = read_sheet(SAMPLE)
    model = SheetGridModel()
    model.set_sheet(sheet)
    qtmodeltester.check(model)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "A"
    assert model.headerData(2, Qt.Orientation.Vertical) == "3"
    assert model.index(2, 1).data() == "Email address"
    assert model.index(2, 1).data(Qt.ItemDataRole.FontRole).bold()  # the heading row
    assert model.index(5, 1).data(Qt.ItemDataRole.BackgroundRole) is not None  # email column
    model.set_sheet(None)
    assert model.rowCount() == 0


def test_lists_model(qtmodeltester):
    model = ListsModel()
    model.set_lists([ContactList("1", "Free Members", 199), ContactList("2", "Newsletter", 1),
                     ContactList("3", "Events")], ["free members"])
    qtmodeltester.check(model)
    assert model.index(0).data() == "Free Members — 199 members"
    assert model.index(1).data() == "Newsletter — 1 member"
    assert model.index(2).data() == "Events"
    assert model.checked_names() == ["Free Members"]
    assert model.setData(model.index(1), Qt.CheckState.Checked, CHECK)
    assert model.checked_names() == ["Free Members", "Newsletter"]
    model.setData(model.index(0), Qt.CheckState.Unchecked, CHECK)
    assert model.checked_names() == ["Newsletter"]
    assert model.flags(model.index(0)) & Qt.ItemFlag.ItemIsUserCheckable


def test_history_model(qtmodeltester):
    now = time.time()
    runs = [
        HistoryEntry(RunRecord("r2", now, now, "/x/upgrades.xlsx", "s", "Sheet1", "undo",
                               [{"list_id": "1", "name": "Free Members"}], {}, "finished"),
                     {"done": 40, "failed": 0, "skipped": 0, "problems": 0, "waiting": 0}),
        HistoryEntry(RunRecord("r1", now - 60, now, "/x/upgrades.xlsx", "s", "Sheet1", "remove",
                               [{"list_id": "1", "name": "Free Members"}], {}, "paused",
                               message="Today's allowance is used up"),
                     {"done": 10, "failed": 1, "skipped": 2, "problems": 0, "waiting": 30}),
    ]
    model = HistoryModel()
    model.set_entries(runs)
    qtmodeltester.check(model)
    proxy = QSortFilterProxyModel()  # as the History page shows it
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    assert model.index(1, 1).data() == "Remove from list: Free Members"
    assert model.index(1, 2).data() == "upgrades.xlsx"
    assert model.index(1, 3).data() == "Paused: can be resumed"
    assert "allowance" in model.index(1, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, 4).data() == "10 removed, 1 failed, 30 not done yet"
    assert model.index(0, 4).data() == "40 put back"


def test_only_addresses_keeps_the_chosen_rows():
    sheet = read_sheet(SAMPLE)
    kept = only_addresses(sheet, {sheet.addresses[0], sheet.addresses[5], "nobody@example.org"})
    assert kept.addresses == [sheet.addresses[0], sheet.addresses[5]]
    assert kept.counts["valid"] == 2 and kept.counts["invalid"] == 0
    assert kept.sha256 == sheet.sha256 and kept.path == sheet.path


@pytest.mark.parametrize(("state", "result", "verified", "text"), [
    ("", "", False, ""),
    ("planned", "", False, "Not done yet"),
    ("sent", "", False, "Sent; not checked yet"),
    ("done", "removed", True, "Removed (checked)"),
    ("done", "unsubscribed", True, "Unsubscribed (checked)"),
    ("done", "re-added", False, "Put back"),
    ("skipped", "skip_not_on_list", False, "Not changed: not on the list"),
    ("failed", "failed", False, "Failed"),
])
def test_status_words(state, result, verified, text):
    assert words.status_words(state, result, verified) == text


def test_words():
    assert words.duration(None) == ""
    assert words.duration(5) == "a few seconds"
    assert words.duration(95) == "about 2 minutes"
    assert words.plural(1, "member") == "1 member" and words.plural(2, "address", "addresses") \
        == "2 addresses"
    assert words.run_headline("unsubscribe", 3, "") == "Unsubscribe 3 members (permanent)"
    assert words.result_groups({"removed": 3, "failed": 1, "invalid": 2, "skip_not_on_list": 4,
                                "remove": 5}) == {"done": 3, "failed": 1, "skipped": 4,
                                                  "problems": 2, "waiting": 5}
    assert words.file_size(2_400_000) == "2.3 MB"
    assert QModelIndex().isValid() is False


@pytest.mark.parametrize("search", ["", "person1"])  # the proxy unfiltered, and filtered
def test_multidata_serves_a_whole_cell_like_data(qtbot, search):
    """Views ask through multiData (one call per cell): what they paint must be exactly what
    data(), role by role, gives (no colour or alignment leaking from one cell to the next)."""
    from PySide6.QtCore import QAbstractTableModel
    from PySide6.QtWidgets import QTableView

    class RoleByRole(RowTableModel):
        def multiData(self, index, roles):  # Qt's own: one data() call per role
            QAbstractTableModel.multiData(self, index, roles)

    class PlainProxy(RowFilterProxy):
        multiData = QSortFilterProxyModel.multiData  # asks the source role by role
        flags = QSortFilterProxyModel.flags

    table = make_table()
    images = []
    calls: list[int] = []
    for cls, proxy_cls in ((RowTableModel, RowFilterProxy), (RoleByRole, PlainProxy)):
        model = cls(table)
        model.apply(RowUpdate([3, 5], ["failed", "done"], ["failed", "removed"],
                              ["Still on Free Members", ""], [False, True]))
        model.sort(1, Qt.SortOrder.DescendingOrder)
        proxy = proxy_cls()
        proxy.setSourceModel(model)
        proxy.set_filter(None, search)
        view = QTableView()
        qtbot.addWidget(view)
        view.setModel(proxy)
        view.resize(800, 400)
        if cls is RowTableModel:
            original = RowTableModel.cell_data

            def spy(self, row, col, roles, original=original):
                calls.append(row)
                original(self, row, col, roles)

            RowTableModel.cell_data = spy  # type: ignore[method-assign]
            try:
                images.append(view.grab().toImage())
            finally:
                RowTableModel.cell_data = original  # type: ignore[method-assign]
        else:
            images.append(view.grab().toImage())
    assert calls  # the view went through multiData
    assert images[0] == images[1]  # painted exactly as role-by-role data() paints
    index = proxy.index(0, 1)
    assert index.data() == ("person1@example.org" if search else "person9@example.org")
    assert proxy.flags(index) & Qt.ItemFlag.ItemIsSelectable


def test_a_window_lowers_the_switch_interval(qtbot):
    """A job's thread must hand the interpreter lock to the window quickly (bench_gui.py)."""
    import sys

    from ccdesk.gui.worker import GUI_SWITCH_INTERVAL, keep_window_responsive

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        keep_window_responsive()
        assert sys.getswitchinterval() == pytest.approx(GUI_SWITCH_INTERVAL)
        keep_window_responsive()  # never raised again
        assert sys.getswitchinterval() == pytest.approx(GUI_SWITCH_INTERVAL)
    finally:
        sys.setswitchinterval(before)
