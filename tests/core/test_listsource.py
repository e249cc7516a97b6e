"""The members of a Constant Contact list as a sheet's rows (:mod:`ccdesk.core.listsource`):
plain data, no HTTP (the end-to-end tests are in tests/engine and tests/cli)."""

from __future__ import annotations

from ccdesk.cc.models import Contact, ContactList
from ccdesk.core.addresses import Outcome
from ccdesk.core.listsource import chosen_sheet, members_sheet, source_of

SUSTAINERS = ContactList("l-s", "Sustainers", membership_count=4)


def contact(n: int, email: str) -> Contact:
    return Contact(f"c{n}", email, "implicit", False, ("l-s",))


def test_members_become_rows_in_the_order_read() -> None:
    pages = [[contact(1, "Ann@Example.org"), contact(2, "")], [contact(3, "bo@example.org"),
                                                                contact(4, "ann@example.org")]]
    sheet, found = members_sheet(SUSTAINERS, pages)
    assert [(r.row, r.value, r.email, r.outcome) for r in sheet.rows] == [
        (1, "Ann@Example.org", "ann@example.org", Outcome.VALID),
        (2, "", None, Outcome.BLANK),
        (3, "bo@example.org", "bo@example.org", Outcome.VALID),
        (4, "ann@example.org", "ann@example.org", Outcome.DUPLICATE)]
    assert sheet.rows[3].duplicate_of == 1
    assert sheet.counts == {"valid": 2, "invalid": 0, "duplicate": 1, "blank": 1,
                            "filtered_out": 0}
    assert set(found) == {"ann@example.org", "bo@example.org"} and found["ann@example.org"].contact_id == "c1"
    assert sheet.from_list and sheet.path == "" and sheet.sheet == "Sustainers"
    assert sheet.to_dict()["source_list"]["name"] == "Sustainers"


def test_only_keeps_the_rows_asked_for_with_their_numbers() -> None:
    pages = [[contact(1, "a@example.org"), contact(2, "b@example.org"), contact(3, "c@example.org")]]
    sheet, found = members_sheet(SUSTAINERS, pages, only={"c@example.org"})
    assert [(r.row, r.email) for r in sheet.rows] == [(3, "c@example.org")]
    assert list(found) == ["c@example.org"]


def test_a_chosen_list_before_reading() -> None:
    sheet = chosen_sheet(SUSTAINERS)
    assert len(sheet.rows) == 0 and sheet.counts["valid"] == 4
    assert source_of({"source_list": {"list_id": "l-s", "name": "Sustainers"}})["name"] == "Sustainers"
    assert source_of({"source_list": None}) is None and source_of(None) is None
