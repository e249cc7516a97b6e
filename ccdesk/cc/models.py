"""Typed results of the Constant Contact client: plain, immutable dataclasses.

Each ``from_json`` reads the V3 shape (``../shared/cc-v3-api.md`` §3) and keeps only what
ccdesk uses. A preview holds one :class:`Contact` per member (100,000 of them for a big
list), so they keep no copy of the JSON record (the one place that needs it, the full-record
PUT of an unsubscribe, reads it itself) and the strings every contact repeats (list ids,
permission) are shared.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

MAILABLE = frozenset({"explicit", "implicit"})
TERMINAL_ACTIVITY_STATES = frozenset({"completed", "cancelled", "failed", "timed_out"})


@dataclass(frozen=True)
class Account:
    """The connected Constant Contact account (``GET /account/summary``)."""

    organization_name: str
    contact_email: str
    first_name: str = ""
    last_name: str = ""
    encoded_account_id: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        return cls(
            organization_name=data.get("organization_name") or "",
            contact_email=data.get("contact_email") or "",
            first_name=data.get("first_name") or "",
            last_name=data.get("last_name") or "",
            encoded_account_id=data.get("encoded_account_id") or "",
        )


@dataclass(frozen=True)
class ContactList:
    """One contact list, with its member count when it was asked for."""

    list_id: str
    name: str
    membership_count: int | None = None
    favorite: bool = False
    deleted: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContactList:
        return cls(
            list_id=data["list_id"],
            name=data.get("name") or "",
            membership_count=data.get("membership_count"),
            favorite=bool(data.get("favorite", False)),
            deleted=bool(data.get("deleted_at")),
        )


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact: its address, permission, whether it is deleted, and its lists (nothing
    else of it is used: its names, for example, are read only by the PUT of an unsubscribe).

    ``list_ids`` is ``None`` when the response did not include list memberships (they are
    only sent when asked for), so "unknown" is never mistaken for "on no list".
    """

    contact_id: str
    email: str
    permission: str
    deleted: bool
    list_ids: tuple[str, ...] | None = None

    @property
    def unsubscribed(self) -> bool:
        return self.permission == "unsubscribed"

    @property
    def mailable(self) -> bool:
        return not self.deleted and self.permission in MAILABLE

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contact:
        email = data.get("email_address") or {}
        lists = data.get("list_memberships")
        return cls(
            contact_id=data["contact_id"],
            email=email.get("address") or "",
            permission=sys.intern(email.get("permission_to_send") or "not_set"),
            deleted=bool(data.get("deleted_at")),  # its value, not its presence
            list_ids=tuple(sys.intern(x) for x in lists) if lists is not None else None,
        )


@dataclass(frozen=True)
class Activity:
    """A bulk activity: its state, progress, counts and errors."""

    activity_id: str
    state: str
    percent_done: int = 0
    items_total: int = 0
    items_completed: int = 0
    list_count: int = 0
    errors: tuple[str, ...] = ()
    created_at: str = ""

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_ACTIVITY_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == "completed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Activity:
        status = data.get("status") or {}
        errors = []
        for item in data.get("activity_errors") or []:
            errors.append(item.get("message", str(item)) if isinstance(item, dict) else str(item))
        return cls(
            activity_id=data["activity_id"],
            state=data.get("state") or "initialized",
            percent_done=int(data.get("percent_done") or 0),
            items_total=int(status.get("items_total_count") or 0),
            items_completed=int(status.get("items_completed_count") or 0),
            list_count=int(status.get("list_count") or 0),
            errors=tuple(errors),
            created_at=data.get("created_at") or "",
        )
