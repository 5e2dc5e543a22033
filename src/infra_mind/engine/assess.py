"""``assess``: requirements in, priced and explained options out.

Sizes every workload, designs every allowed provider region at least cost,
evaluates compliance on each design, keeps the best region per provider, and
recommends one with ranked reasons. Pure: no I/O beyond the loaded catalog, no
network, no model; the same input and catalog always give the same result.
"""

from __future__ import annotations

from dataclasses import replace

from infra_mind.catalog.model import ProductFamily, Provider
from infra_mind.catalog.regions import Region, regions_of
from infra_mind.catalog.store import Catalog, default_catalog
from infra_mind.engine import commitment, projection
from infra_mind.engine.compliance import count_gaps, evaluate, gap_count
from infra_mind.engine.design import OptionDesign, design_option
from infra_mind.engine.facts import ArchitectureFacts, Component
from infra_mind.engine.pricing import first_row, money, tier_group, tiered_cost
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.result import (
    Alternative,
    AssessmentResult,
    Budget,
    ControlResult,
    Option,
    Recommendation,
)
from infra_mind.engine.review import review
from infra_mind.engine.sizing import HOURS_PER_MONTH, WorkloadDemand, size_all

#: The existing provider is recommended when its best option costs at most this much
#: more than the cheapest: staying avoids a migration the comparison does not price.
EXISTING_PROVIDER_TOLERANCE = 0.10

_BASELINE = {
    "aws": {"encryption_at_rest": "EBS, RDS and S3 encryption with AWS KMS-managed keys",
            "access_control": "AWS IAM roles with least privilege",
            "audit_logging": "AWS CloudTrail management events",
            "monitoring": "Amazon CloudWatch metrics and alarms",
            "ddos_protection": "AWS Shield Standard"},
    "azure": {"encryption_at_rest": "Azure Storage and managed-disk encryption with "
                                    "platform-managed keys",
              "access_control": "Microsoft Entra ID with Azure RBAC",
              "audit_logging": "Azure Activity Log",
              "monitoring": "Azure Monitor metrics and alerts",
              "ddos_protection": "Azure DDoS infrastructure protection"},
    "gcp": {"encryption_at_rest": "Google default encryption at rest",
            "access_control": "Cloud IAM with least-privilege service accounts",
            "audit_logging": "Cloud Audit Logs (Admin Activity)",
            "monitoring": "Cloud Monitoring metrics and alerting",
            "ddos_protection": "Google Cloud load balancer DDoS protection"},
}


def assess(requirements: dict | Requirements, catalog: Catalog | None = None
           ) -> AssessmentResult:
    """Assess ``requirements`` against ``catalog`` (default: the catalog in force)."""
    req = (requirements if isinstance(requirements, Requirements)
           else Requirements.model_validate(requirements))
    catalog = catalog or default_catalog()
    demands = size_all(req)
    warnings: list[str] = []
    evaluated: list[_Evaluated] = []
    for provider in req.preferences.providers:
        regions = _allowed_regions(req, provider)
        if not regions:
            warnings.append(f"{provider.value}: no covered region meets the residency and "
                            "region preferences")
        for region in regions:
            evaluated.append(_evaluate(catalog, req, demands, region))
    if not evaluated:
        return _empty_result(req, demands, catalog, warnings)
    best = [_with_remediation_costs(catalog, req, demands, e)
            for e in _best_per_provider(evaluated)]
    chosen = _recommend(req, best)
    proj = projection.project(chosen.design, req.business.growth_rate_monthly,
                              req.business.horizon_months, req.model_dump_json())
    budget_month = _budget_exceeded_month(req, proj)
    options = [_option(catalog, e) for e in best]
    chosen_option = options[best.index(chosen)]
    saving = max((c.savings_usd for c in chosen_option.commitment
                  if c.purchase_option != "spot"), default=0.0)
    facts = replace(chosen.facts, commitment_saving_usd=saving,
                    budget_exceeded_month=budget_month)
    pillars = review(facts, chosen.controls)
    warnings += chosen.design.warnings
    warnings += [f"not priced (no catalog price): {u}" for u in chosen.design.unpriced]
    return AssessmentResult(
        requirements=req,
        demand=[d.to_demand() for d in demands],
        options=options,
        recommended=_recommendation(req, chosen, best),
        projection=proj,
        budget=_budget(req, chosen, evaluated),
        compliance=chosen.controls,
        review=pillars,
        catalog_as_of=(min(pl.item.as_of for pl in chosen.design.lines)
                       if chosen.design.lines else catalog.stats().oldest_as_of),
        warnings=warnings,
    )


