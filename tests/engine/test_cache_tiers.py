"""A replicated cache is priced as the tier that replicates, where the catalog has it.

Memorystore's Basic tier has no replica; its Standard tier is a primary and a replica sold
as one. The design priced an HA cache as two Basic instances labelled "primary + replica":
a configuration Memorystore does not offer, dearer than Standard below 5 GB and from 36 GB.
Memorystore bills the GB provisioned at its capacity tier's rate: a cache is priced at its
own size, not at the next size the catalog once listed (a 64 GB cache had been billed as
100 GB). Real catalog.
"""

from __future__ import annotations

from infra_mind.engine.assess import assess
from tests.engine.test_properties import catalog


def cache_line(provider: str, region: str, memory_gb: float, target: float = 99.9):
    req = {"name": "cache", "availability_target": target,
           "preferences": {"providers": [provider], "regions": [region],
                           "managed_services": True},
           "workloads": [{"name": "sessions", "type": "cache", "memory_gb": memory_gb}]}
    result = assess(req, catalog())
    (option,) = result.options
    lines = [i for i in option.line_items if i.workload == "sessions"]
    return lines, result


def test_memorystore_ha_is_the_standard_tier_sold_as_one():
    # 0.8 GB x 1.25 = 1 GiB: Standard M1 (46.72 a GB-month) against two Basic (35.77 each)
    (line,), _ = cache_line("gcp", "us-central1", 0.8)
    assert (line.sku, line.quantity, line.unit) == ("redis-standard-m1", 1.0, "GB-month")
    assert line.monthly_usd == 46.72
    assert "primary + replica, sold as one" in line.note
    # M3: Standard is exactly two Basic; the tier that replicates is named
    (line,), _ = cache_line("gcp", "us-central1", 16)
    assert (line.sku, line.quantity) == ("redis-standard-m3", 20.0)


def test_memorystore_bills_the_size_provisioned_at_its_tier_rate():
    # 64 GB x 1.25 = 80 GB: M4 (36-100 GB) at 25.55 a GB-month, not the 100 GB size
    (line,), _ = cache_line("gcp", "us-central1", 64)
    assert (line.sku, line.quantity, line.monthly_usd) == ("redis-standard-m4", 80.0, 2044.0)
    assert line.note.startswith("80 GB provisioned (>= 80 GiB, whole GB), billed at "
                                "capacity tier M4's rate for 36-100 GB instances")
    # whole GB: 1.5 GiB is a 2 GB instance at M1's rate
    (line,), _ = cache_line("gcp", "us-central1", 1.2, target=99.5)
    assert (line.sku, line.quantity, line.monthly_usd) == ("redis-basic-m1", 2.0, 71.54)
    # 2 GB x 1.25 = 2.5 GiB: 3 GB at M1's rate is $107.31, 5 GB at M2's $98.55: the larger
    # instance costs less
    (line,), _ = cache_line("gcp", "us-central1", 2, target=99.5)
    assert (line.sku, line.quantity, line.monthly_usd) == ("redis-basic-m2", 5.0, 98.55)
    assert line.note == ("5 GB provisioned for 2.5 GiB: at capacity tier M2's rate for 5-10 GB "
                         "instances it costs less than 3 GB at a smaller tier's")
    # Memorystore's largest instance is 300 GB: above it the design has no managed cache
    lines, result = cache_line("gcp", "us-central1", 250)
    assert all(i.component == "Redis nodes (self-managed)" for i in lines)
    assert any("no managed cache node with >= 312.5 GiB" in w for w in result.warnings)


def test_one_node_without_ha_and_two_where_a_node_takes_a_replica():
    (line,), _ = cache_line("gcp", "us-central1", 0.8, target=99.5)
    assert (line.sku, line.quantity) == ("redis-basic-m1", 1.0)
    (line,), _ = cache_line("aws", "us-east-1", 4)
    assert line.quantity == 1460.0 and line.note.startswith("2 x 730 h; primary + replica")


def test_premium_is_not_taken_for_a_replica_alone():
    # 20 GiB on Azure: no Basic or Standard cache that large in the catalog, only Premium
    # P3 (26 GB); the design runs Redis on machines and says so, as before
    lines, result = cache_line("azure", "eastus", 16)
    assert not any(i.sku.startswith("Premium") for i in lines)
    assert any("no managed cache node" in w for w in result.warnings)


def test_azure_ha_is_never_two_basic_caches():
    # Basic does not replicate: two Basic C4 were priced as an 8 GiB cache's "primary +
    # replica". HA on Azure is its Standard tier (C3, 6 GB, the one size the catalog
    # has), else Redis on machines, said in a warning and left out of the comparison
    (line,), _ = cache_line("azure", "eastus", 4)
    assert (line.sku, line.quantity) == ("Standard_C3", 730.0)
    assert "primary + replica, sold as one" in line.note
    lines, result = cache_line("azure", "eastus", 8)
    assert not any(i.sku.startswith("Basic") for i in lines)
    assert all(i.component == "Redis nodes (self-managed)" for i in lines)
    assert any("sessions: no managed cache node with >= 10 GiB" in w for w in result.warnings)
    assert result.options[0].compared_cost_usd == 0.0  # the cache, left out of it
    # without HA one Basic cache is what is asked
    (line,), _ = cache_line("azure", "eastus", 8, target=99.5)
    assert (line.sku, line.quantity) == ("Basic_C4", 730.0)
