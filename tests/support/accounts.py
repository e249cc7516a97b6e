"""Small, hand-made sandbox accounts for tests: every contact state on a few lists."""

from __future__ import annotations

from typing import Any


def small_account() -> dict[str, Any]:
    """Twelve contacts covering every state the app must handle.

    - on Free Members only: ada, ben, chloe (explicit), dev (pending_confirmation)
    - on Free Members and Newsletter: eve; on Free Members and Sustainers: fay
    - on Sustainers only: gus; on no list: hal
    - unsubscribed, still on Free Members: ivy; unsubscribed, on no list: jon
    - deleted (was on lists): kim; not_set on Free Members: lou
    """
    c = []

    def add(email: str, lists: list[str], permission: str = "implicit", deleted: bool = False) -> None:
        first = email.split("@")[0].capitalize()
        c.append({"email": email, "first_name": first, "last_name": "Tester", "lists": lists,
                  "permission_to_send": permission, "deleted": deleted})

    add("ada@example.org", ["Free Members"])
    add("ben@example.org", ["Free Members"])
    add("chloe@example.org", ["Free Members"], "explicit")
    add("dev@example.org", ["Free Members"], "pending_confirmation")
    add("eve@example.org", ["Free Members", "Newsletter"])
    add("fay@example.org", ["Free Members", "Sustainers"])
    add("gus@example.org", ["Sustainers"])
    add("hal@example.org", [])
    add("ivy@example.org", ["Free Members"], "unsubscribed")
    add("jon@example.org", [], "unsubscribed")
    add("kim@example.org", [], "implicit", deleted=True)
    add("lou@example.org", ["Free Members"], "not_set")
    return {
        "account": {"organization_name": "Test Choir", "contact_email": "owner@example.org"},
        "lists": [{"name": "Free Members"}, {"name": "Sustainers"}, {"name": "Newsletter"}],
        "contacts": c,
    }
