"""Helpers for the core job tests: sheets written into tmp_path, a journal, a fast client.

Everything talks to the sandbox over real HTTP. The client paces nothing and retries quickly
(:func:`tests.cc.conftest.fast_client`); the sandbox's rate limit is off unless a test turns it
on, and its bulk activities finish in a fraction of a second (``FAST_ACTIVITIES``).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ccdesk.cc.client import ConstantContact
from ccdesk.core import runner
from ccdesk.core.journal import Journal
from ccdesk.core.lookup import Action
from ccdesk.core.plan import Plan, preview
from ccdesk.core.sheet import ImportOptions, MemberSheet, read_sheet
from tests.cc.conftest import fast_client

SUSTAINER = "Sustainer"
#: Read a sheet keeping only the rows whose Membership is Sustainer (other rows: filtered_out).
ONLY_SUSTAINERS = ImportOptions(filter_column="Membership", filter_values=(SUSTAINER,))


@pytest.fixture(autouse=True)
def _quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's test activities finish in ~0.1 s, and it answers at once: do not wait long."""
    monkeypatch.setattr(runner, "FIRST_POLL", 0.05)
    monkeypatch.setattr(runner, "RECOVER_GRACE", 0.01)


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal(tmp_path / "j.sqlite3")
    yield j
    j.close()


@pytest.fixture
def cc(sandbox) -> ConstantContact:
    """A client on the small account; the sandbox's rate limit off, pacing off."""
    sandbox.set_limits(rate_limit=0)
    return fast_client(sandbox)


def write_sheet(path: Path, values: Iterable[Any], *, membership: Sequence[str] | None = None) -> Path:
    """A sheet with the headings Name, Email, Membership and one row per value (row 2 on).

    ``membership`` gives each row's Membership (default: Sustainer for all). CSV or XLSX by
    the file's suffix.
    """
    values = list(values)
    kinds = list(membership) if membership is not None else [SUSTAINER] * len(values)
    rows: list[list[Any]] = [["Name", "Email", "Membership"]]
    rows += [[f"Member {i}", v, kind] for i, (v, kind) in enumerate(zip(values, kinds, strict=True))]
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(row)
        for cell in sheet["B"]:
            cell.data_type = "s"  # text, even when it starts with "=" (a hostile sheet)
        book.save(path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    return path


def sheet_of(tmp_path: Path, values: Iterable[Any], *, name: str = "members.csv",
             membership: Sequence[str] | None = None,
             options: ImportOptions | None = ONLY_SUSTAINERS) -> MemberSheet:
    """Write the sheet into tmp_path and read it as ccdesk does."""
    return read_sheet(write_sheet(tmp_path / name, values, membership=membership), options)


def plan_for(client: ConstantContact, tmp_path: Path, values: Iterable[Any], action: Action = Action.REMOVE,
             lists: Sequence[str] = ("Free Members",), **sheet_options: Any) -> Plan:
    """Write a sheet of ``values``, read it and preview ``action`` on it."""
    sheet = sheet_of(tmp_path, values, **sheet_options)
    return preview(client, sheet, action, list(lists) if action is Action.REMOVE else [])


def outcomes(plan: Plan) -> dict[str, str]:
    """Each row's outcome by the cell's address (or its text when it has none)."""
    return {(item.email or item.value): str(item.outcome) for item in plan.items}


def free_members_account(n: int, *, newsletter_every: int = 0, extra: int = 0) -> dict[str, Any]:
    """``n`` contacts on Free Members (``m{i}@example.org``); every ``newsletter_every``-th also
    on the Newsletter; ``extra`` more contacts on no list (``x{i}@example.org``)."""
    contacts = []
    for i in range(n):
        lists = ["Free Members"]
        if newsletter_every and i % newsletter_every == 0:
            lists.append("Newsletter")
        contacts.append({"email": f"m{i}@example.org", "first_name": f"M{i}", "last_name": "Test",
                         "lists": lists})
    contacts += [{"email": f"x{i}@example.org", "lists": []} for i in range(extra)]
    return {"account": {"organization_name": "Big Choir", "contact_email": "owner@example.org"},
            "lists": [{"name": "Free Members"}, {"name": "Newsletter"}], "contacts": contacts}


# ---- what the sandbox saw ---------------------------------------------------------------------

REMOVE_POST = r"/v3/activities/remove_list_memberships$"
ADD_POST = r"/v3/activities/add_list_memberships$"


def activities(sandbox, kind: str = "remove_list_memberships") -> list[Any]:
    """The bulk activities ccdesk made in the sandbox, oldest first (none made elsewhere)."""
    with sandbox.state.lock:
        return [sandbox.state.activities[i] for i in sandbox.state.activity_order
                if sandbox.state.activities[i].kind == kind and not sandbox.state.activities[i].foreign]


def assert_no_contact_twice(sandbox, kind: str = "remove_list_memberships") -> list[str]:
    """No contact was put in two activities of this kind; returns every contact id sent."""
    sent = [cid for a in activities(sandbox, kind) for cid in a.contact_ids]
    twice = [cid for cid, n in Counter(sent).items() if n > 1]
    assert not twice, f"{len(twice)} contacts were sent twice"
    return sent


def assert_counts_add_up(result_counts: dict[str, int], plan_or_rows: Plan | int) -> None:
    rows = plan_or_rows if isinstance(plan_or_rows, int) else len(plan_or_rows.items)
    assert sum(result_counts.values()) == rows, result_counts
    assert set(result_counts) <= {"removed", "unsubscribed", "re-added", "failed", "skip_not_on_list",
                                  "skip_not_found", "skip_unsubscribed", "skip_deleted", "invalid",
                                  "duplicate", "blank", "filtered_out"}, result_counts


def contact_ids(sandbox, emails: Iterable[str]) -> set[str]:
    return {sandbox.contact(e)["contact_id"] for e in emails}
