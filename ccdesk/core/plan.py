"""The preview: for every sheet row, what will happen and why, and what it will cost.

``make_plan`` is a plain function of the sheet, the snapshot and the action. ``preview`` is the
whole step (look up + plan) the CLI and the window call.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ccdesk.cc.client import MAX_CONTACTS_PER_ACTIVITY, MAX_LISTS_PER_ACTIVITY, ConstantContact
from ccdesk.cc.errors import NotFound
from ccdesk.cc.models import Account, Contact, ContactList
from ccdesk.core.addresses import Outcome as SheetOutcome
from ccdesk.core.lookup import (
    Action,
    Check,
    LookupCost,
    Snapshot,
    Strategy,
    choose_check,
    choose_strategy,
    follow_up,
    look_up,
    what_it_took,
)
from ccdesk.core.phases import Phase
from ccdesk.core.sheet import MemberSheet
from ccdesk.errors import CcdeskError

log = logging.getLogger("ccdesk.core.plan")

#: A preview older than this is looked up again before a run.
STALE_AFTER = 15 * 60.0
#: Polls expected per round of activities (they are checked together, 50 a request).
POLLS_PER_ROUND = 2
#: The privilege a user needs to change contacts (``GET /account/user/privileges``).
WRITE_PRIVILEGE = "contacts:write"
READ_PRIVILEGE = "contacts:read"


class Outcome(StrEnum):
    """What the preview says will happen to a sheet row."""

    REMOVE = "remove"
    MOVE = "move"  # put on the target list, then taken off the chosen list(s)
    UNSUBSCRIBE = "unsubscribe"
    SKIP_NOT_ON_LIST = "skip_not_on_list"
    SKIP_NOT_FOUND = "skip_not_found"
    SKIP_UNSUBSCRIBED = "skip_unsubscribed"
    SKIP_DELETED = "skip_deleted"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    BLANK = "blank"
    FILTERED_OUT = "filtered_out"


CHANGES = frozenset({Outcome.REMOVE, Outcome.MOVE, Outcome.UNSUBSCRIBE})
OUTCOME_ORDER = list(Outcome)


class PlanError(CcdeskError):
    title = "Cannot prepare this run"


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One sheet row in the preview (slots: a preview may hold 100,000)."""

    row: int
    value: str
    email: str | None
    outcome: Outcome
    reason: str
    contact_id: str | None = None
    list_ids: tuple[str, ...] = ()  # the lists it will be taken off (removals, moves)
    warning: str = ""  # e.g. "stays on Newsletter"
    add_ids: tuple[str, ...] = ()  # the list it will be put on first (a move: the target)

    def to_dict(self) -> dict[str, Any]:
        out = {"row": self.row, "email": self.email or self.value, "outcome": self.outcome.value,
               "reason": self.reason}
        if self.warning:
            out["warning"] = self.warning
        return out


@dataclass
class Cost:
    """API calls: spent on the look-up, and predicted for the run."""

    lookup: LookupCost
    lookup_spent: int
    run_changes: int  # activities or PUTs
    run_polls: int
    run_verify: int
    quota_left: int
    #: How the run reads its changes back (removals and undos; unsubscribing reads each
    #: contact right before its PUT, counted in ``run_changes``).
    check: Check = Check.BY_CONTACT
    #: A move: how the run reads back the contacts it put on the target list.
    add_check: Check | None = None

    @property
    def run_total(self) -> int:
        return self.run_changes + self.run_polls + self.run_verify

    @property
    def fits(self) -> bool:
        return self.run_total <= self.quota_left

    def to_dict(self) -> dict[str, Any]:
        return {"lookup": self.lookup_spent, "lookup_strategy": str(self.lookup.strategy),
                "lookup_explanation": self.lookup.explanation,
                "lookup_follow_ups": self.lookup.follow_ups, "run": self.run_total,
                "run_changes": self.run_changes, "run_polls": self.run_polls,
                "run_verify": self.run_verify, "check_strategy": str(self.check),
                **({"add_check_strategy": str(self.add_check)} if self.add_check else {}),
                "quota_left": self.quota_left}


