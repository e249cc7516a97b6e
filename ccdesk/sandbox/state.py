"""The sandbox's account: lists, contacts, bulk activities, and their JSON shapes.

The state file format (used by ``--state FILE``, the demo account and tests) is::

    {"account": {"organization_name": "…", "contact_email": "…", …},   # optional
     "user_role": "account_owner",   # optional: or account_manager, campaign_creator
     "lists": [{"name": "Free Members", "description": "…"}, …],
     "contacts": [{"email": "a@b.org", "first_name": "…", "last_name": "…",
                   "lists": ["Free Members"], "permission_to_send": "implicit",
                   "deleted": false}, …]}

Ids are made here (deterministically, from a seed), so the same file always gives the same
ids. A saved sandbox (:meth:`AccountState.to_saved`, the persistent demo account) adds a
``"saved"`` member holding the records as they are, ids, times and bulk activities included
(unfinished ones finish when their time comes); :meth:`AccountState.from_data` reads either.

Behaviours the public material leaves open (cc-v3-api.md §8, "open questions") are decided
here once and named in the README; the client must not depend on them.

Not thread-safe by itself: the server holds :attr:`AccountState.lock` around every use.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
import random
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

PERMISSIONS = ("explicit", "implicit", "not_set", "pending_confirmation", "temp_hold", "unsubscribed")
MAILABLE = frozenset({"explicit", "implicit"})
CORE_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "company_name",
    "birthday_month",
    "birthday_day",
    "anniversary",
)
SUB_RESOURCES = (
    "custom_fields",
    "phone_numbers",
    "street_addresses",
    "list_memberships",
    "taggings",
    "notes",
)
STATUS_FILTERS = ("all", "active", "deleted", *PERMISSIONS[2:])
MAX_LISTS_PER_CONTACT = 50
ACTIVITY_RETENTION = 10 * 86400.0
SAVED_VERSION = 1  # of the "saved" member of a state file (AccountState.to_saved)
TERMINAL_STATES = frozenset({"completed", "cancelled", "failed", "timed_out"})

DEFAULT_ACCOUNT = {
    "organization_name": "Harbourview Members' Association",
    "contact_email": "office@harbourview.example.org",
    "first_name": "Sam",
    "last_name": "Okafor",
    "contact_phone": "555-0100",
    "organization_phone": "555-0101",
    "country_code": "US",
    "state_code": "MA",
    "time_zone_id": "US/Eastern",
    "website": "https://harbourview.example.org",
}


# The connected user's privileges (GET /account/user/privileges), by role. The names are those
# of the V3 description's x-authorization-privileges and Constant Contact's privilege list; the
# ids are the sandbox's own (only campaign:create = 30 is documented, as an example).
PRIVILEGE_IDS = {
    "account:read": 1, "account:update": 2, "campaign:activate": 10, "campaign:create": 30,
    "campaign:delete": 31, "campaign:list": 32, "campaign:read": 33, "campaign:send": 34,
    "campaign:stop": 35, "campaign:write": 36, "contacts:lists:read": 50,
    "contacts:lists:write": 51, "contacts:read": 52, "contacts:signuptools:create": 53,
    "contacts:write": 54, "customer-journey:create": 70, "customer-journey:read": 71,
    "customer-journey:update": 72, "mylibrary:create": 80, "mylibrary:delete": 81,
    "mylibrary:read": 82, "mylibrary:update": 83, "ui:campaign:metrics": 90,
}
# Owners and managers may use every endpoint. A Campaign Creator may create, edit and view
# campaigns and view contact lists, not read or change contacts nor change lists (Constant
# Contact's "User Roles and Privileges Overview"); that it may read the account summary is
# the sandbox's assumption.
ROLE_PRIVILEGES = {
    "account_owner": tuple(PRIVILEGE_IDS),
    "account_manager": tuple(PRIVILEGE_IDS),
    "campaign_creator": ("account:read", "campaign:create", "campaign:list", "campaign:read",
                         "campaign:write", "contacts:lists:read", "mylibrary:create",
                         "mylibrary:read", "mylibrary:update"),
}


@functools.lru_cache(maxsize=1 << 16)
def iso(epoch: float) -> str:
    """An ISO-8601 UTC date-time with milliseconds, as the API writes them."""
    text = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
    return text[:-6] + "Z"  # "+00:00" → "Z"


def iso_date(epoch: float) -> str:
    """An ISO-8601 date (``deleted_at`` is a date, not a date-time)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


