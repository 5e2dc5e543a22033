"""``assess``: requirements in, priced and explained options out.

Sizes every workload, keeps the regions near the users (``latency``), designs every
allowed provider region at least cost, evaluates compliance on each design, keeps the best
region per provider, and ranks and recommends with reasons (``ranking``). Pure: no I/O
beyond the loaded catalog, no network, no model; the same input and catalog always give
the same result.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from infra_mind.catalog.model import ProductFamily, Provider
from infra_mind.catalog.regions import REGIONS, Region, regions_of, residency_groups, within
from infra_mind.catalog.store import Catalog, default_catalog
from infra_mind.engine import (
    commitment,
    growth,
    latency,
    levers,
    network,
    projection,
    protection,
    ranking,
    reasons,
    sla,
)
from infra_mind.engine.compliance import count_gaps, evaluate, gap_count
from infra_mind.engine.compliance.evaluate import RemediationPrice
from infra_mind.engine.compliance.evidence import design_evidence
from infra_mind.engine.design import OptionDesign, design_option
from infra_mind.engine.facts import LARGE_FILE_KB, ArchitectureFacts, CdnAlternative
from infra_mind.engine.money import listing, passing_text, qty, usd
from infra_mind.engine.places import between, place_name
from infra_mind.engine.pricing import (
    beyond_tiers,
    last_tier_end,
    money,
    tier_group,
    tiered_cost,
)
from infra_mind.engine.ranking import Candidate
from infra_mind.engine.requirements import (
    Database,
    KubernetesPreference,
    ObjectStorage,
    Requirements,
    WebService,
)
from infra_mind.engine.result import (
    AssessmentResult,
    Budget,
    CostPart,
    Option,
    PriceDates,
    RegionChoice,
)
from infra_mind.engine.review import review
from infra_mind.engine.sizing import (
    AVG_RESPONSE_KB,
    DB_MIN_MEMORY_GIB,
    WorkloadDemand,
    size_all,
)
from infra_mind.engine.workloads import WorkloadKind, is_user_facing, kinds_where

#: Kept here for callers that read it from ``assess``; the rule lives in ``ranking``.
EXISTING_PROVIDER_TOLERANCE = ranking.EXISTING_PROVIDER_TOLERANCE
#: The review suggests serving buckets through the CDN when that saves at least this much
#: a month and this share of the option's cost: less is not worth a new component.
CDN_SUGGESTION_MIN_USD = 20.0
CDN_SUGGESTION_MIN_SHARE = 0.02
#: A web service's responses averaging at least this many kB are files or media (video
#: segments, downloads, images), not API replies (a few kB): what a CDN in front of the
#: service could cache. Below it, nothing is suggested.
FILE_RESPONSE_KB = 100.0
#: Targets from which the review compares the SLAs on a request's path with the target.
SLA_CHECKED_FROM = 99.9
#: Public buckets' CDN requests priced from egress / AVG_RESPONSE_KB are named in a warning
#: when they cost at least this much a month in some option.
ASSUMED_REQUESTS_WARN_USD = 20.0
#: A database sized from its data (no memory_gb) is named in a warning when its machines
#: cost at least this much a month and this share of an option: there the assumption, not
#: the business, sets the bill.
ASSUMED_DATABASE_WARN_USD = 500.0
ASSUMED_DATABASE_WARN_SHARE = 0.4

USERS_UNKNOWN = ("where the users are is not stated (users, data_residency or "
                 "preferences.regions): regions were compared on cost alone, whatever their "
                 "distance from the users; set users to keep the design near them")


def assess(requirements: dict | Requirements, catalog: Catalog | Path | None = None
           ) -> AssessmentResult:
    """Assess ``requirements`` against ``catalog``: a loaded one, or the snapshot to load
    (once per process: the ``INFRA_MIND_CATALOG`` setting of the caller's), or None, the
    catalog in force by default (``catalog.store.default_catalog``)."""
    req = (requirements if isinstance(requirements, Requirements)
           else Requirements.model_validate(requirements))
    catalog = catalog if isinstance(catalog, Catalog) else default_catalog(catalog)
    demands = size_all(req)
    warnings: list[str] = []
    # each provider once: validation refuses repeats, but a model built without it
    # (model_copy(update=...)) could carry them, and each repeat would design every region
    # again; the work stays bounded by the distinct inputs
    providers = list(dict.fromkeys(req.preferences.providers))
    allowed = {p: _allowed_regions(req, p) for p in providers}
    everywhere = [r for p in providers for r in allowed[p]]
    choice = latency.choose(req, everywhere)
    evaluated = [_evaluate(catalog, req, demands, r, choice) for r in choice.regions]
    closing = _closing_gaps(catalog, req, demands, choice, everywhere, evaluated)
    most_gaps = min((c.gaps for c in evaluated), default=None) if closing else None
    if closing:
        choice = latency.choose(req, everywhere, also=[c.design.region for c in closing])
        evaluated += closing
    kept = {(r.provider, r.code) for r in choice.regions}
    for provider in providers:
        regions = [r for r in allowed[provider] if (r.provider, r.code) in kept]
        if not allowed[provider]:
            warnings.append(f"{provider.value}: no covered region meets the residency and "
                            "region preferences")
        elif not regions:
            warnings.append(f"{provider.value}: none of its allowed regions is as near the "
                            f"users in {listing([place_name(p) for p in choice.users])} as "
                            "another provider's (see region_choice); none designed")
    evaluated.sort(key=lambda c: (providers.index(c.design.provider),
                                  allowed[c.design.provider].index(c.design.region)))
    if not choice.applies and not choice.users and any(
            is_user_facing(w) for w in req.workloads):
        warnings.append(USERS_UNKNOWN)
    warnings += _wide_groups(choice)
    region_choice = _region_choice(choice)
    if not evaluated:
        return _empty_result(req, demands, catalog, warnings, region_choice)
    names = [w.name for w in req.workloads]
    existing = req.preferences.existing_provider
    budget = req.business.monthly_budget_usd
    order = ranking.rank(ranking.best_per_provider(evaluated, names, choice.applies, budget),
                         existing.value if existing else None, names, choice.applies, budget)
    order.ranked = [_with_remediation_costs(catalog, req, demands, c) for c in order.ranked]
    ranked, promoted = order.ranked, order.promoted
    chosen = ranked[0]
    proj = projection.project(chosen.design, req.business.growth_rate_monthly,
                              req.business.horizon_months, req.model_dump_json())
    budget_month = _budget_exceeded_month(req, proj)
    p90_month = _budget_p90_month(req, proj, budget_month)
    passed = budget_month or p90_month
    parts = projection.by_component(chosen.design, req.business.growth_rate_monthly,
                                    passed) if passed else ()
    options = [_option(catalog, c, i, promoted and i == 1, order.left_out,
                       order.passed_over if i == 1 else None)
               for i, c in enumerate(ranked, start=1)]
    saving = max((c.savings_usd for c in options[0].commitment
                  if c.purchase_option != "spot"), default=0.0)
    facts = replace(chosen.facts, commitment_saving_usd=saving,
                    uncommitted=tuple(commitment.uncommitted(catalog, chosen.design)),
                    budget_exceeded_month=budget_month,
                    budget_p90_month=p90_month,
                    cost_by_component=parts,
                    cdn=_through_the_cdn(catalog, req, chosen),
                    service_cdn=_service_cdn(catalog, req, chosen),
                    **_request_path(req, chosen.design),
                    **_private_subnets(catalog, demands, chosen),
                    **_waf_quote(catalog, demands, chosen),
                    **_far_users(choice, allowed[chosen.design.provider], chosen.design),
                    nearer_region=_nearer_region(choice, chosen, evaluated),
                    cluster=_without_cluster(catalog, req, demands, chosen),
                    no_cluster=network.kubernetes_why_not(req, demands))
    facts = replace(facts, **_second_region(req, facts, chosen, evaluated))
    pillars = review(facts, chosen.controls)
    warnings += _kept_abroad(req, choice, chosen, evaluated)
    warnings += _past_last_tier(chosen.design, req.business.growth_rate_monthly,
                                req.business.horizon_months)
    warnings += chosen.design.warnings
    warnings += commitment.comparison_terms([c.design for c in ranked])
    warnings += _assumed_cdn_requests(demands, [c.design for c in ranked])
    warnings += _assumed_database_sizes(req, demands, [c.design for c in ranked])
    warnings += [f"not priced (no catalog price): {u}" for u in chosen.design.unpriced]
    frameworks = [f.value for f in req.compliance]
    return AssessmentResult(
        requirements=req,
        demand=[d.to_demand() for d in demands],
        options=options,
        recommended=reasons.recommendation(order, choice, float(req.availability_target),
                                           frameworks, existing.value if existing else None,
                                           [p.value for p in providers], most_gaps),
        projection=proj,
        budget=_budget(catalog, req, order, evaluated, budget_month, passed, parts),
        compliance=chosen.controls,
        review=pillars,
        catalog_as_of=(min(pl.item.as_of for pl in chosen.design.lines)
                       if chosen.design.lines else catalog.stats().oldest_as_of),
        warnings=warnings,
        region_choice=region_choice,
    )


def _waf_quote(catalog: Catalog, demands: list[WorkloadDemand], chosen: Candidate
               ) -> dict[str, object]:
    """What a WAF would add to the recommended option, where its load balancer has none (no
    framework asked for one): the review prices the finding it makes."""
    if chosen.facts.provides("web_application_firewall"):
        return {}
    cost, name = protection.waf_quote(catalog, chosen.design, demands)
    return {} if cost is None else {"waf_usd": cost, "waf_name": name}


def _private_subnets(catalog: Catalog, demands: list[WorkloadDemand], chosen: Candidate
                     ) -> dict[str, object]:
    """What private subnets with NAT would add to the recommended option, where it has
    machines of its own and no private subnets (no compliance framework asked for them):
    the review prices the finding it makes."""
    if (chosen.facts.storage_only or chosen.facts.provides("network_isolation")
            or not chosen.facts.has_machines):
        return {}
    usd, note = network.nat_quote(catalog, chosen.design, demands)
    return {"private_subnets_usd": usd, "private_subnets_note": note}


def _through_the_cdn(catalog: Catalog, req: Requirements, chosen: Candidate
                     ) -> CdnAlternative | None:
    """The recommended option with the buckets it serves to the internet itself (not
    ``public``, frequently read, egress stated) behind the CDN instead, if that saves at
    least ``CDN_SUGGESTION_MIN_USD`` and ``CDN_SUGGESTION_MIN_SHARE`` of its monthly cost,
    with no more violations, unpriced parts or compliance gaps; else None.

    Files read often and downloaded from a bucket are what a CDN is for: its transfer is
    billed at or below internet egress in many regions, and repeated downloads are served
    from the edge. Whether it costs less depends on the provider's CDN request and
    cache-fill prices and on the object sizes, so the same design is priced both ways.
    Infrequently read buckets (archives, data lakes read in bulk) would not stay in the
    edge caches, and are left out.

    Where a bucket's requests are not stated they are priced at one per
    ``AVG_RESPONSE_KB`` (web assets): the most requests, the least saving. Where that
    saves too little, the option is priced at the least average file size that would
    (``_break_even_files``): a type foundry's 8 MB font packages, 6,000 GB a month from S3,
    cost $535.50 as internet egress and got no suggestion, priced behind CloudFront as
    200 million requests."""
    private = [w for w in req.workloads if isinstance(w, ObjectStorage) and not w.public
               and w.access == "frequent" and w.egress_gb_per_month > 0]
    if not private:
        return None
    names = {w.name for w in private}
    changed = req.model_copy(update={"workloads": [
        w.model_copy(update={"public": True}) if w.name in names else w
        for w in req.workloads]})
    unstated = [w for w in private if w.requests_per_month is None]
    assumed = _redesigned(catalog, changed, chosen)
    if assumed is not None and _worth_it(assumed, chosen):
        billed = any(pl.item.component == "CDN requests" and pl.item.monthly_usd > 0
                     for pl in assumed.lines)  # Azure's CDN bills none
        return _alternative(assumed, chosen, private,
                            file_kb=AVG_RESPONSE_KB if unstated and billed else None)
    if assumed is None or not unstated:
        return None
    return _break_even_files(catalog, changed, chosen, private, unstated, assumed)


#: A bucket's break-even file size is rounded up to this many significant figures, and
#: not named above ``BREAK_EVEN_MAX_KB`` (100 MB): a saving that only files of that size
#: would bring is no advice.
BREAK_EVEN_FIGURES = 2
BREAK_EVEN_MAX_KB = 100_000.0


def _break_even_files(catalog: Catalog, changed: Requirements, chosen: Candidate,
                      private: list[ObjectStorage], unstated: list[ObjectStorage],
                      assumed: OptionDesign) -> CdnAlternative | None:
    """The option behind the CDN at the least average file size of the ``unstated``
    buckets (requests not stated) at which it saves what ``_through_the_cdn`` asks, or
    None where even files too large to make requests would not.

    The CDNs bill requests at one rate a region, so the option's cost is a straight line
    in the requests between none and the ``AVG_RESPONSE_KB`` count ``assumed`` was priced
    at; the line gives the most requests that still save enough, and the option is priced
    again at the file size that makes them, rounded up, so the figures named are the
    design's own."""
    egress = sum(w.egress_gb_per_month for w in unstated)
    if (none := _redesigned(catalog, _files_of(changed, unstated, None), chosen)) is None:
        return None
    per_request = (assumed.monthly_usd - none.monthly_usd) / (egress * 1e6 / AVG_RESPONSE_KB)
    spare = chosen.design.monthly_usd - none.monthly_usd - _saving_needed(chosen)
    if spare <= 0 or per_request <= 0:
        return None
    kb = _round_up(egress * 1e6 / (spare / per_request), BREAK_EVEN_FIGURES)
    if kb > BREAK_EVEN_MAX_KB:
        return None
    at = _redesigned(catalog, _files_of(changed, unstated, kb), chosen)
    if at is None or not _worth_it(at, chosen):
        return None
    large = (_redesigned(catalog, _files_of(changed, unstated, LARGE_FILE_KB), chosen)
             if kb < LARGE_FILE_KB else None)
    return _alternative(at, chosen, private, file_kb=kb, break_even=True,
                        large_file_saving_usd=(money(chosen.design.monthly_usd
                                                     - large.monthly_usd)
                                               if large is not None else None))


def _files_of(changed: Requirements, unstated: list[ObjectStorage], kb: float | None
              ) -> Requirements:
    """``changed`` with the ``unstated`` buckets' requests stated as those of files of
    ``kb`` kB on average (None: no requests at all)."""
    names = {w.name for w in unstated}
    return changed.model_copy(update={"workloads": [
        w.model_copy(update={"requests_per_month": (
            0.0 if kb is None else w.egress_gb_per_month * 1e6 / kb)})
        if w.name in names else w for w in changed.workloads]})


def _round_up(value: float, figures: int) -> float:
    """``value`` rounded up to ``figures`` significant figures: 137 -> 140, 1234 -> 1300."""
    step = 10 ** (math.floor(math.log10(value)) - figures + 1)
    return math.ceil(round(value / step, 9)) * step


def _redesigned(catalog: Catalog, changed: Requirements, chosen: Candidate
                ) -> OptionDesign | None:
    """The recommended option designed again on ``changed`` (buckets or services behind
    the CDN, no cluster) in its region, or None where it has more violations, unpriced
    parts or compliance gaps than the option as recommended."""
    design = design_option(catalog, changed, size_all(changed), chosen.design.region)
    if (len(design.violations) > len(chosen.design.violations)
            or len(design.unpriced) > len(chosen.design.unpriced)
            or count_gaps(_facts(changed, design), [f.value for f in changed.compliance])
            > chosen.gaps):
        return None
    return design


def _without_cluster(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                     chosen: Candidate) -> tuple[str, float, float | None] | None:
    """Where the recommended design runs a Kubernetes cluster: why (as the control plane's
    line says it), the control plane's cost, and the same design on machines behind the load
    balancer (``preferences.kubernetes: avoid``), where that design is as good. "Is
    Kubernetes worth it for us?" had no figure to answer with: the review said only that
    a cluster adds upgrades to run."""
    design = chosen.design
    plane = next((pl.item for pl in design.lines if pl.kind == "kubernetes"), None)
    if not design.kubernetes or plane is None:
        return None
    prefs = req.preferences.model_copy(update={"kubernetes": KubernetesPreference.AVOID})
    without = _redesigned(catalog, req.model_copy(update={"preferences": prefs}), chosen)
    return (network.kubernetes_why(req, demands), plane.monthly_usd,
            None if without is None or without.kubernetes else without.monthly_usd)


def _saving_needed(chosen: Candidate) -> float:
    """What the CDN must save to be suggested: ``CDN_SUGGESTION_MIN_USD`` and
    ``CDN_SUGGESTION_MIN_SHARE`` of the option's monthly cost."""
    return max(CDN_SUGGESTION_MIN_USD, CDN_SUGGESTION_MIN_SHARE * chosen.design.monthly_usd)


def _worth_it(design: OptionDesign, chosen: Candidate) -> bool:
    return money(chosen.design.monthly_usd - design.monthly_usd) >= _saving_needed(chosen)


def _alternative(design: OptionDesign, chosen: Candidate, served: list, **more: object
                 ) -> CdnAlternative:
    return CdnAlternative(cdn=network.CDN_NAMES[design.provider],
                          workloads=tuple(w.name for w in served),
                          egress_gb_per_month=sum(w.egress_gb_per_month for w in served),
                          monthly_cost_usd=design.monthly_usd,
                          saving_usd=money(chosen.design.monthly_usd - design.monthly_usd),
                          **more)


def _service_cdn(catalog: Catalog, req: Requirements, chosen: Candidate
                 ) -> CdnAlternative | None:
    """The recommended option with its web services whose responses are files (averaging
    ``FILE_RESPONSE_KB`` or more) served through the provider's CDN, the service as its
    origin, if that saves what ``_through_the_cdn`` asks of buckets; else None.

    A live-sports API sent 900,000 GB a month from its machines, 430 kB a response, as
    internet egress and load balancer data. Whether the responses can be cached is the
    business's to say; the price is worked out as for a public bucket of the same egress
    and requests (the CDN's transfer, requests and, where billed, cache fill), the
    service keeping its machines."""
    heavy = [w for w in req.workloads if isinstance(w, WebService)
             and w.egress_gb_per_month > 0
             and _response_kb(w) >= FILE_RESPONSE_KB]
    if not heavy:
        return None
    names = {w.name for w in heavy}
    origins = [ObjectStorage.model_construct(
        name=f"{w.name} (through the CDN)", type="object_storage", storage_gb=1.0,
        growth_gb_per_month=0.0, access="frequent", public=True,
        egress_gb_per_month=w.egress_gb_per_month,
        requests_per_month=w.average_rps * network.SECONDS_PER_MONTH) for w in heavy]
    changed = req.model_copy(update={"workloads": [
        w.model_copy(update={"egress_gb_per_month": 0.0}) if w.name in names else w
        for w in req.workloads] + origins})
    design = _redesigned(catalog, changed, chosen)
    if design is None or not _worth_it(design, chosen):
        return None
    return _alternative(design, chosen, heavy,
                        response_kb=round(min(_response_kb(w) for w in heavy)))


def _response_kb(w: WebService) -> float:
    """A web service's average response, kB: its egress over its requests a month."""
    return w.egress_gb_per_month * 1e6 / (w.average_rps * network.SECONDS_PER_MONTH)


def _assumed_cdn_requests(demands: list[WorkloadDemand], designs: list[OptionDesign]
                          ) -> list[str]:
    """A warning when public buckets' request counts were not stated and the count assumed
    for them (egress / ``AVG_RESPONSE_KB``, the size of web assets) costs at least
    ``ASSUMED_REQUESTS_WARN_USD`` a month in some option: a video library's segments or a
    download site's files are megabytes, and make a hundredth of the requests or fewer.
    CloudFront and Cloud CDN bill requests and Azure's CDN does not, so the assumption can
    decide the ranking; the warning names the dearest option's share."""
    assumed = [d for d in demands if d.resources.get("cdn_requests_assumed")]
    if not assumed:
        return []
    count = sum(float(d.resources["cdn_requests_per_month"]) for d in assumed)
    total = sum(float(d.resources.get("cdn_requests_per_month", 0)) for d in demands
                if d.resources.get("public"))
    share = count / total if total else 0.0
    costs = [(sum(pl.item.monthly_usd for pl in design.lines
                  if pl.item.component == "CDN requests") * share, design.provider)
             for design in designs]
    cost, provider = max(costs, default=(0.0, ""))
    if cost < ASSUMED_REQUESTS_WARN_USD:
        return []
    names = ", ".join(d.workload for d in assumed)
    return [f"{names}: CDN requests not stated; priced as {count:,.0f} a month (egress / "
            f"{AVG_RESPONSE_KB:g} KB a response, the size of web assets), {usd(cost)} a month "
            f"on {provider}. Files of megabytes (video segments, downloads) make far fewer "
            f"requests: state requests_per_month."]


def _assumed_database_sizes(req: Requirements, demands: list[WorkloadDemand],
                            designs: list[OptionDesign]) -> list[str]:
    """A warning for each database whose memory was not stated when the machines that
    assumption sizes (a tenth of its data in memory, ``sizing.size_database``) cost at least
    ``ASSUMED_DATABASE_WARN_USD`` a month and ``ASSUMED_DATABASE_WARN_SHARE`` of the option
    where they cost most: a ledger or an archive keeps far less than a tenth in memory."""
    sized = {d.workload: d.resources for d in demands}
    out = []
    for w in req.workloads:
        if not isinstance(w, Database) or w.memory_gb is not None:
            continue
        memory = float(sized[w.name]["memory_gib"])
        costs = [(sum(pl.item.monthly_usd for pl in design.lines
                      if pl.kind == "database" and pl.item.workload == w.name), design)
                 for design in designs]
        cost, design = max(costs, key=lambda c: c[0], default=(0.0, None))
        if (design is None or memory <= DB_MIN_MEMORY_GIB or cost < ASSUMED_DATABASE_WARN_USD
                or cost < ASSUMED_DATABASE_WARN_SHARE * design.monthly_usd):
            continue
        cpu = "" if w.vcpu is not None else f" and {float(sized[w.name]['vcpu']):g} vCPUs"
        out.append(f"{w.name}: memory_gb not stated, so {memory:g} GiB{cpu} were assumed (a "
                   f"tenth of its {qty(w.storage_gb)} GB of data in memory); its database "
                   f"machines cost {usd(cost)} a month on {design.provider} "
                   f"{design.region.code}, {cost / design.monthly_usd:.0%} of that option. "
                   "State memory_gb (the working set to keep in memory) and vcpu if they "
                   "are smaller.")
    return out


def _request_path(req: Requirements, design: OptionDesign) -> dict[str, tuple]:
    """The SLAs a request to the design's public services depends on (``engine.sla``):
    the load balancer, the machines (in several zones or one), and each managed database,
    from a 99.9% target up, where designs span zones with a standby for every database."""
    if float(req.availability_target) < SLA_CHECKED_FROM or not design.public_services:
        return {}
    p = design.provider
    left_out = []
    if design.waf_gateway:  # the Application Gateway, not Azure Load Balancer Standard
        left_out.append("Application Gateway WAF_v2, the load balancer (no SLA recorded here)")
    parts = [sla.part(p, "load_balancer")] if design.load_balancer and not design.waf_gateway \
        else []
    # the web fleets' smallest floor (0: only inference replicas, placed one per zone)
    spread = design.zones_used >= 2 and design.compute_instances_min != 1
    parts.append(sla.part(p, "machines_in_zones" if spread else "machine"))
    managed = {workload: is_managed for _, kind, workload, is_managed in design.components
               if kind == "database"}
    for w in req.workloads:
        if not isinstance(w, Database) or w.name not in managed:
            continue
        if not managed[w.name]:
            left_out.append(f"{w.name} (self-managed: its failover is the team's)")
            continue
        found = sla.part(p, f"database_ha:{w.engine}", w.name)
        if found is None:
            left_out.append(f"{w.name} (no SLA recorded here for managed {w.engine} on {p})")
        else:
            parts.append(found)
    return {"sla_path": tuple(x for x in parts if x is not None),
            "sla_left_out": tuple(left_out)}


def _second_region(req: Requirements, facts: ArchitectureFacts, chosen: Candidate,
                   evaluated: list[Candidate]) -> dict[str, object]:
    """Where the SLAs on a request's path multiply to less than the target, the review
    says a second region serving at the same time would back it: this is which, and what
    the same design costs there. Of the provider's other regions designed for these
    requirements (near the users, within the residency and region preferences), the one
    comparable to the recommendation (``_comparable``) nearest the users, then cheapest. A
    payments company at 99.99% learns that it costs about twice the bill, and a design held
    to one covered region by its residency learns that there is none."""
    if not facts.sla_path or sla.product(facts.sla_path) >= float(req.availability_target):
        return {}
    region = chosen.design.region
    others = [c for c in evaluated if c.design.provider == chosen.design.provider
              and c.design.region.code != region.code and _comparable(c, chosen)]
    best = min(others, key=lambda c: (c.user_rtt_ms if c.user_rtt_ms is not None else 0.0,
                                      c.design.monthly_usd, c.design.region.code),
               default=None)
    found = None if best is None else (
        f"{best.design.region.code} ({best.design.region.city})", best.design.monthly_usd)
    return {"second_region": found, "second_region_checked": True}


def _past_last_tier(design: OptionDesign, growth_rate: float, horizon: int) -> list[str]:
    """A warning for each tiered line whose volume passes the catalog's last tier during
    the expected projection (within it in month 1: above it, month 1 lists the rest
    unpriced): the projection's later months leave the volume above it out."""
    out = []
    for pl in design.lines:
        part = pl.part
        if not isinstance(part, growth.ScaledTiers | growth.GrowingStorage):
            continue
        if beyond_tiers(part.rows, part.billed(1, 1.0)):
            continue
        month = next((m for m in range(2, horizon + 1)
                      if beyond_tiers(part.rows, part.billed(m, (1 + growth_rate) ** (m - 1)))),
                     None)
        if month is not None:
            end = last_tier_end(part.rows) or 0.0
            out.append(f"{pl.item.workload}: {pl.item.component} passes the catalog's last "
                       f"tier ({end:,.0f} {part.rows[0].unit.value} a month) in month {month} "
                       "of the projection; from then on the projection leaves the volume "
                       "above it out (the provider quotes it)")
    return out


def _kept_abroad(req: Requirements, choice: latency.Choice, chosen: Candidate,
                 evaluated: list[Candidate]) -> list[str]:
    """A warning where the recommended region is in none of the places the users are and
    nothing says where the data may be kept: US users' data in Montréal is near them, and
    cheaper, but may not be where their contracts or regulators want it. It names the
    cheapest comparable region designed where the users are (``_comparable``), and what it
    costs more: a UK sports club's data went to Stockholm for $2.30 a
    month less than London (now within the allowance for a nearer region,
    ``ranking.nearer_pick``, so London; where the users' own region costs more than that,
    this warning names it)."""
    places = set(choice.users)
    region = chosen.design.region
    if (choice.users_from != "users" or req.data_residency or req.preferences.regions
            or region.group in places or region.country in places):
        return []
    users = listing([place_name(p) for p in choice.users])
    text = (f"The recommended region {region.code} keeps the data in {region.city} "
            f"({place_name(region.country)}), where none of the users (in {users}) are: it "
            "was chosen for its round trip and cost, as no data_residency is stated. State "
            "data_residency if the data must stay in the users' countries.")
    home = [c for c in evaluated if _comparable(c, chosen)
            and (c.design.region.group in places or c.design.region.country in places)]
    if home:
        best = min(home, key=lambda c: (c.design.monthly_usd, c.design.region.code))
        more = best.design.monthly_usd - chosen.design.monthly_usd
        text += (f" The cheapest region designed where they are, {best.design.provider} "
                 f"{best.design.region.code} ({best.design.region.city}), costs "
                 f"{usd(best.design.monthly_usd)} a month"
                 + (f", {usd(more)} more." if more > 0.005 else "."))
    return [text]


def _wide_groups(choice: latency.Choice) -> list[str]:
    """A warning for each region group the users are given as whose regions are too far
    apart for "in the group" to mean near (apac): the design took any of them as near."""
    if not choice.applies:
        return []
    out = []
    for group, ms, a, b in latency.wide_groups(choice.users):
        if not any(r.group == group for r in choice.regions):
            continue
        countries = sorted({r.country for r in REGIONS.values() if r.group == group})
        out.append(f"Where the users are is given as the region group {group} "
                   f"({choice.users_from}), whose regions are up to {ms} ms round trip apart "
                   f"({a.city} to {b.city}), so any of them counted as near. List the "
                   f"users' countries in users ({', '.join(countries)} or others) to have "
                   "regions chosen near them.")
    return out


def _far_users(choice: latency.Choice, allowed: list[Region], design: OptionDesign
               ) -> dict[str, object]:
    """The users the design's region is far from (``ArchitectureFacts.far_users``), each
    with the provider's nearest allowed region that would be near them, and whether the
    design has a CDN: what the review's latency finding is written from."""
    if not choice.applies:
        return {}
    region = design.region
    far = []
    shares = []
    for place in choice.users:
        ms = latency.rtt_ms(region, (place,))
        if ms <= latency.NEAR_RTT_MS:
            continue
        near = [r for r in allowed if latency.rtt_ms(r, (place,)) <= latency.NEAR_RTT_MS]
        # of those as near, the one nearest the design's region, where the data replicates
        # from (every EU region is 0 ms from users in the EU: Finland had won by its code)
        best = min(near, key=lambda r: (latency.rtt_ms(r, (place,)),
                                        between(region.measured_at, r.measured_at), r.code),
                   default=None)
        far.append((place_name(place), ms, f"{best.code} ({best.city})" if best else ""))
        if choice.shares:
            shares.append(choice.shares[place])
    return {"far_users": tuple(far), "far_shares": tuple(shares),
            "has_cdn": design.has_cdn}


def _comparable(c: Candidate, chosen: Candidate) -> bool:
    """Whether another designed region can be named beside the recommended one with its
    total: no more violations, compliance gaps or unpriced parts, and no more parts designed
    self-managed where managed was asked (the totals would not say which costs less)."""
    d, first = c.design, chosen.design
    return (len(d.violations) <= len(first.violations) and c.gaps <= chosen.gaps
            and len(d.unpriced) <= len(first.unpriced)
            and len(d.not_as_asked) <= len(first.not_as_asked))


#: A designed region is named as nearer when its farthest users are at least this much
#: nearer than the recommended region's.
NEARER_BY_MS = 20


def _nearer_region(choice: latency.Choice, chosen: Candidate, evaluated: list[Candidate]
                   ) -> tuple[str, int, float, int | None] | None:
    """Where the recommended region is far from some of the users: the comparable designed
    region (``_comparable``) whose users are nearest (at least ``NEARER_BY_MS`` nearer),
    with what it costs more. Regions near as many places tie on the count, and price
    chose among them: a game for Japan, Singapore, Australia and India went to Mumbai
    (Japan 122 ms, Australia 138) where Singapore, near the same two, serves the other two
    within ~90 ms. Nearer is the farthest users' round trip, or with shares the average
    user's (``latency.Choice.rtt_ms``, each candidate's ``user_rtt_ms``): for a US-first
    app, AWS Oregon served every place within ~130 ms, but its EU users (35%) slower than
    South Carolina did."""
    if not choice.applies:
        return None
    if latency.rtt_ms(chosen.design.region, choice.users) <= latency.NEAR_RTT_MS:
        return None

    def users(c: Candidate) -> int:
        return int(c.user_rtt_ms or 0)

    mine = users(chosen)
    others = [c for c in evaluated if _comparable(c, chosen) and users(c) <= mine - NEARER_BY_MS]
    if not others:
        return None
    best = min(others, key=lambda c: (users(c), c.design.monthly_usd, c.design.region.code))
    r = best.design.region
    return (f"{best.design.provider} {r.code} ({r.city})", users(best),
            money(best.design.monthly_usd - chosen.design.monthly_usd),
            mine if choice.shares else None)


def _region_choice(choice: latency.Choice) -> RegionChoice:
    return RegionChoice(users=list(choice.users), users_from=choice.users_from,
                        user_shares=dict(choice.shares), rule=choice.rule,
                        max_rtt_ms=float(latency.NEAR_RTT_MS) if choice.applies else None,
                        excluded=[f"{g}: near {choice.amount(n)}, against "
                                  f"{choice.near_most:g}{'%' if choice.shares else ''}"
                                  for g, n in choice.fewer.items()]
                        + [f"{g}: ~{ms} ms round trip" for g, ms in choice.excluded.items()],
                        closing=[f"{r.provider.value} {r.code}" for r in choice.closing])


def _allowed_regions(req: Requirements, provider: Provider) -> list[Region]:
    regions = regions_of(provider)
    if req.data_residency:
        regions = [r for r in regions if within(r, req.data_residency)]
    if req.preferences.regions:
        codes = set(req.preferences.regions)
        regions = [r for r in regions if r.code in codes]
    return regions


def _closing_gaps(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                  choice: latency.Choice, allowed: list[Region], evaluated: list[Candidate]
                  ) -> list[Candidate]:
    """Regions near fewer of the users' places (``latency.near_some``) whose designs have
    fewer compliance gaps, and no more violations, than every region near the most: the
    ranking puts gaps before cost, so it must see them. A language app for the US, the EU,
    Japan and Korea under GDPR had only Tokyo regions designed (near two of the four
    places), each with the GDPR transfer gap an EU region does not have."""
    if not evaluated:
        return []
    least = min((c.violations, c.gaps) for c in evaluated)
    if least[1] == 0:
        return []
    found = [_evaluate(catalog, req, demands, r, choice)
             for r in latency.near_some(allowed, choice)]
    return [c for c in found if c.violations <= least[0] and c.gaps < least[1]]


def _evaluate(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
              region: Region, choice: latency.Choice) -> Candidate:
    """Design a region and count its compliance gaps (for ranking)."""
    design = design_option(catalog, req, demands, region)
    facts = _facts(req, design)
    return Candidate(design, facts, count_gaps(facts, [f.value for f in req.compliance]),
                     user_rtt_ms=choice.rtt_ms(region), rtt_by_share=bool(choice.shares))


def _with_remediation_costs(catalog: Catalog, req: Requirements,
                            demands: list[WorkloadDemand], c: Candidate) -> Candidate:
    """Evaluate a kept option's controls in full, pricing the remediation of its gaps."""
    controls = evaluate(c.facts, [f.value for f in req.compliance],
                        lambda key: _remediation_cost(catalog, req, demands, c.design, key))
    assert gap_count(controls) == c.gaps
    kept = Candidate(c.design, c.facts, c.gaps, controls, c.user_rtt_ms, c.rtt_by_share)
    kept.compared, kept.preferred_to = c.compared, c.preferred_to
    return kept


def _facts(req: Requirements, design: OptionDesign) -> ArchitectureFacts:
    p, region = design.provider, design.region
    # what compliance may claim, worded from the parts this design contains
    evidence = design_evidence(req, design)
    frameworks = tuple(f.value for f in req.compliance)
    return ArchitectureFacts(
        provider=p, region=region.code, region_group=region.group, country=region.country,
        region_city=region.city,
        zones_used=design.zones_used, availability_target=float(req.availability_target),
        frameworks=frameworks, residency=tuple(req.data_residency),
        residency_groups=residency_groups(req.data_residency),
        components=evidence.components, capabilities=evidence.capabilities,
        shortfalls=evidence.shortfalls,
        managed_database=design.managed_database, database_ha=design.database_ha,
        compute_instances_min=design.compute_instances_min, kubernetes=design.kubernetes,
        uses_spot=design.uses_spot, arm64=design.arm64,
        has_public_endpoint=design.has_public_endpoint, has_ml=design.has_ml,
        monthly_cost_usd=design.monthly_usd,
        monthly_budget_usd=req.business.monthly_budget_usd,
        unpriced=tuple(design.unpriced), commitment=req.preferences.commitment.value,
        interruptible_on_demand=tuple(design.interruptible_on_demand),
        autoscaling_saving_usd=round(design.autoscaling_saving_usd, 2),
        underutilised=tuple(design.underutilised), held_peaks=tuple(design.held_peaks),
        sudden_peaks=tuple(design.sudden_peaks),
        scaled_inference=tuple(design.scaled_inference),
        part_time_workers=tuple(design.part_time_workers),
        dearer_classes=tuple(design.dearer_classes),
        growth_rate_monthly=req.business.growth_rate_monthly,
        horizon_months=req.business.horizon_months,
        storage_only=not network.in_private_network(req.workloads),
        has_machines=network.has_machines(design))


def _copy_cost(catalog: Catalog, provider: str, regions: list[Region], gb: float
               ) -> tuple[float, Region] | None:
    """The cheapest infrequent-access object storage for ``gb`` among ``regions``."""
    costs = [(tiered_cost(rows, gb), r) for r in regions
             if (rows := tier_group(catalog, provider, r.code, ProductFamily.OBJECT_STORAGE,
                                    storage_class="infrequent"))]
    return min(costs, key=lambda x: (x[0], x[1].code)) if costs else None


def _remediation_cost(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                      design: OptionDesign, key: str) -> RemediationPrice:
    """The monthly cost of closing a gap where the catalog can price it, and what the
    figure covers; None with the reason when it cannot."""
    p, r = design.provider, design.region
    if key == "high_availability":
        if not network.in_private_network(demands):
            return RemediationPrice(None, f"the catalog prices no zone-redundant class of "
                                          f"{p}'s object storage")
        target = max(float(req.availability_target), 99.9)
        if target == float(req.availability_target):
            return RemediationPrice(None, "the target is already 99.9% or more; the design "
                                          "could not span two zones here, which the catalog "
                                          "cannot price")
        better = req.model_copy(update={"availability_target": target})
        extra = design_option(catalog, better, size_all(better), r).monthly_usd
        return RemediationPrice(money(max(0.0, extra - design.monthly_usd)),
                                f"the design priced again at {target:g}% availability "
                                f"in {r.code}: the difference")
    if key == "network_isolation":
        cost, note = network.nat_quote(catalog, design, demands)
        return RemediationPrice(cost, note)
    if key in ("disaster_recovery", "backups"):
        types = (kinds_where(lambda f: f.holds_data) if key == "disaster_recovery"
                 else frozenset({WorkloadKind.DATABASE}))
        gb = sum(float(d.resources.get("storage_gb", 0)) for d in demands if d.type in types)
        if not gb:
            return RemediationPrice(None, "no stored data to size the copy from")
        if key == "backups":
            found = _copy_cost(catalog, p, [r], gb)
            where = "the same region"
            extra = "; WAL or binlog archive and requests not priced"
        else:
            # a second region in the same group (the same legal area, near enough to
            # restore from), else any other allowed one
            others = [x for x in regions_of(p) if x.code != r.code and (
                not req.data_residency or within(x, req.data_residency))]
            if not others:
                return RemediationPrice(None, f"the catalog covers no second {p} region "
                                              "within the data residency ("
                                              f"{', '.join(req.data_residency)})")
            found = (_copy_cost(catalog, p, [x for x in others if x.group == r.group], gb)
                     or _copy_cost(catalog, p, others, gb))
            where = "a second region"
            extra = "; transfer between regions not priced"
        if found is None:
            return RemediationPrice(None, f"no infrequent-access object storage price in "
                                          f"{where}")
        cost, region = found
        return RemediationPrice(cost, f"one copy of {qty(gb)} GB in infrequent-access object "
                                      f"storage in {region.code} ({where}){extra}")
    return RemediationPrice(None, "")


def _option(catalog: Catalog, c: Candidate, rank: int, promoted: bool,
            left_out: list[str], nearer_than: Candidate | None) -> Option:
    d = c.design
    dates = [pl.item.as_of for pl in d.lines]
    return Option(
        provider=d.provider, region=d.region.code, region_name=d.region.name,
        monthly_cost_usd=d.monthly_usd, line_items=[pl.item for pl in d.lines],
        commitment=commitment.analyse(catalog, d), compliance_gaps=c.gaps,
        constraints_met=not d.violations, violations=list(d.violations),
        unpriced=list(d.unpriced), purchase_terms=dict(d.purchase_terms),
        terms_unavailable=list(d.terms_unavailable), rank=rank,
        rank_basis=reasons.rank_basis(c, promoted, left_out, nearer_than),
        compared_cost_usd=c.compared,
        user_rtt_ms=c.user_rtt_ms,
        price_dates=PriceDates(oldest=min(dates), newest=max(dates)) if dates else None)


def _budget(catalog: Catalog, req: Requirements, order: ranking.Ranking,
            evaluated: list[Candidate], exceeded_month: int | None, parts_month: int | None,
            parts: tuple[tuple[str, float, float], ...]) -> Budget:
    limit = req.business.monthly_budget_usd
    if limit is None:
        return Budget(monthly_budget_usd=None, within_budget=None, gap_usd=None)
    ranked = order.ranked
    chosen = ranked[0]
    compliant = [c for c in evaluated if not c.design.violations and not c.design.unpriced]
    fewest = min((c.gaps for c in compliant), default=None)
    # fully priced, so their totals compare like with like; on a tie the recommendation
    # itself, then the region nearer the users (as the ranking): the static site's US
    # firm was told Montréal was its cheapest at the same $3.38 as its Virginia
    cheapest = min((c for c in compliant if c.gaps == fewest),
                   key=lambda c: (c.cost, c.design is not chosen.design,
                                  c.user_rtt_ms if c.user_rtt_ms is not None else math.inf,
                                  c.design.provider, c.design.region.code),
                   default=None)
    tried = chosen.cost > limit or exceeded_month is not None
    found, together, together_over = (
        levers.budget_levers(catalog, req, chosen.design, chosen.gaps, _facts)
        if tried else ([], None, None))
    return Budget(monthly_budget_usd=limit, within_budget=chosen.cost <= limit,
                  gap_usd=round(chosen.cost - limit, 2), over_budget_from_month=exceeded_month,
                  parts_month=parts_month,
                  parts=[CostPart(component=name, monthly_usd=now, later_usd=later)
                         for name, now, later in parts],
                  passing_note=passing_text(exceeded_month, parts_month, parts).strip(),
                  levers=found,
                  levers_together_usd=together,
                  levers_together_over_budget_from_month=together_over,
                  levers_note=levers.NONE_FOUND if tried and not found else "",
                  cheapest_compliant=(reasons.alternative(
                      chosen, cheapest, order.promoted,
                      ranked=any(c.design is cheapest.design for c in ranked),
                      nearer=order.nearer)
                                      if cheapest else None))


def _budget_p90_month(req: Requirements, proj: list, exceeded_month: int | None
                      ) -> int | None:
    """The first month the projection's P90 passes the budget, where the expected cost
    stays within it: the risk a faster growth than stated puts on the budget."""
    limit = req.business.monthly_budget_usd
    if limit is None or exceeded_month is not None:
        return None
    return next((m.month for m in proj if m.p90 > limit), None)


def _budget_exceeded_month(req: Requirements, proj: list) -> int | None:
    limit = req.business.monthly_budget_usd
    return None if limit is None else levers.first_month_over(proj, limit)


def _empty_result(req: Requirements, demands: list[WorkloadDemand], catalog: Catalog,
                  warnings: list[str], region_choice: RegionChoice) -> AssessmentResult:
    warnings.append("no provider region is allowed by the requirements: nothing to price")
    limit = req.business.monthly_budget_usd
    return AssessmentResult(
        requirements=req, demand=[d.to_demand() for d in demands], options=[],
        recommended=None, projection=[],
        budget=Budget(monthly_budget_usd=limit, within_budget=None, gap_usd=None),
        compliance=[], review=[], catalog_as_of=catalog.stats().oldest_as_of,
        warnings=warnings, region_choice=region_choice)
