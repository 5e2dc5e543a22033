"""Password hashing (argon2id) and signed tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ALGORITHM = "HS256"
#: What a missing account's sign-in verifies against, so it takes as long as a real one.
_DUMMY_PASSWORD = "not-a-real-password-used-for-timing"


class HashingBusy(Exception):
    """Every hashing slot stayed taken for the whole wait."""


@dataclass(frozen=True)
class HashCost:
    """argon2id's parameters, from the settings (``PASSWORD_HASH_*``, where the defaults
    and the least accepted in production are); a stored hash carries its own, so a change
    never locks anyone out."""

    time_cost: int
    memory_kib: int
    parallelism: int


class PasswordHashing:
    """This process's argon2id hasher, and slots for its work: at most ``concurrency``
    hashes at once.

    Each hash holds ``cost.memory_kib`` (64 MiB by default) and ``cost.parallelism`` lanes
    of CPU for tens of milliseconds: unbounded, 40 concurrent registrations took 2.5 GiB
    and starved ``/health`` for seconds. Waiting is bounded too: a request that gets no
    slot within ``wait_s`` fails with ``HashingBusy`` (the API answers 503 and
    Retry-After) instead of queueing behind a flood. One per process and event loop
    (``services.auth``).
    """

    def __init__(self, concurrency: int, wait_s: float, cost: HashCost) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self.wait_s = wait_s
        self._hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                      parallelism=cost.parallelism)
        self._dummy: str | None = None

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

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash (an unknown email), a dummy one is
        verified, so the answer takes as long and is False."""
        try:
            return (self._hasher.verify(password_hash or self._dummy_hash(), password)
                    and password_hash is not None)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        """Computed at the first sign-in of an unknown email, not at start: a hash costs
        tens of milliseconds and 64 MiB that a process which never signs anyone in (the
        CLI, workers) should not pay."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(_DUMMY_PASSWORD)
        return self._dummy


class TokenError(Exception):
    """A token that is invalid, expired or of the wrong kind."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    kind: str  # access | refresh
    token_id: str
    family_id: str | None  # the session (refresh-token family) the token belongs to
    expires_at: datetime
    #: Seconds since the epoch, to the millisecond: a revocation at time T refuses the
    #: tokens issued up to T, and a sign-in in the same second after T is not one of them.
    issued_at: float = 0.0


def issue_token(secret: str, *, subject: str, kind: str, ttl_s: int,
                family_id: str | None = None, token_id: str | None = None,
                now: datetime | None = None) -> tuple[str, TokenClaims]:
    now = now or datetime.now(UTC)
    claims = TokenClaims(subject=subject, kind=kind, token_id=token_id or str(uuid.uuid4()),
                         family_id=family_id, expires_at=now + timedelta(seconds=ttl_s),
                         issued_at=round(now.timestamp(), 3))
    # iat is a NumericDate, which RFC 7519 allows to be non-integer (PyJWT reads it so)
    payload: dict[str, Any] = {"sub": subject, "typ": kind, "jti": claims.token_id,
                               "iat": claims.issued_at,
                               "exp": int(claims.expires_at.timestamp())}
    if family_id:
        payload["fam"] = family_id
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def decode_token(secret: str, token: str, kind: str) -> TokenClaims:
    """The claims of a valid, unexpired token of ``kind`` (``TokenError`` otherwise).

    A token verified once is remembered (``_verified``, by its exact text, so only the
    same signed bytes match) and only its expiry is checked again: a client sends the same
    access token with every request until it expires, and checking the signature costs
    more than the rest of authentication. Refusals are not remembered.
    """
    claims = _verified(secret, token, kind)
    if claims.expires_at.timestamp() <= time.time():
        raise TokenError("token expired")
    return claims


@functools.lru_cache(maxsize=1024)
def _verified(secret: str, token: str, kind: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM],
                             options={"require": ["sub", "exp", "jti", "typ"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if payload.get("typ") != kind:
        raise TokenError(f"not an {kind} token")
    issued_at = payload.get("iat")
    return TokenClaims(subject=str(payload["sub"]), kind=kind, token_id=str(payload["jti"]),
                       family_id=payload.get("fam"),
                       expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=UTC),
                       issued_at=float(issued_at) if isinstance(issued_at, int | float) else 0.0)
