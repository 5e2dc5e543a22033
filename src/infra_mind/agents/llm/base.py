"""What every LLM provider shares: the result type, errors, a circuit breaker, prices, and
the one HTTP call each vendor's wire format fills in.

Providers make exactly one HTTP attempt per call and classify its failure (which answers
are worth another try: ``kit.retry``); the
:class:`~infra_mind.agents.llm.chain.ProviderChain` decides, under the one retry policy
(``kit.retry.RetryPolicy``), whether to retry, wait or move on. Clocks are injectable so
tests never really wait.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import httpx

from infra_mind.kit.http import parse_retry_after, record_api_call
from infra_mind.kit.retry import LLM_API_RETRYABLE, retryable_status
from infra_mind.observability.metrics import ExternalOutcome, record_external_call

#: {model: (usd_per_1m_input_tokens, usd_per_1m_output_tokens)}
TokenPrices = Mapping[str, tuple[float, float]]

Clock = Callable[[], float]


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


# --- HTTP -----------------------------------------------------------------------------------

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
        count("rate_limited", parse_retry_after(response.headers.get("retry-after"),
                                                datetime.now(UTC)))
    else:
        count("ok" if status < 400 else "error")
    if status in (401, 403):
        raise LLMError(f"{provider}: authentication failed")
    if status >= 400:
        detail = scrub(_error_detail(response))
        message = f"{provider}: HTTP {status}" + (f" {detail}" if detail else "")
        if retryable_status(status, LLM_API_RETRYABLE):
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
    """What every HTTP provider shares: key, endpoint, prices, client, and the call itself;
    the key is never shown.

    Subclasses set ``name``, ``DEFAULT_BASE_URL``, ``PATH`` (the endpoint under the base
    URL), ``USAGE_KEYS`` (the usage fields counting input and output tokens) and
    ``HEADERS`` (sent with every request, besides the JSON content type), and say how
    their wire format asks (``_key_headers``: where the key goes; ``_prompt``: how the
    system prompt and the user's prompt are sent) and answers (``_text``). Built by
    ``agents.providers.keyed_provider`` with the key and endpoint of the settings
    (``<VENDOR>_API_KEY``, ``<VENDOR>_BASE_URL``) or an organization's key.
    """

    name = ""
    DEFAULT_BASE_URL = ""
    PATH = ""
    USAGE_KEYS = ("", "")
    HEADERS: Mapping[str, str] = MappingProxyType({})

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

    async def complete(self, system: str, prompt: str, *, model: str, max_tokens: int,
                       temperature: float, timeout_s: float) -> Completion:
        """One POST in the vendor's format; the answer's text, usage, cost and latency."""
        started = self._clock()
        data = await post_json(self._client, self.name, f"{self.base_url}{self.PATH}",
                               headers=self._headers(),
                               body=self._body(system, prompt, model, max_tokens, temperature),
                               timeout_s=timeout_s, secret=self._api_key)
        latency_s = self._clock() - started
        text = self._text(data)
        usage = data.get("usage")
        input_tokens, output_tokens = (usage_int(usage, key) for key in self.USAGE_KEYS)
        cost_usd, priced = price_tokens(self.prices, model, input_tokens, output_tokens)
        return Completion(text=text, model=str(data.get("model") or model),
                          provider=self.name, input_tokens=input_tokens,
                          output_tokens=output_tokens, cost_usd=cost_usd,
                          latency_s=latency_s, priced=priced)

    def _headers(self) -> dict[str, str]:
        """The request's headers, the key among them when there is one."""
        headers = {"content-type": "application/json", **self.HEADERS}
        if self._api_key:
            headers.update(self._key_headers(self._api_key))
        return headers

    def _key_headers(self, api_key: str) -> dict[str, str]:
        """The header(s) that carry the key."""
        raise NotImplementedError

    def _body(self, system: str, prompt: str, model: str, max_tokens: int,
              temperature: float) -> dict[str, Any]:
        """The request's JSON body."""
        return {"model": model, **self._prompt(system, prompt), "max_tokens": max_tokens,
                "temperature": temperature}

    def _prompt(self, system: str, prompt: str) -> dict[str, Any]:
        """The body's fields that carry the system prompt and the user's prompt."""
        raise NotImplementedError

    def _text(self, data: dict[str, Any]) -> str:
        """The answer's text; ``LLMError`` when the answer has none."""
        raise NotImplementedError
