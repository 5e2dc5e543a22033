"""Checks on the hand-curated general-purpose compute files.

compute_aws_karpenter.yaml: EC2 on-demand us-east-1 prices copied from Karpenter's generated
price table (aws/karpenter-provider-aws, pkg/providers/pricing/zz_generated.pricing_aws.go
at commit 031e72b6, "generated at 2026-01-19T13:23:24Z for us-east-1").

compute_azure_v5.yaml: Azure Dsv5/Esv5 Linux pay-as-you-go and Spot prices copied from the
Azure Retail Prices API snapshots recorded by andy-diericks/azure-pricing-radar.

Besides structural rules (known families and sizes, no duplicates, positive prices, right
architecture), a few prices are pinned to the value read in the source file; the comment
next to each names the file and the character offset it was read at.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from infra_mind.catalog.build.curated import CURATED_DIR, load_curated_file
from infra_mind.catalog.build.specs import AZURE_SIZES, EC2_FAMILIES, EC2_GPU_MODELS
from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, PurchaseOption, Unit
from infra_mind.catalog.regions import REGIONS

AWS_FILE = CURATED_DIR / "compute_aws_karpenter.yaml"
AZURE_FILE = CURATED_DIR / "compute_azure_v5.yaml"

KARPENTER_COMMIT = "031e72b6099630e960dacb88b48a7e9bb780945f"
GRAVITON = {"t4g", "m6g", "m7g", "m8g", "c6g", "c7g", "c8g", "r6g", "r7g", "r8g"}
#: Families priced in compute_gpu.yaml; this file must not price them a second time.
IN_COMPUTE_GPU = {"g5", "g6", "p4d", "p4de", "p5", "p5en"}
AZURE_BY_NAME = {s.arm_name: s for s in AZURE_SIZES}
#: Snapshot commits of the radar files, one per region (see the file header).
RADAR_COMMITS = {
    "westeurope": ("1b7f55446201ecb7bd3df5a9875afce68a27e6f7", date(2026, 8, 20)),
    "northeurope": ("8be40fbfbdd60640da1edfa17eb5f2d4ce0fcc0a", date(2026, 8, 19)),
    "francecentral": ("c06e72a87cf444d5d487719cced97261399b0885", date(2026, 8, 1)),
}


@pytest.fixture(scope="module")
def aws_rows() -> list[PriceRow]:
    return load_curated_file(AWS_FILE)


@pytest.fixture(scope="module")
def azure_rows() -> list[PriceRow]:
    return load_curated_file(AZURE_FILE)


def _price(rows: list[PriceRow], sku: str, region: str, option: PurchaseOption) -> float:
    found = [r.price_usd for r in rows
             if r.sku == sku and r.region == region and r.purchase_option is option]
    assert len(found) == 1, f"{sku} {region} {option}: {found}"
    return found[0]


# --- AWS: Karpenter us-east-1 table -------------------------------------------------------


def test_aws_row_count(aws_rows: list[PriceRow]) -> None:
    # 278 instance types were extracted; a small margin allows pruning, not silent loss.
    assert len(aws_rows) >= 270


def test_aws_rows_are_ec2_compute_on_demand_us_east_1(aws_rows: list[PriceRow]) -> None:
    for row in aws_rows:
        assert row.provider is Provider.AWS
        assert row.service == "AmazonEC2"
        assert row.product_family is ProductFamily.COMPUTE
        assert row.unit is Unit.HOUR
        assert row.purchase_option is PurchaseOption.ON_DEMAND
        assert row.region == "us-east-1", row.sku  # the table covers us-east-1 only
        assert row.as_of == date(2026, 1, 19)
        assert KARPENTER_COMMIT in row.source
        assert "generated 2026-01-19 for us-east-1" in row.source


def test_aws_families_are_carried_and_not_duplicated(aws_rows: list[PriceRow]) -> None:
    for row in aws_rows:
        family, size = row.sku.split(".")
        assert family in EC2_FAMILIES, row.sku
        assert row.attributes["family"] == family
        assert "metal" not in size, row.sku
        assert family not in IN_COMPUTE_GPU, row.sku


def test_aws_no_duplicates(aws_rows: list[PriceRow]) -> None:
    keys = Counter((r.sku, r.region, r.purchase_option) for r in aws_rows)
    assert [k for k, n in keys.items() if n > 1] == []


def test_aws_prices_and_specs_are_sane(aws_rows: list[PriceRow]) -> None:
    for row in aws_rows:
        assert row.price_usd > 0
        assert isinstance(row.attributes["vcpu"], int) and row.attributes["vcpu"] > 0
        assert isinstance(row.attributes["memory_gib"], float)
        assert row.attributes["memory_gib"] > 0


def test_aws_arch_matches_graviton(aws_rows: list[PriceRow]) -> None:
    for row in aws_rows:
        expected = "arm64" if row.attributes["family"] in GRAVITON else "x86_64"
        assert row.attributes["arch"] == expected, row.sku
    assert {r.attributes["family"] for r in aws_rows} >= GRAVITON


def test_aws_gpu_rows_carry_gpu_attributes(aws_rows: list[PriceRow]) -> None:
    gpu = [r for r in aws_rows if r.attributes["family"] in EC2_GPU_MODELS]
    assert {r.attributes["family"] for r in gpu} == {"g4dn", "g6e"}
    for row in gpu:
        assert row.attributes["gpu_model"] == EC2_GPU_MODELS[row.attributes["family"]]
        assert row.attributes["gpu_memory_gib"] == {"g4dn": 16.0, "g6e": 48.0}[
            row.attributes["family"]]
    counts = {r.sku: r.attributes["gpu_count"] for r in gpu}
    # aws.amazon.com/ec2/instance-types/g4/ and /g6e/
    assert counts["g4dn.xlarge"] == 1 and counts["g4dn.12xlarge"] == 4
    assert counts["g6e.12xlarge"] == 4 and counts["g6e.24xlarge"] == 4
    assert counts["g6e.48xlarge"] == 8


def test_aws_price_scales_with_vcpu_within_a_general_purpose_family(
        aws_rows: list[PriceRow]) -> None:
    """Non-burstable, non-GPU EC2 sizes cost the same per vCPU within a family; a copying
    slip would show up here. (Medium sizes are rounded in the source: 1% slack.)"""
    per_family: dict[str, list[float]] = {}
    for row in aws_rows:
        family = row.attributes["family"]
        if family in EC2_GPU_MODELS or family.startswith("t"):
            continue
        per_family.setdefault(family, []).append(row.price_usd / row.attributes["vcpu"])
    for family, rates in per_family.items():
        assert max(rates) / min(rates) < 1.01, family


@pytest.mark.parametrize(("sku", "price"), [
    # zz_generated.pricing_aws.go @031e72b6, read in the page at offset 0-16000 ("m5 family")
    ("m5.large", 0.096),
    # same file, page at offset 16000-32000 ("m6i family")
    ("m6i.large", 0.096),
    # page at offset 0-16000 ("c7g family"): the source rounds medium sizes
    ("c7g.medium", 0.0363),
    # page at offset 0-16000 ("g4dn family")
    ("g4dn.xlarge", 0.526),
    # page at offset 0-16000 ("g6e family")
    ("g6e.48xlarge", 30.13118),
    # page at offset 16000-32000 ("t4g family")
    ("t4g.nano", 0.0042),
    # page at offset 16000-32000 ("r8g family")
    ("r8g.48xlarge", 11.31072),
])
def test_aws_pinned_prices(aws_rows: list[PriceRow], sku: str, price: float) -> None:
    assert _price(aws_rows, sku, "us-east-1", PurchaseOption.ON_DEMAND) == pytest.approx(price)


# --- Azure: radar Retail Prices API snapshots ---------------------------------------------


def test_azure_row_count(azure_rows: list[PriceRow]) -> None:
    # 100 rows were extracted: 49 pay-as-you-go (3 regions x 17 sizes, minus the two
    # northeurope gaps) and 51 Spot; the margins allow pruning, not silent loss.
    assert len(azure_rows) >= 95
    options = Counter(r.purchase_option for r in azure_rows)
    assert options[PurchaseOption.ON_DEMAND] >= 46
    assert options[PurchaseOption.SPOT] >= 48


def test_azure_rows_are_vm_compute(azure_rows: list[PriceRow]) -> None:
    for row in azure_rows:
        assert row.provider is Provider.AZURE
        assert row.service == "Virtual Machines"
        assert row.product_family is ProductFamily.COMPUTE
        assert row.unit is Unit.HOUR
        assert row.purchase_option in (PurchaseOption.ON_DEMAND, PurchaseOption.SPOT)
        assert (Provider.AZURE, row.region) in REGIONS, row.region
        commit, as_of = RADAR_COMMITS[row.region]
        assert commit in row.source
        assert row.source.endswith("(Azure Retail Prices API snapshot)")
        assert row.as_of == as_of


def test_azure_skus_are_known_sizes(azure_rows: list[PriceRow]) -> None:
    for row in azure_rows:
        size = AZURE_BY_NAME.get(row.sku)
        assert size is not None, row.sku
        assert dict(row.attributes) == size.attributes()
        assert row.attributes["arch"] == "x86_64"


def test_azure_no_duplicates(azure_rows: list[PriceRow]) -> None:
    keys = Counter((r.sku, r.region, r.purchase_option) for r in azure_rows)
    assert [k for k, n in keys.items() if n > 1] == []


def test_azure_prices_positive_and_spot_below_pay_as_you_go(azure_rows: list[PriceRow]) -> None:
    payg = {(r.sku, r.region): r.price_usd for r in azure_rows
            if r.purchase_option is PurchaseOption.ON_DEMAND}
    for row in azure_rows:
        assert row.price_usd > 0
        if row.purchase_option is PurchaseOption.SPOT and (row.sku, row.region) in payg:
            assert row.price_usd < payg[(row.sku, row.region)], (row.sku, row.region)


def test_azure_price_per_vcpu_is_flat_within_a_series(azure_rows: list[PriceRow]) -> None:
    rates: dict[tuple[str, str, PurchaseOption], list[float]] = {}
    for row in azure_rows:
        key = (row.region, row.attributes["family"], row.purchase_option)
        rates.setdefault(key, []).append(row.price_usd / row.attributes["vcpu"])
    for key, values in rates.items():
        assert max(values) / min(values) < 1.001, key


@pytest.mark.parametrize(("sku", "region", "option", "price"), [
    # vm-eu-west.json @1b7f5544, offset ~112700, key DZH318Z08M9W/0094 ("D2s v5 Spot")
    ("Standard_D2s_v5", "westeurope", PurchaseOption.SPOT, 0.021252),
    # vm-eu-west.json @1b7f5544, offset ~112400, key DZH318Z08M9W/0092 ("D2s v5")
    ("Standard_D2s_v5", "westeurope", PurchaseOption.ON_DEMAND, 0.115),
    # vm-eu-west.json @1b7f5544, offset ~437000, key DZH318Z096SR/02FN ("E2s v5 Spot");
    # the same item appears in data/diffs/2026-08-20/2104-vm-eu-west.json
    ("Standard_E2s_v5", "westeurope", PurchaseOption.SPOT, 0.02809),
    # vm-northeurope.json @8be40fbf, offset ~116300, key DZH318Z08M9W/00CW ("D64s v5 Spot")
    ("Standard_D64s_v5", "northeurope", PurchaseOption.SPOT, 1.09431),
    # vm-northeurope.json @8be40fbf, offset ~415000, key DZH318Z096SR/02GN ("E96s v5 Spot")
    ("Standard_E96s_v5", "northeurope", PurchaseOption.SPOT, 2.316686),
    # vm-francecentral.json @c06e72a8, offset ~380800, key DZH318Z096SR/02B9 ("E96s v5 Spot")
    ("Standard_E96s_v5", "francecentral", PurchaseOption.SPOT, 1.312819),
    # vm-francecentral.json @c06e72a8, offset ~100300, key DZH318Z08M9W/00NC ("D2s v5 Spot")
    ("Standard_D2s_v5", "francecentral", PurchaseOption.SPOT, 0.020698),
])
def test_azure_pinned_prices(azure_rows: list[PriceRow], sku: str, region: str,
                             option: PurchaseOption, price: float) -> None:
    assert _price(azure_rows, sku, region, option) == pytest.approx(price)


def test_azure_northeurope_gaps_stay_absent(azure_rows: list[PriceRow]) -> None:
    """The northeurope snapshot has no pay-as-you-go item for these two sizes; they must not
    be filled in from another region or from the Spot price."""
    for sku in ("Standard_D48s_v5", "Standard_E8s_v5"):
        assert not [r for r in azure_rows if r.sku == sku and r.region == "northeurope"
                    and r.purchase_option is PurchaseOption.ON_DEMAND]
