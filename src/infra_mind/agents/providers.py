"""Which LLM providers a process uses, with whose keys: from ``config/agents.yaml``, the
settings and an organization's own keys.

The server's keys are settings (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``: ``server_keys``);
endpoints come from the file or the settings ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL``.
A run of an organization's assessment (or a chat question about one) may also carry that
organization's own keys (``organization_keys``), stored encrypted and decrypted only by the
process that makes the calls: then, for each provider in the fallback order, the
organization's key is tried first, the server's next, then the next provider, and the
offline writer last.

Apart from the runtime (which loads LangGraph) so that checks such as ``infra-mind
health-check`` can ask without that import's cost. Which providers are configured, and
the keys, are decided in ``agents.provider_keys`` (no httpx), which an API process asks at
start-up; this module builds the providers' clients from them.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from infra_mind.agents.config import AgentsConfig, ProviderName
from infra_mind.agents.llm import AnthropicProvider, LLMProvider, OpenAIProvider
from infra_mind.agents.provider_keys import OrganizationKeys as OrganizationKeys
from infra_mind.agents.provider_keys import configured_names, endpoint_of, server_keys
from infra_mind.config import LLMSettings

_PROVIDERS: dict[str, type[OpenAIProvider] | type[AnthropicProvider]] = {
    "openai": OpenAIProvider, "anthropic": AnthropicProvider}


def keyed_provider(config: AgentsConfig, name: ProviderName, *, api_key: str | None,
                   settings: LLMSettings | None = None,
                   client: httpx.AsyncClient | None = None) -> LLMProvider:
    """One provider sending ``api_key`` (which it never shows) to its endpoint."""
    return _PROVIDERS[name](api_key=api_key, base_url=endpoint_of(config, name, settings),
                            prices=config.token_prices(), client=client)


def configured_providers(config: AgentsConfig, settings: LLMSettings | None = None,
                         client: httpx.AsyncClient | None = None, *,
                         keys: Mapping[ProviderName, str] | None = None
                         ) -> dict[ProviderName, LLMProvider]:
    """The server's providers, in fallback order: those with a key or an explicit endpoint
    (``provider_keys.configured_names``).

    ``settings``: the process's, read now, when not given (a probe or a test gives its
    own, ``LLMSettings.from_env``). ``keys``: the server's key per provider; None: those
    of ``settings`` (``server_keys``). ``client``: one HTTP client shared by the providers
    (a client per call would build a TLS context per call: tens of milliseconds of CPU
    each)."""
    settings = settings or LLMSettings()
    if keys is None:
        keys = server_keys(settings)
    return {name: keyed_provider(config, name, api_key=keys.get(name) or None,
                                 settings=settings, client=client)
            for name in configured_names(config, settings, keys=keys)}
