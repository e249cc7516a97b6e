"""Fixtures for the client tests: a connected client against the sandbox."""

from __future__ import annotations

import time

import pytest
import requests

from ccdesk.cc.auth import Endpoints, InMemoryStore
from ccdesk.cc.client import ConstantContact
from ccdesk.cc.transport import DailyUsage, Pacer, RetryPolicy
from ccdesk.credentials import StoredCredentials
from ccdesk.sandbox import DEMO_CLIENT_ID


def stored_from_sandbox(sandbox, *, lifetime: float | None = None) -> StoredCredentials:
    """Credentials as if the person had connected (tokens issued by the sandbox)."""
    tokens = sandbox.issue_token(lifetime=lifetime)
    return StoredCredentials(
        client_id=DEMO_CLIENT_ID,
        access_token=tokens["access_token"],
        access_expires_at=time.time() + (lifetime if lifetime is not None else tokens["expires_in"]),
        refresh_token=tokens.get("refresh_token"),
        scope=tokens["scope"],
    )


@pytest.fixture
def endpoints(sandbox) -> Endpoints:
    return Endpoints.for_base(sandbox.base_url)


@pytest.fixture
def store(sandbox) -> InMemoryStore:
    return InMemoryStore(stored_from_sandbox(sandbox))


@pytest.fixture
def usage(tmp_path) -> DailyUsage:
    return DailyUsage(tmp_path / "usage.json")


def fast_client(sandbox, store: InMemoryStore | None = None,
                usage: DailyUsage | None = None) -> ConstantContact:
    """A client with pacing off and quick retries (the sandbox's limits are the test's choice)."""
    return ConstantContact.from_store(
        Endpoints.for_base(sandbox.base_url), store or InMemoryStore(stored_from_sandbox(sandbox)),
        usage=usage or DailyUsage(), pacer=Pacer(rate=0),
        retry=RetryPolicy(base=0.01, cap=0.05, throttle_wait=0.05), session=requests.Session(),
    )


def reset_and_connect(sandbox, data=None, **options) -> ConstantContact:
    """Reset the sandbox (new account and options, rate limit off) and connect a fresh client."""
    sandbox.reset(data, **options)
    sandbox.set_limits(rate_limit=0)
    return fast_client(sandbox)


@pytest.fixture
def client(sandbox, store, usage) -> ConstantContact:
    """A client against an unthrottled sandbox, pacing off, quick retries."""
    sandbox.set_limits(rate_limit=0)
    return fast_client(sandbox, store, usage)


def finished(client: ConstantContact, activity_id: str, *, every: float = 0.05, limit: float = 10.0):
    """Poll one activity until it ends (the tests' own loop: the runner polls many together)."""
    deadline = time.monotonic() + limit
    while True:
        activity = client.activity(activity_id)
        if activity.finished or time.monotonic() > deadline:
            return activity
        time.sleep(every)

