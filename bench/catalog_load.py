"""Time loading the bundled catalog and looking prices up: ``python bench/catalog_load.py``.

Prints the snapshot's size and rows, the cost of a fresh interpreter that imports the
catalog and loads it (what a CLI call pays), through the cache of parsed snapshots
(``snapshot_cache``, in a temporary directory, warmed first) and without it, the in-process
load both ways beside what parsing the file alone costs (``json.loads``: the floor of a
load without the cache, and the same-run baseline), the first family and SKU lookups
(which build the index and the rows they return), and the cost of a lookup and a search.
Asserts nothing (tests never assert on wall-clock time). Goals: under 300 ms and 30 MB
(issue #11); loading close to the parse cost, and well under it through the cache
(issue #14).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from infra_mind.catalog.snapshot import BUNDLED_PATH
from infra_mind.catalog.store import Catalog

COLD = ("from infra_mind.catalog.store import Catalog; "
        "c = Catalog.load(cache={cache}); c.lookup('aws', 'm5.large', 'us-east-1')")


def _load_all(cache: bool) -> tuple[Catalog, float]:
    """The catalog, and the seconds ``Catalog.load`` alone took."""
    start = time.perf_counter()
    catalog = Catalog.load(BUNDLED_PATH, cache=cache)
    loaded = time.perf_counter() - start
    catalog.family_rows("aws", "us-east-1", "compute")  # builds the index
    catalog.lookup("aws", "m5.large", "us-east-1")
    return catalog, loaded


def _parse_ms() -> float:
    """``json.loads`` of the snapshot, with the collector paused as the loader pauses it."""
    raw = BUNDLED_PATH.read_bytes()
    gc.disable()
    try:
        start = time.perf_counter()
        json.loads(raw)
        return (time.perf_counter() - start) * 1000
    finally:
        gc.enable()


def main() -> None:
    with tempfile.TemporaryDirectory() as cache_home:
        # the cache in a directory of its own (XDG_CACHE_HOME), warmed by the first load
        os.environ["XDG_CACHE_HOME"] = cache_home
        Catalog.load(BUNDLED_PATH)
        _measure()


def _measure() -> None:
    size_mb = BUNDLED_PATH.stat().st_size / 1e6
    cold: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(5):  # a fresh interpreter each time: import + load, as a CLI call pays
        for cache in (True, False):  # alternated: both see the same load on the machine
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", COLD.format(cache=cache)], check=True)
            cold[cache].append((time.perf_counter() - start) * 1000)
    loads: dict[bool, list[float]] = {True: [], False: []}
    load_only: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    parses = []
    for _ in range(15):
        parses.append(_parse_ms())
        for cache in (True, False):
            start, start_cpu = time.perf_counter(), time.process_time()
            catalog, loaded = _load_all(cache)
            loads[cache].append((time.perf_counter() - start) * 1000)
            load_only[cache].append(loaded * 1000)
            cpu[cache].append((time.process_time() - start_cpu) * 1000)
    keys = [(r.provider, r.sku, r.region, r.purchase_option) for r in catalog][:2000]
    start = time.perf_counter()
    for provider, sku, region, option in keys:
        catalog.lookup(provider, sku, region, option)
    per_lookup_us = (time.perf_counter() - start) / len(keys) * 1e6
    start = time.perf_counter()
    for _ in range(200):
        catalog.search("aws", "us-east-1", min_vcpu=4, min_memory_gib=16)
    per_search_us = (time.perf_counter() - start) / 200 * 1e6
    stats = catalog.stats()
    print(f"snapshot: {BUNDLED_PATH.name}, {size_mb:.1f} MB, {len(catalog)} rows "
          f"({stats.by_basis.get('list', 0)} list, {stats.by_basis.get('derived', 0)} derived)")
    for cache, way in ((True, "through the cache"), (False, "without the cache")):
        print(f"interpreter start + import + load + one lookup, {way}: median "
              f"{statistics.median(cold[cache]):.0f} ms")
    print(f"json.loads of the file alone: median {statistics.median(parses):.1f} ms")
    for cache, way in ((True, "through the cache"), (False, "without the cache")):
        print(f"Catalog.load, {way}: median {statistics.median(load_only[cache]):.1f} ms")
        print(f"  + first family and SKU lookups (the index): median "
              f"{statistics.median(loads[cache]):.1f} ms (CPU "
              f"{statistics.median(cpu[cache]):.1f} ms), max {max(loads[cache]):.1f} ms")
    print(f"lookup: {per_lookup_us:.1f} us each; search: {per_search_us:.0f} us each")


if __name__ == "__main__":
    main()
