"""The REST API's limits over real HTTP (4 requests/second and 10,000/day per client id,
cc-v3-api.md §5), and the plain-Python parts of :mod:`ccdesk.sandbox.limits`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial

import pytest
import requests

from ccdesk.sandbox import DEMO_CLIENT_ID, Sandbox
from ccdesk.sandbox.limits import Clock, DailyQuota, Faults, RateLimiter, utc_day

THROTTLED = {"error_key": "throttled", "error_message": "Too Many Requests"}
QUOTA_EXCEEDED = {"error_key": "quota_exceeded", "error_message": "Limit Exceeded"}
http_get = partial(requests.get, timeout=10)


def fresh_token(sandbox: Sandbox, client_id: str | None = None) -> str:
    if client_id is None:
        return sandbox.issue_token()["access_token"]
    return sandbox.issue_token(client_id)["access_token"]


def lists(sandbox: Sandbox, access_token: str) -> requests.Response:
    return http_get(sandbox.api_url + "/contact_lists",
                    headers={"Authorization": f"Bearer {access_token}"})


def no_limit_headers(r: requests.Response) -> bool:
    return not [h for h in r.headers
                if h.lower() == "retry-after" or h.lower().startswith(("x-ratelimit", "ratelimit"))]


# ---- 4 requests per second per client id ----------------------------------------------------------


def test_fifth_request_in_a_second_is_throttled_then_recovers(sandbox: Sandbox) -> None:
    access = fresh_token(sandbox)
    statuses = [lists(sandbox, access).status_code for _ in range(4)]
    assert statuses == [200] * 4
    r = lists(sandbox, access)
    assert r.status_code == 429
    assert r.json() == THROTTLED  # one object, not an array
    assert no_limit_headers(r)
    time.sleep(1.0)
    assert lists(sandbox, access).status_code == 200


@pytest.mark.slow
def test_paced_requests_all_succeed(sandbox: Sandbox) -> None:
    access = fresh_token(sandbox)
    for i in range(12):
        if i:
            time.sleep(0.26)  # after each answer: ≥ 0.26 s between arrivals
        assert lists(sandbox, access).status_code == 200, i


def test_limit_is_per_client_id_not_per_token(sandbox: Sandbox) -> None:
    sandbox.register_app("other-app")
    mine, also_mine, theirs = fresh_token(sandbox), fresh_token(sandbox), fresh_token(sandbox, "other-app")
    assert [lists(sandbox, t).status_code for t in (mine, also_mine, mine, also_mine)] == [200] * 4
    assert [lists(sandbox, theirs).status_code for _ in range(4)] == [200] * 4
    assert lists(sandbox, also_mine).json() == THROTTLED
    assert lists(sandbox, theirs).json() == THROTTLED


def test_throttled_requests_do_not_count_against_the_quota(sandbox: Sandbox) -> None:
    access = fresh_token(sandbox)
    statuses = [lists(sandbox, access).status_code for _ in range(7)]
    assert statuses.count(200) == 4 and statuses.count(429) == 3
    assert sandbox.quota_used() == 4


# ---- the daily quota ----------------------------------------------------------------------------------


def test_daily_quota_then_reset_at_utc_midnight(sandbox: Sandbox) -> None:
    sandbox.set_limits(daily_quota=3)
    access = fresh_token(sandbox)
    assert [lists(sandbox, access).status_code for _ in range(3)] == [200] * 3
    r = lists(sandbox, access)
    assert r.status_code == 429
    assert r.json() == QUOTA_EXCEEDED
    assert no_limit_headers(r)
    assert sandbox.quota_used() == 3  # the refused request is not counted
    sandbox.clock.advance(sandbox.clock.seconds_to_utc_midnight() + 1)
    access = fresh_token(sandbox)  # the old one may have lived less than the jump
    assert lists(sandbox, access).status_code == 200
    assert sandbox.quota_used() == 1


def test_quota_already_used_up_today(sandbox: Sandbox) -> None:
    access = fresh_token(sandbox)
    sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 10_000)
    assert lists(sandbox, access).json() == QUOTA_EXCEEDED
    sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 9_999)
    assert lists(sandbox, access).status_code == 200
    assert lists(sandbox, access).json() == QUOTA_EXCEEDED


def test_quota_is_per_client_id(sandbox: Sandbox) -> None:
    sandbox.register_app("other-app")
    sandbox.quota.set_used(DEMO_CLIENT_ID, sandbox.clock.time(), 10_000)
    assert lists(sandbox, fresh_token(sandbox)).status_code == 429
    assert lists(sandbox, fresh_token(sandbox, "other-app")).status_code == 200


def test_unauthorized_requests_count_for_nothing(sandbox: Sandbox) -> None:
    for _ in range(6):
        assert lists(sandbox, "garbage").status_code == 401
    assert sandbox.quota_used() == 0
    assert lists(sandbox, fresh_token(sandbox)).status_code == 200


# ---- Clock ---------------------------------------------------------------------------------------------

MIDNIGHT = datetime(2024, 3, 2, tzinfo=UTC).timestamp()


def test_clock_runs_with_real_time_plus_offset() -> None:
    clock = Clock()
    assert abs(clock.time() - time.time()) < 0.5
    clock.advance(3600)
    assert abs(clock.time() - time.time() - 3600) < 0.5
    assert clock.now().tzinfo is UTC


def test_frozen_clock_moves_only_when_told() -> None:
    clock = Clock(frozen_at=1000.0)
    time.sleep(0.01)
    assert clock.time() == 1000.0
    clock.advance(5)
    assert clock.time() == 1005.0
    clock.unfreeze()
    assert 1005.0 <= clock.time() < 1005.5
    clock.freeze()
    stopped = clock.time()
    time.sleep(0.01)
    assert clock.time() == stopped
    clock.freeze(at=42.0)
    assert clock.time() == 42.0


def test_unfreeze_keeps_running_from_where_it_stood() -> None:
    clock = Clock()
    clock.freeze(at=MIDNIGHT)
    clock.unfreeze()
    time.sleep(0.02)
    assert MIDNIGHT + 0.02 <= clock.time() < MIDNIGHT + 0.5


@pytest.mark.parametrize(("at", "left"), [
    (MIDNIGHT - 30, 30.0), (MIDNIGHT, 86400.0), (MIDNIGHT + 1, 86399.0), (MIDNIGHT + 43200.5, 43199.5),
])
def test_seconds_to_utc_midnight(at: float, left: float) -> None:
    assert Clock(frozen_at=at).seconds_to_utc_midnight() == left


def test_advancing_to_midnight_changes_the_utc_day() -> None:
    clock = Clock(frozen_at=MIDNIGHT - 0.25)
    day = utc_day(clock.time())
    clock.advance(clock.seconds_to_utc_midnight())
    assert utc_day(clock.time()) == day + 1
    assert clock.now() == datetime(2024, 3, 2, tzinfo=UTC)


# ---- RateLimiter --------------------------------------------------------------------------------------


def test_rate_limiter_window_is_one_second() -> None:
    limiter = RateLimiter(4)
    assert [limiter.allow("a", t) for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.99)] == [True] * 4 + [False] * 2
    assert limiter.allow("a", 1.0)  # the request at 0.0 has left the window
    assert not limiter.allow("a", 1.05)


def test_rate_limiter_refusals_do_not_push_the_window_out() -> None:
    limiter = RateLimiter(1)
    assert limiter.allow("a", 0.0)
    assert not limiter.allow("a", 0.5)
    assert not limiter.allow("a", 0.9)
    assert limiter.allow("a", 1.0)


def test_rate_limiter_keys_are_independent_and_reset_clears() -> None:
    limiter = RateLimiter(1)
    assert limiter.allow("a", 0.0) and limiter.allow("b", 0.0)
    assert not limiter.allow("a", 0.1)
    limiter.reset()
    assert limiter.allow("a", 0.2)


def test_rate_limiter_zero_is_unlimited() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.allow("a", 0.0) for _ in range(100))


# ---- DailyQuota ---------------------------------------------------------------------------------------


def test_daily_quota_counts_accepted_requests_per_utc_day() -> None:
    quota = DailyQuota(2)
    assert [quota.allow("a", MIDNIGHT + s) for s in (0, 1, 2, 86399)] == [True, True, False, False]
    assert quota.used("a", MIDNIGHT) == 2
    assert quota.allow("a", MIDNIGHT + 86400)  # 00:00 UTC the next day
    assert quota.used("a", MIDNIGHT + 86400) == 1
    assert quota.allow("b", MIDNIGHT + 5)


def test_daily_quota_set_used_and_reset() -> None:
    quota = DailyQuota(10)
    quota.set_used("a", MIDNIGHT, 10)
    assert not quota.allow("a", MIDNIGHT + 100)
    assert quota.allow("a", MIDNIGHT - 1)  # the day before is another day
    quota.reset()
    assert quota.used("a", MIDNIGHT) == 0 and quota.allow("a", MIDNIGHT)


def test_daily_quota_zero_is_unlimited() -> None:
    quota = DailyQuota(0)
    assert all(quota.allow("a", MIDNIGHT) for _ in range(100))
    assert quota.used("a", MIDNIGHT) == 100


# ---- Faults.take ----------------------------------------------------------------------------------------


def test_fault_fires_on_nth_match_for_times_matches() -> None:
    faults = Faults()
    fault = faults.add(r"/v3/contacts", status=503, nth=2, times=2)
    fired = [faults.take("GET", "/v3/contacts") is fault for _ in range(5)]
    assert fired == [False, True, True, False, False]
    assert (fault.seen, fault.fired) == (5, 2)


def test_fault_matches_method_and_whole_path_only() -> None:
    faults = Faults()
    fault = faults.add(r"/v3/contacts/[^/]+", method="put")
    assert faults.take("GET", "/v3/contacts/abc") is None
    assert faults.take("PUT", "/v3/contacts") is None
    assert faults.take("PUT", "/v3/contacts/abc/x") is None
    assert fault.seen == 0
    assert faults.take("PUT", "/v3/contacts/abc") is fault


def test_two_faults_on_one_path_fire_one_after_the_other() -> None:
    faults = Faults()
    first = faults.add(r"/v3/contacts", status=503)
    second = faults.add(r"/v3/contacts", kind="drop")
    taken = [faults.take("GET", "/v3/contacts") for _ in range(3)]
    assert taken == [first, second, None]
    assert first.fired == second.fired == 1


def test_unknown_fault_kind_and_clear() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.add(r"/v3/contacts", kind="explode")
    faults.add(r"/v3/contacts")
    faults.clear()
    assert faults.take("GET", "/v3/contacts") is None


def test_activity_faults_are_used_in_order() -> None:
    faults = Faults()
    failed = faults.activity("failed")
    errors = faults.activity("errors", errors=3, times=2)
    assert [faults.take_activity() for _ in range(4)] == [failed, errors, errors, None]
    with pytest.raises(ValueError):
        faults.activity("exploded")
