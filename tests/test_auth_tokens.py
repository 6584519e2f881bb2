"""Bearer tokens through /graphql: every forged, stale or malformed token is a 401, never data.

Forged tokens start from the claims of a real, live session, so the one thing
wrong with each is the thing under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.helpers import TEST_SECRET, error_codes, post_graphql, signup
from tests.session_helpers import ME, REFRESH, SIGNUP_TOKEN

CHALLENGE = 'Bearer error="invalid_token"'
# Any RSA public key will do: the attack signs HS256 with the PEM text as the HMAC key.
PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo
4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u
+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh
kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ
0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg
cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc
mwIDAQAB
-----END PUBLIC KEY-----
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], *, hmac_key: bytes | None) -> str:
    """A JWT with exactly this header and these claims; an empty signature without a key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = (
        b""
        if hmac_key is None
        else hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{_b64(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def signed(claims: dict[str, Any], *, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def refusal(client: httpx.AsyncClient, token: str) -> str:
    """Ask for `me` with `token`; assert the 401 answer and return its reason."""
    response = await post_graphql(client, ME, token=token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE
    body = response.json()
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    reason: str = body["errors"][0]["extensions"]["reason"]
    return reason


@pytest.fixture
async def session(client: httpx.AsyncClient) -> dict[str, Any]:
    payload: dict[str, Any] = await signup(client, "ada@example.com")
    return payload


@pytest.fixture
def live_claims(session: dict[str, Any]) -> dict[str, Any]:
    return claims_of(session["accessToken"])


async def test_the_genuine_token_and_its_resigned_claims_work(
    client: httpx.AsyncClient, session: dict[str, Any], live_claims: dict[str, Any]
) -> None:
    """The control for every forgery below: the same claims, properly signed, are accepted."""
    hand_made = forge({"alg": "HS256", "typ": "JWT"}, live_claims, hmac_key=TEST_SECRET.encode())
    for token in (session["accessToken"], signed(live_claims), hand_made):
        response = await post_graphql(client, ME, token=token)
        assert response.status_code == 200
        assert response.json()["data"]["me"]["email"] == "ada@example.com"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_in_any_casing_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any], alg: str
) -> None:
    assert await refusal(client, forge({"alg": alg, "typ": "JWT"}, live_claims, hmac_key=None))
    with_signature = forge({"alg": alg}, live_claims, hmac_key=TEST_SECRET.encode())
    assert await refusal(client, with_signature) == "invalid"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 wants 64
async def test_hs512_with_the_right_key_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any]
) -> None:
    assert await refusal(client, signed(live_claims, algorithm="HS512")) == "invalid"


async def test_rs256_public_key_confusion_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any]
) -> None:
    for alg in ("RS256", "HS256"):
        token = forge({"alg": alg, "typ": "JWT"}, live_claims, hmac_key=PUBLIC_KEY_PEM)
        assert await refusal(client, token) == "invalid"


async def test_a_tampered_payload_is_refused(
    client: httpx.AsyncClient, session: dict[str, Any], live_claims: dict[str, Any]
) -> None:
    bob = await signup(client, "bob@example.com")
    header, _, signature = session["accessToken"].split(".")
    as_bob = {**live_claims, "sub": claims_of(bob["accessToken"])["sub"]}
    tampered = f"{header}.{_b64(json.dumps(as_bob).encode())}.{signature}"
    assert await refusal(client, tampered) == "invalid"


async def test_another_key_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any]
) -> None:
    other_key = "another-secret-that-is-also-32-bytes-long"
    assert await refusal(client, signed(live_claims, key=other_key)) == "invalid"


async def test_an_expired_token_says_expired(
    client: httpx.AsyncClient, live_claims: dict[str, Any]
) -> None:
    now = int(time.time())
    expired = {**live_claims, "iat": now - 1000, "exp": now - 1}
    assert await refusal(client, signed(expired)) == "expired"


async def test_a_token_that_worked_is_refused_once_it_expires(
    client: httpx.AsyncClient, live_claims: dict[str, Any]
) -> None:
    """Verified tokens are cached per process; expiry is still checked on every request."""
    expires_at = int(time.time()) + 2
    short_lived = signed({**live_claims, "exp": expires_at})
    response = await post_graphql(client, "{ me { email } }", token=short_lived)
    assert response.json() == {"data": {"me": {"email": "ada@example.com"}}}
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)
    assert await refusal(client, short_lived) == "expired"


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "iss", "aud", "sub", "type", "sid"])
async def test_a_missing_claim_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any], claim: str
) -> None:
    incomplete = {key: value for key, value in live_claims.items() if key != claim}
    assert await refusal(client, signed(incomplete)) == "invalid"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_a_token_from_the_future_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any], claim: str
) -> None:
    future = {**live_claims, claim: int(time.time()) + 600}
    assert await refusal(client, signed(future)) == "invalid"


