"""Day one against the real Constant Contact (issue 12): the client's edges.

- the older gateway form of a rate limit (403 ``mashery.not.authorized.over…``) is throttling;
- the access token goes only to the API's own host;
- the daily request count is merged across processes;
- ``-v`` logging never shows addresses, codes or tokens.

Most tests use the sandbox over real HTTP. A few need an answer the sandbox cannot script yet
(a 403 with a gateway body, a ``_links`` href on another host); they use a tiny scripted HTTP
server on 127.0.0.1 (:class:`Scripted`), still real HTTP through ccdesk's own transport.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ccdesk.cc.errors import PermissionDenied, RateLimited, error_from_response
from ccdesk.cc.transport import Pacer, RetryPolicy, Transport

MASHERY_QPS = '{"error_key": "mashery.not.authorized.over.qps", "error_message": "Over QPS"}'
MASHERY_RATE = ('[{"error_key": "mashery.not.authorized.over.ratelimit", '
                '"error_message": "Over rate limit"}]')


FAKE_TOKEN = "secret-access-token-0123456789"


class Scripted:
    """An HTTP server on 127.0.0.1 that answers from a script: (status, body) per request.

    When the script runs out it answers 200 ``{"ok": true}``. Every request is recorded as
    (method, path with query, Authorization header).
    """

    def __init__(self, script: list[tuple[int, str]] | None = None) -> None:
        self.script = list(script or [])
        self.seen: list[tuple[str, str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
                status, body = owner.script.pop(0) if owner.script else (200, '{"ok": true}')
                if callable(body):
                    body = body(owner)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FixedToken:
    """A token source with one token (the transport's only need here)."""

    def __init__(self, token: str = FAKE_TOKEN) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refresh(self, stale: str) -> str:
        return self.token


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.close()


def transport_for(base: str, **options: object) -> Transport:
    return Transport(f"{base}/v3", tokens=FixedToken(), client_id="app", pacer=Pacer(rate=0),
                     retry=RetryPolicy(base=0.01, cap=0.05, throttle_wait=0.01, **options),
                     session=requests.Session())


# ---- 1. the gateway's 403 rate-limit answer is "throttled" -------------------------------------


@pytest.mark.parametrize("body", [MASHERY_QPS, MASHERY_RATE])
def test_gateway_403_over_qps_or_rate_limit_maps_to_rate_limited(body: str) -> None:
    error = error_from_response(403, body, method="GET", path="/v3/contacts")
    assert isinstance(error, RateLimited)
    assert error.error_key.startswith("mashery.not.authorized.over")


def test_other_403s_stay_permission_denied() -> None:
    error = error_from_response(403, '[{"error_key": "unauthorized", "error_message": "no"}]')
    assert isinstance(error, PermissionDenied)
    assert isinstance(error_from_response(403, '{"error_key": "mashery.not.authorized"}'),
                      PermissionDenied)


def test_gateway_403_is_waited_out_and_retried(scripted: Scripted) -> None:
    scripted.script = [(403, MASHERY_QPS), (403, MASHERY_RATE)]
    transport = transport_for(scripted.base_url)
    assert transport.get("/account/summary") == {"ok": True}
    assert len(scripted.seen) == 3


def test_gateway_403_forever_gives_up_as_rate_limited(scripted: Scripted) -> None:
    scripted.script = [(403, MASHERY_QPS)] * 10
    transport = transport_for(scripted.base_url, max_throttled=3)
    with pytest.raises(RateLimited):
        transport.get("/account/summary")
    assert len(scripted.seen) == 4
