"""What every live price adapter shares: the ``PriceSource`` protocol, its errors, and
the calls to a price API under the one retry policy (``kit.retry``).

A price API fails in three ways that are worth another try: it says "too many
requests" (HTTP 429, AWS's ``ThrottlingException``), it fails on its side
(HTTP 5xx, 408), or the network does (a timeout, a refused or dropped connection).
Each raises ``RetryableError``; ``with_retries`` retries those per a ``RetryPolicy``
(exponential backoff with full jitter, or exactly as long as a ``Retry-After`` asks).
Anything else (a 4xx, a body that is not JSON) fails at once: asking again would get
the same answer.

Errors are one line, name the provider and the host, and never carry a secret:
``AdapterError`` masks ``key=``-style query parameters and any secret value the
adapter names.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NoReturn, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState

from infra_mind.catalog.model import PriceRow, Provider
from infra_mind.kit.http import parse_retry_after, record_api_call
from infra_mind.kit.retry import PRICE_API_RETRYABLE, RetryPolicy, retryable_status
from infra_mind.observability.metrics import ExternalOutcome, record_external_call

T = TypeVar("T")

#: Sent with every request so a price API's operators can tell who is calling.
USER_AGENT = "infra-mind-price-refresh/0.1"

_SECRET_PARAM = re.compile(
    r"(?i)([?&](?:key|api[_-]?key|access[_-]?token|token|sig|signature)=)[^&\s#\"']+")


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secret query parameters (``key=...``) and the given values replaced."""
    out = _SECRET_PARAM.sub(r"\1***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:  # a tiny "secret" would mask innocent text
            out = out.replace(secret, "***")
    return out


def one_line(text: str, limit: int = 400) -> str:
    """Collapse whitespace so a message prints on one line; cut it at ``limit`` chars."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def host_of(url: str) -> str:
    """The ``host[:port]`` part of a URL, for messages (never the query, which may hold a key)."""
    return urlsplit(url).netloc or url


class AdapterError(Exception):
    """A price fetch that failed; the message is one line and holds no secret."""

    def __init__(self, message: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(one_line(mask_secrets(message, secrets)))


class RateLimited(AdapterError):
    """The API kept refusing for too many requests, or asked for a longer wait than allowed."""

    def __init__(self, message: str, retry_after_s: float | None = None,
                 secrets: Iterable[str] = ()) -> None:
        super().__init__(message, secrets)
        self.retry_after_s = retry_after_s


class RetryableError(Exception):
    """One failed attempt worth another: a 429, a 5xx, a timeout, a lost connection.

    ``message`` reads after "provider: ", e.g. ``"prices.azure.com answered HTTP 503"``.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None,
                 rate_limited: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s
        self.rate_limited = rate_limited


@runtime_checkable
class PriceSource(Protocol):
    """A live price list for one provider's compute prices.

    ``fetch`` returns compute ``PriceRow``s for the given region codes or raises
    ``AdapterError``; afterwards ``skipped`` counts, by reason, what the fetch saw
    but left out (a zero price, a size with unknown specs, ...).

    ``covers(sku)`` says whether the source prices that SKU at all (GCP's adapter
    prices four machine families, not GPU machines). A refresh retires a catalog
    row the fetch did not return only when the source covers its SKU; otherwise
    the row is out of the source's scope and stays.
    """

    provider: Provider
    skipped: Counter[str]

    def fetch(self, regions: list[str]) -> list[PriceRow]: ...

    def covers(self, sku: str) -> bool: ...


def _count(api: str, outcome: ExternalOutcome, started: float,
           retry_after_s: float | None = None) -> None:
    """One attempt, for ``check-api-rates`` (``kit.http``) and for Prometheus (its outcome
    and duration: the guide's external API latency and the price lists' 429s)."""
    record_api_call(api, outcome, retry_after_s)
    record_external_call(api, outcome, time.perf_counter() - started)


def with_retries(attempt: Callable[[], T], policy: RetryPolicy, provider: str,
                 secrets: Iterable[str] = ()) -> T:
    """Call ``attempt`` until it returns, retrying each ``RetryableError`` per ``policy``.

    Raises ``RateLimited`` when the last failure was a rate limit (or the server asks
    for a wait longer than ``policy.max_delay_s``), ``AdapterError`` otherwise.
    """
    secrets = tuple(secrets)
    api = f"{provider}-pricing"

    def counted() -> T:
        started = time.perf_counter()
        try:
            result = attempt()
        except RetryableError as exc:
            _count(api, "rate_limited" if exc.rate_limited else "error", started,
                   exc.retry_after_s)
            raise
        except AdapterError:
            _count(api, "error", started)
            raise
        _count(api, "ok", started)
        return result

    def give_up(state: RetryCallState) -> NoReturn:
        assert state.outcome is not None
        last = state.outcome.exception()
        assert isinstance(last, RetryableError)  # the only failure retried
        if state.attempt_number < policy.max_attempts:  # stopped early: a long Retry-After
            raise RateLimited(
                f"{provider}: {last.message}; asked to wait {last.retry_after_s:g} s, "
                f"more than the {policy.max_delay_s:g} s limit", last.retry_after_s, secrets)
        attempts = f"gave up after {policy.max_attempts} attempt" + (
            "s" if policy.max_attempts > 1 else "")
        if last.rate_limited:
            raise RateLimited(f"{provider}: {last.message} ({attempts})", last.retry_after_s,
                              secrets)
        raise AdapterError(f"{provider}: {last.message} ({attempts})", secrets)

    retrying = policy.retrying(RetryableError, lambda exc: exc.retry_after_s, give_up=give_up)
    return retrying(counted)


def classify_response(response: httpx.Response, provider: str, now: datetime,
                      secrets: Iterable[str] = ()) -> None:
    """Raise ``RetryableError`` for an answer worth another try (``kit.retry``: 408, 429,
    5xx), ``AdapterError`` for another non-2xx one; return for success."""
    status = response.status_code
    host = host_of(str(response.request.url))
    if status == 429:
        raise RetryableError(
            f"rate limited by {host} (HTTP 429)",
            retry_after_s=parse_retry_after(response.headers.get("Retry-After"), now),
            rate_limited=True)
    if retryable_status(status, PRICE_API_RETRYABLE):
        raise RetryableError(
            f"{host} answered HTTP {status}",
            retry_after_s=parse_retry_after(response.headers.get("Retry-After"), now))
    if status >= 400:
        excerpt = one_line(response.text, 200) if response.content else "(empty body)"
        raise AdapterError(f"{provider}: {host} refused the request: HTTP {status}: {excerpt}",
                           secrets)


def get_json(client: httpx.Client, url: str, *, provider: str, policy: RetryPolicy,
             params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
             secrets: Iterable[str] = ()) -> Any:
    """GET ``url`` and decode its JSON body, retrying per ``policy``.

    Raises ``AdapterError`` (one line, secrets masked) when it cannot.
    """
    secrets = tuple(secrets)
    host = host_of(url)

    def attempt() -> Any:
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timed out talking to {host}: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:  # refused, reset, DNS failure, broken protocol
            raise RetryableError(
                f"network unreachable ({host}): {type(exc).__name__}: {exc}") from exc
        classify_response(response, provider, policy.now(), secrets)
        try:
            return response.json()
        except ValueError:
            raise AdapterError(
                f"{provider}: {host} answered HTTP {response.status_code} with a body that is "
                "not JSON", secrets) from None

    return with_retries(attempt, policy, provider, secrets)


def http_client(timeout_s: float) -> httpx.Client:
    """The client every HTTP adapter uses: a timeout on every phase, no redirects (a price
    API that redirects is misconfigured, and a redirect could carry a key elsewhere)."""
    return httpx.Client(timeout=timeout_s, follow_redirects=False,
                        headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
