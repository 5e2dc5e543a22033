"""Sign-in and registration throttles, on the shared cache (Redis in production).

Sign-in (``LoginThrottle``) is a growing delay, never a lockout a stranger can impose:

- per (account, client address) pair: ``attempts`` sign-ins are free in the window; from
  then on each attempt makes the next one from that pair wait ``first_delay_s`` (1 s by
  default), then twice that, four times, ... up to ``max_delay_s``. The count is taken
  *before* the password is checked, and an attempt in the delay regime must claim the
  pair's gate (``Cache.incr`` is atomic), so a burst of concurrent guesses gets one
  through per delay, not one per request. A success clears the pair.
- per address, across accounts: ``address_attempts`` failures are free in the window;
  then every sign-in from the address waits the same growing delay (password spraying
  from one address). Counted after the check, since a NAT's successful sign-ins must not
  count; the check is made again just before the password is verified (``check_address``)
  so guesses queued for a hashing slot meet a delay set meanwhile.

The right password from another address is never refused because of failures elsewhere:
nothing is kept per account alone. What that leaves open (many addresses guessing one
account) is bounded by the addresses' budgets and by the password policy
(``kit.passwords``), and is written up in docs/ops/security.md.

Registration (``RegistrationThrottle``) counts every attempt that gets as far as hashing,
per address: ``attempts`` per window, then 429 until the window ends.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from infra_mind.kit.cache import Cache
from infra_mind.kit.errors import TooManyRequests

THROTTLED = "too many failed sign-in attempts; try again later"
REGISTRATION_THROTTLED = "too many registrations from this address; try again later"
#: The first wait by default; each further attempt doubles it (up to the configured maximum).
FIRST_DELAY_S = 1


def account_digest(email: str) -> str:
    """Names a sign-in account without its email (the throttle's key, and the failed-login
    audit event's ``account``: what was typed may be a password typed in the wrong box)."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def delay_s(over: int, max_delay_s: int, first_delay_s: int = FIRST_DELAY_S) -> int:
    """The wait after the ``over``-th attempt past the free ones (0: the last free one)."""
    return min(first_delay_s << min(over, 30), max_delay_s)


def _address(client_address: str | None) -> str:
    return client_address or "unknown"


class LoginThrottle:
    """Growing delays per (account, address) pair and per address (see the module)."""

    def __init__(self, cache: Cache, attempts: int, window_s: int, address_attempts: int,
                 max_delay_s: int, clock: Callable[[], float] = time.time,
                 first_delay_s: int = FIRST_DELAY_S) -> None:
        self.cache = cache
        self.attempts = attempts
        self.window_s = window_s
        self.address_attempts = address_attempts
        self.max_delay_s = max_delay_s
        self.first_delay_s = first_delay_s
        self.clock = clock

    @staticmethod
    def pair_key(digest: str, client_address: str | None) -> str:
        # the email hashed: the cache (Redis in production) holds no email addresses
        return f"login:pair:{digest}:{_address(client_address)}"

    @staticmethod
    def address_key(client_address: str | None) -> str:
        return f"login:address:{_address(client_address)}"

    async def _refuse_while_waiting(self, key: str) -> None:
        until = await self.cache.get(key + ":until")
        if until is None:
            return
        try:
            seconds_left = math.ceil(float(until) - self.clock())
        except ValueError:
            seconds_left = self.max_delay_s
        if seconds_left > 0:
            raise TooManyRequests(THROTTLED, retry_after_s=seconds_left)

    async def _wait(self, key: str, seconds: int) -> None:
        await self.cache.set(key + ":until", str(self.clock() + seconds), seconds)

    async def admit(self, email: str, client_address: str | None) -> None:
        """Count this attempt, or raise ``TooManyRequests`` (with ``Retry-After``) while
        the pair or the address must wait."""
        pair = self.pair_key(account_digest(email), client_address)
        await self._refuse_while_waiting(self.address_key(client_address))
        await self._refuse_while_waiting(pair)
        count, _ = await self.cache.incr(pair + ":attempts", self.window_s)
        if count < self.attempts:
            return
        wait_s = delay_s(count - self.attempts, self.max_delay_s, self.first_delay_s)
        # one attempt per delay: concurrent ones lose the gate (its count passes 1)
        holders, gate_left_s = await self.cache.incr(pair + ":gate", wait_s)
        if holders > 1:
            raise TooManyRequests(THROTTLED, retry_after_s=gate_left_s)
        await self._wait(pair, wait_s)

    async def check_address(self, client_address: str | None) -> None:
        """Raise while the address must wait (again, just before verifying)."""
        await self._refuse_while_waiting(self.address_key(client_address))

    async def failed(self, client_address: str | None) -> None:
        """Count a failure against the address (the pair was counted by ``admit``)."""
        key = self.address_key(client_address)
        count, _ = await self.cache.incr(key + ":failures", self.window_s)
        if count >= self.address_attempts:
            await self._wait(key, delay_s(count - self.address_attempts, self.max_delay_s,
                                             self.first_delay_s))

    async def succeeded(self, email: str, client_address: str | None) -> None:
        """Clear the pair; the address keeps its failures (an address guessing across
        accounts cannot reset itself by signing in to one it owns)."""
        pair = self.pair_key(account_digest(email), client_address)
        for suffix in (":attempts", ":gate", ":until"):
            await self.cache.delete(pair + suffix)

    @staticmethod
    async def account_waiting(cache: Cache, digest: str) -> bool:
        """Whether some address must wait before signing in to this account (admin view)."""
        values = await cache.items(f"login:pair:{digest}:")
        return any(_future(v) for k, v in values.items() if k.endswith(":until"))

    @classmethod
    async def address_waiting(cls, cache: Cache, client_address: str) -> bool:
        """Whether every sign-in from this address must wait now (admin view)."""
        return _future(await cache.get(cls.address_key(client_address) + ":until"))


def _future(until: str | None) -> bool:
    try:
        return until is not None and float(until) > time.time()
    except ValueError:
        return False


class RegistrationThrottle:
    """Registrations per client address in a window (429 with ``Retry-After`` past it)."""

    def __init__(self, cache: Cache, attempts: int, window_s: int) -> None:
        self.cache = cache
        self.attempts = attempts
        self.window_s = window_s

    async def admit(self, client_address: str | None) -> None:
        key = f"register:address:{_address(client_address)}"
        count, seconds_left = await self.cache.incr(key, self.window_s)
        if count > self.attempts:
            raise TooManyRequests(REGISTRATION_THROTTLED, retry_after_s=seconds_left)
