"""Protection a requested framework asks the design itself to carry, priced like any part.

A control whose capability the design can provide with a priced service is met in the
design rather than left as a gap with a remediation: an auditor (and an architect
signing the design) expects a PCI DSS payments service to sit behind a web application
firewall, and its stored account data to be encrypted with keys the customer controls.
Two parts are designed this way, each only where a requested framework has a technical
control that asks for it (``compliance.catalog``):

* **A web application firewall** (``web_application_firewall``) on the load balancer that
  serves the public services: the provider's WAF policy, its managed rule groups and the
  requests it inspects (AWS WAF, Google Cloud Armor), or on Azure an Application Gateway
  WAF_v2 in place of the layer-4 load balancer.
* **Customer-managed keys** (``customer_managed_keys``) in the provider's key service,
  one key for each store the design has: each database, cache and bucket, and the
  machines' disks. The key service's per-request charge is not sized (its price is given in
  the line's note): the services cache the data keys, and how often they ask for one is not
  something the requirements state. Azure Key Vault bills a software-protected key by its
  operations only, so there it adds no line.

* **A year of logs** (``log_retention_1y``): the provider's audit log and the request logs
  of the public endpoints delivered to an object storage bucket in the region, the last
  90 days in the standard class (immediately available), the rest of the year in the
  infrequent-access class, deleted after 365 days by a lifecycle rule. Sized from the
  requests through the load balancer at ``LOG_BYTES_PER_REQUEST`` each, priced at a full
  year's holding: the bucket fills over the first year, and reaches it in month 12.

Where the catalog has no price for a part here, the part is still designed (the control
is met) and the price is listed as unpriced, so ranking treats the hole as it treats any
other (``ranking``).
"""

from __future__ import annotations

from dataclasses import replace

from infra_mind.catalog.model import PriceRow, ProductFamily, Unit
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.compliance.catalog import load_controls
from infra_mind.engine.network import SECONDS_PER_MONTH, open_connections, received_gb
from infra_mind.engine.option import OptionDesign
from infra_mind.engine.pricing import first_row, hourly_line, line, tier_group
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.sizing import HOURS_PER_MONTH, WorkloadDemand
from infra_mind.engine.workloads import behind_public_load_balancer, kinds_where

#: Rules a WAF policy is given. AWS WAF: four AWS managed rule groups (core rule set,
#: known bad inputs, SQL database, Amazon IP reputation list), each billed as one rule;
#: Cloud Armor: four preconfigured WAF rules (sqli, xss, lfi, rce), one rule each.
WAF_RULES = 4
# -- Application Gateway WAF_v2 capacity units (learn.microsoft.com/azure/application-gateway/
# understanding-pricing): a capacity unit is at most 1 compute unit, 2,500 persistent
# connections or 2.22 Mbps of throughput, and is billed on the largest; a WAF_v2 compute
# unit handles "approximately 10 concurrent requests per second".
WAF_V2_RPS_PER_COMPUTE_UNIT = 10.0
PERSISTENT_CONNECTIONS_PER_CU = 2500
MBPS_PER_CU = 2.22
#: Each provider's WAF and key service, as evidence and lines name them.
WAF_NAMES = {"aws": "AWS WAF web ACL", "azure": "Application Gateway WAF_v2 policy",
             "gcp": "Google Cloud Armor security policy"}
WAF_RULE_WORDS = {"aws": f"{WAF_RULES} managed rule groups in blocking mode",
                  "azure": "the managed Default Rule Set in prevention mode",
                  "gcp": f"{WAF_RULES} preconfigured WAF rules in blocking mode"}
WAF_RULE_NOTES = {
    "aws": f"{WAF_RULES} AWS managed rule groups (core rule set, known bad inputs, SQL "
           "database, Amazon IP reputation list)",
    "gcp": f"{WAF_RULES} preconfigured WAF rules (SQL injection, cross-site scripting, local "
           "file inclusion, remote code execution)"}
