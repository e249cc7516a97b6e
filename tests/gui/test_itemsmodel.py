"""ItemsModel: the rows of a run read from SQLite, checked against an oracle in plain Python
computed from the same journal's items (``Journal.items``) — which rows a filter keeps, in
which order a sort puts them, and what each cell shows — in every mode (on the window's thread
and on the worker thread), while another connection writes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtWidgets import QTableView

from ccdesk.core.journal import ITEM_STATES, ItemRecord, Journal
from ccdesk.gui import words
from ccdesk.gui.itemsmodel import CACHE_PAGES, PAGE, ItemsModel, category_sql
from ccdesk.gui.models import (
    ALIGN,
    CATEGORY_ROLE,
    DISPLAY,
    EMAIL_ROLE,
    FILTER_KEY_ROLE,
    FOREGROUND,
    OUTCOME_ROLE,
    ROW_ROLE,
    STATE_ROLE,
    TOOLTIP,
)

OUTCOMES = ["remove", "unsubscribe", "re_add", "skip_not_on_list", "skip_not_found",
            "skip_unsubscribed", "skip_deleted", "invalid", "duplicate", "blank", "filtered_out",
            "valid", "mystery_outcome"]
ROLES = (DISPLAY, TOOLTIP, ALIGN, FOREGROUND, ROW_ROLE, EMAIL_ROLE, OUTCOME_ROLE, STATE_ROLE,
         CATEGORY_ROLE, FILTER_KEY_ROLE)
ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
N = 120


def make_items(n: int, start: int = 4) -> Iterator[dict[str, Any]]:
    for i in range(n):
        o = OUTCOMES[i % len(OUTCOMES)]
        email = (None if i % 17 == 0 else "" if i % 19 == 0 else
                 f"{'Person' if i % 2 else 'person'}{'_' if i % 5 == 0 else ''}{i % 40}@Example.org")
        yield {"row": start + 2 * i, "email": email, "value": f"value {i}", "outcome": o,
               "reason": f"reason {i % 7}", "list_ids": ["l1"],
               "state": "planned" if o in words.CHANGE_OUTCOMES else "skipped",
               "result": "" if o in words.CHANGE_OUTCOMES else o}


def new_run(journal: Journal, n: int = N) -> str:
    return journal.create_run(file_path="/x/upgrades.xlsx", file_sha256="s", sheet="Sheet1",
                              action="remove", lists=[{"list_id": "l1", "name": "Free Members"}],
                              account={}, items=make_items(n))


def run_some(journal: Journal, run_id: str) -> None:
    """Some rows done (some checked), failed with a message, and sent."""
    change = [it.row for it in journal.items(run_id) if it.outcome in words.CHANGE_OUTCOMES]
    journal.finish_items(run_id, change[0::5], state="done", result="removed", verified=True)
    journal.finish_items(run_id, change[1::5], state="done", result="removed")
    journal.finish_items(run_id, change[2::5], state="failed", result="failed",
                         message="Still on Free Members")
    journal.open_batch(run_id, "remove_list_memberships", change[3::5], ["l1"])


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


@pytest.fixture
def run(journal: Journal) -> str:
    run_id = new_run(journal)
    run_some(journal, run_id)
    return run_id


@pytest.fixture(params=["here", "worker"])
def model(request: pytest.FixtureRequest, qapp: Any) -> Iterator[ItemsModel]:
    """On the window's thread (a small table) and on the worker thread (sync_limit 0)."""
    m = ItemsModel(sync_limit=10_000 if request.param == "here" else 0)
    yield m
    m.clear()
    assert m._db is None


# ---- the oracle: what the model documents, computed in plain Python from Journal.items -------

@dataclass(frozen=True)
class Row:
    """One row as the model should show it (a preview: no state, result or message)."""

    row: int
    address: str  # the email, or the cell's value when there is none
    outcome: str
    reason: str
    state: str
    result: str
    verified: bool
    message: str
    category: str


def expected_rows(items: Iterable[ItemRecord], *, with_states: bool = True) -> list[Row]:
    """The rows of a run in sheet order."""
    out = []
    for it in items:
        state, result, verified, message = ((it.state, it.result, it.verified, it.cc_message)
                                            if with_states else ("", "", False, ""))
        out.append(Row(it.row, it.email or it.value, it.outcome, it.reason, state, result,
                       verified, message, words.category(it.outcome, state)))
    return out


