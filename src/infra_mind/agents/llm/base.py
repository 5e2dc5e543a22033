"""What every LLM provider shares: the result type, errors, retries, a circuit breaker, prices.

Providers make exactly one HTTP attempt per call and classify its failure; the
:class:`~infra_mind.agents.llm.chain.ProviderChain` decides whether to retry, wait or move
on. Clocks, sleep and randomness are injectable so tests never really wait.
"""

from __future__ import annotations

import asyncio
import json
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import httpx

from infra_mind.kit.http import parse_retry_after as parse_http_retry_after
from infra_mind.kit.http import record_api_call
from infra_mind.observability.metrics import ExternalOutcome, record_external_call

#: {model: (usd_per_1m_input_tokens, usd_per_1m_output_tokens)}
TokenPrices = Mapping[str, tuple[float, float]]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Completion:
    """One model answer with its usage, cost and timing."""

    text: str
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_s: float
    cached: bool = False
    #: False when the model had no known price: ``cost_usd`` is then 0.0, not an estimate
    priced: bool = True


class LLMError(Exception):
    """A provider call failed. The message is one line and never contains a secret."""

    def __init__(self, message: str) -> None:
        one_line = " ".join(message.split())
        super().__init__(one_line)
        self.message = one_line


class RetryableLLMError(LLMError):
    """A failure worth retrying (rate limit, overload, 5xx, timeout, connection error).

    ``retry_after`` holds the raw ``Retry-After`` header when the server sent one.
    """

    def __init__(self, message: str, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class LLMProvider(Protocol):
    """One vendor's completion endpoint; one attempt per call, failures classified."""

    name: str

    async def complete(
        self,
        system: str,
        prompt: str,
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        timeout_s: float,
    ) -> Completion: ...


# --- prices ---------------------------------------------------------------------------------


def price_tokens(
    prices: TokenPrices, model: str, input_tokens: int, output_tokens: int
) -> tuple[float, bool]:
    """Cost of a call in USD and whether the model was priced; unknown models cost 0.0."""
    rate = prices.get(model)
    if rate is None:
        return 0.0, False
    per_1m_input, per_1m_output = rate
    cost = (input_tokens * per_1m_input + output_tokens * per_1m_output) / 1_000_000
    return cost, True


# --- circuit breaker ------------------------------------------------------------------------


class CircuitBreaker:
    """closed -> open after ``failure_threshold`` consecutive failures -> half-open after
    ``reset_after_s`` (one trial call allowed) -> closed on success, open again on failure."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if self._clock() - self._opened_at >= self.reset_after_s:
            return self.HALF_OPEN
        return self.OPEN

    def allow(self) -> bool:
        """Whether a call may go through now (closed, or half-open for a trial)."""
        return self.state != self.OPEN

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        if self.state == self.HALF_OPEN:
            self._opened_at = self._clock()  # the trial failed: open for another period
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._opened_at = self._clock()


# --- retries --------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now_epoch_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    return parse_http_retry_after(value, datetime.fromtimestamp(now_epoch_s, UTC))


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins over backoff.

    ``max_attempts`` counts the first try. A ``Retry-After`` longer than ``max_delay_s``
    is not waited for: the caller moves on to the next provider instead.
    """

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    sleep: Sleep = asyncio.sleep
    #: uniform in [0, 1); full jitter draws the delay from [0, cap)
    random: Callable[[], float] = _random.random
    wall_clock: Clock = time.time

    def delay_s(self, attempt: int, error: RetryableLLMError) -> float | None:
        """Delay before retry number ``attempt`` (1-based), or None to stop retrying."""
        if attempt >= self.max_attempts:
            return None
        retry_after = parse_retry_after(error.retry_after, self.wall_clock())
        if retry_after is not None:
            return retry_after if retry_after <= self.max_delay_s else None
        cap = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return cap * self.random()


# --- HTTP -----------------------------------------------------------------------------------

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 529})


