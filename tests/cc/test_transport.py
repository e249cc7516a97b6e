"""Pacing, the day's count, retries and error mapping, against the sandbox over real HTTP."""

from __future__ import annotations

import random
import time

import pytest
import requests

from ccdesk.cc.auth import InMemoryStore
from ccdesk.cc.client import ConstantContact
from ccdesk.cc.errors import (
    BadRequest,
    ConnectionFailed,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    error_from_response,
)
from ccdesk.cc.transport import DailyUsage, Pacer, RetryPolicy
from tests.cc.conftest import fast_client, stored_from_sandbox

# ---- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_on_reads_are_retried(client: ConstantContact, sandbox, status) -> None:
    sandbox.faults.add(r"/v3/contact_lists", status=status, times=2)
    assert len(client.lists()) == 3
    assert sandbox.requests.count("GET", r"/v3/contact_lists") == 3


def test_retries_are_bounded(client: ConstantContact, sandbox) -> None:
    sandbox.faults.add(r"/v3/contact_lists", status=503, times=99)
    with pytest.raises(ServerError) as caught:
        client.lists()
    assert caught.value.status == 503
    assert sandbox.requests.count("GET", r"/v3/contact_lists") == client.transport.retry.max_attempts


def test_dropped_connection_on_a_read_is_retried(client: ConstantContact, sandbox) -> None:
    sandbox.faults.add(r"/v3/account/summary", kind="drop")
    assert client.account().organization_name == "Test Choir"
    assert sandbox.requests.count("GET", r"/v3/account/summary") == 2


def test_timeout_on_a_read_is_retried(sandbox) -> None:
    client = fast_client(sandbox)
    client.transport.timeout = (2.0, 0.3)
    sandbox.set_limits(rate_limit=0)
    sandbox.faults.add(r"/v3/account/summary", kind="delay", delay=0.6)
    assert client.account().organization_name == "Test Choir"


def test_lost_connection_is_a_typed_error_after_the_retries(sandbox) -> None:
    client = fast_client(sandbox)
    sandbox.set_limits(rate_limit=0)
    sandbox.faults.add(r"/v3/account/summary", kind="drop", times=99)
    with pytest.raises(ConnectionFailed) as caught:
        client.account()
    assert "internet" in caught.value.what_to_do


def test_nothing_listening_is_connection_failed(sandbox) -> None:
    client = fast_client(sandbox)
    client.transport.api_base = "http://127.0.0.1:9/v3"  # discard port: nothing listens
    with pytest.raises(ConnectionFailed):
        client.account()


def _ada(client: ConstantContact) -> str:
    contact = client.find_by_email("ada@example.org")
    assert contact is not None
    return contact.contact_id


def test_post_whose_answer_was_lost_is_never_resent(client: ConstantContact, sandbox) -> None:
    cid = _ada(client)
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", kind="drop", after=True)
    with pytest.raises(OutcomeUnknown):
        client.start_remove([cid], [sandbox.list_id("Free Members")])
    assert sandbox.requests.count("POST", r"/v3/activities/") == 1
    # the caller can find out what happened
    assert len(client.recent_activities()) == 1


def test_post_that_timed_out_is_never_resent(sandbox) -> None:
    client = fast_client(sandbox)
    sandbox.set_limits(rate_limit=0)
    client.transport.timeout = (2.0, 0.3)
    cid = _ada(client)
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", kind="delay", delay=0.8,
                       after=True)
    with pytest.raises(OutcomeUnknown):
        client.start_remove([cid], [sandbox.list_id("Free Members")])
    time.sleep(0.6)
    assert sandbox.requests.count("POST", r"/v3/activities/") == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_with_an_ambiguous_server_error_is_not_resent(client, sandbox, status) -> None:
    cid = _ada(client)
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", status=status)
    with pytest.raises(OutcomeUnknown) as caught:
        client.start_remove([cid], [sandbox.list_id("Free Members")])
    assert caught.value.status == status
    assert sandbox.requests.count("POST", r"/v3/activities/") == 1


def test_post_answered_503_is_retried(client: ConstantContact, sandbox) -> None:
    cid = _ada(client)
    sandbox.faults.add(r"/v3/activities/remove_list_memberships", status=503)
    assert client.start_remove([cid], [sandbox.list_id("Free Members")]).state == "initialized"
    assert sandbox.requests.count("POST", r"/v3/activities/") == 2


@pytest.mark.parametrize(("status", "error"), [(400, BadRequest), (404, NotFound),
                                               (403, PermissionDenied)])
def test_client_errors_are_not_retried(client: ConstantContact, sandbox, status, error) -> None:
    sandbox.faults.add(r"/v3/contact_lists", status=status)
    with pytest.raises(error):
        client.lists()
    assert sandbox.requests.count("GET", r"/v3/contact_lists") == 1


