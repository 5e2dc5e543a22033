"""A Well-Architected style review of one design: six pillars, explicit rules.

Each rule reads ``ArchitectureFacts`` (and the compliance results) and adds a
finding at a stated risk; a pillar's risk is the highest of its findings. The
rules are listed in the order they run, one function per pillar.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from infra_mind.engine.facts import (
    LARGE_FILE_KB,
    ArchitectureFacts,
    CdnAlternative,
    DearerClass,
    HeldPeak,
    PartTimeWorker,
    SuddenPeak,
)
from infra_mind.engine.latency import NEAR_RTT_MS
from infra_mind.engine.money import (
    budget_position,
    largest_parts,
    listing,
    per_month,
    rise_text,
    usd,
)
from infra_mind.engine.result import ControlResult, ReviewPillar
from infra_mind.engine.sla import product

PILLARS = ("operational_excellence", "security", "reliability", "performance_efficiency",
           "cost_optimization", "sustainability")
_RANK = {"none": 0, "medium": 1, "high": 2}
Finding = tuple[str, str]  # (risk, text)


def _operational_excellence(f: ArchitectureFacts, c: list[ControlResult]) -> list[Finding]:
    out = []
    if f.provides("monitoring"):
        out.append(("none", f"Metrics and alarms: {f.provides('monitoring')}."))
    else:
        out.append(("medium", "No monitoring in the design: add metrics and alarms."))
    self_managed = [x.name for x in f.components if not x.managed]
    if self_managed:
        # "your team runs" rather than "need ...": the chat's "Do we need Kubernetes?" had
        # led with this review for its word "need", not with the Kubernetes fact
        out.append(("medium", "Self-managed components, whose patching, backups and "
                              f"failover your team runs: {', '.join(self_managed)}."))
    if f.kubernetes:
        out.append(("medium", "Kubernetes adds cluster upgrades and node-pool operations; "
                              "budget engineering time for them." + _cluster_text(f)))
    elif f.no_cluster:
        out.append(("none", f.no_cluster))
    if f.unpriced:
        out.append(("medium", "Not priced from the catalog, so missing from the total: "
                              + "; ".join(f.unpriced) + "."))
    return out


def _cluster_text(f: ArchitectureFacts) -> str:
    """Why the design has a cluster, what its control plane costs, and what the same
    services would cost on machines without it."""
    if f.cluster is None:
        return ""
    why, plane, without = f.cluster
    text = f" Why a cluster: {why}. Its control plane costs {per_month(plane)}."
    if without is None:
        return text
    delta = round(f.monthly_cost_usd - without, 2)
    if abs(delta) < 0.005:
        return text + " Without it the design would cost the same."
    return (text + " The same services on machines behind the load balancer "
            "(preferences.kubernetes: avoid) would cost "
            + (f"{usd(delta)} a month less ({delta / f.monthly_cost_usd:.1%} of the total)"
               if delta > 0 else f"{usd(-delta)} a month more") + ".")


def _security(f: ArchitectureFacts, c: list[ControlResult]) -> list[Finding]:
    out = []
    gaps = [x for x in c if x.status == "gap"]
    if gaps:
        ids = ", ".join(sorted({f"{x.framework}:{x.control_id}" for x in gaps}))
        out.append(("high", f"{len(gaps)} compliance control(s) not met by the design: {ids}."))
    if f.has_public_endpoint and not f.provides("web_application_firewall"):
        out.append(("medium", "Public endpoints without a web application firewall."
                    + (f" A WAF on the load balancer ({f.waf_name}) would add "
                       f"{per_month(f.waf_usd)}." if f.waf_usd is not None else "")))
    if not f.provides("network_isolation") and not f.storage_only and not f.has_machines:
        out.append(("medium", "Databases and caches are not kept to private addresses: the "
                              "design has no machines of its own, so that takes no NAT "
                              "gateway, only the stores' private-network setting."))
    elif not f.provides("network_isolation") and not f.storage_only:
        text = "Workloads are not placed in private subnets behind NAT."
        if f.private_subnets_usd is not None:
            text += (f" Private subnets with NAT would add {per_month(f.private_subnets_usd)}"
                     f": {f.private_subnets_note}.")
        out.append(("medium", text))
    for cap in ("encryption_at_rest", "encryption_in_transit", "access_control"):
        if f.provides(cap):
            out.append(("none", f"{cap.replace('_', ' ').capitalize()}: {f.provides(cap)}."))
    return out


def _reliability(f: ArchitectureFacts, c: list[ControlResult]) -> list[Finding]:
    out = []
    if f.storage_only:
        # the storage service places the copies, not the design's zone count
        if f.provides("high_availability"):
            out.append(("none", f"{f.provides('high_availability')}."))
        elif f.shortfalls.get("high_availability"):
            out.append(("medium" if f.availability_target >= 99.9 else "none",
                        f"{f.shortfalls['high_availability']}."))
    elif f.availability_target >= 99.9 and f.zones_used < 2:
        out.append(("high", f"Target {f.availability_target}% but the design uses one zone."))
    if f.compute_instances_min == 1:
        out.append(("high" if f.availability_target >= 99.9 else "medium",
                    "Single instance for an always-on service: one failure is an outage."))
    if f.availability_target >= 99.9 and f.managed_database is False and f.database_ha:
        out.append(("medium", "Database failover is self-managed (standby on machines)."))
    if not f.provides("backups") and any(x.kind == "database" for x in f.components):
        out.append(("high", "No automated database backups in the design."))
    if not f.provides("disaster_recovery"):
        out.append(("medium", "No copy of data in a second region (regional outage recovery)."))
    if f.sla_path:
        out.append(_sla_finding(f))
    if f.zones_used >= 2:
        out.append(("none", f"Spans {f.zones_used} availability zones in {f.region}."))
    return out


def _sla_finding(f: ArchitectureFacts) -> Finding:
    exact = product(f.sla_path)
    total = math.floor(exact * 100) / 100  # never shown above what it is
    chain = " x ".join(f"{p.name} {p.percent:g}%" for p in f.sla_path)
    target = f.availability_target
    not_counted = "; ".join(f.sla_left_out)
    if exact < target:  # the parts not counted can only lower it further
        return ("medium", f"The providers' SLAs on a request's path multiply to {total:.2f}%, "
                          f"under the {target:g}% target: {chain}"
                          + (f" (not counted: {not_counted})" if not_counted else "")
                          + ". An SLA is what the provider credits when it misses, not a "
                          "forecast; backing the target takes a second region serving at the "
                          "same time, or parts with higher SLAs." + _second_region(f))
    if not_counted:
        return ("none", f"The providers' SLAs counted on a request's path multiply to "
                        f"{total:.2f}%: {chain}. Not counted: {not_counted}; whether the whole "
                        f"path's SLAs back the {target:g}% target depends on them.")
    return ("none", f"The providers' SLAs on a request's path multiply to {total:.2f}%, at or "
                    f"above the {target:g}% target: {chain}.")


def _second_region(f: ArchitectureFacts) -> str:
    """The second region the SLA finding points to, with what the same design costs there;
    or that the requirements allow none near the users."""
    if f.second_region is not None:
        where, cost = f.second_region
        return (f" The same design in {where} costs {usd(cost)} a month: two regions serving "
                f"together cost about {usd(f.monthly_cost_usd + cost)} a month, before the "
                "replication between them and the routing in front of them, which are not "
                "priced.")
    if f.second_region_checked:
        return (f" Of the {f.provider} regions the catalog covers, no other is near the "
                "users and within the requirements' data residency and region preferences, "
                "so the target rests on one region's parts.")
    return ""


def _performance(f: ArchitectureFacts, c: list[ControlResult]) -> list[Finding]:
    out = []
    if f.arm64:
        out.append(("medium", "arm64 machines chosen on price: build and test images for "
                              "arm64 (or set preferences.allow_arm: false)."))
    if f.uses_spot:
        out.append(("medium", "Spot capacity can be reclaimed at short notice: interruptible "
                              "work must checkpoint and retry."))
    if f.underutilised:
        out.append(("medium", "At average load these services use under 30% of their "
                              f"capacity: {', '.join(f.underutilised)}."))
    out += [("none", _held_peak_text(h)) for h in f.held_peaks]
    out += [("medium", _sudden_peak_text(s)) for s in f.sudden_peaks]
    out += [("medium", f"{name}: the GPU machines added for the peak hours each start and "
                       f"load {weights:,.0f} GB of weights before they serve, minutes in all: "
                       "scale out on a schedule ahead of the peak, not on load alone.")
            for name, weights in f.scaled_inference]
    out += _far_users_finding(f)
    if not out and f.storage_only:
        out.append(("none", "No machines to size: object storage"
                            + (" and the CDN scale" if f.has_cdn else " scales")
                            + " with the requests."))
    elif not out:
        out.append(("none", "Machines sized to run at 60% CPU at the load they carry"
                            + (": web tiers autoscale between their average and their peak."
                               if f.compute_instances_min > 0 else ".")))
    return out


def _sudden_peak_text(s: SuddenPeak) -> str:
    return (f"{s.workload}: its floor of {s.floor} machines carries about "
            f"{s.floor_rps:,.0f} requests/s at full CPU, against a peak of {s.peak_rps:,.0f}. "
            "Autoscaling adds machines over minutes (the load must show in the metrics, then "
            "each machine starts and warms up), so a peak that arrives at once (a breaking "
            "story, a sale opening) overloads the floor first. Scale out on a schedule ahead "
            "of known peaks, serve cacheable responses from a CDN, or hold the "
            f"{s.peak} peak machines all month: {usd(s.hold_peak_usd)} more a month.")


def _by_region(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """(place, region) pairs as each region with its places, in order: Tokyo once for
    Japan and South Korea."""
    out: dict[str, list[str]] = {}
    for place, near in pairs:
        out.setdefault(near, []).append(place)
    return out


def _far_users_finding(f: ArchitectureFacts) -> list[Finding]:
    """Users the region is far from: what each request costs them, and what would bring
    them near (a second region serving them, where one is allowed)."""
    if not f.far_users:
        return []
    shares = f.far_shares or (None,) * len(f.far_users)
    who = listing([f"{place} (~{ms} ms" + (f", {share:g}%)" if share is not None else ")")
                   for (place, ms, _), share in zip(f.far_users, shares, strict=True)])
    if len(f.far_shares) > 1:  # how many of the users wait that long, where shares say
        who += f", {sum(f.far_shares):g}% of the users,"
    worst = max(ms for _, ms, _ in f.far_users)
    where = f"{f.region} ({f.region_city})" if f.region_city else f.region
    text = (f"Users in {who} are over {NEAR_RTT_MS} ms round trip from {where}: a new "
            f"HTTPS connection costs them three round trips (~{3 * worst} ms) before its "
            "first byte.")
    second = [(place, near) for place, _, near in f.far_users if near]
    if second:
        text += (" A second region serving them at the same time, with the data replicated "
                 f"to it, would bring them within {NEAR_RTT_MS} ms: "
                 + "; ".join(f"{near} for {listing(places)}" for near, places
                             in _by_region(second).items()) + ".")
    if len(second) < len(f.far_users):
        text += (" For " + listing([p for p, _, near in f.far_users if not near])
                 + ", data residency or the region preferences allow no region within "
                 f"{NEAR_RTT_MS} ms.")
    if f.nearer_region is not None:
        name, ms, more, mine = f.nearer_region
        text += (f" Of the regions designed, {name} serves every place the users are within "
                 f"~{ms} ms" if mine is None else f" Of the regions designed, {name} serves "
                 f"the average user within ~{ms} ms, against ~{mine} ms here")
        text += ", for " + (f"{usd(more)} more a month." if more > 0 else "no more a month.")
    if f.has_cdn:
        text += " The CDN already serves static content to them from its edge."
    return [("medium", text)]


def _left_on_demand_text(f: ArchitectureFacts) -> str:
    """What the commitment asked for could not cover: a payments gateway's HA database,
    60% of its bill, was priced on demand while the review said "Least-cost SKUs chosen"
    (the warnings alone said so, line by line)."""
    held = listing([f"{sku} ({workload}, {usd(amount)} a month)"
                    for sku, workload, amount in f.uncommitted])
    amount = sum(a for _, _, a in f.uncommitted)
    them = "them" if len(f.uncommitted) > 1 else "it"
    share = (f": {amount / f.monthly_cost_usd:.1%} of the monthly cost"
             if f.monthly_cost_usd > 0 else "")
    return (f"The {f.commitment.replace('y', '-year')} commitment asked for leaves on demand "
            f"what the catalog has no 1- or 3-year price for: {held}, held all month{share}. "
            f"Ask the provider for its committed rate for {them}.")


def _commitment_text(f: ArchitectureFacts) -> str:
    """What a sourced commitment would save, and what it leaves out for want of a
    catalog price: a GPU floor, most of an inference service's cost, had gone unsaid
    beside "$141.80 a month on steady machines"."""
    text = (f"A sourced commitment would save {per_month(f.commitment_saving_usd)} on steady "
            "machines." if f.commitment_saving_usd > 0 else "")
    if f.uncommitted:
        held = listing([f"{sku} ({workload}, {usd(amount)} a month)"
                        for sku, workload, amount in f.uncommitted])
        them = "them" if len(f.uncommitted) > 1 else "it"
        text += ((" " if text else "") + f"The catalog has no 1- or 3-year price for {held}, "
                 "held all month" + (f", so that saving does not count {them}" if text else "")
                 + f": the provider's committed rate for {them} is worth asking for.")
    return text


def _cost(f: ArchitectureFacts, c: list[ControlResult]) -> list[Finding]:
    out = []
    if f.over_budget and f.monthly_budget_usd is not None:
        parts = largest_parts([(name, now) for name, now, _ in f.cost_by_component],
                              f.monthly_cost_usd)
        out.append(("high", f"Monthly cost {usd(f.monthly_cost_usd)} against a budget of "
                            f"{usd(f.monthly_budget_usd)}: "
                            f"{budget_position(f.monthly_cost_usd, f.monthly_budget_usd)}"
                            + (f"; {parts}." if parts else ".")))
    if f.budget_p90_month is not None and not f.over_budget:
        out.append(("medium", f"On the expected growth the cost stays within the budget for "
                              f"the {f.horizon_months} months projected; at the projection's "
                              f"P90 (growth faster than expected) it passes the budget in "
                              f"month {f.budget_p90_month}."
                              + rise_text(f.cost_by_component, f.budget_p90_month,
                                          " on the expected growth")))
    if f.budget_exceeded_month is not None and not f.over_budget:
        out.append(("medium", f"With growth the projected cost passes the budget in month "
                              f"{f.budget_exceeded_month}."
                              + rise_text(f.cost_by_component, f.budget_exceeded_month)))
    if f.commitment == "none" and (f.commitment_saving_usd > 0 or f.uncommitted):
        out.append(("medium", _commitment_text(f)))
    elif f.commitment != "none" and f.uncommitted:
        out.append(("medium", _left_on_demand_text(f)))
    out += [("medium", _part_time_text(p)) for p in f.part_time_workers]
    out += [("medium", _dearer_class_text(b)) for b in f.dearer_classes]
    if f.interruptible_on_demand:
        out.append(("medium", "Interruptible work on on-demand capacity (spot not allowed): "
                              f"{', '.join(f.interruptible_on_demand)}."))
    if f.cdn is not None:
        out.append(("medium", _cdn_finding(f.cdn, f.monthly_cost_usd)))
    if f.service_cdn is not None:
        out.append(("medium", _service_cdn_finding(f.service_cdn, f.monthly_cost_usd)))
    if f.autoscaling_saving_usd > 0:
        out.append(("medium", f"Scaling web capacity with load instead of holding peak capacity "
                              f"could save up to {per_month(f.autoscaling_saving_usd)}."))
    if not out:
        out.append(("none", "Least-cost SKUs chosen for every demand."))
    return out


def _part_time_text(p: PartTimeWorker) -> str:
    held = (f"{p.held} node{'s' if p.held > 1 else ''} of its own" if p.on_cluster
            else f"{p.held} machine{'s' if p.held > 1 else ''}")
    how = ("as a Kubernetes Job, on a node pool that scales to zero between runs"
           if p.on_cluster else "on a schedule or from a job queue")
    return (f"{p.workload}: {p.vcpu_hours:,.0f} vCPU-hours a month on {held} held all month "
            f"for its memory, busy {p.utilisation:.0%} of the time. Started only for its work "
            f"({how}), {p.machines} x {p.sku} for about "
            f"{p.hours:,.0f} h would cost {usd(p.monthly_usd)} a month, "
            f"{usd(p.saving_usd)} less.")


def _dearer_class_text(b: DearerClass) -> str:
    return (f"{b.workload}: stored for infrequent access but read {b.read_gb:,.0f} GB a month "
            f"of its {b.stored_gb:,.0f} GB, each GB read paying the class's retrieval fee: "
            f"{usd(b.infrequent_usd)} a month with it, {usd(b.standard_usd)} in the standard "
            f"class ({usd(b.infrequent_usd - b.standard_usd)} less; set access: frequent).")


def _cdn_finding(cdn: CdnAlternative, monthly_cost_usd: float) -> str:
    one = len(cdn.workloads) == 1
    head = (f"{'Bucket' if one else 'Buckets'} {', '.join(cdn.workloads)} "
            f"{'sends' if one else 'send'} {cdn.egress_gb_per_month:,.0f} GB a month to the "
            f"internet itself. Behind {cdn.cdn}, with "
            f"{'the bucket as its origin' if one else 'the buckets as its origins'} (set "
            f"public: true; signed URLs keep private objects private), ")
    if cdn.file_kb is None:
        return head + _with_cdn(cdn, monthly_cost_usd, "downloads")
    if not cdn.break_even:
        return (head + _with_cdn(cdn, monthly_cost_usd, "downloads")
                + f" Requests are not stated: priced as one per {_size(cdn.file_kb)} (the "
                  "size of web assets); larger files make fewer and save more.")
    large = ("" if cdn.large_file_saving_usd is None else
             f": files of {_size(LARGE_FILE_KB)} would save {usd(cdn.large_file_saving_usd)}")
    return (head + f"this option would cost {usd(cdn.monthly_cost_usd)} a month instead of "
            f"{usd(monthly_cost_usd)} ({usd(cdn.saving_usd)} less) if the files average "
            f"{_size(cdn.file_kb)}, and less with larger files{large}. Smaller files make "
            f"more requests, which {cdn.cdn} bills: state requests_per_month to price them.")


def _size(kb: float) -> str:
    """A file size: "150 kB", "1 MB", "2.5 MB"."""
    return f"{kb:,.0f} kB" if kb < 1000 else f"{kb / 1000:g} MB"


def _service_cdn_finding(cdn: CdnAlternative, monthly_cost_usd: float) -> str:
    one = len(cdn.workloads) == 1
    return (f"{', '.join(cdn.workloads)} {'sends' if one else 'send'} "
            f"{cdn.egress_gb_per_month:,.0f} GB a month from {'its' if one else 'their'} "
            f"machines, responses averaging "
            + (f"about {cdn.response_kb:,.0f} kB" if one else
               f"{cdn.response_kb:,.0f} kB or more")
            + ": files or media, not API replies. If they can be "
            f"cached, behind {cdn.cdn} with the service as its origin "
            + _with_cdn(cdn, monthly_cost_usd, "requests"))


def _with_cdn(cdn: CdnAlternative, monthly_cost_usd: float, repeated: str) -> str:
    """The CDN findings' shared close: the option's cost with the CDN, and what it saves."""
    return (f"this option would cost {usd(cdn.monthly_cost_usd)} a month instead of "
            f"{usd(monthly_cost_usd)} ({usd(cdn.saving_usd)} less), and repeated {repeated} "
            "would be served from the edge.")


#: A commitment's term in words, by purchase option.
_TERMS = {"reserved_1y": "reserved for 1 year", "reserved_3y": "reserved for 3 years",
          "savings_plan_1y": "under a 1-year savings plan",
          "savings_plan_3y": "under a 3-year savings plan"}


def _held_peak_text(h: HeldPeak) -> str:
    """Idle at average load by choice: a German insurer's portal, committed for 3 years,
    held its 5 peak machines all month and the review called it under-used, as if scaling
    had been forgotten."""
    term = _TERMS.get(h.term, h.term)
    above = h.machines - h.floor
    return (f"{h.workload} holds its {h.machines} peak machines all month: {term}, they "
            f"cost less than adding {above} on demand above a floor of {h.floor} for "
            f"{h.peak_hours_a_day:g} h a day. At average load it needs {round(h.vcpu_avg, 1):g} of "
            f"their {h.machines * h.vcpu:g} vCPUs, and a peak finds them running.")


def _sustainability(f: ArchitectureFacts, c: list[ControlResult]) -> list[Finding]:
    out = []
    if f.underutilised or f.held_peaks or f.autoscaling_saving_usd > 0:
        out.append(("medium", "Idle capacity at average load: scaling with demand also cuts "
                              "energy use."))
    if f.arm64:
        out.append(("none", "arm64 machines chosen: typically less energy per unit of work."))
    if not out:
        out.append(("none", "No idle capacity beyond the availability floor."))
    return out


_RULES: dict[str, Callable[[ArchitectureFacts, list[ControlResult]], list[Finding]]] = {
    "operational_excellence": _operational_excellence,
    "security": _security,
    "reliability": _reliability,
    "performance_efficiency": _performance,
    "cost_optimization": _cost,
    "sustainability": _sustainability,
}


def review(facts: ArchitectureFacts, compliance: list[ControlResult]) -> list[ReviewPillar]:
    out = []
    for pillar in PILLARS:
        findings = _RULES[pillar](facts, compliance)
        risk = max((r for r, _ in findings), key=_RANK.__getitem__, default="none")
        out.append(ReviewPillar(pillar=pillar, risk=risk, findings=[t for _, t in findings],
                                finding_risks=[r for r, _ in findings]))
    return out
