"""Which prices the engine designs with, and where the catalog has them
(``infra-mind catalog coverage``).

A *kind* is one price the engine looks up to design an option: machines on demand
(general purpose, and burstable ones with a sourced baseline), GPU machines, spot and
1- and 3-year commitments, managed databases per engine and deployment, their storage,
a managed cache, block and object storage, internet egress, a load balancer, NAT, a
CDN and the Kubernetes fee (``engine/design.py`` and the modules it calls:
``compute``, ``ml``, ``network``, ``pricing``). Each kind is a product family, a
purchase option and a test on the row, and applies to the providers that bill it that
way: an AWS NAT gateway is billed by the hour, a GCP Cloud NAT by the VM-hour; only
Cloud CDN bills cache fill.

A *cell* is one provider, region (the 45 of ``regions.REGIONS``) and kind; its rows
are counted by basis, ``list`` or ``derived``. A cell is *core* when its kind is one
the examples' workloads need (``engine.price_kinds.kinds_needed`` over
``examples/*.yaml``, checked by ``tests/catalog/test_coverage_command.py``) and
``NOT_CORE`` gives no reason for that provider to leave it empty. An empty core cell is a
hole: the engine lists that component as unpriced (or prices a fallback) wherever it
designs there.

No engine module is read here (the catalog is below the engine): which burstable
machines the engine may choose, those with a sourced baseline, is ``catalog.burstable``.
Pure: reads a ``Catalog``, writes nothing; the result is kept per catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from infra_mind.catalog.burstable import burst_of, is_burstable_family
from infra_mind.catalog.model import Basis, PriceRow, ProductFamily, PurchaseOption
from infra_mind.catalog.regions import REGIONS
from infra_mind.catalog.store import Catalog

F = ProductFamily
O = PurchaseOption  # noqa: E741 -- one letter, as F, to keep the table below readable
ALL = ("aws", "azure", "gcp")


def _attr(name: str, value: str) -> Callable[[PriceRow], bool]:
    return lambda row: str(row.attributes.get(name)) == value


def _general(row: PriceRow) -> bool:
    return not row.is_gpu and not is_burstable_family(row)


def _burstable(row: PriceRow) -> bool:
    # a burstable machine without a sourced baseline is never chosen (catalog.burstable)
    return is_burstable_family(row) and burst_of(row) is not None


def _gpu(row: PriceRow) -> bool:
    return row.is_gpu


def _not_gpu(row: PriceRow) -> bool:
    return not row.is_gpu


def _database(engine: str, deployment: str) -> Callable[[PriceRow], bool]:
    return lambda row: (row.attributes.get("engine") == engine
                        and row.attributes.get("deployment") == deployment)


def _database_storage(engine: str) -> Callable[[PriceRow], bool]:
    # design._database_storage: a row without an engine serves both engines
    return lambda row: (row.attributes.get("engine", engine) == engine
                        and row.attributes.get("dimension") != "backup")


@dataclass(frozen=True, slots=True)
class Kind:
    """One price the engine looks up, and who bills it."""

    key: str
    label: str
    family: ProductFamily
    test: Callable[[PriceRow], bool] | None = field(default=None, compare=False)
    option: PurchaseOption = PurchaseOption.ON_DEMAND
    providers: tuple[str, ...] = ALL
    #: Needed by a workload kind of the examples (``engine.price_kinds.kinds_needed``).
    core: bool = True
    #: What the engine prices with it, in words.
    used_for: str = ""

    def matches(self, row: PriceRow) -> bool:
        return self.test is None or self.test(row)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "family": self.family.value,
                "purchase_option": self.option.value, "providers": list(self.providers),
                "core": self.core, "used_for": self.used_for}


KINDS: tuple[Kind, ...] = (
    Kind("compute", "machines", F.COMPUTE, _general,
         used_for="web services, workers, self-managed databases and caches"),
    Kind("compute.burstable", "burstable machines", F.COMPUTE, _burstable,
         used_for="small loads (a sourced baseline only)"),
    Kind("compute.spot", "machines, spot", F.COMPUTE, _not_gpu, O.SPOT,
         used_for="interruptible workers with spot_ok"),
    Kind("compute.reserved_1y", "1-year commitment", F.COMPUTE, None, O.RESERVED_1Y,
         used_for="always-on machines with commitment: 1y"),
    Kind("compute.reserved_3y", "3-year commitment", F.COMPUTE, None, O.RESERVED_3Y,
         used_for="always-on machines with commitment: 3y"),
    Kind("gpu", "GPU machines", F.COMPUTE, _gpu,
         used_for="training, inference and GPU workers"),
    Kind("gpu.spot", "GPU machines, spot", F.COMPUTE, _gpu, O.SPOT,
         used_for="training and interruptible GPU workers with spot_ok"),
    Kind("database.postgres.single", "PostgreSQL single", F.DATABASE,
         _database("postgres", "single"), used_for="managed PostgreSQL"),
    Kind("database.postgres.ha", "PostgreSQL HA", F.DATABASE, _database("postgres", "ha"),
         used_for="managed PostgreSQL at 99.9% and above"),
    Kind("database.mysql.single", "MySQL single", F.DATABASE, _database("mysql", "single"),
         used_for="managed MySQL"),
    Kind("database.mysql.ha", "MySQL HA", F.DATABASE, _database("mysql", "ha"),
         used_for="managed MySQL at 99.9% and above"),
    Kind("database_storage.postgres", "PostgreSQL storage", F.DATABASE_STORAGE,
         _database_storage("postgres"), used_for="managed PostgreSQL storage"),
    Kind("database_storage.mysql", "MySQL storage", F.DATABASE_STORAGE,
         _database_storage("mysql"), used_for="managed MySQL storage"),
    Kind("database_backup", "database backups", F.DATABASE_STORAGE,
         _attr("dimension", "backup"), providers=("gcp",),
         used_for="Cloud SQL backups (RDS and Azure include them up to the data's size)"),
    Kind("cache", "managed cache", F.CACHE,
         used_for="managed Redis: a node, or for HA two nodes or a replicated tier sold as one"),
    Kind("block_storage", "block storage", F.BLOCK_STORAGE, core=False,
         used_for="disks of self-managed databases (managed_services: false, or no managed "
                  "size fits); no example needs it"),
    Kind("object_storage.standard", "object storage", F.OBJECT_STORAGE,
         _attr("storage_class", "standard"), used_for="buckets, static sites"),
    Kind("object_storage.infrequent", "object storage, infrequent", F.OBJECT_STORAGE,
         _attr("storage_class", "infrequent"), used_for="archives (access: infrequent)"),
    Kind("egress", "internet egress", F.EGRESS, used_for="data out not served by the CDN"),
    Kind("lb.hourly", "load balancer (hour)", F.LOAD_BALANCER, _attr("dimension", "hourly"),
         used_for="public services behind a load balancer"),
    Kind("lb.capacity", "load balancer capacity", F.LOAD_BALANCER,
         _attr("dimension", "capacity"),
         used_for="AWS LCU-hours; Azure and GCP rules beyond those included"),
    Kind("lb.data", "load balancer data", F.LOAD_BALANCER, _attr("dimension", "data"),
         providers=("azure", "gcp"), used_for="data processed (AWS bills it in LCUs)"),
    Kind("nat.hourly", "NAT gateway (hour)", F.NAT_GATEWAY, _attr("dimension", "hourly"),
         providers=("aws", "azure"), used_for="private subnets (compliance), one a zone"),
    Kind("nat.vm_hour", "Cloud NAT (VM-hour)", F.NAT_GATEWAY, _attr("dimension", "vm_hour"),
         providers=("gcp",), used_for="private subnets (compliance), per VM-hour"),
    Kind("nat.data", "NAT data", F.NAT_GATEWAY, _attr("dimension", "data"),
         used_for="data private machines send out"),
    Kind("cdn.data", "CDN data", F.CDN, _attr("dimension", "data"),
         used_for="static sites and public buckets"),
    Kind("cdn.requests", "CDN requests", F.CDN, _attr("dimension", "requests"),
         providers=("aws", "gcp"), used_for="CloudFront and Cloud CDN requests (Azure CDN "
                                            "bills data only)"),
    Kind("cdn.cache_fill", "CDN cache fill", F.CDN, _attr("dimension", "cache_fill"),
         providers=("gcp",), used_for="Cloud CDN origin-to-edge transfer"),
    Kind("kubernetes", "Kubernetes fee", F.KUBERNETES,
         used_for="kubernetes: required, or auto with three services or more"),
    Kind("waf.policy", "WAF policy", F.WAF, _attr("dimension", "policy"),
         providers=("aws", "gcp"),
         used_for="a WAF on the load balancer where a framework asks for one (PCI DSS)"),
    Kind("waf.rule", "WAF rules", F.WAF, _attr("dimension", "rule"), providers=("aws", "gcp"),
         used_for="the WAF's managed rule groups"),
    Kind("waf.requests", "WAF requests", F.WAF, _attr("dimension", "requests"),
         providers=("aws", "gcp"), used_for="the requests the WAF inspects"),
    Kind("waf.gateway", "WAF gateway (hour)", F.WAF, _attr("dimension", "hourly"),
         providers=("azure",), used_for="Application Gateway WAF_v2 where a framework asks "
                                        "for a WAF (it replaces the layer-4 load balancer)"),
    Kind("waf.capacity", "WAF gateway capacity", F.WAF, _attr("dimension", "capacity"),
         providers=("azure",), used_for="Application Gateway WAF_v2 capacity units"),
    Kind("keys.key", "customer-managed key", F.KEY_MANAGEMENT, _attr("dimension", "key"),
         providers=("aws", "gcp"),
         used_for="a key for each store where a framework asks for them (PCI DSS)"),
    Kind("keys.requests", "key requests", F.KEY_MANAGEMENT, _attr("dimension", "requests"),
         used_for="key service requests (Azure Key Vault bills software keys by them only)"),
)
KIND_BY_KEY = {k.key: k for k in KINDS}

_AZURE_HA = ("Azure bills a zone-redundant HA server as a second server at the primary's "
             "rate: the engine prices the single-server row twice")
#: Cells that may be empty for a reason, not for a missing source.
NOT_CORE: dict[tuple[str, str], str] = {
    ("azure", "gpu"): "Azure sells GPU sizes in some regions only; where none is priced "
                      "the engine reports an ML workload as a violation there, not a hole "
                      "in a total",
    ("azure", "gpu.spot"): "the sources give Azure spot prices for GPU sizes in few "
                           "regions; elsewhere the engine prices GPUs on demand and says so",
    ("azure", "database.postgres.ha"): _AZURE_HA,
    ("azure", "database.mysql.ha"): _AZURE_HA,
}


def is_core(provider: str, kind: Kind) -> bool:
    """Whether an empty (provider, region, kind) cell is a hole the engine would meet."""
    return kind.core and provider in kind.providers and (provider, kind.key) not in NOT_CORE


@dataclass(slots=True)
class Cell:
    """The rows of one kind in one provider region."""

    provider: str
    region: str
    kind: str
    core: bool
    list_rows: int = 0
    derived_rows: int = 0
    #: The row with the oldest ``as_of`` (None when empty).
    oldest: PriceRow | None = None
    newest_as_of: date | None = None

    @property
    def rows(self) -> int:
        return self.list_rows + self.derived_rows

    @property
    def empty(self) -> bool:
        return self.rows == 0

    def add(self, row: PriceRow) -> None:
        if row.basis is Basis.DERIVED:
            self.derived_rows += 1
        else:
            self.list_rows += 1
        if self.oldest is None or row.as_of < self.oldest.as_of:
            self.oldest = row
        if self.newest_as_of is None or row.as_of > self.newest_as_of:
            self.newest_as_of = row.as_of

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "region": self.region, "kind": self.kind,
                "core": self.core, "list": self.list_rows, "derived": self.derived_rows,
                "empty": self.empty,
                "oldest_as_of": self.oldest.as_of.isoformat() if self.oldest else None,
                "newest_as_of": self.newest_as_of.isoformat() if self.newest_as_of else None}


def describe(row: PriceRow) -> str:
    """A row in a few words, for a line that names a price: provider, sku, region, date."""
    return (f"{row.provider.value} {row.product_family.value} {row.sku} in {row.region} "
            f"({row.purchase_option.value}, {row.basis.value}), dated {row.as_of.isoformat()}")


@dataclass(slots=True)
class Coverage:
    """Every (provider, region, kind) cell the engine may look up, in table order."""

    snapshot: str | None
    generated_at: date | None
    cells: list[Cell]
    _index: dict[tuple[str, str, str], Cell] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {(c.provider, c.region, c.kind): c for c in self.cells}

    def cell(self, provider: str, region: str, kind: str) -> Cell | None:
        return self._index.get((provider, region, kind))

    def cells_of(self, providers: Iterable[str] | None = None) -> list[Cell]:
        """The cells of ``providers`` (default: all), in table order."""
        wanted = set(ALL if providers is None else providers)
        return [c for c in self.cells if c.provider in wanted]

    def empty_core(self, providers: Iterable[str] | None = None) -> list[Cell]:
        """Core cells without a price: holes the engine meets where it designs."""
        return [c for c in self.cells_of(providers) if c.core and c.empty]

    def oldest(self, providers: Iterable[str] | None = None) -> PriceRow | None:
        """The oldest price among every row the engine designs with (ties: the first in
        table order)."""
        found = [c.oldest for c in self.cells_of(providers) if c.oldest is not None]
        return min(found, key=lambda r: r.as_of) if found else None

    def summary(self, providers: Iterable[str] | None = None) -> dict[str, Any]:
        cells = self.cells_of(providers)
        oldest = self.oldest(providers)
        return {
            "regions": len({(c.provider, c.region) for c in cells}),
            "kinds": len({c.kind for c in cells}), "cells": len(cells),
            "list_rows": sum(c.list_rows for c in cells),
            "derived_rows": sum(c.derived_rows for c in cells),
            "empty_core_cells": sum(1 for c in cells if c.core and c.empty),
            "empty_other_cells": sum(1 for c in cells if not c.core and c.empty),
            "oldest_as_of": oldest.as_of.isoformat() if oldest else None,
            "oldest_price": describe(oldest) if oldest else None,
        }

    def to_dict(self, providers: Iterable[str] | None = None) -> dict[str, Any]:
        """Everything, JSON-ready (``catalog coverage --json``), for ``providers``."""
        wanted = set(ALL if providers is None else providers)
        return {
            "snapshot": self.snapshot,
            "generated_at": self.generated_at.isoformat() if self.generated_at else None,
            "summary": self.summary(wanted),
            "kinds": [k.to_dict() for k in KINDS],
            "not_core": [{"provider": p, "kind": k, "why": why}
                         for (p, k), why in NOT_CORE.items() if p in wanted],
            "empty_core": [{"provider": c.provider, "region": c.region, "kind": c.kind}
                           for c in self.empty_core(wanted)],
            "cells": [c.to_dict() for c in self.cells_of(wanted)],
        }


_COVERAGE: WeakKeyDictionary[Catalog, Coverage] = WeakKeyDictionary()


def coverage(catalog: Catalog) -> Coverage:
    """Count ``catalog``'s rows per provider, region and kind (computed once per catalog)."""
    found = _COVERAGE.get(catalog)
    if found is not None:
        return found
    cells = [Cell(p, region.code, kind.key, is_core(p, kind))
             for region in REGIONS.values() if (p := region.provider.value)
             for kind in KINDS if p in kind.providers]
    by_key = {(c.provider, c.region, c.kind): c for c in cells}
    by_family: dict[tuple[ProductFamily, PurchaseOption], list[Kind]] = {}
    for kind in KINDS:
        by_family.setdefault((kind.family, kind.option), []).append(kind)
    for row in catalog:
        for kind in by_family.get((row.product_family, row.purchase_option), ()):
            # a Provider is a StrEnum: it finds the cell keyed by its value
            cell = by_key.get((row.provider, row.region, kind.key))
            if cell is not None and kind.matches(row):
                cell.add(row)
    result = Coverage(str(catalog.path) if catalog.path else None, catalog.generated_at, cells)
    _COVERAGE[catalog] = result
    return result


@dataclass(frozen=True, slots=True)
class Staleness:
    """How old the oldest price the engine designs with is, against a limit."""

    oldest: PriceRow | None
    age_days: int | None
    max_age_days: int

    @property
    def stale(self) -> bool:
        return self.age_days is not None and self.age_days > self.max_age_days

    def readiness(self) -> str:
        """``ok``, or ``stale: oldest price N days (limit M)`` (``/health/ready``)."""
        return (f"stale: oldest price {self.age_days} days (limit {self.max_age_days})"
                if self.stale else "ok")


def staleness(catalog: Catalog, max_age_days: int, today: date | None = None) -> Staleness:
    """The age of the oldest price among the rows the engine designs with (``KINDS``).

    The oldest such price, not the newest: a refresh renews machine prices only, and a
    total is as old as the oldest price in it. Cheap after the first call per catalog.
    """
    oldest = coverage(catalog).oldest()
    age = None if oldest is None else ((today or date.today()) - oldest.as_of).days
    return Staleness(oldest, age, max_age_days)
