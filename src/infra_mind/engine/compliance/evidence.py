"""What a designed option provides for compliance, worded from the components it contains.

Evidence must be true of the design it is shown for: "RDS encryption" only where the design
has a managed database on RDS, "S3" only where it stores objects. So the capabilities are
worked out from the design's parts (its line items, its databases, the workloads it
serves), not from a per-provider list.

Encryption in transit is claimed only when every hop is encrypted: TLS at the load
balancer (or passed through it to the app servers), HTTPS from the load balancer to the
app servers (a setting of the load balancer's backends), and TLS required by every
database the app connects to. A managed database enforces TLS with one setting the design
specifies (``rds.force_ssl``, ``require_secure_transport``, Cloud SQL's ``ENCRYPTED_ONLY``
mode); a self-managed database needs certificates and configuration the team runs, so
there the control is a gap with its remediation.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra_mind.catalog.regions import within
from infra_mind.engine.facts import Component
from infra_mind.engine.network import in_private_network
from infra_mind.engine.protection import KEY_SERVICES
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.workloads import kinds_where

#: Controls the provider's own services meet for the whole account, whatever the design.
ACCOUNT: dict[str, dict[str, str]] = {
    "aws": {"access_control": "AWS IAM roles with least privilege",
            "audit_logging": "AWS CloudTrail management events",
            "monitoring": "Amazon CloudWatch metrics and alarms",
            "ddos_protection": "AWS Shield Standard"},
    "azure": {"access_control": "Microsoft Entra ID with Azure RBAC",
              "audit_logging": "Azure Activity Log",
              "monitoring": "Azure Monitor metrics and alerts",
              "ddos_protection": "Azure DDoS infrastructure protection"},
    "gcp": {"access_control": "Cloud IAM with least-privilege service accounts",
            "audit_logging": "Cloud Audit Logs (Admin Activity)",
            "monitoring": "Cloud Monitoring metrics and alerting",
            "ddos_protection": "Google Cloud load balancer DDoS protection"},
}


@dataclass(frozen=True)
class _Words:
    """How one provider names what it encrypts, and how."""

    at_rest: str  # what encrypts, e.g. "AWS KMS-managed keys"
    disks: str
    database: str
    objects: str
    cache: str
    #: object storage encrypted with the customer-managed key, where that is a setting
    objects_with_keys: str
    database_tls: str  # the managed database's TLS-only setting
    lb_tls: str  # TLS at the provider's load balancer and on to the backends
    #: How the object storage class the catalog prices survives a zone's loss: a claim
    #: where it keeps copies in several zones, else why not (``zones_short``).
    objects_zones: str = ""
    zones_short: str = ""


_WORDS = {
    "aws": _Words(at_rest="encrypted at rest with AWS KMS-managed keys",
                  disks="EBS volumes (EBS encryption by default)",
                  database="Amazon RDS storage encryption",
                  objects="Amazon S3 (SSE-S3, on by default)",
                  objects_with_keys="Amazon S3 (SSE-KMS with S3 Bucket Keys)",
                  cache="ElastiCache encryption at rest",
                  database_tls="rds.force_ssl / require_secure_transport",
                  lb_tls="TLS at the Application Load Balancer, re-encrypted to the "
                         "targets (HTTPS target groups)",
                  objects_zones="Amazon S3 keeps every object in at least three "
                                "availability zones (S3 Standard and Standard-IA)"),
    "azure": _Words(at_rest="encrypted at rest with platform-managed keys",
                    disks="managed disks (server-side encryption)",
                    database="Azure Database storage encryption",
                    objects="Azure Storage service encryption",
                    objects_with_keys="Azure Storage service encryption",
                    cache="Azure Cache for Redis disk encryption",
                    database_tls="require_secure_transport=ON",
                    lb_tls="TLS passed through the layer-4 Azure Load Balancer and "
                           "terminated on the backends",
                    zones_short="Blob Storage as priced is locally redundant (LRS): its three "
                                "copies stay in one datacenter, so losing that datacenter "
                                "stops the service until it returns; zone-redundant storage "
                                "(ZRS) keeps them in three zones"),
    "gcp": _Words(at_rest="encrypted at rest by Google's default encryption (AES-256)",
                  disks="persistent disks",
                  database="Cloud SQL storage",
                  objects="Cloud Storage",
                  objects_with_keys="Cloud Storage (CMEK)",
                  cache="Memorystore",
                  database_tls="SSL mode ENCRYPTED_ONLY",
                  lb_tls="TLS at the Cloud Load Balancing HTTPS proxy, HTTPS to the "
                         "backends (backend service protocol HTTPS)",
                  objects_zones="Cloud Storage keeps every object of a regional bucket in "
                                "at least two zones"),
}
_APP_GATEWAY_TLS = "TLS at Application Gateway, re-encrypted to the backends (end-to-end TLS)"

#: Capabilities worded here from the design's parts, whatever the design recorded.
_DERIVED = frozenset({"encryption_at_rest", "encryption_in_transit"})
#: Line kinds that are machines with disks.
_MACHINE_KINDS = ("compute", "gpu")
#: Workload kinds whose files the provider's object storage holds.
_IN_OBJECT_STORAGE = kinds_where(lambda f: f.in_object_storage)


@dataclass(frozen=True)
class Evidence:
    """The design's capabilities (capability -> what provides it), what it lacks where a
    plain "not in this design" would not say why, and its components."""

    capabilities: dict[str, str]
    shortfalls: dict[str, str]
    components: tuple[Component, ...]


def _names(items: list[str]) -> str:
    return ", ".join(dict.fromkeys(items))


def design_evidence(req: Requirements, design) -> Evidence:
    """Capabilities of ``design`` (an ``OptionDesign``) for ``req``, each naming the
    components that provide it."""
    p, region = design.provider, design.region
    words = _WORDS[p]
    types = {w.name: w.type for w in req.workloads}
    lines = design.lines
    caps = dict(ACCOUNT[p])
    if not design.has_public_endpoint:
        caps.pop("ddos_protection")
    # what the design itself records (managed backups, NAT, ...), except the encryption it
    # words by hop and by store below
    caps.update({k: v for k, v in design.capabilities.items() if k not in _DERIVED})
    shortfalls: dict[str, str] = {}

    databases = [Component(name, kind, workload, managed)
                 for name, kind, workload, managed in design.components if kind == "database"]
    managed_db = [c for c in databases if c.managed]
    self_db = [c for c in databases if not c.managed]
    object_workloads = [n for n, t in types.items() if t in _IN_OBJECT_STORAGE]
    caches = [pl for pl in lines if pl.kind == "cache"]
    machines = [pl.item.workload for pl in lines
                if pl.kind in _MACHINE_KINDS
                or (pl.kind in ("database", "cache") and "self-managed" in pl.item.component)]
    components = tuple(databases) + tuple(
        Component(next((pl.item.service for pl in lines if pl.item.workload == n), words.objects),
                  "object_storage", n) for n in object_workloads) + tuple(
        Component(f"{pl.item.service} {pl.item.sku}" if "self-managed" not in pl.item.component
                  else "self-managed Redis", "cache", pl.item.workload,
                  "self-managed" not in pl.item.component) for pl in caches)

    # encryption at rest: every store the design has, by name
    stored = []
    if machines:
        stored.append(f"{words.disks} of {_names(machines)}")
    if managed_db:
        stored.append(f"{words.database} ({_names([c.workload for c in managed_db])})")
    keys = design.capabilities.get("customer_managed_keys")
    if object_workloads:
        objects = words.objects_with_keys if keys else words.objects
        stored.append(f"{objects} ({_names(object_workloads)})")
    managed_caches = [pl.item.workload for pl in caches if "self-managed" not in pl.item.component]
    if managed_caches:
        stored.append(f"{words.cache} ({_names(managed_caches)})")
    if stored:
        at_rest = (f"encrypted at rest with customer-managed keys ({KEY_SERVICES[p]})"
                   if keys else words.at_rest)
        caps["encryption_at_rest"] = f"{'; '.join(stored)}: {at_rest}"

    # encryption in transit: every hop, or the gap named
    hops = []
    behind_lb = getattr(design, "load_balancer", design.has_public_endpoint)
    own_endpoint = bool(getattr(design, "public_services", ())) and not behind_lb
    if behind_lb:
        app_gateway = any("Application Gateway" in pl.item.service for pl in lines)
        hops.append(_APP_GATEWAY_TLS if app_gateway else words.lb_tls)
    if own_endpoint:
        hops.append("TLS terminated on the app instance's own public endpoint")
    if design.has_cdn:
        hops.append("TLS at the CDN edge, HTTPS from it to the object storage origin")
    if design.has_public_endpoint and not hops:
        hops.append(words.lb_tls)
    if managed_db:
        hops.append(f"TLS required on {_names([c.name for c in managed_db])} "
                    f"({words.database_tls})")
    if self_db:
        shortfalls["encryption_in_transit"] = (
            ("; ".join(hops) + "; but " if hops else "")
            + f"connections to the self-managed database ({_names([c.workload for c in self_db])})"
            " are not encrypted by anything this design provides: it needs a server "
            "certificate and a TLS-only setting the team configures")
    elif hops:
        caps["encryption_in_transit"] = "; ".join(hops)
    else:
        caps["encryption_in_transit"] = ("no public endpoint and no database connection; "
                                         "the provider's APIs accept HTTPS only")

    if "backups" not in caps and self_db:
        shortfalls["backups"] = (f"the self-managed database "
                                 f"({_names([c.workload for c in self_db])}) has no automated "
                                 "point-in-time backups in this design")

    has_db = bool(databases)
    if not in_private_network(req.workloads):
        # object storage (and the CDN) alone: the storage service decides where the
        # copies are, not the design's zone count
        if words.objects_zones:
            caps["high_availability"] = words.objects_zones
        else:
            shortfalls["high_availability"] = words.zones_short
    elif (design.zones_used >= 2 and design.compute_instances_min != 1
            and (not has_db or design.database_ha)):
        # the control's evidence adds "in <region>" (``evaluate._technical``): with it here
        # too, SOC 2's A1.2 read "2 availability zones in us-east1 in us-east1"
        caps["high_availability"] = f"{design.zones_used} availability zones"

    frameworks = {f.value for f in req.compliance}
    if req.data_residency:
        if within(region, req.data_residency):
            caps["data_residency"] = (f"{region.name} ({region.country}), within "
                                      f"{', '.join(req.data_residency)}")
    elif "gdpr" not in frameworks or region.group in ("eu", "uk"):
        caps["data_residency"] = f"{region.name} ({region.country})"
    return Evidence(caps, shortfalls, components)