class _Evaluated:
    """One designed region with its facts, its gap count and (once kept) its controls."""

    def __init__(self, design: OptionDesign, facts: ArchitectureFacts, gaps: int,
                 controls: list[ControlResult] | None = None) -> None:
        self.design = design
        self.facts = facts
        self.gaps = gaps
        self.controls = controls or []

    @property
    def cost(self) -> float:
        return self.design.monthly_usd

    def rank_key(self) -> tuple:
        d = self.design
        return (bool(d.violations), len(d.unpriced), self.gaps, self.cost,
                d.provider, d.region.code)


def _allowed_regions(req: Requirements, provider: Provider) -> list[Region]:
    regions = regions_of(provider)
    if req.data_residency:
        regions = [r for r in regions if r.group in req.data_residency]
    if req.preferences.regions:
        regions = [r for r in regions if r.code in req.preferences.regions]
    return regions


def _evaluate(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
              region: Region) -> _Evaluated:
    """Design a region and count its compliance gaps (for ranking)."""
    design = design_option(catalog, req, demands, region)
    facts = _facts(req, design)
    return _Evaluated(design, facts, count_gaps(facts, [f.value for f in req.compliance]))


def _with_remediation_costs(catalog: Catalog, req: Requirements,
                            demands: list[WorkloadDemand], e: _Evaluated) -> _Evaluated:
    """Evaluate a kept option's controls in full, pricing the remediation of its gaps."""
    controls = evaluate(e.facts, [f.value for f in req.compliance],
                        lambda key: _remediation_cost(catalog, req, demands, e.design, key))
    assert gap_count(controls) == e.gaps
    return _Evaluated(e.design, e.facts, e.gaps, controls)


def _facts(req: Requirements, design: OptionDesign) -> ArchitectureFacts:
    p, region = design.provider, design.region
    caps = dict(_BASELINE[p])
    if not design.has_public_endpoint:
        caps.pop("ddos_protection")
    caps.setdefault("encryption_in_transit", "TLS between services and to the database")
    caps.update(design.capabilities)
    has_db = any(kind == "database" for _, kind, _, _ in design.components)
    if (design.zones_used >= 2 and design.compute_instances_min != 1
            and (not has_db or design.database_ha)):
        caps["high_availability"] = f"{design.zones_used} availability zones in {region.code}"
    frameworks = tuple(f.value for f in req.compliance)
    if req.data_residency:
        if region.group in req.data_residency:
            caps["data_residency"] = f"{region.name} ({region.country}), within " \
                                     f"{', '.join(req.data_residency)}"
    elif "gdpr" not in frameworks or region.group in ("eu", "uk"):
        caps["data_residency"] = f"{region.name} ({region.country})"
    components = tuple(Component(name, kind, workload, managed)
                       for name, kind, workload, managed in design.components)
    return ArchitectureFacts(
        provider=p, region=region.code, region_group=region.group, country=region.country,
        zones_used=design.zones_used, availability_target=float(req.availability_target),
        frameworks=frameworks, residency_groups=tuple(req.data_residency),
        components=components, capabilities=caps,
        managed_database=design.managed_database, database_ha=design.database_ha,
        compute_instances_min=design.compute_instances_min, kubernetes=design.kubernetes,
        uses_spot=design.uses_spot, arm64=design.arm64,
        has_public_endpoint=design.has_public_endpoint, has_ml=design.has_ml,
        monthly_cost_usd=design.monthly_usd,
        monthly_budget_usd=req.business.monthly_budget_usd,
        unpriced=tuple(design.unpriced), commitment=req.preferences.commitment.value,
        interruptible_on_demand=tuple(design.interruptible_on_demand),
        autoscaling_saving_usd=round(design.autoscaling_saving_usd, 2),
        underutilised=tuple(design.underutilised),
        growth_rate_monthly=req.business.growth_rate_monthly,
        horizon_months=req.business.horizon_months)


