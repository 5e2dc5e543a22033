"""Settings: one pydantic-settings class, one ``settings()`` object, from the environment.

Embedded defaults run one process on a laptop: a SQLite file under ``./data/``,
the in-process task queue and in-memory cache. Production sets ``DATABASE_URL``
(PostgreSQL) and ``REDIS_URL``. Secrets are never placeholders outside development.

Every variable of ours is a field here, under its own name (``redis_url`` is
``REDIS_URL``), with its default; the code reads the settings, not the environment (the
few exceptions, at the edges, say why where they are). Some parts load alone, for code
that must not need the rest (a database URL, a JWT secret): the LLM keys and endpoints
(``infra-mind advise``), the price catalog and its APIs (``catalog refresh``), tracing,
and the task queue (its broker is built when its module is imported). ``Settings`` is all
of them.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from infra_mind.config.files import ProductionYamlSource, production_schema, validate_file
from infra_mind.config.keys import CryptoError, configured_keys
from infra_mind.config.s3 import parse_s3_url
from infra_mind.config.values import HttpUrlText, SettingsError

#: Secrets that look set but are not: refused outside development.
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "your-secret-key", "jwt-secret",
                       "please-change-me", "insecure", "development", "test", "${jwt_secret_key}"}
MIN_SECRET_LENGTH = 32
#: The least argon2id cost accepted outside development and test: OWASP's Password
#: Storage Cheat Sheet's minimum (19 MiB of memory, two passes).
MIN_HASH_MEMORY_KIB = 19_456
MIN_HASH_TIME_COST = 2


#: Where development keeps its generated JWT secret when the database is not a SQLite
#: file (PostgreSQL): the data directory, where ``kit.crypto`` keeps its key too.
DEV_SECRET_FILE = Path("data") / "jwt-secret"
#: Beside a SQLite database ``NAME.db``, the secret is ``NAME.jwt-secret``.
DEV_SECRET_SUFFIX = ".jwt-secret"


def development_secret_path(database_url: str) -> Path | None:
    """Where development without ``JWT_SECRET_KEY`` keeps the secret it generates.

    Beside the SQLite database (``data/infra_mind.jwt-secret`` for the default
    ``data/infra_mind.db``), so two databases never accept each other's tokens;
    ``data/jwt-secret`` on PostgreSQL. None for an in-memory SQLite database: no other
    process sees that database, so there is nothing to share.
    """
    if not database_url.startswith("sqlite"):
        return DEV_SECRET_FILE
    place = database_url.split(":///", 1)[1] if ":///" in database_url else ""
    place = place.split("?", 1)[0]
    if not place or place.startswith(":memory:"):
        return None
    database = Path(place)
    return database.with_name(database.stem + DEV_SECRET_SUFFIX)


def shared_secret(path: Path) -> str:
    """The secret in ``path``, generated (mode 0600) by whichever process gets there first.

    Written aside and linked into place, so a process started at the same moment reads
    either nothing (and links its own, which fails: it then reads the winner's) or the
    whole secret, never half of one. A file others may read, or one too short to be a
    secret, is refused rather than used: whoever reads it can sign tokens. ``ValueError``
    (one line, naming the file, never its content) when the secret cannot be kept.
    """
    problem = f"JWT_SECRET_KEY is unset and the development secret {path}"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            aside = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    out.write(secrets.token_urlsafe(48) + "\n")
                os.link(aside, path)
            except FileExistsError:
                pass  # another process won: use its secret
            finally:
                aside.unlink(missing_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{problem} cannot be kept ({exc.strerror or type(exc).__name__}): "
                         "set JWT_SECRET_KEY, or make its directory writable") from None
    if mode & 0o077:
        raise ValueError(f"{problem} is readable by others (mode {mode:o}): chmod 600 it, "
                         "or set JWT_SECRET_KEY")
    key = raw.decode("ascii", errors="replace").strip()
    if len(key) < MIN_SECRET_LENGTH or "\ufffd" in key:
        raise ValueError(f"{problem} is not {MIN_SECRET_LENGTH} or more ASCII characters: "
                         "delete it (a new one is made), or set JWT_SECRET_KEY")
    return key


def _blank_is_none(value: object) -> object:
    """An empty variable (a ConfigMap's placeholder) is unset, not an empty value."""
    return None if isinstance(value, str) and not value.strip() else value


class SettingsPart(BaseSettings):
    """What every part of the settings shares: the environment only (no ``.env`` file),
    names in any case, other variables ignored; and where the configuration files are."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    #: Where production.yaml, agents.yaml and integrations.yaml live. Unset: production.yaml
    #: is not read (a process started in a checkout never picks up ./config by accident).
    config_dir: Path | None = None

    @field_validator("config_dir", mode="before")
    @classmethod
    def _no_config_dir(cls, value: object) -> object:
        return _blank_is_none(value)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """These settings from ``env`` alone, never the process's environment (a test's, or
        a probe's own): each field from its variable (any case), else its default. For the
        parts: their values are plain text, as in an environment."""
        given = {name.lower(): value for name, value in env.items()}
        values: dict[str, Any] = {
            name: given[name] if name in given else info.get_default(call_default_factory=True)
            for name, info in cls.model_fields.items()}
        return cls(**values)


class LLMSettings(SettingsPart):
    """The LLM providers: the server's keys and where each vendor is asked
    (``agents.providers``). Loadable alone: ``infra-mind advise`` needs no database or JWT
    secret. Keys are secrets: never logged, printed or echoed in an error."""

    openai_api_key: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    #: An OpenAI-compatible server (vLLM, Ollama, a proxy) instead of OpenAI's public
    #: endpoint; wins over ``providers.openai.base_url`` of agents.yaml.
    openai_base_url: str | None = None
    #: The same for Anthropic (``providers.anthropic.base_url``).
    anthropic_base_url: str | None = None
    #: Providers to ask, in order, comma-separated (openai, anthropic, offline); wins over
    #: agents.yaml's ``fallback_order``. Empty: the file's order.
    llm_provider_order: str = ""
    #: The agents' configuration file; unset: ``$CONFIG_DIR/agents.yaml``, else
    #: ``./config/agents.yaml`` if there is one, else the defaults.
    agents_config: Path | None = None

    @field_validator("openai_base_url", "anthropic_base_url", "agents_config", mode="before")
    @classmethod
    def _unset_when_blank(cls, value: object) -> object:
        return _blank_is_none(value)


class CatalogSettings(SettingsPart):
    """The price catalog and the cloud price APIs that refresh it. Loadable alone:
    ``infra-mind catalog refresh`` needs no database or JWT secret."""

    #: The snapshot to price with instead of a refreshed ``data/catalog/snapshot.json`` or
    #: the bundled one (``catalog.store.active_snapshot_path``).
    infra_mind_catalog: Path | None = None
    #: Where each price API is asked instead of integrations.yaml's ``base_url`` (a
    #: mirror, a test server).
    aws_pricing_endpoint_url: str | None = None
    azure_prices_url: str | None = None
    gcp_billing_url: str | None = None
    #: The key the Cloud Billing Catalog API wants (AWS's and Azure's price lists need none).
    gcp_api_key: SecretStr | None = None

    @field_validator("infra_mind_catalog", "aws_pricing_endpoint_url", "azure_prices_url",
                     "gcp_billing_url", mode="before")
    @classmethod
    def _unset_when_blank(cls, value: object) -> object:
        return _blank_is_none(value)


class TracingSettings(SettingsPart):
    """Where this process's spans go (``observability.tracing``), by OpenTelemetry's own
    variable names; the endpoint may also come from integrations.yaml."""

    #: The traces endpoint as given (``.../v1/traces``).
    otel_exporter_otlp_traces_endpoint: str = ""
    #: The collector's base URL: ``/v1/traces`` is appended.
    otel_exporter_otlp_endpoint: str = ""
    #: ``true`` keeps tracing off whatever the endpoint.
    otel_sdk_disabled: str = ""
    #: The service name on the spans; empty: ``infra-mind-api`` or ``infra-mind-worker``.
    otel_service_name: str = ""


class QueueSettings(SettingsPart):
    """Where runs are queued and checkpointed. Loadable alone: the queue is chosen when
    ``worker.queue`` is imported, and the workers' broker when ``worker.broker`` is
    (taskiq's worker command imports the broker it runs)."""

    redis_url: str | None = None
    #: Where agent runs are checkpointed (sqlite:///PATH, postgresql://..., or memory).
    #: None: beside the database (``<db>.checkpoints.db``), or the same PostgreSQL database.
    checkpoint_url: str | None = None


class Settings(LLMSettings, CatalogSettings, TracingSettings, QueueSettings):
    """All the settings (the parts above, and the rest)."""

    environment: Literal["development", "test", "staging", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database_url: str = "sqlite+aiosqlite:///./data/infra_mind.db"
    #: Put before every Redis key, stream and channel name this deployment uses (task
    #: stream, cache, leases, events), so several deployments (or test runs) can share one
    #: Redis database without meeting. Empty: the names as they have always been.
    redis_namespace: str = ""
    #: PostgreSQL connections per process: kept open, and extra ones opened under load.
    #: Keep processes x (pool + overflow) under the server's max_connections.
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(20, ge=0, le=200)
    jwt_secret_key: SecretStr | None = None
    #: Fernet keys, comma-separated: the first encrypts, all decrypt (``kit.crypto``).
    encryption_key: SecretStr | None = None
    access_token_ttl_s: int = Field(900, ge=60, le=86_400)
    refresh_token_ttl_s: int = Field(30 * 86_400, ge=3_600, le=365 * 86_400)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(1_000_000, ge=1_024, le=50_000_000)
    #: Writes per user per minute before 429.
    write_rate_per_minute: int = Field(120, ge=1)
    #: Sign-in throttle (``services.throttle.LoginThrottle``): failed sign-ins for one account
    #: from one client address in ``login_window_s`` before each further attempt from that
    #: address waits (``login_first_delay_s``, doubling up to ``login_max_delay_s``); a
    #: success clears the pair.
    login_attempts: int = Field(5, ge=1)
    login_window_s: int = Field(900, ge=60)
    #: Failed sign-ins from one address across all accounts in ``login_window_s`` before
    #: every sign-in from that address waits the same growing delay (NAT: keep it generous).
    login_address_attempts: int = Field(20, ge=1)
    login_first_delay_s: int = Field(1, ge=1, le=3_600)
    login_max_delay_s: int = Field(300, ge=1, le=86_400)
    #: Registrations per client address in ``register_window_s`` before 429.
    register_attempts: int = Field(10, ge=1)
    register_window_s: int = Field(3600, ge=60)
    #: Password hashes (argon2id: 64 MiB and 4 lanes each) computed at once per process;
    #: the rest wait up to ``password_hash_wait_s`` and then get 503 with Retry-After.
    password_hash_concurrency: int = Field(2, ge=1, le=64)
    password_hash_wait_s: float = Field(10.0, gt=0, le=120)
    #: argon2id's cost: passes, memory (KiB) and lanes. The defaults are argon2-cffi's
    #: (RFC 9106's second recommended option: t=3, 64 MiB, p=4). Outside development and
    #: test, less than OWASP's minimum (19 MiB and two passes) is refused. A stored hash
    #: carries its own parameters, so changing these never locks anyone out.
    password_hash_time_cost: int = Field(3, ge=1, le=10)
    password_hash_memory_kib: int = Field(65_536, ge=8, le=4_194_304)
    password_hash_parallelism: int = Field(4, ge=1, le=16)
    #: Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (the reverse proxy or
    #: ingress controller in front of the API): addresses or CIDR networks, comma-separated.
    #: The client is the right-most X-Forwarded-For entry that is not one of these, the one
    #: the proxy itself appended. "*" (believe anyone: the left-most entry, which the client
    #: writes) is refused outside development.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"])
    #: Each process (``infra-mind serve`` and ``infra-mind worker``) serves its Prometheus
    #: metrics on this port, never on the API port; with ``--workers N`` the next free ports
    #: (port + 1, ...). Unset: not served, except that in development the API port answers
    #: ``/metrics`` itself (a laptop needs no second port).
    metrics_port: int | None = Field(None, ge=1, le=65535)
    #: A running assessment with no heartbeat for this long is marked for retry.
    job_timeout_s: int = Field(600, ge=10)
    #: The same requirements submitted again within this window return the run in progress.
    dedupe_window_s: int = Field(600, ge=0)
    #: ``infra-mind serve`` defaults (its options win).
    server_host: str = "127.0.0.1"
    server_port: int = Field(8000, ge=1, le=65_535)
    server_workers: int = Field(1, ge=1, le=64)
    #: Seconds an idle keep-alive connection stays open (uvicorn's default, 5 s, suits
    #: browsers connecting directly). Behind a proxy that keeps its own idle connections
    #: to the API (nginx's upstream ``keepalive_timeout`` and ingress-nginx's
    #: ``upstream-keepalive-timeout``: 60 s; an AWS ALB's idle timeout: 60 s), set it
    #: longer than the proxy's: otherwise the API may close a connection just as the proxy
    #: sends a request on it, and the client gets a 502 (nginx retries no POST).
    server_keep_alive_s: int = Field(5, ge=1, le=3_600)
    #: The built web app (``npm run build`` in web/) that ``serve`` answers at ``/``; when it
    #: is missing, ``/`` says how to build it and the API serves as usual.
    web_dist_dir: Path = Path(__file__).resolve().parents[3] / "web" / "dist"
    #: A finished assessment's result stays in the cache this long.
    result_cache_ttl_s: int = Field(3600, ge=0, le=7 * 86_400)
    #: With Redis: a value read from the cache is also kept in the reading process, at
    #: most this long, and dropped as soon as Redis says it changed (client-side caching,
    #: ``kit.near_cache``). 0: every read asks Redis.
    cache_near_ttl_s: float = Field(10.0, ge=0, le=300)
    #: Data older than this is removed by the cleanup job.
    retention_days: int = Field(90, ge=1, le=3_650)
    backup_dir: Path = Path("data/backups")
    #: Backups kept in ``backup_dir``; older ones are deleted.
    backup_keep: int = Field(7, ge=1, le=1_000)
    #: Off-site copy of every backup (``ops.offsite``): s3://BUCKET[/PREFIX]. Credentials
    #: and region come from boto3's chain (AWS_ACCESS_KEY_ID, a profile, a role).
    backup_s3_url: str | None = None
    #: An S3-compatible store's endpoint (MinIO, Ceph, R2, ...); unset: AWS S3.
    backup_s3_endpoint_url: HttpUrlText | None = None
    #: Where Prometheus and Grafana answer (also ``monitoring`` in integrations.yaml):
    #: checked to be URLs at start, read by nothing else yet.
    prometheus_endpoint: HttpUrlText | None = None
    grafana_endpoint: HttpUrlText | None = None
    # -- the queue after a crash, and the cost one user can impose (docs/ops/resilience.md)
    #: A task message a worker took and did not acknowledge for this long (its worker
    #: died) is taken over by another worker.
    task_reclaim_after_s: int = Field(60, ge=1, le=3_600)
    #: A running assessment whose worker sent no heartbeat for this long (or for
    #: ``job_timeout_s``, if shorter) is put back in the queue; heartbeats go every quarter.
    run_stale_after_s: int = Field(60, ge=4, le=86_400)
    #: A run's progress (its step, the agents at work) is written, and announced to event
    #: streams, at most this often; the latest step is written when the wait ends. Status
    #: changes (running, completed, failed) are written at once. 0: every step at once.
    run_progress_every_s: float = Field(0.5, ge=0, le=60)
    #: Open ``/events`` streams per user (across all API processes with ``REDIS_URL``).
    event_streams_per_user: int = Field(10, ge=1, le=1_000)
    #: Engine processes per API or worker process, for what-ifs and the CPU-bound steps of
    #: runs (their CPU stays off the event loop; ``kit.compute``).
    engine_processes: int = Field(1, ge=1, le=64)
    #: What-ifs waiting for an engine process, per API process, before 503 + Retry-After.
    engine_queue: int = Field(8, ge=0, le=10_000)
    #: Without ``REDIS_URL``, an API process runs its runs in a run process of its own
    #: (``worker.run_process``), started with the first run and stopped once none has
    #: come for ``run_process_idle_s``: the agents' graph (LangGraph, some 37 MiB) and the
    #: runs' work stay out of the process that serves requests. False: on the API
    #: process's own event loop, as before.
    run_process: bool = True
    run_process_idle_s: float = Field(60, ge=0, le=86_400)
    #: ``health-check`` and ``/health/ready`` warn (never fail) when the oldest price the
    #: engine designs with is older than this many days (``catalog.coverage.staleness``).
    catalog_max_age_days: int = Field(400, ge=1, le=36_500)

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments > environment > ``$CONFIG_DIR/production.yaml`` > defaults."""
        return (init_settings, env_settings, dotenv_settings, file_secret_settings,
                ProductionYamlSource(settings_cls))

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            value = "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("backup_s3_url", "backup_s3_endpoint_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return _blank_is_none(value)  # unset, not a malformed URL

    @field_validator("backup_s3_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_s3_url(value.strip())  # ValueError: one line naming what is wrong
        return value.strip()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        # the environment gives "10.0.0.5, 10.1.0.0/16" (as uvicorn's FORWARDED_ALLOW_IPS)
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            if item == "*":
                continue
            try:  # strict: "10.0.0.1/8" (host bits set) is a typo, not a network
                ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item)
            except ValueError:
                # uvicorn would take it as a literal that never matches: refuse it here
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @model_validator(mode="after")
    def _proxies_outside_development(self) -> Settings:
        if "*" in self.trusted_proxies and self.environment != "development":
            raise ValueError(
                f"TRUSTED_PROXIES: '*' believes any client's X-Forwarded-For (the address "
                f"it writes first) when ENVIRONMENT={self.environment}: list the proxy's "
                "addresses or networks")
        return self

    @model_validator(mode="after")
    def _hash_cost_outside_development(self) -> Settings:
        if self.environment in ("development", "test"):
            return self
        if (self.password_hash_memory_kib < MIN_HASH_MEMORY_KIB
                or self.password_hash_time_cost < MIN_HASH_TIME_COST):
            raise ValueError(
                f"PASSWORD_HASH_MEMORY_KIB={self.password_hash_memory_kib} and "
                f"PASSWORD_HASH_TIME_COST={self.password_hash_time_cost} are below the "
                f"minimum ({MIN_HASH_MEMORY_KIB} KiB and {MIN_HASH_TIME_COST} passes) "
                f"when ENVIRONMENT={self.environment}")
        return self

    @model_validator(mode="after")
    def _secret_outside_development(self) -> Settings:
        key = self.jwt_secret_key.get_secret_value() if self.jwt_secret_key else ""
        if self.environment == "development":
            if not key:
                # one secret for every process on this database (``serve --workers N``,
                # ``worker``, a restart): a token one issues, all accept
                path = development_secret_path(self.database_url)
                key = shared_secret(path) if path else secrets.token_urlsafe(48)
                self.jwt_secret_key = SecretStr(key)
            return self
        if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"JWT_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters when ENVIRONMENT={self.environment} "
                "(a placeholder is refused)")
        return self

    @model_validator(mode="after")
    def _encryption_key_usable(self) -> Settings:
        try:  # a malformed key or a placeholder fails at start, not at first use
            configured_keys(self.encryption_key, self.environment)
        except CryptoError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret(self) -> str:
        assert self.jwt_secret_key is not None
        return self.jwt_secret_key.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and ``overrides``); one-line ``SettingsError``."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]).upper() or "settings"
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {msg}" if first["loc"] else msg) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


#: production.yaml's schema (``config.files.production_schema``).
ProductionConfig = production_schema(Settings)


def load_production_config(path: Path) -> BaseModel:
    """``production.yaml`` validated; ``ConfigFileError`` naming the file and keys."""
    return validate_file(path, ProductionConfig)