KEY_SERVICES = {"aws": "AWS KMS", "azure": "Azure Key Vault", "gcp": "Cloud KMS"}
#: Stored bytes of one request's access log entry. AWS's example Application Load Balancer
#: entry (docs.aws.amazon.com/elasticloadbalancing/latest/application/
#: load-balancer-access-logs.html) is about 560 characters with a curl user agent; a
#: browser's user agent and longer paths bring it to about 700, and the files are stored
#: gzip-compressed, which text logs shrink several times: 150 bytes is taken, rounding up.
LOG_BYTES_PER_REQUEST = 150
#: Days of logs kept immediately available (PCI DSS 10.5.1: the last three months), then
#: the rest of the year in the infrequent-access class.
LOG_HOT_DAYS = 90
LOG_KEPT_DAYS = 365
#: How each provider's design keeps a year of logs, as the evidence names it: its audit
#: log, the load balancer's request logs (where the design has one), and the bucket.
LOG_AUDIT = {"aws": "an AWS CloudTrail trail", "azure": "the Activity Log",
             "gcp": "Cloud Audit Logs"}
LOG_REQUESTS = {"aws": "the load balancer's access logs",
                "azure": "the load balancer's diagnostic logs",
                "gcp": "the load balancer's request logs"}
LOG_BUCKETS = {
    "aws": "delivered to an S3 bucket and kept 365 days: S3 Standard for the first 90, then "
           "S3 Standard-IA (a lifecycle rule)",
    "azure": "exported to an Azure Storage account and kept 365 days: the hot tier for the "
             "first 90, then the cool tier (a lifecycle management policy)",
    "gcp": "routed by a log sink to a Cloud Storage bucket and kept 365 days: Standard for "
           "the first 90, then Nearline (lifecycle rules)"}
#: Workload kinds whose data the provider's object storage holds.
_IN_OBJECT_STORAGE = kinds_where(lambda f: f.in_object_storage)


def _avg_rps(demands: list[WorkloadDemand]) -> float:
    """Requests a second through the load balancer, on average."""
    return sum(float(d.resources.get("avg_rps", 0)) for d in demands
               if behind_public_load_balancer(d))


def asked_for(req: Requirements) -> set[str]:
    """The capabilities the requested frameworks' technical controls ask for."""
    return {c.capability for f in req.compliance for c in load_controls(f)
            if c.kind == "technical" and c.capability}


def protect(catalog: Catalog, design: OptionDesign, req: Requirements,
            demands: list[WorkloadDemand]) -> None:
    """Add the WAF and the customer-managed keys the requested frameworks ask for."""
    wanted = asked_for(req) if req.compliance else set()
    if "web_application_firewall" in wanted and design.load_balancer:
        _waf(catalog, design, demands)
    if "customer_managed_keys" in wanted:
        _keys(catalog, design, req)
    if "log_retention_1y" in wanted:
        _log_archive(catalog, design, demands)


def _log_archive(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]
                 ) -> None:
    """A year of audit and access logs in a bucket of the region: the last 90 days in the
    standard class, the rest of the year in the infrequent one, held as at month 12."""
    p, r = design.provider, design.region.code
    avg_rps = _avg_rps(demands) if design.load_balancer else 0.0
    gb_month = avg_rps * SECONDS_PER_MONTH * LOG_BYTES_PER_REQUEST / 1e9
    if gb_month <= 0:
        # no load balancer: the audit trail alone, a few MB a month, too little to price
        design.capabilities["log_retention_1y"] = (
            f"{LOG_AUDIT[p]} (a few MB a month, not priced) {LOG_BUCKETS[p]}")
        return
    design.capabilities["log_retention_1y"] = (
        f"{LOG_AUDIT[p]} and {LOG_REQUESTS[p]} {LOG_BUCKETS[p]}")
    made = (f"{avg_rps:g} rps x {SECONDS_PER_MONTH:,} s x {LOG_BYTES_PER_REQUEST} bytes "
            f"a request (a compressed access log entry) = {gb_month:,.2f} GB of logs a month")
    for storage_class, days, component in (
            ("standard", LOG_HOT_DAYS, "log archive (last 90 days)"),
            ("infrequent", LOG_KEPT_DAYS - LOG_HOT_DAYS, "log archive (days 91 to 365)")):
        months = days / 30
        rows = tier_group(catalog, p, r, ProductFamily.OBJECT_STORAGE,
                          storage_class=storage_class)
        if not rows:
            design.unpriced.append(f"(shared): {component}, {storage_class} object storage "
                                   f"in {p} {r}")
            continue
        gb = gb_month * months
        for item in design.tiered(rows, gb, workload="(shared)", component=component):
            item = item.model_copy(update={"note": f"{made}; {days} days of them here "
                                                   f"({months:.2f} months) once a full year "
                                                   f"is kept, from month 12"
                                                   + (f"; {item.note}" if item.note else "")})
            design.add(item, "storage", growth.ScaledLinear(item.monthly_usd))


