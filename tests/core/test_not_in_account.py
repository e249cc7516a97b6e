"""Paging a list, then the addresses not on it one by one: "not in Constant Contact" apart from
"in Constant Contact, not on the list", priced before anything is spent; too many, or not
enough of today's allowance, and they stay unchecked, said so."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import pytest

from ccdesk.cc.transport import DailyUsage
from ccdesk.core.lookup import FOLLOW_UP_FLOOR, Action, Strategy, choose_strategy
from ccdesk.core.phases import Phase
from ccdesk.core.plan import preview
from ccdesk.core.runner import start_run
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.conftest import fast_client, reset_and_connect
from tests.core.conftest import free_members_account, sheet_of

pytestmark = pytest.mark.timeout(60)

ON_LIST = [f"m{i}@example.org" for i in range(40)]  # of the 1,000 members of Free Members: 2 pages


def account() -> dict[str, Any]:
    """1,000 on Free Members; x0, x1 on no list; one on the Newsletter only; one deleted and one
    unsubscribed (on no list)."""
    data = free_members_account(1000, extra=2)
    data["contacts"] += [
        {"email": "news@example.org", "lists": ["Newsletter"]},
        {"email": "gone@example.org", "lists": [], "deleted": True},
        {"email": "quit@example.org", "lists": [], "permission_to_send": "unsubscribed"},
    ]
    return data


def email_queries(sandbox) -> list[str]:
    """The addresses asked for one by one (``GET /contacts?email=``), in order."""
    out = []
    for r in sandbox.requests.records():
        if r.method == "GET" and re.match(r"/v3/contacts$", r.path):
            query = parse_qs(r.query)
            if "email" in query:
                assert query["status"] == ["all"]  # deleted and unsubscribed ones are found too
                out += query["email"]
    return out


def pages_read(sandbox) -> int:
    return sum(1 for r in sandbox.requests.records() if r.method == "GET"
               and re.match(r"/v3/contacts$", r.path) and "email=" not in r.query)


def outcome_of(plan) -> dict[str, tuple[str, str]]:
    return {item.email: (str(item.outcome), item.reason) for item in plan.items}


def test_few_missing_are_each_looked_up_and_told_apart(sandbox, tmp_path) -> None:
    client = reset_and_connect(sandbox, account())
    missing = ["x0@example.org", "news@example.org", "gone@example.org", "quit@example.org",
               "nobody@example.org", "x1@example.org", "typo@example.org"]
    sheet = sheet_of(tmp_path, ON_LIST + missing)
    seen: list[tuple[Phase, int, int]] = []
    plan = preview(client, sheet, Action.REMOVE, ["Free Members"],
                   progress=lambda phase, done, total: seen.append((phase, done, total)))

    assert plan.snapshot.strategy is Strategy.BY_LIST
    got = outcome_of(plan)
    assert got["x0@example.org"] == got["x1@example.org"] == got["news@example.org"] == (
        "skip_not_on_list", "Not on Free Members")
    assert got["nobody@example.org"] == got["typo@example.org"] == (
        "skip_not_found", "No contact with this address in Constant Contact")
    assert got["gone@example.org"][0] == "skip_deleted"
    assert got["quit@example.org"][0] == "skip_unsubscribed"
    assert plan.counts == {"remove": 40, "skip_not_on_list": 3, "skip_not_found": 2,
                           "skip_unsubscribed": 1, "skip_deleted": 1}
    assert plan.summary() == ("40 will be removed from Free Members, 3 are not on Free Members, "
                              "2 are not in Constant Contact, 1 is already unsubscribed, 1 is "
                              "deleted in Constant Contact")

    # Exactly: account, privileges, lists; two pages; one look-up per missing address, in order.
    assert pages_read(sandbox) == 2
    assert email_queries(sandbox) == missing
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 3 + 2 + 7
    lookup = plan.cost.lookup
    assert (lookup.strategy, lookup.calls, lookup.follow_ups) == (Strategy.BY_LIST, 9, 7)
    assert lookup.explanation == ("2 pages of the 1,000 members of Free Members, then 7 look-ups "
                                  "for the addresses not on it")
    assert plan.snapshot.unchecked == 0 and plan.snapshot.followed_up == 7

    # The price came before anything was spent: the progress's first total is the most the
    # look-up could cost (2 pages, then up to 25 look-ups); once the pages are read, the exact one.
    looking = [(done, total) for phase, done, total in seen if phase is Phase.LOOKING_UP]
    assert looking[0] == (1, 2 + FOLLOW_UP_FLOOR)
    assert looking[-1] == (9, 9)
    price = choose_strategy(47, Action.REMOVE, plan.lists)
    assert (price.calls, price.follow_ups) == (2 + FOLLOW_UP_FLOOR, FOLLOW_UP_FLOOR)
    assert price.explanation == ("2 pages of the 1,000 members of Free Members, then up to 25 "
                                 "look-ups for the addresses not on it")


@pytest.mark.parametrize("n_missing", [FOLLOW_UP_FLOOR, FOLLOW_UP_FLOOR + 1])
def test_many_missing_are_not_looked_up_and_the_preview_says_so(sandbox, tmp_path,
                                                                n_missing) -> None:
    client = reset_and_connect(sandbox, account())
    missing = [f"stranger{i}@example.net" for i in range(n_missing)]
    plan = preview(client, sheet_of(tmp_path, ON_LIST[:10] + missing), Action.REMOVE,
                   ["Free Members"])
    assert plan.snapshot.strategy is Strategy.BY_LIST
    if n_missing <= FOLLOW_UP_FLOOR:  # few enough: each looked up
        assert plan.counts == {"remove": 10, "skip_not_found": n_missing}
        assert email_queries(sandbox) == missing
        assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 3 + 2 + n_missing
        return
    # Too many: only the pages were read, and every row and the summary say what is not known.
    assert email_queries(sandbox) == []
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 3 + 2
    assert plan.counts == {"remove": 10, "skip_not_on_list": 26}
    assert {outcome_of(plan)[a] for a in missing} == {
        ("skip_not_on_list", "Not on Free Members; not checked whether it is in Constant Contact")}
    assert plan.snapshot.unchecked == 26 and plan.snapshot.unchecked_why == "many"
    assert plan.summary() == (
        "10 will be removed from Free Members, 26 are not on Free Members (ccdesk did not check "
        "whether they are in Constant Contact at all: that would take 26 more requests)")
    lookup = plan.cost.lookup
    assert (lookup.calls, lookup.follow_ups) == (2, 0)
    assert lookup.explanation == ("2 pages of the 1,000 members of Free Members; the 26 addresses "
                                  "not on it were not looked up one by one, which would take 26 "
                                  "more requests")
    cost = plan.to_dict()["cost"]
    assert cost["not_checked"] == 26 and cost["lookup_follow_ups"] == 0 and cost["lookup"] == 5


def test_a_big_list_allows_as_many_look_ups_as_pages(sandbox, tmp_path) -> None:
    # 30 pages of members: up to 30 look-ups one by one (not 25).
    client = reset_and_connect(sandbox, free_members_account(15_000))
    missing = [f"stranger{i}@example.net" for i in range(30)]
    plan = preview(client, sheet_of(tmp_path, ON_LIST + missing), Action.REMOVE, ["Free Members"])
    assert plan.snapshot.strategy is Strategy.BY_LIST
    assert plan.counts == {"remove": 40, "skip_not_found": 30}
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 3 + 30 + 30


def usage_leaving(tmp_path, left: int) -> DailyUsage:
    usage = DailyUsage(tmp_path / f"usage-{left}.json")
    usage.count(DEMO_CLIENT_ID, 10_000 - left)
    return usage


def test_the_look_ups_leave_today_s_allowance_to_the_run(sandbox, tmp_path, journal) -> None:
    missing = ["x0@example.org", "nobody@example.org", "typo@example.org"]
    values = ON_LIST + missing
    client = reset_and_connect(sandbox, account())
    probe = preview(client, sheet_of(tmp_path, values), Action.REMOVE, ["Free Members"])
    run_total = probe.cost.run_total
    assert run_total == 5  # one activity, two checks, two pages of what is left of the list
    before = 3 + 2  # account, privileges, lists, the two pages

    # After the pages, 3 look-ups and the run's 5 requests do not fit in 7: no look-ups.
    short = fast_client(sandbox, usage=usage_leaving(tmp_path, before + run_total + 2))
    sandbox.requests.clear()
    plan = preview(short, sheet_of(tmp_path, values), Action.REMOVE, ["Free Members"])
    assert email_queries(sandbox) == [] and plan.cost.lookup_spent == before
    assert plan.snapshot.unchecked == 3 and plan.snapshot.unchecked_why == "allowance"
    assert plan.counts == {"remove": 40, "skip_not_on_list": 3}
    assert plan.summary().endswith(
        "3 are not on Free Members (ccdesk did not check whether they are in Constant Contact at "
        "all: that would take 3 more requests, and what is left of today's allowance is needed "
        "for the run)")
    assert plan.cost.lookup.explanation.endswith(
        "; the 3 addresses not on it were not looked up one by one, which would take 3 more "
        "requests, and what is left of today's allowance is needed for the run")
    assert plan.cost.quota_left == run_total + 2 and plan.cost.fits

    # In 8 they fit: looked up, and the run still fits exactly (the check counts them).
    enough = fast_client(sandbox, usage=usage_leaving(tmp_path, before + run_total + 3))
    sandbox.requests.clear()
    plan = preview(enough, sheet_of(tmp_path, values), Action.REMOVE, ["Free Members"])
    assert email_queries(sandbox) == missing
    assert plan.counts == {"remove": 40, "skip_not_on_list": 1, "skip_not_found": 2}
    assert plan.cost.quota_left == run_total and plan.cost.fits
    assert start_run(plan, enough, journal).counts == {"removed": 40, "skip_not_on_list": 1,
                                                        "skip_not_found": 2}


def test_the_window_gets_what_was_and_was_not_checked(sandbox, tmp_path) -> None:
    import json

    from ccdesk.engine.wire import PreviewInfo, plan_from_json, plan_to_json

    client = reset_and_connect(sandbox, account())
    for missing, unchecked in ((["nobody@example.org", "x0@example.org"], 0),
                               ([f"stranger{i}@example.net" for i in range(30)], 30)):
        plan = preview(client, sheet_of(tmp_path, ON_LIST + missing), Action.REMOVE,
                       ["Free Members"])
        back = plan_from_json(json.loads(json.dumps(plan_to_json(plan))))
        assert back.cost == plan.cost and back.snapshot.unchecked == unchecked
        assert back.cost.lookup.follow_ups == (0 if unchecked else 2)
        assert (back.snapshot.pages, back.snapshot.followed_up, back.snapshot.unchecked_why) == (
            plan.snapshot.pages, plan.snapshot.followed_up, plan.snapshot.unchecked_why)
        info = PreviewInfo.from_json(json.loads(json.dumps(PreviewInfo.of("r1", plan).to_json())))
        assert info.summary == plan.summary() and info.plan.unchecked_words() == plan.unchecked_words()
        assert ("did not check" in info.summary) is bool(unchecked)


def read_log(path) -> list[dict[str, str]]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_log_says_which_is_which(sandbox, tmp_path, journal) -> None:
    from ccdesk.core.export import export_log, export_preview

    client = reset_and_connect(sandbox, account())
    missing = ["x0@example.org", "nobody@example.org", "gone@example.org"]
    plan = preview(client, sheet_of(tmp_path, ON_LIST + missing), Action.REMOVE, ["Free Members"])
    result = start_run(plan, client, journal)
    rows = {r["Email"]: r for r in read_log(export_log(journal, result.run_id, tmp_path / "l.csv"))}
    assert (rows["x0@example.org"]["Result"], rows["x0@example.org"]["Reason"]) == (
        "Skipped: not on Free Members", "Not on Free Members")
    assert (rows["nobody@example.org"]["Result"], rows["nobody@example.org"]["Reason"]) == (
        "Skipped: not in Constant Contact", "No contact with this address in Constant Contact")
    assert rows["gone@example.org"]["Result"] == "Skipped: deleted in Constant Contact"

    # Too many to look up: the log and the saved preview say they were not checked.
    strangers = [f"stranger{i}@example.net" for i in range(30)]
    on_list = [f"m{i}@example.org" for i in range(100, 105)]
    plan = preview(client, sheet_of(tmp_path, on_list + strangers, name="many.csv"),
                   Action.REMOVE, ["Free Members"])
    saved = {r["Email"]: r for r in read_log(export_preview(plan, tmp_path / "p.csv"))}
    assert (saved[strangers[0]]["Outcome"], saved[strangers[0]]["Reason"]) == (
        "skip_not_on_list", "Not on Free Members; not checked whether it is in Constant Contact")
    result = start_run(plan, client, journal)
    rows = {r["Email"]: r for r in read_log(export_log(journal, result.run_id, tmp_path / "m.csv"))}
    assert {(rows[s]["Result"], rows[s]["Reason"]) for s in strangers} == {
        ("Skipped: not on Free Members",
         "Not on Free Members; not checked whether it is in Constant Contact")}
