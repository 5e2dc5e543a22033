"""Facts about one designed architecture that compliance and review rules read.

The optimiser fills an ``ArchitectureFacts`` for every option it designs; the
compliance evaluator and the Well-Architected review never look at prices or
SKUs directly, only at these facts, so their rules stay small and testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra_mind.engine.sla import Part

#: Capabilities a design can provide. The optimiser sets those its design includes.
CAPABILITIES = {
    "encryption_at_rest": "data stores and disks encrypted with provider-managed keys",
    "encryption_in_transit": "TLS on every hop: at the load balancer, from it to the app "
                             "servers, and on every database connection",
    "access_control": "identity-based access with least privilege (IAM / RBAC)",
    "audit_logging": "the provider's control-plane audit log enabled and retained",
    "backups": "automated, point-in-time database backups",
    "high_availability": "compute and databases across at least two availability zones",
    "data_residency": "every component in a region of the allowed residency groups",
    "network_isolation": "workloads in private subnets, outbound through a NAT gateway",
    "monitoring": "metrics and alarms on every component (provider's monitoring service)",
    "customer_managed_keys": "encryption keys held in a key service the customer controls",
    "web_application_firewall": "a WAF in front of public endpoints",
    "disaster_recovery": "backups copied to a second region",
    "log_retention_1y": "audit and access logs kept for at least a year",
    "ddos_protection": "the provider's baseline DDoS protection on public endpoints",
}


@dataclass(frozen=True, slots=True)
class Component:
    """A part of the design that provides capabilities (named in evidence)."""

    name: str  # e.g. "Amazon RDS for PostgreSQL (Multi-AZ)"
    kind: str  # database | cache | object_storage (the stores compliance evidence names)
    workload: str = ""
    managed: bool = True


#: A bucket's files are also priced behind the CDN at this average size, where the least
#: size that saves enough is smaller (``assess._break_even_files``).
LARGE_FILE_KB = 1000.0


@dataclass(frozen=True, slots=True)
class CdnAlternative:
    """Object storage whose internet egress the design sends straight from the bucket (or a
    web service whose responses are files), and what the same option costs with it behind
    the provider's CDN."""

    cdn: str  # the provider's CDN, e.g. "CloudFront"
    workloads: tuple[str, ...]
    egress_gb_per_month: float
    monthly_cost_usd: float  # the option's, with the CDN
    saving_usd: float  # per month, against the option as designed
    #: A web service's average response, kB (None for buckets).
    response_kb: float | None = None
    #: Buckets whose requests were not stated: the average file size, kB, they were priced
    #: at (``AVG_RESPONSE_KB``, or the break-even size); None where every count was stated.
    file_kb: float | None = None
    #: Whether ``file_kb`` is the least file size at which the CDN saves enough to suggest
    #: (at ``AVG_RESPONSE_KB`` it did not), and what files of ``LARGE_FILE_KB`` would save.
    break_even: bool = False
    large_file_saving_usd: float | None = None


@dataclass(frozen=True, slots=True)
class SuddenPeak:
    """An autoscaled service whose floor cannot carry its peak even at full CPU: a peak
    that comes at once waits on new machines, which take minutes to join."""

    workload: str
    floor: int  # machines held all month
    peak: int  # machines at peak (sized at the target utilisation)
    floor_rps: float  # requests a second the floor carries at full CPU
    peak_rps: float
    hold_peak_usd: float  # a month more, to hold the peak machines all month


@dataclass(frozen=True, slots=True)
class HeldPeak:
    """An autoscaled service whose peak machines are held all month because, bought on a
    commitment, they cost less than adding the machines above the floor on demand for the
    peak hours (``pricing.ScalingChoice.held``): idle at average load by choice, not by
    oversight."""

    workload: str
    machines: int  # the peak count, held all month
    floor: int  # what the floor would be, scaling with the load
    term: str  # the purchase option they are bought on: reserved_3y, savings_plan_1y, ...
    peak_hours_a_day: float
    vcpu_avg: float  # the vCPUs the average load needs (at the target utilisation)
    vcpu: float  # of the machines held


