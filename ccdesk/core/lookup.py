"""Look the sheet's addresses up in Constant Contact, the cheapest way.

Two ways to learn who the sheet's people are in Constant Contact:

- *by email*: one ``GET /contacts?email=…`` per address (Constant Contact takes one address
  per request);
- *by paging*: read every member of the chosen lists (or, for "remove from all lists" and
  "unsubscribe", every contact of the account), 500 a page, and match the addresses locally.

The list sizes are known before anything is spent (``membership_count``), so
:func:`choose_strategy` picks the cheaper one for this sheet and says what it will cost.

Paging a list cannot tell "not in Constant Contact at all" from "in Constant Contact, not on the
list", and staff need to know: a member missing from the account altogether may be there under
another address, and still get the emails. So when paging leaves only a few addresses unfound,
they are then looked up one by one (:func:`follow_up`; how few is :func:`follow_up_limit`), and
the price of paging includes those look-ups from the start. When there are more, they are left
unchecked and the preview says so.
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
    MOVE = "move"  # onto another list (the target), then off the chosen list(s)

    @property
    def on_chosen_lists(self) -> bool:
        """Whether it acts on the members of the chosen lists only (remove and move)."""
        return self in (Action.REMOVE, Action.MOVE)


class Strategy(StrEnum):
    BY_EMAIL = "by_email"
    BY_LIST = "by_list"  # page the chosen lists' members
    BY_ACCOUNT = "by_account"  # page every contact of the account
    #: A list as the source (:mod:`ccdesk.core.listsource`): reading the source list's members
    #: (with their list memberships) is the look-up.
    BY_SOURCE_LIST = "by_source_list"


class Check(StrEnum):
    """How a run reads its changed contacts back, once their activities have completed."""

    BY_LIST = "by_list"  # page the target lists' members as they are after the change
    BY_CONTACT = "by_contact"  # one read per changed contact


#: Paging a list may always add this many look-ups one by one for the addresses it did not find
#: (see :func:`follow_up_limit`).
FOLLOW_UP_FLOOR = 25


@dataclass(frozen=True)
class LookupCost:
    """A way to look up, and its price in API calls.

    Attributes:
        calls: the most it costs (for paging by list: the pages, plus ``follow_ups``).
        follow_ups: of ``calls``, the look-ups one by one for addresses the paging may not find
            (paging by list only).
    """

    strategy: Strategy
    calls: int
    explanation: str
    follow_ups: int = 0


def pages(count: int) -> int:
    """Pages of 500 needed to read ``count`` contacts (one, even when empty)."""
    return max(1, math.ceil(count / PAGE_SIZE))


def list_paging_calls(sizes: Sequence[int]) -> int:
    """Calls to page the members of lists with these sizes (≤ 25 lists per query)."""
    total = 0
    for start in range(0, len(sizes), MAX_LISTS_PER_FILTER):
        total += pages(sum(sizes[start:start + MAX_LISTS_PER_FILTER]))
    return total


def follow_up_limit(paging_calls: int) -> int:
    """How many addresses missing from the paged lists are still looked up one by one.

    ``max(FOLLOW_UP_FLOOR, paging_calls)``: a fixed 25 (about six seconds at Constant Contact's
    4 requests a second, a quarter of a percent of the 10,000 a day), or, for a big list, as many
    as the pages read, so the look-ups at most double what the paging cost. Paging is chosen for
    a sheet of upgraded *free members*, so nearly all of them should be on the list: a few are
    not (a new address, a typo, a member who joined another way), and those are the ones staff
    must follow up. Many more than that means the wrong list or the wrong sheet, which the
    preview shows at once; spending hundreds or thousands of requests to confirm it would eat
    the day's allowance the run needs, so they are left unchecked and the preview says how many
    requests checking them would take.
    """
    return max(FOLLOW_UP_FLOOR, paging_calls)


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

    Paging a list is priced at its pages plus the most look-ups one by one it may need for the
    addresses not on the list (:func:`follow_up_limit`, at most one per address): prices are
    compared at their most, so the way chosen never costs more than the other could. Reading
    every address one by one, the other way, already tells "not on the list" from "not in
    Constant Contact".

    Args:
        lists: the chosen lists with their ``membership_count`` (for ``remove``).
        account_size: the number of contacts in the account (for the other actions).
    """
    by_email = LookupCost(Strategy.BY_EMAIL, n_addresses,
                          f"{n_addresses:,} look-ups, one per address")
    if n_addresses == 0:
        return LookupCost(Strategy.BY_EMAIL, 0, "nothing to look up")
    if action.on_chosen_lists:
        sizes = [x.membership_count or 0 for x in lists]
        calls = list_paging_calls(sizes)
        extra = min(n_addresses, follow_up_limit(calls))
        paging = LookupCost(Strategy.BY_LIST, calls + extra,
                            f"{paging_words(calls, sizes, lists)}, then up to "
                            f"{extra:,} look-up{'s' if extra != 1 else ''} for the addresses "
                            f"not on {'it' if len(lists) == 1 else 'them'}",
                            follow_ups=extra)
    else:
        if account_size is None:
            return by_email
        calls = pages(account_size)
        paging = LookupCost(Strategy.BY_ACCOUNT, calls,
                            f"{calls:,} page{'s' if calls != 1 else ''} of the account's "
                            f"{account_size:,} contacts")
    return paging if paging.calls < by_email.calls else by_email


