"""The application key's own limits, end to end against the sandbox: a partner key (10 a
second, 250,000 a day) kept in the limits file is paced at its rate, still gets over a 429,
and its allowance is what the account shows and what a preview must fit in."""

from __future__ import annotations

import time

import pytest

from ccdesk import engine
from ccdesk.cc.errors import QuotaExceeded
from ccdesk.cc.limits import DEFAULT_LIMITS, PARTNER_LIMITS, Limits
from ccdesk.cc.transport import Pacer
from ccdesk.core.lookup import Action, choose_strategy
from ccdesk.core.plan import Cost, PlanError
from ccdesk.engine.session import Session, limits_file, limits_of, save_limits
from ccdesk.sandbox import DEMO_CLIENT_ID

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def partner(url, sandbox, monkeypatch) -> str:
    """The sandbox with partner limits, and a fresh process-wide pacer for its key (the
    session sets its rate from the limits file)."""
    from ccdesk.cc import auth

    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    sandbox.set_limits(rate_limit=10, daily_quota=250_000)
    monkeypatch.setitem(Pacer._shared, DEMO_CLIENT_ID, Pacer())
    return url


def most_in_one_second(times: list[float]) -> int:
    """The most requests that arrived within any one second."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def api_times(sandbox) -> list[float]:
    return sorted(r.time for r in sandbox.requests.records() if r.path.startswith("/v3/"))


@pytest.mark.slow
def test_a_partner_key_is_paced_at_its_own_rate(partner, sandbox, journal_path) -> None:
    save_limits(DEMO_CLIENT_ID, PARTNER_LIMITS)
    session = Session.for_sandbox(partner, journal_path)
    try:
        client = session.client()
        assert client.transport.limits == PARTNER_LIMITS
        assert client.transport.pacer.rate == pytest.approx(9.25)
        sandbox.requests.clear()
        for _ in range(60):
            client.account()
    finally:
        session.close()
    times = api_times(sandbox)
    assert len(times) == 60 and sandbox.requests.count(status=429) == 0
    assert most_in_one_second(times) <= 10  # never over the partner limit
    assert 59 / (times[-1] - times[0]) > 4.0  # and faster than the default limit allows


@pytest.mark.slow
def test_default_limits_keep_the_default_pace(partner, sandbox, journal_path) -> None:
    session = Session.for_sandbox(partner, journal_path)
    try:
        client = session.client()
        assert client.transport.limits == DEFAULT_LIMITS
        sandbox.requests.clear()
        for _ in range(12):
            client.account()
    finally:
        session.close()
    times = api_times(sandbox)
    assert most_in_one_second(times) <= 4
    assert 11 / (times[-1] - times[0]) < 4.0


@pytest.mark.slow
def test_a_429_is_still_handled_with_the_higher_limits(partner, sandbox, journal_path) -> None:
    """Constant Contact allows less than the key is set up for: it says "throttled", and
    ccdesk waits (about a second) and carries on; nothing is lost."""
    save_limits(DEMO_CLIENT_ID, PARTNER_LIMITS)
    session = Session.for_sandbox(partner, journal_path)
    try:
        client = session.client()
        sandbox.set_limits(rate_limit=5)
        sandbox.requests.clear()
        names = [client.account().organization_name for _ in range(15)]
    finally:
        session.close()
    assert names == ["Test Choir"] * 15
    records = [r for r in sandbox.requests.records() if r.path.startswith("/v3/")]
    throttled = [r for r in records if r.status == 429]
    assert throttled and len(records) == 15 + len(throttled)
    for refused in throttled:  # the next request waited for the pause after "throttled"
        after = next(r for r in records if r.seq > refused.seq)
        assert after.time - refused.time >= 0.9


def test_quota_exceeded_uses_up_the_partner_allowance(partner, sandbox, journal_path) -> None:
    save_limits(DEMO_CLIENT_ID, PARTNER_LIMITS)
    session = Session.for_sandbox(partner, journal_path)
    try:
        client = session.client()
        sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 250_000)
        with pytest.raises(QuotaExceeded):
            client.account()
        assert sandbox.requests.count(status=429) == 1  # not retried
        assert session.allowance() == (0, PARTNER_LIMITS)
        assert session.usage.used(DEMO_CLIENT_ID) == 250_000
    finally:
        session.close()


def test_the_allowance_and_fits_today_use_the_partner_limits(partner, sandbox, journal_path,
                                                              sheet) -> None:
    session = Session.for_sandbox(partner, journal_path)
    try:
        session.usage.count(DEMO_CLIENT_ID, 12_000)  # more than a default key has in a day
        left, limits = session.allowance()
        assert (left, limits) == (0, DEFAULT_LIMITS)
        plan = engine.preview(session, engine.read(sheet), Action.REMOVE, ["Free Members"])
        assert plan.cost.quota_left == 0 and not plan.cost.fits
        with pytest.raises(PlanError, match="allowance"):
            engine.start(session, engine.record(session, plan))

        # A preview needing 20,000 requests (unsubscribing 10,000, found one by one).
        lookup = choose_strategy(10_000, Action.UNSUBSCRIBE, [], None)
        assert lookup.calls == 10_000
        big = Cost(lookup, lookup.calls, 2 * 10_000, 0, 0, session.quota_left())
        assert big.run_total == 20_000 and not big.fits

        session.set_limits(PARTNER_LIMITS)  # the connected key: the sandbox's
        assert limits_of(DEMO_CLIENT_ID) == PARTNER_LIMITS
        used = session.usage.used(DEMO_CLIENT_ID)
        assert session.allowance() == (250_000 - used, PARTNER_LIMITS)
        assert Cost(lookup, lookup.calls, 20_000, 0, 0, session.quota_left()).fits
        plan = engine.preview(session, engine.read(sheet), Action.REMOVE, ["Free Members"])
        assert plan.cost.fits and 200_000 < plan.cost.quota_left < 250_000 - 12_000
        result = engine.start(session, engine.record(session, plan))
        assert result.state == "finished"
    finally:
        session.close()


def test_a_job_process_uses_the_limits_file(partner, jobs, journal_path, sheet) -> None:
    """The window's previews run in a job process: it reads the same limits file."""
    from ccdesk.engine.wire import parse_event
    from tests.engine.conftest import preview_of

    save_limits(DEMO_CLIENT_ID, Limits(per_second=10, per_day=250_000, reset_minutes=5 * 60))
    info = parse_event(preview_of(jobs, partner, journal_path, sheet)).preview  # type: ignore[union-attr]
    assert 249_000 < info.plan.cost.quota_left <= 250_000


