"""``config/production.yaml`` and ``config/integrations.yaml``: their schemas and loaders.

``production.yaml`` holds what an operator tunes per deployment. Each key is a ``Settings``
field of the same name (``db_pool_size`` is ``DB_POOL_SIZE``), with its type, default and
bounds taken from ``Settings`` itself, so the file and the environment can never disagree
on what a value may be. Precedence: environment > ``$CONFIG_DIR/production.yaml`` >
defaults. Without ``CONFIG_DIR`` the file is not read, so a process started in a checkout
never picks up ``./config`` by accident; with it, the file must exist (a mistyped
directory fails at start instead of silently running on defaults).

``integrations.yaml`` describes the outside services: per cloud price API (enabled, base
URL, timeout, request budget per minute, retry attempts), the monitoring endpoints and the
OTLP traces endpoint. ``config/agents.yaml`` has its own schema
(:class:`infra_mind.agents.config.AgentsConfig`).

Secrets never live in these files: they come from the environment only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from infra_mind.config import HttpUrlText, Settings, SettingsError

PRODUCTION_FILE = "production.yaml"
AGENTS_FILE = "agents.yaml"
INTEGRATIONS_FILE = "integrations.yaml"
CONFIG_FILES = (PRODUCTION_FILE, AGENTS_FILE, INTEGRATIONS_FILE)


class ConfigFileError(SettingsError):
    """A configuration file that cannot be used: ``problems`` holds one line each, naming
    the file and the key; the message is the first (and how many more there are)."""

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)
        self.problems = problems


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file (empty for an empty file); ``ConfigFileError`` else."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError([f"{path}: cannot read ({exc.strerror or exc})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        raise ConfigFileError(
            [f"{path}:{where} not valid YAML" + (f" ({problem})" if problem else "")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError([f"{path}: expected a mapping of keys at the top level"])
    return data


def validation_problems(path: Path | str, exc: ValidationError) -> list[str]:
    """One line per error: ``file: key.path: message`` (an unknown key says so)."""
    from infra_mind.engine.load import field_path

    problems = []
    for error in exc.errors():
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{path}: {field_path(tuple(error['loc']))}: {message}")
    return problems


def validate_file(path: Path, model: type[BaseModel]) -> BaseModel:
    """``path`` read and validated against ``model``; ``ConfigFileError`` with every problem."""
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigFileError(validation_problems(path, exc)) from None


# --- production.yaml ------------------------------------------------------------------------

#: The Settings an operator tunes in production.yaml (deployment URLs and secrets stay in
#: the environment).
PRODUCTION_KEYS = (
    "server_host", "server_port", "server_workers",
    "db_pool_size", "db_max_overflow",
    "job_timeout_s", "dedupe_window_s",
    "write_rate_per_minute", "login_attempts", "login_window_s", "max_body_bytes",
    "cors_origins", "log_level",
    "retention_days", "backup_dir", "backup_keep",
    "result_cache_ttl_s",
)


def _setting(name: str) -> tuple[Any, FieldInfo]:
    info = Settings.model_fields[name]
    return info.annotation, info


#: production.yaml's schema: the fields of ``Settings`` it may set, unknown keys refused.
ProductionConfig: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ProductionConfig", __config__=ConfigDict(extra="forbid"),
    **{name: _setting(name) for name in PRODUCTION_KEYS})


def load_production_config(path: Path) -> BaseModel:
    """``production.yaml`` validated; ``ConfigFileError`` naming the file and keys."""
    return validate_file(path, ProductionConfig)


class ProductionYamlSource(PydanticBaseSettingsSource):
    """The settings source for ``$CONFIG_DIR/production.yaml``: below the environment,
    above the defaults. ``CONFIG_DIR`` comes from the sources above it (arguments, then
    the environment)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        config_dir = self.current_state.get("config_dir")
        if not config_dir:
            return {}
        config = load_production_config(Path(config_dir) / PRODUCTION_FILE)
        return config.model_dump(exclude_unset=True)


# --- integrations.yaml ----------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceApi(_Strict):
    """One cloud's price list API, as ``infra-mind catalog refresh`` calls it."""

    enabled: bool = True
    base_url: HttpUrlText
    #: One request, connect to last byte.
    timeout_s: float = Field(30.0, gt=0, le=600)
    #: Our own budget, not the vendor's quota; ``check-api-rates`` compares against it.
    max_requests_per_minute: int = Field(60, ge=1, le=100_000)
    #: Attempts per request (the first included) on 429, 5xx and timeouts.
    retry_attempts: int = Field(5, ge=1, le=20)


def _default_api(provider: str) -> PriceApi:
    """The adapter's own public endpoint (imported here: the AWS adapter loads boto3, and
    every ``Settings()`` imports this module)."""
    if provider == "aws":
        from infra_mind.catalog.adapters.aws import DEFAULT_HOST

        return PriceApi(base_url=f"https://{DEFAULT_HOST}")
    if provider == "azure":
        from infra_mind.catalog.adapters.azure import DEFAULT_URL as AZURE_URL

        return PriceApi(base_url=AZURE_URL)
    from infra_mind.catalog.adapters.gcp import DEFAULT_URL as GCP_URL

    return PriceApi(base_url=GCP_URL)


class PriceApis(_Strict):
    aws: PriceApi = Field(default_factory=lambda: _default_api("aws"))
    azure: PriceApi = Field(default_factory=lambda: _default_api("azure"))
    gcp: PriceApi = Field(default_factory=lambda: _default_api("gcp"))


class Monitoring(_Strict):
    #: None: ``PROMETHEUS_ENDPOINT`` / ``GRAFANA_ENDPOINT`` if set, else none.
    prometheus_endpoint: HttpUrlText | None = None
    grafana_endpoint: HttpUrlText | None = None


class Tracing(_Strict):
    #: OTLP/HTTP traces endpoint (``.../v1/traces``); None: no traces exported.
    otlp_traces_endpoint: HttpUrlText | None = None


class IntegrationsConfig(_Strict):
    price_apis: PriceApis = Field(default_factory=PriceApis)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    tracing: Tracing = Field(default_factory=Tracing)


def integrations_path(env: Mapping[str, str] | None = None) -> Path | None:
    """``$CONFIG_DIR/integrations.yaml``, or None (defaults) without ``CONFIG_DIR``."""
    env = os.environ if env is None else env
    return Path(env["CONFIG_DIR"]) / INTEGRATIONS_FILE if env.get("CONFIG_DIR") else None


def load_integrations_config(path: Path | None = None,
                             env: Mapping[str, str] | None = None) -> IntegrationsConfig:
    """``path`` (default :func:`integrations_path`) validated, or the defaults."""
    found = path or integrations_path(env)
    if found is None:
        return IntegrationsConfig()
    return validate_file(found, IntegrationsConfig)  # type: ignore[return-value]