def fold(text: str) -> str:
    """ASCII letters in lower case (SQLite's LIKE and NOCASE ignore the case of ASCII only)."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def search_text(r: Row) -> str:
    """What the search text is looked for in: the row number, the address, the reason and
    Constant Contact's message (ItemsModel.set_filter), one after the other."""
    return f"{r.row} {r.address} {r.reason} {r.message}"


def kept(rows: Sequence[Row], categories: Iterable[str] | None, text: str) -> list[Row]:
    cats = None if categories is None else set(categories)
    needle = fold(text.strip())
    return [r for r in rows if (cats is None or r.category in cats)
            and needle in fold(search_text(r))]


def sort_key(column: int, *, with_states: bool = True) -> Callable[[Row], Any]:
    """The key of each column; ties keep the sheet's order (in either direction)."""
    keys: dict[int, Callable[[Row], Any]] = {
        0: lambda r: r.row,
        1: lambda r: fold(r.address),
        2: lambda r: r.outcome,  # the outcome's name, not its words
        3: lambda r: r.reason,
        4: (lambda r: (r.state, r.result)) if with_states else (lambda r: 0),  # a preview: none
    }
    return keys[max(0, min(column, 4))]


def expected(rows: Sequence[Row], categories: Iterable[str] | None = None, text: str = "",
             column: int = 0, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder, *,
             with_states: bool = True) -> list[Row]:
    """The rows shown for a filter and a sort (``sorted`` is stable, reversed or not)."""
    return sorted(kept(rows, categories, text), key=sort_key(column, with_states=with_states),
                  reverse=order == Qt.SortOrder.DescendingOrder)


def expected_numbers(journal: Journal, run_id: str, categories: Iterable[str] | None = None,
                     text: str = "", column: int = 0, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder,
                     *, with_states: bool = True) -> list[int]:
    rows = expected_rows(journal.items(run_id), with_states=with_states)
    return [r.row for r in expected(rows, categories, text, column, order, with_states=with_states)]


RED, GREEN, GREY = "#b00020", "#1b6e20", "#6b6b6b"
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def expected_cell(r: Row, col: int, role: int) -> Any:
    """What one role of one cell should be (colours by name)."""
    if role in (DISPLAY, TOOLTIP):
        if col == 0:
            return r.row if role == DISPLAY else f"Row {r.row} of the spreadsheet"
        result = words.status_words(r.state, r.result, r.verified)
        if r.state == "failed" and r.message:
            result = f"{result}: {r.message}"
        return (r.address, words.outcome_words(r.outcome), r.reason, result)[col - 1]
    if role == ALIGN:
        return RIGHT if col == 0 else None
    if role == FOREGROUND:
        # failures red everywhere; problems red, skipped and left-out rows grey in the outcome
        # and reason columns; done rows green in the Result column
        if r.category == words.FAILED or (r.category == words.PROBLEM and col in (2, 3)):
            return RED
        if r.category == words.DONE and col == 4:
            return GREEN
        if r.category in (words.SKIPPED, words.FILTERED) and col in (2, 3):
            return GREY
        return None
    return {ROW_ROLE: r.row, EMAIL_ROLE: r.address, OUTCOME_ROLE: r.outcome, STATE_ROLE: r.state,
            CATEGORY_ROLE: r.category,
            FILTER_KEY_ROLE: f"{r.category}\t{search_text(r)}"}[role]


def expected_counts(rows: Iterable[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.category] = counts.get(r.category, 0) + 1
    return counts


def show(model: ItemsModel, journal: Journal, run_id: str, **kw: Any) -> None:
    model.set_source(journal.path, run_id, **kw)
    assert model.wait()


def cell(index: Any, role: int) -> Any:
    value = index.data(role)
    if value is None:
        return None
    if role == FOREGROUND:
        return value.color().name()
    return int(value) if role == ALIGN else value


def rows_of(model: Any) -> list[int]:
    return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]


def same_cells(model: ItemsModel, rows: Sequence[Row]) -> None:
    assert model.rowCount() == len(rows)
    for pos, r in enumerate(rows):
        for c in range(5):
            for role in ROLES:
                assert cell(model.index(pos, c), role) == expected_cell(r, c, role), (pos, c, role)


# ---- the category: SQL and words agree ---------------------------------------------------------

