"""p50 and p95 of ``assess`` over the examples, in process: ``python bench/engine.py``.

Prints figures; asserts nothing. The catalog is loaded once before timing, as a
long-running service would have it.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import yaml

from infra_mind.catalog.store import default_catalog
from infra_mind.engine.assess import assess
from infra_mind.engine.requirements import Requirements

ROOT = Path(__file__).resolve().parents[1]
RUNS = 20


def main() -> None:
    catalog = default_catalog()
    print(f"{'example':32} {'workloads':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        req = Requirements.model_validate(yaml.safe_load(path.read_text()))
        assess(req, catalog)  # warm caches
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            assess(req, catalog)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{path.stem:32} {len(req.workloads):>9} {statistics.median(times):>8.1f} "
              f"{p95:>8.1f}")


if __name__ == "__main__":
    main()