def _waf(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]) -> None:
    p, r = design.provider, design.region.code
    name = WAF_NAMES[p]
    services = [d.workload for d in demands if behind_public_load_balancer(d)]
    design.capabilities["web_application_firewall"] = (
        f"{name} with {WAF_RULE_WORDS[p]} on the load balancer of "
        f"{', '.join(services)}")
    rows = {dim: first_row(catalog, p, r, ProductFamily.WAF, dimension=dim)
            for dim in ("policy", "rule", "requests", "hourly", "capacity")}
    if not any(rows.values()):
        design.unpriced.append(f"(shared): WAF in {p} {r}")
        return
    policy, rule, requests = rows["policy"], rows["rule"], rows["requests"]
    if policy is not None:
        _fixed(design, policy, 1, "WAF policy", "one policy on the load balancer")
    if rule is not None:
        _fixed(design, rule, WAF_RULES, "WAF rules", WAF_RULE_NOTES.get(p, ""))
    if rows["hourly"] is not None:
        _gateway(design, rows["hourly"], rows["capacity"], demands)
    if requests is not None:
        avg_rps = _avg_rps(demands)
        count = avg_rps * SECONDS_PER_MONTH
        if count > 0:
            per = 1_000_000 if requests.unit is Unit.REQUESTS_1M else 10_000
            item = line(requests, workload="(shared)", component="WAF requests",
                        quantity=count / per,
                        note=f"{avg_rps:g} rps x {SECONDS_PER_MONTH:,} s = {count:,.0f} "
                             f"requests inspected / {per:,}")
            design.add(item, "network", growth.ScaledLinear(item.monthly_usd))
    for dim in ("policy", "rule", "requests"):
        if rows[dim] is None and not rows["hourly"]:
            design.unpriced.append(f"(shared): WAF {dim} charge in {p} {r}")


def waf_quote(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]
              ) -> tuple[float | None, str]:
    """What a WAF on the load balancer would add to ``design`` a month, priced as ``_waf``
    prices it (on Azure the Application Gateway in place of the layer-4 load balancer, so
    the difference), and the WAF in words; None where the design has no load balancer or
    the catalog cannot price the WAF. ``design`` is not changed."""
    name = f"{WAF_NAMES[design.provider]} with {WAF_RULE_WORDS[design.provider]}"
    if not design.load_balancer:
        return None, name
    probe = replace(design, lines=list(design.lines), unpriced=list(design.unpriced),
                    capabilities=dict(design.capabilities))
    _waf(catalog, probe, demands)
    if len(probe.unpriced) > len(design.unpriced):
        return None, name
    return round(probe.monthly_usd - design.monthly_usd, 2), name


