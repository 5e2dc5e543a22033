"""Month-by-month cost over the horizon, with a P10-P90 band over growth uncertainty.

The expected path grows traffic by the stated monthly rate; compute follows
traffic in whole machines, storage accumulates. The band comes from a seeded
simulation: each path draws its own monthly growth rate from a normal
distribution around the stated one (standard deviation half the rate plus one
percentage point, floored at -2% a month), so the same requirements always give
the same band.
"""

from __future__ import annotations

import hashlib
import random

from infra_mind.engine.design import OptionDesign
from infra_mind.engine.result import ProjectionMonth

PATHS = 200
MIN_GROWTH = -0.02


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def part_name(component: str, workload: str) -> str:
    """A component as the budget's words name it: "app servers of api"; a shared line by its
    component alone ("CDN data transfer")."""
    return component + ("" if workload in ("", "(shared)") else f" of {workload}")


def by_component(design: OptionDesign, growth_rate: float, month: int
                 ) -> tuple[tuple[str, float, float], ...]:
    """Where the money goes and what grows it: each component's monthly cost in month 1 and
    in ``month`` on the expected path, as (name, month 1, ``month``), the dearest first. A
    component sums its lines by name and workload (a CDN's price tiers are one), named by
    ``part_name``."""
    by: dict[str, tuple[float, float]] = {}
    for pl in design.lines:
        p, item = pl.part, pl.item
        name = part_name(item.component, item.workload)
        traffic = (1 + growth_rate) ** (month - 1) if p.follows_traffic else 1.0
        now, later = by.get(name, (0.0, 0.0))
        by[name] = (now + p.cost(1, 1.0), later + p.cost(month, traffic))
    return tuple(sorted(((name, round(a, 2), round(b, 2)) for name, (a, b) in by.items()),
                        key=lambda c: (-c[1], c[0])))


def project(design: OptionDesign, growth_rate: float, horizon: int, seed_text: str
            ) -> list[ProjectionMonth]:
    parts = [pl.part for pl in design.lines]
    moving = [p for p in parts if p.follows_traffic]
    still = [p for p in parts if not p.follows_traffic]
    rng = random.Random(_seed(seed_text))
    sigma = 0.5 * growth_rate + 0.01
    rates = sorted(max(MIN_GROWTH, rng.gauss(growth_rate, sigma)) for _ in range(PATHS))
    lo_i, hi_i = int(0.1 * (PATHS - 1)), int(0.9 * (PATHS - 1))
    # the option's total is a sum of lines rounded to cents; carry that rounding residue
    # (a few cents) into every month, so month 1 is the option's total exactly
    residue = design.monthly_usd - sum(p.cost(1, 1.0) for p in parts)
    out = []
    for month in range(1, horizon + 1):
        fixed = residue + sum(p.cost(month, 1.0) for p in still)
        expected = fixed + sum(p.cost(month, (1 + growth_rate) ** (month - 1)) for p in moving)
        # cost is monotone in the growth rate, so the 10th and 90th percentile paths by
        # rate are the 10th and 90th percentile by cost
        low = fixed + sum(p.cost(month, (1 + rates[lo_i]) ** (month - 1)) for p in moving)
        high = fixed + sum(p.cost(month, (1 + rates[hi_i]) ** (month - 1)) for p in moving)
        out.append(ProjectionMonth(month=month, monthly_cost_usd=round(expected, 2),
                                   p10=round(min(low, expected), 2),
                                   p90=round(max(high, expected), 2)))
    return out
