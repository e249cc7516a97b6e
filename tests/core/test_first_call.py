"""A failed first account call after connecting keeps the connection; only a refused sign-in
drops it (issue 12). Real sign-ins against the sandbox over HTTP."""

from __future__ import annotations

import pytest

from ccdesk.cc import transport
from ccdesk.cc.auth import AppKey, Endpoints, InMemoryStore
from ccdesk.cc.errors import AuthError
from ccdesk.engine.session import FirstCallFailed, Session, _headless_browser
from ccdesk.sandbox import DEMO_CLIENT_ID


@pytest.fixture
def session(sandbox, monkeypatch: pytest.MonkeyPatch) -> Session:
    from ccdesk.cc import auth

    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    monkeypatch.setattr(transport.RetryPolicy, "backoff", lambda self, attempt: 0.01)
    sandbox.reset(auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    return Session(Endpoints.for_base(sandbox.base_url), InMemoryStore(), profile="t", demo=True)


def connect(session: Session) -> None:
    session.connect_browser(AppKey(DEMO_CLIENT_ID), port=0, open_browser=_headless_browser)


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 500}, {"kind": "drop"}])
def test_a_server_error_or_lost_answer_keeps_the_connection(session, sandbox, fault) -> None:
    sandbox.faults.add(r"/v3/account/summary", times=99, **fault)
    with pytest.raises(FirstCallFailed) as caught:
        connect(session)
    assert "kept" in caught.value.what_to_do
    assert session.store.load() is not None
    sandbox.faults.clear()
    assert session.account(refresh=True).organization_name == "Test Choir"


def test_a_refused_token_drops_the_connection(session, sandbox) -> None:
    sandbox.faults.add(r"/v3/account/summary", status=401, times=99)
    with pytest.raises(AuthError):
        connect(session)
    assert session.store.load() is None