def _gateway(design: OptionDesign, hourly: PriceRow, capacity: PriceRow | None,
             demands: list[WorkloadDemand]) -> None:
    """A WAF that is itself the load balancer (Azure Application Gateway WAF_v2): it
    takes the place of the layer-4 load balancer, billed by the hour and by the capacity
    units the average load uses (autoscaling, no reserved instances)."""
    design.lines = [pl for pl in design.lines if not (
        pl.item.workload == "(shared)" and pl.item.component.startswith("load balancer"))]
    design.waf_gateway = True
    item = hourly_line(hourly, 1, workload="(shared)", component="WAF gateway",
                       note="Application Gateway WAF_v2, the load balancer of the public "
                            "services in place of the layer-4 one")
    design.add(item, "network", growth.Fixed(item.monthly_usd))
    if capacity is None:
        design.unpriced.append(f"(shared): WAF gateway capacity units in {design.provider} "
                               f"{design.region.code}")
        return
    avg_rps = _avg_rps(demands)
    egress = sum(d.egress_gb_per_month for d in demands if behind_public_load_balancer(d))
    by_compute = avg_rps / WAF_V2_RPS_PER_COMPUTE_UNIT
    connections = open_connections(avg_rps)
    by_connections = connections / PERSISTENT_CONNECTIONS_PER_CU
    mbps = (received_gb(avg_rps) + egress) * 8000 / SECONDS_PER_MONTH
    by_throughput = mbps / MBPS_PER_CU
    units = max(by_compute, by_connections, by_throughput)
    if units <= 0:
        return
    item = line(capacity, workload="(shared)", component="WAF gateway capacity units",
                quantity=units * HOURS_PER_MONTH,
                note=f"{units:.2f} capacity units = max(compute {avg_rps:g} rps / "
                     f"{WAF_V2_RPS_PER_COMPUTE_UNIT:g} = {by_compute:.2f}, connections "
                     f"{connections:,.0f} / {PERSISTENT_CONNECTIONS_PER_CU:,} = "
                     f"{by_connections:.2f}, throughput {mbps:.2f} Mbps / {MBPS_PER_CU:g} = "
                     f"{by_throughput:.2f}) x {HOURS_PER_MONTH} h")
    design.add(item, "network", growth.ScaledLinear(item.monthly_usd))


def _fixed(design: OptionDesign, row: PriceRow, count: int, component: str, note: str
           ) -> None:
    """``count`` of a monthly charge (a policy, a rule, a key)."""
    item = line(row, workload="(shared)", component=component, quantity=count, note=note)
    design.add(item, "network", growth.Fixed(item.monthly_usd))


def key_stores(design: OptionDesign, req: Requirements) -> list[str]:
    """The stores a customer-managed key each: every database, cache and bucket the
    design has, by workload, and the machines' disks."""
    stores = list(dict.fromkeys(pl.item.workload for pl in design.lines
                                if pl.kind in ("database", "cache")))
    stores += [w.name for w in req.workloads
               if w.type in _IN_OBJECT_STORAGE and w.name not in stores]
    if any(pl.vm for pl in design.lines):
        stores.append("the machines' disks")
    return stores


def _keys(catalog: Catalog, design: OptionDesign, req: Requirements) -> None:
    p, r = design.provider, design.region.code
    stores = key_stores(design, req)
    if not stores:
        return
    service = KEY_SERVICES[p]
    design.capabilities["customer_managed_keys"] = (
        f"{service} customer-managed keys, one for each of {', '.join(stores)}")
    key = first_row(catalog, p, r, ProductFamily.KEY_MANAGEMENT, dimension="key")
    requests = first_row(catalog, p, r, ProductFamily.KEY_MANAGEMENT, dimension="requests")
    if key is None:
        if requests is None:  # neither a key-month nor a per-request price: a hole
            design.unpriced.append(f"(shared): customer-managed keys in {p} {r}")
        return  # billed per request only (Azure Key Vault software-protected keys)
    note = f"one key each: {', '.join(stores)}"
    if requests is not None:
        note += (f"; key requests billed on top at ${requests.price_usd:g} per "
                 f"{requests.unit.value}, not sized: the services cache the data keys")
    _fixed(design, key, len(stores), "customer-managed keys", note)
