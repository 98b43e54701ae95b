"""Shared platform rules: tokens, scopes, cursors, problems."""

from __future__ import annotations

import pytest
from chalice.app import AuthRequest, AuthResponse

from clientela import auth
from clientela.cursor import decode_cursor, encode_cursor
from clientela.problems import Problem

KEY = "unit-test-key-unit-test-key-unit-test-key"


def test_a_token_round_trips_store_and_scopes() -> None:
    token = auth.issue_token("shop-1", ["customers:read", "credits:write"], KEY)
    principal = auth.verify_token(token, KEY)
    assert principal == auth.Principal("shop-1", frozenset({"customers:read", "credits:write"}))


def test_a_token_names_who_holds_it_when_it_has_a_subject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "signing_key", lambda: KEY)
    token = auth.issue_token("shop-1", ["exports:write"], KEY, subject="ana@shop-1")
    assert auth.verify_token(token, KEY).subject == "ana@shop-1"
    assert auth.verify_token(auth.issue_token("shop-1", [], KEY), KEY).subject is None
    request = AuthRequest("TOKEN", f"Bearer {token}", "arn:aws:execute-api:r:1:a/api/GET/x")
    result = auth.authorize(request, "exports")
    assert isinstance(result, AuthResponse)
    context = result.context
    principal = auth.principal_from_context({"authorizer": context})
    assert (principal.store_id, principal.subject) == ("shop-1", "ana@shop-1")


@pytest.mark.parametrize(
    "token",
    [
        auth.issue_token("shop-1", [], "another-key-another-key-another-key-xx"),
        auth.issue_token("shop-1", [], KEY, ttl_seconds=-3600),
        "e30.e30.e30",
        "",
    ],
    # Named, not shown: a token's text holds the time it was issued, and xdist's workers must
    # collect the same test ids.
    ids=["another-key", "expired", "not-json", "empty"],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(auth.InvalidToken):
        auth.verify_token(token, KEY)


def test_a_token_signed_with_none_is_refused() -> None:
    import jwt

    unsigned = jwt.encode(
        {"store_id": "shop-1", "iss": "clientela", "aud": "clientela-api", "iat": 0, "exp": 2**33},
        key=None,  # type: ignore[arg-type]
        algorithm="none",
    )
    with pytest.raises(auth.InvalidToken):
        auth.verify_token(unsigned, KEY)


@pytest.mark.parametrize("store", ["", "A", "UPPER", "has space", "x" * 70, "../etc"])
def test_store_ids_are_checked_when_issuing(store: str) -> None:
    with pytest.raises(ValueError, match="store id"):
        auth.issue_token(store, [], KEY)


def test_bearer_header_parsing() -> None:
    assert auth.bearer_token("Bearer abc") == "abc"
    assert auth.bearer_token("bearer  abc ") == "abc"
    for header in [None, "", "Basic abc", "Bearer", "Bearer   "]:
        with pytest.raises(auth.InvalidToken):
            auth.bearer_token(header)


def test_scopes_grant_methods() -> None:
    write = auth.allowed_routes("customers", frozenset({"customers:write"}))
    read = auth.allowed_routes("customers", frozenset({"customers:read"}))
    none = auth.allowed_routes("customers", frozenset({"credits:write"}))
    assert sorted(m for r in write for m in r.methods) == sorted(
        auth.READ_METHODS + auth.WRITE_METHODS
    )
    assert [m for r in read for m in r.methods] == auth.READ_METHODS
    assert none == []


def test_the_authorizer_denies_a_token_without_the_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "signing_key", lambda: KEY)
    arn = "arn:aws:execute-api:us-east-1:123:abc/api/GET/customers"
    token = auth.issue_token("shop-1", ["credits:read"], KEY)

    result = auth.authorize(AuthRequest("TOKEN", f"Bearer {token}", arn), "customers")

    assert isinstance(result, dict)
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        auth.authorize(AuthRequest("TOKEN", "Bearer nope", arn), "customers")


def test_cursors_are_bound_to_store_and_query() -> None:
    cursor = encode_cursor({"after": "X"}, store_id="s1", scope="q1", key=KEY)
    assert decode_cursor(cursor, store_id="s1", scope="q1", key=KEY) == {"after": "X"}
    for store, scope, key, text in [
        ("s2", "q1", KEY, cursor),
        ("s1", "q2", KEY, cursor),
        ("s1", "q1", KEY + "x", cursor),
        ("s1", "q1", KEY, cursor[:-1]),
        ("s1", "q1", KEY, "!!!"),
        ("s1", "q1", KEY, ""),
    ]:
        with pytest.raises(Problem) as refused:
            decode_cursor(text, store_id=store, scope=scope, key=key)
        assert refused.value.status == 422
        assert refused.value.errors[0].field == "cursor"


def test_problems_follow_rfc_9457() -> None:
    problem = Problem(404, "not-found", "Not found", "No customer")
    response = problem.to_response()
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert problem.body() == {
        "type": "https://clientela.dev/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No customer",
    }
