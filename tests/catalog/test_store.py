from datetime import date

import pytest

from infra_mind.catalog.model import ProductFamily, Provider, PurchaseOption, Unit
from infra_mind.catalog.snapshot import write_snapshot
from infra_mind.catalog.store import (
    Catalog,
    LookupFailed,
    active_snapshot_path,
    default_catalog,
    normalize_sku,
)
from infra_mind.config import CatalogSettings
from tests.factories import make_row


@pytest.fixture()
def small() -> Catalog:
    db = dict(product_family=ProductFamily.DATABASE, service="AmazonRDS", sku="db.m6g.large")
    return Catalog([
        make_row(),
        make_row(sku="m5.xlarge", price_usd=0.192,
                 attributes={"vcpu": 4, "memory_gib": 16.0, "arch": "x86_64"}),
        make_row(sku="m7g.large", price_usd=0.0816,
                 attributes={"vcpu": 2, "memory_gib": 8.0, "arch": "arm64"}),
        make_row(sku="g5.xlarge", price_usd=1.006,
                 attributes={"vcpu": 4, "memory_gib": 16.0, "arch": "x86_64", "gpu_count": 1,
                             "gpu_model": "A10G", "gpu_memory_gib": 24.0}),
        make_row(region="eu-west-1", price_usd=0.107),
        make_row(purchase_option=PurchaseOption.SPOT, price_usd=0.04),
        make_row(**db, price_usd=0.168, attributes={"engine": "postgres", "deployment": "single",
                                                     "vcpu": 2, "memory_gib": 8}),
        make_row(**db, price_usd=0.336, attributes={"engine": "postgres", "deployment": "ha",
                                                     "vcpu": 2, "memory_gib": 8}),
        make_row(product_family=ProductFamily.EGRESS, unit=Unit.GB, sku="internet-egress",
                 attributes={}, tier_start=0.0, tier_end=10240.0, price_usd=0.09),
        make_row(product_family=ProductFamily.EGRESS, unit=Unit.GB, sku="internet-egress",
                 attributes={}, tier_start=10240.0, tier_end=None, price_usd=0.085),
        make_row(provider=Provider.AZURE, service="Virtual Machines", sku="Standard_D2s_v5",
                 region="eastus"),
    ], generated_at=date(2026, 11, 28))


def test_price_finds_one_row(small):
    (row,) = small.price("aws", "m5.large", "us-east-1")
    assert row.price_usd == 0.096
    (spot,) = small.price("aws", "M5.LARGE", "us-east-1", "spot")
    assert spot.price_usd == 0.04


@pytest.mark.parametrize("name", ["Standard_D2s_v5", "standard_d2s_v5", "D2s_v5"])
def test_azure_answers_to_arm_names_with_or_without_prefix(small, name):
    assert small.price("azure", name, "eastus")[0].sku == "Standard_D2s_v5"


def test_unknown_sku_names_the_closest(small):
    with pytest.raises(LookupFailed, match=r"unknown aws SKU 'm5.lage'; closest: m5.large"):
        small.price("aws", "m5.lage", "us-east-1")


def test_known_sku_elsewhere_says_where_it_is_priced(small):
    with pytest.raises(LookupFailed, match="priced in: eu-west-1, us-east-1"):
        small.price("aws", "m5.large", "ap-south-1")
    with pytest.raises(LookupFailed, match="priced there as: on_demand"):
        small.price("aws", "m5.xlarge", "us-east-1", "reserved_3y")


def test_variants_must_be_chosen(small):
    with pytest.raises(LookupFailed, match=r"2 variants.*deployment"):
        small.price("aws", "db.m6g.large", "us-east-1")
    (ha,) = small.price("aws", "db.m6g.large", "us-east-1",
                        attributes={"engine": "postgres", "deployment": "ha"})
    assert ha.price_usd == 0.336


def test_tiers_come_back_in_order(small):
    tiers = small.price("aws", "internet-egress", "us-east-1")
    assert [(t.tier_start, t.price_usd) for t in tiers] == [(0.0, 0.09), (10240.0, 0.085)]


