"""Which LLM providers a process uses: from ``config/agents.yaml`` and the environment.

Apart from the runtime (which loads LangGraph) so that checks such as ``infra-mind
health-check`` and ``serve``'s start-up can ask without that import's cost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from infra_mind.agents.config import AgentsConfig, ProviderName
from infra_mind.agents.llm import AnthropicProvider, LLMProvider, OpenAIProvider

_PROVIDERS: dict[str, type[OpenAIProvider] | type[AnthropicProvider]] = {
    "openai": OpenAIProvider, "anthropic": AnthropicProvider}


def configured_providers(config: AgentsConfig, env: Mapping[str, str] | None = None,
                         client: httpx.AsyncClient | None = None
                         ) -> dict[ProviderName, LLMProvider]:
    """The providers to use, in fallback order: those with a key or an explicit endpoint.

    ``client``: one HTTP client shared by the providers (a client per call would build a
    TLS context per call: tens of milliseconds of CPU each)."""
    env = os.environ if env is None else env
    prices = config.token_prices()
    found: dict[ProviderName, LLMProvider] = {}
    for name in config.provider_order(env):
        cls = _PROVIDERS[name]
        key = env.get(cls.KEY_ENV) or None
        base_url = env.get(cls.URL_ENV) or config.providers[name].base_url
        if key or base_url:
            found[name] = cls(api_key=key, base_url=base_url, prices=prices, client=client)
    return found