def _remediation_cost(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                      design: OptionDesign, key: str) -> float | None:
    """The monthly cost of closing a gap, where the catalog can price it; else None."""
    p, r = design.provider, design.region
    if key == "high_availability":
        target = max(float(req.availability_target), 99.9)
        if target == float(req.availability_target):
            return None
        better = req.model_copy(update={"availability_target": target})
        return money(max(0.0, design_option(catalog, better, size_all(better), r).monthly_usd
                         - design.monthly_usd))
    if key == "network_isolation":
        nat = first_row(catalog, p, r.code, ProductFamily.NAT_GATEWAY, dimension="hourly")
        return money(nat.price_usd * HOURS_PER_MONTH * design.zones_used) if nat else None
    if key == "disaster_recovery":
        gb = sum(float(d.resources.get("storage_gb", 0)) for d in demands
                 if d.type in ("database", "object_storage"))
        if not gb:
            return None
        others = [x for x in regions_of(p) if x.code != r.code
                  and (not req.data_residency or x.group in req.data_residency)]
        costs = [tiered_cost(rows, gb) for x in others
                 if (rows := tier_group(catalog, p, x.code, ProductFamily.OBJECT_STORAGE,
                                        storage_class="infrequent"))]
        return min(costs) if costs else None
    return None


def _best_per_provider(evaluated: list[_Evaluated]) -> list[_Evaluated]:
    best: dict[str, _Evaluated] = {}
    for e in evaluated:
        cur = best.get(e.design.provider)
        if cur is None or e.rank_key() < cur.rank_key():
            best[e.design.provider] = e
    return sorted(best.values(), key=_Evaluated.rank_key)


def _recommend(req: Requirements, best: list[_Evaluated]) -> _Evaluated:
    top = best[0]
    existing = req.preferences.existing_provider
    if existing is not None:
        mine = next((e for e in best if e.design.provider == existing.value), None)
        if (mine is not None and mine is not top and mine.rank_key()[:3] == top.rank_key()[:3]
                and mine.cost <= top.cost * (1 + EXISTING_PROVIDER_TOLERANCE)):
            return mine
    return top


def _option(catalog: Catalog, e: _Evaluated) -> Option:
    d = e.design
    return Option(
        provider=d.provider, region=d.region.code, region_name=d.region.name,
        monthly_cost_usd=d.monthly_usd, line_items=[pl.item for pl in d.lines],
        commitment=commitment.analyse(catalog, d), compliance_gaps=e.gaps,
        constraints_met=not d.violations, violations=list(d.violations),
        unpriced=list(d.unpriced))


