"""Connecting an account (browser and device flows) and keeping tokens fresh."""

from __future__ import annotations

import re
import threading
import time
from html.parser import HTMLParser

import pytest
import requests

from ccdesk.cc.auth import (
    AppKey,
    DeviceCode,
    Endpoints,
    InMemoryStore,
    LoopbackReceiver,
    TokenManager,
    connect_with_browser,
    finish_device_flow,
    pkce_pair,
    start_device_flow,
)
from ccdesk.cc.errors import AppConfigError, OAuthFlowError, ReconnectNeeded
from ccdesk.credentials import StoredCredentials
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.conftest import fast_client, stored_from_sandbox

APP = AppKey(DEMO_CLIENT_ID)


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action", "")
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def browser(decision: str = "allow"):
    """A stand-in for the person at the browser: reads the consent page and presses a button."""
    seen: list[str] = []

    def open_browser(url: str) -> bool:
        seen.append(url)
        page = requests.get(url, timeout=5)
        if page.url.startswith("http://127.0.0.1") and "/callback" in page.url:
            return True  # auto-approved: the redirect already reached the app
        form = _Form()
        form.feed(page.text)
        base = url.split("/oauth2/")[0]
        requests.post(base + form.action, data={**form.fields, "decision": decision}, timeout=5)
        return True

    open_browser.seen = seen  # type: ignore[attr-defined]
    return open_browser


