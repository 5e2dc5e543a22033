"""The one retry policy (``kit.retry``) and the one ``Retry-After`` reader (``kit.http``),
as both the price adapters (in a thread) and the LLM chain (in a coroutine) use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from infra_mind.kit.http import parse_retry_after
from infra_mind.kit.retry import (
    LLM_API_RETRYABLE,
    PRICE_API_RETRYABLE,
    RetryPolicy,
    retryable_status,
)

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


class Failure(Exception):
    def __init__(self, retry_after_s: float | None = None) -> None:
        super().__init__("failed")
        self.retry_after_s = retry_after_s


class Other(Exception):
    pass


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("3", 3.0),
        (" 5 ", 5.0),
        ("Sat, 28 Nov 2026 12:00:30 GMT", 30.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        ("Sat, 28 Nov 2026 11:59:00 GMT", 0.0),  # already past: retry now
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("-3", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_backoff_doubles_up_to_the_cap_and_jitter_scales_it():
    top = RetryPolicy(base_delay_s=1, max_delay_s=10, jitter=lambda: 1.0)
    assert [top.backoff_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    low = RetryPolicy(base_delay_s=1, max_delay_s=10, jitter=lambda: 0.1)
    assert [low.backoff_s(n) for n in (1, 4, 6)] == pytest.approx([0.1, 0.8, 1.0])
    half = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, max_attempts=10, jitter=lambda: 0.5)
    assert [half.delay_s(n, None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.5, 2.5]


def test_full_jitter_draws_from_the_whole_window():
    policy = RetryPolicy(base_delay_s=1, max_delay_s=60)
    delays = [policy.backoff_s(3) for _ in range(200)]
    assert all(0 <= d < 4 for d in delays)
    assert min(delays) < 1 and max(delays) > 3  # not a fixed delay


def test_a_retry_after_wins_over_the_backoff_up_to_the_limit():
    policy = RetryPolicy(max_attempts=10, base_delay_s=1, max_delay_s=20, jitter=lambda: 1.0)
    assert policy.delay_s(1, 7.0) == 7.0
    assert policy.delay_s(1, 0.0) == 0.0
    assert not policy.gives_up(1, 20.0)
    assert policy.gives_up(1, 20.5)  # longer than max_delay_s: no retry at all
    assert not policy.gives_up(9, None) and policy.gives_up(10, None)  # attempts spent


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=-1)


@pytest.mark.parametrize(
    ("status", "price_list", "llm"),
    [
        (408, True, True),
        (429, True, True),
        (500, True, True),
        (503, True, True),
        (529, True, True),
        (409, False, True),
        (425, False, True),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (200, False, False),
    ],
)
def test_which_answers_are_retried(status, price_list, llm):
    assert retryable_status(status, PRICE_API_RETRYABLE) is price_list
    assert retryable_status(status, LLM_API_RETRYABLE) is llm


def _failing(outcomes: list[object]):
    calls: list[int] = []

    def attempt() -> object:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return attempt, calls


def test_in_a_thread_failures_are_retried_with_the_backoff_and_the_servers_wait():
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=4, base_delay_s=2, sleep=sleeps.append, jitter=lambda: 1.0)
    attempt, calls = _failing([Failure(), Failure(retry_after_s=7), Failure(), "ok"])
    assert policy.retrying(Failure, lambda e: e.retry_after_s)(attempt) == "ok"
    assert sleeps == [2, 7, 8] and len(calls) == 4
    assert all(type(s) is float for s in sleeps)


def test_in_a_thread_the_last_failure_is_raised_or_give_up_decides():
    policy = RetryPolicy(max_attempts=2, sleep=lambda s: None)
    attempt, calls = _failing([Failure(), Failure(retry_after_s=1), "never"])
    with pytest.raises(Failure) as caught:
        policy.retrying(Failure, lambda e: e.retry_after_s)(attempt)
    assert caught.value.retry_after_s == 1 and len(calls) == 2

    attempt, _ = _failing([Failure(), Failure()])
    stopped = policy.retrying(
        Failure,
        lambda e: e.retry_after_s,
        give_up=lambda state: f"gave up at {state.attempt_number}",
    )
    assert stopped(attempt) == "gave up at 2"


def test_other_failures_are_not_retried():
    sleeps: list[float] = []
    attempt, calls = _failing([Other(), "never"])
    with pytest.raises(Other):
        RetryPolicy(sleep=sleeps.append).retrying(Failure, lambda e: None)(attempt)
    assert len(calls) == 1 and sleeps == []


def test_a_retry_after_beyond_the_limit_is_not_waited_for():
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=5, max_delay_s=30, sleep=sleeps.append)
    attempt, calls = _failing([Failure(retry_after_s=3600), "never"])
    with pytest.raises(Failure):
        policy.retrying(Failure, lambda e: e.retry_after_s)(attempt)
    assert len(calls) == 1 and sleeps == []


async def test_in_a_coroutine_the_sleep_is_awaited_and_stop_also_stops_early():
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    policy = RetryPolicy(max_attempts=5, base_delay_s=0.5, sleep=sleep, jitter=lambda: 1.0)
    attempt, calls = _failing([Failure(), Failure(), "ok"])

    async def call() -> object:
        return attempt()

    assert await policy.async_retrying(Failure, lambda e: None)(call) == "ok"
    assert waited == [0.5, 1.0] and len(calls) == 3

    attempt, calls = _failing([Failure(), Failure(), "never"])
    open_after: list[bool] = [False, True]  # e.g. a circuit breaker that opened
    stopping = policy.async_retrying(Failure, lambda e: None, stop_also=lambda: open_after.pop(0))
    with pytest.raises(Failure):
        await stopping(call)
    assert len(calls) == 2


async def test_in_a_coroutine_a_plain_sleep_works_too():
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=2, base_delay_s=1, sleep=sleeps.append, jitter=lambda: 1.0)
    attempt, _ = _failing([Failure(), "ok"])

    async def call() -> object:
        return attempt()

    assert await policy.async_retrying(Failure, lambda e: None)(call) == "ok"
    assert sleeps == [1.0]