def test_the_limits_file_is_private_and_keyed_by_the_application_key(tmp_path) -> None:
    import os

    save_limits("key-a", PARTNER_LIMITS)
    save_limits("key-b", Limits(per_second=4, per_day=10_000, reset_minutes=90))
    assert limits_of("key-a") == PARTNER_LIMITS
    assert limits_of("key-b").reset == "01:30"
    assert limits_of("key-c") == DEFAULT_LIMITS
    path = limits_file().path
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    save_limits("key-a", DEFAULT_LIMITS)  # the defaults are not kept
    assert "key-a" not in path.read_text(encoding="utf-8")
    path.write_text('{"key-b": {"per_second": "many"}}', encoding="utf-8")
    assert limits_of("key-b") == DEFAULT_LIMITS  # unreadable: the safe side
    started = time.monotonic()
    path.write_text("not json", encoding="utf-8")
    assert limits_of("key-b") == DEFAULT_LIMITS
    save_limits("key-b", PARTNER_LIMITS)  # and writable again
    assert limits_of("key-b") == PARTNER_LIMITS
    assert time.monotonic() - started < 5


def test_a_retry_after_header_is_waited_for(partner, sandbox, journal_path) -> None:
    """Constant Contact documents no Retry-After; should a 429 carry one, ccdesk waits at
    least that long (here longer than its own second) before trying again."""
    save_limits(DEMO_CLIENT_ID, PARTNER_LIMITS)
    session = Session.for_sandbox(partner, journal_path)
    try:
        client = session.client()
        sandbox.requests.clear()
        sandbox.faults.add(r"/v3/account/summary", status=429, headers={"Retry-After": "2"},
                           body={"error_key": "throttled", "error_message": "Too Many Requests"})
        assert client.account().organization_name == "Test Choir"
    finally:
        session.close()
    refused, retried = [r for r in sandbox.requests.records() if r.path.startswith("/v3/")]
    assert (refused.status, retried.status) == (429, 200)
    assert retried.time - refused.time >= 1.9


def test_the_sandbox_can_say_retry_after(partner, sandbox) -> None:
    import requests

    token = sandbox.issue_token()["access_token"]
    sandbox.set_limits(rate_limit=1)
    sandbox.config.retry_after = True
    headers = {"Authorization": f"Bearer {token}"}
    answers = [requests.get(f"{sandbox.api_url}/account/summary", headers=headers, timeout=10)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    assert answers[1].json()["error_key"] == "throttled"
    assert answers[1].headers["Retry-After"] == "1"
    sandbox.config.retry_after = False
    assert "Retry-After" not in requests.get(f"{sandbox.api_url}/account/summary",
                                             headers=headers, timeout=10).headers
