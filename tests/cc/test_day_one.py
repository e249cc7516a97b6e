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

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ccdesk.cc.errors import ApiError, PermissionDenied, RateLimited, error_from_response
from ccdesk.cc.transport import DailyUsage, Pacer, RetryPolicy, Transport

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


# ---- 2. the token goes only to the API's own host ------------------------------------------------


def test_a_links_href_on_another_host_is_refused_and_gets_no_token(scripted: Scripted) -> None:
    other = Scripted()
    try:
        transport = transport_for(scripted.base_url)
        href = f"{other.base_url}/v3/contacts?cursor=abc"
        with pytest.raises(ApiError) as caught:
            transport.get(href)
        assert other.seen == []
        assert "secret-access-token" not in str(caught.value) + caught.value.details
        # Another scheme or port on the same name is another host too.
        for bad in (scripted.base_url.replace("http://", "https://") + "/v3/x",
                    f"http://localhost:{scripted.server.server_address[1]}/v3/x",
                    "//evil.example/v3/contacts", "http://127.0.0.1:1@evil.example/v3/x"):
            with pytest.raises(ApiError):
                transport.get(bad)
        assert scripted.seen == []
        # The API's own absolute URL and relative /v3/ hrefs still work.
        assert transport.get(f"{scripted.base_url}/v3/contacts?cursor=x") == {"ok": True}
        assert transport.get("/v3/contacts?cursor=y") == {"ok": True}
        assert [path for _, path, _ in scripted.seen] == ["/v3/contacts?cursor=x",
                                                          "/v3/contacts?cursor=y"]
    finally:
        other.close()


def test_paging_never_follows_a_next_link_to_another_host(sandbox, scripted: Scripted) -> None:
    """A list page whose ``_links.next`` points elsewhere: the client stops with an error."""
    from ccdesk.cc.auth import Endpoints, InMemoryStore
    from ccdesk.cc.client import ConstantContact
    from tests.cc.conftest import stored_from_sandbox

    page = {"contacts": [], "_links": {"next": {"href": f"{sandbox.base_url}/v3/contacts?cursor=a"}}}
    scripted.script = [(200, json.dumps(page))]
    client = ConstantContact.from_store(
        Endpoints(api_base=f"{scripted.base_url}/v3", authz_base=f"{sandbox.base_url}/oauth2"),
        InMemoryStore(stored_from_sandbox(sandbox)), usage=DailyUsage(), pacer=Pacer(rate=0),
        session=requests.Session())
    with pytest.raises(ApiError):
        list(client.iter_all_contacts())
    assert sandbox.requests.count("GET", r"/v3/contacts") == 0


# ---- 9. the day's request count is merged across processes ------------------------------------


def test_two_counters_on_one_file_add_up(tmp_path) -> None:
    path = tmp_path / "usage.json"
    first, second = DailyUsage(path), DailyUsage(path)
    first.count("app", 3)
    second.count("app", 2)
    first.count("app")
    second.count("other")
    assert first.used("app") == second.used("app") == 6
    assert DailyUsage(path).used("app") == 6
    assert DailyUsage(path).used("other") == 1


def test_a_used_up_day_is_not_undone_by_another_counter(tmp_path) -> None:
    path = tmp_path / "usage.json"
    first, second = DailyUsage(path), DailyUsage(path)
    first.count("app")
    second.mark_exhausted("app")
    first.count("app")
    assert DailyUsage(path).remaining("app") == 0


def test_a_count_from_yesterday_starts_afresh(tmp_path) -> None:
    path = tmp_path / "usage.json"
    now = [86400.0 * 20000 + 100]
    first = DailyUsage(path, wall=lambda: now[0])
    first.count("app", 7)
    now[0] += 86400
    second = DailyUsage(path, wall=lambda: now[0])
    second.count("app", 2)
    assert second.used("app") == 2
    assert first.used("app") == 2


_COUNTING = """
import sys
from pathlib import Path
from ccdesk.cc.transport import DailyUsage
usage = DailyUsage(Path(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    usage.count("app")
"""


def test_two_processes_counting_at_once_add_up(tmp_path) -> None:
    import subprocess
    import sys

    path = tmp_path / "usage.json"
    procs = [subprocess.Popen([sys.executable, "-c", _COUNTING, str(path), "150"])
             for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert DailyUsage(path).used("app") == 300
    assert not list(tmp_path.glob(".usage-*")), "no temporary file is left behind"
