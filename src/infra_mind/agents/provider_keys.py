"""Which LLM providers a process would ask, and with whose keys: settings, the agents'
configuration and an organization's stored keys, without the providers' HTTP clients.

An API process asks at start-up whether any provider is configured (``configured_names``)
and reads an organization's keys for a chat question (``organization_keys``); the clients
(``agents.providers``, ``agents.llm``: httpx) load when a model is first called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from infra_mind.agents.config import AgentsConfig, ProviderName
from infra_mind.config import LLMSettings
from infra_mind.kit.crypto import CryptoError

if TYPE_CHECKING:
    from infra_mind.kit.crypto import Keyring

log = logging.getLogger("infra_mind.agents")

#: The organization secret (``services.organizations``) holding each provider's key.
PROVIDER_SECRETS: dict[ProviderName, str] = {"openai": "openai_api_key",
                                             "anthropic": "anthropic_api_key"}


def server_keys(settings: LLMSettings | None = None) -> dict[ProviderName, str]:
    """The server's own key per provider, from ``settings`` (a ``Settings``; None: the
    process's, read now through ``LLMSettings`` alone, so a process with no other
    settings, ``infra-mind advise``, needs none of them)."""
    if settings is None:
        settings = LLMSettings()
    keys: dict[ProviderName, str] = {}
    for name, secret in (("openai", settings.openai_api_key),
                         ("anthropic", settings.anthropic_api_key)):
        if secret is not None and secret.get_secret_value().strip():
            keys[name] = secret.get_secret_value()
    return keys


def endpoint_of(config: AgentsConfig, name: ProviderName,
                settings: LLMSettings | None = None) -> str | None:
    """Where ``name`` is asked: the setting ``<VENDOR>_BASE_URL``, else the file's
    ``base_url`` (None: the vendor's public endpoint). ``settings``: the process's, read
    now, when not given."""
    settings = settings or LLMSettings()
    override = {"openai": settings.openai_base_url,
                "anthropic": settings.anthropic_base_url}[name]
    return override or config.providers[name].base_url


def configured_names(config: AgentsConfig, settings: LLMSettings | None = None, *,
                     keys: Mapping[ProviderName, str] | None = None) -> list[ProviderName]:
    """The server's providers, in fallback order: those with a key or an explicit endpoint
    (``agents.providers.configured_providers`` builds these). ``settings``: the process's,
    read now, when not given; ``keys``: the server's key per provider, None: those of
    ``settings`` (``server_keys``). An unknown ``LLM_PROVIDER_ORDER`` raises
    ``AgentsConfigError``."""
    settings = settings or LLMSettings()
    if keys is None:
        keys = server_keys(settings)
    return [name for name in config.provider_order(settings.llm_provider_order)
            if keys.get(name) or endpoint_of(config, name, settings)]


class OrganizationKeys:
    """An organization's own keys for one run or one chat question, by provider.

    Held in memory by the process making the calls, for as long as they take: never
    logged, never put in a checkpoint, a result or ``llm_usage``; it prints as the
    organization and the providers it has keys for, never the keys."""

    def __init__(self, organization_id: str, keys: Mapping[ProviderName, str]) -> None:
        self.organization_id = organization_id
        self._keys = {name: key for name, key in keys.items() if key}

    def get(self, name: ProviderName) -> str | None:
        return self._keys.get(name)

    def __iter__(self) -> Iterator[ProviderName]:
        return iter(self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __repr__(self) -> str:
        return (f"OrganizationKeys(organization_id={self.organization_id!r}, "
                f"providers={sorted(self._keys)!r})")

    __str__ = __repr__


def organization_keys(organization_id: str, ciphertexts: Mapping[str, str],
                      keyring: Keyring) -> OrganizationKeys:
    """The organization's keys from its stored secrets (``{secret name: ciphertext}``).

    A secret no key of ``ENCRYPTION_KEY`` decrypts (its key was dropped too early) is left
    out with a warning naming the organization and the secret, never a value: the server's
    key is asked next, as when the organization has none."""
    keys: dict[ProviderName, str] = {}
    for name, secret in PROVIDER_SECRETS.items():
        ciphertext = ciphertexts.get(secret)
        if ciphertext is None:
            continue
        try:
            keys[name] = keyring.decrypt(ciphertext)
        except CryptoError:
            log.warning("organization %s: its %s cannot be decrypted with the keys of "
                        "ENCRYPTION_KEY; the server's key is used instead", organization_id,
                        secret)
    return OrganizationKeys(organization_id, keys)