@pytest.mark.parametrize("with_states", [True, False])
def test_category_sql_agrees_with_words_for_every_outcome_and_state(with_states):
    outcomes = sorted(set(words.OUTCOME_WORDS) | words.CHANGE_OUTCOMES | words.PROBLEM_OUTCOMES
                      | {"mystery_outcome", ""})
    states = ["", *ITEM_STATES, "started"]
    with sqlite3.connect(":memory:") as con:
        con.execute("CREATE TABLE items (outcome TEXT, state TEXT)")
        con.executemany("INSERT INTO items VALUES (?, ?)",
                        [(o, s) for o in outcomes for s in states])
        sql = f"SELECT outcome, state, {category_sql(with_states)} FROM items"  # noqa: S608
        got = con.execute(sql).fetchall()
    con.close()
    assert len(got) == len(outcomes) * len(states)
    for outcome, state, cat in got:
        assert cat == words.category(outcome, state if with_states else ""), (outcome, state)


# ---- Qt's model tester ---------------------------------------------------------------------------

def test_model_tester_in_every_mode(qtmodeltester, model, journal, run):
    show(model, journal, run)
    qtmodeltester.check(model)
    model.set_filter([words.CHANGE, words.FAILED], "")
    model.wait()
    qtmodeltester.check(model)
    model.sort(1, DESC)
    model.wait()
    qtmodeltester.check(model)
    model.set_filter(None, "reason 3")
    model.wait()
    qtmodeltester.check(model)
    model.set_filter([], "")
    model.wait()
    assert model.rowCount() == 0
    qtmodeltester.check(model)
    show(model, journal, run, with_states=False)  # a preview
    model.set_filter(None, "")
    model.wait()
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)


def test_model_tester_through_a_refresh_that_changes_the_rows(qtmodeltester, model, journal, run):
    show(model, journal, run)
    model.set_filter([words.DONE], "")
    model.wait()
    qtmodeltester.check(model)
    before = model.rowCount()
    change = [it.row for it in journal.items(run, state="planned")]
    journal.finish_items(run, change[:3], state="done", result="removed")
    model.refresh()
    model.wait()
    assert model.rowCount() == before + 3


# ---- the rows, order, words and colours the oracle expects ---------------------------------------

FILTERS = [(None, ""), ([words.CHANGE], ""), ([words.DONE, words.FAILED], ""), ([], ""),
           ([words.PROBLEM, words.SKIPPED, words.READY, words.FILTERED], ""), (None, "person1"),
           (None, "REASON 2"), ([words.CHANGE], "example"), (None, "Still on"), (None, "value 3"),
           (None, "1 person"), (None, "8 person2"), (None, "100%"), (None, "_"),
           (None, "  reason  ")]


def test_the_oracle_sees_every_case(journal, run):
    """The journal's rows give the filters and sorts below something to tell apart."""
    rows = expected_rows(journal.items(run))
    assert set(expected_counts(rows)) == {words.CHANGE, words.READY, words.DONE, words.FAILED,
                                          words.SKIPPED, words.PROBLEM, words.FILTERED}
    assert {r.state for r in rows} == {"planned", "sent", "done", "failed", "skipped"}
    for cats, text in FILTERS:
        n = len(kept(rows, cats, text))
        if cats == [] or text in ("100%", "1 person"):  # "%" is no wildcard; rows are even
            assert n == 0, (cats, text)
        else:
            assert n > 0, (cats, text)
    assert kept(rows, None, "  reason  ") == rows  # the text is stripped
    across = kept(rows, None, "8 person2")  # the end of the row number, then the address
    assert across and all(str(r.row).endswith("8") and fold(r.address).startswith("person2")
                          for r in across)
    for column in (1, 2, 3, 4):  # ties that the sheet's order breaks
        keys = [sort_key(column)(r) for r in rows]
        assert len(set(keys)) < len(keys), column


@pytest.mark.parametrize("with_states", [True, False])
def test_filters_and_sorts_give_what_the_oracle_expects(model, journal, run, with_states):
    rows = expected_rows(journal.items(run), with_states=with_states)
    show(model, journal, run, with_states=with_states)
    same_cells(model, rows)
    assert model.counts() == expected_counts(rows)
    assert model.total() == len(rows)
    for cats, text in FILTERS:
        model.set_filter(cats, text)
        model.sort(0, ASC)
        model.wait()
        want = expected(rows, cats, text, with_states=with_states)
        assert rows_of(model) == [r.row for r in want], (cats, text)
        assert model.shown() == len(want)
        assert model.counts() == expected_counts(rows)  # the filter ignored
        for column in range(5):
            for order in (ASC, DESC):
                model.sort(column, order)
                model.wait()
                want = expected(rows, cats, text, column, order, with_states=with_states)
                assert rows_of(model) == [r.row for r in want], (cats, text, column, order)
        same_cells(model, want)  # the last sort: the Result column, descending
    for column in range(5):
        model.set_filter([words.CHANGE, words.FAILED, words.SKIPPED], "o")
        model.sort(column, DESC)
        model.wait()
        same_cells(model, expected(rows, [words.CHANGE, words.FAILED, words.SKIPPED], "o",
                                   column, DESC, with_states=with_states))


