"""The sandbox's OAuth2 server over real HTTP, playing the browser where a user would click.

PKCE and confidential authorization codes, refresh-token rotation and expiry, the device flow,
the token endpoint's 1 request/second limit and scope enforcement (cc-v3-api.md §1, §5, §8).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from functools import partial
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from ccdesk.sandbox import DEMO_CLIENT_ID, Sandbox

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REDIRECT = "http://127.0.0.1/callback"  # registered on the demo app
SCOPES = "contact_data account_read offline_access"
UNAUTHORIZED = {"error_key": "unauthorized", "error_message": "Unauthorized"}
DAY = 86400
http_get = partial(requests.get, timeout=10)
http_post = partial(requests.post, timeout=10)


@pytest.fixture(autouse=True)
def _token_limit_off(sandbox: Sandbox) -> None:
    """Most tests make several token calls in a row; the limit's own tests turn it back on."""
    sandbox.set_limits(token_rate_limit=0)


# ---- playing the browser and the client ------------------------------------------------------


class _Form(HTMLParser):
    """The first form of a page: its action and its named inputs."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = ""
        self.fields: dict[str, str] = {}
        self.buttons: set[str] = set()
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action, self.method = a.get("action", ""), a.get("method", "get").lower()
        elif tag == "input" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name") == "decision":
            self.buttons.add(a.get("value", ""))


def new_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def auth_params(verifier: str | None, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": SCOPES, "state": "state-" + secrets.token_hex(4),
    }
    if verifier is not None:
        params.update(code_challenge=challenge(verifier), code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(sandbox: Sandbox, params: dict[str, str]) -> requests.Response:
    return http_get(sandbox.oauth_url + "/authorize", params=params, allow_redirects=False)


def submit(page: requests.Response, decision: str) -> requests.Response:
    """Click Allow or Deny on a consent or activation page."""
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    form = _Form(page.text)
    assert form.method == "post" and decision in form.buttons
    return http_post(urljoin(page.url, form.action), data={**form.fields, "decision": decision},
                         allow_redirects=False)


def redirect_query(response: requests.Response, redirect_uri: str = REDIRECT) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.split("?")[0] == redirect_uri
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(sandbox: Sandbox, verifier: str | None, **overrides: str | None) -> str:
    params = auth_params(verifier, **overrides)
    back = redirect_query(submit(authorize(sandbox, params), "allow"), params["redirect_uri"])
    assert back["state"] == params["state"]
    return back["code"]


def token(sandbox: Sandbox, auth: tuple[str, str] | None = None, **form: str) -> requests.Response:
    return http_post(sandbox.oauth_url + "/token", data=form, auth=auth)


def exchange(sandbox: Sandbox, code: str, verifier: str | None, *, redirect_uri: str = REDIRECT,
             client_id: str = DEMO_CLIENT_ID) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id}
    if verifier is not None:
        form["code_verifier"] = verifier
    return token(sandbox, **form)


def pkce_tokens(sandbox: Sandbox, client_id: str = DEMO_CLIENT_ID, scope: str = SCOPES) -> dict[str, Any]:
    verifier = new_verifier()
    code = get_code(sandbox, verifier, client_id=client_id, scope=scope)
    r = exchange(sandbox, code, verifier, client_id=client_id)
    assert r.status_code == 200, r.text
    return r.json()


def refresh(sandbox: Sandbox, refresh_token: str, client_id: str = DEMO_CLIENT_ID) -> requests.Response:
    return token(sandbox, grant_type="refresh_token", refresh_token=refresh_token, client_id=client_id)


def poll(sandbox: Sandbox, device_code: str, client_id: str = DEMO_CLIENT_ID) -> requests.Response:
    return token(sandbox, grant_type=DEVICE_GRANT, device_code=device_code, client_id=client_id)


def start_device(sandbox: Sandbox, scope: str = "contact_data offline_access") -> dict[str, Any]:
    r = http_post(sandbox.oauth_url + "/device/authorize",
                      data={"client_id": DEMO_CLIENT_ID, "scope": scope})
    assert r.status_code == 200, r.text
    return r.json()


def call(sandbox: Sandbox, access_token: str | None, path: str = "/account/summary",
         header: str | None = None) -> requests.Response:
    headers = {"Authorization": header or f"Bearer {access_token}"} if header or access_token else {}
    return http_get(sandbox.api_url + path, headers=headers)


def jwt_claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_oauth_error(r: requests.Response, status: int, error: str) -> None:
    """A token-endpoint error: exactly ``{error, error_description}``, never cached."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert r.headers.get("Cache-Control") == "no-store"


