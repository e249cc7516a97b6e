"""The table and list models (the sheet's grid, the lists, the history): Qt's model tester on
each, and the words they show. The row tables (ItemsModel) are tested in test_itemsmodel.py."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt

from ccdesk.cc.models import ContactList
from ccdesk.core.journal import RunRecord
from ccdesk.core.sheet import read_sheet
from ccdesk.engine import only_addresses
from ccdesk.gui import words
from ccdesk.gui.models import CHECK, HistoryModel, ListsModel, SheetGridModel
from ccdesk.gui.tasks import HistoryEntry
from tests.gui.conftest import SAMPLE


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
                     {"done": 10, "failed": 1, "skipped": 2, "problems": 0, "waiting": 30},
                     sent=12),
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
    # the rows at Constant Contact and not read back yet are told apart from those not sent
    assert model.index(1, 4).data() == ("10 removed, 12 sent, not checked yet, 1 failed, "
                                        "18 not done yet")
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
