"""The Constant Contact V3 operations ccdesk uses, returning typed results.

:class:`ConstantContact` is the facade the core talks to. Build it with
:meth:`ConstantContact.from_store` (a stored connection) — the same code talks to Constant
Contact and to the sandbox; only the endpoints differ.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import requests

from ccdesk.cc.auth import CredentialStoreLike, Endpoints, TokenManager
from ccdesk.cc.errors import ApiError
from ccdesk.cc.limits import Limits
from ccdesk.cc.models import Account, Activity, Contact, ContactList
from ccdesk.cc.transport import DailyUsage, Pacer, RetryPolicy, Transport

log = logging.getLogger("ccdesk.cc")

MAX_CONTACTS_PER_ACTIVITY = 500
MAX_LISTS_PER_ACTIVITY = 50
MAX_LISTS_PER_FILTER = 25  # GET /contacts?lists= takes at most 25 list ids
PAGE_SIZE = 500
CORE_FIELDS = ("first_name", "last_name", "job_title", "company_name", "birthday_month",
               "birthday_day", "anniversary")
DEFAULT_OPT_OUT_REASON = "Upgraded to a paid membership"


class ContactDeleted(ApiError):
    """Refused: a PUT would bring a deleted contact back to life."""

    title = "This contact was deleted in Constant Contact"
    what_to_do = "Nothing to do: a deleted contact gets no email. ccdesk leaves it alone."


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


class ConstantContact:
    """The V3 operations, on top of a :class:`~ccdesk.cc.transport.Transport`."""

    def __init__(self, transport: Transport, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.transport = transport
        self._sleep = sleep

    @classmethod
    def from_store(
        cls,
        endpoints: Endpoints,
        store: CredentialStoreLike,
        *,
        usage: DailyUsage | None = None,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limits: Callable[[str], Limits] | None = None,
    ) -> ConstantContact:
        """A client acting for the connection kept in ``store``.

        Args:
            limits: the limits of an application key (e.g. :meth:`LimitsFile.get
                <ccdesk.cc.limits.LimitsFile.get>`), asked for the stored key's; without
                it, the usage count's and the pacer's as they are.
        """
        http = session or requests.Session()
        tokens = TokenManager(endpoints, store, session=http, sleep=sleep)
        transport = Transport(
            endpoints.api_base, tokens=tokens, client_id=tokens.client_id, pacer=pacer,
            usage=usage, retry=retry, session=http, sleep=sleep,
            limits=limits(tokens.client_id) if limits is not None else None,
        )
        return cls(transport, sleep=sleep)

    @property
    def calls(self) -> int:
        """Requests sent so far by this client (retries included)."""
        return self.transport.calls

    def quota_left(self) -> int:
        """Requests left today for this application key (as far as this computer knows)."""
        return self.transport.quota_left()

    # ---- reading ---------------------------------------------------------------------------

    def account(self) -> Account:
        """Which organisation this connection acts on."""
        return Account.from_json(self.transport.get("account/summary"))

    def lists(self) -> list[ContactList]:
        """Every (not deleted) list, with its member count."""
        out: list[ContactList] = []
        page = self.transport.get("contact_lists", {"limit": 500, "include_membership_count": "all"})
        while True:
            out += [ContactList.from_json(item) for item in page.get("lists", [])]
            nxt = (page.get("_links") or {}).get("next", {}).get("href")
            if not nxt:
                return out
            page = self.transport.get(nxt)

    def find_by_email(self, email: str) -> Contact | None:
        """The contact with exactly this address (case aside), in any state, or None.

        Only an exact match counts: whatever else the search answers is not this person."""
        wanted = email.strip().lower()
        page = self.transport.get(
            "contacts", {"email": wanted, "status": "all", "include": "list_memberships"})
        found = (Contact.from_json(item) for item in page.get("contacts", []))
        return next((c for c in found if c.email.strip().lower() == wanted), None)

    def privileges(self) -> set[str]:
        """What the connected user may do (``contacts:write``, ...): one call."""
        data = self.transport.get("account/user/privileges")
        items = data if isinstance(data, list) else (data or {}).get("privileges", [])
        return {str(x.get("privilege_name")) for x in items if isinstance(x, dict)}

    def iter_members(
        self, list_ids: Sequence[str], *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[Contact]]:
        """The members of these lists, one page (≤ 500 contacts) at a time, any status."""
        for group in chunks(list(list_ids), MAX_LISTS_PER_FILTER):
            yield from self._pages({"lists": ",".join(group), "limit": page_size})

    def iter_all_contacts(self, *, page_size: int = PAGE_SIZE) -> Iterator[list[Contact]]:
        """Every contact of the account (deleted included), one page at a time."""
        yield from self._pages({"limit": page_size})

    def count_contacts(self) -> int:
        """How many contacts the account holds, deleted included (one call)."""
        page = self.transport.get("contacts", {"status": "all", "limit": 1, "include_count": "true"})
        return int(page.get("contacts_count") or 0)

    def _pages(self, params: dict[str, Any]) -> Iterator[list[Contact]]:
        page = self.transport.get("contacts", {"status": "all", "include": "list_memberships",
                                               **params})
        while True:
            yield [Contact.from_json(item) for item in page.get("contacts", [])]
            nxt = (page.get("_links") or {}).get("next", {}).get("href")
            if not nxt:
                return
            page = self.transport.get(nxt)

    def contact(self, contact_id: str, *, include: str = "list_memberships") -> Contact:
        """One contact by id."""
        return Contact.from_json(self.transport.get(f"contacts/{contact_id}", {"include": include}))

    # ---- changing ---------------------------------------------------------------------------

    def unsubscribe(self, contact_id: str, reason: str = DEFAULT_OPT_OUT_REASON) -> Contact:
        """Opt one contact out (``permission_to_send: unsubscribed``), keeping everything else.

        Reads the contact fresh first, right before the PUT: a PUT blanks every core field it
        does not carry, so it must carry the names as they are now, and a contact deleted since
        the preview must not be revived by it. A contact already unsubscribed is returned
        unchanged, without a PUT.

        Raises:
            ContactDeleted: the contact is deleted.
        """
        raw = self.transport.get(f"contacts/{contact_id}", {"include": "list_memberships"})
        record = Contact.from_json(raw)
        if record.deleted:
            raise ContactDeleted(status=0, method="PUT", path=f"/contacts/{contact_id}")
        if record.unsubscribed:
            return record
        body: dict[str, Any] = {
            "email_address": {
                "address": raw["email_address"]["address"],
                "permission_to_send": "unsubscribed",
                "opt_out_reason": reason[:255],
            },
            "update_source": "Account",
        }
        for name in CORE_FIELDS:
            if raw.get(name) is not None:
                body[name] = raw[name]
        return Contact.from_json(self.transport.request("PUT", f"contacts/{contact_id}", json_body=body))

    def start_remove(self, contact_ids: Sequence[str], list_ids: Sequence[str]) -> Activity:
        """Start one removal activity (≤ 500 contacts, ≤ 50 lists). Not retried once sent.

        Raises:
            OutcomeUnknown: the request may have reached Constant Contact; check with
                :meth:`recent_activities` before sending it again.
        """
        return self._start("remove_list_memberships", contact_ids, list_ids)

    def start_add(self, contact_ids: Sequence[str], list_ids: Sequence[str]) -> Activity:
        """Start one activity adding contacts to lists (the undo of a removal)."""
        return self._start("add_list_memberships", contact_ids, list_ids)

    def _start(self, kind: str, contact_ids: Sequence[str], list_ids: Sequence[str]) -> Activity:
        if not contact_ids or not list_ids:
            raise ValueError("an activity needs at least one contact and one list")
        if len(contact_ids) > MAX_CONTACTS_PER_ACTIVITY or len(list_ids) > MAX_LISTS_PER_ACTIVITY:
            raise ValueError("at most 500 contacts and 50 lists per activity; use chunks()")
        body = {"source": {"contact_ids": list(contact_ids)}, "list_ids": list(list_ids)}
        data = self.transport.request("POST", f"activities/{kind}", json_body=body)
        return Activity.from_json(data)

    def remove_list_memberships(self, contact_ids: Sequence[str],
                                list_ids: Sequence[str]) -> list[Activity]:
        """Remove contacts from lists in as few activities as the limits allow."""
        return [self.start_remove(c, lst) for lst in chunks(list(list_ids), MAX_LISTS_PER_ACTIVITY)
                for c in chunks(list(contact_ids), MAX_CONTACTS_PER_ACTIVITY)]

    def add_list_memberships(self, contact_ids: Sequence[str],
                             list_ids: Sequence[str]) -> list[Activity]:
        """Add contacts to lists in as few activities as the limits allow."""
        return [self.start_add(c, lst) for lst in chunks(list(list_ids), MAX_LISTS_PER_ACTIVITY)
                for c in chunks(list(contact_ids), MAX_CONTACTS_PER_ACTIVITY)]

    # ---- activities --------------------------------------------------------------------------

    def activity(self, activity_id: str) -> Activity:
        """The current state of one activity."""
        return Activity.from_json(self.transport.get(f"activities/{activity_id}"))

    def recent_activities(self, limit: int = 50) -> list[Activity]:
        """The account's activities of the last days, newest first (to recover after a crash)."""
        page = self.transport.get("activities", {"limit": limit})
        return [Activity.from_json(item) for item in page.get("activities", [])]