# ---- PKCE authorization code -------------------------------------------------------------------


def test_pkce_consent_redirect_exchange_and_use(sandbox: Sandbox) -> None:
    verifier = new_verifier()
    params = auth_params(verifier)
    page = authorize(sandbox, params)
    assert page.status_code == 200 and "Test Choir" in page.text
    back = redirect_query(submit(page, "allow"))
    assert set(back) == {"code", "state"} and back["state"] == params["state"]

    r = exchange(sandbox, back["code"], verifier)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "refresh_token", "scope", "id_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert set(body["scope"].split(" ")) == set(SCOPES.split(" "))
    claims = jwt_claims(body["access_token"])
    assert claims["cid"] == DEMO_CLIENT_ID and claims["aud"] == "https://api.cc.email/v3"
    assert claims["exp"] - claims["iat"] == 86400

    summary = call(sandbox, body["access_token"])
    assert summary.status_code == 200
    assert summary.json()["organization_name"] == "Test Choir"


def test_no_refresh_token_without_offline_access(sandbox: Sandbox) -> None:
    body = pkce_tokens(sandbox, scope="contact_data account_read")
    assert "refresh_token" not in body
    assert body["scope"] == "contact_data account_read"
    assert {"access_token", "id_token"} <= set(body)


def test_auto_approve_redirects_at_once(sandbox: Sandbox) -> None:
    sandbox.reset(auto_approve=True)
    verifier = new_verifier()
    params = auth_params(verifier)
    back = redirect_query(authorize(sandbox, params))
    assert back["state"] == params["state"]
    assert exchange(sandbox, back["code"], verifier).status_code == 200


def test_deny_redirects_with_access_denied_and_state(sandbox: Sandbox) -> None:
    params = auth_params(new_verifier())
    back = redirect_query(submit(authorize(sandbox, params), "deny"))
    assert back["error"] == "access_denied" and back["state"] == params["state"]
    assert "code" not in back


def test_wrong_verifier_is_invalid_grant(sandbox: Sandbox) -> None:
    code = get_code(sandbox, new_verifier())
    assert_oauth_error(exchange(sandbox, code, new_verifier()), 400, "invalid_grant")


@pytest.mark.parametrize("verifier", ["x" * 42, "x" * 129, "é" * 50, "x" * 42 + "/"])
def test_malformed_verifier_is_invalid_request(sandbox: Sandbox, verifier: str) -> None:
    """RFC 7636 §4.1: 43-128 unreserved characters (the challenge itself can be well formed)."""
    code = get_code(sandbox, None, code_challenge=challenge(verifier), code_challenge_method="S256")
    assert_oauth_error(exchange(sandbox, code, verifier), 400, "invalid_request")


def test_malformed_challenge_is_refused(sandbox: Sandbox) -> None:
    params = auth_params(None, code_challenge="too-short", code_challenge_method="S256")
    back = redirect_query(authorize(sandbox, params))
    assert back["error"] == "invalid_request" and back["state"] == params["state"]


def test_code_belongs_to_its_client(sandbox: Sandbox) -> None:
    sandbox.register_app("other-app")
    verifier = new_verifier()
    code = get_code(sandbox, verifier)
    assert_oauth_error(exchange(sandbox, code, verifier, client_id="other-app"), 400, "invalid_grant")


def test_code_is_single_use(sandbox: Sandbox) -> None:
    verifier = new_verifier()
    code = get_code(sandbox, verifier)
    assert exchange(sandbox, code, verifier).status_code == 200
    assert_oauth_error(exchange(sandbox, code, verifier), 400, "invalid_grant")