@pytest.mark.parametrize(("claim", "value"), [("iss", "someone-else"), ("aud", "another-api")])
async def test_the_wrong_issuer_or_audience_is_refused(
    client: httpx.AsyncClient, live_claims: dict[str, Any], claim: str, value: str
) -> None:
    assert await refusal(client, signed({**live_claims, claim: value})) == "invalid"


async def test_a_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, session: dict[str, Any]
) -> None:
    assert await refusal(client, session["refreshToken"]) == "invalid"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWRhOnBhc3N3b3Jk",
        "Bearer",
        "Bearer ",
        "Bearer two tokens",
        "Token abc.def.ghi",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
    ],
)
async def test_a_malformed_authorization_header_is_refused(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_an_authorization_header_over_8_kib_is_refused_before_decoding(
    client: httpx.AsyncClient, session: dict[str, Any]
) -> None:
    """Padding a genuine token shows the size alone decides: 8192 bytes pass, 8193 do not."""
    token = session["accessToken"]

    def padded(total: int) -> str:
        return "Bearer " + " " * (total - len("Bearer ") - len(token)) + token

    at_limit = await client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": padded(8192)}
    )
    assert at_limit.status_code == 200
    assert at_limit.json()["data"]["me"]["email"] == "ada@example.com"
    over = await client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": padded(8193)}
    )
    assert over.status_code == 431, over.text
    [error] = over.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["limit"] == "MAX_AUTHORIZATION_HEADER_BYTES"
    assert "ada@example.com" not in over.text


async def test_the_scheme_is_case_insensitive(
    client: httpx.AsyncClient, session: dict[str, Any]
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": ME},
        headers={"Authorization": f"bearer {session['accessToken']}"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["email"] == "ada@example.com"


async def test_no_token_is_not_a_401(client: httpx.AsyncClient) -> None:
    response = await post_graphql(client, ME)
    assert response.status_code == 200
    assert "www-authenticate" not in response.headers
    assert response.json()["errors"][0]["extensions"] == {
        "code": "UNAUTHENTICATED",
        "reason": "missing",
    }


async def test_refresh_signup_and_login_run_anonymously_despite_a_bad_token(
    client: httpx.AsyncClient, session: dict[str, Any], live_claims: dict[str, Any]
) -> None:
    now = int(time.time())
    stale = signed({**live_claims, "iat": now - 1000, "exp": now - 1})
    refreshed = await post_graphql(client, REFRESH, {"token": session["refreshToken"]}, token=stale)
    assert refreshed.status_code == 200
    assert refreshed.json()["data"]["refreshToken"]["accessToken"]
    signed_up = await post_graphql(
        client,
        SIGNUP_TOKEN,
        {"input": {"email": "bob@example.com", "password": "correct horse battery"}},
        token="garbage",
    )
    assert signed_up.status_code == 200
    assert signed_up.json()["data"]["signup"]["accessToken"]
    through_fragment = await post_graphql(
        client,
        """
        mutation($input: LoginInput!) { ...LogIn }
        fragment LogIn on Mutation { login(input: $input) { accessToken } }
        """,
        {"input": {"email": "bob@example.com", "password": "correct horse battery"}},
        token="garbage",
    )
    assert through_fragment.status_code == 200
    assert through_fragment.json()["data"]["login"]["accessToken"]


async def test_a_bad_token_with_any_other_field_is_refused_whole(
    client: httpx.AsyncClient, session: dict[str, Any]
) -> None:
    response = await post_graphql(
        client,
        """
        mutation($token: String!) {
          refreshToken(refreshToken: $token) { accessToken }
          ... on Mutation { logoutAll }
        }
        """,
        {"token": session["refreshToken"]},
        token="garbage",
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.json()["data"] is None
    # Nothing ran: the refresh token is still the session's current one.
    refreshed = await post_graphql(client, REFRESH, {"token": session["refreshToken"]})
    assert refreshed.json()["data"]["refreshToken"]["accessToken"]


async def test_an_expired_token_gets_the_refresh_hint_and_the_refresh_works(
    client: httpx.AsyncClient, session: dict[str, Any], live_claims: dict[str, Any]
) -> None:
    """The client-library flow: expired → refresh with the stale token attached → retry."""
    now = int(time.time())
    stale = signed({**live_claims, "iat": now - 1000, "exp": now - 1})
    assert await refusal(client, stale) == "expired"
    refreshed = await post_graphql(client, REFRESH, {"token": session["refreshToken"]}, token=stale)
    fresh = refreshed.json()["data"]["refreshToken"]["accessToken"]
    response = await post_graphql(client, ME, token=fresh)
    assert response.json()["data"]["me"]["email"] == "ada@example.com"
