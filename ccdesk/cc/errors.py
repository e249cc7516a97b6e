"""Errors of the Constant Contact client, each with a title and advice for people.

:func:`error_from_response` is the one place that turns an HTTP answer into one of these; it
reads both error-body shapes of the V3 API (an array of ``{error_key, error_message}`` or a
single such object) and the OAuth shape ``{error, error_description}``.

No error message ever contains a token, a secret or a request body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from ccdesk.errors import CcdeskError


class ApiError(CcdeskError):
    """Constant Contact answered with an error.

    Attributes:
        status: the HTTP status (0 when there was no answer).
        error_key: the API's ``error_key`` (or OAuth ``error``), if any.
        server_message: the API's own message, kept for the results log.
        method, path: what was asked (the path only: queries can hold addresses).
    """

    title = "Constant Contact refused the request"
    what_to_do = "Try again later. If it keeps happening, send the log file to whoever supports ccdesk."

    def __init__(
        self,
        title: str | None = None,
        what_to_do: str | None = None,
        *,
        status: int = 0,
        error_key: str = "",
        server_message: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.error_key = error_key
        self.server_message = server_message
        self.method = method
        self.path = path
        details = f"{method} {path} → {status} {error_key}: {server_message}".strip()
        super().__init__(title, what_to_do, details=details)


class BadRequest(ApiError):
    title = "Constant Contact did not accept the request"
    what_to_do = "This is a problem in ccdesk. Send the log file to whoever supports ccdesk."


class NotFound(ApiError):
    title = "Not found in Constant Contact"
    what_to_do = "It may have been deleted. Refresh and try again."


class Conflict(ApiError):
    title = "Someone else changed this contact at the same time"
    what_to_do = "Wait a moment and try again."


class PermissionDenied(ApiError):
    title = "Your Constant Contact user is not allowed to do this"
    what_to_do = (
        "Ask the account owner to give your user the Account Manager role (Campaign Creators "
        "cannot change contacts), or connect with another user."
    )


class AuthError(ApiError):
    """The access token was refused even after a refresh."""

    title = "Constant Contact did not accept ccdesk's sign-in"
    what_to_do = "Connect your Constant Contact account again (Account → Connect)."


class ReconnectNeeded(AuthError):
    """The refresh token is no longer valid (``invalid_grant``): only a new sign-in helps."""

    title = "Your Constant Contact connection has expired"
    what_to_do = (
        "This happens when the connection was not used for six months, was revoked, or was used "
        "by another copy of ccdesk. Connect your account again (Account → Connect)."
    )


class AppConfigError(ApiError):
    """``invalid_client`` and friends: the application key or secret is wrong."""

    title = "The application key is not accepted"
    what_to_do = (
        "Check the API key (client id) and, for a confidential application, its secret in "
        "Account → Application key. They come from your Constant Contact developer account."
    )


class RateLimited(ApiError):
    title = "Constant Contact asked ccdesk to slow down"
    what_to_do = "Nothing to do: ccdesk waits and carries on. If this persists, try again in a minute."


class QuotaExceeded(ApiError):
    """The application's requests for today are used up (resets 00:00 UTC unless the key's
    limits say otherwise)."""

    title = "Today's Constant Contact allowance is used up"
    what_to_do = (
        "Constant Contact allows each application a number of requests a day (10,000 unless it "
        "granted yours more). The run is paused and can be resumed after midnight UTC (or the "
        "daily reset set for your application key)."
    )


class ServerError(ApiError):
    title = "Constant Contact is having trouble"
    what_to_do = "Nothing is lost. Try again in a few minutes."


#: The hosts ccdesk talks to at Constant Contact (the API and the sign-in server), named in the
#: advice to whoever looks after an organisation's proxy or firewall.
CONSTANT_CONTACT_HOSTS = ("api.cc.email", "authz.constantcontact.com")


def host_of(url: str) -> str:
    """The host (with its port, when not the scheme's usual one) of ``url``, for people."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    usual = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return f"{host}:{port}" if port and port != usual else host


class ConnectionFailed(ApiError):
    """No answer at all: the network, a proxy or a firewall, or the server is down.

    Args:
        host: the host that could not be reached (see :func:`host_of`); the title names it,
            and the advice names the hosts a proxy or firewall must let through.
    """

    title = "Cannot reach Constant Contact"
    what_to_do = "Check the internet connection, then try again. Nothing is lost."

    def __init__(self, title: str | None = None, what_to_do: str | None = None, *,
                 host: str = "", **kwargs: Any) -> None:
        self.host = host
        if host and title is None:
            title = f"ccdesk could not reach {host}"
        if host and what_to_do is None:
            what_to_do = network_advice(host)
        super().__init__(title, what_to_do, **kwargs)


def network_advice(host: str) -> str:
    """What to do when ``host`` does not answer: the connection, then a proxy or firewall."""
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if bare in CONSTANT_CONTACT_HOSTS:
        allow = " and ".join(CONSTANT_CONTACT_HOSTS) + " (HTTPS, port 443)"
    else:
        allow = host
    return (
        "Check that this computer is connected to the internet, then try again; nothing is "
        "lost. If it is connected and your organisation uses a proxy or firewall, ask whoever "
        f"looks after your computers to let ccdesk reach {allow}."
    )


class OutcomeUnknown(ApiError):
    """A request that changes things was sent, and its answer was lost.

    It may or may not have been carried out; it must not be re-sent blindly. The caller
    checks (e.g. ``GET /activities``) what happened.
    """

    title = "Constant Contact did not answer in time"
    what_to_do = "ccdesk will check what was done before going on. Nothing is sent twice."


class ForeignLink(ApiError):
    """An answer pointed ccdesk at a URL outside Constant Contact's API host.

    ccdesk never sends the access token anywhere but the API's own host, so it does not
    follow such a link (e.g. a ``_links.next.href`` on another host).
    """

    title = "Constant Contact's answer pointed somewhere else"
    what_to_do = (
        "ccdesk stopped instead of sending your connection to another address. Nothing was "
        "changed. Try again later; if it keeps happening, send the log file to whoever "
        "supports ccdesk."
    )


class OAuthFlowError(CcdeskError):
    """Connecting an account did not finish (denied, timed out, expired, cancelled)."""

    title = "Connecting to Constant Contact did not finish"
    what_to_do = "Try connecting again."


class Cancelled(CcdeskError):
    """The person pressed Cancel while ccdesk was waiting."""

    title = "Stopped"
    what_to_do = "Nothing more was sent. You can carry on later."


#: The older gateway's rate-limit answers: 403 with ``mashery.not.authorized.over.qps`` or
#: ``….over.ratelimit`` (``cc-v3-api.md`` §9). They mean exactly what 429 ``throttled`` means.
GATEWAY_RATE_PREFIX = "mashery.not.authorized.over"


def is_throttled(error: ApiError) -> bool:
    """Whether ``error`` is the per-second rate limit (429 ``throttled`` or the gateway's 403)."""
    return isinstance(error, RateLimited) and (
        error.error_key == "throttled" or error.error_key.startswith(GATEWAY_RATE_PREFIX))


def _parse_body(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def error_details(body: Any) -> tuple[str, str]:
    """(error_key, message) from any of the API's error-body shapes."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        if "error_key" in body or "error_message" in body:
            return str(body.get("error_key") or ""), str(body.get("error_message") or "")
        if "error" in body:
            return str(body.get("error") or ""), str(body.get("error_description") or "")
    return "", ""


def error_from_response(status: int, text: str, *, method: str = "", path: str = "") -> ApiError:
    """The typed error for an HTTP error answer (``status`` ≥ 400)."""
    key, message = error_details(_parse_body(text))
    kwargs = {"status": status, "error_key": key, "server_message": message[:500],
              "method": method, "path": path}
    if status == 429:
        if key == "quota_exceeded":
            return QuotaExceeded(**kwargs)
        return RateLimited(**kwargs)
    if key == "invalid_grant":
        return ReconnectNeeded(**kwargs)
    if key in ("invalid_client", "unauthorized_client"):
        return AppConfigError(**kwargs)
    if status == 401:
        return AuthError(**kwargs)
    if status == 403 and key.startswith(GATEWAY_RATE_PREFIX):
        return RateLimited(**kwargs)
    if status == 403:
        return PermissionDenied(**kwargs)
    if status == 404:
        return NotFound(**kwargs)
    if status == 409:
        return Conflict(**kwargs)
    if status >= 500:
        return ServerError(**kwargs)
    return BadRequest(**kwargs)