def test_display_words_for_each_state(model, journal, run):
    show(model, journal, run, after_run=True)
    assert model.headerData(2, Qt.Orientation.Horizontal) == "What was planned"
    seen = {}
    for r in range(model.rowCount()):
        it = model.index(r, 4)
        seen[it.data(STATE_ROLE)] = it.data()
    assert seen["planned"] == "Not done yet"
    assert seen["sent"] == "Sent; not checked yet"
    assert seen["failed"] == "Failed: Still on Free Members"
    assert seen["skipped"].startswith("Not changed")
    assert {model.index(r, 4).data() for r in range(model.rowCount())
            if model.index(r, 4).data(STATE_ROLE) == "done"} == {"Removed", "Removed (checked)"}
    show(model, journal, run, with_states=False)
    assert model.headerData(2, Qt.Orientation.Horizontal) == "What will happen"
    assert {model.index(r, 4).data() for r in range(model.rowCount())} == {""}
    assert model.counts().get(words.DONE, 0) == 0  # a preview's states are ignored
    first = model.index(0, 0)
    assert first.data() == 4 and first.data(TOOLTIP) == "Row 4 of the spreadsheet"
    assert model.index(0, 1).data() == "value 0"  # no address: the cell's value
    assert int(first.data(ALIGN)) == int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def test_a_view_paints_it(qtbot, model, journal, run):
    show(model, journal, run)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.resize(800, 400)
    view.grab()
    view.sortByColumn(1, DESC)
    model.wait()
    view.grab()
    assert model.index(0, 1).data() == "value 95"  # "value …" sorts after "person…"


# ---- counts, pages ------------------------------------------------------------------------------

def test_counts_ignore_the_filter(model, journal, run):
    show(model, journal, run)
    counts = model.counts()
    assert sum(counts.values()) == N == model.total()
    model.set_filter([words.DONE], "")
    model.wait()
    assert model.counts() == counts
    assert model.shown() == counts[words.DONE] == model.rowCount()


def test_a_big_table_is_read_a_page_at_a_time(qapp, journal, tmp_path):
    run_id = new_run(journal, 3000)
    model = ItemsModel(sync_limit=0)
    try:
        show(model, journal, run_id)
        assert model.rowCount() == 3000
        assert model._pages == {}  # nothing read before a view asks
        assert model.index(2999, 0).data() == 4 + 2 * 2999
        assert model.index(1000, 0).data() == 4 + 2 * 1000
        assert len(model._pages) == 2
        for r in range(0, 3000, 100):
            model.index(r, 1).data()
        assert len(model._pages) <= 16
        model._pages.clear()
        assert rows_of(model) == [4 + 2 * i for i in range(3000)]  # page after page
        model.sort(0, DESC)
        model.wait()
        assert model.index(0, 0).data() == 4 + 2 * 2999
        model._order = None  # read by position, page after page
        assert rows_of(model) == [4 + 2 * i for i in reversed(range(3000))]
        show(model, journal, run_id, with_states=False)
        model.sort(4, DESC)  # a preview's Result column: the sheet's order
        model.wait()
        model._order = None
        assert rows_of(model) == [4 + 2 * i for i in range(3000)]
        model.sort(1, ASC)
        model.wait()
        assert model.rowCount() == 3000 and model._order is not None
        model._pages.clear()
        assert rows_of(model) == expected_numbers(journal, run_id, None, "", 1, ASC,
                                                  with_states=False)
    finally:
        model.clear()


