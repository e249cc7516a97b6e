"""The sign-in listener cannot be stalled (issue 12).

An idle local connection (sent nothing), a forged redirect (wrong ``state``) and garbage
neither block the real redirect nor end the sign-in, and closing the listener is bounded in
time. The real redirect comes from the sandbox's consent page over HTTP; the sandbox has the
exact redirect URI registered (the default of the real service: port included).
"""

from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ccdesk.cc import auth
from ccdesk.cc.auth import AppKey, Endpoints, InMemoryStore, connect_with_browser
from ccdesk.sandbox import DEMO_CLIENT_ID


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def register_exact(sandbox, uri: str) -> None:
    app = sandbox.oauth.apps[DEMO_CLIENT_ID]
    if uri not in app.redirect_uris:
        app.redirect_uris.append(uri)


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch, sandbox) -> None:
    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    sandbox.reset(auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)


def test_idle_forged_and_garbage_connections_neither_block_nor_end_the_sign_in(sandbox) -> None:
    port = free_port()
    register_exact(sandbox, f"http://127.0.0.1:{port}/callback")
    opened: list[socket.socket] = []
    answers: dict[str, int] = {}

    def browser(url: str) -> bool:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        # 1. someone on this computer connects and says nothing (and stays connected);
        idle = socket.create_connection(("127.0.0.1", port))
        opened.append(idle)
        # 2. a forged redirect with a made-up code and state, and one without any state;
        answers["forged"] = requests.get(f"{redirect}?code=forged&state=forged", timeout=3).status_code
        answers["stateless"] = requests.get(f"{redirect}?code=forged", timeout=3).status_code
        answers["error"] = requests.get(f"{redirect}?error=access_denied", timeout=3).status_code
        # 3. garbage that is not HTTP at all;
        junk = socket.create_connection(("127.0.0.1", port))
        opened.append(junk)
        junk.sendall(b"\x16\x03\x01 this is not http\r\n\r\n")
        junk.settimeout(3)
        answers["garbage"] = 400 if b"400" in junk.recv(512) else 0  # (an HTTP/0.9-style 400)
        # 4. then the real consent page, which redirects back with the real code and state.
        requests.get(url, timeout=5)
        return True

    store = InMemoryStore()
    started = time.monotonic()
    try:
        credentials = connect_with_browser(
            Endpoints.for_base(sandbox.base_url), AppKey(DEMO_CLIENT_ID), store, port=port,
            open_browser=browser, timeout=20)
        elapsed = time.monotonic() - started
    finally:
        for sock in opened:
            sock.close()
    assert answers == {"forged": 400, "stateless": 400, "error": 400, "garbage": 400}
    assert credentials.refresh_token and store.load() == credentials
    # Promptly, although the idle connection was still open when the listener closed.
    assert elapsed < 5, elapsed


def test_closing_the_listener_with_an_idle_connection_is_bounded() -> None:
    receiver = auth.LoopbackReceiver(0, state="s")
    idle = socket.create_connection(("127.0.0.1", receiver.port))
    try:
        time.sleep(0.2)
        started = time.monotonic()
        receiver.close()
        assert time.monotonic() - started < 2
    finally:
        idle.close()
