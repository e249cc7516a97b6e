"""A rotated refresh token is never lost (issue 12).

The sandbox rotates refresh tokens: once a refresh succeeded, the old refresh token is dead.
When the password store then refuses to save the new one, ccdesk keeps it in memory, says so,
goes on working with it, and saves it as soon as the store works again.
"""

from __future__ import annotations

import keyring.errors
import pytest

from ccdesk.cc import auth
from ccdesk.cc.auth import Endpoints
from ccdesk.credentials import CredentialStore
from ccdesk.engine.session import Session
from tests.cc.conftest import fast_client, stored_from_sandbox
from tests.cc.test_credentials import FakeKeyring


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch, sandbox) -> None:
    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)


def test_a_refresh_token_the_keyring_would_not_take_is_kept_used_and_saved_later(
        sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeKeyring()
    store = CredentialStore("rotation", backend=fake)
    first = stored_from_sandbox(sandbox, lifetime=1)  # expires now: the first call refreshes
    store.save(first)
    fake.failures["set"] = keyring.errors.PasswordSetError("the store is locked")
    client = fast_client(sandbox, store)
    tokens = client.transport.tokens
    failures: list[BaseException] = []
    tokens.on_save_failed = failures.append

    assert client.account().organization_name == "Test Choir"
    assert tokens.refreshes == 1 and len(failures) == 1
    rotated = tokens.credentials().refresh_token
    assert rotated and rotated != first.refresh_token
    assert tokens.unsaved is not None
    assert CredentialStore("rotation", backend=fake).load().refresh_token == first.refresh_token

    # Further calls work, and so does another refresh: it must use the rotated token (the first
    # one is dead at the sandbox), and its own new token is kept the same way.
    assert client.account().organization_name == "Test Choir"
    tokens.refresh(tokens.credentials().access_token)
    assert tokens.refreshes == 2
    assert client.account().organization_name == "Test Choir"
    latest = tokens.credentials().refresh_token
    assert latest not in (first.refresh_token, rotated)

    # The store works again: the next call saves what was kept.
    del fake.failures["set"]
    monkeypatch.setattr(auth, "SAVE_RETRY_INTERVAL", 0.0)
    client.account()
    assert tokens.unsaved is None
    assert CredentialStore("rotation", backend=fake).load().refresh_token == latest


def test_the_save_is_retried_when_the_session_closes(sandbox) -> None:
    fake = FakeKeyring()
    store = CredentialStore("rotation-close", backend=fake)
    store.save(stored_from_sandbox(sandbox, lifetime=1))
    session = Session(Endpoints.for_base(sandbox.base_url), store, profile="rotation-close")
    notices: list[str] = []
    session.on_notice = notices.append
    fake.failures["set"] = keyring.errors.PasswordSetError("the store is locked")
    session.client().transport.pacer.interval = 0
    session.account()
    assert len(notices) == 1 and "password store" in notices[0]
    kept = session.client().transport.tokens.credentials().refresh_token
    del fake.failures["set"]
    session.close()
    assert CredentialStore("rotation-close", backend=fake).load().refresh_token == kept
