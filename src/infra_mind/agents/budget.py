"""A run's limits (``max_llm_calls``, ``max_total_tokens``, ``max_cost_usd``), held hard.

Counting a call after it answered lets every section that asked meanwhile through: eight
sections asking at once under a 3-call limit made 8 calls. So each attempt is reserved
before it is sent, with the most it could spend, and settled with what it did spend after
(``ProviderChain.complete(gate=budget)``); one that could pass a limit is not sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from infra_mind.agents.config import RunLimits
from infra_mind.agents.llm import CallRefused, Completion, Route, TokenPrices, price_tokens
from infra_mind.engine.money import usd

#: Tokens a request may hold beyond the UTF-8 bytes of its text: the chat template's
#: own. A byte-level BPE tokenizer (OpenAI's tiktoken; SentencePiece with byte fallback)
#: never makes more tokens of a text than it has bytes, so bytes plus this bound a call's
#: input tokens from above; the bound takes the same of a vendor whose tokenizer is not
#: published (Anthropic's). A server counting more is settled at what it counted.
TEMPLATE_TOKENS = 128
#: USD that float sums may be off by: a call whose bound is this close to the cost limit
#: still fits (three calls of $0.003 fit a $0.009 limit).
COST_EPSILON_USD = 1e-9


def max_input_tokens(system: str, prompt: str) -> int:
    """The most input tokens a request with this system prompt and prompt can count."""
    return len(system.encode()) + len(prompt.encode()) + TEMPLATE_TOKENS


@dataclass(eq=False)
class Reservation:
    """One attempt's share of the run's limits, held while it is in flight."""

    tokens: int
    cost_usd: float


@dataclass
class RunBudget:
    """The per-run limits, shared by the agents of one run in this process, and held hard.

    Each attempt is reserved before it is sent (:meth:`reserve`: one call, the most tokens
    it may count, its request's ``max_tokens`` included, and their cost at the model's
    price) and refused when that could pass a limit; once it answered or failed,
    :meth:`settle` replaces the bound with its actual usage. A failed attempt still counts
    as a call (it was sent, and ``llm_usage`` counts it); its tokens and cost are released.
    A model with no configured price costs nothing here, as in ``llm_usage``: only the
    call and token limits hold it.

    Seeded with the calls already in the checkpointed state, so a resumed run does not get
    a fresh allowance.
    """

    limits: RunLimits
    #: The models' prices (``AgentsConfig.token_prices``), for the cost bound of a call.
    prices: TokenPrices = field(default_factory=dict)
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    _open: set[Reservation] = field(default_factory=set)
    # reserve and settle never await, so they are atomic on the event loop already; the
    # lock keeps them so if the budget is ever shared with a thread
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_records(cls, limits: RunLimits, records: list[dict[str, Any]],
                     prices: TokenPrices | None = None) -> RunBudget:
        budget = cls(limits, dict(prices or {}))
        for record in records:
            budget.add(record)
        return budget

    def add(self, record: dict[str, Any]) -> None:
        """Count a call record of the checkpointed state (calls made before a resume)."""
        if record.get("status") in ("cached", "offline", "skipped"):
            return
        with self._lock:
            self.calls += 1
            self.tokens += int(record.get("input_tokens", 0)) + \
                int(record.get("output_tokens", 0))
            self.cost_usd += float(record.get("cost_usd", 0.0))

    def spent(self) -> str | None:
        """Which limit is reached (calls in flight count), or None."""
        if self.calls >= self.limits.max_llm_calls:
            return f"run limit of {self.limits.max_llm_calls} LLM calls reached"
        if self.tokens >= self.limits.max_total_tokens:
            return f"run limit of {self.limits.max_total_tokens} tokens reached"
        if self.cost_usd >= self.limits.max_cost_usd:
            return f"run limit of {usd(self.limits.max_cost_usd)} reached"
        return None

    def reserve(self, route: Route, system: str, prompt: str, max_tokens: int
                ) -> Reservation:
        """Hold one call and its bound, or raise ``CallRefused`` (the call is not made)."""
        input_bound = max_input_tokens(system, prompt)
        cost_bound, _ = price_tokens(self.prices, route.model, input_bound, max_tokens)
        ticket = Reservation(tokens=input_bound + max_tokens, cost_usd=cost_bound)
        with self._lock:
            limit = self.spent()
            if limit is None and self.tokens + self._held_tokens() + ticket.tokens > \
                    self.limits.max_total_tokens:
                limit = (f"run limit of {self.limits.max_total_tokens} tokens reached "
                         "(the next call could pass it)")
            if limit is None and self.cost_usd + self._held_cost_usd() + ticket.cost_usd > \
                    self.limits.max_cost_usd + COST_EPSILON_USD:
                limit = (f"run limit of {usd(self.limits.max_cost_usd)} reached "
                         "(the next call could pass it)")
            if limit is not None:
                raise CallRefused(limit)
            self.calls += 1
            self._open.add(ticket)
            return ticket

    def settle(self, ticket: object, completion: Completion | None) -> None:
        """Release ``ticket``'s bound; count the answer's tokens and cost, if it answered."""
        with self._lock:
            self._open.discard(ticket)  # type: ignore[arg-type]
            if completion is not None:
                self.tokens += completion.input_tokens + completion.output_tokens
                self.cost_usd += completion.cost_usd

    def _held_tokens(self) -> int:
        return sum(t.tokens for t in self._open)

    def _held_cost_usd(self) -> float:
        return sum(t.cost_usd for t in self._open)
