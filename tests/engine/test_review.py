"""Review of the window's jobs in child processes: the engine side."""

from __future__ import annotations

import pytest

from ccdesk.cc import auth
from ccdesk.cc.auth import Endpoints
from ccdesk.credentials import CredentialStore
from ccdesk.engine.session import Session
from tests.cc.conftest import stored_from_sandbox
from tests.cc.test_credentials import FakeKeyring


def _profile_session(sandbox, backend) -> Session:
    """A real-profile session (its sign-in in the password store), as the window builds one
    and as ``ccdesk job`` builds one for a real profile (Session.for_profile: the same store)."""
    session = Session(Endpoints.for_base(sandbox.base_url), CredentialStore("review", backend=backend),
                      profile="review")
    session.client().transport.pacer.interval = 0
    return session


def test_a_sign_in_renewed_by_a_job_s_process_is_not_seen_by_the_window(
        sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's session loads the sign-in from the password store once and keeps it in
    memory (TokenManager._credentials); every preview and run is now a ``ccdesk job``
    process with a session of its own, loading the same sign-in. With rotating refresh tokens
    (Constant Contact's, the sandbox's), the job that renews the access token first kills the
    refresh token the window holds: the window's next renewal is refused and the person is told
    to connect again, although the password store holds a good sign-in the job saved."""
    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    keyring = FakeKeyring()  # the password store both processes share
    CredentialStore("review", backend=keyring).save(stored_from_sandbox(sandbox, lifetime=1))
    window = _profile_session(sandbox, keyring)
    window.client().transport.tokens.credentials()  # the window has the sign-in in memory
    child = _profile_session(sandbox, keyring)  # a preview's (or a run's) process
    try:
        assert child.account(refresh=True).organization_name == "Test Choir"  # it renews
        renewed = CredentialStore("review", backend=keyring).load()
        assert renewed is not None and renewed.refresh_token
        # Later the window needs the account (its token has expired as well):
        assert window.account(refresh=True).organization_name == "Test Choir"
    finally:
        child.close()
        window.close()
