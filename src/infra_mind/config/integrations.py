"""``config/integrations.yaml``: the outside services, their schema and loader.

Per cloud price API: enabled, base URL, timeout, request budget per minute, retry
attempts (``infra-mind catalog refresh`` calls them, ``check-api-rates`` compares with the
budget); the monitoring endpoints; the OTLP traces endpoint. Read from ``$CONFIG_DIR``;
without it, the defaults below.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from infra_mind.config.files import INTEGRATIONS_FILE, validate_file
from infra_mind.config.values import HttpUrlText

#: Each cloud's public price list endpoint, the default ``base_url``: the endpoints the
#: price adapters (``catalog.adapters``) call when given none (a test holds them equal).
PUBLIC_PRICE_APIS = {
    "aws": "https://api.pricing.us-east-1.amazonaws.com",
    "azure": "https://prices.azure.com/api/retail/prices",
    "gcp": "https://cloudbilling.googleapis.com",
}


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


class PriceApis(_Strict):
    aws: PriceApi = Field(default_factory=lambda: PriceApi(base_url=PUBLIC_PRICE_APIS["aws"]))
    azure: PriceApi = Field(
        default_factory=lambda: PriceApi(base_url=PUBLIC_PRICE_APIS["azure"]))
    gcp: PriceApi = Field(default_factory=lambda: PriceApi(base_url=PUBLIC_PRICE_APIS["gcp"]))


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


def integrations_path(config_dir: Path | None) -> Path | None:
    """``CONFIG_DIR/integrations.yaml``, or None (defaults) without ``CONFIG_DIR``."""
    return config_dir / INTEGRATIONS_FILE if config_dir else None


def load_integrations_config(path: Path | None = None, config_dir: Path | None = None
                             ) -> IntegrationsConfig:
    """``path`` (default: the file in ``config_dir``, the ``CONFIG_DIR`` setting) validated,
    or the defaults."""
    found = path or integrations_path(config_dir)
    if found is None:
        return IntegrationsConfig()
    return validate_file(found, IntegrationsConfig)  # type: ignore[return-value]
