"""Refresh a snapshot's compute prices from a provider's live price list.

``refresh_snapshot`` fetches compute rows with the provider's ``PriceSource``
and replaces, in the base catalog, the (provider, region, compute, purchase
option) keys the fetch returned rows for. Every other row stays: storage,
databases, other regions, options the API did not return, and, under a
replaced key, SKUs outside the source's scope (``PriceSource.covers``: GCP's
adapter prices e2/n2/n2d/c2 machines, so a refresh must not delete GPU
machines it never looked at). The result is written atomically. A failed fetch
raises ``RefreshError`` and writes nothing, so the snapshot on disk stays as it
was.

Default sources are built from the environment, so the CLI can be pointed at a
mirror or a local replay server:

- ``AWS_PRICING_ENDPOINT_URL``: the Price List Query API endpoint (credentials
  come from boto3's usual chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
  ``AWS_PROFILE``, ...);
- ``AZURE_PRICES_URL``: the Retail Prices API URL
  (default ``https://prices.azure.com/api/retail/prices``);
- ``GCP_BILLING_URL``: the Cloud Billing API's scheme and host
  (default ``https://cloudbilling.googleapis.com``), and ``GCP_API_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from infra_mind.catalog.adapters.aws import AwsPriceSource
from infra_mind.catalog.adapters.azure import AzurePriceSource
from infra_mind.catalog.adapters.base import AdapterError, PriceSource, RetryPolicy, one_line
from infra_mind.catalog.adapters.gcp import GcpPriceSource
from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, PurchaseOption
from infra_mind.catalog.regions import regions_of
from infra_mind.catalog.snapshot import write_snapshot
from infra_mind.catalog.store import Catalog, normalize_sku

AWS_ENDPOINT_ENV = "AWS_PRICING_ENDPOINT_URL"
AZURE_URL_ENV = "AZURE_PRICES_URL"
GCP_URL_ENV = "GCP_BILLING_URL"

Key = tuple[Provider, str, ProductFamily, PurchaseOption]


class RefreshError(Exception):
    """A refresh that did not happen; one line, and the existing snapshot is untouched."""


@dataclass(slots=True)
class RefreshReport:
    """What a refresh changed."""

    provider: Provider
    regions: list[str]
    rows_fetched: int
    #: Fetched rows that took the place of a base row with the same sku, region, option.
    rows_replaced: int
    #: Fetched rows with no counterpart in the base catalog.
    rows_added: int
    out_path: Path
    #: Base rows under a replaced key that the fetch no longer returned (retired sizes).
    rows_removed: int = 0
    #: Why the adapter left items out, with counts.
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


#: The AWS Price List Query API's own endpoint: boto3 finds it without being told.
AWS_DEFAULT_ENDPOINT = "https://api.pricing.us-east-1.amazonaws.com"


def default_source(provider: Provider | str, base: Catalog | None = None,
                   env: Mapping[str, str] | None = None) -> PriceSource:
    """The provider's adapter configured from ``env`` (default ``os.environ``).

    Azure's size table and AWS's known GPU specs come from ``base``'s compute rows.
    """
    from infra_mind.ops.config_files import ConfigFileError, load_integrations_config

    p = Provider(provider)
    env = os.environ if env is None else env
    # integrations.yaml ($CONFIG_DIR) sets each API's endpoint, timeout and attempts; an
    # endpoint variable in the environment wins over the file
    try:
        api = getattr(load_integrations_config(env=env).price_apis, p.value)
    except ConfigFileError as exc:
        raise RefreshError(exc.problems[0]) from None
    if not api.enabled:
        raise RefreshError(f"the {p.value} price API is disabled in integrations.yaml "
                           f"(price_apis.{p.value}.enabled)")
    policy = RetryPolicy(max_attempts=api.retry_attempts)
    specs = _compute_specs(base, p) if base is not None else {}
    if p is Provider.AWS:
        endpoint = env.get(AWS_ENDPOINT_ENV) or (
            api.base_url if api.base_url != AWS_DEFAULT_ENDPOINT else None)
        return AwsPriceSource(endpoint_url=endpoint, known_specs=specs, policy=policy,
                              timeout_s=api.timeout_s)
    if p is Provider.AZURE:
        return AzurePriceSource(specs, base_url=env.get(AZURE_URL_ENV) or api.base_url,
                                policy=policy, timeout_s=api.timeout_s)
    return GcpPriceSource(api_key=env.get("GCP_API_KEY", ""),
                          base_url=env.get(GCP_URL_ENV) or api.base_url, policy=policy,
                          timeout_s=api.timeout_s)


def refresh_snapshot(provider: Provider | str, regions: list[str] | None, base: Catalog,
                     out_path: Path, source: PriceSource | None = None,
                     today: date | None = None) -> RefreshReport:
    """Fetch ``provider``'s compute prices for ``regions`` (default: every covered region),
    merge them into ``base`` and write the result to ``out_path`` atomically.

    Raises ``RefreshError`` (one line) when the fetch fails or returns nothing usable;
    nothing is written then.
    """
    p = Provider(provider)
    wanted = list(regions) if regions else [r.code for r in regions_of(p)]
    kept_msg = (f"nothing written to {out_path}; the catalog in use ({base.path or 'in memory'}) "
                "is unchanged")
    if source is None:
        source = default_source(p, base)
    if source.provider is not p:
        raise RefreshError(f"{p.value}: the price source is for {source.provider.value}; "
                           f"{kept_msg}")
    try:
        fetched = source.fetch(wanted)
    except AdapterError as exc:
        raise RefreshError(f"{exc}; {kept_msg}") from exc
    except Exception as exc:  # a refresh must never crash half-way: say what broke
        raise RefreshError(one_line(f"{p.value}: price fetch failed: {type(exc).__name__}: "
                                    f"{exc}; {kept_msg}")) from exc
    _check(fetched, p, wanted, kept_msg)

    keys: set[Key] = {_key(r) for r in fetched}
    new = {_identity(r) for r in fetched}

    def superseded(row: PriceRow) -> bool:
        # Under a fetched key, a row goes when the fetch repriced it or when the source
        # covers its SKU and no longer lists it; a SKU outside the source's scope stays.
        return _key(row) in keys and (_identity(row) in new or source.covers(row.sku))

    kept = [r for r in base if not superseded(r)]
    dropped = [r for r in base if superseded(r)]
    old = {_identity(r) for r in dropped}
    replaced = sum(1 for r in fetched if _identity(r) in old)

    day = today or date.today()
    notes = [n for n in base.notes if not n.startswith(f"refresh {p.value}:")]
    notes.append(f"refresh {p.value}: {len(fetched)} compute prices for "
                 f"{len({r.region for r in fetched})} regions fetched {day.isoformat()}")
    try:
        write_snapshot(out_path, [*kept, *fetched], day, notes)
    except OSError as exc:
        raise RefreshError(one_line(f"{p.value}: could not write {out_path}: {exc}; "
                                    f"{kept_msg}")) from exc
    return RefreshReport(
        provider=p, regions=wanted, rows_fetched=len(fetched), rows_replaced=replaced,
        rows_added=len(fetched) - replaced, out_path=Path(out_path),
        rows_removed=sum(1 for r in dropped if _identity(r) not in new),
        skipped=dict(getattr(source, "skipped", {}) or {}))


def _check(rows: list[PriceRow], provider: Provider, regions: list[str], kept_msg: str) -> None:
    """Refuse a fetch that could damage the snapshot: nothing at all, or rows outside
    what was asked (another provider, region or product family)."""
    if not rows:
        raise RefreshError(f"{provider.value}: the price list returned no usable compute "
                           f"prices for {', '.join(regions)}; {kept_msg}")
    wanted = set(regions)
    for row in rows:
        if (row.provider is not provider or row.region not in wanted
                or row.product_family is not ProductFamily.COMPUTE):
            raise RefreshError(
                f"{provider.value}: the price source returned {row.provider.value} "
                f"{row.product_family.value} {row.sku} in {row.region}, which was not asked "
                f"for; {kept_msg}")


def _key(row: PriceRow) -> Key:
    return (row.provider, row.region, row.product_family, row.purchase_option)


def _identity(row: PriceRow) -> tuple[Any, ...]:
    return (*_key(row), normalize_sku(row.provider, row.sku), row.variant)


def _compute_specs(base: Catalog, provider: Provider) -> dict[str, dict[str, Any]]:
    """sku -> attributes of ``base``'s compute rows of ``provider`` (first row wins)."""
    specs: dict[str, dict[str, Any]] = {}
    for row in base.rows(provider=provider, family=ProductFamily.COMPUTE):
        specs.setdefault(row.sku, dict(row.attributes))
    return specs
