"""The price adapters' calls under the one retry policy (``kit.retry``, tested in
tests/kit/test_retry.py) and their error hygiene, without a network."""

from __future__ import annotations

import pytest

from infra_mind.catalog.adapters.base import (
    AdapterError,
    RateLimited,
    RetryableError,
    mask_secrets,
    with_retries,
)
from infra_mind.kit.retry import RetryPolicy


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


def test_a_retry_after_beyond_the_limit_stops_before_the_last_attempt():
    calls: list[int] = []
    sleeps: list[float] = []

    def attempt():
        calls.append(1)
        raise RetryableError("rate limited by h (HTTP 429)", retry_after_s=90, rate_limited=True)

    policy = RetryPolicy(max_attempts=3, max_delay_s=60, sleep=sleeps.append)
    with pytest.raises(RateLimited) as caught:
        with_retries(attempt, policy, "aws")
    assert calls == [1] and sleeps == []
    assert str(caught.value) == ("aws: rate limited by h (HTTP 429); asked to wait 90 s, more "
                                 "than the 60 s limit")
    assert caught.value.retry_after_s == 90
    with pytest.raises(RateLimited, match=r"\(gave up after 1 attempt\)$"):  # none was left
        with_retries(attempt, RetryPolicy(max_attempts=1, max_delay_s=60), "aws")


def test_exhausted_server_errors_are_an_adapter_error():
    def attempt():
        raise RetryableError("h answered HTTP 503")

    with pytest.raises(AdapterError) as caught:
        with_retries(attempt, RetryPolicy(max_attempts=3, sleep=lambda s: None), "azure")
    assert type(caught.value) is AdapterError
    assert str(caught.value) == "azure: h answered HTTP 503 (gave up after 3 attempts)"


def test_messages_are_one_line_and_masked():
    error = AdapterError("gcp: bad\nanswer from https://h/x?pageToken=1&key=AIzaSECRET&y=2",
                         secrets=["hunter22"])
    assert str(error) == "gcp: bad answer from https://h/x?pageToken=1&key=***&y=2"
    assert mask_secrets("token hunter22 leaked", ["hunter22"]) == "token *** leaked"
    assert mask_secrets("?api_key=abc&sig=def") == "?api_key=***&sig=***"