def test_throttled_waits_and_retries(sandbox) -> None:
    """Pacing off on purpose: the sandbox's real 4/s limit answers 429, the client waits."""
    client = fast_client(sandbox)
    client.transport.retry = RetryPolicy(throttle_wait=0.3)
    for _ in range(8):
        client.account()
    throttled = sandbox.requests.count(status=429)
    assert throttled >= 1
    assert sandbox.requests.count(status=200) == 8


def test_throttled_forever_gives_up(sandbox) -> None:
    client = fast_client(sandbox)
    client.transport.retry = RetryPolicy(max_throttled=2, throttle_wait=0.01)
    sandbox.set_limits(rate_limit=0)
    sandbox.faults.add(r"/v3/account/summary", status=429, times=99)  # body is not "throttled"
    with pytest.raises(RateLimited):
        client.account()


def test_quota_exceeded_stops_at_once_and_is_remembered(sandbox, tmp_path) -> None:
    usage = DailyUsage(tmp_path / "usage.json")
    client = fast_client(sandbox, usage=usage)
    sandbox.set_limits(rate_limit=0, daily_quota=3)
    client.account()
    client.account()
    client.account()
    with pytest.raises(QuotaExceeded) as caught:
        client.account()
    assert "midnight UTC" in caught.value.what_to_do
    assert sandbox.requests.count(status=429) == 1  # not retried
    assert usage.remaining(client.transport.client_id) == 0
    assert DailyUsage(tmp_path / "usage.json").remaining(client.transport.client_id) == 0


def test_quota_comes_back_after_utc_midnight(sandbox) -> None:
    client = fast_client(sandbox)
    sandbox.set_limits(rate_limit=0, daily_quota=1)
    client.account()
    with pytest.raises(QuotaExceeded):
        client.account()
    sandbox.clock.advance(sandbox.clock.seconds_to_utc_midnight() + 1)
    client = fast_client(sandbox)  # the old token expired with the day
    assert client.account().organization_name == "Test Choir"


# ---- pacing and the day's count ---------------------------------------------------------------


@pytest.mark.slow
def test_a_burst_of_40_calls_is_paced_under_the_real_limit(sandbox, endpoints) -> None:
    client = ConstantContact.from_store(
        endpoints, InMemoryStore(stored_from_sandbox(sandbox)), pacer=Pacer(),
        session=requests.Session(),
    )
    started = time.monotonic()
    for _ in range(40):
        client.account()
    elapsed = time.monotonic() - started
    assert elapsed >= 9.5, elapsed
    assert elapsed < 12.5, elapsed  # and not much slower than needed
    assert sandbox.requests.count(status=429) == 0


def test_pacer_on_a_fake_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(rate=4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(40):
        pacer.wait()
    assert now[0] - 100.0 == pytest.approx(39 * 0.25)
    pacer.hold(5.0)
    before = now[0]
    pacer.wait()
    assert now[0] - before == pytest.approx(5.0)


def test_default_pacing_keeps_a_margin_under_four_per_second() -> None:
    assert 1 / Pacer().interval < 4.0


def test_daily_usage_resets_at_utc_midnight(tmp_path) -> None:
    wall = [1_700_000_000.0 - (1_700_000_000.0 % 86400) + 86000]  # 23:53 UTC
    usage = DailyUsage(tmp_path / "u.json", wall=lambda: wall[0])
    usage.count("app", 9990)
    assert usage.remaining("app") == 10
    assert usage.seconds_until_reset() == pytest.approx(400)
    reloaded = DailyUsage(tmp_path / "u.json", wall=lambda: wall[0])
    assert reloaded.used("app") == 9990 and reloaded.used("other") == 0
    wall[0] += 401
    assert usage.used("app") == 0 and usage.remaining("app") == 10_000


def test_backoff_is_capped_jittered_and_growing() -> None:
    policy = RetryPolicy(base=0.5, cap=8.0, rng=random.Random(1))
    for attempt in range(1, 12):
        full = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert full / 2 <= policy.backoff(attempt) <= full


# ---- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind", "key"),
    [
        (429, '{"error_key": "throttled", "error_message": "Too Many Requests"}', RateLimited, "throttled"),
        (429, '{"error_key": "quota_exceeded", "error_message": "Limit Exceeded"}', QuotaExceeded,
         "quota_exceeded"),
        (400, '[{"error_key": "contacts.api.validation.error", "error_message": "bad"}]', BadRequest,
         "contacts.api.validation.error"),
        (404, '[{"error_key": "contacts.api.not_found", "error_message": "x"}]', NotFound,
         "contacts.api.not_found"),
        (503, "<html>gateway</html>", ServerError, ""),
        (400, '{"error": "invalid_grant", "error_description": "dead"}', None, "invalid_grant"),
    ],
)
def test_one_function_maps_both_error_shapes(status, body, kind, key) -> None:
    from ccdesk.cc.errors import ReconnectNeeded

    error = error_from_response(status, body, method="GET", path="/v3/x")
    assert isinstance(error, kind or ReconnectNeeded)
    assert error.error_key == key and error.status == status
    assert error.title and error.what_to_do and error.what_to_do.endswith(".")
