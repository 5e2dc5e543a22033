"""Password hashing (argon2id) and signed tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
ALGORITHM = "HS256"
#: A hash computed once, verified against when an email is unknown, so a login for a
#: missing account takes as long as one for an existing account.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class HashingBusy(Exception):
    """Every hashing slot stayed taken for the whole wait."""


class PasswordHashing:
    """Slots for argon2id work: at most ``concurrency`` hashes at once in this process.

    Each hash holds 64 MiB (argon2-cffi's default memory cost) and four lanes of CPU for
    tens of milliseconds: unbounded, 40 concurrent registrations took 2.5 GiB and starved
    ``/health`` for seconds. Waiting is bounded too: a request that gets no slot within
    ``wait_s`` fails with ``HashingBusy`` (the API answers 503 and Retry-After) instead of
    queueing behind a flood. One per process and event loop (``Platform.extras``).
    """

    def __init__(self, concurrency: int, wait_s: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self.wait_s = wait_s

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one hashing slot (raises ``HashingBusy`` after ``wait_s``)."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_s)
        except TimeoutError:
            raise HashingBusy from None
        try:
            yield
        finally:
            self._slots.release()


class TokenError(Exception):
    """A token that is invalid, expired or of the wrong kind."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    kind: str  # access | refresh
    token_id: str
    family_id: str | None
    expires_at: datetime


def issue_token(secret: str, *, subject: str, kind: str, ttl_s: int,
                family_id: str | None = None, token_id: str | None = None,
                now: datetime | None = None) -> tuple[str, TokenClaims]:
    now = now or datetime.now(UTC)
    claims = TokenClaims(subject=subject, kind=kind, token_id=token_id or str(uuid.uuid4()),
                         family_id=family_id, expires_at=now + timedelta(seconds=ttl_s))
    payload: dict[str, Any] = {"sub": subject, "typ": kind, "jti": claims.token_id,
                               "iat": int(now.timestamp()),
                               "exp": int(claims.expires_at.timestamp())}
    if family_id:
        payload["fam"] = family_id
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def decode_token(secret: str, token: str, kind: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM],
                             options={"require": ["sub", "exp", "jti", "typ"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if payload.get("typ") != kind:
        raise TokenError(f"not an {kind} token")
    return TokenClaims(subject=str(payload["sub"]), kind=kind, token_id=str(payload["jti"]),
                       family_id=payload.get("fam"),
                       expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=UTC))
