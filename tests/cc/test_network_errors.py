"""A network failure names the host that did not answer and mentions proxies and firewalls
(issue 15), for the API and for the sign-in server, against closed ports on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from ccdesk.cc.auth import AppKey, Endpoints, token_request
from ccdesk.cc.errors import CONSTANT_CONTACT_HOSTS, ConnectionFailed, host_of, network_advice
from tests.cc.conftest import fast_client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_api_host_is_named(sandbox) -> None:
    port = closed_port()
    client = fast_client(sandbox)
    client.transport.api_base = f"http://127.0.0.1:{port}/v3"
    with pytest.raises(ConnectionFailed) as caught:
        client.account()
    error = caught.value
    assert error.host == f"127.0.0.1:{port}"
    assert error.title == f"ccdesk could not reach 127.0.0.1:{port}"
    assert "proxy or firewall" in error.what_to_do
    assert error.one_line().startswith(f"ccdesk could not reach 127.0.0.1:{port}.")


def test_the_sign_in_host_is_named() -> None:
    port = closed_port()
    endpoints = Endpoints.for_base(f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectionFailed) as caught:
        token_request(endpoints, AppKey("key"), {"grant_type": "refresh_token",
                                                 "refresh_token": "x"}, sleep=lambda s: None)
    assert caught.value.title == f"ccdesk could not reach 127.0.0.1:{port}"
    assert caught.value.path == "/token"


def test_hosts_for_people() -> None:
    assert host_of("https://api.cc.email/v3/contacts?email=a@b") == "api.cc.email"
    assert host_of("https://authz.constantcontact.com:443/oauth2") == "authz.constantcontact.com"
    assert host_of("http://127.0.0.1:8080/v3") == "127.0.0.1:8080"
    for host in CONSTANT_CONTACT_HOSTS:  # either one: a firewall must let both through
        advice = network_advice(host)
        assert all(h in advice for h in CONSTANT_CONTACT_HOSTS) and "HTTPS" in advice
