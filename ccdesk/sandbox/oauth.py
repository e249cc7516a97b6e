"""The sandbox's OAuth2 server, mirroring ``authz.constantcontact.com/oauth2/default/v1``.

Authorization code with PKCE (S256) for public apps, the same with a client secret for
confidential apps, the device flow, and refresh tokens (rotating and single-use by default, or
long-lived). Codes live 5 minutes and are single-use; access tokens live 24 hours; refresh
tokens die after 180 days unused. Errors are ``{error, error_description}`` (RFC 6749 §5.2).

Everything is driven by the sandbox :class:`~ccdesk.sandbox.limits.Clock`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ccdesk.sandbox.limits import Clock

KNOWN_SCOPES = frozenset(
    {
        "contact_data",
        "campaign_data",
        "account_read",
        "account_update",
        "offline_access",
        "openid",
        "profile",
        "email",
    }
)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
S256_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL-NOPAD of 32 bytes


class OAuthError(Exception):
    """A token-endpoint error: ``{error, error_description}`` with ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class App:
    """An application registered in the (sandbox) developer portal."""

    client_id: str
    name: str = "ccdesk"
    client_secret: str | None = None  # None: a public (PKCE / device) app
    redirect_uris: list[str] = field(default_factory=lambda: ["http://127.0.0.1/callback",
                                                              "http://localhost/callback"])
    rotating_refresh: bool = True

    @property
    def public(self) -> bool:
        return self.client_secret is None


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    scope: list[str]
    challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class AccessToken:
    client_id: str
    scope: frozenset[str]
    expires_at: float
    grant_id: str


@dataclass
class RefreshToken:
    client_id: str
    scope: list[str]
    grant_id: str
    last_used: float
    active: bool = True