def test_reused_code_revokes_what_it_issued(sandbox: Sandbox) -> None:
    """RFC 6749 §4.1.2: a code presented twice kills the tokens it gave out."""
    verifier = new_verifier()
    code = get_code(sandbox, verifier)
    first = exchange(sandbox, code, verifier).json()
    exchange(sandbox, code, verifier)
    assert call(sandbox, first["access_token"]).status_code == 401
    assert_oauth_error(refresh(sandbox, first["refresh_token"]), 400, "invalid_grant")


def test_code_lives_five_minutes(sandbox: Sandbox) -> None:
    verifier = new_verifier()
    fresh, stale = get_code(sandbox, verifier), get_code(sandbox, verifier)
    sandbox.clock.advance(290)
    assert exchange(sandbox, fresh, verifier).status_code == 200
    sandbox.clock.advance(11)
    assert_oauth_error(exchange(sandbox, stale, verifier), 400, "invalid_grant")


def test_redirect_uri_must_match_the_authorization_request(sandbox: Sandbox) -> None:
    verifier = new_verifier()
    code = get_code(sandbox, verifier)
    r = exchange(sandbox, code, verifier, redirect_uri="http://localhost/callback")
    assert_oauth_error(r, 400, "invalid_grant")


def test_plain_challenge_method_is_refused(sandbox: Sandbox) -> None:
    verifier = new_verifier()
    params = auth_params(None, code_challenge=verifier, code_challenge_method="plain")
    back = redirect_query(authorize(sandbox, params))
    assert back["error"] == "invalid_request" and back["state"] == params["state"]
    assert "code" not in back


def test_public_app_needs_a_code_challenge(sandbox: Sandbox) -> None:
    params = auth_params(None)
    back = redirect_query(authorize(sandbox, params))
    assert back["error"] == "invalid_request" and back["state"] == params["state"]


@pytest.mark.parametrize("override", [
    {"redirect_uri": "http://evil.example/callback"},
    {"redirect_uri": "https://127.0.0.1/callback"},
    {"client_id": "no-such-app"},
])
def test_bad_client_or_redirect_gets_an_error_page_not_a_redirect(sandbox: Sandbox, override) -> None:
    r = authorize(sandbox, auth_params(new_verifier(), **override))
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Location" not in r.headers


def test_loopback_redirect_on_any_port_but_same_path(sandbox: Sandbox) -> None:
    """RFC 8252 §7.3: a desktop app listens on whatever port is free (with the flag)."""
    sandbox.reset(any_loopback_port=True)
    verifier = new_verifier()
    for uri in ("http://127.0.0.1:54321/callback", "http://localhost:8080/callback"):
        code = get_code(sandbox, verifier, redirect_uri=uri)
        assert exchange(sandbox, code, verifier, redirect_uri=uri).status_code == 200
    for uri in ("http://127.0.0.1:54321/other", "http://127.0.0.1:54321/callback/x",
                "http://127.0.0.1:54321/callback#frag", "http://127.0.0.1:54321/callback?x=1",
                "http://user@127.0.0.1:54321/callback"):
        r = authorize(sandbox, auth_params(verifier, redirect_uri=uri))
        assert r.status_code == 400 and "Location" not in r.headers, uri


def test_unknown_client_is_invalid_client(sandbox: Sandbox) -> None:
    verifier = new_verifier()
    code = get_code(sandbox, verifier)
    assert_oauth_error(exchange(sandbox, code, verifier, client_id="no-such-app"), 401, "invalid_client")
    assert_oauth_error(refresh(sandbox, "x", client_id="no-such-app"), 401, "invalid_client")
    r = http_post(sandbox.oauth_url + "/device/authorize",
                      data={"client_id": "no-such-app", "scope": "contact_data"})
    assert_oauth_error(r, 401, "invalid_client")