def test_a_big_run_filtered_and_sorted_page_by_page(qapp, journal):
    """Pages read by row number (an order worked out on the worker thread), in every order."""
    run_id = new_run(journal, 3000)
    run_some(journal, run_id)
    rows = expected_rows(journal.items(run_id))
    model = ItemsModel(sync_limit=0)
    try:
        show(model, journal, run_id)
        assert model.counts() == expected_counts(rows)
        for cats, text, column, order in [(None, "", 4, DESC), ([words.CHANGE, words.DONE], "", 1, ASC),
                                          ([words.SKIPPED, words.FAILED], "o", 3, DESC),
                                          (None, "person_", 2, ASC)]:
            model.set_filter(cats, text)
            model.sort(column, order)
            assert model.wait()
            want = expected(rows, cats, text, column, order)
            assert model.rowCount() == len(want) > PAGE, (cats, text)
            assert rows_of(model) == [r.row for r in want], (cats, text, column, order)
            for pos in [*range(0, len(want), 97), len(want) - 1]:
                for c in range(5):
                    for role in ROLES:
                        assert cell(model.index(pos, c), role) == expected_cell(want[pos], c, role)
            assert len(model._pages) <= CACHE_PAGES
    finally:
        model.clear()


@pytest.mark.parametrize("search", ["", "person1"])
def test_multidata_serves_a_whole_cell_like_data(qtbot, journal, run, search):
    """Views ask through multiData (one call per cell): what they paint must be exactly what
    data(), role by role, gives (no colour or alignment leaking from one cell to the next)."""
    from PySide6.QtCore import QAbstractTableModel

    class RoleByRole(ItemsModel):
        def multiData(self, index, roles):  # Qt's own: one data() call per role
            QAbstractTableModel.multiData(self, index, roles)

    images = []
    calls: list[int] = []
    for cls in (ItemsModel, RoleByRole):
        model = cls()
        show(model, journal, run)
        model.set_filter(None, search)
        model.sort(1, DESC)
        model.wait()
        view = QTableView()
        qtbot.addWidget(view)
        view.setModel(model)
        view.resize(800, 400)
        if cls is ItemsModel:
            original = ItemsModel.multiData

            def spy(self, index, roles, original=original):
                calls.append(index.row())
                original(self, index, roles)

            ItemsModel.multiData = spy  # type: ignore[method-assign]
            try:
                images.append(view.grab().toImage())
            finally:
                ItemsModel.multiData = original  # type: ignore[method-assign]
        else:
            images.append(view.grab().toImage())
        want = expected(expected_rows(journal.items(run)), None, search, 1, DESC)
        assert model.index(0, 1).data() == want[0].address
        model.clear()
    assert calls  # the view went through multiData
    assert images[0] == images[1]  # painted exactly as role-by-role data() paints


# ---- refresh while another process writes ------------------------------------------------------

def test_refresh_takes_in_new_states(qtbot, model, journal, run):
    show(model, journal, run)
    model.refresh()  # nothing changed: nothing happens
    assert not model.busy
    planned = [it.row for it in journal.items(run, state="planned")]
    row = planned[0]
    pos = rows_of(model).index(row)
    assert model.index(pos, 4).data() == "Not done yet"
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append((a.row(), b.row())))
    journal.finish_items(run, [row], state="done", result="removed", verified=True)
    before = model.counts()[words.DONE]
    with qtbot.waitSignal(model.countsChanged, timeout=5000):
        model.refresh()
    assert changed and changed[0][0] <= pos <= changed[0][1]
    assert model.index(pos, 4).data() == "Removed (checked)"
    assert model.counts()[words.DONE] == before + 1


def test_refresh_keeps_the_selected_row_when_rows_join_the_filter(qtbot, model, journal, run):
    show(model, journal, run)
    model.set_filter([words.CHANGE], "")
    model.sort(1, ASC)
    model.wait()
    keep = QPersistentModelIndex(model.index(5, 1))
    kept_row = keep.data(ROW_ROLE)
    gone = QPersistentModelIndex(model.index(0, 0))
    gone_row = gone.data(ROW_ROLE)
    journal.finish_items(run, [gone_row], state="done", result="removed")
    model.refresh()
    model.wait()
    assert not gone.isValid()  # left the filter
    assert keep.isValid() and keep.data(ROW_ROLE) == kept_row and keep.column() == 1
    assert gone_row not in rows_of(model)
    assert rows_of(model) == expected_numbers(journal, run, [words.CHANGE], "", 1, ASC)