@dataclass
class Plan:
    """The preview of a run: every row's fate, the cost, and what it was made from."""

    sheet: MemberSheet
    action: Action
    lists: list[ContactList]
    account: Account
    items: list[PlanItem]
    cost: Cost
    snapshot: Snapshot = field(repr=False)
    created_at: float = field(default_factory=time.time)
    #: Every list of the account by id (names for the lists a remove-all run takes people off).
    all_list_names: dict[str, str] = field(default_factory=dict)
    #: False when the connected user may not change contacts (e.g. a "Campaign Creator").
    may_change: bool = True
    #: A move: the list the members are put on.
    target: ContactList | None = None

    def refusal(self) -> PlanError | None:
        """Why this plan cannot be run whatever the person does next, or None."""
        if not self.may_change:
            return PlanError(
                "The connected user may not change contacts",
                "In Constant Contact this user's role (for example Campaign Creator) cannot "
                "change contacts or lists. Connect as the account owner or an account manager, "
                "then preview again.")
        return None

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(item.outcome for item in self.items)
        return {str(o): counted[o] for o in OUTCOME_ORDER if counted[o]}

    @property
    def changes(self) -> list[PlanItem]:
        return [item for item in self.items if item.outcome in CHANGES]

    @property
    def list_names(self) -> str:
        return ", ".join(x.name for x in self.lists)

    def is_stale(self, now: float | None = None) -> bool:
        """Too old to run, or the sheet changed on disk since (a list source: too old)."""
        if (now or time.time()) - self.created_at > STALE_AFTER:
            return True
        if self.sheet.from_list:
            return False
        try:
            return file_sha256(self.sheet.path) != self.sheet.sha256
        except OSError:
            return True

    def summary(self) -> str:
        """One sentence for people, e.g. "1,204 will be removed from Free Members, …"."""
        c = Counter(item.outcome for item in self.items)
        parts = []
        if self.action is Action.UNSUBSCRIBE:
            parts.append(f"{c[Outcome.UNSUBSCRIBE]:,} will be unsubscribed (permanently)")
        elif self.action is Action.REMOVE_ALL:
            parts.append(f"{c[Outcome.REMOVE]:,} will be removed from every list they are on")
        elif self.action is Action.MOVE:
            to = self.target.name if self.target else "the other list"
            parts.append(f"{c[Outcome.MOVE]:,} will be moved from {self.list_names} to {to}")
            if c[Outcome.REMOVE]:
                parts.append(f"{c[Outcome.REMOVE]:,} already on {to} will only be taken off "
                             f"{self.list_names}")
        else:
            parts.append(f"{c[Outcome.REMOVE]:,} will be removed from {self.list_names}")
        words = {  # (one, several)
            Outcome.SKIP_NOT_ON_LIST: ("is not on {}", "are not on {}"),
            Outcome.SKIP_NOT_FOUND: ("is not in Constant Contact", "are not in Constant Contact"),
            Outcome.SKIP_UNSUBSCRIBED: ("is already unsubscribed", "are already unsubscribed"),
            Outcome.SKIP_DELETED: ("is deleted in Constant Contact", "are deleted in Constant Contact"),
            Outcome.INVALID: ("address is invalid", "addresses are invalid"),
            Outcome.DUPLICATE: ("address is repeated", "addresses are repeated"),
            Outcome.BLANK: ("row is blank", "rows are blank"),
            Outcome.FILTERED_OUT: ("row is left out by the filter", "rows are left out by the filter"),
        }
        where = self.list_names if self.action.on_chosen_lists else "any list"
        for outcome, (one, several) in words.items():
            if c[outcome]:
                part = f"{c[outcome]:,} " + (one if c[outcome] == 1 else several).format(where)
                if outcome is Outcome.SKIP_NOT_ON_LIST and self.snapshot.unchecked:
                    part += f" ({self.unchecked_words()})"
                parts.append(part)
        return ", ".join(parts)

    def unchecked_words(self) -> str:
        """Why some addresses not on the list may not be in Constant Contact at all either, e.g.
        "ccdesk did not check whether they are in Constant Contact at all: that would take 300
        more requests" ("" when every one was checked)."""
        n = self.snapshot.unchecked
        if not n:
            return ""
        text = (f"ccdesk did not check whether {'it is' if n == 1 else 'they are'} in Constant "
                f"Contact at all: that would take {n:,} more request{'s' if n != 1 else ''}")
        if self.snapshot.unchecked_why == "allowance":
            text += ", and what is left of today's allowance is needed for the run"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The ``ccdesk preview --json`` shape (documented in the README)."""
        return {
            "rows": len(self.items),
            "counts": self.counts,
            "api_calls": self.cost.lookup_spent + self.cost.run_total,
            "items": [item.to_dict() for item in self.items],
            "action": str(self.action),
            "lists": [x.name for x in self.lists],
            "to": self.target.name if self.target else None,
            "account": self.account.organization_name,
            "summary": self.summary(),
            "may_change": self.may_change,
            "cost": {**self.cost.to_dict(), "not_checked": self.snapshot.unchecked},
            "file": self.sheet.path if not self.sheet.from_list else None,
            "sheet": self.sheet.sheet,
            "source_list": self.sheet.sheet if self.sheet.from_list else None,
        }


# =============================================================================================
# Planning


_SHEET_OUTCOMES = {
    SheetOutcome.INVALID: Outcome.INVALID,
    SheetOutcome.DUPLICATE: Outcome.DUPLICATE,
    SheetOutcome.BLANK: Outcome.BLANK,
    SheetOutcome.FILTERED_OUT: Outcome.FILTERED_OUT,
}


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes (to notice that a sheet changed since its preview)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _names(ids: Sequence[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(i, "a list") for i in ids)


def _shared(text: str) -> str:
    """One copy of a reason that thousands of rows give (a preview may hold 100,000 rows)."""
    return sys.intern(text)


def plan_item(row: Any, contact: Contact | None, action: Action, chosen: Sequence[ContactList],
              snapshot: Snapshot, names: dict[str, str],
              target: ContactList | None = None) -> PlanItem:
    """The fate of one valid sheet row (``target``: the list a move puts it on)."""
    base = {"row": row.row, "value": row.value, "email": row.email}
    chosen_ids = [x.list_id for x in chosen]
    chosen_names = ", ".join(x.name for x in chosen)
    if contact is None:
        if snapshot.strategy is Strategy.BY_LIST and snapshot.unchecked:
            # Paging the lists did not find it, and it was not looked up one by one.
            return PlanItem(**base, outcome=Outcome.SKIP_NOT_ON_LIST,
                            reason=_shared(f"Not on {chosen_names}; not checked whether it is in "
                                           "Constant Contact"))
        return PlanItem(**base, outcome=Outcome.SKIP_NOT_FOUND,
                        reason="No contact with this address in Constant Contact")
    cid = contact.contact_id
    if contact.deleted:
        return PlanItem(**base, contact_id=cid, outcome=Outcome.SKIP_DELETED,
                        reason="Deleted in Constant Contact: gets no email already")
    if contact.unsubscribed:
        return PlanItem(**base, contact_id=cid, outcome=Outcome.SKIP_UNSUBSCRIBED,
                        reason="Already unsubscribed: gets no email already")
    on = list(contact.list_ids or ())
    if action is Action.UNSUBSCRIBE:
        return PlanItem(**base, contact_id=cid, outcome=Outcome.UNSUBSCRIBE,
                        reason="Will be unsubscribed: no more email from this account")
    if action is Action.REMOVE_ALL:
        if not on:
            return PlanItem(**base, contact_id=cid, outcome=Outcome.SKIP_NOT_ON_LIST,
                            reason="On no list already")
        return PlanItem(**base, contact_id=cid, outcome=Outcome.REMOVE, list_ids=tuple(on),
                        reason=_shared(f"Off {_names(on, names)}"))
    targets = [i for i in chosen_ids if i in on]
    if not targets:
        return PlanItem(**base, contact_id=cid, outcome=Outcome.SKIP_NOT_ON_LIST,
                        reason=_shared(f"Not on {chosen_names}"))
    stays = [i for i in on if i not in targets]
    if action is Action.MOVE and target is not None:
        if target.list_id in on:
            stays.remove(target.list_id)
            return PlanItem(**base, contact_id=cid, outcome=Outcome.REMOVE,
                            list_ids=tuple(targets), warning=_stays(stays, names),
                            reason=_shared(f"Already on {target.name}: only taken off "
                                           f"{_names(targets, names)}"))
        return PlanItem(**base, contact_id=cid, outcome=Outcome.MOVE, list_ids=tuple(targets),
                        add_ids=(target.list_id,), warning=_stays(stays, names),
                        reason=_shared(f"From {_names(targets, names)} to {target.name}"))
    return PlanItem(**base, contact_id=cid, outcome=Outcome.REMOVE, list_ids=tuple(targets),
                    reason=_shared(f"Off {_names(targets, names)}"), warning=_stays(stays, names))


def _stays(stays: Sequence[str], names: dict[str, str]) -> str:
    return _shared(f"Stays on {_names(stays, names)}") if stays else ""


def make_plan(
    sheet: MemberSheet,
    snapshot: Snapshot,
    action: Action,
    chosen: Sequence[ContactList],
    all_lists: Sequence[ContactList],
    account: Account,
    lookup: LookupCost,
    quota_left: int,
    target: ContactList | None = None,
) -> Plan:
    """Every sheet row's fate, and the predicted cost of running it (``target``: the list a
    move puts them on)."""
    names = {x.list_id: x.name for x in all_lists}
    items: list[PlanItem] = []
    for row in sheet.rows:
        if row.outcome in _SHEET_OUTCOMES:
            items.append(PlanItem(row=row.row, value=row.value, email=row.email,
                                  outcome=_SHEET_OUTCOMES[row.outcome], reason=row.reason))
            continue
        contact = snapshot.found.get((row.email or "").lower())
        items.append(plan_item(row, contact, action, chosen, snapshot, names, target))
    cost = predict_cost(items, action, chosen, all_lists, lookup, snapshot.calls, quota_left)
    return Plan(sheet=sheet, action=action, lists=list(chosen), account=account, items=items,
                cost=cost, snapshot=snapshot, all_list_names=names, target=target)


def predict_cost(items: Sequence[PlanItem], action: Action, chosen: Sequence[ContactList],
                 all_lists: Sequence[ContactList], lookup: LookupCost, spent: int,
                 quota_left: int) -> Cost:
    """API calls the run will need: changes, activity checks, and reading the changes back."""
    changes = [i for i in items if i.outcome in CHANGES]
    if not changes:
        return Cost(lookup, spent, 0, 0, 0, quota_left)
    if action is Action.UNSUBSCRIBE:
        # Each contact is read fresh, then PUT; the PUT's answer is the contact as stored.
        return Cost(lookup, spent, 2 * len(changes), 0, 0, quota_left)
    sizes = {x.list_id: x.membership_count for x in all_lists}
    activities = activity_count(i.list_ids for i in changes)
    polls = POLLS_PER_ROUND * math.ceil(activities / 50)
    check, verify = choose_check([i.list_ids for i in changes], sizes)
    adds = [i.add_ids for i in changes if i.add_ids]
    if action is not Action.MOVE or not adds:
        return Cost(lookup, spent, activities, polls, verify, quota_left, check)
    # A move puts them on the target first (its own activities, checked and read back), then
    # takes them off.
    add_activities = activity_count(adds)
    add_check, add_verify = choose_check(adds, sizes, adding=True)
    return Cost(lookup, spent, activities + add_activities,
                polls + POLLS_PER_ROUND * math.ceil(add_activities / 50), verify + add_verify,
                quota_left, check, add_check)


def activity_count(targets: Iterable[Sequence[str]]) -> int:
    """Bulk activities needed for contacts with these target lists (same lists together)."""
    groups = Counter(tuple(sorted(lists)) for lists in targets)
    return sum(math.ceil(n / MAX_CONTACTS_PER_ACTIVITY) * math.ceil(len(lists) / MAX_LISTS_PER_ACTIVITY)
               for lists, n in groups.items())


# =============================================================================================
# The whole step


def _privileges(client: ConstantContact) -> set[str] | None:
    """What the connected user may do; None when Constant Contact won't say (then the run's own
    requests are the test: a refusal pauses the run)."""
    try:
        return client.privileges()
    except NotFound:
        log.warning("Constant Contact did not list the user's privileges")
        return None


def resolve_target(available: Sequence[ContactList], action: Action, to: str | None,
                   chosen: Sequence[ContactList]) -> ContactList | None:
    """The list a move puts the members on (None for the other actions).

    Raises:
        PlanError: a move without a target, a target that is one of the lists they leave, or
            a target given for another action.
    """
    if action is not Action.MOVE:
        if to:
            raise PlanError("Only a move has a list to move to",
                            "Choose “Move to another list” (or: --action move), or leave out "
                            "the list to move to.")
        return None
    if not to:
        raise PlanError("Choose the list to move them to",
                        "Say which list the members should be put on (for example Sustainers).")
    target = resolve_lists(available, [to])[0]
    if any(x.list_id == target.list_id for x in chosen):
        raise PlanError(f"{target.name} is both the list to leave and the list to move to",
                        "Move them to another list than the one they are taken off.")
    return target


def resolve_lists(available: Sequence[ContactList], names: Sequence[str]) -> list[ContactList]:
    """The chosen lists by name (case-insensitive); a clear error for a name that is unknown."""
    by_name = {x.name.casefold(): x for x in available}
    chosen = []
    for name in names:
        found = by_name.get(name.strip().casefold())
        if found is None:
            known = ", ".join(sorted(x.name for x in available)) or "none"
            raise PlanError(f"There is no list called “{name}”",
                            f"Choose one of the account's lists: {known}.")
        if found not in chosen:
            chosen.append(found)
    return chosen


def read_account(
    client: ConstantContact, say: Callable[[Phase, int, int], None],
) -> tuple[Account, bool, list[ContactList]]:
    """The first requests of every preview: the account, the user's privileges and every list
    (3 calls). Returns the account, whether the user may change contacts, and the lists.

    Raises:
        PlanError: the user may not even read contacts.
    """
    say(Phase.READING_ACCOUNT, 0, 0)
    account = client.account()
    privileges = _privileges(client)
    may_change = privileges is None or WRITE_PRIVILEGE in privileges
    if privileges is not None and READ_PRIVILEGE not in privileges:
        raise PlanError("The connected user may not read or change contacts",
                        "In Constant Contact this user's role (for example Campaign Creator) "
                        "cannot see or change contacts. Connect as the account owner or an "
                        "account manager.")
    return account, may_change, client.lists()


def preview(
    client: ConstantContact,
    sheet: MemberSheet,
    action: Action,
    list_names: Sequence[str],
    *,
    progress: Callable[[Phase, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    to: str | None = None,
) -> Plan:
    """Look the sheet up in Constant Contact and plan every row. Changes nothing.

    Args:
        progress: called with (phase, done, total).
        to: a move's target list (its name).
    """
    if action.on_chosen_lists and not list_names:
        raise PlanError("Choose a list", "Say which list the members should be taken off.")
    say = progress or (lambda phase, done, total: None)
    calls_at_start = client.calls
    account, may_change, all_lists = read_account(client, say)
    chosen = resolve_lists(all_lists, list_names) if list_names else []
    target = resolve_target(all_lists, action, to, chosen)
    addresses = sheet.addresses
    account_size = None if action.on_chosen_lists or not addresses else client.count_contacts()
    cost = choose_strategy(len(addresses), action, chosen, account_size)

    def looking(done: int, total: int) -> None:
        say(Phase.LOOKING_UP, done, total)

    snapshot = look_up(client, addresses, action, chosen, cost=cost, cancel=cancel,
                       progress=looking)
    plan = make_plan(sheet, snapshot, action, chosen, all_lists, account, cost, client.quota_left(),
                     target)
    if snapshot.unchecked:
        _settle_missing(client, plan, cost, looking, cancel)
    snapshot.calls = client.calls - calls_at_start  # every request of the preview, retries too
    plan.cost = predict_cost(plan.items, action, chosen, all_lists,
                             what_it_took(cost, snapshot, chosen), snapshot.calls,
                             client.quota_left())
    plan.may_change = may_change
    return plan


def _settle_missing(client: ConstantContact, plan: Plan, cost: LookupCost,
                    progress: Callable[[int, int], None], cancel: threading.Event | None) -> None:
    """After paging the lists: look the addresses not on them up one by one, when they are few
    (``cost.follow_ups``, priced before anything was spent) and the look-ups leave enough of
    today's allowance for the run; then each is either not in Constant Contact at all, or in it
    and not on the lists. Otherwise they stay unchecked, and the preview says why."""
    snapshot = plan.snapshot
    n = snapshot.unchecked
    if n > cost.follow_ups:
        snapshot.unchecked_why = "many"
    elif n + plan.cost.run_total > client.quota_left():
        snapshot.unchecked_why = "allowance"
    if snapshot.unchecked_why:
        log.info("%d addresses not on the lists were not looked up one by one (%s)", n,
                 snapshot.unchecked_why)
        progress(snapshot.pages, snapshot.pages)
        return
    follow_up(client, snapshot, progress=progress, cancel=cancel)
    missing = set(snapshot.missing)
    for i, item in enumerate(plan.items):
        key = (item.email or "").lower()
        if item.outcome is Outcome.SKIP_NOT_ON_LIST and key in missing:
            plan.items[i] = plan_item(item, snapshot.found.get(key), plan.action, plan.lists,
                                      snapshot, plan.all_list_names, plan.target)