def paging_words(calls: int, sizes: Sequence[int], lists: Sequence[ContactList]) -> str:
    """``"12 pages of the 6,000 members of Free Members"``."""
    return (f"{calls:,} page{'s' if calls != 1 else ''} of the {sum(sizes):,} members of "
            + ", ".join(x.name for x in lists))


@dataclass
class Snapshot:
    """What Constant Contact knows of the sheet's addresses.

    Attributes:
        found: contacts by lower-case address (only the sheet's addresses).
        strategy: how they were looked up.
        searched_lists: with paging by list, the lists that were read (an address not found
            is then "not on these lists", not "not in Constant Contact").
        calls: API calls spent.
        pages: with paging, the pages read.
        missing: with paging by list, the sheet's addresses the pages did not have.
        followed_up: look-ups one by one made for ``missing`` after the paging
            (:func:`follow_up`); an address of ``missing`` still not found is then not in
            Constant Contact at all.
        unchecked: how many of ``missing`` were not looked up one by one (0 once
            :func:`follow_up` has): not on the lists, perhaps not in Constant Contact either.
        unchecked_why: why not: ``"many"`` (more than :func:`follow_up_limit`) or
            ``"allowance"`` (today's allowance is kept for the run); ``""`` while undecided.
    """

    found: dict[str, Contact] = field(default_factory=dict)
    strategy: Strategy = Strategy.BY_EMAIL
    searched_lists: tuple[str, ...] = ()
    calls: int = 0
    pages: int = 0
    missing: list[str] = field(default_factory=list, repr=False)
    followed_up: int = 0
    unchecked: int = 0
    unchecked_why: str = ""


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

    With paging by list, the addresses not on the lists are left in ``missing``, unchecked:
    whether to look them up one by one (:func:`follow_up`) is the caller's choice, which may
    weigh what the run will need.

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
        account_size = None if action.on_chosen_lists else client.count_contacts()
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
        snapshot.pages = done
        if cost.strategy is Strategy.BY_LIST:
            snapshot.missing = [key for key in wanted.values() if key not in snapshot.found]
            snapshot.unchecked = len(snapshot.missing)
    snapshot.calls = client.calls - before
    return snapshot


def follow_up(
    client: ConstantContact,
    snapshot: Snapshot,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Look the addresses paging did not find (``snapshot.missing``) up one by one.

    Each is then either found (in Constant Contact, not on the lists; or deleted, or
    unsubscribed: added to ``found``) or not in Constant Contact at all. ``progress`` is called
    with (done, total) counting the pages already read.
    """
    before = client.calls
    total = snapshot.pages + len(snapshot.missing)
    for n, address in enumerate(snapshot.missing, 1):
        _check(cancel)
        contact = client.find_by_email(address)
        if contact is not None:
            snapshot.found[address] = contact
        snapshot.followed_up = n
        if progress:
            progress(snapshot.pages + n, total)
    snapshot.unchecked, snapshot.unchecked_why = 0, ""
    snapshot.calls += client.calls - before


def what_it_took(cost: LookupCost, snapshot: Snapshot, lists: Sequence[ContactList]) -> LookupCost:
    """The look-up as it went: the pages read, and the look-ups one by one made or not made
    (for the preview to say), e.g. "1 page of the 200 members of Free Members, then 6 look-ups
    for the addresses not on it"."""
    if cost.strategy is not Strategy.BY_LIST:
        return cost
    sizes = [x.membership_count or 0 for x in lists]
    words = paging_words(snapshot.pages, sizes, lists)
    them = "it" if len(lists) == 1 else "them"
    n = snapshot.unchecked
    if n:
        # No parentheses: the window and the command line show this in parentheses.
        words += (f"; the {n:,} address{'es' if n != 1 else ''} not on {them} "
                  f"{'were' if n != 1 else 'was'} not looked up one by one, which would take "
                  f"{n:,} more request{'s' if n != 1 else ''}")
        if snapshot.unchecked_why == "allowance":
            words += ", and what is left of today's allowance is needed for the run"
    elif snapshot.followed_up:
        k = snapshot.followed_up
        words += f", then {k:,} look-up{'s' if k != 1 else ''} for the addresses not on {them}"
    return LookupCost(Strategy.BY_LIST, snapshot.pages + snapshot.followed_up, words,
                      snapshot.followed_up)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
