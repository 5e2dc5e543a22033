"""The shared retry policy and error hygiene, without a network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra_mind.catalog.adapters.base import (
    AdapterError,
    RateLimited,
    RetryableError,
    RetryPolicy,
    mask_secrets,
    parse_retry_after,
    with_retries,
)

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("Sat, 28 Nov 2026 12:00:30 GMT", 30.0),
    ("Sat, 28 Nov 2026 11:59:00 GMT", 0.0),  # already past: retry now
    ("-3", 0.0),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_backoff_doubles_up_to_the_cap_and_jitter_scales_it():
    top = RetryPolicy(base_delay_s=1, max_delay_s=10, jitter=lambda: 1.0)
    assert [top.backoff_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    low = RetryPolicy(base_delay_s=1, max_delay_s=10, jitter=lambda: 0.1)
    assert [low.backoff_s(n) for n in (1, 4, 6)] == pytest.approx([0.1, 0.8, 1.0])


def test_full_jitter_draws_from_the_whole_window():
    policy = RetryPolicy(base_delay_s=1, max_delay_s=60)
    delays = [policy.backoff_s(3) for _ in range(200)]
    assert all(0 <= d < 4 for d in delays)
    assert min(delays) < 1 and max(delays) > 3  # not a fixed delay


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=-1)


def test_with_retries_returns_the_first_success():
    sleeps: list[float] = []
    outcomes = iter([RetryableError("x answered HTTP 502"), RetryableError("x answered HTTP 503"),
                     "ok"])

    def attempt():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(max_attempts=3, base_delay_s=2, sleep=sleeps.append, jitter=lambda: 1.0)
    assert with_retries(attempt, policy, "aws") == "ok"
    assert sleeps == [2, 4]


def test_other_errors_are_not_retried():
    calls = []

    def attempt():
        calls.append(1)
        raise AdapterError("azure: prices.azure.com refused the request: HTTP 404: gone")

    with pytest.raises(AdapterError, match="HTTP 404"):
        with_retries(attempt, RetryPolicy(sleep=lambda s: None), "azure")
    assert calls == [1]


def test_exhausted_rate_limit_is_rate_limited():
    def attempt():
        raise RetryableError("rate limited by h (HTTP 429)", retry_after_s=1, rate_limited=True)

    with pytest.raises(RateLimited) as caught:
        with_retries(attempt, RetryPolicy(max_attempts=2, sleep=lambda s: None), "gcp")
    assert str(caught.value) == "gcp: rate limited by h (HTTP 429) (gave up after 2 attempts)"
    assert caught.value.retry_after_s == 1


def test_messages_are_one_line_and_masked():
    error = AdapterError("gcp: bad\nanswer from https://h/x?pageToken=1&key=AIzaSECRET&y=2",
                         secrets=["hunter22"])
    assert str(error) == "gcp: bad answer from https://h/x?pageToken=1&key=***&y=2"
    assert mask_secrets("token hunter22 leaked", ["hunter22"]) == "token *** leaked"
    assert mask_secrets("?api_key=abc&sig=def") == "?api_key=***&sig=***"
