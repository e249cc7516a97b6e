"""The preview against the sandbox: every outcome, the cheaper look-up, the cost, and the
guards of ``start_run`` (a stale preview, a run that does not fit today's allowance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccdesk.cc.transport import DailyUsage
from ccdesk.core.lookup import Action, Strategy, choose_strategy, list_paging_calls
from ccdesk.core.plan import STALE_AFTER, Outcome, PlanError
from ccdesk.core.runner import start_run
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.conftest import fast_client, reset_and_connect
from tests.core.conftest import free_members_account, plan_for, write_sheet
from tests.support.accounts import small_account

pytestmark = pytest.mark.timeout(60)

# Sheet rows for the small account (tests/support/accounts.py) and what each one is.
EVERY_KIND = ["ada@example.org", "eve@example.org", "fay@example.org", "gus@example.org",
              "hal@example.org", "ivy@example.org", "jon@example.org", "kim@example.org",
              "nobody@example.org", "not an address", "ADA@Example.org", "", "ben@example.org",
              "dev@example.org"]
MEMBERSHIP = ["Sustainer"] * 12 + ["Free", "Sustainer"]  # ben's row is left out by the filter


def kinds(plan) -> list[str]:
    return [str(item.outcome) for item in plan.items]


def gets(sandbox, path: str = r"/v3/contacts$") -> list[str]:
    """The query strings of the GETs to ``path``."""
    import re

    return [r.query for r in sandbox.requests.records() if r.method == "GET" and re.match(path, r.path)]


def no_changes(sandbox) -> bool:
    return not any(r.method in ("POST", "PUT", "DELETE") and r.path.startswith("/v3/")
                   for r in sandbox.requests.records())


#: Thirty more members of Free Members (``m{i}@example.org``), so that paging the list (one
#: page, then up to 25 look-ups) is cheaper than looking the sheet up address by address.
FILLERS = [f"m{i}@example.org" for i in range(30)]


def test_remove_every_outcome_by_paging_the_list(sandbox, tmp_path) -> None:
    data = small_account()
    data["contacts"] += [{"email": e, "lists": ["Free Members"]} for e in FILLERS]
    client = reset_and_connect(sandbox, data)
    plan = plan_for(client, tmp_path, EVERY_KIND + FILLERS,
                    membership=MEMBERSHIP + ["Sustainer"] * len(FILLERS))
    assert plan.snapshot.strategy is Strategy.BY_LIST  # 40 addresses, a one-page list
    assert kinds(plan)[:14] == [
        "remove", "remove", "remove", "skip_not_on_list", "skip_not_on_list", "skip_unsubscribed",
        "skip_unsubscribed", "skip_deleted", "skip_not_found", "invalid", "duplicate",
        "blank", "filtered_out", "remove"]
    rows = {item.row: item for item in plan.items}
    assert [i.row for i in plan.items] == list(range(2, 16 + len(FILLERS)))
    assert rows[3].reason == "Off Free Members" and rows[3].warning == "Stays on Newsletter"
    assert rows[4].warning == "Stays on Sustainers"
    assert rows[5].reason == "Not on Free Members"  # gus: in Constant Contact, on another list
    assert rows[10].reason == "No contact with this address in Constant Contact"
    assert rows[12].reason == "Same address as row 2"
    assert rows[14].reason.startswith("Membership is “Free”")
    free = sandbox.list_id("Free Members")
    assert all(i.list_ids == (free,) for i in plan.changes)
    assert plan.counts == {"remove": 34, "skip_not_on_list": 2, "skip_not_found": 1,
                           "skip_unsubscribed": 2, "skip_deleted": 1, "invalid": 1,
                           "duplicate": 1, "blank": 1, "filtered_out": 1}
    assert plan.summary().startswith("34 will be removed from Free Members, 2 are not on Free "
                                     "Members, 1 is not in Constant Contact, 2 are already "
                                     "unsubscribed, 1 is deleted in Constant Contact")
    # One page of the list's members, then the five not on it one by one; nothing changed.
    queries = gets(sandbox)
    assert len(queries) == 6 and "lists=" in queries[0] and "email=" not in queries[0]
    assert [q.split("email=")[1].split("&")[0] for q in queries[1:]] == [
        "gus%40example.org", "hal%40example.org", "jon%40example.org", "kim%40example.org",
        "nobody%40example.org"]
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 9  # + account, privileges, lists
    assert no_changes(sandbox)


def test_remove_by_email_tells_deleted_and_unknown_apart(sandbox, tmp_path) -> None:
    data = small_account()
    data["contacts"] += [{"email": f"filler{i}@example.net", "lists": ["Free Members"]}
                         for i in range(5000)]
    client = reset_and_connect(sandbox, data)
    values = ["ada@example.org", "gus@example.org", "hal@example.org", "ivy@example.org",
              "jon@example.org", "kim@example.org", "nobody@example.org", "lou@example.org"]
    plan = plan_for(client, tmp_path, values)
    assert plan.snapshot.strategy is Strategy.BY_EMAIL  # 8 look-ups beat 11 pages
    assert kinds(plan) == ["remove", "skip_not_on_list", "skip_not_on_list", "skip_unsubscribed",
                           "skip_unsubscribed", "skip_deleted", "skip_not_found", "remove"]
    assert plan.items[6].reason == "No contact with this address in Constant Contact"
    queries = gets(sandbox)
    assert len(queries) == 8 and all("email=" in q for q in queries)
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 11
    assert no_changes(sandbox)


def test_remove_all_every_outcome_by_paging_the_account(cc, sandbox, tmp_path) -> None:
    values = ["ada@example.org", "eve@example.org", "fay@example.org", "gus@example.org",
              "hal@example.org", "jon@example.org", "kim@example.org", "nobody@example.org",
              "ivy@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.REMOVE_ALL)
    assert plan.snapshot.strategy is Strategy.BY_ACCOUNT  # 12 contacts: one page
    assert kinds(plan) == ["remove", "remove", "remove", "remove", "skip_not_on_list",
                           "skip_unsubscribed", "skip_deleted", "skip_not_found",
                           "skip_unsubscribed"]
    lid = sandbox.list_id
    by_email = {i.email: i for i in plan.items}
    assert set(by_email["eve@example.org"].list_ids) == {lid("Free Members"), lid("Newsletter")}
    assert by_email["eve@example.org"].reason == "Off Free Members, Newsletter"
    assert by_email["gus@example.org"].list_ids == (lid("Sustainers"),)
    assert by_email["hal@example.org"].reason == "On no list already"
    # The account's size (1 call), then its one page.
    queries = gets(sandbox)
    assert len(queries) == 2 and "include_count=true" in queries[0] and "lists=" not in queries[1]
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 5
    assert plan.summary().startswith("4 will be removed from every list they are on")
    assert no_changes(sandbox)


def test_unsubscribe_outcomes(cc, sandbox, tmp_path) -> None:
    values = ["ada@example.org", "hal@example.org", "dev@example.org", "jon@example.org",
              "ivy@example.org", "kim@example.org", "nobody@example.org", "bad@", "", "ada@example.org"]
    plan = plan_for(cc, tmp_path, values, Action.UNSUBSCRIBE)
    assert kinds(plan) == ["unsubscribe", "unsubscribe", "unsubscribe", "skip_unsubscribed",
                           "skip_unsubscribed", "skip_deleted", "skip_not_found", "invalid",
                           "blank", "duplicate"]
    assert plan.cost.run_changes == 6 and plan.cost.run_total == 6  # a fresh read and a PUT each
    assert plan.summary().startswith("3 will be unsubscribed (permanently)")
    assert no_changes(sandbox)


# ---- the cheaper look-up -----------------------------------------------------------------------


def test_choose_strategy_arithmetic() -> None:
    from ccdesk.cc.models import ContactList

    def lists(*sizes: int) -> list[ContactList]:
        return [ContactList(f"id{i}", f"L{i}", n) for i, n in enumerate(sizes)]

    assert choose_strategy(0, Action.REMOVE, lists(10)).calls == 0
    assert choose_strategy(1, Action.REMOVE, lists(10)).strategy is Strategy.BY_EMAIL
    # Paging is priced at its pages and the most look-ups one by one it may add for those not
    # on the list (25, or as many as the pages): at most 1 + 2 for two addresses, so by email.
    assert choose_strategy(2, Action.REMOVE, lists(10)).strategy is Strategy.BY_EMAIL
    assert choose_strategy(26, Action.REMOVE, lists(10)).strategy is Strategy.BY_EMAIL  # a tie
    few = choose_strategy(27, Action.REMOVE, lists(10))
    assert (few.strategy, few.calls, few.follow_ups) == (Strategy.BY_LIST, 26, 25)
    assert few.explanation == ("1 page of the 10 members of L0, then up to 25 look-ups for the "
                               "addresses not on it")
    assert choose_strategy(20, Action.REMOVE, lists(100_000)).calls == 20
    big = choose_strategy(10_000, Action.REMOVE, lists(100_000))
    assert (big.strategy, big.calls, big.follow_ups) == (Strategy.BY_LIST, 400, 200)
    assert big.explanation.startswith("200 pages of the 100,000 members of L0, then up to 200")
    two = choose_strategy(10_000, Action.REMOVE, lists(60_000, 40_000))
    assert two.explanation.endswith("for the addresses not on them")
    assert list_paging_calls([10] * 30) == 2  # at most 25 lists per query
    assert choose_strategy(5, Action.UNSUBSCRIBE, [], account_size=None).strategy is Strategy.BY_EMAIL
    every = choose_strategy(600, Action.REMOVE_ALL, [], account_size=1200)
    assert (every.strategy, every.calls) == (Strategy.BY_ACCOUNT, 3)


def test_paging_is_chosen_for_many_addresses_against_a_small_list(sandbox, tmp_path) -> None:
    client = reset_and_connect(sandbox, free_members_account(1000))
    plan = plan_for(client, tmp_path, [f"m{i}@example.org" for i in range(0, 1000, 3)])
    assert plan.snapshot.strategy is Strategy.BY_LIST
    assert plan.counts == {"remove": 334}
    assert len(gets(sandbox)) == 2  # 1,000 members: two pages of 500, not 334 look-ups
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 5


def test_per_email_is_chosen_for_few_addresses_against_a_big_list(sandbox, tmp_path) -> None:
    client = reset_and_connect(sandbox, free_members_account(5000, extra=10))
    plan = plan_for(client, tmp_path, ["m7@example.org", "m4999@example.org", "x3@example.org"])
    assert plan.snapshot.strategy is Strategy.BY_EMAIL
    assert kinds(plan) == ["remove", "remove", "skip_not_on_list"]
    assert len(gets(sandbox)) == 3  # three look-ups, not ten pages
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 6
    # The same few addresses, for every list: the account's size costs one call.
    sandbox.requests.clear()
    plan = plan_for(client, tmp_path, ["m7@example.org", "x3@example.org"], Action.REMOVE_ALL)
    assert plan.snapshot.strategy is Strategy.BY_EMAIL
    assert kinds(plan) == ["remove", "skip_not_on_list"]
    assert plan.cost.lookup_spent == sandbox.requests.api_calls() == 6  # account, privileges, lists, size, 2


@pytest.mark.parametrize("n", [2, 1100])
def test_the_run_costs_what_the_preview_predicted(sandbox, tmp_path, journal, n) -> None:
    client = reset_and_connect(sandbox, free_members_account(1200))
    plan = plan_for(client, tmp_path, [f"m{i}@example.org" for i in range(n)])
    sandbox.requests.clear()
    result = start_run(plan, client, journal)
    assert result.counts == {"removed": n}
    assert sandbox.requests.count("POST") == plan.cost.run_changes
    assert sandbox.requests.count("GET", r"/v3/contacts") == plan.cost.run_verify
    checks = sandbox.requests.count("GET", r"/v3/activities")
    assert 1 <= checks <= 10  # depends on timing; the tests check every 0.05 s


def test_predicted_cost_of_a_removal(sandbox, tmp_path) -> None:
    client = reset_and_connect(sandbox, free_members_account(1200, newsletter_every=2))
    plan = plan_for(client, tmp_path, [f"m{i}@example.org" for i in range(1100)])
    cost = plan.cost
    assert cost.run_changes == 3  # 1,100 contacts, one list: 500 + 500 + 100
    # Read back by paging what is left of Free Members (100 members): one page, not 1,100 reads.
    assert cost.run_verify == 1 and cost.check == "by_list"
    assert cost.run_total == cost.run_changes + cost.run_polls + cost.run_verify
    shown = plan.to_dict()
    assert shown["api_calls"] == cost.lookup_spent + cost.run_total
    assert shown["cost"]["lookup_strategy"] == "by_list"
    assert shown["rows"] == 1100 and shown["counts"] == {"remove": 1100}
    assert shown["items"][0] == {"row": 2, "email": "m0@example.org", "outcome": "remove",
                                 "reason": "Off Free Members", "warning": "Stays on Newsletter"}


# ---- guards of start_run ---------------------------------------------------------------------


def test_a_preview_older_than_stale_after_is_refused(cc, sandbox, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["ada@example.org"])
    assert not plan.is_stale()
    plan.created_at -= STALE_AFTER + 1
    assert plan.is_stale()
    with pytest.raises(PlanError, match="out of date"):
        start_run(plan, cc, journal)
    assert journal.runs() == [] and no_changes(sandbox)
    plan.created_at += 2  # just inside the limit again: it runs
    assert start_run(plan, cc, journal).counts == {"removed": 1}


def test_a_preview_of_a_sheet_changed_on_disk_is_refused(cc, sandbox, tmp_path, journal) -> None:
    plan = plan_for(cc, tmp_path, ["ada@example.org", "ben@example.org"])
    write_sheet(Path(plan.sheet.path), ["ada@example.org", "ben@example.org", "eve@example.org"])
    assert plan.is_stale()
    with pytest.raises(PlanError, match="out of date"):
        start_run(plan, cc, journal)
    assert journal.runs() == [] and no_changes(sandbox)
    assert sandbox.members("Free Members") >= {"ada@example.org", "ben@example.org"}


def test_a_run_that_does_not_fit_todays_allowance_is_refused(sandbox, tmp_path, journal) -> None:
    sandbox.set_limits(rate_limit=0)
    values = ["ada@example.org", "ben@example.org", "eve@example.org"]
    probe = plan_for(fast_client(sandbox), tmp_path, values)
    needed, lookup = probe.cost.run_total, probe.cost.lookup_spent
    assert needed == 4  # one activity, two checks, one page of what is left of the list

    def client_with_left(left: int):
        usage = DailyUsage(tmp_path / f"usage-{left}.json")
        usage.count(DEMO_CLIENT_ID, 10_000 - lookup - left)
        return fast_client(sandbox, usage=usage)

    short = client_with_left(needed - 1)
    plan = plan_for(short, tmp_path, values)
    assert plan.cost.quota_left == needed - 1 and not plan.cost.fits
    sandbox.requests.clear()
    with pytest.raises(PlanError, match="allowance"):
        start_run(plan, short, journal)
    assert journal.runs() == [] and sandbox.requests.api_calls() == 0

    enough = client_with_left(needed)
    plan = plan_for(enough, tmp_path, values)
    assert plan.cost.fits
    assert start_run(plan, enough, journal).counts == {"removed": 3}


def test_preview_of_an_unknown_list_names_the_lists(cc, tmp_path) -> None:
    with pytest.raises(PlanError) as caught:
        plan_for(cc, tmp_path, ["ada@example.org"], lists=["Free members ", "Gold"])
    assert "Gold" in str(caught.value) and "Free Members, Newsletter, Sustainers" in caught.value.what_to_do


def test_outcome_names_are_the_documented_ones() -> None:
    assert [str(o) for o in Outcome] == [
        "remove", "move", "unsubscribe", "skip_not_on_list", "skip_not_found", "skip_unsubscribed",
        "skip_deleted", "invalid", "duplicate", "blank", "filtered_out"]
