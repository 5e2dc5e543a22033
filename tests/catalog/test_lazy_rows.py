"""The fast path (``Catalog.load``: checked columns, rows built on first use) against the
checked path (every row made by the validating ``PriceRow`` constructor): the same rows,
and the same answer to every kind of lookup; family and SKU lookups also against a plain
scan of the checked rows, which shares no code with the index."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date

import pytest

from infra_mind.catalog.model import (
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
)
from infra_mind.catalog.snapshot import BUNDLED_PATH, read_snapshot, write_snapshot
from infra_mind.catalog.store import Catalog, normalize_sku
from tests.factories import make_row


@pytest.fixture(scope="module")
def both() -> tuple[Catalog, Catalog]:
    """(fast, checked) over the bundled snapshot."""
    fast = Catalog.load(BUNDLED_PATH)
    checked = Catalog([PriceRow(*row) for row in read_snapshot(BUNDLED_PATH).rows])
    return fast, checked


def outcome(catalog: Catalog, *args, **kwargs) -> list[PriceRow] | str:
    try:
        return catalog.price(*args, **kwargs)
    except CatalogError as exc:
        return f"{type(exc).__name__}: {exc}"


def test_rows_built_one_by_one_equal_rows_built_at_once_and_validated():
    one_by_one = read_snapshot(BUNDLED_PATH).table
    order = list(range(len(one_by_one)))
    random.Random(14).shuffle(order)
    some = [one_by_one.row(i) for i in order[:500]]  # singly, in no order
    rest = one_by_one.rows_at(order[500:])  # the others in one go
    at_once = read_snapshot(BUNDLED_PATH).rows
    assert dict(zip(order, some + rest, strict=True)) == dict(enumerate(at_once))
    assert one_by_one.all_rows() == at_once
    # the validating constructor accepts each row and makes the same one
    assert [PriceRow(*row) for row in at_once] == at_once


def test_loading_builds_one_row_per_product_and_a_lookup_only_what_it_returns(tmp_path):
    rows = [make_row(region=region, price_usd=price)
            for region, price in (("us-east-1", 0.096), ("eu-west-1", 0.107),
                                  ("ap-south-1", 0.101))]
    rows.append(make_row(sku="m5.xlarge", price_usd=0.192,
                         attributes={"vcpu": 4, "memory_gib": 16.0, "arch": "x86_64"}))
    write_snapshot(tmp_path / "snap.json", rows, date(2026, 12, 6))
    catalog = Catalog.load(tmp_path / "snap.json")
    table = read_snapshot(tmp_path / "snap.json").table

    def built(of) -> int:
        return sum(row is not None for row in of._built)

    assert built(table) == 2  # the first row of each product, checked on load
    assert len(catalog) == 4
    (row,) = catalog.price("aws", "m5.large", "eu-west-1")
    assert row.price_usd == 0.107
    assert built(catalog._table) == 3
    assert sorted(r.price_usd for r in catalog) == [0.096, 0.101, 0.107, 0.192]
    assert built(catalog._table) == 4


def test_every_family_and_sku_lookup_gives_the_rows_a_plain_scan_finds(both):
    fast, checked = both
    # the meaning of the two lookups, written out over the checked rows (no index)
    family: dict[tuple, list[PriceRow]] = defaultdict(list)
    sku: dict[tuple, list[PriceRow]] = defaultdict(list)
    for row in checked:
        family[(row.provider, row.region, row.product_family, row.purchase_option)].append(row)
        sku[(row.provider, normalize_sku(row.provider, row.sku), row.region,
             row.purchase_option)].append(row)
    for provider in Provider:
        for region in [*checked.regions(provider), "mars-1"]:
            for product_family in ProductFamily:
                for option in PurchaseOption:
                    key = (provider, region, product_family, option)
                    assert fast.family_rows(*key) == sorted(
                        family.get(key, []), key=lambda r: (r.price_usd, r.sku)), key
    for (provider, _skey, region, option), rows in sku.items():
        expected = sorted(rows, key=lambda r: (r.variant, r.tier_start or 0.0))
        assert fast.lookup(provider, rows[0].sku.upper(), region, option) == expected
    assert fast.lookup("aws", "m5.large", "mars-1") == []
    assert fast.lookup("aws", "no-such-sku", "us-east-1") == []


def test_regions_providers_and_search_agree(both):
    fast, checked = both
    assert fast.providers() == checked.providers() == sorted(
        {r.provider for r in checked}, key=lambda p: p.value)
    assert fast.regions() == checked.regions() == sorted({r.region for r in checked})
    for provider in Provider:
        assert fast.regions(provider) == checked.regions(provider) == sorted(
            {r.region for r in checked if r.provider is provider})
        for region in fast.regions(provider):
            assert fast.search(provider, region, min_vcpu=4, min_memory_gib=16) == \
                checked.search(provider, region, min_vcpu=4, min_memory_gib=16)


def test_prices_and_their_refusals_agree(both):
    fast, checked = both
    keys = sorted({(r.provider, r.sku, r.region) for r in checked}, key=str)
    for provider, sku, region in random.Random(11).sample(keys, 150):
        for where in (region, "us-east-1", "westeurope", "europe-west1", "mars-1"):
            for option in (PurchaseOption.ON_DEMAND, PurchaseOption.SPOT,
                           PurchaseOption.RESERVED_3Y):
                assert outcome(fast, provider, sku.upper(), where, option) == \
                    outcome(checked, provider, sku.upper(), where, option), (sku, where)
    for provider in Provider:
        for name in ("m5.lage", "Standard_D2s_v9", "n2-standard-3", ""):
            assert outcome(fast, provider, name, "us-east-1") == \
                outcome(checked, provider, name, "us-east-1")
    database = dict(family=ProductFamily.DATABASE, attributes={"engine": "postgres"})
    assert outcome(fast, "aws", "db.m6g.large", "us-east-1", **database) == \
        outcome(checked, "aws", "db.m6g.large", "us-east-1", **database)


def test_statistics_agree(both):
    fast, checked = both
    assert fast.stats() == checked.stats()
    assert list(fast) == list(checked)
