"""``ccdesk connect --redirect-host HOST --port N`` signs in with exactly that redirect URI and
prints it (issue 12); the sandbox requires the exact URI, port included."""

from __future__ import annotations

import pytest

from ccdesk.cc import auth
from ccdesk.cc.auth import Endpoints, InMemoryStore
from ccdesk.cli import build_parser, main
from ccdesk.engine import session as session_module
from ccdesk.engine.session import Session, _headless_browser
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.test_sign_in_listener import free_port, register_exact


class HeadlessSession(Session):
    """A not-yet-connected sandbox account whose "browser" follows the consent page."""

    def connect_browser(self, app, **options):  # type: ignore[no-untyped-def]
        options.setdefault("open_browser", _headless_browser)
        options.setdefault("timeout", 3)  # an unregistered redirect never comes back
        return super().connect_browser(app, **options)


@pytest.fixture
def url(sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    sandbox.reset(auto_approve=True)
    sandbox.oauth.loopback_any_port = False  # exact match, port included
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    monkeypatch.setattr(session_module.Session, "for_profile", classmethod(
        lambda cls, profile="default", endpoints=None: HeadlessSession(
            Endpoints.for_base(sandbox.base_url), InMemoryStore(), profile=profile)))
    return sandbox.base_url


def test_the_options_and_their_defaults() -> None:
    args = build_parser().parse_args(["connect", "--client-id", "k"])
    assert (args.redirect_host, args.port) == ("127.0.0.1", 52817)
    args = build_parser().parse_args(["connect", "--client-id", "k", "--redirect-host",
                                      "localhost", "--port", "50001"])
    assert (args.redirect_host, args.port) == ("localhost", 50001)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["connect", "--client-id", "k", "--redirect-host", "evil.example"])


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_connect_uses_and_shows_the_exact_redirect(capsys, url, sandbox, host) -> None:
    port = free_port()
    register_exact(sandbox, f"http://{host}:{port}/callback")
    code = main(["connect", "--client-id", DEMO_CLIENT_ID, "--redirect-host", host,
                 "--port", str(port)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"http://{host}:{port}/callback" in err
    assert "Connected to Test Choir" in out


def test_an_unregistered_redirect_is_refused_and_the_uri_is_shown(capsys, url, sandbox) -> None:
    port = free_port()
    register_exact(sandbox, f"http://localhost:{port}/callback")
    code = main(["connect", "--client-id", DEMO_CLIENT_ID, "--redirect-host", "127.0.0.1",
                 "--port", str(port)])
    _, err = capsys.readouterr()
    assert code == 2
    assert f"http://127.0.0.1:{port}/callback" in err
