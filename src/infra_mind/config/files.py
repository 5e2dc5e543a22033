"""The configuration files: reading and validating them, and ``production.yaml`` as a settings
source.

``production.yaml`` holds what an operator tunes per deployment. Each key is a ``Settings``
field of the same name (``db_pool_size`` is ``DB_POOL_SIZE``), with its type, default and
bounds taken from ``Settings`` itself (:func:`production_schema`), so the file and the
environment can never disagree on what a value may be. Precedence: environment >
``$CONFIG_DIR/production.yaml`` > defaults. Without ``CONFIG_DIR`` the file is not read,
so a process started in a checkout never picks up ``./config`` by accident; with it, the
file must exist (a mistyped directory fails at start instead of silently running on
defaults).

``integrations.yaml`` has its schema in :mod:`infra_mind.config.integrations`,
``config/agents.yaml`` in :mod:`infra_mind.agents.config`. Secrets never live in these
files: they come from the environment only.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from infra_mind.config.values import SettingsError

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


def key_path(loc: tuple[Any, ...]) -> str:
    """Where in a file a problem is, as its author writes it: ``('prices', 0, 'as_of')`` ->
    ``prices[0].as_of``; the names pydantic gives its validators are left out."""
    parts = [f"[{item}]" if isinstance(item, int) else f".{item}" for item in loc
             if not (isinstance(item, str) and item.startswith(("function-", "literal[")))]
    return "".join(parts).removeprefix(".") or "(file)"


def validation_problems(path: Path | str, exc: ValidationError) -> list[str]:
    """One line per error: ``file: key.path: message`` (an unknown key says so)."""
    problems = []
    for error in exc.errors():
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{path}: {key_path(tuple(error['loc']))}: {message}")
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
    "server_host", "server_port", "server_workers", "server_keep_alive_s",
    "db_pool_size", "db_max_overflow",
    "job_timeout_s", "dedupe_window_s",
    "write_rate_per_minute", "login_attempts", "login_window_s", "max_body_bytes",
    "cors_origins", "log_level",
    "retention_days", "backup_dir", "backup_keep",
    "result_cache_ttl_s", "cache_near_ttl_s",
)


@cache
def production_schema(settings_cls: type[BaseSettings]) -> type[BaseModel]:
    """production.yaml's schema: the fields of ``settings_cls`` it may set (each with its
    type, default and bounds), unknown keys refused. Made once per settings class."""

    def field(name: str) -> tuple[Any, FieldInfo]:
        info = settings_cls.model_fields[name]
        return info.annotation, info

    schema: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "ProductionConfig", __config__=ConfigDict(extra="forbid"),
        **{name: field(name) for name in PRODUCTION_KEYS})
    return schema


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
        config = validate_file(Path(config_dir) / PRODUCTION_FILE,
                               production_schema(self.settings_cls))
        return config.model_dump(exclude_unset=True)
