"""Budget levers: what the business could change to bring the recommendation within budget.

When the recommended option costs more than the budget, or will with growth before the
horizon, an architect does not stop at "over budget": they say what could be given up and
what each would save. Each lever here is one setting of the requirements changed, the same
provider and region designed again by the engine (so every figure comes from the catalog),
and what that gives up, in words written from the two designs:

- the availability target one step down, to the first step that costs less (fewer zones,
  databases without a standby);
- a 1-year or 3-year commitment on the machines that run all month (3 years where 1 was
  asked);
- spot capacity for work marked interruptible;
- self-managed databases and caches where managed services were asked for (with the
  compliance gaps that adds);
- machines behind the load balancer instead of a Kubernetes cluster, where Kubernetes was
  not required;
- arm64 machines, where they were ruled out;
- under PCI DSS, card payments taken on the payment processor's hosted page, which takes
  these systems out of the standard's scope (a merchant's SAQ A): for a small shop the
  WAF, private subnets with NAT and customer-managed keys PCI DSS asks of the systems
  that handle card data are most of the bill (a made-up two-person craft shop: $93.21 a
  month on a $60 budget, no lever within it).

A lever is offered only when it costs less, violates no more constraints and leaves no
more parts unpriced than the recommendation. ``together`` prices every lever at once
(where two set the same setting, the one saving more), to say whether even all of them
bring the design within budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from infra_mind.catalog.store import Catalog
from infra_mind.engine import projection
from infra_mind.engine.compliance import count_gaps
from infra_mind.engine.design import OptionDesign, design_option
from infra_mind.engine.facts import ArchitectureFacts
from infra_mind.engine.money import listing
from infra_mind.engine.pricing import money
from infra_mind.engine.requirements import (
    AvailabilityTarget,
    Commitment,
    Framework,
    KubernetesPreference,
    Requirements,
)
from infra_mind.engine.result import BudgetLever, ProjectionMonth
from infra_mind.engine.sizing import HOURS_PER_MONTH, size_all

#: A lever must save at least this much a month to be offered.
MIN_SAVING_USD = 1.0
#: What the budget says when levers were tried and none lowers the cost.
NONE_FOUND = ("No single change of the availability target, a commitment, spot capacity, "
              "managed services, Kubernetes or arm64 lowers this option's cost: the catalog "
              "has no cheaper way to run its parts under those settings")

Facts = Callable[[Requirements, OptionDesign], ArchitectureFacts]


@dataclass(frozen=True)
class _Change:
    setting: str  # "availability_target", "compliance" or "preferences.<name>"
    value: Any
    change: str  # the change in words

    def applied(self, req: Requirements) -> Requirements:
        if self.setting.startswith("preferences."):
            name = self.setting.removeprefix("preferences.")
            prefs = req.preferences.model_copy(update={name: self.value})
            return req.model_copy(update={"preferences": prefs})
        return req.model_copy(update={self.setting: self.value})


def over_budget_from(req: Requirements, design: OptionDesign) -> int | None:
    """The first month the projection of ``design`` costs more than the budget (1: now),
    or None when it stays within it over the horizon (or there is no budget)."""
    budget = req.business.monthly_budget_usd
    if budget is None:
        return None
    return first_month_over(projection.project(
        design, req.business.growth_rate_monthly, req.business.horizon_months,
        req.model_dump_json()), budget)


def first_month_over(months: list[ProjectionMonth], budget: float) -> int | None:
    """The first month of a projection that costs more than ``budget``, or None."""
    return next((m.month for m in months if m.monthly_cost_usd > budget), None)


def budget_levers(catalog: Catalog, req: Requirements, design: OptionDesign, gaps: int,
                  facts: Facts) -> tuple[list[BudgetLever], float | None, int | None]:
    """The levers for the recommended ``design`` (with its ``gaps``), largest saving first,
    the monthly cost with all of them at once and the month that passes the budget (None,
    None without levers)."""
    budget = req.business.monthly_budget_usd

    def designed(changed: Requirements) -> OptionDesign:
        return design_option(catalog, changed, size_all(changed), design.region)

    def acceptable(new: OptionDesign) -> bool:
        return (money(design.monthly_usd - new.monthly_usd) >= MIN_SAVING_USD
                and len(new.violations) <= len(design.violations)
                and len(new.unpriced) <= len(design.unpriced))

    found: list[tuple[_Change, OptionDesign, Requirements]] = []
    for change in _changes(req, design):
        changed = change.applied(req)
        new = designed(changed)
        if acceptable(new):
            found.append((change, new, changed))
    found = _first_availability_step(found)
    levers = []
    for change, new, changed in found:
        # against the frameworks that still apply: a lever that takes systems out of a
        # framework's scope does not open its gaps
        added = count_gaps(facts(changed, new), [f.value for f in changed.compliance]) - gaps
        levers.append(BudgetLever(
            setting=change.setting, value=change.value, change=change.change,
            monthly_cost_usd=new.monthly_usd,
            saving_usd=money(design.monthly_usd - new.monthly_usd),
            within_budget=budget is not None and new.monthly_usd <= budget,
            over_budget_from_month=over_budget_from(changed, new),
            compliance_gaps_added=max(0, added),
            gives_up=_gives_up(change, design, new)))
    levers.sort(key=lambda lever: (-lever.saving_usd, lever.setting, str(lever.value)))
    if not levers:
        return [], None, None
    best: dict[str, BudgetLever] = {}
    for lever in levers:  # largest saving first: the first of each setting is kept
        best.setdefault(lever.setting, lever)
        lever.together = best[lever.setting] is lever
    changed = req
    for change, _, _ in found:
        if best[change.setting].value == change.value:
            changed = change.applied(changed)
    together = designed(changed)
    if not acceptable(together):
        return levers, None, None
    return levers, together.monthly_usd, over_budget_from(changed, together)


def _first_availability_step(found: list[tuple[_Change, OptionDesign, Requirements]]
                             ) -> list[tuple[_Change, OptionDesign, Requirements]]:
    """Only the highest lower availability target that saves anything (the smallest step
    down), not every lower one."""
    steps = [f for f in found if f[0].setting == "availability_target"]
    if not steps:
        return found
    keep = max(steps, key=lambda f: f[0].value)
    return [f for f in found if f[0].setting != "availability_target" or f is keep]


def _changes(req: Requirements, design: OptionDesign) -> list[_Change]:
    prefs = req.preferences
    target = float(req.availability_target)
    out = [_Change("availability_target", lower, f"availability target {lower:g}% instead "
                   f"of {target:g}%")
           for lower in get_args(AvailabilityTarget) if lower < target]
    if prefs.commitment is Commitment.NONE:
        out += [_Change("preferences.commitment", term,
                        f"a {term.value.removesuffix('y')}-year commitment on the machines "
                        "that run all month")
                for term in (Commitment.ONE_YEAR, Commitment.THREE_YEARS)]
    elif prefs.commitment is Commitment.ONE_YEAR:
        out.append(_Change("preferences.commitment", Commitment.THREE_YEARS,
                           "a 3-year commitment instead of 1 year"))
    if not prefs.spot_ok and design.interruptible_on_demand:
        out.append(_Change("preferences.spot_ok", True, "spot capacity for "
                           + ", ".join(design.interruptible_on_demand)))
    managed = _managed_stores(req, design)
    if prefs.managed_services and managed:
        out.append(_Change("preferences.managed_services", False,
                           f"self-managed {listing(managed)}, run by your team on machines"))
    if design.kubernetes and prefs.kubernetes is not KubernetesPreference.REQUIRED:
        out.append(_Change("preferences.kubernetes", KubernetesPreference.AVOID,
                           "machines behind the load balancer instead of Kubernetes"))
    if not prefs.allow_arm:
        out.append(_Change("preferences.allow_arm", True, "arm64 machines allowed"))
    if Framework.PCI_DSS in req.compliance:
        out.append(_Change("compliance",
                           [f for f in req.compliance if f is not Framework.PCI_DSS],
                           "card payments on the payment processor's hosted page, these "
                           "systems out of PCI DSS scope"))
    return out


def _managed_stores(req: Requirements, design: OptionDesign) -> list[str]:
    """The databases and caches ``design`` runs on a managed service."""
    self_managed = {pl.item.workload for pl in design.lines
                    if "self-managed" in pl.item.component}
    return [f"{w.name} ({w.type})" for w in req.workloads
            if w.type in ("database", "cache") and w.name not in self_managed]


def _serving_floors(design: OptionDesign) -> dict[str, int]:
    """Each served model's GPU machines held all month."""
    floors: dict[str, int] = {}
    for pl in design.lines:
        if pl.kind == "gpu" and pl.item.component.startswith("inference GPUs"):
            floors[pl.item.workload] = (floors.get(pl.item.workload, 0)
                                        + round(pl.always_on_hours / HOURS_PER_MONTH))
    return floors


