"""Cloud SQL is priced on a shape near the database's need, as Cloud SQL bills it.

Cloud SQL bills vCPU-hours and memory GiB-hours on custom shapes (1 or an even number of
vCPUs to 96, up to 6.5 GiB a vCPU). The catalog listed 1, 2, 4, 8, 16, 32 and 64 vCPUs
only: a design SPA's 8-vCPU, 64 GiB database took 16 vCPUs and 104 GiB ($2,230.50 a month
HA) where 10 vCPUs and 65 GiB serve it ($1,267 at the same rates); a logistics tracking
database of 18.75 vCPUs and 150 GiB took 32 vCPUs ($4,055.30) where 24 serve it. Real
catalog.
"""

from __future__ import annotations

import pytest

from infra_mind.engine.assess import assess


def cloud_sql(**db):
    req = {"name": "db", "availability_target": 99.9,
           "preferences": {"providers": ["gcp"], "regions": ["us-central1"]},
           "workloads": [{"name": "docs-db", "type": "database", "engine": "postgres",
                          "storage_gb": 900, **db}]}
    (option,) = assess(req).options
    (line,) = [i for i in option.line_items if i.component.startswith("managed postgres")]
    return line


def test_a_memory_heavy_database_takes_the_fewest_vcpus_that_hold_its_memory():
    line = cloud_sql(vcpu=8, memory_gb=64)
    # 64 GiB needs 10 vCPUs at 6.5 GiB a vCPU: 10 x 0.0826 + 65 x 0.014 (HA)
    assert line.sku == "db-custom-10-66560"
    assert line.unit_price_usd == pytest.approx(10 * 0.0826 + 65 * 0.014)


def test_cpu_beyond_the_old_sizes_takes_the_next_even_count():
    line = cloud_sql(vcpu=18.75, memory_gb=150)
    assert line.sku == "db-custom-24-159744"  # 24 x 6.5 = 156 GiB
