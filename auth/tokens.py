"""JWT access and refresh tokens (PyJWT, HS256 only).

Every claim the contract names is required on decode; the algorithm allow-list
is exactly HS256, so `alg: none`, HS512 and public-key confusion all fail.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import jwt

from db.types import utcnow
from settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "type", "iat", "exp", "jti", "iss", "aud", "sid"]
VERIFIED_TOKENS_CACHED = 4096
MAX_USER_ID = 2**63 - 1
"""Ids are signed 64-bit integers in both databases; a larger `sub` names nobody."""
_OPAQUE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What `sid` and `jti` hold: the uuids taskql issues (text that the databases store as is)."""


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class InvalidToken(Exception):
    """A token failed verification; `reason` is `expired` or `invalid`, nothing more."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    session_id: str
    jti: str
    type: TokenType
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    refresh_jti: str
    expires_in: int
    refresh_expires_at: datetime


def hash_jti(jti: str) -> str:
    """What the database stores of a refresh token: a digest of its random id."""
    return hashlib.sha256(jti.encode()).hexdigest()


class TokenCodec:
    def __init__(self, settings: Settings) -> None:
        self._key = settings.signing_key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        self._access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        self._refresh_ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        # A client sends the same access token on every request until it expires:
        # verifying its HMAC and parsing its claims once per process is enough.
        # Only tokens that verified are cached (lru_cache does not keep exceptions),
        # so forged or malformed tokens can neither fill the cache nor skip a check.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._verify)

    def issue_pair(self, *, user_id: int, session_id: str) -> TokenPair:
        now = utcnow()
        refresh_jti = uuid.uuid4().hex
        refresh_expires_at = now + self._refresh_ttl
        access = self._encode(
            user_id=user_id,
            session_id=session_id,
            token_type=TokenType.ACCESS,
            jti=uuid.uuid4().hex,
            issued_at=now,
            expires_at=now + self._access_ttl,
        )
        refresh = self._encode(
            user_id=user_id,
            session_id=session_id,
            token_type=TokenType.REFRESH,
            jti=refresh_jti,
            issued_at=now,
            expires_at=refresh_expires_at,
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            refresh_jti=refresh_jti,
            expires_in=int(self._access_ttl.total_seconds()),
            refresh_expires_at=refresh_expires_at,
        )

    def decode(self, token: str, *, expected: TokenType) -> TokenClaims:
        claims = self._verified(token)
        # Expiry is the one check that changes with time, so it runs on every use;
        # `iat` in the future was refused when the token was first verified.
        if claims.expires_at.timestamp() <= time.time() - self._leeway:
            raise InvalidToken("expired")
        if claims.type is not expected:
            raise InvalidToken("invalid")
        return claims

    def _verify(self, token: str) -> TokenClaims:
        """Signature and every time-independent claim. Raises, so failures are never cached.

        A JWT is ASCII (base64url and dots); anything else, a lone surrogate included, is
        refused before PyJWT would try to encode it.
        """
        if not token.isascii():
            raise InvalidToken("invalid")
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS, "verify_iat": True, "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise InvalidToken("invalid") from None
        try:
            claims = TokenClaims(
                user_id=int(payload["sub"]),
                session_id=str(payload["sid"]),
                jti=str(payload["jti"]),
                type=TokenType(payload["type"]),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=UTC),
            )
        except (ValueError, TypeError, OverflowError, OSError):
            raise InvalidToken("invalid") from None
        if not (
            0 < claims.user_id <= MAX_USER_ID
            and str(claims.user_id) == payload["sub"]
            and _OPAQUE_ID.fullmatch(claims.session_id)
            and _OPAQUE_ID.fullmatch(claims.jti)
        ):
            raise InvalidToken("invalid")
        return claims

    def _encode(
        self,
        *,
        user_id: int,
        session_id: str,
        token_type: TokenType,
        jti: str,
        issued_at: datetime,
        expires_at: datetime,
    ) -> str:
        payload = {
            "sub": str(user_id),
            "sid": session_id,
            "type": token_type.value,
            "jti": jti,
            "iat": issued_at,
            "exp": expires_at,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)
