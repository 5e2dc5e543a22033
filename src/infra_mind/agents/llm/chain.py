"""Try providers in order, with retries, a circuit breaker each, a response cache and usage.

The chain holds no offline fallback: the caller decides what to do with
:class:`AllProvidersFailed`. A caller that must bound what calls spend (a run's limits)
passes a :class:`CallGate`: every attempt is reserved with it before it is sent and
settled after, and a refused reservation stops the chain (:class:`CallRefused`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from infra_mind.agents.llm.base import (
    CircuitBreaker,
    Clock,
    Completion,
    LLMError,
    LLMProvider,
    RetryableLLMError,
)
from infra_mind.kit.http import parse_retry_after
from infra_mind.kit.retry import RetryPolicy
from infra_mind.observability.tracing import end_llm_span, start_llm_span

#: The chain's retries when none are given: ``agents.yaml``'s defaults (``RetrySettings``).
DEFAULT_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=20.0)


class AllProvidersFailed(LLMError):
    """Every provider failed or was skipped; ``failures`` holds one line per provider."""

    def __init__(self, failures: Sequence[str]) -> None:
        self.failures = list(failures)
        Exception.__init__(self, "all LLM providers failed:\n" + "\n".join(self.failures))
        self.message = str(self)


class CallRefused(LLMError):
    """A :class:`CallGate` refused the next attempt (a run limit): nothing was sent, and no
    later provider is asked either."""


#: Whose key a route's provider sends: the run's organization's own, or the server's.
KeySource = Literal["organization", "server"]


@dataclass(frozen=True)
class Route:
    """A provider and the model to ask it for.

    ``breaker`` names the route's circuit breaker (default: the provider's name). A route
    sending an organization's own key has a breaker of its own, so a refused or rate-limited
    key trips that organization's route only, never the server's."""

    provider: LLMProvider
    model: str
    key_source: KeySource = "server"
    breaker: str = ""

    @property
    def breaker_key(self) -> str:
        return self.breaker or self.provider.name

    @property
    def label(self) -> str:
        """``provider/model``, with `` (organization key)`` for an organization's route."""
        own = " (organization key)" if self.key_source == "organization" else ""
        return f"{self.provider.name}/{self.model}{own}"


@dataclass(frozen=True)
class Attempt:
    """One call to one provider, as the chain saw it (for per-call accounting and metrics).

    ``status``: ok | retryable_error | error | skipped (circuit open, nothing sent).
    """

    provider: str
    model: str
    status: str
    completion: Completion | None = None
    error: str = ""
    key_source: KeySource = "server"


AttemptListener = Callable[[Attempt], None]


class CallGate(Protocol):
    """Bounds what a chain's attempts may spend (``writer.RunBudget`` for a run's limits).

    ``reserve`` is called before each attempt is sent, with everything that bounds its
    cost; it returns a ticket, or raises :class:`CallRefused` and the attempt is not made.
    ``settle`` is called exactly once per ticket: with the completion when the attempt
    answered, with None when it failed or was cancelled."""

    def reserve(self, route: Route, system: str, prompt: str, max_tokens: int) -> object: ...

    def settle(self, ticket: object, completion: Completion | None) -> None: ...