@pytest.mark.parametrize(("form", "error"), [
    ({}, "invalid_request"),
    ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
    ({"grant_type": "authorization_code"}, "invalid_request"),
    ({"grant_type": "authorization_code", "code": "forged", "redirect_uri": REDIRECT,
      "code_verifier": "x" * 43}, "invalid_grant"),
    ({"grant_type": "refresh_token"}, "invalid_request"),
    ({"grant_type": "refresh_token", "refresh_token": "forged"}, "invalid_grant"),
])
def test_token_endpoint_errors_are_oauth_shaped(sandbox: Sandbox, form, error) -> None:
    assert_oauth_error(token(sandbox, client_id=DEMO_CLIENT_ID, **form), 400, error)


def test_token_endpoint_wants_a_form_body(sandbox: Sandbox) -> None:
    r = http_post(sandbox.oauth_url + "/token",
                      json={"grant_type": "refresh_token", "refresh_token": "x",
                            "client_id": DEMO_CLIENT_ID})
    assert_oauth_error(r, 400, "invalid_request")


def test_token_parameters_in_the_query_string_work(sandbox: Sandbox) -> None:
    """Several real clients send the token request's parameters in the URL (§1.5)."""
    verifier = new_verifier()
    code = get_code(sandbox, verifier)
    r = http_post(sandbox.oauth_url + "/token", params={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": DEMO_CLIENT_ID, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    r = http_post(sandbox.oauth_url + "/device/authorize",
                      params={"client_id": DEMO_CLIENT_ID, "scope": "contact_data"})
    assert r.status_code == 200 and r.json()["device_code"]


# ---- confidential apps ---------------------------------------------------------------------------

SECRET_APP = "confidential-app"
SECRET = "s3cret-value"


@pytest.fixture
def confidential(sandbox: Sandbox) -> str:
    sandbox.register_app(SECRET_APP, secret=SECRET, redirect_uris=[REDIRECT])
    return SECRET_APP


def code_form(code: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}


def test_confidential_app_with_basic_auth_and_no_pkce(sandbox: Sandbox, confidential: str) -> None:
    code = get_code(sandbox, None, client_id=confidential)
    r = token(sandbox, auth=(confidential, SECRET), **code_form(code))
    assert r.status_code == 200, r.text
    assert call(sandbox, r.json()["access_token"]).status_code == 200


def test_confidential_app_with_secret_in_body(sandbox: Sandbox, confidential: str) -> None:
    verifier = new_verifier()  # PKCE is optional for it, and checked when used
    code = get_code(sandbox, verifier, client_id=confidential)
    r = token(sandbox, **code_form(code, client_id=confidential, client_secret=SECRET,
                                   code_verifier=verifier))
    assert r.status_code == 200, r.text


def test_confidential_app_wrong_or_missing_secret(sandbox: Sandbox, confidential: str) -> None:
    code = get_code(sandbox, None, client_id=confidential)
    assert_oauth_error(token(sandbox, auth=(confidential, "wrong"), **code_form(code)), 401, "invalid_client")
    assert_oauth_error(token(sandbox, **code_form(code, client_id=confidential, client_secret="wrong")),
                       401, "invalid_client")
    assert_oauth_error(token(sandbox, **code_form(code, client_id=confidential)), 401, "invalid_client")
    # Failed client authentication does not use up the code.
    assert token(sandbox, auth=(confidential, SECRET), **code_form(code)).status_code == 200


def test_confidential_refresh_with_basic_auth(sandbox: Sandbox, confidential: str) -> None:
    code = get_code(sandbox, None, client_id=confidential)
    first = token(sandbox, auth=(confidential, SECRET), **code_form(code)).json()
    again = token(sandbox, auth=(confidential, SECRET), grant_type="refresh_token",
                  refresh_token=first["refresh_token"])
    assert again.status_code == 200 and again.json()["refresh_token"] != first["refresh_token"]
    assert_oauth_error(refresh(sandbox, again.json()["refresh_token"], client_id=confidential),
                       401, "invalid_client")


# ---- refresh tokens and access-token lifetime -------------------------------------------------------


def test_rotating_refresh_token_is_single_use(sandbox: Sandbox) -> None:
    first = pkce_tokens(sandbox)
    r = refresh(sandbox, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"] and second["expires_in"] == 86400
    assert call(sandbox, second["access_token"]).status_code == 200
    assert_oauth_error(refresh(sandbox, first["refresh_token"]), 400, "invalid_grant")


def test_older_refresh_token_after_two_rotations_is_invalid(sandbox: Sandbox) -> None:
    t1 = pkce_tokens(sandbox)["refresh_token"]
    t2 = refresh(sandbox, t1).json()["refresh_token"]
    t3 = refresh(sandbox, t2).json()["refresh_token"]
    assert_oauth_error(refresh(sandbox, t1), 400, "invalid_grant")
    assert_oauth_error(refresh(sandbox, t2), 400, "invalid_grant")
    assert refresh(sandbox, t3).status_code == 200


def test_long_lived_refresh_token_comes_back_and_keeps_working(sandbox: Sandbox) -> None:
    sandbox.register_app("long-lived-app", rotating_refresh=False)
    first = pkce_tokens(sandbox, client_id="long-lived-app")
    for _ in range(3):
        r = refresh(sandbox, first["refresh_token"], client_id="long-lived-app")
        assert r.status_code == 200, r.text
        assert r.json()["refresh_token"] == first["refresh_token"]
        assert call(sandbox, r.json()["access_token"]).status_code == 200


def test_refresh_token_unused_for_180_days_is_invalid(sandbox: Sandbox) -> None:
    rt = pkce_tokens(sandbox)["refresh_token"]
    sandbox.clock.advance(180 * DAY + 1)
    assert_oauth_error(refresh(sandbox, rt), 400, "invalid_grant")


def test_long_lived_refresh_token_used_within_180_days_stays_valid(sandbox: Sandbox) -> None:
    sandbox.register_app("long-lived-app", rotating_refresh=False)
    rt = pkce_tokens(sandbox, client_id="long-lived-app")["refresh_token"]
    for _ in range(2):
        sandbox.clock.advance(179 * DAY)
        assert refresh(sandbox, rt, client_id="long-lived-app").status_code == 200
    sandbox.clock.advance(180 * DAY + 1)
    assert_oauth_error(refresh(sandbox, rt, client_id="long-lived-app"), 400, "invalid_grant")


def test_access_token_lasts_exactly_24_hours(sandbox: Sandbox) -> None:
    access = pkce_tokens(sandbox)["access_token"]
    sandbox.clock.advance(DAY - 10)
    assert call(sandbox, access).status_code == 200
    sandbox.clock.advance(10)
    r = call(sandbox, access)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic Zm9vOmJhcg==", "Bearer "])
def test_missing_or_garbage_bearer_is_401(sandbox: Sandbox, header) -> None:
    r = call(sandbox, None, header=header)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED


def test_issue_token_lifetime_shows_in_the_token(sandbox: Sandbox) -> None:
    """A short-lived test token must say so, or a client cannot schedule its refresh."""
    body = sandbox.issue_token(lifetime=60)
    assert body["expires_in"] == 60
    claims = jwt_claims(body["access_token"])
    assert claims["exp"] - claims["iat"] == 60
    sandbox.clock.advance(60)
    assert call(sandbox, body["access_token"]).status_code == 401


# ---- device flow --------------------------------------------------------------------------------


def test_device_authorize_response(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    assert set(d) == {"device_code", "user_code", "verification_uri", "verification_uri_complete",
                      "expires_in", "interval"}
    assert d["verification_uri"].startswith(sandbox.base_url)
    assert d["verification_uri_complete"].startswith(d["verification_uri"])
    assert d["user_code"] in d["verification_uri_complete"]
    assert d["expires_in"] == 600 and d["interval"] == 5


def test_device_poll_before_approval_is_pending(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "authorization_pending")
    sandbox.clock.advance(d["interval"])
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "authorization_pending")


def test_device_polling_too_fast_slows_down_and_interval_grows(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "authorization_pending")
    sandbox.clock.advance(2)
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "slow_down")
    sandbox.clock.advance(5)  # the old interval is no longer enough: it is 10 s now
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "slow_down")
    sandbox.clock.advance(15)  # and 15 s after the second slow_down
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "authorization_pending")