def test_search_filters_and_sorts_cheapest_first(small):
    assert [r.sku for r in small.search("aws", "us-east-1")] == [
        "m7g.large", "m5.large", "m5.xlarge", "g5.xlarge"]
    assert [r.sku for r in small.search("aws", "us-east-1", min_vcpu=4)] == [
        "m5.xlarge", "g5.xlarge"]
    assert [r.sku for r in small.search("aws", "us-east-1", gpu=True)] == ["g5.xlarge"]
    assert [r.sku for r in small.search("aws", "us-east-1", gpu=False, arch="arm64")] == [
        "m7g.large"]
    assert small.search("aws", "us-east-1", min_gpu_memory_gib=48) == []


def test_stats_count_rows_and_dates(small):
    s = small.stats()
    assert s.rows == 11
    assert s.by_provider == {"aws": 10, "azure": 1}
    assert s.on_demand_compute_rows == 6
    assert s.oldest_as_of == s.newest_as_of == date(2026, 9, 6)


def test_normalize_sku():
    assert normalize_sku(Provider.AZURE, " Standard_E4s_v5 ") == "e4s_v5"
    assert normalize_sku(Provider.AWS, "M5.Large") == "m5.large"


def test_snapshot_choice_order(tmp_path, monkeypatch):
    local = tmp_path / "data" / "catalog" / "snapshot.json"
    assert active_snapshot_path().name == "snapshot.json"
    assert "infra_mind" in str(active_snapshot_path())  # bundled
    write_snapshot(local, [make_row(price_usd=0.5)], date(2026, 11, 28))
    assert active_snapshot_path().resolve() == local.resolve()
    assert Catalog.load().price("aws", "m5.large", "us-east-1")[0].price_usd == 0.5
    other = tmp_path / "other.json"
    write_snapshot(other, [make_row(price_usd=0.7)], date(2026, 11, 28))
    monkeypatch.setenv("INFRA_MIND_CATALOG", str(other))
    chosen = CatalogSettings().infra_mind_catalog  # the setting, read when asked
    assert Catalog.load(chosen).price("aws", "m5.large", "us-east-1")[0].price_usd == 0.7
    # one catalog per snapshot in a process: a changed choice needs no restart
    assert default_catalog(chosen).price("aws", "m5.large", "us-east-1")[0].price_usd == 0.7
    assert default_catalog().price("aws", "m5.large", "us-east-1")[0].price_usd == 0.5


def test_a_name_shared_by_a_machine_and_a_database_means_the_machine():
    vm = make_row(provider=Provider.AZURE, service="Virtual Machines", sku="Standard_B2s",
                  region="eastus", price_usd=0.0416)
    db = make_row(provider=Provider.AZURE, service="Azure Database for MySQL", sku="Standard_B2s",
                  region="eastus", product_family=ProductFamily.DATABASE, price_usd=0.0680,
                  attributes={"engine": "mysql", "deployment": "single", "vcpu": 2,
                              "memory_gib": 4})
    cat = Catalog([vm, db])
    assert cat.price("azure", "B2s", "eastus")[0].price_usd == 0.0416
    (row,) = cat.price("azure", "B2s", "eastus", family="database")
    assert row.attributes["engine"] == "mysql"
    other = make_row(provider=Provider.AZURE, service="Azure Database for PostgreSQL",
                     sku="Standard_B1ms", region="eastus", product_family=ProductFamily.DATABASE,
                     price_usd=0.02, attributes={"engine": "postgres", "deployment": "single",
                                                 "vcpu": 1, "memory_gib": 2})
    storage = make_row(provider=Provider.AZURE, service="Storage", sku="Standard_B1ms",
                       region="eastus", product_family=ProductFamily.DATABASE_STORAGE,
                       unit=Unit.GB_MONTH, price_usd=0.115, attributes={})
    with pytest.raises(LookupFailed, match="several families"):
        Catalog([other, storage]).price("azure", "B1ms", "eastus")