@dataclass
class ProviderUsage:
    """Running totals for one provider (cache hits are not requests)."""

    requests: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class ResponseCache:
    """Bounded in-memory LRU of completions, keyed independently of provider and model."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Completion] = OrderedDict()

    @staticmethod
    def key(system: str, prompt: str, *, max_tokens: int, temperature: float) -> str:
        payload = json.dumps(
            {
                "system": system,
                "prompt": prompt,
                "max_tokens": max_tokens,
                "temperature": temperature,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> Completion | None:
        completion = self._entries.get(key)
        if completion is not None:
            self._entries.move_to_end(key)
        return completion

    def put(self, key: str, completion: Completion) -> None:
        self._entries[key] = completion
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class ProviderChain:
    """Ask each route in turn until one answers.

    Per provider: retryable failures are retried under ``retry`` (a ``Retry-After`` longer
    than its ``max_delay_s`` moves on at once); every failed attempt counts toward that
    provider's circuit breaker, and an open breaker skips it or stops its retries.
    """

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        breakers: dict[str, CircuitBreaker] | None = None,
        retry: RetryPolicy | None = None,
        cache: ResponseCache | None = None,
        cache_scope: str = "",
        clock: Clock = time.monotonic,
    ) -> None:
        if not routes:
            raise ValueError("a provider chain needs at least one route")
        names = [(route.provider.name, route.key_source) for route in routes]
        if len(set(names)) != len(names):
            raise ValueError(f"a provider appears twice with the same key: {names}")
        self.routes = list(routes)
        self.retry = retry or DEFAULT_RETRY
        self.cache = cache
        #: Prefixed to every cache key: answers are shared within a scope only (the
        #: runtime scopes them by organization).
        self.cache_scope = cache_scope
        self.breakers = dict(breakers or {})
        for route in routes:
            self.breakers.setdefault(route.breaker_key, CircuitBreaker(clock=clock))
        self._usage = {route.provider.name: ProviderUsage() for route in routes}
        self.cache_hits = 0

    def usage(self) -> dict[str, ProviderUsage]:
        """A copy of the running totals per provider."""
        return {name: replace(totals) for name, totals in self._usage.items()}

    async def complete(
        self,
        system: str,
        prompt: str,
        *,
        max_tokens: int = 1024,
        temperature: float = 0.2,
        timeout_s: float = 60.0,
        on_attempt: AttemptListener | None = None,
        gate: CallGate | None = None,
    ) -> Completion:
        """The first successful completion; a cached one is returned with ``cached=True``.

        ``on_attempt`` hears of every attempt (cache hits are not attempts). ``gate``
        reserves each attempt before it is sent; a refusal raises :class:`CallRefused`
        at once, whatever providers are left."""
        key = self.cache_scope + ResponseCache.key(system, prompt, max_tokens=max_tokens,
                                                   temperature=temperature)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return replace(hit, cached=True, latency_s=0.0)

        call = _Call(system, prompt, max_tokens, temperature, timeout_s,
                     on_attempt or _ignore, gate)
        failures: list[str] = []
        for route in self.routes:
            try:
                completion = await self._try_route(route, call)
            except CallRefused:
                raise
            except LLMError as exc:
                failures.append(exc.message)
                continue
            if self.cache is not None:
                self.cache.put(key, completion)
            return completion
        raise AllProvidersFailed(failures)

    async def _try_route(self, route: Route, call: _Call) -> Completion:
        """The route's provider, retried per ``self.retry`` while its breaker allows."""
        breaker = self.breakers[route.breaker_key]
        numbers = itertools.count(1)

        async def attempt() -> Completion:
            return await self._attempt(route, next(numbers), call)

        def retry_after_s(exc: RetryableLLMError) -> float | None:
            return parse_retry_after(exc.retry_after, self.retry.now())

        retrying = self.retry.async_retrying(RetryableLLMError, retry_after_s,
                                             stop_also=lambda: not breaker.allow())
        completion: Completion = await retrying(attempt)
        return completion

    async def _attempt(self, route: Route, number: int, call: _Call) -> Completion:
        """One call to the route's provider (``number`` counts from 1), with its breaker,
        gate, span, usage and listener."""
        provider = route.provider
        source = route.key_source
        breaker = self.breakers[route.breaker_key]
        totals = self._usage[provider.name]
        on_attempt, gate = call.on_attempt, call.gate
        if not breaker.allow():
            on_attempt(Attempt(provider.name, route.model, "skipped",
                               error="circuit open", key_source=source))
            raise LLMError(f"{provider.name}: skipped, circuit open")
        # reserved before it is sent, so concurrent attempts never overrun a limit
        ticket = gate.reserve(route, call.system, call.prompt, call.max_tokens) if gate else None
        totals.requests += 1
        span = start_llm_span(provider.name, route.model, number)
        try:
            completion = await provider.complete(
                call.system,
                call.prompt,
                model=route.model,
                max_tokens=call.max_tokens,
                temperature=call.temperature,
                timeout_s=call.timeout_s,
            )
        except LLMError as exc:  # whether it is tried again is for ``_try_route`` to say
            status = "retryable_error" if isinstance(exc, RetryableLLMError) else "error"
            _settle(gate, ticket, None)
            end_llm_span(span, status, exc)
            totals.failures += 1
            breaker.record_failure()
            on_attempt(Attempt(provider.name, route.model, status, error=exc.message,
                               key_source=source))
            raise
        except BaseException as exc:  # cancelled (the agent's time limit), or a bug
            _settle(gate, ticket, None)
            end_llm_span(span, "error", exc)
            raise
        _settle(gate, ticket, completion)
        end_llm_span(span, "ok", model=completion.model,
                     input_tokens=completion.input_tokens,
                     output_tokens=completion.output_tokens, cost_usd=completion.cost_usd)
        breaker.record_success()
        totals.input_tokens += completion.input_tokens
        totals.output_tokens += completion.output_tokens
        totals.cost_usd += completion.cost_usd
        on_attempt(Attempt(provider.name, route.model, "ok", completion=completion,
                           key_source=source))
        return completion


@dataclass(frozen=True)
class _Call:
    """One ``complete`` call's question and limits, the same for every route and attempt."""

    system: str
    prompt: str
    max_tokens: int
    temperature: float
    timeout_s: float
    on_attempt: AttemptListener
    gate: CallGate | None


def _settle(gate: CallGate | None, ticket: object, completion: Completion | None) -> None:
    if gate is not None:
        gate.settle(ticket, completion)


def _ignore(attempt: Attempt) -> None:
    return None