def _gives_up(change: _Change, old: OptionDesign, new: OptionDesign) -> str:
    """What the lever gives up, from the two designs."""
    if change.setting == "availability_target":
        parts = []
        if new.zones_used < old.zones_used:
            parts.append(f"{_zones(new.zones_used)} instead of {old.zones_used}")
        if old.database_ha and not new.database_ha:
            parts.append("databases without a standby in another zone (no high "
                         "availability)")
        if 0 < new.compute_instances_min < old.compute_instances_min:
            parts.append(f"{new.compute_instances_min} app server"
                         f"{'' if new.compute_instances_min == 1 else 's'} at the least "
                         f"instead of {old.compute_instances_min}")
        before, after = _serving_floors(old), _serving_floors(new)
        for workload, floor in after.items():
            if floor < before.get(workload, 0):
                parts.append(f"{floor} GPU machine{'' if floor == 1 else 's'} serving "
                             f"{workload} at the least instead of {before[workload]}")
        what = "; ".join(parts) if parts else "less redundancy"
        single = (new.zones_used == 1 or (old.database_ha and not new.database_ha)
                  or new.compute_instances_min == 1 or 1 in after.values())
        if single:
            return (f"{what}: a zone or machine failure can stop the service until it is "
                    "restored")
        return (f"{what}: a zone failure leaves {new.zones_used - 1} "
                f"zone{'' if new.zones_used == 2 else 's'} carrying the service")
    if change.setting == "preferences.commitment":
        years = change.value.value.removesuffix("y")
        return f"a {years}-year term, paid whether the machines run or not"
    if change.setting == "preferences.spot_ok":
        return ("the provider may reclaim spot machines at short notice: the work must "
                "stop cleanly and resume where it left off")
    if change.setting == "preferences.managed_services":
        return "your team patches, backs up, monitors and fails over them itself"
    if change.setting == "preferences.kubernetes":
        return "no cluster: deployments go to machine images or instance groups"
    if change.setting == "compliance":
        return ("the card form is the processor's page or its iframe, so card data never "
                "reaches these systems (PCI DSS SAQ A for a merchant; a payment processor or "
                "bank cannot do this)")
    return "the software and its images must be built for arm64 as well"


def _zones(n: int) -> str:
    return f"{n} availability zone{'' if n == 1 else 's'}"