class ApiError(Exception):
    """A REST error: the server answers ``status`` with ``[{error_key, error_message}]``."""

    def __init__(self, status: int, key: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.key = key
        self.message = message

    def body(self) -> list[dict[str, str]]:
        return [{"error_key": self.key, "error_message": self.message}]


def validation_error(message: str, key: str = "contacts.api.validation.error") -> ApiError:
    return ApiError(400, key, message)


# =============================================================================================
# Records


@dataclass(slots=True)
class ListRecord:
    list_id: str
    name: str
    description: str
    favorite: bool
    created_at: float
    updated_at: float
    deleted_at: float | None = None
    members: list[int] = field(default_factory=list)  # sorted contact sequence numbers

    def add_member(self, seq: int) -> bool:
        if not self.members or seq > self.members[-1]:
            self.members.append(seq)  # the common case: a newer contact
            return True
        i = bisect.bisect_left(self.members, seq)
        if i < len(self.members) and self.members[i] == seq:
            return False
        self.members.insert(i, seq)
        return True

    def remove_member(self, seq: int) -> bool:
        i = bisect.bisect_left(self.members, seq)
        if i < len(self.members) and self.members[i] == seq:
            del self.members[i]
            return True
        return False


@dataclass(slots=True)
class ContactRecord:
    seq: int
    contact_id: str
    address: str
    permission: str
    created_at: float
    updated_at: float
    create_source: str = "Account"
    update_source: str = "Account"
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company_name: str | None = None
    birthday_month: int | None = None
    birthday_day: int | None = None
    anniversary: str | None = None
    email_updated_at: float = 0.0
    opt_in_source: str | None = None
    opt_in_date: float | None = None
    opt_out_source: str | None = None
    opt_out_date: float | None = None
    opt_out_reason: str | None = None
    confirm_status: str = "off"
    deleted_at: float | None = None
    lists: list[str] = field(default_factory=list)
    extras: dict[str, list[Any]] | None = None  # custom_fields, phone_numbers, …

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass
class ActivityRecord:
    """One bulk activity, ccdesk's or (``foreign``) one the account made elsewhere.

    ``outcome`` is what it ends as: ``completed``, or ``failed`` / ``cancelled`` /
    ``timed_out``, when the first ``applied`` contacts are changed and the rest are not. A
    ``done_at`` of infinity never comes: the activity stays ``processing`` (stuck).
    """

    activity_id: str
    kind: str  # "remove_list_memberships" | "add_list_memberships" | a foreign kind
    client_id: str | None
    contact_ids: list[str]
    list_ids: list[str]
    created_at: float
    start_at: float
    done_at: float
    outcome: str = "completed"  # completed | failed | cancelled | timed_out
    error_count: int = 0  # with outcome "completed": the first N contacts fail
    applied: int = 0  # with another outcome: the first N contacts are changed all the same
    errors: list[str] = field(default_factory=list)
    settled: bool = False
    foreign: bool = False  # made elsewhere (an import, an export, the web app, another app)
    items_total: int | None = None  # a foreign activity's size (it names no contacts here)

    @property
    def size(self) -> int:
        return self.items_total if self.items_total is not None else len(self.contact_ids)

    def state_at(self, now: float) -> tuple[str, int, int]:
        """(state, percent_done, items_completed) at ``now``."""
        total = self.size
        if self.settled:
            if self.outcome == "completed":
                return "completed", 100, total
            done = min(self.applied, total)
            return self.outcome, (done * 100 // total) if total else 0, done
        if now < self.start_at:
            return "initialized", 0, 0
        span = max(self.done_at - self.start_at, 1e-9)
        fraction = min(max((now - self.start_at) / span, 0.0), 0.99)
        return "processing", int(fraction * 100), int(fraction * total)


# Activities made elsewhere: imports, exports, the web app's list changes, deletions.
FOREIGN_KINDS = ("add_contacts", "contact_exports", "remove_list_memberships",
                 "add_list_memberships", "contact_delete", "list_delete")
# Sizes include 500 and the small sizes of ccdesk's batches (a tail, a retry of a few).
FOREIGN_SIZES = (500, 500, 500, 1, 1, 2, 3, 5, 10, 12, 25, 50, 100, 250, 499, 1200, 4000)

OUTCOME_ERRORS = {
    "failed": "The activity failed",
    "cancelled": "The activity was cancelled",
    "timed_out": "The activity timed out before completing",
}


# =============================================================================================
# The account


class AccountState:
    """One Constant Contact account: its lists, contacts and activities."""

    def __init__(self, account: dict[str, Any] | None = None, seed: int = 1) -> None:
        self.lock = threading.RLock()
        self.account = {**DEFAULT_ACCOUNT, **(account or {})}
        self._rng = random.Random(seed)
        self.account.setdefault("encoded_account_id", self._id_hex(12))
        self.user_role = "account_owner"  # the connected user's role (ROLE_PRIVILEGES)
        self.lists: dict[str, ListRecord] = {}
        self.list_order: list[str] = []
        self.contacts: dict[str, ContactRecord] = {}
        self.by_seq: list[ContactRecord] = []  # index = seq
        self.by_email: dict[str, ContactRecord] = {}
        self.activities: dict[str, ActivityRecord] = {}
        self.activity_order: list[str] = []
        self._pending: list[tuple[float, int, str]] = []  # heap of (done_at, n, id)
        self._pending_n = 0
        # False (the default, what the real service most likely does): list-membership changes
        # and opt-outs leave a contact's ``updated_at`` alone. True: they bump it (the old
        # sandbox behaviour, ``--list-changes-touch-contacts``).
        self.list_changes_touch_contacts = False
        # Activities the account makes elsewhere (see start_foreign); none unless asked.
        self._foreign_rng = random.Random(seed * 7919 + 17)
        self._foreign_every = 0.0
        self._foreign_next = math.inf

    # ---- ids -----------------------------------------------------------------------------

    def new_id(self) -> str:
        """A UUID string from the seeded generator (8-4-4-4-12, as the API uses)."""
        return _uuid(self._rng)

    def _id_hex(self, n: int) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    # ---- loading and saving ------------------------------------------------------------------

    @classmethod
    def from_data(cls, data: dict[str, Any], *, now: float, seed: int = 1) -> AccountState:
        """Build the account from the state-file format (see the module docstring)."""
        if "saved" in data:
            return cls._from_saved(data, seed=seed)
        state = cls(data.get("account"), seed=seed)
        role = data.get("user_role", "account_owner")
        if role not in ROLE_PRIVILEGES:
            raise ValueError(f"user_role {role!r}: use one of {sorted(ROLE_PRIVILEGES)}")
        state.user_role = role
        created = now - 400 * 86400
        for item in data.get("lists", []):
            state.create_list(item["name"], item.get("description", ""), now=created,
                              favorite=bool(item.get("favorite", False)))
        by_name = {rec.name: rec.list_id for rec in state.lists.values()}
        for n, item in enumerate(data.get("contacts", [])):
            names = item.get("lists", [])
            unknown = [name for name in names if name not in by_name]
            if unknown:
                raise ValueError(f"contact {item.get('email')!r}: unknown list(s) {unknown}")
            permission = item.get("permission_to_send", "implicit")
            if permission not in PERMISSIONS:
                raise ValueError(f"contact {item.get('email')!r}: bad permission {permission!r}")
            stamp = created + n  # distinct, ordered creation times
            rec = state.add_contact(
                item["email"],
                permission=permission,
                first_name=item.get("first_name"),
                last_name=item.get("last_name"),
                list_ids=[by_name[name] for name in names],
                now=stamp,
            )
            if item.get("deleted"):
                state.soft_delete(rec, now=stamp)
        return state

    def to_data(self) -> dict[str, Any]:
        """The account in the state-file format (ids are not kept)."""
        self.settle(float("inf"))
        names = {rec.list_id: rec.name for rec in self.lists.values()}
        contacts = []
        for rec in self.by_seq:
            item: dict[str, Any] = {"email": rec.address}
            if rec.first_name is not None:
                item["first_name"] = rec.first_name
            if rec.last_name is not None:
                item["last_name"] = rec.last_name
            item["lists"] = [names[i] for i in rec.lists]
            item["permission_to_send"] = rec.permission
            item["deleted"] = rec.deleted
            contacts.append(item)
        out: dict[str, Any] = {"account": dict(self.account)}
        if self.user_role != "account_owner":
            out["user_role"] = self.user_role
        return {
            **out,
            "lists": [
                {"name": self.lists[i].name, "description": self.lists[i].description}
                for i in self.list_order
                if self.lists[i].deleted_at is None
            ],
            "contacts": contacts,
        }

    def to_saved(self) -> dict[str, Any]:
        """The account exactly as it stands (ids, times, unfinished activities) for a later
        :meth:`from_data`; unlike :meth:`to_data` nothing is settled early."""
        version, internal, gauss = self._rng.getstate()
        out: dict[str, Any] = {"account": dict(self.account), "user_role": self.user_role}
        out["saved"] = {
            "version": SAVED_VERSION,
            "rng": [version, list(internal), gauss],
            "lists": [asdict(self.lists[i]) for i in self.list_order],
            "contacts": [asdict(rec) for rec in self.by_seq],
            "activities": [asdict(self.activities[i]) for i in self.activity_order],
        }
        return out

    @classmethod
    def _from_saved(cls, data: dict[str, Any], *, seed: int) -> AccountState:
        saved = data["saved"]
        if saved.get("version") != SAVED_VERSION:
            raise ValueError(f"saved sandbox version {saved.get('version')!r} is not "
                             f"{SAVED_VERSION}")
        state = cls(data.get("account"), seed=seed)
        role = data.get("user_role", "account_owner")
        if role not in ROLE_PRIVILEGES:
            raise ValueError(f"user_role {role!r}: use one of {sorted(ROLE_PRIVILEGES)}")
        state.user_role = role
        version, internal, gauss = saved["rng"]
        state._rng.setstate((version, tuple(internal), gauss))
        for item in saved["lists"]:
            rec = ListRecord(**item)
            state.lists[rec.list_id] = rec
            state.list_order.append(rec.list_id)
        for seq, item in enumerate(saved["contacts"]):
            rec = ContactRecord(**item)
            if rec.seq != seq or any(i not in state.lists for i in rec.lists):
                raise ValueError(f"saved contact {seq} does not fit the saved lists")
            state.contacts[rec.contact_id] = rec
            state.by_seq.append(rec)
            state.by_email[rec.address.lower()] = rec
        for item in saved["activities"]:
            activity = ActivityRecord(**item)
            state.activities[activity.activity_id] = activity
            state.activity_order.append(activity.activity_id)
            if not activity.settled:  # still to come: applied when its time comes
                state._pending_n += 1
                heapq.heappush(state._pending,
                               (activity.done_at, state._pending_n, activity.activity_id))
        return state

    # ---- the connected user ----------------------------------------------------------------

    def privileges(self) -> list[str]:
        """The connected user's privilege names."""
        return list(ROLE_PRIVILEGES[self.user_role])

    def privileges_json(self) -> list[dict[str, Any]]:
        """The ``UserPrivilegesResource`` of the connected user."""
        return [{"privilege_id": PRIVILEGE_IDS[name], "privilege_name": name}
                for name in self.privileges()]

    # ---- lists -----------------------------------------------------------------------------

    def create_list(
        self, name: str, description: str = "", *, now: float, favorite: bool = False
    ) -> ListRecord:
        if any(rec.name == name for rec in self.lists.values()):
            raise ApiError(409, "contact_lists.api.conflict", f"A list named {name!r} already exists.")
        rec = ListRecord(self.new_id(), name, description, favorite, now, now)
        self.lists[rec.list_id] = rec
        self.list_order.append(rec.list_id)
        return rec

    def list_by_name(self, name: str) -> ListRecord | None:
        return next((rec for rec in self.lists.values() if rec.name == name), None)

    def membership_count(self, rec: ListRecord, which: str = "all") -> int:
        if which == "active":
            return sum(1 for seq in rec.members if self.by_seq[seq].permission in MAILABLE)
        return len(rec.members)

    # ---- contacts ----------------------------------------------------------------------------

    def add_contact(
        self,
        email: str,
        *,
        permission: str = "implicit",
        first_name: str | None = None,
        last_name: str | None = None,
        list_ids: Iterable[str] = (),
        now: float,
        source: str = "Account",
    ) -> ContactRecord:
        key = email.lower()
        if key in self.by_email:
            raise ApiError(409, "contacts.api.conflict", f"Email {email} already exists.")
        rec = ContactRecord(
            seq=len(self.by_seq),
            contact_id=self.new_id(),
            address=email,
            permission=permission,
            created_at=now,
            updated_at=now,
            create_source=source,
            update_source=source,
            first_name=first_name,
            last_name=last_name,
            email_updated_at=now,
        )
        if permission in MAILABLE or permission == "pending_confirmation":
            rec.opt_in_source = source
            rec.opt_in_date = now
        if permission == "unsubscribed":
            rec.opt_out_source = "Contact"
            rec.opt_out_date = now
        if permission == "pending_confirmation":
            rec.confirm_status = "pending"
        self.contacts[rec.contact_id] = rec
        self.by_seq.append(rec)
        self.by_email[key] = rec
        for list_id in list_ids:
            self._join(rec, list_id)
        return rec

    def _join(self, rec: ContactRecord, list_id: str) -> bool:
        if list_id in rec.lists:
            return False
        rec.lists.append(list_id)
        self.lists[list_id].add_member(rec.seq)
        return True

    def _leave(self, rec: ContactRecord, list_id: str) -> bool:
        if list_id not in rec.lists:
            return False
        rec.lists.remove(list_id)
        self.lists[list_id].remove_member(rec.seq)
        return True

    def soft_delete(self, rec: ContactRecord, *, now: float) -> None:
        """DELETE /contacts/{id}: off every list, ``deleted_at`` set, permission kept."""
        for list_id in list(rec.lists):
            self._leave(rec, list_id)
        rec.deleted_at = now
        rec.updated_at = now

    def contact_json(self, rec: ContactRecord, include: Iterable[str] = ()) -> dict[str, Any]:
        """The ``ContactResource`` of one contact; sub-resources only when included."""
        email: dict[str, Any] = {
            "address": rec.address,
            "permission_to_send": rec.permission,
            "created_at": iso(rec.created_at),
            "updated_at": iso(rec.email_updated_at),
        }
        if rec.opt_in_source:
            email["opt_in_source"] = rec.opt_in_source
            email["opt_in_date"] = iso(rec.opt_in_date or rec.created_at)
        if rec.permission == "unsubscribed":
            email["opt_out_source"] = rec.opt_out_source or "Account"
            email["opt_out_date"] = iso(rec.opt_out_date or rec.updated_at)
            if rec.opt_out_reason:
                email["opt_out_reason"] = rec.opt_out_reason
        email["confirm_status"] = rec.confirm_status
        out: dict[str, Any] = {"contact_id": rec.contact_id, "email_address": email}
        for name in CORE_FIELDS:
            value = getattr(rec, name)
            if value is not None:
                out[name] = value
        out["create_source"] = rec.create_source
        out["update_source"] = rec.update_source
        out["created_at"] = iso(rec.created_at)
        out["updated_at"] = iso(rec.updated_at)
        if rec.deleted_at is not None:
            out["deleted_at"] = iso_date(rec.deleted_at)
        for name in include:
            if name == "list_memberships":
                out["list_memberships"] = list(rec.lists)
            else:
                out[name] = list((rec.extras or {}).get(name, []))
        return out

    def matches_status(self, rec: ContactRecord, statuses: frozenset[str]) -> bool:
        """Whether a contact passes a ``status`` filter (empty = the default: not deleted)."""
        if "all" in statuses:
            return True
        if rec.deleted_at is not None:
            return "deleted" in statuses
        if not statuses:
            return True
        if "active" in statuses and rec.permission in MAILABLE:
            return True
        return rec.permission in statuses

    def iter_contacts(
        self, statuses: frozenset[str], list_ids: list[str], after: int
    ) -> Iterator[ContactRecord]:
        """Contacts in creation order with ``seq > after`` passing the filters."""
        if list_ids:
            sources = []
            for list_id in list_ids:
                members = self.lists[list_id].members
                sources.append(members[bisect.bisect_right(members, after):])
            seqs: Iterable[int] = sources[0] if len(sources) == 1 else _unique(heapq.merge(*sources))
            for seq in seqs:
                rec = self.by_seq[seq]
                if self.matches_status(rec, statuses):
                    yield rec
        else:
            for rec in self.by_seq[after + 1:]:
                if self.matches_status(rec, statuses):
                    yield rec

    def put_contact(self, rec: ContactRecord, body: dict[str, Any], *, now: float) -> None:
        """PUT /contacts/{id}: replace core fields, keep omitted sub-resources, revive.

        Sandbox decisions for what the public material leaves open: a body without
        ``email_address`` is refused (400) rather than blanking the address; an included
        ``list_memberships`` replaces the whole set; opting out keeps list memberships; an
        account cannot opt back in a contact who unsubscribed themselves. ``updated_at`` moves
        only when the contact's own details change (address, names and other core fields,
        sub-resources other than lists, a revival), unless :attr:`list_changes_touch_contacts`.
        """
        source = body.get("update_source")
        if source not in ("Account", "Contact"):
            raise validation_error("update_source is required and must be Account or Contact.")
        email = body.get("email_address")
        if not isinstance(email, dict) or not isinstance(email.get("address"), str):
            raise validation_error("email_address.address is required.")
        address = email["address"].strip()
        if "@" not in address or len(address) > 80:
            raise validation_error("email_address.address is not a valid email address.")
        other = self.by_email.get(address.lower())
        if other is not None and other is not rec:
            raise ApiError(409, "contacts.api.conflict", f"Email {address} already exists.")
        permission = email.get("permission_to_send", rec.permission)
        if permission not in PERMISSIONS:
            raise validation_error("email_address.permission_to_send is not a valid value.")
        reason = email.get("opt_out_reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
            raise validation_error("email_address.opt_out_reason must be at most 255 characters.")
        if (
            rec.permission == "unsubscribed"
            and permission != "unsubscribed"
            and rec.opt_out_source == "Contact"
            and source == "Account"
        ):
            raise validation_error(
                "This contact unsubscribed themselves; only they can opt back in."
            )
        for name in ("first_name", "last_name", "job_title", "company_name"):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > 50):
                raise validation_error(f"{name} must be a string of at most 50 characters.")
        lists = body.get("list_memberships")
        if lists is not None:
            if not isinstance(lists, list) or len(lists) > MAX_LISTS_PER_CONTACT:
                raise validation_error("list_memberships must be a list of at most 50 list ids.")
            unknown = [i for i in lists if i not in self.lists]
            if unknown:
                raise ApiError(404, "contact_lists.api.not_found", f"List {unknown[0]} not found.")

        # All checks passed: apply. Whether the contact's own details change decides whether
        # ``updated_at`` moves (list memberships and email status are not its own details).
        own_changed = (
            address != rec.address
            or rec.deleted_at is not None
            or any(body.get(name) != getattr(rec, name) for name in CORE_FIELDS)
            or any(
                list(body[name] or []) != (rec.extras or {}).get(name, [])
                for name in SUB_RESOURCES
                if name != "list_memberships" and name in body
            )
        )
        if address.lower() != rec.address.lower():
            del self.by_email[rec.address.lower()]
            self.by_email[address.lower()] = rec
        if address != rec.address or permission != rec.permission:
            rec.email_updated_at = now
        rec.address = address
        if permission == "unsubscribed" and rec.permission != "unsubscribed":
            rec.opt_out_source = source
            rec.opt_out_date = now
            rec.opt_out_reason = reason
        elif permission in MAILABLE and rec.permission not in MAILABLE:
            rec.opt_in_source = source
            rec.opt_in_date = now
            rec.opt_out_source = rec.opt_out_date = rec.opt_out_reason = None
        rec.permission = permission
        for name in CORE_FIELDS:
            setattr(rec, name, body.get(name))
        for name in SUB_RESOURCES:
            if name not in body:
                continue
            if name == "list_memberships":
                for list_id in list(rec.lists):
                    if list_id not in lists:
                        self._leave(rec, list_id)
                for list_id in lists:
                    self._join(rec, list_id)
            else:
                rec.extras = {**(rec.extras or {}), name: list(body[name] or [])}
        rec.deleted_at = None  # a PUT revives a deleted contact
        rec.update_source = source
        if own_changed or self.list_changes_touch_contacts:
            rec.updated_at = now

    # ---- activities --------------------------------------------------------------------------

    def add_activity(self, activity: ActivityRecord) -> None:
        self.activities[activity.activity_id] = activity
        self.activity_order.append(activity.activity_id)
        self._pending_n += 1
        heapq.heappush(self._pending, (activity.done_at, self._pending_n, activity.activity_id))

    # ---- activities made elsewhere -------------------------------------------------------------

    def add_foreign_activity(
        self,
        *,
        size: int,
        created_at: float,
        kind: str = "remove_list_memberships",
        list_ids: list[str] | None = None,
        seconds: float | None = None,
        outcome: str = "completed",
    ) -> ActivityRecord:
        """An activity the account made elsewhere (the web app, an import, another app).

        It looks like any other in ``GET /activities`` (the API shows no kind) and changes
        nothing here. ``seconds`` of processing; by default as long as a bulk job that size.
        """
        if outcome not in TERMINAL_STATES:
            raise ValueError(f"outcome is one of {sorted(TERMINAL_STATES)}")
        rng = self._foreign_rng
        if list_ids is None:
            known = [i for i in self.list_order if self.lists[i].deleted_at is None]
            list_ids = rng.sample(known, min(len(known), rng.choice((1, 1, 1, 2)))) if known else []
        start = created_at + rng.uniform(0.05, 0.5)
        if seconds is None:
            seconds = max(0.2, size / 500 * rng.uniform(0.8, 3.0))
        activity = ActivityRecord(
            activity_id=_uuid(rng), kind=kind, client_id=None, contact_ids=[],
            list_ids=list(list_ids), created_at=created_at, start_at=start,
            done_at=start + seconds, outcome=outcome, foreign=True, items_total=size,
        )
        if outcome != "completed":
            activity.errors.append(f"{OUTCOME_ERRORS[outcome]}.")
        self.add_activity(activity)
        return activity

    def start_foreign(self, n: int, *, now: float, every: float = 0.0) -> None:
        """Seed ``n`` activities made elsewhere over the last hour, then one about every
        ``every`` seconds (on average; 0 = no more) while the sandbox runs."""
        for created in sorted(now - self._foreign_rng.uniform(0, 3600) for _ in range(n)):
            self._random_foreign(created)
        self._foreign_every = every
        self._foreign_next = now + self._foreign_rng.expovariate(1 / every) if every > 0 else math.inf

    def _random_foreign(self, created_at: float) -> ActivityRecord:
        rng = self._foreign_rng
        kind = rng.choices(FOREIGN_KINDS, weights=(25, 20, 20, 20, 10, 5))[0]
        size = rng.choice(FOREIGN_SIZES)
        outcome = rng.choices(("completed", "failed", "cancelled"), weights=(92, 5, 3))[0]
        return self.add_foreign_activity(size=size, created_at=created_at, kind=kind,
                                         outcome=outcome)

    def _foreign_due(self, now: float) -> None:
        if self._foreign_next <= now:
            # Long clock jumps (tests) create at most what the 10-day retention would show.
            self._foreign_next = max(self._foreign_next, now - ACTIVITY_RETENTION)
            while self._foreign_next <= now:
                self._random_foreign(self._foreign_next)
                self._foreign_next += self._foreign_rng.expovariate(1 / self._foreign_every)

    def queued_activities(self) -> int:
        return len(self._pending)

    def settle(self, now: float) -> None:
        """Apply every activity whose time has come, in the order they finish (stuck ones never)."""
        if now != math.inf:
            self._foreign_due(now)
        while self._pending and self._pending[0][0] <= now and self._pending[0][0] != math.inf:
            _, _, activity_id = heapq.heappop(self._pending)
            self._apply(self.activities[activity_id], now)

    def end_activity(self, activity_id: str, outcome: str, *, now: float) -> None:
        """End an unfinished (e.g. stuck) activity now as ``outcome``; nothing more is applied."""
        activity = self.activities[activity_id]
        if activity.settled:
            raise ValueError(f"activity {activity_id} has already ended")
        if outcome not in TERMINAL_STATES:
            raise ValueError(f"outcome is one of {sorted(TERMINAL_STATES)}")
        self._pending = [item for item in self._pending if item[2] != activity_id]
        heapq.heapify(self._pending)
        activity.outcome = outcome
        activity.start_at = min(activity.start_at, now)
        activity.done_at = now
        self._apply(activity, now)

    def _apply(self, activity: ActivityRecord, now: float) -> None:
        activity.settled = True
        if activity.foreign:
            return  # another job's contacts are not modelled
        contact_ids = activity.contact_ids
        if activity.outcome != "completed":
            contact_ids = contact_ids[:activity.applied]
            changed = len(contact_ids)
            activity.errors.append(
                f"{OUTCOME_ERRORS[activity.outcome]}; {changed} of {len(activity.contact_ids)} "
                "contacts were changed."
                if changed else f"{OUTCOME_ERRORS[activity.outcome]}; no contact was changed."
            )
        adding = activity.kind == "add_list_memberships"
        for n, contact_id in enumerate(contact_ids):
            rec = self.contacts.get(contact_id)
            if rec is None:
                activity.errors.append(f"Contact {contact_id} was not found.")
                continue
            if n < activity.error_count:
                activity.errors.append(
                    f"Contact {contact_id} could not be updated: a temporary error occurred."
                )
                continue
            changed = False
            if adding:
                room = MAX_LISTS_PER_CONTACT - len(rec.lists)
                new = [i for i in activity.list_ids if i not in rec.lists and i in self.lists]
                if len(new) > room:
                    activity.errors.append(
                        f"Contact {contact_id} is already on {len(rec.lists)} lists; "
                        f"a contact can be on at most {MAX_LISTS_PER_CONTACT}."
                    )
                    continue
                for list_id in new:
                    changed |= self._join(rec, list_id)
                if changed and rec.deleted_at is not None:
                    rec.deleted_at = None  # adding a deleted contact to a list revives it
                    rec.updated_at = now  # a revival is a change of the contact itself
            else:
                for list_id in activity.list_ids:
                    if list_id in self.lists:
                        changed |= self._leave(rec, list_id)
            if changed and self.list_changes_touch_contacts:
                rec.updated_at = now

    def activity_json(self, activity: ActivityRecord, now: float) -> dict[str, Any]:
        """The ``ActivityListsMembership`` / ``Activity`` shape of one activity."""
        state, percent, done = activity.state_at(now)
        out: dict[str, Any] = {
            "activity_id": activity.activity_id,
            "state": state,
            "created_at": iso(activity.created_at),
            "updated_at": iso(min(now, activity.done_at) if not activity.settled else activity.done_at),
            "percent_done": percent,
            "activity_errors": list(activity.errors) if activity.settled else [],
            "status": {
                "items_total_count": activity.size,
                "items_completed_count": done,
                "list_count": len(activity.list_ids),
            },
            "_links": {"self": {"href": f"/v3/activities/{activity.activity_id}"}},
        }
        if state != "initialized":
            out["started_at"] = iso(activity.start_at)
        if state in TERMINAL_STATES:
            out["completed_at"] = iso(activity.done_at)
        return out

    def visible_activity(self, activity_id: str, now: float) -> ActivityRecord | None:
        """An activity younger than the 10-day retention, or None."""
        activity = self.activities.get(activity_id)
        if activity is None or now - activity.created_at > ACTIVITY_RETENTION:
            return None
        return activity


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def _unique(seqs: Iterable[int]) -> Iterator[int]:
    last = -1
    for seq in seqs:
        if seq != last:
            yield seq
            last = seq


# =============================================================================================
# Generated accounts

GENERATED_LISTS = [
    ("Free Members", "Everyone on the free membership"),
    ("Sustainers", "Paying sustaining members"),
    ("Newsletter", "The monthly newsletter"),
    ("Events", "Invitations to events"),
    ("Volunteers", "People who volunteer"),
]
FIRST = ["Ada", "Ben", "Chloé", "Dev", "Eun-ji", "Femi", "Grace", "Hugo", "Ines", "Jamal",
         "Kai", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"]
LAST = ["Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "García", "Hughes", "Ito",
        "Jones", "Kowalski", "Lopez", "Müller", "Nguyen", "O'Brien", "Patel", "Quist", "Rossi",
        "Smith", "Tanaka", "Usman", "Vargas", "Weber", "Xu", "Young", "Zhang"]
DOMAINS = ["example.org", "example.com", "example.net", "mail.example.org", "post.example.com"]


def generate_data(n: int, seed: int = 1) -> dict[str, Any]:
    """A realistic account of ``n`` contacts in the state-file format, the same for a seed.

    Permissions: about 70 % implicit, 15 % explicit, 8 % unsubscribed, 3 % pending, 2 %
    not set, 2 % temporary hold; 3 % deleted. About 60 % are on Free Members, 20 % on
    Sustainers, half on the Newsletter, and many on several lists.
    """
    rng = random.Random(seed)
    permissions = rng.choices(
        PERMISSIONS[::-1],
        weights=[8, 2, 3, 2, 70, 15],  # unsubscribed, temp_hold, pending, not_set, implicit, explicit
        k=n,
    )
    contacts = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = unicodedata.normalize("NFKD", f"{first}.{last}".lower().replace("'", ""))
        local = local.encode("ascii", "ignore").decode() or "member"
        email = f"{local}{i}@{DOMAINS[i % len(DOMAINS)]}"
        deleted = rng.random() < 0.03
        lists: list[str] = []
        if not deleted:
            if rng.random() < 0.6:
                lists.append("Free Members")
            elif rng.random() < 0.5:
                lists.append("Sustainers")
            if rng.random() < 0.5:
                lists.append("Newsletter")
            if rng.random() < 0.15:
                lists.append("Events")
            if rng.random() < 0.05:
                lists.append("Volunteers")
        contacts.append(
            {
                "email": email,
                "first_name": first,
                "last_name": last,
                "lists": lists,
                "permission_to_send": permissions[i],
                "deleted": deleted,
            }
        )
    return {
        "lists": [{"name": name, "description": text} for name, text in GENERATED_LISTS],
        "contacts": contacts,
    }