def _error_detail(response: httpx.Response) -> str:
    """The server's own error type and message, short, for a one-line error."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    kind = str(error.get("type") or error.get("code") or "")
    message = str(error.get("message") or "")[:200]
    return ": ".join(part for part in (kind, message) if part)


async def post_json(
    client: httpx.AsyncClient | None,
    provider: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeout_s: float,
    secret: str | None,
) -> dict[str, Any]:
    """POST a JSON body and return the JSON answer, raising a classified :class:`LLMError`.

    ``secret`` is scrubbed from any error message, in case a server echoes it back.
    """

    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    started = time.perf_counter()

    def count(outcome: ExternalOutcome, retry_after_s: float | None = None) -> None:
        # for `check-api-rates` (kit.http) and Prometheus (outcome and duration)
        record_api_call(provider, outcome, retry_after_s)
        record_external_call(provider, outcome, time.perf_counter() - started)

    try:
        if client is None:
            async with httpx.AsyncClient() as own_client:
                response = await own_client.post(
                    url, headers=dict(headers), json=dict(body), timeout=timeout_s
                )
        else:
            response = await client.post(
                url, headers=dict(headers), json=dict(body), timeout=timeout_s
            )
    except httpx.TimeoutException as exc:
        count("error")
        raise RetryableLLMError(f"{provider}: timed out after {timeout_s:g}s") from exc
    except httpx.TransportError as exc:
        count("error")
        raise RetryableLLMError(f"{provider}: connection failed ({type(exc).__name__})") from exc

    status = response.status_code
    if status == 429:
        count("rate_limited", parse_http_retry_after(response.headers.get("retry-after"),
                                                     datetime.now(UTC)))
    else:
        count("ok" if status < 400 else "error")
    if status in (401, 403):
        raise LLMError(f"{provider}: authentication failed")
    if status >= 400:
        detail = scrub(_error_detail(response))
        message = f"{provider}: HTTP {status}" + (f" {detail}" if detail else "")
        if status in _RETRYABLE_STATUS or status >= 500:
            raise RetryableLLMError(message, retry_after=response.headers.get("retry-after"))
        raise LLMError(message)
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise LLMError(f"{provider}: answer was not JSON") from exc
    if not isinstance(data, dict):
        raise LLMError(f"{provider}: answer was not a JSON object")
    return data


def usage_int(usage: Any, key: str) -> int:
    """A token count from a usage object; missing or malformed counts are 0."""
    if not isinstance(usage, dict):
        return 0
    value = usage.get(key)
    return value if isinstance(value, int) and value >= 0 else 0


class HttpProvider:
    """What every HTTP provider shares: key, endpoint, prices, client; key never shown.

    Subclasses set ``name``, ``DEFAULT_BASE_URL``, ``KEY_ENV`` (the setting holding the
    server's key) and ``URL_ENV`` (the variable that points it elsewhere). Built by
    ``agents.providers.keyed_provider`` with the key of a setting or of an organization.
    """

    name = ""
    DEFAULT_BASE_URL = ""
    KEY_ENV = ""
    URL_ENV = ""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        prices: TokenPrices | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._api_key = api_key or None
        self.base_url = (base_url or self.DEFAULT_BASE_URL).rstrip("/")
        self.prices: TokenPrices = prices or {}
        self._client = client
        self._clock = clock

    def __repr__(self) -> str:  # never show the key
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def _post(self, path: str, headers: dict[str, str], body: dict[str, Any],
                    timeout_s: float) -> tuple[dict[str, Any], float]:
        """POST ``body`` to ``{base_url}{path}``: the JSON answer and the latency in s."""
        started = self._clock()
        data = await post_json(self._client, self.name, f"{self.base_url}{path}",
                               headers=headers, body=body, timeout_s=timeout_s,
                               secret=self._api_key)
        return data, self._clock() - started

    def _completion(self, text: str, data: dict[str, Any], model: str, input_key: str,
                    output_key: str, latency_s: float) -> Completion:
        """A ``Completion`` priced from the answer's usage fields (named per vendor)."""
        usage = data.get("usage")
        input_tokens = usage_int(usage, input_key)
        output_tokens = usage_int(usage, output_key)
        cost_usd, priced = price_tokens(self.prices, model, input_tokens, output_tokens)
        return Completion(text=text, model=str(data.get("model") or model),
                          provider=self.name, input_tokens=input_tokens,
                          output_tokens=output_tokens, cost_usd=cost_usd,
                          latency_s=latency_s, priced=priced)
