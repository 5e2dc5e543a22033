"""Data-quality tests of the bundled snapshot, the data every price shown comes from."""

from collections import Counter, defaultdict
from datetime import date

import pytest

from infra_mind.catalog.model import (
    COMPUTE_ATTRIBUTES,
    GPU_ATTRIBUTES,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
    row_problems,
)
from infra_mind.catalog.regions import REGIONS, region


def test_every_row_is_sound_sourced_and_dated(bundled):
    for row in bundled:
        assert row_problems(row) == [], row
        assert row.price_usd > 0
        assert row.source.strip()
        assert date(2020, 1, 1) <= row.as_of <= bundled.generated_at, row


def test_keys_are_unique(bundled):
    keys = Counter((r.provider, r.sku.lower(), r.region, r.purchase_option, r.variant,
                    r.tier_start) for r in bundled)
    assert [k for k, n in keys.items() if n > 1] == []


def test_units_are_consistent_per_family(bundled):
    allowed = {
        ProductFamily.COMPUTE: {Unit.HOUR},
        ProductFamily.DATABASE: {Unit.HOUR},
        # Memorystore bills provisioned GB at its capacity tier's rate
        ProductFamily.CACHE: {Unit.HOUR, Unit.GB_MONTH},
        ProductFamily.KUBERNETES: {Unit.HOUR},
        ProductFamily.EGRESS: {Unit.GB},
        # stored GB-months; the infrequent classes' retrieval, per GB read
        ProductFamily.OBJECT_STORAGE: {Unit.GB_MONTH, Unit.REQUESTS_1K, Unit.GB},
        ProductFamily.BLOCK_STORAGE: {Unit.GB_MONTH, Unit.MONTH},
        ProductFamily.DATABASE_STORAGE: {Unit.GB_MONTH},
        ProductFamily.LOAD_BALANCER: {Unit.HOUR, Unit.LCU_HOUR, Unit.GB},
        ProductFamily.NAT_GATEWAY: {Unit.HOUR, Unit.GB},
        ProductFamily.CDN: {Unit.GB, Unit.REQUESTS_10K},
        ProductFamily.INTER_REGION_TRANSFER: {Unit.GB},
        ProductFamily.WAF: {Unit.MONTH, Unit.REQUESTS_1M, Unit.HOUR},
        ProductFamily.KEY_MANAGEMENT: {Unit.MONTH, Unit.REQUESTS_10K},
    }
    for row in bundled:
        assert row.unit in allowed[row.product_family], row
    # one unit per product across regions and options
    units = defaultdict(set)
    for row in bundled:
        units[(row.provider, row.sku, row.variant)].add(row.unit)
    assert {k: u for k, u in units.items() if len(u) > 1} == {}


def test_compute_rows_carry_specs_and_gpu_rows_gpu_specs(bundled):
    for row in bundled.rows(family="compute"):
        for name in COMPUTE_ATTRIBUTES:
            assert name in row.attributes, row
        assert row.attributes["vcpu"] > 0 and row.attributes["memory_gib"] > 0
        assert row.attributes["arch"] in ("x86_64", "arm64")
        if row.is_gpu:
            for name in GPU_ATTRIBUTES:
                assert row.attributes[name], row


def test_size_of_the_snapshot(bundled):
    on_demand = bundled.rows(family="compute", purchase_option="on_demand")
    assert len(on_demand) >= 1500


@pytest.mark.parametrize("provider", list(Provider))
def test_region_coverage(bundled, provider):
    regions = {r.region for r in bundled.rows(provider=provider, family="compute",
                                                   purchase_option="on_demand")}
    assert len(regions) >= 8
    infos = [region(provider, code) for code in regions]
    assert all(infos), "every priced region is in the region table"
    groups = Counter(i.group for i in infos)
    assert groups["us"] and groups["uk"] and groups["apac"]
    assert len({i.country for i in infos if i.group == "eu"}) >= 2


def test_every_row_is_in_a_covered_region(bundled):
    for row in bundled:
        assert (row.provider, row.region) in REGIONS, row


@pytest.mark.parametrize("provider, prefixes", [
    ("aws", ("t3.", "t4g.", "m7g.", "m7i.", "c7g.", "r7g.", "m6i.", "c6i.", "r6i.")),
    ("azure", ("Standard_D2s_v5", "Standard_E2s_v5", "Standard_F2s_v2", "Standard_B2s",
               "Standard_D2s_v4")),
    ("gcp", ("e2-standard-", "n2-standard-", "n2d-standard-", "c2-standard-")),
])
def test_families_present(bundled, provider, prefixes):
    skus = {r.sku for r in bundled.rows(provider=provider, family="compute")}
    for prefix in prefixes:
        assert any(s.startswith(prefix) for s in skus), prefix


@pytest.mark.parametrize("provider, families", [
    ("aws", ("g5.", "g6.", "p4d.", "p5.")),
    ("azure", ("Standard_NC", "Standard_ND")),
    ("gcp", ("a2-", "a3-", "g2-")),
])
def test_gpu_families_present_with_gpu_attributes(bundled, provider, families):
    gpus = [r for r in bundled.rows(provider=provider, family="compute") if r.is_gpu]
    for prefix in families:
        assert any(r.sku.startswith(prefix) for r in gpus), prefix


def test_aws_p4_and_p5_prices_postdate_the_june_2025_cut(bundled):
    for row in bundled.rows(provider="aws", family="compute"):
        if row.sku.startswith(("p4d.", "p5.")):
            assert row.as_of >= date(2025, 6, 5), row


def test_spot_and_commitments_where_sourced(bundled):
    options = Counter(r.purchase_option for r in bundled.rows(family="compute"))
    assert options[PurchaseOption.SPOT] > 0
    assert options[PurchaseOption.RESERVED_1Y] > 0 and options[PurchaseOption.RESERVED_3Y] > 0
    for row in bundled.rows(family="compute"):
        if row.purchase_option is not PurchaseOption.ON_DEMAND:
            (od,) = [r for r in bundled.lookup(row.provider, row.sku, row.region)
                     if r.product_family is ProductFamily.COMPUTE] or [None]
            if od is not None:
                assert row.price_usd < od.price_usd, row