def _recommendation(req: Requirements, chosen: _Evaluated, best: list[_Evaluated]
                    ) -> Recommendation:
    d = chosen.design
    reasons = []
    others = [e for e in best if e is not chosen]
    cheaper = [e for e in others if e.cost < chosen.cost and not e.design.violations]
    existing = req.preferences.existing_provider
    if existing is not None and d.provider == existing.value and cheaper:
        reasons.append(f"Already on {d.provider}: staying avoids a migration, and this option "
                       f"costs within {EXISTING_PROVIDER_TOLERANCE:.0%} of the cheapest "
                       f"({cheaper[0].design.provider} {cheaper[0].cost:,.2f} USD/month)")
    elif others:
        nxt = others[0]
        cheaper_but = [e for e in others if e.cost < chosen.cost]
        parts = ["meet every constraint" if not d.violations else "have the fewest violations"]
        if not d.unpriced:
            parts.append("are fully priced")
        if req.compliance:
            parts.append(f"have the fewest compliance gaps ({chosen.gaps})")
        basis = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        reasons.append(f"Lowest monthly cost among the options that {basis}: "
                       f"{chosen.cost:,.2f} USD, against {nxt.cost:,.2f} USD on "
                       f"{nxt.design.provider} {nxt.design.region.code}")
        for e in cheaper_but:
            why = "; ".join(_alternative(chosen, e).why_not)
            reasons.append(f"{e.design.provider} {e.design.region.code} is cheaper on paper "
                           f"({e.cost:,.2f} USD) but ranks lower: {why}")
    if not d.violations:
        zones = f"{d.zones_used} availability zone{'s' if d.zones_used > 1 else ''}"
        reasons.append(f"Meets every constraint: {d.region.name} ({d.region.group}), "
                       f"{zones} for {req.availability_target}% availability")
    if req.compliance:
        met = sum(1 for c in chosen.controls if c.status == "met")
        reasons.append(f"{met} technical controls met by the design, {chosen.gaps} gap(s), "
                       f"across {', '.join(f.value for f in req.compliance)}")
    if d.unpriced:
        reasons.append(f"{len(d.unpriced)} component(s) have no catalog price and are not in "
                       "the total (see warnings)")
    else:
        reasons.append("Every component is priced from the dated catalog")
    alternatives = [_alternative(chosen, e) for e in others]
    return Recommendation(provider=d.provider, region=d.region.code,
                          monthly_cost_usd=chosen.cost, reasons=reasons,
                          alternatives=alternatives)


def _alternative(chosen: _Evaluated, e: _Evaluated) -> Alternative:
    delta = round(e.cost - chosen.cost, 2)
    why = []
    if e.design.violations:
        why += e.design.violations
    if e.design.unpriced:
        why.append(f"{len(e.design.unpriced)} component(s) unpriced")
    if e.gaps > chosen.gaps:
        why.append(f"{e.gaps - chosen.gaps} more compliance gap(s)")
    if delta > 0:
        why.append(f"{delta:,.2f} USD a month more")
    elif delta < 0 and not why:
        why.append(f"{-delta:,.2f} USD a month cheaper, but not the existing provider")
    return Alternative(provider=e.design.provider, region=e.design.region.code,
                       monthly_cost_usd=e.cost, delta_usd=delta,
                       delta_pct=round(delta / chosen.cost * 100, 1) if chosen.cost else 0.0,
                       why_not=why)


def _budget(req: Requirements, chosen: _Evaluated, evaluated: list[_Evaluated]) -> Budget:
    limit = req.business.monthly_budget_usd
    if limit is None:
        return Budget(monthly_budget_usd=None, within_budget=None, gap_usd=None)
    compliant = [e for e in evaluated if not e.design.violations and not e.design.unpriced]
    fewest = min((e.gaps for e in compliant), default=None)
    cheapest = min((e for e in compliant if e.gaps == fewest), key=lambda e: e.cost,
                   default=None)
    return Budget(monthly_budget_usd=limit, within_budget=chosen.cost <= limit,
                  gap_usd=round(chosen.cost - limit, 2),
                  cheapest_compliant=_alternative(chosen, cheapest) if cheapest else None)


def _budget_exceeded_month(req: Requirements, proj: list) -> int | None:
    limit = req.business.monthly_budget_usd
    if limit is None:
        return None
    return next((m.month for m in proj if m.monthly_cost_usd > limit), None)


def _empty_result(req: Requirements, demands: list[WorkloadDemand], catalog: Catalog,
                  warnings: list[str]) -> AssessmentResult:
    warnings.append("no provider region is allowed by the requirements: nothing to price")
    limit = req.business.monthly_budget_usd
    return AssessmentResult(
        requirements=req, demand=[d.to_demand() for d in demands], options=[],
        recommended=None, projection=[],
        budget=Budget(monthly_budget_usd=limit, within_budget=None, gap_usd=None),
        compliance=[], review=[], catalog_as_of=catalog.stats().oldest_as_of,
        warnings=warnings)
