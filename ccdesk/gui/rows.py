"""The rows behind every big table of the window, as plain Python (no Qt).

A :class:`RowTable` holds one entry per sheet row in parallel lists (cheaper than 100,000
objects): the Excel row number, the address, the planned outcome and its reason, and — once a
run has begun — the state, result and Constant Contact's message. It is built on a worker thread
(from a :class:`~ccdesk.core.plan.Plan`, a run's journal items or a sheet's problem rows) and
then handed to :class:`ccdesk.gui.models.RowTableModel`, so the GUI thread never loops over
100,000 rows.

:class:`RowUpdate` carries state changes of some rows during a run, already resolved to
positions in the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ccdesk.gui import words


@dataclass
class RowTable:
    """Parallel columns, one entry per row, in sheet order."""

    rows: list[int] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    position: dict[int, int] = field(default_factory=dict)  # sheet row → index
    counts: Counter[str] = field(default_factory=Counter)  # category → rows

    def __len__(self) -> int:
        return len(self.rows)

    def finish(self) -> RowTable:
        """Compute the row index and the category counts; returns self."""
        self.position = {row: i for i, row in enumerate(self.rows)}
        self.counts = Counter(map(words.category, self.outcomes, self.states))
        return self

    def category(self, i: int) -> str:
        return words.category(self.outcomes[i], self.states[i])

    # -- builders ---------------------------------------------------------------------------
    @classmethod
    def from_plan(cls, plan: Any, *, with_states: bool = False) -> RowTable:
        """The preview's rows; ``with_states`` starts a run's view (planned / skipped)."""
        items = plan.items
        n = len(items)
        table = cls(
            rows=[i.row for i in items],
            emails=[i.email or i.value for i in items],
            outcomes=[str(i.outcome) for i in items],
            reasons=[f"{i.reason}. {i.warning}" if i.warning else i.reason for i in items],
            results=[""] * n,
            messages=[""] * n,
            verified=[False] * n,
        )
        if with_states:
            changes = words.CHANGE_OUTCOMES
            table.states = ["planned" if o in changes else "skipped" for o in table.outcomes]
        else:
            table.states = [""] * n
        return table.finish()

    @classmethod
    def from_items(cls, items: Sequence[Any]) -> RowTable:
        """A run's rows, from the journal's :class:`~ccdesk.core.journal.ItemRecord` list."""
        return cls(
            rows=[i.row for i in items],
            emails=[i.email or i.value for i in items],
            outcomes=[i.outcome for i in items],
            reasons=[i.reason for i in items],
            states=[i.state for i in items],
            results=[i.result for i in items],
            messages=[i.cc_message for i in items],
            verified=[bool(i.verified) for i in items],
        ).finish()

    @classmethod
    def from_sheet_rows(cls, rows: Iterable[Any]) -> RowTable:
        """Rows of a :class:`~ccdesk.core.sheet.MemberSheet` (e.g. its problems)."""
        rows = list(rows)
        n = len(rows)
        return cls(
            rows=[r.row for r in rows],
            emails=[r.value for r in rows],
            outcomes=[str(r.outcome) for r in rows],
            reasons=[r.reason for r in rows],
            states=[""] * n,
            results=[""] * n,
            messages=[""] * n,
            verified=[False] * n,
        ).finish()


@dataclass
class RowUpdate:
    """New states for some rows of a table, by index (sorted ascending)."""

    indexes: list[int]
    states: list[str]
    results: list[str]
    messages: list[str]
    verified: list[bool]

    def __len__(self) -> int:
        return len(self.indexes)

    def head(self, n: int) -> RowUpdate:
        """The first ``n`` rows of the update."""
        return RowUpdate(self.indexes[:n], self.states[:n], self.results[:n], self.messages[:n],
                         self.verified[:n])

    def tail(self, n: int) -> RowUpdate:
        """All but the first ``n`` rows."""
        return RowUpdate(self.indexes[n:], self.states[n:], self.results[n:], self.messages[n:],
                         self.verified[n:])


def chunked_update(table: RowTable, changes: dict[int, tuple[str, str, str, bool]],
                   size: int = 5000) -> list[RowUpdate]:
    """Turn ``{sheet row: (state, result, message, verified)}`` into updates of ≤ ``size`` rows.

    Rows the table does not hold are ignored. Small updates keep the GUI thread's share of the
    work short, however many rows change at once.
    """
    indexed = sorted((table.position[row], value) for row, value in changes.items()
                     if row in table.position)
    out = []
    for start in range(0, len(indexed), size):
        part = indexed[start:start + size]
        out.append(RowUpdate([i for i, _ in part], [v[0] for _, v in part],
                             [v[1] for _, v in part], [v[2] for _, v in part],
                             [v[3] for _, v in part]))
    return out
