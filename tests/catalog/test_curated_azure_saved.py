"""Checks of the rows read from the saved Azure Retail Prices API responses.

Source: github.com/GusLV12/sistema-citas-medicas @ 0d7bc6f9894ef5a4325507f80b3896bea773383c,
evidencias/P02/fuentes/precios_{vm,storage}.json, saved 2026-10-03. The exact-value checks
below were re-read from the JSON items at the character offsets given (read_file pages of
16,000 characters).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from infra_mind.catalog.build.curated import CURATED_DIR, load_curated, load_curated_file
from infra_mind.catalog.build.quality import row_key
from infra_mind.catalog.build.specs import AZURE_BY_NAME
from infra_mind.catalog.model import ProductFamily, Provider, PurchaseOption, Unit
from infra_mind.catalog.regions import REGIONS

PATH: Path = CURATED_DIR / "azure_eastus_saved_api.yaml"
SOURCE_PREFIX = ("https://github.com/GusLV12/sistema-citas-medicas/blob/"
                 "0d7bc6f9894ef5a4325507f80b3896bea773383c/evidencias/P02/fuentes/")


@pytest.fixture(scope="module")
def rows():
    return load_curated_file(PATH)


def _by(rows, family):
    return [r for r in rows if r.product_family is family]


def test_loads_and_is_part_of_the_curated_set(rows):
    assert len(rows) == 10
    keys = {row_key(r) for r in load_curated()}
    assert all(row_key(r) in keys for r in rows)


def test_every_row_is_azure_dated_and_sourced(rows):
    for r in rows:
        assert r.provider is Provider.AZURE
        assert r.as_of == date(2026, 10, 3)
        assert r.source.startswith(SOURCE_PREFIX)
        assert r.source.endswith("(saved Azure Retail Prices API response)")
        assert (Provider.AZURE, r.region) in REGIONS
        assert r.price_usd > 0


def test_no_duplicate_keys(rows):
    counts = Counter((*row_key(r), r.tier_start) for r in rows)
    assert [k for k, n in counts.items() if n > 1] == []


def test_vm_skus_are_known_sizes_with_their_specs(rows):
    vms = _by(rows, ProductFamily.COMPUTE)
    assert vms, "expected at least one VM row"
    for r in vms:
        size = AZURE_BY_NAME.get(r.sku.lower())
        assert size is not None, f"{r.sku} is not in specs.AZURE_SIZES"
        assert r.sku == size.arm_name
        assert dict(r.attributes) == size.attributes()
        assert r.unit is Unit.HOUR
        assert r.service == "Virtual Machines"


def test_spot_and_reserved_are_cheaper_than_on_demand(rows):
    # The saved VM response holds one Consumption query (Standard_B2s), so today this only
    # guards future additions: any spot / reserved row must undercut its on-demand price.
    by_sku: dict[tuple[str, str], dict[PurchaseOption, float]] = defaultdict(dict)
    for r in _by(rows, ProductFamily.COMPUTE):
        by_sku[(r.sku, r.region)][r.purchase_option] = r.price_usd
    for key, prices in by_sku.items():
        od = prices.get(PurchaseOption.ON_DEMAND)
        if PurchaseOption.SPOT in prices:
            assert od is not None and prices[PurchaseOption.SPOT] < od, key
        r1, r3 = prices.get(PurchaseOption.RESERVED_1Y), prices.get(PurchaseOption.RESERVED_3Y)
        if r1 is not None:
            assert od is not None and r1 < od, key
        if r3 is not None:
            assert r1 is not None and r3 < r1, key


def test_premium_disks_are_ordered_by_size(rows):
    disks = sorted(_by(rows, ProductFamily.BLOCK_STORAGE), key=lambda r: r.attributes["disk_gib"])
    assert [r.sku for r in disks] == [f"premium-ssd-p{n}" for n in (10, 15, 20, 30, 40)]
    assert [r.attributes["disk_gib"] for r in disks] == [128, 256, 512, 1024, 2048]
    prices = [r.price_usd for r in disks]
    assert prices == sorted(prices) and len(set(prices)) == len(prices)
    for r in disks:
        assert r.unit is Unit.MONTH and r.attributes["storage_class"] == "ssd"


def test_blob_tiers_are_contiguous(rows):
    tiers: dict[str, list] = defaultdict(list)
    for r in _by(rows, ProductFamily.OBJECT_STORAGE):
        assert r.unit is Unit.GB_MONTH
        tiers[r.sku].append(r)
    assert set(tiers) == {"blob-hot-lrs", "blob-cool-lrs"}
    hot = sorted(tiers["blob-hot-lrs"], key=lambda r: r.tier_start)
    assert hot[0].tier_start == 0 and hot[-1].tier_end is None
    for a, b in pairwise(hot):
        assert a.tier_end == b.tier_start
        assert b.price_usd < a.price_usd
    assert {r.attributes["storage_class"] for r in hot} == {"standard"}
    (cool,) = tiers["blob-cool-lrs"]
    assert cool.tier_start is None and cool.tier_end is None
    assert cool.attributes["storage_class"] == "infrequent"
    assert cool.price_usd < hot[0].price_usd


def _price(rows, sku, tier_start=None):
    (hit,) = [r for r in rows if r.sku == sku and r.tier_start == tier_start]
    return hit.price_usd


@pytest.mark.parametrize(("sku", "tier_start", "expected"), [
    # precios_vm.json offset 0, Items[0]: "Virtual Machines BS Series" B2s, 1 Hour
    ("Standard_B2s", None, 0.0416),
    # precios_storage.json page at offset 624000: "P10 LRS Disk", Premium SSD Managed Disks
    ("premium-ssd-p10", None, 19.71),
    # precios_storage.json page at offset 272000: "P15 LRS Disk", Premium SSD Managed Disks
    ("premium-ssd-p15", None, 38.012142),
    # precios_storage.json page at offset 720000: "P20 LRS Disk", Premium SSD Managed Disks
    ("premium-ssd-p20", None, 73.22),
    # precios_storage.json page at offset 128000: "P30 LRS Disk", Premium SSD Managed Disks
    ("premium-ssd-p30", None, 135.17),
    # precios_storage.json page at offset 432000: "P40 LRS Disk", Premium SSD Managed Disks
    ("premium-ssd-p40", None, 259.0457),
    # precios_storage.json page at offset 496000 (~509000): General Block Blob v2
    # "Hot LRS Data Stored", tierMinimumUnits 0 / 51200 / 512000
    ("blob-hot-lrs", 0.0, 0.0208),
    ("blob-hot-lrs", 51200.0, 0.019968),
    ("blob-hot-lrs", 512000.0, 0.019136),
    # precios_storage.json page at offset 640000: General Block Blob v2 "Cool LRS Data Stored"
    ("blob-cool-lrs", None, 0.0152),
])
def test_exact_values_reread_from_the_saved_responses(rows, sku, tier_start, expected):
    assert _price(rows, sku, tier_start) == expected
