"""The providers' published SLAs for the parts of a request's path, and their product.

A request to a web service crosses the load balancer, one of the service's machines and
each database it uses; if any of them is down, the request fails. The monthly uptime the
providers commit to for each part therefore multiplies: three parts at 99.99%, 99.99% and
99.95% commit to 99.93% together, under a 99.95% or 99.99% target however many zones the
design spans. An SLA is what the provider credits when it misses, not a forecast; the
review says when the design's SLAs do not back its target (``review._reliability``).

Only what the table records is counted. A managed database whose SLA is not recorded
here (Azure Database for MySQL), a self-managed one (its failover is the team's) and
Azure's Application Gateway WAF_v2 where it is the load balancer are named and left out:
the product of the rest is then an upper bound of the whole path's, and a bound under the
target still says the target is not backed. Caches (an app can
serve without one, more slowly) and Kubernetes control planes (running pods keep serving
while the API server is away) are not on the path.

Each figure is from the provider's SLA page, read on 2026-12-06 (``SOURCES``); AWS's
pages give the date they were last updated.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the path and its SLA, monthly uptime in percent."""

    name: str  # e.g. "Amazon RDS Multi-AZ (ledger-db)"
    percent: float


#: (provider, part) -> (what the provider calls it, monthly uptime %). Parts: the load
#: balancer; machines in two or more zones; one machine; a managed database with a
#: standby in another zone, per engine.
SLAS: dict[tuple[str, str], tuple[str, float]] = {
    ("aws", "load_balancer"): ("Elastic Load Balancing, Multi-AZ", 99.99),
    ("aws", "machines_in_zones"): ("EC2 instances across availability zones", 99.99),
    ("aws", "machine"): ("a single EC2 instance", 99.5),
    ("aws", "database_ha:postgres"): ("Amazon RDS Multi-AZ", 99.95),
    ("aws", "database_ha:mysql"): ("Amazon RDS Multi-AZ", 99.95),
    ("azure", "load_balancer"): ("Azure Load Balancer Standard", 99.99),
    ("azure", "machines_in_zones"): ("virtual machines across availability zones", 99.99),
    ("azure", "machine"): ("a single virtual machine on premium SSD", 99.9),
    ("azure", "database_ha:postgres"): (
        "Azure Database for PostgreSQL flexible server, zone-redundant HA", 99.99),
    ("gcp", "load_balancer"): ("Cloud Load Balancing, Premium Tier", 99.99),
    ("gcp", "machines_in_zones"): ("Compute Engine instances in multiple zones", 99.99),
    ("gcp", "machine"): ("a single Compute Engine instance", 99.9),
    ("gcp", "database_ha:postgres"): ("Cloud SQL Enterprise edition with HA", 99.95),
    ("gcp", "database_ha:mysql"): ("Cloud SQL Enterprise edition with HA", 99.95),
}

#: Where each figure was read (2026-12-06).
SOURCES = {
    "aws": ["https://aws.amazon.com/elasticloadbalancing/sla/ (updated 2022-07-25: Multi-AZ "
            "Load Balancer SLA)",
            "https://aws.amazon.com/compute/sla/ (Region-Level SLA: instances across two or "
            "more AZs; Instance-Level SLA: 99.5%)",
            "https://aws.amazon.com/rds/sla/ (updated 2024-01-22: Multi-AZ DB Instance SLA)"],
    "azure": ["https://learn.microsoft.com/azure/load-balancer/skus (Standard SKU: 99.99%)",
              "https://azure.microsoft.com/support/legal/sla/virtual-machines/v1_9/ (two or "
              "more instances across two or more zones: 99.99%; a single instance on premium "
              "SSD: 99.9%)",
              "https://azure.microsoft.com/support/legal/sla/postgresql/v1_4/ (flexible "
              "server with zone-redundant HA: 99.99%)"],
    "gcp": ["https://cloud.google.com/compute/sla (Premium Tier: instances in multiple zones "
            "and load balancing 99.99%, a single instance of most families 99.9%; 99.95% in "
            "the Mexico and Stockholm regions, which this catalog does not design)",
            "https://cloud.google.com/sql/sla (Enterprise edition with HA: 99.95%; Enterprise "
            "Plus with HA: 99.99%)"],
}


def part(provider: str, key: str, workload: str = "") -> Part | None:
    """The recorded SLA of ``key`` on ``provider`` (None where none is recorded)."""
    found = SLAS.get((provider, key))
    if found is None:
        return None
    name, percent = found
    return Part(f"{name} ({workload})" if workload else name, percent)


def product(parts: tuple[Part, ...]) -> float:
    """The parts' SLAs multiplied, in percent."""
    total = 1.0
    for p in parts:
        total *= p.percent / 100
    return total * 100
