"""What every live price adapter shares: the ``PriceSource`` protocol, its errors, and
one retry policy for every call to a price API.

A price API fails in three ways that are worth another try: it says "too many
requests" (HTTP 429, AWS's ``ThrottlingException``), it fails on its side
(HTTP 5xx), or the network does (a timeout, a refused or dropped connection).
``with_retries`` retries those with exponential backoff and full jitter
(delay = random(0, min(max_delay, base * 2**n)), the variant that spreads
clients best; see the AWS Architecture Blog, "Exponential Backoff And
Jitter"), and waits exactly as long as a ``Retry-After`` header asks. Anything
else (a 4xx, a body that is not JSON) fails at once: asking again would get
the same answer.

Errors are one line, name the provider and the host, and never carry a secret:
``AdapterError`` masks ``key=``-style query parameters and any secret value the
adapter names.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

import httpx

from infra_mind.catalog.model import PriceRow, Provider
from infra_mind.kit.http import parse_retry_after, record_api_call
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. ``sleep``, ``jitter`` and ``now`` are injectable
    so tests run without waiting and with known delays."""

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    #: A number in [0, 1): the fraction of the backoff window to wait (full jitter).
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
    last: RetryableError | None = None
    for n in range(1, policy.max_attempts + 1):
        started = time.perf_counter()
        try:
            result = attempt()
        except RetryableError as exc:
            last = exc
            _count(api, "rate_limited" if exc.rate_limited else "error", started,
                   exc.retry_after_s)
        except AdapterError:
            _count(api, "error", started)
            raise
        else:
            _count(api, "ok", started)
            return result
        if n == policy.max_attempts:
            break
        if last.retry_after_s is not None:
            if last.retry_after_s > policy.max_delay_s:
                # Waiting less than asked would only earn another refusal.
                raise RateLimited(
                    f"{provider}: {last.message}; asked to wait {last.retry_after_s:g} s, "
                    f"more than the {policy.max_delay_s:g} s limit", last.retry_after_s, secrets)
            delay = last.retry_after_s
        else:
            delay = policy.backoff_s(n)
        policy.sleep(delay)
    assert last is not None
    attempts = f"gave up after {policy.max_attempts} attempt" + (
        "s" if policy.max_attempts > 1 else "")
    if last.rate_limited:
        raise RateLimited(f"{provider}: {last.message} ({attempts})", last.retry_after_s, secrets)
    raise AdapterError(f"{provider}: {last.message} ({attempts})", secrets)


def classify_response(response: httpx.Response, provider: str, now: datetime,
                      secrets: Iterable[str] = ()) -> None:
    """Raise ``RetryableError`` for a 408/429/5xx answer, ``AdapterError`` for another
    non-2xx one; return for success."""
    status = response.status_code
    host = host_of(str(response.request.url))
    if status == 429:
        raise RetryableError(
            f"rate limited by {host} (HTTP 429)",
            retry_after_s=parse_retry_after(response.headers.get("Retry-After"), now),
            rate_limited=True)
    if status >= 500 or status == 408:
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
