"""LLM providers over plain HTTP, and the chain that tries them in order."""

from infra_mind.agents.llm.anthropic import AnthropicProvider
from infra_mind.agents.llm.base import (
    CircuitBreaker,
    Completion,
    LLMError,
    LLMProvider,
    RetryableLLMError,
    TokenPrices,
    price_tokens,
)
from infra_mind.agents.llm.chain import (
    AllProvidersFailed,
    Attempt,
    CallGate,
    CallRefused,
    KeySource,
    ProviderChain,
    ProviderUsage,
    ResponseCache,
    Route,
)
from infra_mind.agents.llm.openai import OpenAIProvider

__all__ = [
    "AllProvidersFailed",
    "AnthropicProvider",
    "Attempt",
    "CallGate",
    "CallRefused",
    "CircuitBreaker",
    "Completion",
    "KeySource",
    "LLMError",
    "LLMProvider",
    "OpenAIProvider",
    "ProviderChain",
    "ProviderUsage",
    "ResponseCache",
    "RetryableLLMError",
    "Route",
    "TokenPrices",
    "price_tokens",
]
