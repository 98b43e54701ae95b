"""Tokens, the custom authorizer and the tenant of a request.

A token is a JWT (HS256) signed with the platform's signing key. It names the store and the
scopes it grants. The same authorizer code runs on AWS (a Lambda authorizer per service API) and
locally (Chalice's local gateway runs it), so 401 and 403 come from one place.

The store id of a request comes only from the verified token, through the authorizer context.

PyJWT is imported by the functions that sign or verify (`_jwt`), not with this module: every
function of an app imports it (routes name the authorizer), only the authorizer's own function
verifies tokens, and it loads PyJWT while it starts. PyJWT also imports `cryptography`, when
installed, for RSA and EC keys: HS256 needs only `hmac`, so it is loaded without (a quarter of
the authorizer's start-up).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chalice.app import AuthRequest, AuthResponse, AuthRoute, Chalice, ChaliceAuthorizer

from clientela import functions, secrets
from clientela.secrets import secret_value
from clientela.settings import platform_settings

ISSUER = "clientela"
AUDIENCE = "clientela-api"
ALGORITHM = "HS256"
SERVICES = ("customers", "automation", "credits", "exports")
ALL_SCOPES = tuple(f"{svc}:{level}" for svc in SERVICES for level in ("read", "write"))
STORE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# Only ever used by the local stack and tests; AWS generates its own key (infra/platform.yaml).
LOCAL_DEVELOPMENT_KEY = "clientela-local-development-signing-key-0001"
READ_METHODS = ["GET", "HEAD"]
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
CLOCK_SKEW_SECONDS = 30
AUTHORIZER_CACHE_SECONDS = 60


def _jwt() -> ModuleType:
    """PyJWT, imported without `cryptography` (see the module's docstring)."""
    if "jwt" not in sys.modules and "cryptography" not in sys.modules:
        sys.modules["cryptography"] = None  # type: ignore[assignment] # import fails: HS256 only
        try:
            import jwt  # noqa: PLC0415
        finally:
            del sys.modules["cryptography"]  # whoever needs it later imports it as usual
    import jwt  # noqa: PLC0415

    return jwt


class InvalidToken(Exception):
    """The token is missing, malformed, badly signed, expired or names no valid store."""


@dataclass(frozen=True)
class Principal:
    store_id: str
    scopes: frozenset[str]
    # Who holds the token (its `sub` claim: a user of the console, an integration), when the
    # token names one: what audit records say did something.
    subject: str | None = None


def issue_token(
    store_id: str,
    scopes: Iterable[str],
    key: str,
    ttl_seconds: int = 3600,
    *,
    subject: str | None = None,
) -> str:
    jwt = _jwt()
    if not STORE_ID_PATTERN.match(store_id):
        raise ValueError("store id must be 2-63 lowercase letters, digits or dashes")
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "store_id": store_id,
        "scope": " ".join(sorted(set(scopes))),
    }
    if subject is not None:
        claims["sub"] = subject
    return str(jwt.encode(claims, key, algorithm=ALGORITHM))


def verify_token(token: str, key: str) -> Principal:
    jwt = _jwt()
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "store_id"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    store_id = claims.get("store_id")
    scope = claims.get("scope", "")
    if not isinstance(store_id, str) or not STORE_ID_PATTERN.match(store_id):
        raise InvalidToken("store_id")
    if not isinstance(scope, str):
        raise InvalidToken("scope")
    subject = claims.get("sub")
    if subject is not None and not isinstance(subject, str):
        raise InvalidToken("sub")
    return Principal(store_id=store_id, scopes=frozenset(scope.split()), subject=subject)


def bearer_token(header: str | None) -> str:
    if not header:
        raise InvalidToken("missing")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("scheme")
    return token.strip()


def signing_key() -> str:
    """The current signing key, from Secrets Manager, cached for a few minutes.

    Only the authorizers (and the local token tool) read it: whoever holds it can mint a token
    for any store.
    """
    settings = platform_settings()
    return secret_value(settings.signing_key_secret, max_age=settings.signing_key_max_age)


def allowed_routes(service: str, scopes: frozenset[str]) -> list[AuthRoute]:
    routes: list[AuthRoute] = []
    if f"{service}:read" in scopes or f"{service}:write" in scopes:
        routes.append(AuthRoute("/*", READ_METHODS))
    if f"{service}:write" in scopes:
        routes.append(AuthRoute("/*", WRITE_METHODS))
    return routes


def authorize(request: AuthRequest, service: str) -> AuthResponse | dict[str, Any]:
    """Allow the methods the token's scopes grant on this service; anything else is denied.

    A bad token raises `Exception("Unauthorized")`: API Gateway answers that with 401. A good
    token without the scope gets an explicit Deny: API Gateway answers 403.
    """
    try:
        principal = verify_token(bearer_token(request.token), signing_key())
    except InvalidToken:
        raise Exception("Unauthorized") from None
    context = {"store_id": principal.store_id, "scopes": " ".join(sorted(principal.scopes))}
    if principal.subject is not None:
        context["subject"] = principal.subject
    routes = allowed_routes(service, principal.scopes)
    if not routes:
        return {
            "principalId": principal.store_id,
            "context": context,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Action": "execute-api:Invoke",
                        "Effect": "Deny",
                        "Resource": [request.method_arn],
                    }
                ],
            },
        }
    return AuthResponse(routes=[*routes], principal_id=principal.store_id, context=context)


def install_authorizer(app: Chalice, service: str) -> ChaliceAuthorizer:
    """Register the token authorizer on a service's app; routes pass it as `authorizer=`."""

    def token_authorizer(request: AuthRequest) -> AuthResponse | dict[str, Any]:
        return authorize(request, service)

    if functions.current() == functions.AUTHORIZER:
        _jwt()  # while the function starts, not in its first request
        secrets.prepare()
    # API Gateway caches a decision per token for this long, even past the token's expiry: short,
    # so an expired token stops working within a minute, yet most requests skip the authorizer.
    register = app.authorizer(name="token_authorizer", ttl_seconds=AUTHORIZER_CACHE_SECONDS)
    return register(token_authorizer)  # type: ignore[no-any-return]


def principal_from_context(context: dict[str, Any] | None) -> Principal:
    """The principal the authorizer vouched for. Never read the store from anywhere else."""
    authorizer = (context or {}).get("authorizer") or {}
    store_id = authorizer.get("store_id")
    if not isinstance(store_id, str) or not STORE_ID_PATTERN.match(store_id):
        # Only reachable if a route was registered without the authorizer: fail closed.
        raise PermissionError("request carries no verified store")
    subject = authorizer.get("subject")
    return Principal(
        store_id=store_id,
        scopes=frozenset(str(authorizer.get("scopes", "")).split()),
        subject=subject if isinstance(subject, str) else None,
    )