def test_pkce_pair_is_s256() -> None:
    import base64
    import hashlib

    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and re.fullmatch(r"[A-Za-z0-9._~-]+", verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_browser_flow_end_to_end(sandbox, endpoints) -> None:
    sandbox.reset(any_loopback_port=True)  # the listener takes any free port
    store = InMemoryStore()
    play = browser("allow")
    credentials = connect_with_browser(endpoints, APP, store, port=0, open_browser=play, timeout=10)
    assert store.load() == credentials
    assert credentials.refresh_token and credentials.access_token
    assert credentials.access_expires_at == pytest.approx(time.time() + 86400, abs=60)
    assert set(credentials.scope.split()) == {"contact_data", "account_read", "offline_access"}
    url = play.seen[0]
    assert "code_challenge_method=S256" in url and "state=" in url
    assert "scope=contact_data+account_read+offline_access" in url
    client = fast_client(sandbox, store)
    assert client.account().organization_name == "Test Choir"


def test_browser_flow_auto_approved(sandbox, endpoints) -> None:
    sandbox.reset(auto_approve=True)
    store = InMemoryStore()
    connect_with_browser(endpoints, APP, store, port=0, open_browser=browser(), timeout=10)
    assert store.load() is not None


def test_browser_flow_denied(sandbox, endpoints) -> None:
    sandbox.reset(any_loopback_port=True)  # the listener takes any free port
    store = InMemoryStore()
    with pytest.raises(OAuthFlowError, match="not allowed"):
        connect_with_browser(endpoints, APP, store, port=0, open_browser=browser("deny"),
                             timeout=10)
    assert store.load() is None


def test_browser_flow_times_out_cleanly(sandbox, endpoints) -> None:
    started = time.monotonic()
    with pytest.raises(OAuthFlowError, match="too long"):
        connect_with_browser(endpoints, APP, InMemoryStore(), port=0,
                             open_browser=lambda url: True, timeout=0.5)
    assert time.monotonic() - started < 3


def test_browser_flow_can_be_cancelled(sandbox, endpoints) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(OAuthFlowError, match="cancelled"):
        connect_with_browser(endpoints, APP, InMemoryStore(), port=0,
                             open_browser=lambda url: True, timeout=30, cancel=cancel)


def test_answer_with_a_foreign_state_is_refused(sandbox, endpoints) -> None:
    """A forged redirect gets a 400 and does not end the sign-in (which then times out here)."""
    answers: list[int] = []

    def forged(url: str) -> bool:
        redirect = re.search(r"redirect_uri=([^&]+)", url).group(1)
        answers.append(requests.get(requests.utils.unquote(redirect),
                                    params={"code": "x", "state": "forged"}, timeout=5).status_code)
        return True

    with pytest.raises(OAuthFlowError, match="took too long"):
        connect_with_browser(endpoints, APP, InMemoryStore(), port=0, open_browser=forged,
                             timeout=1)
    assert answers == [400]


def test_loopback_listener_binds_127_0_0_1_only_and_answers_once() -> None:
    with LoopbackReceiver(port=0, state="s") as receiver:
        assert receiver._server.server_address[0] == "127.0.0.1"
        assert requests.get(f"http://127.0.0.1:{receiver.port}/elsewhere", timeout=5).status_code == 404
        ok = requests.get(receiver.redirect_uri, params={"code": "c", "state": "s"}, timeout=5)
        assert ok.status_code == 200 and "connected" in ok.text
        assert receiver.wait(1) == {"code": "c", "state": "s"}
        for params in ({"code": "d"}, {"code": "d", "state": "s"}):
            again = requests.get(receiver.redirect_uri, params=params, timeout=5)
            assert again.status_code == 400
        assert receiver.wait(1) == {"code": "c", "state": "s"}


def test_registered_port_in_use_is_explained() -> None:
    with LoopbackReceiver(port=0) as first, pytest.raises(OAuthFlowError, match="Port"):
        LoopbackReceiver(port=first.port)


def test_confidential_app(sandbox, endpoints) -> None:
    sandbox.reset(any_loopback_port=True)  # the listener takes any free port
    sandbox.register_app("org-app", secret="s3cr3t-value")
    store = InMemoryStore()
    app = AppKey("org-app", "s3cr3t-value")
    credentials = connect_with_browser(endpoints, app, store, port=0, open_browser=browser(),
                                       timeout=10)
    assert credentials.client_secret == "s3cr3t-value" and credentials.confidential
    assert "s3cr3t-value" not in repr(credentials) and "s3cr3t-value" not in repr(app)
    time.sleep(1.1)
    wrong = AppKey("org-app", "wrong")
    with pytest.raises(AppConfigError):
        connect_with_browser(endpoints, wrong, InMemoryStore(), port=0, open_browser=browser(),
                             timeout=10)


# ---- device flow -------------------------------------------------------------------------------


def test_device_flow_end_to_end(sandbox, endpoints) -> None:
    sandbox.reset(device_interval=1)
    device = start_device_flow(endpoints, APP)
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", device.user_code)
    assert device.verification_uri.endswith("/activate") and device.interval == 1

    def person() -> None:
        time.sleep(1.5)
        requests.post(device.verification_uri,
                      data={"user_code": device.user_code, "decision": "allow"}, timeout=5)

    threading.Thread(target=person).start()
    store = InMemoryStore()
    credentials = finish_device_flow(endpoints, APP, device, store)
    assert credentials.refresh_token and store.load() == credentials
    polls = sandbox.requests.count("POST", r"/oauth2/default/v1/token")
    assert polls >= 2  # at least one authorization_pending, then success
    assert sandbox.requests.count(status=429) == 0


def test_device_flow_denied(sandbox, endpoints) -> None:
    sandbox.reset(device_interval=1)
    device = start_device_flow(endpoints, APP)
    requests.post(device.verification_uri, data={"user_code": device.user_code, "decision": "deny"},
                  timeout=5)
    with pytest.raises(OAuthFlowError, match="not allowed"):
        finish_device_flow(endpoints, APP, device, InMemoryStore())


@pytest.mark.slow
def test_device_flow_slow_down_makes_polling_slower(sandbox, endpoints) -> None:
    sandbox.reset(device_interval=2)
    device = start_device_flow(endpoints, APP)
    hurried = DeviceCode(device.user_code, device.verification_uri,
                         device.verification_uri_complete, device.expires_in, 0.2,
                         device_code=device.device_code)
    timer = threading.Timer(2.5, lambda: requests.post(
        device.verification_uri, data={"user_code": device.user_code, "decision": "allow"},
        timeout=5))
    timer.start()
    credentials = finish_device_flow(endpoints, APP, hurried, InMemoryStore())
    assert credentials.access_token
    token_calls = [r for r in sandbox.requests.records() if r.path.endswith("/token")]
    assert [r.status for r in token_calls] == [400, 400, 200]  # pending, slow_down, tokens
    assert token_calls[2].time - token_calls[1].time >= 4.5  # it added five seconds


def test_device_flow_expired(sandbox, endpoints) -> None:
    sandbox.reset(device_interval=1)
    device = start_device_flow(endpoints, APP)
    sandbox.clock.advance(601)
    with pytest.raises(OAuthFlowError, match="expired"):
        finish_device_flow(endpoints, APP, device, InMemoryStore())


def test_device_flow_can_be_cancelled(sandbox, endpoints) -> None:
    device = start_device_flow(endpoints, APP)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(OAuthFlowError, match="cancelled"):
        finish_device_flow(endpoints, APP, device, InMemoryStore(), cancel=cancel)


# ---- token refresh --------------------------------------------------------------------------------


def test_no_refresh_while_the_token_is_fresh(sandbox, endpoints) -> None:
    store = InMemoryStore(stored_from_sandbox(sandbox))
    tokens = TokenManager(endpoints, store)
    assert tokens.access_token() == store.load().access_token
    assert tokens.refreshes == 0 and sandbox.requests.count(path=r"/oauth2") == 0


def test_expiring_token_is_refreshed_and_rotation_is_saved_first(sandbox, endpoints) -> None:
    old = stored_from_sandbox(sandbox, lifetime=60)  # inside the five-minute margin
    store = InMemoryStore(old)
    tokens = TokenManager(endpoints, store)
    fresh = tokens.access_token()
    assert fresh != old.access_token and tokens.refreshes == 1
    saved = store.load()
    assert saved.access_token == fresh and saved.refresh_token != old.refresh_token
    assert store.saves == 1
    # the rotated-out refresh token is dead at the server
    time.sleep(1.1)
    r = requests.post(endpoints.token, data={"grant_type": "refresh_token", "client_id": DEMO_CLIENT_ID,
                                             "refresh_token": old.refresh_token}, timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_401_refreshes_once_and_retries(sandbox, endpoints) -> None:
    store = InMemoryStore(stored_from_sandbox(sandbox))
    client = fast_client(sandbox, store)
    sandbox.set_limits(rate_limit=0)
    sandbox.clock.advance(86400 + 1)  # the server's clock says the token expired
    assert client.account().organization_name == "Test Choir"
    assert client.transport.tokens.refreshes == 1
    statuses = [(r.path, r.status) for r in sandbox.requests.records()]
    assert statuses == [("/v3/account/summary", 401), ("/oauth2/default/v1/token", 200),
                        ("/v3/account/summary", 200)]


def test_invalid_grant_means_connect_again(sandbox, endpoints) -> None:
    credentials = stored_from_sandbox(sandbox, lifetime=0)
    broken = credentials.with_tokens("x", 0.0, "not-a-refresh-token")
    tokens = TokenManager(endpoints, InMemoryStore(broken))
    with pytest.raises(ReconnectNeeded) as caught:
        tokens.access_token()
    assert "Connect your account again" in caught.value.what_to_do


def test_nothing_stored_means_connect(endpoints) -> None:
    with pytest.raises(ReconnectNeeded, match="No Constant Contact account"):
        TokenManager(endpoints, InMemoryStore()).access_token()


def test_never_two_refreshes_at_once(sandbox, endpoints) -> None:
    store = InMemoryStore(stored_from_sandbox(sandbox, lifetime=10))
    tokens = TokenManager(endpoints, store)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(tokens.access_token())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and tokens.refreshes == 1
    assert sandbox.requests.count("POST", r"/oauth2/default/v1/token") == 1


def test_refresh_after_401_is_skipped_when_another_thread_already_refreshed(sandbox, endpoints) -> None:
    store = InMemoryStore(stored_from_sandbox(sandbox))
    tokens = TokenManager(endpoints, store)
    current = tokens.access_token()
    assert tokens.refresh("an-older-token") == current
    assert tokens.refreshes == 0


def test_endpoints_for_production_and_sandbox() -> None:
    prod = Endpoints()
    assert prod.api_base == "https://api.cc.email/v3"
    assert prod.token == "https://authz.constantcontact.com/oauth2/default/v1/token"
    assert prod.device == "https://authz.constantcontact.com/oauth2/default/v1/device/authorize"
    box = Endpoints.for_base("http://127.0.0.1:1234/")
    assert box.authorize == "http://127.0.0.1:1234/oauth2/default/v1/authorize"


def test_stored_credentials_never_show_secrets() -> None:
    creds = StoredCredentials("cid", "SECRET-1", "ACCESS-2", 1.0, "REFRESH-3", "contact_data")
    for text in (repr(creds), str(creds)):
        assert not any(s in text for s in ("SECRET-1", "ACCESS-2", "REFRESH-3"))
