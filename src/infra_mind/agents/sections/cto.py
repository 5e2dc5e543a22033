"""The CTO's sections: summary, choice, strategy, risks, roadmap, build or buy."""

from __future__ import annotations

from infra_mind.agents.sections.research import alternatives_facts
from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import (
    best_saving,
    bullets,
    gap_line,
    gaps_of,
    pct,
    plural,
    recommended_option,
    saves,
    where,
    why_not,
    with_term_facts,
)
from infra_mind.engine import difference
from infra_mind.engine.difference import monthly_delta
from infra_mind.engine.money import (
    all_at_once,
    budget_position,
    lever_line,
    usd,
    usd_change,
    within_budget_by,
)
from infra_mind.engine.result import AssessmentResult, Option, ReviewPillar
from infra_mind.engine.workloads import KindGroup, facts_of


def _summary_facts(r: AssessmentResult) -> list[str]:
    req = r.requirements
    facts = [f"assessment: {req.name}"]
    rec = r.recommended
    if rec is not None:
        facts.append(f"recommended: {where(rec)} at {usd(rec.monthly_cost_usd)} a month")
        facts += [f"reason: {reason}" for reason in rec.reasons]
    b = r.budget
    if b.monthly_budget_usd is not None and rec is not None:
        facts.append(f"budget {usd(b.monthly_budget_usd)} a month: the recommendation is "
                     f"{budget_position(rec.monthly_cost_usd, b.monthly_budget_usd)}")
        if fits := _fits_budget(r):
            facts.append(f"budget levers: {fits}")
    if r.projection:
        last = r.projection[-1]
        facts.append(f"projection: month 1 {usd(r.projection[0].monthly_cost_usd)}, month "
                     f"{last.month} {usd(last.monthly_cost_usd)} (P10 {usd(last.p10)}, "
                     f"P90 {usd(last.p90)}); growth {req.business.growth_rate_monthly:g} a "
                     f"month over {req.business.horizon_months} months")
    facts.append(f"compliance: {len(gaps_of(r))} gaps on the recommended option")
    if rec is not None and rec.alternatives:
        nearest = _nearest(rec)
        facts.append(f"nearest alternative: {where(nearest)}, {monthly_delta(nearest)}"
                     + (f"; largest differences by part: {nearest.differences_text}"
                        if nearest.differences_text else ""))
    return facts


def _fits_budget(r: AssessmentResult) -> str:
    """Over budget: the budget levers that alone fit it, or what all of them cost."""
    b = r.budget
    if b.monthly_budget_usd is None or not b.gap_usd or b.gap_usd <= 0 or not b.levers:
        return ""
    return within_budget_by([(lv.change, lv.monthly_cost_usd) for lv in b.levers
                             if lv.within_budget], b.levers_together_usd, b.monthly_budget_usd)


def _summary_offline(r: AssessmentResult) -> str:
    req = r.requirements
    rec = r.recommended
    if rec is None:
        return (f"No option could be priced for {req.name} within its preferences; see the "
                "warnings in the technical report.")
    out = [f"For **{req.name}**, the recommendation is **{where(rec)}** at "
           f"**{usd(rec.monthly_cost_usd)} a month**."]
    b = r.budget
    if b.monthly_budget_usd is not None and b.gap_usd is not None:
        out.append(f"Against the {usd(b.monthly_budget_usd)} monthly budget that is "
                   f"{budget_position(rec.monthly_cost_usd, b.monthly_budget_usd)}.")
        out += [fits] if (fits := _fits_budget(r)) else []
    if r.projection and len(r.projection) > 1:
        last = r.projection[-1]
        out.append(f"With the stated growth it reaches {usd(last.monthly_cost_usd)} a month by "
                   f"month {last.month} (between {usd(last.p10)} and {usd(last.p90)} in the "
                   "P10–P90 band).")
    if r.compliance:
        gaps = len(gaps_of(r))
        out.append("It meets every evaluated technical control." if gaps == 0 else
                   f"It leaves {plural(gaps, 'compliance gap')}; the compliance report gives "
                   "the remediation for each.")
    if rec.alternatives:
        nearest = _nearest(rec)
        text = f"The nearest alternative, {where(nearest)}, costs {monthly_delta(nearest)}"
        reasons = why_not(nearest)
        if nearest.delta_usd < 0 and reasons:
            text += f" but ranks lower: {'; '.join(reasons)}"
        elif nearest.differences:
            # where it comes from, at a glance (the list is under the options): "most of
            # it" only where the largest part is most of it, not where others offset it
            top = nearest.differences[0]
            most = (top.delta_usd * nearest.delta_usd > 0
                    and abs(nearest.delta_usd) / 2 <= abs(top.delta_usd)
                    <= abs(nearest.delta_usd))
            text += (f", most of it in {top.part}, {usd_change(top.delta_usd)}"
                     + (f" ({top.detail})" if top.detail else "") if most
                     else f"; its largest difference: {difference.in_words([top])}")
        out.append(text + ".")
    return " ".join(out)


