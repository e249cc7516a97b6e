"""A whole session of calls: no secret in the log, every request as the description says.

One test connects (browser flow, confidential app, so there is a secret), refreshes, reads,
changes and undoes, with logging at DEBUG everywhere (urllib3 included). Then it gathers every
secret the sandbox handed out or received — the client secret, authorization codes, device
codes, access and refresh tokens — and looks for each in the captured log. The same session's
requests are checked against ``../shared/cc-v3-openapi.yaml``.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from ccdesk.cc.auth import (
    AppKey,
    Endpoints,
    InMemoryStore,
    TokenManager,
    connect_with_browser,
    start_device_flow,
)
from ccdesk.cc.client import ConstantContact
from ccdesk.cc.transport import DailyUsage, Pacer, RetryPolicy, Transport
from tests.cc.conftest import finished
from tests.cc.test_auth import browser
from tests.support.openapi import require_spec, validate_query, validate_request_body

SECRET = "very-secret-client-secret-0123456789"


def person_at_the_browser():
    """The browser is another program: its own traffic (the code in the redirect) is not ours
    to log, so it is kept out of the captured log."""
    play = browser()

    def open_browser(url: str) -> bool:
        logging.disable(logging.CRITICAL)
        try:
            return play(url)
        finally:
            logging.disable(logging.NOTSET)

    return open_browser


def run_session(sandbox, endpoints: Endpoints, recorded: list[Any]) -> InMemoryStore:
    sandbox.reset(any_loopback_port=True)  # the listener takes any free port
    sandbox.register_app("org-app", secret=SECRET)
    sandbox.set_limits(rate_limit=0)
    store = InMemoryStore()
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: recorded.append(r.request))
    app = AppKey("org-app", SECRET)
    connect_with_browser(endpoints, app, store, port=0, open_browser=person_at_the_browser(),
                         timeout=10,
                         session=session)
    start_device_flow(endpoints, AppKey("ccdesk-sandbox-app"), session=session)
    tokens = TokenManager(endpoints, store, session=session)
    client = ConstantContact(Transport(
        endpoints.api_base, tokens=tokens, client_id="org-app", pacer=Pacer(rate=0),
        usage=DailyUsage(), retry=RetryPolicy(base=0.01), session=session))
    client.account()
    lists = {x.name: x.list_id for x in client.lists()}
    ada = client.find_by_email("ada@example.org")
    members = [c for page in client.iter_members([lists["Free Members"]], page_size=3) for c in page]
    assert len(members) == 8
    sandbox.clock.advance(86400 + 5)  # the access token dies: 401 → refresh → retry
    eve = client.find_by_email("eve@example.org")
    client.unsubscribe(eve.contact_id, "Upgraded")
    started = client.start_remove([ada.contact_id], [lists["Free Members"]])
    finished(client, started.activity_id)
    client.add_list_memberships([ada.contact_id], [lists["Free Members"]])
    client.recent_activities()
    client.contact(ada.contact_id)
    assert tokens.refreshes >= 1
    return store


def secrets_handed_out(sandbox) -> set[str]:
    found = {SECRET}
    found |= set(sandbox.oauth.codes)
    found |= set(sandbox.oauth.access)
    found |= set(sandbox.oauth.refresh)
    found |= set(sandbox.oauth.devices)
    return {s for s in found if s}


def test_no_token_or_secret_reaches_the_log(sandbox, endpoints, caplog) -> None:
    recorded: list[Any] = []
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3").setLevel(logging.DEBUG)
        store = run_session(sandbox, endpoints, recorded)
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    secrets = secrets_handed_out(sandbox)
    assert len(secrets) >= 6  # secret, code, device code, tokens before and after refresh
    assert "GET /v3/contacts" in text  # the log is not empty: calls are logged
    leaked = [s[:8] + "…" for s in secrets if s in text]
    assert not leaked, f"secrets in the log: {leaked}"
    assert not any(s in repr(store.load()) for s in secrets)


def test_every_request_matches_the_description(sandbox, endpoints) -> None:
    require_spec()
    recorded: list[Any] = []
    run_session(sandbox, endpoints, recorded)
    api = [r for r in recorded if "/v3/" in r.url]
    assert len(api) >= 10
    kinds = set()
    for request in api:
        validate_query(request.method, request.url)
        body = request.body
        if body is not None:
            import json

            body = json.loads(body)
        if request.method in ("POST", "PUT"):
            validate_request_body(request.method, request.url, body)
            assert request.headers["Content-Type"] == "application/json"
        kinds.add(f"{request.method} {requests.utils.urlparse(request.url).path.split('/')[2]}")
        assert request.headers["Authorization"].startswith("Bearer ")
    assert {"GET account", "GET contact_lists", "GET contacts", "PUT contacts",
            "POST activities", "GET activities"} <= kinds
