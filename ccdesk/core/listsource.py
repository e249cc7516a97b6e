"""A Constant Contact list as the source of members, in place of a spreadsheet.

"Who is on Sustainers and still on Free Members?" needs no export: the source list's members
are read, 500 a page, with their list memberships (``GET /contacts?lists=…&include=
list_memberships``), and those pages are at once the members (the rows) and the look-up (the
snapshot): each member is known to be in Constant Contact, on which lists, in which state. No
second look-up, no look-ups one by one. The cost is known before anything is spent: the pages
of the source list's ``membership_count``.

The members become a :class:`~ccdesk.core.sheet.MemberSheet` whose rows are the members in
the order read (``row`` 1, 2, …; the address as value and email; every row ``valid`` unless
the contact has no address), so the plan, the journal, the run, the undo and the log treat
them as sheet rows. The run removes the contact ids the preview showed (from the journal), not
"whoever is on the list" when it runs: that is what makes the undo exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from ccdesk.cc.client import ConstantContact
from ccdesk.cc.errors import Cancelled
from ccdesk.cc.models import Contact, ContactList
from ccdesk.core.addresses import Outcome as SheetOutcome
from ccdesk.core.lookup import Action, LookupCost, Snapshot, Strategy, pages
from ccdesk.core.phases import Phase
from ccdesk.core.plan import (
    Plan,
    PlanError,
    make_plan,
    predict_cost,
    read_account,
    resolve_lists,
    resolve_target,
)
from ccdesk.core.sheet import MemberSheet, SheetRows

#: ``MemberSheet.format`` of a list source.
LIST_FORMAT = "list"
#: The one "column" of a list source.
EMAIL_COLUMN = "Email"


def source_words(name: str) -> str:
    """``"the members of Sustainers"``: how a list source is named to people."""
    return f"the members of {name}"


def source_of(options: dict[str, Any] | None) -> dict[str, Any] | None:
    """The source list a run recorded (``{"list_id", "name"}``), or None for a spreadsheet."""
    source = (options or {}).get("source_list")
    return source if isinstance(source, dict) and source.get("list_id") else None


def find_list(available: Sequence[ContactList], wanted: str) -> ContactList:
    """The list with this id, or else this name (case-insensitive).

    Raises:
        PlanError: no such list (the message names the account's lists).
    """
    for item in available:
        if item.list_id == wanted:
            return item
    return resolve_lists(available, [wanted])[0]


def members_sheet(
    source: ContactList,
    pages_read: Iterable[Sequence[Contact]],
    *,
    only: AbstractSet[str] | None = None,
) -> tuple[MemberSheet, dict[str, Contact]]:
    """The source list's members as a sheet (rows in the order read), and the contacts by
    lower-case address (the snapshot's ``found``).

    Args:
        only: keep only the members with these (lower-case) addresses; the others are left
            out, and the rows kept keep their numbers ("try the failed ones again").
    """
    numbers: list[int] = []
    values: list[str] = []
    emails: list[str | None] = []
    outcomes: list[SheetOutcome] = []
    reasons: list[str] = []
    duplicate_of: list[int | None] = []
    found: dict[str, Contact] = {}
    first_row: dict[str, int] = {}
    n = 0
    for page in pages_read:
        for contact in page:
            n += 1
            value = contact.email.strip()
            email = value.lower() or None
            if only is not None and email not in only:
                continue
            numbers.append(n)
            values.append(value)
            if email is None:
                emails.append(None)
                outcomes.append(SheetOutcome.BLANK)
                reasons.append("This contact has no email address")
                duplicate_of.append(None)
            elif email in first_row:  # the same member twice (paging while the list changed)
                emails.append(email)
                outcomes.append(SheetOutcome.DUPLICATE)
                reasons.append(f"Same address as member {first_row[email]}")
                duplicate_of.append(first_row[email])
            else:
                first_row[email] = n
                found[email] = contact
                emails.append(email)
                outcomes.append(SheetOutcome.VALID)
                reasons.append("")
                duplicate_of.append(None)
    rows = SheetRows(numbers, values, emails, outcomes, reasons, duplicate_of)
    counts = {str(o): 0 for o in SheetOutcome}
    for outcome in outcomes:
        counts[str(outcome)] += 1
    sheet = MemberSheet(
        path="", format=LIST_FORMAT, sha256="", size=0, sheet_names=[], sheet=source.name,
        header_row=None, email_column=EMAIL_COLUMN, email_column_letter="",
        columns=[EMAIL_COLUMN], preview_rows=[], rows=rows, counts=counts, found_by="list",
        source_list={"list_id": source.list_id, "name": source.name,
                     "membership_count": source.membership_count},
    )
    return sheet, found


def chosen_sheet(source: ContactList) -> MemberSheet:
    """A list chosen as the source, before its members are read (the window's step 2): no rows;
    ``counts["valid"]`` is the list's member count as Constant Contact gave it."""
    sheet, _ = members_sheet(source, [])
    sheet.counts[str(SheetOutcome.VALID)] = source.membership_count or 0
    return sheet


def preview_list(
    client: ConstantContact,
    source: str,
    action: Action,
    list_names: Sequence[str],
    *,
    only: AbstractSet[str] | None = None,
    progress: Callable[[Phase, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    to: str | None = None,
) -> Plan:
    """Read the members of the list ``source`` (a name or an id) and plan every one of them.
    Changes nothing.

    Costs the account, privileges and lists (3 requests) and one page per 500 members of the
    source list; nothing else, whatever the action (the pages carry every member's state and
    lists).

    Args:
        only: plan only the members with these addresses (the failed ones of a run).
        to: a move's target list (its name).
        progress: called with (phase, done, total).

    Raises:
        PlanError: no such list, no target list, or the source is one of the target lists.
    """
    if action.on_chosen_lists and not list_names:
        raise PlanError("Choose a list", "Say which list the members should be taken off.")
    say = progress or (lambda phase, done, total: None)
    calls_at_start = client.calls
    account, may_change, all_lists = read_account(client, say)
    origin = find_list(all_lists, source)
    chosen = resolve_lists(all_lists, list_names) if list_names else []
    target = resolve_target(all_lists, action, to, chosen)
    if action.on_chosen_lists and any(x.list_id == origin.list_id for x in chosen):
        raise PlanError(f"{origin.name} is both the source and the list to take them off",
                        "Choose the list the members are on (for example Sustainers) as the "
                        "source, and another list (for example Free Members) to take them off.")
    size = origin.membership_count or 0
    expected = pages(size)
    cost = LookupCost(Strategy.BY_SOURCE_LIST, expected, _pages_words(expected, size, origin.name))
    read = 0

    def counted() -> Iterable[list[Contact]]:
        nonlocal read
        for page in client.iter_members([origin.list_id]):
            read += 1
            say(Phase.LOOKING_UP, min(read, expected), expected)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            yield page

    say(Phase.LOOKING_UP, 0, expected)
    sheet, found = members_sheet(origin, counted(), only=only)
    snapshot = Snapshot(found=found, strategy=Strategy.BY_SOURCE_LIST,
                        searched_lists=(origin.list_id,), pages=read)
    plan = make_plan(sheet, snapshot, action, chosen, all_lists, account, cost,
                     client.quota_left(), target)
    snapshot.calls = client.calls - calls_at_start  # every request of the preview, retries too
    took = LookupCost(Strategy.BY_SOURCE_LIST, read,
                      _pages_words(read, len(sheet.rows) if only is None else size, origin.name))
    plan.cost = predict_cost(plan.items, action, chosen, all_lists, took, snapshot.calls,
                             client.quota_left())
    plan.may_change = may_change
    return plan


def _pages_words(n: int, members: int, name: str) -> str:
    """``"20 pages of the 10,000 members of Sustainers"``."""
    return f"{n:,} page{'s' if n != 1 else ''} of the {members:,} members of {name}"


__all__ = ["EMAIL_COLUMN", "LIST_FORMAT", "chosen_sheet", "find_list", "members_sheet", "preview_list",
           "source_of", "source_words"]