def _nearest(rec):
    """The alternative nearest the recommendation in monthly cost."""
    return min(rec.alternatives, key=lambda a: abs(a.delta_usd))


def _choice_facts(r: AssessmentResult) -> list[str]:
    return alternatives_facts(r) + [f"reason: {x}" for x in
                                     (r.recommended.reasons if r.recommended else [])]


def _choice_offline(r: AssessmentResult) -> str:
    rec = r.recommended
    if rec is None:
        return "There is no choice to make: no option could be priced."
    out = [f"**{where(rec)}**, for these reasons, in the order the engine ranks them:", ""]
    out += [f"{i}. {x[0].upper()}{x[1:]}." for i, x in enumerate(rec.reasons, 1)]
    if rec.alternatives:
        # one line each: in one sentence the figures' parentheses nested in its own
        out += ["", "Not chosen:", "", bullets([
            f"{where(a)}: {monthly_delta(a)}" + "".join(f"; {w}" for w in why_not(a)) + "."
            for a in rec.alternatives])]
    return "\n".join(out)


def _strategy_facts(r: AssessmentResult) -> list[str]:
    prefs = r.requirements.preferences
    facts = [f"preferences: managed services {prefs.managed_services}, kubernetes "
             f"{prefs.kubernetes}, commitment {prefs.commitment}, spot ok {prefs.spot_ok}, "
             f"ARM allowed {prefs.allow_arm}, existing provider {prefs.existing_provider}"]
    chosen = recommended_option(r)
    if chosen is not None:
        facts += [f"purchase option {c.purchase_option}: {usd(c.monthly_usd)} a month, "
                  f"{saves(c.savings_usd)} ({pct(c.savings_pct)}), break-even month "
                  f"{c.break_even_month}; {c.note}" for c in chosen.commitment]
        facts += with_term_facts(chosen)
    facts += [f"review {p.pillar}: {f}" for p in r.review
              if p.pillar == "cost_optimization" for f in p.findings]
    horizon = r.requirements.business.horizon_months
    facts += [f"budget lever: {lever_line(lv, horizon)}" for lv in r.budget.levers]
    if r.budget.levers_together_usd is not None:
        facts.append(f"all budget levers at once{all_at_once(r.budget, horizon)}")
    facts += [f"warning: {w}" for w in r.warnings]
    return facts


def _billed_by_the_hour(option: Option | None) -> bool:
    """Whether an option has a part of a workload's own billed by the hour (machines,
    managed databases and caches): what a commitment could cover."""
    return option is not None and any(li.unit == "hour" and li.workload != "(shared)"
                                      for li in option.line_items)


#: The purchase options that carry each commitment term a requirements file may ask for.
_TERMS = {"1y": ("1-year", ("reserved_1y", "savings_plan_1y")),
          "3y": ("3-year", ("reserved_3y", "savings_plan_3y"))}


def _committed_as_asked(r: AssessmentResult, chosen: Option | None) -> str | None:
    """The strategy's words where the requirements ask for a commitment: what the
    recommended option (``chosen``) already prices on that term, or that the catalog has no
    price on it for these machines. None where no commitment is asked or nothing is billed
    by the hour."""
    asked = _TERMS.get(r.requirements.preferences.commitment.value)
    if asked is None or chosen is None or not _billed_by_the_hour(chosen):
        return None
    term, options = asked
    committed = sorted({li.workload for li in chosen.line_items
                        if li.purchase_option in options})
    if not committed:
        return (f"**No {term} price for these machines.** The requirements ask for a {term} "
                f"commitment, but the catalog holds no sourced {term} price for this design's "
                "machines, so they are priced on demand and no saving is claimed.")
    base = chosen.commitment[0].monthly_usd if chosen.commitment else None
    against = (f", against {usd(base)} with every machine on demand"
               if base is not None and base > chosen.monthly_cost_usd else "")
    return (f"**Committed as asked.** The design prices the machines that run all month on "
            f"the {term} term the requirements ask for ({', '.join(committed)}): "
            f"{usd(chosen.monthly_cost_usd)} a month{against}. Capacity for peaks stays on "
            "demand, since a commitment bills every hour.")


