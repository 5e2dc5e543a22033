"""One retry policy for every call to an outside API: the price lists
(``catalog.adapters``) and the LLM providers (``agents.llm``).

tenacity runs the loop (``Retrying`` for the price lists' threads, ``AsyncRetrying`` for
the LLM chain); :class:`RetryPolicy` says how:

- **How often.** ``max_attempts`` counts the first try.
- **How long.** Exponential backoff with full jitter: after the n-th failure, a wait drawn
  from [0, min(max_delay_s, base_delay_s * 2**(n-1))), the variant that spreads clients
  best (AWS Architecture Blog, "Exponential Backoff And Jitter"). A server's
  ``Retry-After`` (``kit.http.parse_retry_after``: delta-seconds or an HTTP date) wins
  over the backoff. One longer than ``max_delay_s`` is not waited for: asking sooner would
  only earn another refusal, so the caller stops (the price refresh fails with
  ``RateLimited``; the LLM chain moves on to its next provider).
- **Which failures.** Each caller names the exception its attempts raise for a failure
  worth another try, and how to read that exception's ``Retry-After``; anything else
  fails at once. Which HTTP answers count is decided here, for both kinds of API, so the
  one difference between them is in one place (:func:`retryable_status`):

  - both: 408 Request Timeout and 429 Too Many Requests (the server asks for a later
    try), and any 5xx (its side failed; Anthropic's 529 "overloaded" is one);
  - an LLM provider also: 409 Conflict and 425 Too Early, answers a model API gives for a
    request that may succeed as sent (OpenAI's own SDK retries 409: a conflicting request
    still in progress). A price list's GET has nothing to conflict with: there they fail
    at once.

  Timeouts and lost connections are retried by both (each adapter and provider raises
  its retryable exception for them). The AWS adapter reads boto's error codes instead of
  HTTP answers: throttling codes and 429 as rate limits, server codes and 5xx as failures
  worth another try (``catalog.adapters.aws``).

Sleep, jitter and the clock are injectable so tests run without waiting and with known
delays.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import tenacity

E = TypeVar("E", bound=BaseException)

#: A wait: ``time.sleep``-like for the price lists, ``asyncio.sleep``-like for the chain.
Sleep = Callable[[float], Awaitable[None] | None]

#: Answers any outside API is retried on, besides every 5xx (see the module's list).
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429})
#: A price list (Azure Retail Prices, the GCP Cloud Billing Catalog): those alone.
PRICE_API_RETRYABLE: frozenset[int] = RETRYABLE_STATUSES
#: An LLM provider (OpenAI, Anthropic, a server speaking their formats): also 409 and 425.
LLM_API_RETRYABLE: frozenset[int] = RETRYABLE_STATUSES | {409, 425}


def retryable_status(status: int, retryable: Collection[int]) -> bool:
    """Whether an HTTP answer is worth another try: any 5xx, or one of ``retryable``
    (:data:`PRICE_API_RETRYABLE` or :data:`LLM_API_RETRYABLE`)."""
    return status >= 500 or status in retryable


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one call.

    The defaults are the price lists'; the LLM chain passes ``agents.yaml``'s ``retry``.
    ``sleep`` None is ``time.sleep`` in :meth:`retrying` and ``asyncio.sleep`` in
    :meth:`async_retrying`; ``jitter`` is a number in [0, 1): the fraction of the backoff
    window to wait; ``now`` is the clock a ``Retry-After`` date is read against."""

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    sleep: Sleep | None = None
    jitter: Callable[[], float] = random.random
    now: Callable[[], datetime] = field(default=_utc_now)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("delays must not be negative")

    def backoff_s(self, failures: int) -> float:
        """The wait after the ``failures``-th failed attempt (1-based), jitter applied."""
        window = min(self.max_delay_s, self.base_delay_s * 2 ** (failures - 1))
        return self.jitter() * window

    def waits_too_long(self, retry_after_s: float | None) -> bool:
        """Whether a server asks for a longer wait than this policy gives (then no retry)."""
        return retry_after_s is not None and retry_after_s > self.max_delay_s

    def delay_s(self, failures: int, retry_after_s: float | None) -> float:
        """The wait after the ``failures``-th failure: what the server asked, else the
        backoff."""
        return retry_after_s if retry_after_s is not None else self.backoff_s(failures)

    def gives_up(self, failures: int, retry_after_s: float | None) -> bool:
        """No retry after the ``failures``-th failure: the attempts are spent, or the server
        asks for longer than ``max_delay_s``."""
        return failures >= self.max_attempts or self.waits_too_long(retry_after_s)

    def retrying(
        self,
        retry_on: type[E],
        retry_after: Callable[[E], float | None],
        *,
        give_up: Callable[[tenacity.RetryCallState], Any] | None = None,
        stop_also: Callable[[], bool] | None = None,
    ) -> tenacity.Retrying:
        """A tenacity loop for a call made in a thread: ``retrying(fn)`` calls ``fn`` until
        it returns, retrying each ``retry_on`` per this policy.

        ``retry_after`` reads the seconds a failure asks to wait (None: none asked).
        When the loop stops, ``give_up(state)`` says what to raise (or return); without
        it the last failure is raised. ``stop_also()`` true stops early too."""
        sleep = self.sleep or time.sleep

        def wait(seconds: float) -> None:
            sleep(float(seconds))

        return tenacity.Retrying(
            sleep=wait, **self._loop(retry_on, retry_after, give_up, stop_also)
        )

    def async_retrying(
        self,
        retry_on: type[E],
        retry_after: Callable[[E], float | None],
        *,
        give_up: Callable[[tenacity.RetryCallState], Any] | None = None,
        stop_also: Callable[[], bool] | None = None,
    ) -> tenacity.AsyncRetrying:
        """:meth:`retrying` for a coroutine: ``await async_retrying(...)(fn)``."""
        sleep = self.sleep or asyncio.sleep

        async def wait(seconds: float) -> None:
            waited = sleep(float(seconds))
            if inspect.isawaitable(waited):
                await waited

        return tenacity.AsyncRetrying(
            sleep=wait, **self._loop(retry_on, retry_after, give_up, stop_also)
        )

    def _loop(
        self,
        retry_on: type[E],
        retry_after: Callable[[E], float | None],
        give_up: Callable[[tenacity.RetryCallState], Any] | None,
        stop_also: Callable[[], bool] | None,
    ) -> dict[str, Any]:
        """tenacity's ``retry``, ``wait`` and ``stop`` for this policy (``wait`` and ``stop``
        run only after a ``retry_on`` failure)."""

        def asked_s(state: tenacity.RetryCallState) -> float | None:
            assert state.outcome is not None
            failure = state.outcome.exception()
            assert isinstance(failure, retry_on)
            return retry_after(failure)

        def wait(state: tenacity.RetryCallState) -> float:
            return self.delay_s(state.attempt_number, asked_s(state))

        def stop(state: tenacity.RetryCallState) -> bool:
            return self.gives_up(state.attempt_number, asked_s(state)) or (
                stop_also is not None and stop_also()
            )

        return {
            "retry": tenacity.retry_if_exception_type(retry_on),
            "wait": wait,
            "stop": stop,
            "reraise": give_up is None,
            "retry_error_callback": give_up,
        }