@dataclass(frozen=True, slots=True)
class DearerClass:
    """A bucket stored in the infrequent-access class but read so much that the standard
    class, with no retrieval fee, costs less a month."""

    workload: str
    stored_gb: float
    read_gb: float  # a month
    infrequent_usd: float  # storage and retrieval, a month
    standard_usd: float  # storage, a month


@dataclass(frozen=True, slots=True)
class PartTimeWorker:
    """A worker stated in vCPU-hours whose machines are held all month for their memory,
    mostly idle, and what running them only for its work would cost instead."""

    workload: str
    vcpu_hours: float
    held: int  # machines held all month
    utilisation: float  # of their vCPUs, over the month
    sku: str  # the machine that would run part-time
    machines: int
    hours: float  # each, a month
    monthly_usd: float  # part-time, a month
    saving_usd: float  # against the machines held all month
    on_cluster: bool = False  # the machines are a Kubernetes node pool


@dataclass(frozen=True, slots=True)
class ArchitectureFacts:
    provider: str  # aws | azure | gcp
    region: str
    region_group: str  # us | ca | eu | uk | apac | sa
    country: str  # ISO 3166-1 alpha-2
    zones_used: int  # availability zones the compute and databases span
    availability_target: float
    frameworks: tuple[str, ...]  # requested compliance frameworks
    residency_groups: tuple[str, ...]  # the groups data may be kept in; empty = anywhere
    #: data_residency as stated: groups and countries; empty = anywhere
    residency: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    #: Capabilities the design provides, each mapped to the component that provides it,
    #: e.g. {"encryption_at_rest": "Amazon RDS storage encryption (AWS KMS)"}. The
    #: vocabulary is ``CAPABILITIES``.
    capabilities: dict[str, str] = field(default_factory=dict)
    #: Why a capability is missing, where the design has the part but not the protection
    #: (e.g. a self-managed database without TLS): the gap's evidence says this.
    shortfalls: dict[str, str] = field(default_factory=dict)
    managed_database: bool = False
    database_ha: bool = False
    compute_instances_min: int = 0  # smallest instance count of any always-on service
    kubernetes: bool = False
    #: With ``kubernetes``: why the design has a cluster (the control plane line's note),
    #: its control plane's monthly cost, and the monthly cost of the same design without
    #: it, on machines behind the load balancer (None where that design violates more,
    #: prices less or opens more compliance gaps): ``assess._without_cluster``.
    cluster: tuple[str, float, float | None] | None = None
    #: On ``kubernetes: auto`` without a cluster: why not (``network.kubernetes_why_not``).
    no_cluster: str | None = None
    uses_spot: bool = False
    arm64: bool = False
    has_public_endpoint: bool = False  # a web service or static site behind a load balancer
    has_ml: bool = False
    monthly_cost_usd: float = 0.0
    monthly_budget_usd: float | None = None
    unpriced: tuple[str, ...] = ()  # components the catalog could not price
    commitment: str = "none"  # none | 1y | 3y, as requested
    #: Monthly USD the cheapest sourced commitment would save on this design (0 if none).
    commitment_saving_usd: float = 0.0
    #: Lines held all month the catalog prices under no 1- or 3-year term, as (sku,
    #: workload, their on-demand cost a month): left out of ``commitment_saving_usd``.
    uncommitted: tuple[tuple[str, str, float], ...] = ()
    #: Interruptible workloads (workers marked interruptible, training) left on on-demand.
    interruptible_on_demand: tuple[str, ...] = ()
    #: Monthly USD saved if always-on web capacity followed average instead of peak load.
    autoscaling_saving_usd: float = 0.0
    #: Workloads whose always-on instances run at under 30% of their capacity at average load.
    underutilised: tuple[str, ...] = ()
    #: Of those, the services whose peak machines are held all month because committed they
    #: cost less than scaling (not in ``underutilised``).
    held_peaks: tuple[HeldPeak, ...] = ()
    growth_rate_monthly: float = 0.0
    horizon_months: int = 12
    #: Months until the projected cost passes the budget (None: never within the horizon).
    budget_exceeded_month: int | None = None
    #: Where the expected projection stays within the budget: the first month its P90 (growth
    #: faster than expected) passes it (None: never within the horizon).
    budget_p90_month: int | None = None
    #: Each component's monthly cost now and in ``budget_exceeded_month`` (else
    #: ``budget_p90_month``) on the expected path, the dearest first
    #: (``projection.by_component``); empty where the budget is never passed.
    cost_by_component: tuple[tuple[str, float, float], ...] = ()
    #: The same option with its private buckets that send data to the internet served
    #: through the provider's CDN instead, where that costs less (None: none would).
    cdn: CdnAlternative | None = None
    #: Web services whose responses are files, behind the CDN (``assess._service_cdn``).
    service_cdn: CdnAlternative | None = None
    #: The parts a request to a public service crosses, each with its provider's SLA
    #: (``engine.sla``), from a 99.9% target up (none below, nor without a public service);
    #: and the databases on the path whose SLA is not counted, with why.
    sla_path: tuple[Part, ...] = ()
    sla_left_out: tuple[str, ...] = ()
    #: Where the path's SLAs are under the target: the same provider's other region near
    #: the users that the design would take as a second region serving at the same time,
    #: as ("code (city)", its designed monthly cost); None with ``second_region_checked``:
    #: the requirements allow none (``assess._second_region``).
    second_region: tuple[str, float] | None = None
    second_region_checked: bool = False
    #: Where users are that the region is more than ``latency.NEAR_RTT_MS`` from: (place,
    #: round trip ms, the provider's nearest allowed region within that bound as "code
    #: (city)", or "" when residency or region preferences allow none).
    far_users: tuple[tuple[str, int, str], ...] = ()
    #: Each far place's share of the users in percent, in ``far_users``' order, where the
    #: requirements give shares (``user_shares``); empty otherwise.
    far_shares: tuple[float, ...] = ()
    #: A region designed for these requirements whose users are much nearer: (its name,
    #: their round trip, its monthly cost less this option's, and this option's round
    #: trip where both are the average user's (``user_shares``), else None: the farthest).
    nearer_region: tuple[str, int, float, int | None] | None = None
    #: The design serves content through the provider's CDN.
    has_cdn: bool = False
    #: Where the region is, as a reader knows it (``Region.city``).
    region_city: str = ""
    #: Autoscaled services whose floor cannot carry their peak (``SuddenPeak``).
    sudden_peaks: tuple[SuddenPeak, ...] = ()
    #: Served models whose GPU machines scale out for the peak hours: (workload, weights GB).
    scaled_inference: tuple[tuple[str, float], ...] = ()
    #: Workers held all month that would cost less started only for their work.
    part_time_workers: tuple[PartTimeWorker, ...] = ()
    dearer_classes: tuple[DearerClass, ...] = ()
    #: Every part is the provider's object storage (and CDN): no machines, databases or
    #: caches, so nothing to size, to place in private subnets or to spread over zones.
    storage_only: bool = False
    #: The design runs machines of its own (app servers, workers, GPU machines, self-managed
    #: stores): what private subnets need NAT for.
    has_machines: bool = True
    #: What private subnets with NAT would add a month where the design has none, and what
    #: that covers (``network.nat_quote``); None where it was not or could not be priced.
    private_subnets_usd: float | None = None
    private_subnets_note: str = ""
    #: What a WAF on the load balancer would add a month where the design has none, and the
    #: WAF in words (``protection.waf_quote``); None where it was not or could not be priced.
    waf_usd: float | None = None
    waf_name: str = ""

    @property
    def over_budget(self) -> bool:
        return self.monthly_budget_usd is not None and \
            self.monthly_cost_usd > self.monthly_budget_usd

    def provides(self, capability: str) -> str | None:
        """The component providing ``capability``, or None."""
        return self.capabilities.get(capability)