def _strategy_offline(r: AssessmentResult) -> str:
    prefs = r.requirements.preferences
    out = []
    chosen = recommended_option(r)
    best = best_saving(chosen, commitments_only=True)
    as_asked = _committed_as_asked(r, chosen)
    if as_asked is not None:
        out.append(as_asked)
    elif best is not None and chosen is not None:
        when = (f", breaking even in month {best.break_even_month}"
                if best.break_even_month else "")
        out.append(f"**Commit once usage is steady.** Start on demand; the {best.purchase_option} "
                   f"option would price the design at "
                   f"{usd(chosen.monthly_cost_usd - best.savings_usd)} a month "
                   f"({usd(best.savings_usd)} less{when}). Commit to the base load only.")
    elif not _billed_by_the_hour(chosen):
        out.append("**Nothing to commit.** The design runs no machines, databases or caches "
                   "billed by the hour: it pays for storage, transfer and requests as it "
                   "uses them.")
    else:
        out.append("**Stay on demand for now.** The catalog holds no sourced commitment price "
                   "for this design's machines, so no saving is claimed.")
    if prefs.managed_services:
        out.append("**Prefer managed services** where the catalog prices them: the team runs "
                   "the application, the provider runs patching, backups and failover.")
    cost = next((p for p in r.review if p.pillar == "cost_optimization"), None)
    if cost is not None and cost.findings:
        out.append("**Cost levers the review found**: " + " ".join(cost.findings))
    if r.budget.levers:
        horizon = r.requirements.business.horizon_months
        head = ("**To come within budget**" if r.budget.within_budget is False else
                "**To stay within budget as the business grows**")
        first = r.budget.levers[0]
        text = (f"{head}: the largest single saving is {first.change}, "
                f"{lever_line(first, horizon).removeprefix(first.change + ': ')}.")
        if r.budget.levers_together_usd is not None:
            text += f" All of them at once{all_at_once(r.budget, horizon)}."
        text += " The budget section lists each change."
        # over budget now, this comes first: a shop $33.21 over its $60 was first told to
        # commit for 3 years to save $7.13
        out.insert(0 if r.budget.within_budget is False else len(out), text)
    if prefs.existing_provider and len(prefs.providers) > 1:
        out.append(f"**Existing provider**: {prefs.existing_provider} is preferred when within "
                   "the engine's tolerance of the cheapest option, since a migration has costs "
                   "this comparison does not price.")
    return "\n\n".join(out)


def _at_risk(p: ReviewPillar) -> list[str]:
    """A pillar's findings that carry its risk ("Metrics and alarms: ..." is not one); each
    of them where a stored result predates ``finding_risks``."""
    if not p.finding_risks:
        return list(p.findings)
    return [f for f, risk in zip(p.findings, p.finding_risks, strict=False) if risk != "none"]


def _risks_facts(r: AssessmentResult) -> list[str]:
    facts = [f"review {p.pillar} ({risk} risk): {f}" for p in r.review
             for f, risk in zip(p.findings, p.finding_risks or [p.risk] * len(p.findings),
                                strict=False)]
    chosen = recommended_option(r)
    if chosen is not None:
        facts += [f"unpriced: {u}" for u in chosen.unpriced]
        facts += [f"violation: {v}" for v in chosen.violations]
    b = r.budget
    if b.within_budget is False and b.monthly_budget_usd is not None and r.recommended:
        facts.append(budget_position(r.recommended.monthly_cost_usd, b.monthly_budget_usd))
    facts += [f"warning: {w}" for w in r.warnings]
    return facts


