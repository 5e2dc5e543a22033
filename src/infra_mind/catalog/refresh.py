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

Before anything is written the new rows are compared with the old ones per
provider and region (``diff_regions``: rows added, changed and removed, by key).
A refresh that would take more than ``MAX_REGION_LOSS_PCT`` of a region's rows
away is refused (``ShrinkRefused``, nothing written) unless ``allow_shrink``
says the loss is wanted: a price list that answers with a handful of machines (a
partial answer, a filter the API changed) must not quietly replace a region's
catalog, as replaying the recorded Azure answers once cut eastus from 353 rows
to 51.

Default sources are built from the settings (``CatalogSettings``) and
``integrations.yaml``, so the CLI can be pointed at a mirror or a local replay server:

- ``AWS_PRICING_ENDPOINT_URL``: the Price List Query API endpoint (credentials
  come from boto3's usual chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
  ``AWS_PROFILE``, ...);
- ``AZURE_PRICES_URL``: the Retail Prices API URL
  (default ``https://prices.azure.com/api/retail/prices``);
- ``GCP_BILLING_URL``: the Cloud Billing API's scheme and host
  (default ``https://cloudbilling.googleapis.com``), and ``GCP_API_KEY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from infra_mind.catalog.adapters.aws import AwsPriceSource
from infra_mind.catalog.adapters.azure import AzurePriceSource
from infra_mind.catalog.adapters.base import AdapterError, PriceSource, one_line
from infra_mind.catalog.adapters.gcp import GcpPriceSource
from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, PurchaseOption
from infra_mind.catalog.regions import regions_of
from infra_mind.catalog.snapshot import write_snapshot
from infra_mind.catalog.store import Catalog, normalize_sku
from infra_mind.config import CatalogSettings
from infra_mind.config.files import ConfigFileError
from infra_mind.config.integrations import PUBLIC_PRICE_APIS, load_integrations_config
from infra_mind.kit.retry import RetryPolicy

Key = tuple[Provider, str, ProductFamily, PurchaseOption]
#: A refresh may take at most this share of a region's rows away without ``allow_shrink``.
MAX_REGION_LOSS_PCT = 20.0


class RefreshError(Exception):
    """A refresh that did not happen; one line, and the existing snapshot is untouched."""


@dataclass(frozen=True, slots=True)
class RegionDiff:
    """What a refresh does to one provider region: its rows before and after, and the rows
    added, changed (same key, another price or basis) and removed, keyed by family, option,
    SKU, variant and tier."""

    provider: str
    region: str
    before: int
    after: int
    added: int
    changed: int
    removed: int

    @property
    def lost_pct(self) -> float:
        """The share of the region's rows the refresh takes away, net (0 when it grows)."""
        if self.before == 0 or self.after >= self.before:
            return 0.0
        return (self.before - self.after) / self.before * 100

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def line(self) -> str:
        """``azure eastus: 353 -> 51 rows (-85.6%): 3 added, 5 changed, 305 removed``."""
        change = (self.after - self.before) / self.before * 100 if self.before else 0.0
        return (f"{self.provider} {self.region}: {self.before} -> {self.after} rows "
                f"({change:+.1f}%): {self.added} added, {self.changed} changed, "
                f"{self.removed} removed")

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "region": self.region, "before": self.before,
                "after": self.after, "added": self.added, "changed": self.changed,
                "removed": self.removed, "lost_pct": round(self.lost_pct, 1)}


class ShrinkRefused(RefreshError):
    """A refresh refused because a region would lose too many rows; ``diff`` says how."""

    def __init__(self, message: str, diff: list[RegionDiff], shrinking: list[RegionDiff]
                 ) -> None:
        super().__init__(message)
        self.diff = diff
        self.shrinking = shrinking


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
    #: Per region asked for: rows before and after, added, changed, removed.
    diff: list[RegionDiff] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


#: The AWS Price List Query API's own endpoint: boto3 finds it without being told.
AWS_DEFAULT_ENDPOINT = PUBLIC_PRICE_APIS["aws"]


def default_source(provider: Provider | str, base: Catalog | None = None,
                   settings: CatalogSettings | None = None) -> PriceSource:
    """The provider's adapter configured from ``settings`` (None: the process's, read now).

    Azure's size table and AWS's known GPU specs come from ``base``'s compute rows.
    """
    p = Provider(provider)
    settings = settings or CatalogSettings()
    # integrations.yaml ($CONFIG_DIR) sets each API's endpoint, timeout and attempts; an
    # endpoint setting wins over the file
    try:
        api = getattr(load_integrations_config(config_dir=settings.config_dir).price_apis,
                      p.value)
    except ConfigFileError as exc:
        raise RefreshError(exc.problems[0]) from None
    if not api.enabled:
        raise RefreshError(f"the {p.value} price API is disabled in integrations.yaml "
                           f"(price_apis.{p.value}.enabled)")
    policy = RetryPolicy(max_attempts=api.retry_attempts)
    specs = _compute_specs(base, p) if base is not None else {}
    if p is Provider.AWS:
        endpoint = settings.aws_pricing_endpoint_url or (
            api.base_url if api.base_url != AWS_DEFAULT_ENDPOINT else None)
        return AwsPriceSource(endpoint_url=endpoint, known_specs=specs, policy=policy,
                              timeout_s=api.timeout_s)
    if p is Provider.AZURE:
        return AzurePriceSource(specs, base_url=settings.azure_prices_url or api.base_url,
                                policy=policy, timeout_s=api.timeout_s)
    key = settings.gcp_api_key.get_secret_value() if settings.gcp_api_key else ""
    return GcpPriceSource(api_key=key, base_url=settings.gcp_billing_url or api.base_url,
                          policy=policy, timeout_s=api.timeout_s)


def refresh_snapshot(provider: Provider | str, regions: list[str] | None, base: Catalog,
                     out_path: Path, source: PriceSource | None = None,
                     today: date | None = None, *, allow_shrink: bool = False,
                     max_loss_pct: float = MAX_REGION_LOSS_PCT) -> RefreshReport:
    """Fetch ``provider``'s compute prices for ``regions`` (default: every covered region),
    merge them into ``base`` and write the result to ``out_path`` atomically.

    Raises ``RefreshError`` (one line) when the fetch fails or returns nothing usable, and
    ``ShrinkRefused`` when a region would lose more than ``max_loss_pct`` of its rows and
    ``allow_shrink`` is false; nothing is written then.
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

    merged = [*kept, *fetched]
    diff = diff_regions(p, [r for r in base if r.provider is p],
                        [r for r in merged if r.provider is p], wanted)
    shrinking = [d for d in diff if d.lost_pct > max_loss_pct]
    if shrinking and not allow_shrink:
        lost = ", ".join(f"{d.region} would lose {d.lost_pct:.1f}% of its rows "
                         f"({d.before} -> {d.after})" for d in shrinking)
        raise ShrinkRefused(f"{p.value}: refused: {lost}, more than the {max_loss_pct:g}% "
                            f"allowed; {kept_msg}", diff, shrinking)

    day = today or date.today()
    notes = [n for n in base.notes if not n.startswith(f"refresh {p.value}:")]
    notes.append(f"refresh {p.value}: {len(fetched)} compute prices for "
                 f"{len({r.region for r in fetched})} regions fetched {day.isoformat()}")
    try:
        write_snapshot(out_path, merged, day, notes)
    except OSError as exc:
        raise RefreshError(one_line(f"{p.value}: could not write {out_path}: {exc}; "
                                    f"{kept_msg}")) from exc
    return RefreshReport(
        provider=p, regions=wanted, rows_fetched=len(fetched), rows_replaced=replaced,
        rows_added=len(fetched) - replaced, out_path=Path(out_path),
        rows_removed=sum(1 for r in dropped if _identity(r) not in new),
        skipped=dict(getattr(source, "skipped", {}) or {}), diff=diff)


def diff_regions(provider: Provider, before: list[PriceRow], after: list[PriceRow],
                 regions: list[str]) -> list[RegionDiff]:
    """Per region of ``regions`` (in that order): ``provider``'s rows before and after, and
    the keys added, changed (another price or basis) and removed. ``before`` and ``after``
    hold that provider's rows (of every family: a region's rows are all of them)."""
    def by_key(rows: list[PriceRow]) -> dict[str, dict[tuple[Any, ...], PriceRow]]:
        out: dict[str, dict[tuple[Any, ...], PriceRow]] = {}
        for row in rows:
            out.setdefault(row.region, {})[(*_identity(row), row.tier_start)] = row
        return out

    old, new = by_key(before), by_key(after)
    diffs = []
    for region in regions:
        was, now = old.get(region, {}), new.get(region, {})
        changed = sum(1 for key, row in now.items() if key in was and (
            was[key].price_usd != row.price_usd or was[key].basis is not row.basis))
        diffs.append(RegionDiff(provider.value, region, before=len(was), after=len(now),
                                added=sum(1 for key in now if key not in was),
                                changed=changed,
                                removed=sum(1 for key in was if key not in now)))
    return diffs


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