def test_device_allow_on_activation_page_then_tokens_once(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    page = http_get(d["verification_uri_complete"])
    assert d["user_code"] in page.text
    done = submit(page, "allow")
    assert done.status_code == 200
    sandbox.clock.advance(d["interval"])
    r = poll(sandbox, d["device_code"])
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400 and body["refresh_token"]
    assert call(sandbox, body["access_token"], "/contacts").status_code == 200
    assert refresh(sandbox, body["refresh_token"]).status_code == 200
    sandbox.clock.advance(d["interval"])
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "invalid_grant")


def test_device_code_typed_on_the_activation_page(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    page = http_get(d["verification_uri"])
    form = _Form(page.text)
    r = http_post(urljoin(page.url, form.action),
                      data={"user_code": d["user_code"].lower(), "decision": "allow"})
    assert r.status_code == 200
    assert poll(sandbox, d["device_code"]).status_code == 200


def test_device_deny_is_access_denied(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    submit(http_get(d["verification_uri_complete"]), "deny")
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "access_denied")


def test_device_code_expires(sandbox: Sandbox) -> None:
    d = start_device(sandbox)
    sandbox.clock.advance(d["expires_in"] + 1)
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "expired_token")
    late = http_post(urljoin(d["verification_uri"], "/activate"),
                         data={"user_code": d["user_code"], "decision": "allow"})
    assert late.status_code == 400


