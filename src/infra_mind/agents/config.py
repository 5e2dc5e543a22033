"""``config/agents.yaml``: which models the agents ask, how, within which limits.

Defaults live in the models below, so a missing file runs the product; the shipped file
spells every default out and is the place to change them. Lookup: an explicit path, then
the ``AGENTS_CONFIG`` setting, then ``$CONFIG_DIR/agents.yaml``, then
``./config/agents.yaml``.

The server's keys are settings (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``); an organization's
own keys come with its runs (``agents.providers``); endpoints from the file or the settings
``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL``. The setting ``LLM_PROVIDER_ORDER`` (a comma
list such as ``openai,anthropic,offline``) overrides ``fallback_order``. The offline writer
is always the last resort, whether listed or not; anything listed after it is never asked.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from infra_mind.agents.narrative import AGENTS
from infra_mind.config import LLMSettings

ProviderName = Literal["openai", "anthropic"]
FallbackName = Literal["openai", "anthropic", "offline"]
#: Agents with their own settings: the graph's agents and the chat assistant.
CONFIGURED_AGENTS = (*AGENTS, "chatbot")


class AgentsConfigError(Exception):
    """The agents configuration cannot be used; one line naming the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderSettings(_Strict):
    #: None: the vendor's public endpoint unless ``<VENDOR>_BASE_URL`` is set.
    base_url: str | None = None
    #: Model asked by agents that do not name one for this provider.
    default_model: str


class ModelPrice(_Strict):
    """USD per million tokens, with where and when the figure was read."""

    model: str
    input_per_1m_usd: float = Field(ge=0)
    output_per_1m_usd: float = Field(ge=0)
    source: str = Field(min_length=1)
    as_of: date


class AgentSettings(_Strict):
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(700, ge=16, le=16_000)
    #: One request to one provider; a stalled provider is retried, then the next is asked.
    timeout_s: float = Field(60.0, gt=0, le=600)
    #: The whole node; sections still unwritten when it passes are written offline.
    node_timeout_s: float = Field(180.0, gt=0, le=3600)
    #: Extra attempts of a node that raised (LangGraph's retry policy); engine errors
    #: such as invalid requirements are not retried.
    node_retries: int = Field(1, ge=0, le=5)
    #: Model per provider; providers not named use their ``default_model``.
    models: dict[ProviderName, str] = Field(default_factory=dict)


class RetrySettings(_Strict):
    max_attempts: int = Field(3, ge=1, le=10)
    base_delay_s: float = Field(0.5, gt=0, le=60)
    max_delay_s: float = Field(20.0, gt=0, le=600)


class BreakerSettings(_Strict):
    failure_threshold: int = Field(5, ge=1, le=100)
    reset_after_s: float = Field(30.0, gt=0, le=3600)


class RunLimits(_Strict):
    """Per assessment run, hard: a call that could pass one is not made, and its section
    is written offline (``writer.RunBudget``)."""

    max_llm_calls: int = Field(60, ge=0)
    max_total_tokens: int = Field(250_000, ge=0)
    max_cost_usd: float = Field(2.0, ge=0)


def _default_providers() -> dict[ProviderName, ProviderSettings]:
    return {"openai": ProviderSettings(default_model="gpt-4.1-mini"),
            "anthropic": ProviderSettings(default_model="claude-haiku-4-5")}


def _default_agents() -> dict[str, AgentSettings]:
    longer = {"cto", "report_writer"}
    return {name: AgentSettings(max_tokens=900 if name in longer else 700)
            for name in CONFIGURED_AGENTS}


class AgentsConfig(_Strict):
    providers: dict[ProviderName, ProviderSettings] = Field(default_factory=_default_providers)
    fallback_order: list[FallbackName] = Field(
        default_factory=lambda: ["openai", "anthropic", "offline"])
    prices: list[ModelPrice] = Field(default_factory=list)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    circuit_breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    limits: RunLimits = Field(default_factory=RunLimits)
    agents: dict[str, AgentSettings] = Field(default_factory=_default_agents)
    #: Completions kept in memory per process, keyed by prompt.
    response_cache_entries: int = Field(256, ge=0, le=100_000)

    @model_validator(mode="after")
    def _known_agents(self) -> AgentsConfig:
        unknown = sorted(set(self.agents) - set(CONFIGURED_AGENTS))
        if unknown:
            raise ValueError(f"unknown agent(s) {', '.join(unknown)}; known: "
                             f"{', '.join(CONFIGURED_AGENTS)}")
        for name in CONFIGURED_AGENTS:
            self.agents.setdefault(name, AgentSettings())
        if len(set(self.fallback_order)) != len(self.fallback_order):
            raise ValueError("fallback_order lists a provider twice")
        return self

    def agent(self, name: str) -> AgentSettings:
        return self.agents[name]

    def model_for(self, agent: str, provider: ProviderName) -> str:
        return self.agents[agent].models.get(provider) or \
            self.providers[provider].default_model

    def token_prices(self) -> dict[str, tuple[float, float]]:
        return {p.model: (p.input_per_1m_usd, p.output_per_1m_usd) for p in self.prices}

    def provider_order(self, override: str = "") -> list[ProviderName]:
        """Providers to try, in order, before the offline writer (``override``, the setting
        ``LLM_PROVIDER_ORDER``, wins over the file)."""
        order: list[str] = list(self.fallback_order)
        raw = override.strip()
        if raw:
            order = [part.strip().lower() for part in raw.split(",") if part.strip()]
            unknown = [p for p in order if p not in ("openai", "anthropic", "offline")]
            if unknown:
                raise AgentsConfigError(
                    f"LLM_PROVIDER_ORDER: unknown provider {unknown[0]!r} "
                    "(use openai, anthropic, offline)")
        providers: list[ProviderName] = []
        for name in order:
            if name == "offline":
                break
            if name not in providers:
                providers.append(name)  # type: ignore[arg-type]
        return providers


def config_path(explicit: Path | None = None,
                settings: LLMSettings | None = None) -> Path | None:
    """The file in force, or None (defaults). ``settings``: the process's, read now, when
    not given."""
    if explicit is not None:
        return explicit
    settings = settings or LLMSettings()
    if settings.agents_config:
        return settings.agents_config
    if settings.config_dir:
        return settings.config_dir / "agents.yaml"
    local = Path("config") / "agents.yaml"
    return local if local.is_file() else None


def load_agents_config(path: Path | None = None,
                       settings: LLMSettings | None = None) -> AgentsConfig:
    """The configuration from ``path`` (see :func:`config_path`), validated."""
    found = config_path(path, settings)
    if found is None:
        return AgentsConfig()
    try:
        data = yaml.safe_load(found.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentsConfigError(f"{found}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise AgentsConfigError(f"{found}:{where} not valid YAML") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AgentsConfigError(f"{found}: expected a mapping at the top level")
    try:
        return AgentsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise AgentsConfigError(f"{found}: {key}: {first['msg']}{more}") from None