def test_refresh_while_a_writer_holds_a_transaction(model, journal, run):
    show(model, journal, run)
    planned = [it.row for it in journal.items(run, state="planned")]
    writer = sqlite3.connect(journal.path, isolation_level=None, timeout=5)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE items SET state = 'done', result = 'removed' WHERE run_id = ?"
                       " AND row = ?", (run, planned[0]))
        start = time.perf_counter()
        model.refresh()
        model.set_filter([words.DONE], "")
        assert model.wait()
        assert time.perf_counter() - start < 1.0  # a reader is never kept waiting (WAL)
        assert planned[0] not in rows_of(model)  # not committed: not seen
        writer.execute("COMMIT")
    finally:
        writer.close()
    model.refresh()
    model.wait()
    assert planned[0] in rows_of(model)


def test_a_locked_file_shows_nothing_until_a_later_refresh(model, tmp_path):
    path = tmp_path / "sheet.sqlite3"
    with Journal(path) as j:  # a private file with the same table, without WAL
        run_id = new_run(j, 40)
    with sqlite3.connect(path, isolation_level=None) as con:
        con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    locker = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        locker.execute("UPDATE items SET reason = 'x' WHERE row = 4")
        model.set_source(path, run_id)
        model.wait()
        assert model.rowCount() == 0
        model.refresh()
        model.wait()
        assert model.rowCount() == 0
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    model.refresh()
    model.wait()
    assert model.rowCount() == 40 and model.index(0, 3).data() == "reason 0"


def test_a_file_that_does_not_exist_yet(model, tmp_path):
    path = tmp_path / "later" / "journal.sqlite3"
    model.set_source(path, "sheet")
    model.wait()
    assert model.rowCount() == 0 and model.counts() == {}
    model.refresh()
    assert not path.exists()  # looking never makes the file
    path.parent.mkdir()
    with Journal(tmp_path / "elsewhere.sqlite3") as j:
        run_id = new_run(j, 25)
    (tmp_path / "elsewhere.sqlite3").replace(path)
    model.refresh()  # still another run id: no rows
    model.wait()
    assert model.rowCount() == 0
    model.set_source(path, run_id)
    model.wait()
    assert model.rowCount() == 25 and sum(model.counts().values()) == 25


def test_answers_arrive_through_the_event_loop(qtbot, journal, run):
    model = ItemsModel(sync_limit=0)
    try:
        model.set_source(journal.path, run)
        assert model.rowCount() == N  # shown at once: the sheet's order
        with qtbot.waitSignal(model.settled, timeout=5000):
            model.set_filter([words.FAILED], "")
        assert model.rowCount() == model.counts()[words.FAILED] > 0
        # a wish made while the worker is busy replaces the one before it
        model.set_filter([words.DONE], "")
        model.set_filter([words.SKIPPED], "")
        qtbot.waitUntil(lambda: not model.busy, timeout=5000)
        assert {model.index(r, 0).data(CATEGORY_ROLE) for r in range(model.rowCount())} == {
            words.SKIPPED}
        model.set_source(journal.path, run)  # a new source drops the answer under way
        model.clear()
        qtbot.wait(50)
        assert model.rowCount() == 0
    finally:
        model.clear()


def test_the_connection_is_closed_with_the_model(qapp, journal, run):
    import gc

    model = ItemsModel()
    show(model, journal, run)
    box = model._box
    assert box.con is not None
    del model
    gc.collect()
    assert box.con is None


def test_a_sheets_rows_written_after_the_model_looked(model, tmp_path):
    """A private file with the same table; the sheet's rows (run id "sheet") come later."""
    path = tmp_path / "sheet.sqlite3"
    Journal(path).close()
    model.set_source(path, "sheet", with_states=False)
    model.set_filter([words.PROBLEM], "")
    model.wait()
    assert model.rowCount() == 0
    model.refresh()
    model.wait()
    assert model.rowCount() == 0
    with sqlite3.connect(path, isolation_level=None) as con:
        con.executemany(
            "INSERT INTO items (run_id, row, email, value, outcome, reason, state, updated_at)"
            " VALUES ('sheet', ?, ?, ?, ?, ?, ?, 0)",
            [(it["row"], it["email"], it["value"], it["outcome"], it["reason"], it["state"])
             for it in make_items(40)])
    con.close()
    model.refresh()
    model.wait()
    assert sum(model.counts().values()) == 40
    assert model.rowCount() == model.counts()[words.PROBLEM] > 0
    assert {model.index(r, 2).data(CATEGORY_ROLE) for r in range(model.rowCount())} == {
        words.PROBLEM}
