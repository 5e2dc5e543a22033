"""``infra-mind validate-config``: the three configuration files and the environment, every
problem found, one line each naming the file (or ``environment``) and the key.

Which directory: ``--config-dir``, else the ``CONFIG_DIR`` setting, else ``./config``. A directory
named (by the option or ``CONFIG_DIR``) must hold all three files, since that is where the
processes will look; under the implicit ``./config`` a missing file is no problem, its
defaults apply (and without ``CONFIG_DIR`` the processes read only ``agents.yaml`` there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from infra_mind.agents.config import AgentsConfig, AgentsConfigError
from infra_mind.config import (
    CatalogSettings,
    LLMSettings,
    QueueSettings,
    Settings,
    SettingsError,
    SettingsPart,
    TracingSettings,
    http_url,
)
from infra_mind.config.files import (
    AGENTS_FILE,
    INTEGRATIONS_FILE,
    PRODUCTION_FILE,
    ConfigFileError,
    validate_file,
)
from infra_mind.config.integrations import IntegrationsConfig
from infra_mind.config.settings import ProductionConfig

ENVIRONMENT = "environment"
#: Endpoint settings that must be http(s) URLs (kept as text by the settings: a bad one is
#: reported here, and by the first call that uses it, not refused at start).
URL_SETTINGS = ("openai_base_url", "anthropic_base_url", "aws_pricing_endpoint_url",
                "azure_prices_url", "gcp_billing_url", "otel_exporter_otlp_endpoint")
#: Credentials that only work together: boto3's, not settings of ours (boto3 reads them
#: itself, for the AWS price list and off-site backups), so read from the environment.
CREDENTIAL_SETS = (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),)


@dataclass
class Validation:
    directory: Path
    #: Named by --config-dir or CONFIG_DIR (else the implicit ./config).
    named: bool
    #: Files read and valid; files absent whose defaults apply; one line per problem.
    valid: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"configuration valid: {', '.join(self.valid) or 'no files'} and the environment"
        if self.defaults:
            text += f" (absent, defaults apply: {', '.join(self.defaults)})"
        unread = [f for f in self.valid if not f.endswith(AGENTS_FILE)]
        if not self.named and unread:
            text += (f"\nnote: CONFIG_DIR is not set, so the processes read only {AGENTS_FILE} "
                     f"here; set CONFIG_DIR={self.directory} for {', '.join(unread)}")
        return text


def validate_config(config_dir: Path | None = None) -> Validation:
    """Check ``config_dir`` (see the module) and the environment; never raises."""
    configured = SettingsPart().config_dir  # CONFIG_DIR alone: Settings may not load
    named = config_dir is not None or configured is not None
    directory = config_dir or configured or Path("config")
    result = Validation(directory, named)
    schemas: tuple[tuple[str, type[BaseModel]], ...] = (
        (PRODUCTION_FILE, ProductionConfig), (AGENTS_FILE, AgentsConfig),
        (INTEGRATIONS_FILE, IntegrationsConfig))
    production_ok = False
    for name, schema in schemas:
        path = directory / name
        if not path.is_file():
            if named:
                result.problems.append(f"{path}: missing (the processes given this "
                                       "directory will look for it)")
            else:
                result.defaults.append(str(path))
            continue
        try:
            validate_file(path, schema)
        except ConfigFileError as exc:
            result.problems.extend(exc.problems)
            continue
        result.valid.append(str(path))
        production_ok = production_ok or name == PRODUCTION_FILE
    result.problems.extend(settings_problems(directory if production_ok else None))
    result.problems.extend(environment_problems())
    return result


def settings_problems(config_dir: Path | None) -> list[str]:
    """Every error of ``Settings`` from the environment (over ``config_dir``'s
    production.yaml, already found valid), named by variable."""
    try:
        Settings(config_dir=config_dir)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            name = ".".join(str(part) for part in error["loc"]).upper()
            if name and not message.startswith(name):
                message = f"{name}: {message}"
            problems.append(f"{ENVIRONMENT}: {message}")
        return problems
    except SettingsError as exc:
        return [f"{ENVIRONMENT}: {exc}"]
    return []


def environment_problems() -> list[str]:
    """What ``Settings`` does not check: provider order, endpoint URLs, URL schemes and
    credentials that only work together. Values are never echoed. The parts of the
    settings are loaded alone: they load whatever else is wrong."""
    llm, queue = LLMSettings(), QueueSettings()
    values = {**CatalogSettings().model_dump(), **TracingSettings().model_dump(),
              **llm.model_dump(), **queue.model_dump()}
    problems: list[str] = []

    def check(name: str, test: Callable[[str], str | None]) -> None:
        value = str(values.get(name) or "").strip()
        if value and (why := test(value)):
            problems.append(f"{ENVIRONMENT}: {name.upper()}: {why}")

    try:
        AgentsConfig().provider_order(llm.llm_provider_order)
    except AgentsConfigError as exc:
        problems.append(f"{ENVIRONMENT}: {exc}")
    for name in URL_SETTINGS:
        check(name, _not_http_url)
    check("redis_url", lambda v: None if v.startswith(("redis://", "rediss://", "unix://"))
          else "must start with redis://, rediss:// or unix://")
    check("checkpoint_url", lambda v: None if v == "memory" or v.startswith(
        ("sqlite:///", "postgresql://", "postgres://"))
        else "must be sqlite:///PATH, postgresql://... or memory")
    env = os.environ  # boto3's variables (CREDENTIAL_SETS), not settings
    for names in CREDENTIAL_SETS:
        given = [n for n in names if env.get(n, "").strip()]
        if given and len(given) < len(names):
            missing = [n for n in names if n not in given]
            problems.append(f"{ENVIRONMENT}: {', '.join(missing)}: not set while "
                            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'}")
    return problems


def _not_http_url(value: str) -> str | None:
    try:
        http_url(value)
    except ValueError as exc:
        return str(exc)
    return None
