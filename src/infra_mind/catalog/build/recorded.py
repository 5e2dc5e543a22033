"""Recorded inputs: the facts the build takes from public repositories, one file per source file.

The repositories themselves are never committed. ``python -m
infra_mind.catalog.build.record`` reads each pinned source file from a local
clone, extracts the prices the catalog uses with this project's own parsers,
and writes them here as a small CSV under ``recorded/``. The build reads only
these files (with the pinned wheels and the curated YAML), so the committed
snapshot is reproducible offline.

Layout of a recorded file: ``#`` header lines naming the source (repository,
commit, path, the date of its prices and how that date was read, licence,
sha256 of the file exactly as read), then one CSV table, one line per priced
product with a column per region of the file's provider::

    # source: quinnypig-ec2
    # provider: aws
    # repository: QuinnyPig/aws-price-watcher
    # commit: 07c8174c4b4cf6d5b81d805abe03fdf407a83024
    # path: processed/ec2.json
    # date: 2025-06-13
    # date-basis: commit date of the last commit that changed the file
    # licence: MIT
    # sha256: 5c1e...
    service,product_family,unit,purchase_option,sku,attributes,tier_start,tier_end,us-east-1,...
    AmazonEC2,compute,hour,on_demand,m7i.large,"{""family"": ""m7i""}",,,0.1008,...

An empty region cell means the source has no price there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from infra_mind.catalog.model import (
    Basis,
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)
from infra_mind.catalog.regions import regions_of

RECORDED_DIR = Path(__file__).parent / "recorded"
#: Regions outside the catalog's table whose list prices are recorded only as inputs to
#: derived prices (a region ratio needs both ends); they never reach the snapshot. Azure
#: westus: infracost's Azure Database for PostgreSQL/MySQL test prices are for westus.
#: Azure polandcentral: the one region whose Reserved VM Instance rates a dated copy of
#: Azure's pricing-page data gives (rule R2 takes its reserved/on-demand ratios).
REFERENCE_ONLY_REGIONS: dict[Provider, tuple[str, ...]] = {
    Provider.AZURE: ("westus", "polandcentral")}


def recorded_regions(provider: Provider) -> list[str]:
    """The region columns of a recorded file: the covered regions, then reference-only ones."""
    return ([r.code for r in regions_of(provider)]
            + list(REFERENCE_ONLY_REGIONS.get(provider, ())))
META_KEYS = ("source", "provider", "repository", "commit", "path", "date", "date-basis",
             "licence", "sha256", "note")
_FIXED = ["service", "product_family", "unit", "purchase_option", "sku", "attributes",
          "tier_start", "tier_end"]


@dataclass(frozen=True, slots=True)
class Fact:
    """One price a parser read: what, where, per which unit, how much."""

    service: str
    family: ProductFamily
    unit: Unit
    option: PurchaseOption
    sku: str
    region: str
    price_usd: float
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    tier_start: float | None = None
    tier_end: float | None = None


@dataclass
class Recorded:
    """One recorded file: where its facts come from, and the facts."""

    meta: dict[str, str]
    facts: list[Fact]

    @property
    def provider(self) -> Provider:
        return Provider(self.meta["provider"])

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.meta["date"])

    @property
    def source(self) -> str:
        """How a row from this file names its source: repository, commit and path."""
        return f"github.com/{self.meta['repository']}@{self.meta['commit']}:{self.meta['path']}"

    def rows(self, validate: bool = True) -> list[PriceRow]:
        """The facts as catalog rows, attributes as recorded.

        With ``validate`` False the rows are not checked yet: a compute row may still
        lack the specs the build joins (``complete.complete`` checks every row then).
        """
        out = []
        for f in self.facts:
            values = (self.provider, f.service, f.family, f.sku, f.region, f.unit, f.price_usd,
                      f.option, self.as_of, self.source, MappingProxyType(dict(f.attributes)),
                      f.tier_start, f.tier_end, Basis.LIST, "")
            try:
                out.append(PriceRow(*values) if validate else PriceRow.trusted(values))
            except CatalogError as exc:
                raise CatalogError(f"recorded/{self.meta['source']}.csv: {exc}") from None
        return out


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render(meta: dict[str, str], facts: Iterable[Fact]) -> str:
    """The text of a recorded file (stable order, so re-recording gives the same bytes)."""
    provider = Provider(meta["provider"])
    regions = recorded_regions(provider)
    grouped: dict[tuple[Any, ...], dict[str, float]] = {}
    for f in facts:
        if f.region not in regions:
            raise CatalogError(f"{meta['source']}: {f.region} is not a covered {provider} region")
        key = (f.service, f.family.value, f.unit.value, f.option.value, f.sku,
               json.dumps(f.attributes, sort_keys=True), _num(f.tier_start), _num(f.tier_end))
        prices = grouped.setdefault(key, {})
        old = prices.get(f.region)
        if old is not None and old != f.price_usd:
            raise CatalogError(f"{meta['source']}: two prices for {f.sku} in {f.region}: "
                               f"{old} and {f.price_usd}")
        prices[f.region] = f.price_usd
    buf = io.StringIO()
    for key in META_KEYS:
        if meta.get(key):
            buf.write(f"# {key}: {meta[key]}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_FIXED + regions)
    for key in sorted(grouped, key=lambda k: tuple(str(x) for x in k)):
        prices = grouped[key]
        writer.writerow([*key, *(_num(prices.get(r)) for r in regions)])
    return buf.getvalue()


def parse(text: str, name: str = "recorded file") -> Recorded:
    """A recorded file's metadata and facts; raises ``CatalogError`` naming the line."""
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = 0
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = i
            break
        key, _, value = line[1:].strip().partition(":")
        meta[key.strip()] = value.strip()
    missing = [k for k in META_KEYS if k != "note" and not meta.get(k)]
    if missing:
        raise CatalogError(f"{name}: header lacks {', '.join(missing)}")
    reader = csv.reader(lines[body_start:])
    header = next(reader, None)
    if header is None or header[:len(_FIXED)] != _FIXED:
        raise CatalogError(f"{name}: the table header is not {','.join(_FIXED)},<regions>")
    regions = header[len(_FIXED):]
    facts = []
    for n, cells in enumerate(reader, start=body_start + 2):
        try:
            service, fam, unit, option, sku, attrs, t0, t1 = cells[:len(_FIXED)]
            attributes = json.loads(attrs)
            for region, cell in zip(regions, cells[len(_FIXED):], strict=True):
                if cell:
                    facts.append(Fact(service, ProductFamily(fam), Unit(unit),
                                      PurchaseOption(option), sku, region, float(cell),
                                      attributes, _opt(t0), _opt(t1)))
        except (ValueError, TypeError) as exc:
            raise CatalogError(f"{name} line {n}: {exc}") from None
    return Recorded(meta, facts)


def load_recorded(directory: Path = RECORDED_DIR) -> list[Recorded]:
    """Every recorded file, in name order."""
    return [parse(p.read_text(encoding="utf-8"), f"recorded/{p.name}")
            for p in sorted(directory.glob("*.csv"))]


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return repr(round(float(value), 10)) if value != int(value) else str(int(value))


def _opt(cell: str) -> float | None:
    return float(cell) if cell else None
