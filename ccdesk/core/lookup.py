"""Look the sheet's addresses up in Constant Contact, the cheapest way.

Two ways to learn who the sheet's people are in Constant Contact:

- *by email*: one ``GET /contacts?email=…`` per address (Constant Contact takes one address
  per request);
- *by paging*: read every member of the chosen lists (or, for "remove from all lists" and
  "unsubscribe", every contact of the account), 500 a page, and match the addresses locally.

The list sizes are known before anything is spent (``membership_count``), so
:func:`choose_strategy` picks the cheaper one for this sheet and says what it will cost. Paging
cannot tell "not in Constant Contact at all" from "not on the list"; both are reported as not on
the list, which is what matters for a removal.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ccdesk.cc.client import MAX_LISTS_PER_FILTER, PAGE_SIZE, ConstantContact
from ccdesk.cc.errors import Cancelled
from ccdesk.cc.models import Contact, ContactList


class Action(StrEnum):
    """What to do to the people in the sheet."""

    REMOVE = "remove"  # off the chosen list(s)
    REMOVE_ALL = "remove-all"  # off every list they are on
    UNSUBSCRIBE = "unsubscribe"  # opt out (permanent)


class Strategy(StrEnum):
    BY_EMAIL = "by_email"
    BY_LIST = "by_list"  # page the chosen lists' members
    BY_ACCOUNT = "by_account"  # page every contact of the account


class Check(StrEnum):
    """How a run reads its changed contacts back, once their activities have completed."""

    BY_LIST = "by_list"  # page the target lists' members as they are after the change
    BY_CONTACT = "by_contact"  # one read per changed contact


@dataclass(frozen=True)
class LookupCost:
    """A way to look up, and its price in API calls."""

    strategy: Strategy
    calls: int
    explanation: str


def pages(count: int) -> int:
    """Pages of 500 needed to read ``count`` contacts (one, even when empty)."""
    return max(1, math.ceil(count / PAGE_SIZE))


def list_paging_calls(sizes: Sequence[int]) -> int:
    """Calls to page the members of lists with these sizes (≤ 25 lists per query)."""
    total = 0
    for start in range(0, len(sizes), MAX_LISTS_PER_FILTER):
        total += pages(sum(sizes[start:start + MAX_LISTS_PER_FILTER]))
    return total


def choose_check(
    targets: Sequence[Sequence[str]], sizes: dict[str, int | None], *, adding: bool = False,
) -> tuple[Check, int]:
    """The cheaper way to read back contacts being taken off (or put on) lists, and its calls.

    It does not rely on ``updated_after``: a list change does not touch a contact's
    ``updated_at``. Either page the target lists' members as they will be after the change
    (a contact no longer there is off), or read each changed contact once.

    Args:
        targets: for each changed contact, the ids of the lists it is taken off (put on).
        sizes: every list's member count now (``membership_count``; None when unknown).
        adding: the change puts contacts on the lists (an undo).
    """
    per_contact = len(targets)
    changes = Counter(list_id for lists in targets for list_id in lists)
    if not per_contact or any(sizes.get(x) is None for x in changes):
        return Check.BY_CONTACT, per_contact
    after = [max(0, (sizes[x] or 0) + (n if adding else -n)) for x, n in sorted(changes.items())]
    paging = list_paging_calls(after)
    return (Check.BY_LIST, paging) if paging < per_contact else (Check.BY_CONTACT, per_contact)


def choose_strategy(
    n_addresses: int,
    action: Action,
    lists: Sequence[ContactList],
    account_size: int | None = None,
) -> LookupCost:
    """The cheaper way to look up ``n_addresses`` for this action; ties go to by-email.

    Args:
        lists: the chosen lists with their ``membership_count`` (for ``remove``).
        account_size: the number of contacts in the account (for the other actions).
    """
    by_email = LookupCost(Strategy.BY_EMAIL, n_addresses,
                          f"{n_addresses:,} look-ups, one per address")
    if n_addresses == 0:
        return LookupCost(Strategy.BY_EMAIL, 0, "nothing to look up")
    if action is Action.REMOVE:
        sizes = [x.membership_count or 0 for x in lists]
        calls = list_paging_calls(sizes)
        paging = LookupCost(Strategy.BY_LIST, calls,
                            f"{calls:,} page{'s' if calls != 1 else ''} of the "
                            f"{sum(sizes):,} members of "
                            + ", ".join(x.name for x in lists))
    else:
        if account_size is None:
            return by_email
        calls = pages(account_size)
        paging = LookupCost(Strategy.BY_ACCOUNT, calls,
                            f"{calls:,} page{'s' if calls != 1 else ''} of the account's "
                            f"{account_size:,} contacts")
    return paging if paging.calls < by_email.calls else by_email


@dataclass
class Snapshot:
    """What Constant Contact knows of the sheet's addresses.

    Attributes:
        found: contacts by lower-case address (only the sheet's addresses).
        strategy: how they were looked up.
        searched_lists: with paging by list, the lists that were read (an address not found
            is then "not on these lists", not "not in Constant Contact").
        calls: API calls spent.
    """

    found: dict[str, Contact] = field(default_factory=dict)
    strategy: Strategy = Strategy.BY_EMAIL
    searched_lists: tuple[str, ...] = ()
    calls: int = 0


Progress = Callable[[int, int], None]


def look_up(
    client: ConstantContact,
    addresses: Sequence[str],
    action: Action,
    lists: Sequence[ContactList],
    *,
    cost: LookupCost | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Snapshot:
    """Find the sheet's addresses in Constant Contact; returns a :class:`Snapshot`.

    Args:
        addresses: normalised (lower-case) addresses, each once.
        cost: a strategy chosen earlier (see :func:`choose_strategy`); chosen here if None.
        progress: called with (done, total) as pages or look-ups come in.
        cancel: checked between requests; raises :class:`~ccdesk.cc.errors.Cancelled`.
    """
    before = client.calls
    # The sheet's own address strings (already lower-case) are the keys: no second copy of
    # each of 100,000 addresses.
    wanted: dict[str, str] = {}
    for address in addresses:
        key = address.lower()
        wanted[key] = address if address == key else key
    if cost is None:
        account_size = None if action is Action.REMOVE else client.count_contacts()
        cost = choose_strategy(len(wanted), action, lists, account_size)
    snapshot = Snapshot(strategy=cost.strategy)
    total = max(cost.calls, 1)
    done = 0
    if cost.strategy is Strategy.BY_EMAIL:
        for address in addresses:
            _check(cancel)
            contact = client.find_by_email(address)
            if contact is not None:
                snapshot.found[wanted[address.lower()]] = contact
            done += 1
            if progress:
                progress(done, total)
    else:
        if cost.strategy is Strategy.BY_LIST:
            snapshot.searched_lists = tuple(x.list_id for x in lists)
            page_source = client.iter_members(snapshot.searched_lists)
        else:
            page_source = client.iter_all_contacts()
        for page in page_source:
            for contact in page:
                key = wanted.get(contact.email.lower())
                if key is not None:
                    snapshot.found[key] = contact
            done += 1
            if progress:
                progress(min(done, total), total)
            _check(cancel)
    snapshot.calls = client.calls - before
    return snapshot


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
