"""Which kinds of price (``catalog.coverage.KINDS``) the engine may look up to design a set
of requirements: the examples' needs make a catalog cell *core*
(``tests/catalog/test_coverage_command.py``). Here, beside the design it follows, because
the catalog is below the engine and reads none of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from infra_mind.engine.network import uses_kubernetes
from infra_mind.engine.protection import asked_for
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.sizing import WorkloadDemand


def kinds_needed(req: Requirements, demands: Iterable[WorkloadDemand]) -> set[str]:
    """The kinds the engine may look up to design ``req`` (sized into ``demands``), on any
    provider that bills them.

    It follows ``engine/design.py``: each workload type's lookups, then the shared
    network. Where the engine decides at design time it counts the lookup as needed: a
    load balancer for any public service, burstable machines beside ordinary ones, a
    self-managed fallback's block storage only when managed services are off.
    """
    demands = list(demands)
    managed = req.preferences.managed_services
    commitment = {"1y": "compute.reserved_1y", "3y": "compute.reserved_3y"}.get(
        str(req.preferences.commitment))
    needed: set[str] = {"egress"}
    machines = False
    for d in demands:
        res = d.resources
        spot = bool(res.get("spot"))
        match d.type:
            case "web_service":
                machines = True
                needed |= {"lb.hourly", "lb.capacity", "lb.data"}
            case "worker" if "gpu_count" in res:
                needed |= {"gpu", "gpu.spot"} if spot else {"gpu"}
            case "worker":
                machines = True
                needed |= {"compute.spot"} if spot else set()
            case "database" if managed:
                engine, ha = str(res["engine"]), bool(res["ha"])
                needed |= {f"database.{engine}.{'ha' if ha else 'single'}",
                           f"database_storage.{engine}", "database_backup"}
                if ha:  # an HA price, or the single price twice where none is listed
                    needed.add(f"database.{engine}.single")
            case "database":
                machines = True
                needed.add("block_storage")
            case "cache":
                if managed:
                    needed.add("cache")
                else:
                    machines = True
            case "object_storage" | "static_site":
                storage_class = str(res.get("storage_class", "standard"))
                needed.add(f"object_storage.{storage_class}")
                if res.get("public"):
                    needed |= {"cdn.data", "cdn.requests", "cdn.cache_fill"}
            case "ml_training":
                needed |= {"gpu", "gpu.spot"} if spot else {"gpu"}
            case "ml_inference":
                needed |= {"gpu", "lb.hourly", "lb.capacity", "lb.data"}
    if machines:
        needed |= {"compute", "compute.burstable"}
    if commitment and (machines or any(d.type == "ml_inference" for d in demands)):
        needed.add(commitment)
    if req.compliance:
        needed |= {"nat.hourly", "nat.vm_hour", "nat.data"}
    asked = asked_for(req) if req.compliance else set()
    if "web_application_firewall" in asked and any(
            d.type in ("web_service", "ml_inference") for d in demands):
        needed |= {"waf.policy", "waf.rule", "waf.requests", "waf.gateway", "waf.capacity"}
    if "customer_managed_keys" in asked:
        needed |= {"keys.key", "keys.requests"}
    if "log_retention_1y" in asked and any(
            d.type in ("web_service", "ml_inference") for d in demands):
        needed |= {"object_storage.standard", "object_storage.infrequent"}
    if uses_kubernetes(req, demands):
        needed.add("kubernetes")
    return needed