@dataclass
class DeviceGrant:
    client_id: str
    user_code: str
    scope: list[str]
    expires_at: float
    interval: float
    last_poll: float | None = None
    status: str = "pending"  # pending | approved | denied | issued


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class OAuthServer:
    """Apps, codes, tokens and device grants of one sandbox."""

    def __init__(
        self,
        clock: Clock,
        *,
        issuer: str,
        auto_approve: bool = False,
        access_lifetime: float = 86400.0,
        code_lifetime: float = 300.0,
        refresh_idle_lifetime: float = 180 * 86400.0,
        device_interval: float = 5.0,
        device_lifetime: float = 600.0,
        loopback_any_port: bool = False,
        login_email: str = "office@harbourview.example.org",
    ) -> None:
        self.clock = clock
        self.issuer = issuer
        self.auto_approve = auto_approve
        self.access_lifetime = access_lifetime
        self.code_lifetime = code_lifetime
        self.refresh_idle_lifetime = refresh_idle_lifetime
        self.device_interval = device_interval
        self.device_lifetime = device_lifetime
        self.loopback_any_port = loopback_any_port
        self.login_email = login_email
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.devices: dict[str, DeviceGrant] = {}
        self._signing_key = secrets.token_bytes(32)

    # ---- apps ------------------------------------------------------------------------------

    def register_app(self, app: App) -> App:
        with self.lock:
            self.apps[app.client_id] = app
        return app

    def redirect_allowed(self, app: App, redirect_uri: str) -> bool:
        """Exact match, or (RFC 8252 §7.3) any port on a registered loopback address."""
        if redirect_uri in app.redirect_uris:
            return True
        if not self.loopback_any_port:
            return False
        given = urlsplit(redirect_uri)
        # Only the port may differ: no fragment (RFC 6749 §3.1.2), no user info, same query.
        if (
            given.scheme != "http"
            or given.hostname is None
            or "#" in redirect_uri
            or "@" in given.netloc
        ):
            return False
        host = given.hostname if given.hostname != "::1" else "[::1]"
        for registered in app.redirect_uris:
            reg = urlsplit(registered)
            reg_host = reg.hostname if reg.hostname != "::1" else "[::1]"
            if (
                reg.scheme == "http"
                and reg_host in LOOPBACK_HOSTS
                and reg_host == host
                and reg.path == given.path
                and reg.query == given.query
            ):
                return True
        return False

    @staticmethod
    def valid_challenge(challenge: str) -> bool:
        """Whether an S256 ``code_challenge`` has the only shape SHA-256 can give it."""
        return bool(S256_CHALLENGE_RE.fullmatch(challenge))

    def check_scope(self, scope: str) -> list[str]:
        scopes = [s for s in scope.replace("+", " ").split(" ") if s]
        if not scopes:
            raise OAuthError("invalid_scope", "The scope parameter is required.")
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise OAuthError("invalid_scope", f"Unknown scope: {unknown[0]}.")
        return scopes

    # ---- authorization codes -----------------------------------------------------------------

    def issue_code(
        self, client_id: str, redirect_uri: str, scope: list[str], challenge: str | None
    ) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Code(
                client_id, redirect_uri, scope, challenge, self.clock.time() + self.code_lifetime
            )
        return code

    # ---- the token endpoint --------------------------------------------------------------------

    def authenticate_client(self, client_id: str | None, secret: str | None) -> App:
        if not client_id:
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        app = self.apps.get(client_id)
        if app is None:
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        if not app.public and (
            secret is None or not hmac.compare_digest(secret, app.client_secret or "")
        ):
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        return app

    def token(self, form: dict[str, str], app: App) -> dict[str, Any]:
        """Answer a token request for an authenticated client."""
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                return self._grant_code(form, app)
            if grant == "refresh_token":
                return self._grant_refresh(form, app)
            if grant == DEVICE_GRANT:
                return self._grant_device(form, app)
        if not grant:
            raise OAuthError("invalid_request", "The grant_type parameter is required.")
        raise OAuthError("unsupported_grant_type", f"The grant type {grant} is not supported.")

    def _grant_code(self, form: dict[str, str], app: App) -> dict[str, Any]:
        code_value = form.get("code")
        if not code_value:
            raise OAuthError("invalid_request", "The code parameter is required.")
        code = self.codes.get(code_value)
        now = self.clock.time()
        if code is None or code.client_id != app.client_id:
            raise OAuthError("invalid_grant", "The authorization code is invalid or has expired.")
        if code.used:
            # RFC 6749 §4.1.2: a reused code revokes what it issued.
            self._revoke_grant(code_value)
            raise OAuthError("invalid_grant", "The authorization code is invalid or has expired.")
        code.used = True
        if now > code.expires_at:
            raise OAuthError("invalid_grant", "The authorization code is invalid or has expired.")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "The redirect_uri does not match the authorization request.")
        if code.challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise OAuthError("invalid_request", "PKCE verification failed: code_verifier is required.")
            if not VERIFIER_RE.fullmatch(verifier):
                raise OAuthError("invalid_request", "PKCE verification failed: the code_verifier must be "
                                 "43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'.")
            if not hmac.compare_digest(s256(verifier), code.challenge):
                raise OAuthError("invalid_grant", "PKCE verification failed.")
        elif app.public:
            raise OAuthError("invalid_request", "PKCE is required for this application.")
        return self._issue(app, code.scope, grant_id=code_value)

    def _grant_refresh(self, form: dict[str, str], app: App) -> dict[str, Any]:
        value = form.get("refresh_token")
        if not value:
            raise OAuthError("invalid_request", "The refresh_token parameter is required.")
        token = self.refresh.get(value)
        now = self.clock.time()
        if (
            token is None
            or not token.active
            or token.client_id != app.client_id
            or now - token.last_used > self.refresh_idle_lifetime
        ):
            raise OAuthError("invalid_grant", "The refresh token is invalid or expired.")
        token.last_used = now
        if app.rotating_refresh:
            # Single use: this token and every earlier one of the grant die now.
            self._revoke_grant(token.grant_id, refresh_only=True)
            return self._issue(app, token.scope, grant_id=token.grant_id)
        return self._issue(app, token.scope, grant_id=token.grant_id, keep_refresh=value)

    def _grant_device(self, form: dict[str, str], app: App) -> dict[str, Any]:
        device_code = form.get("device_code")
        grant = self.devices.get(device_code or "")
        now = self.clock.time()
        if grant is None or grant.client_id != app.client_id or grant.status == "issued":
            raise OAuthError("invalid_grant", "The device code is invalid.")
        if now > grant.expires_at:
            raise OAuthError("expired_token", "The device code has expired.")
        if grant.status == "denied":
            raise OAuthError("access_denied", "The user denied the request.")
        too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval - 0.05
        grant.last_poll = now
        if grant.status == "pending":
            if too_soon:
                grant.interval += 5
                raise OAuthError("slow_down", "Polling too fast; wait longer between requests.")
            raise OAuthError("authorization_pending", "The user has not yet authorized.")
        grant.status = "issued"
        return self._issue(app, grant.scope, grant_id=device_code or "")

    def _revoke_grant(self, grant_id: str, *, refresh_only: bool = False) -> None:
        for token in self.refresh.values():
            if token.grant_id == grant_id:
                token.active = False
        if not refresh_only:
            for key in [k for k, v in self.access.items() if v.grant_id == grant_id]:
                del self.access[key]

    def _issue(
        self,
        app: App,
        scope: list[str],
        *,
        grant_id: str,
        keep_refresh: str | None = None,
        lifetime: float | None = None,
    ) -> dict[str, Any]:
        now = self.clock.time()
        lifetime = self.access_lifetime if lifetime is None else lifetime
        access = self._jwt(app.client_id, scope, now, lifetime)
        self.access[access] = AccessToken(app.client_id, frozenset(scope), now + lifetime, grant_id)
        out: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": int(lifetime),
            "access_token": access,
            "scope": " ".join(scope),
        }
        if "offline_access" in scope:
            refresh = keep_refresh or secrets.token_urlsafe(32)
            if keep_refresh is None:
                self.refresh[refresh] = RefreshToken(app.client_id, scope, grant_id, now)
            out["refresh_token"] = refresh
        out["id_token"] = self._jwt(app.client_id, ["openid"], now, lifetime, id_token=True)
        return out

    def _jwt(
        self, client_id: str, scope: list[str], now: float, lifetime: float, *, id_token: bool = False
    ) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": "sandbox"}
        payload: dict[str, Any] = {
            "ver": 1,
            "jti": secrets.token_hex(8),
            "iss": self.issuer,
            "iat": int(now),
            "exp": int(now + lifetime),
            "cid": client_id,
        }
        if id_token:
            payload.update(aud=client_id, sub=self.login_email, email=self.login_email)
        else:
            payload.update(aud="https://api.cc.email/v3", scp=scope, platform_user_id=client_id)
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(payload, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(signature)

    def issue_for_test(
        self, client_id: str, scope: list[str], *, lifetime: float | None = None
    ) -> dict[str, Any]:
        """Tokens without the dance, for tests that are not about OAuth."""
        with self.lock:
            app = self.apps[client_id]
            return self._issue(app, scope, grant_id=secrets.token_hex(8), lifetime=lifetime)

    # ---- bearer tokens -------------------------------------------------------------------------

    def check_bearer(self, header: str | None) -> AccessToken | None:
        """The live access token named by an ``Authorization`` header, or None."""
        if not header or not header.startswith("Bearer "):
            return None
        with self.lock:
            token = self.access.get(header[7:].strip())
        if token is None or self.clock.time() >= token.expires_at:
            return None
        return token

    # ---- the device flow -----------------------------------------------------------------------

    def start_device(self, app: App, scope: list[str], base_url: str) -> dict[str, Any]:
        device_code = secrets.token_urlsafe(32)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        with self.lock:
            self.devices[device_code] = DeviceGrant(
                app.client_id, user_code, scope,
                self.clock.time() + self.device_lifetime, self.device_interval,
            )
        verification = f"{base_url}/activate"
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification,
            "verification_uri_complete": f"{verification}?user_code={user_code}",
            "expires_in": int(self.device_lifetime),
            "interval": int(self.device_interval),
        }

    def device_by_user_code(self, user_code: str) -> DeviceGrant | None:
        wanted = user_code.strip().upper()
        with self.lock:
            return next((g for g in self.devices.values() if g.user_code == wanted), None)

    def decide_device(self, user_code: str, allow: bool) -> bool:
        """The user's answer on the activation page; False if the code is unknown or stale."""
        grant = self.device_by_user_code(user_code)
        with self.lock:
            if grant is None or grant.status != "pending" or self.clock.time() > grant.expires_at:
                return False
            grant.status = "approved" if allow else "denied"
            return True
