"""The built-in demo account: a small membership organisation with contacts in every state.

``resources/demo/demo-account.json`` is written from :func:`demo_data` (a test checks they
agree), so the file can be read as an example of the sandbox's state format.
"""

from __future__ import annotations

import json
from typing import Any

from ccdesk.sandbox.state import generate_data

DEMO_ACCOUNT = {
    "organization_name": "Harbourview Members' Association (demo)",
    "contact_email": "office@harbourview.example.org",
    "first_name": "Sam",
    "last_name": "Okafor",
}
DEMO_SIZE = 360
DEMO_SEED = 2026


#: How many members of Free Members upgraded: the demo's spreadsheet lists them.
UPGRADED = 40
#: How many of them staff already put on Sustainers (the rest are not on it yet: a move to
#: Sustainers puts those 10 on it and only takes the 30 off Free Members).
ON_SUSTAINERS = 30


def demo_data() -> dict[str, Any]:
    """The demo account in the sandbox's state-file format.

    Most members who upgraded (the demo's spreadsheet) are on Sustainers as well as on Free
    Members, so the demo can also be tried with Sustainers as the source
    (``--from-list Sustainers``, or "Use a Constant Contact list instead"): its other members
    are not on Free Members, or unsubscribed. The last few who upgraded are not on Sustainers
    yet, so a move to Sustainers shows both kinds.
    """
    data = generate_data(DEMO_SIZE, seed=DEMO_SEED)
    data["account"] = dict(DEMO_ACCOUNT)
    for contact in _upgraded(data["contacts"])[:ON_SUSTAINERS]:
        contact["lists"].append("Sustainers")
    return data


def _upgraded(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The members of Free Members who upgraded: the first who can be mailed."""
    return [c for c in people if "Free Members" in c["lists"] and not c["deleted"]
            and c["permission_to_send"] in ("implicit", "explicit")][:UPGRADED]


def load_demo_data() -> dict[str, Any]:
    """The bundled demo account (from resources/)."""
    from ccdesk.paths import resource

    return json.loads(resource("demo", "demo-account.json").read_text(encoding="utf-8"))


SAMPLE_TITLE = "Members who upgraded to Sustainer — November"
SAMPLE_COLUMNS = ("Member name", "Email address", "Membership", "Upgraded on")


def sample_sheet_rows(data: dict[str, Any] | None = None) -> list[list[Any]]:
    """The demo's spreadsheet of upgraded members (data rows, without title and headings).

    Chosen so that every outcome shows up: most are on Free Members, some only on other lists,
    some unsubscribed or deleted, two unknown to the account, two invalid, one repeated, one
    blank, and the Excel habits (``mailto:``, ``Name <address>``, stray spaces and case).
    """
    data = data or demo_data()
    people = data["contacts"]

    def pick(test: Any, n: int) -> list[dict[str, Any]]:
        return [c for c in people if test(c)][:n]

    free = _upgraded(people)
    elsewhere = pick(lambda c: c["lists"] and "Free Members" not in c["lists"]
                     and c["permission_to_send"] in ("implicit", "explicit"), 3)
    unsubscribed = pick(lambda c: c["permission_to_send"] == "unsubscribed"
                        and "Free Members" in c["lists"], 2)
    deleted = pick(lambda c: c["deleted"], 1)
    rows: list[list[Any]] = []
    day = 1
    for c in free + elsewhere + unsubscribed + deleted:
        rows.append([f"{c['first_name']} {c['last_name']}", c["email"], "Sustainer",
                     f"2026-11-{day:02d}"])
        day = day % 27 + 1
    # Excel habits that must still work
    rows[3][1] = f"  {rows[3][1].upper()} "
    rows[5][1] = f"mailto:{rows[5][1]}"
    rows[7][1] = f"{rows[7][0]} <{rows[7][1]}>"
    rows += [
        ["Robin Newcomer", "robin.newcomer@example.net", "Sustainer", "2026-11-20"],
        ["Kit Visitor", "kit.visitor@example.com", "Sustainer", "2026-11-21"],
        ["Sam Typo", "sam.typo at example.org", "Sustainer", "2026-11-22"],
        ["Pat Double", "pat@@example.org", "Sustainer", "2026-11-22"],
        [rows[0][0], rows[0][1].title(), "Sustainer", "2026-11-23"],  # entered twice
        ["No Email Given", "", "Sustainer", "2026-11-24"],
    ]
    return rows


def write_sample_sheet(path: Any, data: dict[str, Any] | None = None) -> None:
    """Write the demo spreadsheet (a title, a blank row, the headings, the members)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Upgrades"
    sheet.append([SAMPLE_TITLE])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(list(SAMPLE_COLUMNS))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in sample_sheet_rows(data):
        sheet.append(row)
    for column, width in zip("ABCD", (26, 40, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    book.properties.creator = "ccdesk"
    book.save(path)
