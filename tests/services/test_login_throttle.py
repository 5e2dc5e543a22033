"""The sign-in throttle's delays on a clock the test moves (no wall-clock waits): the
HTTP tests in tests/api/test_auth_hardening.py check the same rules end to end with
delays no run can outlast."""

from __future__ import annotations

import pytest

from infra_mind.kit.cache import MemoryCache
from infra_mind.kit.errors import TooManyRequests
from infra_mind.services.throttle import LoginThrottle, delay_s

ATTEMPTS = 3
EMAIL = "ada@example.com"
GUESSER = "10.0.0.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, *, first_delay_s: int = 1, max_delay_s: int = 300,
             address_attempts: int = 100) -> LoginThrottle:
    return LoginThrottle(MemoryCache(clock=clock), ATTEMPTS, 900, address_attempts,
                         max_delay_s, clock=clock, first_delay_s=first_delay_s)


async def refused_for(gate: LoginThrottle, address: str = GUESSER) -> int | None:
    """Seconds the attempt is told to wait, or None when it is admitted."""
    try:
        await gate.admit(EMAIL, address)
    except TooManyRequests as exc:
        return exc.retry_after_s
    return None


def test_delays_double_from_the_first_up_to_the_maximum():
    assert [delay_s(n, 300) for n in range(10)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert [delay_s(n, 60, first_delay_s=5) for n in range(5)] == [5, 10, 20, 40, 60]


@pytest.mark.parametrize("first", [1, 7])
async def test_each_attempt_past_the_free_ones_waits_twice_as_long(first):
    clock = Clock()
    gate = throttle(clock, first_delay_s=first)
    assert [await refused_for(gate) for _ in range(ATTEMPTS)] == [None] * ATTEMPTS
    # the last free attempt set the first wait: even the right password meets it
    assert await refused_for(gate) == first
    clock.now += first - 0.5
    assert await refused_for(gate) == 1  # what is left, rounded up
    clock.now += 0.6
    assert await refused_for(gate) is None  # admitted; the next one waits twice as long
    assert await refused_for(gate) == 2 * first
    clock.now += 2 * first + 0.1
    assert await refused_for(gate) is None
    assert await refused_for(gate) == 4 * first


async def test_a_success_clears_the_pair_and_other_addresses_are_untouched():
    clock = Clock()
    gate = throttle(clock)
    for _ in range(ATTEMPTS):
        await gate.admit(EMAIL, GUESSER)
    assert await refused_for(gate) == 1
    assert await refused_for(gate, "10.0.0.2") is None  # the owner, elsewhere
    clock.now += 1.1
    assert await refused_for(gate) is None
    await gate.succeeded(EMAIL, GUESSER)
    assert [await refused_for(gate) for _ in range(ATTEMPTS)] == [None] * ATTEMPTS


async def test_failures_across_accounts_make_the_address_wait():
    clock = Clock()
    gate = throttle(clock, address_attempts=2, first_delay_s=3)
    await gate.failed(GUESSER)
    await gate.check_address(GUESSER)  # one failure: free
    await gate.failed(GUESSER)
    with pytest.raises(TooManyRequests) as refused:
        await gate.check_address(GUESSER)
    assert refused.value.retry_after_s == 3
    await gate.check_address("10.0.0.2")
    clock.now += 3.1
    await gate.check_address(GUESSER)
