"""Time loading the bundled catalog and looking prices up: ``python bench/catalog_load.py``.

Prints figures; asserts nothing (tests never assert on wall-clock time).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from infra_mind.catalog.snapshot import BUNDLED_PATH
from infra_mind.catalog.store import Catalog


def main() -> None:
    cold = []
    for _ in range(5):  # a fresh interpreter each time: import + load, as a CLI call pays
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c",
                        "from infra_mind.catalog.store import Catalog; Catalog.load()"],
                       check=True)
        cold.append((time.perf_counter() - start) * 1000)
    loads = []
    for _ in range(20):
        start = time.perf_counter()
        catalog = Catalog.load(BUNDLED_PATH)
        loads.append((time.perf_counter() - start) * 1000)
    keys = [(r.provider, r.sku, r.region, r.purchase_option) for r in catalog][:2000]
    start = time.perf_counter()
    for provider, sku, region, option in keys:
        catalog.lookup(provider, sku, region, option)
    per_lookup_us = (time.perf_counter() - start) / len(keys) * 1e6
    start = time.perf_counter()
    for _ in range(200):
        catalog.search("aws", "us-east-1", min_vcpu=4, min_memory_gib=16)
    per_search_us = (time.perf_counter() - start) / 200 * 1e6
    print(f"rows: {len(catalog)}")
    print(f"interpreter start + import + load: median {statistics.median(cold):.0f} ms")
    print(f"load (in process): median {statistics.median(loads):.1f} ms, "
          f"max {max(loads):.1f} ms")
    print(f"lookup: {per_lookup_us:.1f} us each; search: {per_search_us:.0f} us each")


if __name__ == "__main__":
    main()