def _risks_offline(r: AssessmentResult) -> str:
    risky = [p for p in r.review if p.risk in ("high", "medium")]
    order = {"high": 0, "medium": 1}
    risky.sort(key=lambda p: order[p.risk])
    out = []
    if risky:
        out.append(bullets([f"**{p.pillar.replace('_', ' ').capitalize()}** ({p.risk} risk): "
                             + " ".join(_at_risk(p)) for p in risky]))
    else:
        out.append("The Well-Architected review found no medium or high risk.")
    chosen = recommended_option(r)
    if chosen is not None and chosen.unpriced:
        out.append(f"Cost risk: {', '.join(chosen.unpriced)} could not be priced and is not in "
                   "the total.")
    b = r.budget
    if b.within_budget is False and b.monthly_budget_usd is not None and r.recommended:
        out.append(f"Budget risk: the design is "
                   f"{budget_position(r.recommended.monthly_cost_usd, b.monthly_budget_usd)} "
                   "a month.")
    return "\n\n".join(out)


def _roadmap_facts(r: AssessmentResult) -> list[str]:
    facts = [f"workload {w.name}: {w.type}" for w in r.requirements.workloads]
    facts += [f"gap: {gap_line(c)}" for c in gaps_of(r)]
    chosen = recommended_option(r)
    if chosen is not None:
        facts += [f"purchase option {c.purchase_option}: break-even month {c.break_even_month}"
                  for c in chosen.commitment[1:]]
    facts.append(f"horizon: {r.requirements.business.horizon_months} months")
    return facts


def _names_in(r: AssessmentResult, group: KindGroup) -> list[str]:
    """The workloads of ``group``, in file order."""
    return [w.name for w in r.requirements.workloads if facts_of(w.type).group is group]


def _roadmap_offline(r: AssessmentResult) -> str:
    rec = r.recommended
    target = where(rec) if rec else "the chosen provider"
    # each kind's group in turn (``workloads.KindGroup``): data, then services, ML last
    data = _names_in(r, KindGroup.DATA)
    apps = _names_in(r, KindGroup.APPLICATION)
    ml = _names_in(r, KindGroup.ML)
    gaps = gaps_of(r)
    phases = [("Foundation", f"Accounts or subscriptions, identity and network on {target}; "
                             "audit logging, monitoring and encryption defaults switched on"
               + (f"; close the {plural(len(gaps), 'compliance gap')}" if gaps else "") + ".")]
    if data:
        phases.append(("Data", f"Stand up {', '.join(data)} with backups tested by a restore."))
    if apps:
        phases.append(("Services", f"Deploy {', '.join(apps)} behind health checks, then move "
                                   "traffic over gradually."))
    if ml:
        phases.append(("ML", f"Bring up {', '.join(ml)} after the services are stable."))
    phases.append(("Optimise", "After a few weeks of real usage, right-size from measured "
                               "load, then commit to the steady base load where the catalog "
                               "shows a saving."))
    return "\n".join(f"{i}. **{name}**: {text}" for i, (name, text) in enumerate(phases, 1))


def _build_buy_facts(r: AssessmentResult) -> list[str]:
    chosen = recommended_option(r)
    facts = [f"managed services preferred: {r.requirements.preferences.managed_services}"]
    if chosen is not None:
        facts += [f"{li.workload} / {li.component}: {li.service} {li.sku}"
                  for li in chosen.line_items]
    facts += [f"warning: {w}" for w in r.warnings]
    return facts


def _build_buy_offline(r: AssessmentResult) -> str:
    fallbacks = [w for w in r.warnings if "self-managed" in w]
    out = ["Buy what the provider runs well and the catalog prices: managed load balancing, "
           "object storage and, where priced, managed databases and caches. Build only what "
           "differentiates the product."]
    if fallbacks:
        out.append("Self-managed in this design, because no managed size was priced for it:")
        out.append(bullets(fallbacks))
        out.append("Running these means owning patching, backups and failover; revisit when "
                   "the managed service can be priced for the region.")
    return "\n\n".join(out)


SPECS = [
    SectionSpec("cto", "executive_summary", "Write a short executive summary for a CTO.",
                _summary_facts, _summary_offline),
    SectionSpec("cto", "choice", "Explain the choice of provider and region.",
                _choice_facts, _choice_offline),
    SectionSpec("cto", "strategy", "Give the cost and platform strategy.",
                _strategy_facts, _strategy_offline),
    SectionSpec("cto", "risks", "List the main risks and what to do about each.",
                _risks_facts, _risks_offline),
    SectionSpec("cto", "roadmap", "Write a phased roadmap as a numbered list.",
                _roadmap_facts, _roadmap_offline),
    SectionSpec("cto", "build_vs_buy", "Advise what to buy as managed services and what "
                "to build or run.", _build_buy_facts, _build_buy_offline),
]