def test_device_auto_approve_on_verification_uri_complete(sandbox: Sandbox) -> None:
    sandbox.reset(auto_approve=True)
    d = start_device(sandbox)
    assert_oauth_error(poll(sandbox, d["device_code"]), 400, "authorization_pending")
    assert http_get(d["verification_uri_complete"]).status_code == 200
    sandbox.clock.advance(d["interval"])
    assert poll(sandbox, d["device_code"]).status_code == 200


# ---- the token endpoint's 1 request/second ------------------------------------------------------------


def test_token_endpoint_allows_one_request_per_second_per_client(sandbox: Sandbox) -> None:
    sandbox.set_limits(token_rate_limit=1)
    assert_oauth_error(refresh(sandbox, "forged"), 400, "invalid_grant")
    throttled = refresh(sandbox, "forged")
    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers
    time.sleep(1.0)
    assert_oauth_error(refresh(sandbox, "forged"), 400, "invalid_grant")
    assert sandbox.requests.count("POST", r"/oauth2/default/v1/token", 429) == 1


def test_token_endpoint_limit_is_per_client(sandbox: Sandbox) -> None:
    sandbox.set_limits(token_rate_limit=1)
    sandbox.register_app("other-app")
    assert refresh(sandbox, "forged").status_code == 400
    assert refresh(sandbox, "forged", client_id="other-app").status_code == 400
    assert refresh(sandbox, "forged").status_code == 429


# ---- scopes ------------------------------------------------------------------------------------------


def test_without_account_read_the_account_is_403(sandbox: Sandbox) -> None:
    access = pkce_tokens(sandbox, scope="contact_data offline_access")["access_token"]
    assert call(sandbox, access, "/account/summary").status_code == 403
    assert call(sandbox, access, "/contacts").status_code == 200


def test_without_contact_data_contacts_are_403(sandbox: Sandbox) -> None:
    access = pkce_tokens(sandbox, scope="account_read")["access_token"]
    assert call(sandbox, access, "/contacts").status_code == 403
    assert call(sandbox, access, "/contact_lists").status_code == 403
    assert call(sandbox, access, "/account/summary").status_code == 200


def test_unknown_scope_is_refused_at_authorize(sandbox: Sandbox) -> None:
    params = auth_params(new_verifier(), scope="contact_data everything")
    back = redirect_query(authorize(sandbox, params))
    assert back["error"] == "invalid_scope" and back["state"] == params["state"]
