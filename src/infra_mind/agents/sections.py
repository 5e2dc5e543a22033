"""Every narrative section: the facts it is about, the task given to a model, and the
offline writer's version.

A section's *facts* are lines computed here from the engine's result (the figures formatted
as the reports format them); a model sees only those and the user's own text as delimited
data. The *offline* version is deterministic prose from the same result: it is what a run
without a provider, or a section whose model text failed the number check twice, gets.
Sums written here (a plan's total remediation cost, say) are computed by code and appear
in the facts, so the number check accepts them; nothing else may add figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from infra_mind.engine.money import budget_position, unit_price, usd, usd_change
from infra_mind.engine.result import AssessmentResult, LineItem, Option

ML_TYPES = ("ml_training", "ml_inference")
PROVIDER_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}
#: How a gap's remediation cost reads, by its basis (``ControlResult.remediation_cost_basis``).
COST_WORDS = {"priced": "a priced running cost", "unpriced": "a running cost the catalog "
              "cannot price", "none": "configuration only, no added running cost"}


def saves(amount: float) -> str:
    """'saves $620.53', or 'costs $5.00 more' for a purchase option dearer than on demand."""
    return f"saves {usd(amount)}" if round(amount, 2) >= 0 else f"costs {usd(-amount)} more"


def pct(x: float) -> str:
    return f"{x:g}%"


def where(o: Option | object) -> str:
    provider = getattr(o, "provider", "")
    return f"{PROVIDER_NAMES.get(provider, provider)} {getattr(o, 'region', '')}"


def has_ml(r: AssessmentResult) -> bool:
    return any(w.type in ML_TYPES for w in r.requirements.workloads)


def recommended_option(r: AssessmentResult) -> Option | None:
    rec = r.recommended
    if rec is None:
        return None
    return next((o for o in r.options
                 if o.provider == rec.provider and o.region == rec.region), None)


def _by_workload(items: list[LineItem]) -> dict[str, list[LineItem]]:
    grouped: dict[str, list[LineItem]] = defaultdict(list)
    for li in items:
        grouped[li.workload].append(li)
    return grouped


def _source_host(source: str) -> str:
    """Where a price was read, short: a web host, or the package a data file came from."""
    if source.startswith(("http://", "https://")):
        return urlparse(source.split()[0]).netloc
    if "(" in source and ")" in source:
        return source[source.index("(") + 1:source.index(")")]
    return source.split("/")[0][:60]


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _delta(a) -> str:
    """'$46.38 more (9.1%)', '$231.42 less (2.7%)' or 'the same' for an alternative."""
    change = usd_change(a.delta_usd)
    return change if change == "the same" else f"{change} ({pct(abs(a.delta_pct))})"


def _why_not(a) -> list[str]:
    """The engine's reasons against an alternative, without the cost difference (said apart)."""
    return [w for w in a.why_not if not w.endswith("a month more")]


def _best_saving(option: Option | None):
    """The purchase option that saves the most on ``option``, if any saves at all."""
    if option is None or len(option.commitment) < 2:
        return None
    best = max(option.commitment[1:], key=lambda c: c.savings_usd)
    return best if round(best.savings_usd, 2) > 0 else None


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _gaps(r: AssessmentResult):
    return [c for c in r.compliance if c.status == "gap"]


# --- research ---------------------------------------------------------------------------------

def _provenance(o: Option) -> tuple[list, list[str]]:
    """The price dates and the sources (short) of an option's lines, sorted."""
    return (sorted({li.as_of for li in o.line_items}),
            sorted({_source_host(li.source) for li in o.line_items}))


def _catalog_facts(r: AssessmentResult) -> list[str]:
    facts = [f"oldest price date among the recommended option's lines: {r.catalog_as_of}"]
    for o in r.options:
        dates, hosts = _provenance(o)
        span = f"{dates[0]} to {dates[-1]}" if dates else "none"
        facts.append(f"{where(o)}: {len(o.line_items)} priced lines, prices dated {span}, "
                     f"sources: {', '.join(hosts) or 'none'}; unpriced: "
                     f"{', '.join(o.unpriced) or 'none'}")
    facts += [f"warning: {w}" for w in r.warnings]
    return facts


def _catalog_offline(r: AssessmentResult) -> str:
    out = [f"Every price in this assessment comes from Infra Mind's dated price catalog; the "
           f"oldest price the recommended design uses is dated {r.catalog_as_of}. No price was "
           "estimated or typed in by a model."]
    lines = []
    for o in r.options:
        dates, hosts = _provenance(o)
        span = (f"dated {dates[0]}" if len(dates) == 1 else
                f"dated {dates[0]} to {dates[-1]}") if dates else "none priced"
        text = f"**{where(o)}**: {len(o.line_items)} priced lines, {span}, from {', '.join(hosts)}."
        if o.unpriced:
            text += f" Not priced (left out of the total): {', '.join(o.unpriced)}."
        lines.append(text)
    out += ["", _bullets(lines)]
    if r.warnings:
        out += ["", "Where the catalog could not price what was asked, the engine said so:", "",
                _bullets(r.warnings)]
    return "\n".join(out)


def _alternatives_facts(r: AssessmentResult) -> list[str]:
    rec = r.recommended
    if rec is None:
        return ["no option could be priced"]
    facts = [f"recommended: {where(rec)} at {usd(rec.monthly_cost_usd)} a month"]
    facts += [f"alternative {where(a)}: {usd(a.monthly_cost_usd)} a month, {_delta(a)}; "
              f"why not: {'; '.join(a.why_not)}" for a in rec.alternatives]
    chosen = recommended_option(r)
    if chosen is not None:
        facts += [f"purchase option {c.purchase_option}: {usd(c.monthly_usd)} a month, "
                  f"{saves(c.savings_usd)} ({pct(c.savings_pct)}), covers "
                  f"{pct(c.coverage_pct)} of compute; {c.note}" for c in chosen.commitment[1:]]
    return facts


def _alternatives_offline(r: AssessmentResult) -> str:
    rec = r.recommended
    if rec is None:
        return "No option could be priced, so there is no alternative to compare."
    if not rec.alternatives:
        return (f"Only {where(rec)} was priced within the preferences, so there is no "
                "alternative provider to compare.")
    out = [f"Beside {where(rec)} ({usd(rec.monthly_cost_usd)} a month), these options were "
           "priced on the same requirements:", ""]
    out.append(_bullets([f"**{where(a)}**: {usd(a.monthly_cost_usd)} a month, {_delta(a)}."
                         + "".join(f" {w[0].upper()}{w[1:]}." for w in _why_not(a))
                         for a in rec.alternatives]))
    best = _best_saving(recommended_option(r))
    if best is not None:
        out += ["", f"Worth a look on the recommended option: the {best.purchase_option} "
                f"purchase option prices it at {usd(best.monthly_usd)} a month, saving "
                f"{usd(best.savings_usd)} ({pct(best.savings_pct)})."]
    return "\n".join(out)


# --- cloud engineer ---------------------------------------------------------------------------

def _line(li: LineItem) -> str:
    return (f"{li.workload} / {li.component}: {li.sku} ({li.service}), {li.quantity:,.2f} "
            f"{li.unit} at {unit_price(li.unit_price_usd)} = {usd(li.monthly_usd)} a month, "
            f"{li.purchase_option}")


def _architecture_facts(r: AssessmentResult) -> list[str]:
    facts = []
    for o in r.options:
        facts.append(f"option {where(o)} ({o.region_name}): {usd(o.monthly_cost_usd)} a month, "
                     f"constraints met: {'yes' if o.constraints_met else 'no'}, "
                     f"compliance gaps: {o.compliance_gaps}")
        facts += [f"  {_line(li)}" for li in o.line_items]
    return facts


def _architecture_offline(r: AssessmentResult) -> str:
    if not r.options:
        return "No option could be designed within the preferences."
    out = []
    for o in r.options:
        out += [f"### {where(o)} ({o.region_name}): {usd(o.monthly_cost_usd)} a month", ""]
        lines = []
        for workload, items in _by_workload(o.line_items).items():
            parts = "; ".join(f"{li.component} on {li.sku} ({usd(li.monthly_usd)})"
                              for li in items)
            lines.append(f"**{workload}**: {parts}")
        out += [_bullets(lines), ""]
        if o.violations:
            out += [f"Does not meet: {'; '.join(o.violations)}.", ""]
        if o.unpriced:
            out += [f"Not priced: {', '.join(o.unpriced)}.", ""]
    return "\n".join(out).rstrip()


def _sku_facts(r: AssessmentResult) -> list[str]:
    chosen = recommended_option(r)
    if chosen is None:
        return ["no option could be priced"]
    facts = [f"{_line(li)}; sizing note: {li.note or 'none'}" for li in chosen.line_items]
    for d in r.demand:
        facts += [f"sizing of {d.workload}: {t}" for t in d.trace]
    return facts


def _sku_offline(r: AssessmentResult) -> str:
    chosen = recommended_option(r)
    if chosen is None:
        return "No option could be priced, so no SKU was chosen."
    out = [f"Each SKU on {where(chosen)} is the least-cost catalog entry that meets the sized "
           "demand of its workload; the sizing formulas and their inputs are in the technical "
           "report.", ""]
    lines = []
    for li in chosen.line_items:
        why = f" {li.note[0].upper()}{li.note[1:]}." if li.note else ""
        lines.append(f"**{li.sku}** for {li.workload} ({li.component}): "
                     f"{unit_price(li.unit_price_usd)} per {li.unit}, {usd(li.monthly_usd)} a "
                     f"month.{why}")
    out.append(_bullets(lines))
    return "\n".join(out)


# --- compliance -------------------------------------------------------------------------------

def _remediation_cost(c) -> str:
    """A gap's remediation cost in words: the figure where priced, never "no added running
    cost" unless the engine says it is configuration only."""
    if c.remediation_monthly_usd is not None:
        text = f"about {usd(c.remediation_monthly_usd)} a month"
    else:
        text = COST_WORDS.get(c.remediation_cost_basis, "cost not priced")
    return text + (f" ({c.remediation_cost_note})" if c.remediation_cost_note else "")


def _gap_line(c) -> str:
    return f"{c.framework} {c.reference} {c.title}: {c.remediation}; {_remediation_cost(c)}"


def _gaps_facts(r: AssessmentResult) -> list[str]:
    frameworks = [f.value if hasattr(f, "value") else str(f) for f in r.requirements.compliance]
    facts = [f"frameworks requested: {', '.join(frameworks) or 'none'}"]
    counts = {s: sum(c.status == s for c in r.compliance) for s in ("met", "gap", "customer")}
    facts.append(f"recommended option: {counts['met']} controls met, {counts['gap']} gaps, "
                 f"{counts['customer']} for the customer's own processes")
    facts += [f"gap: {_gap_line(c)}; evidence: {c.evidence}" for c in _gaps(r)]
    facts += [f"option {where(o)}: {o.compliance_gaps} gaps" for o in r.options]
    return facts


def _gaps_offline(r: AssessmentResult) -> str:
    if not r.compliance:
        return ("No compliance framework was requested, so no controls were evaluated. The "
                "baseline the designs include (encryption at rest, access control, audit "
                "logging, monitoring) is listed in the technical report's review.")
    gaps = _gaps(r)
    met = sum(c.status == "met" for c in r.compliance)
    customer = sum(c.status == "customer" for c in r.compliance)
    out = [f"The recommended design meets {plural(met, 'technical control')} of the requested "
           f"frameworks and leaves {plural(len(gaps), 'gap')}; {plural(customer, 'control')} "
           "depend on the customer's own processes (policies, training, contracts) rather than "
           "on the infrastructure."]
    if gaps:
        out += ["", _bullets([f"**{c.framework} {c.reference}** {c.title}: {c.evidence}"
                              for c in gaps])]
    others = [o for o in r.options if r.recommended and o.provider != r.recommended.provider]
    if others:
        out += ["", "Other options: " + "; ".join(
            f"{where(o)} {plural(o.compliance_gaps, 'gap')}" for o in others) + "."]
    return "\n".join(out)


def _priced_remediation_total(r: AssessmentResult) -> float:
    return round(sum(c.remediation_monthly_usd or 0.0 for c in _gaps(r)), 2)


def _remediation_facts(r: AssessmentResult) -> list[str]:
    gaps = _gaps(r)
    facts = [f"gap to remediate: {_gap_line(c)}" for c in gaps]
    facts.append(f"sum of priced remediations: {usd(_priced_remediation_total(r))} a month")
    facts += [f"customer control: {c.framework} {c.reference} {c.title}"
              for c in r.compliance if c.status == "customer"]
    return facts


def _remediation_offline(r: AssessmentResult) -> str:
    gaps = _gaps(r)
    if not gaps:
        if not r.compliance:
            return "Nothing to remediate: no compliance framework was requested."
        return ("The recommended design has no technical compliance gap; keep the customer-side "
                "controls (policies, training, vendor contracts) current and evidenced.")
    quick = [c for c in gaps if c.remediation_cost_basis == "none"]
    paid = [c for c in gaps if c.remediation_monthly_usd is not None]
    unpriced = [c for c in gaps if c not in quick and c not in paid]
    out = []
    if quick:
        out += ["**First, configuration changes** (no added running cost):", "",
                _bullets([f"{c.framework} {c.reference}: {c.remediation}" for c in quick]), ""]
    if paid:
        out += ["**Then, additions with a priced running cost**:", "",
                _bullets([f"{c.framework} {c.reference}: {c.remediation} "
                          f"({_remediation_cost(c)})" for c in paid]), "",
                f"Together the priced remediations add {usd(_priced_remediation_total(r))} a "
                "month to the recommended design.", ""]
    if unpriced:
        out += ["**And additions with a running cost the catalog cannot price** (budget for "
                "them before committing):", "",
                _bullets([f"{c.framework} {c.reference}: {c.remediation}"
                          + (f" ({c.remediation_cost_note})" if c.remediation_cost_note
                             else "") for c in unpriced]), ""]
    customer = [c for c in r.compliance if c.status == "customer"]
    if customer:
        out += ["**Alongside**, evidence the customer-side controls: "
                + "; ".join(sorted({f"{c.framework} {c.reference}" for c in customer})) + "."]
    return "\n".join(out).rstrip()


# --- mlops ------------------------------------------------------------------------------------

def _ml_names(r: AssessmentResult) -> set[str]:
    return {w.name for w in r.requirements.workloads if w.type in ML_TYPES}


def _ml_facts(r: AssessmentResult) -> list[str]:
    names = _ml_names(r)
    facts = [f"ML workload {d.workload} ({d.type}): "
             + ", ".join(f"{k} {v}" for k, v in d.resources.items())
             for d in r.demand if d.workload in names]
    facts += [f"sizing of {d.workload}: {t}" for d in r.demand if d.workload in names
              for t in d.trace]
    for o in r.options:
        facts += [f"{where(o)}: {_line(li)}" for li in o.line_items if li.workload in names]
    facts += [f"warning: {w}" for w in r.warnings if any(n in w for n in names)]
    return facts


def _ml_offline(r: AssessmentResult) -> str:
    names = _ml_names(r)
    if not names:
        return "The requirements have no ML training or inference workload."
    out = []
    for d in r.demand:
        if d.workload not in names:
            continue
        kind = "Training" if d.type == "ml_training" else "Inference"
        out += [f"**{d.workload}** ({kind.lower()}): "
                + "; ".join(f"{t[0].upper()}{t[1:]}" for t in d.trace) + "."]
        priced = [f"{where(o)} on {li.sku} ({usd(li.monthly_usd)} a month)"
                  for o in r.options for li in o.line_items if li.workload == d.workload]
        if priced:
            out += ["", _bullets(priced)]
        out.append("")
    ml_warnings = [w for w in r.warnings if any(n in w for n in names)]
    if ml_warnings:
        out += ["Caveats:", "", _bullets(ml_warnings)]
    return "\n".join(out).rstrip()


# --- cto --------------------------------------------------------------------------------------

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
    if r.projection:
        last = r.projection[-1]
        facts.append(f"projection: month 1 {usd(r.projection[0].monthly_cost_usd)}, month "
                     f"{last.month} {usd(last.monthly_cost_usd)} (P10 {usd(last.p10)}, "
                     f"P90 {usd(last.p90)}); growth {req.business.growth_rate_monthly:g} a "
                     f"month over {req.business.horizon_months} months")
    facts.append(f"compliance: {len(_gaps(r))} gaps on the recommended option")
    return facts


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
    if r.projection and len(r.projection) > 1:
        last = r.projection[-1]
        out.append(f"With the stated growth it reaches {usd(last.monthly_cost_usd)} a month by "
                   f"month {last.month} (between {usd(last.p10)} and {usd(last.p90)} in the "
                   "P10–P90 band).")
    if r.compliance:
        gaps = len(_gaps(r))
        out.append("It meets every evaluated technical control." if gaps == 0 else
                   f"It leaves {plural(gaps, 'compliance gap')}; the compliance report gives "
                   "the remediation for each.")
    if rec.alternatives:
        nearest = min(rec.alternatives, key=lambda a: abs(a.delta_usd))
        text = f"The nearest alternative, {where(nearest)}, costs {_delta(nearest)} a month"
        reasons = _why_not(nearest)
        out.append(text + (f" but ranks lower: {'; '.join(reasons)}." if nearest.delta_usd < 0
                           and reasons else "."))
    return " ".join(out)


def _choice_facts(r: AssessmentResult) -> list[str]:
    return _alternatives_facts(r) + [f"reason: {x}" for x in
                                     (r.recommended.reasons if r.recommended else [])]


def _choice_offline(r: AssessmentResult) -> str:
    rec = r.recommended
    if rec is None:
        return "There is no choice to make: no option could be priced."
    out = [f"**{where(rec)}**, for these reasons, in the order the engine ranks them:", ""]
    out += [f"{i}. {x[0].upper()}{x[1:]}." for i, x in enumerate(rec.reasons, 1)]
    if rec.alternatives:
        out += ["", "Not chosen: " + "; ".join(
            f"{where(a)} ({', '.join([_delta(a) + ' a month', *_why_not(a)])})"
            for a in rec.alternatives) + "."]
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
    facts += [f"review {p.pillar}: {f}" for p in r.review
              if p.pillar == "cost_optimization" for f in p.findings]
    facts += [f"warning: {w}" for w in r.warnings]
    return facts


def _strategy_offline(r: AssessmentResult) -> str:
    prefs = r.requirements.preferences
    out = []
    best = _best_saving(recommended_option(r))
    if best is not None:
        when = (f", breaking even in month {best.break_even_month}"
                if best.break_even_month else "")
        out.append(f"**Commit once usage is steady.** Start on demand; the {best.purchase_option} "
                   f"option would price the design at {usd(best.monthly_usd)} a month "
                   f"({usd(best.savings_usd)} less{when}). Commit to the base load only.")
    else:
        out.append("**Stay on demand for now.** The catalog holds no sourced commitment price "
                   "for this design's machines, so no saving is claimed.")
    if prefs.managed_services:
        out.append("**Prefer managed services** where the catalog prices them: the team runs "
                   "the application, the provider runs patching, backups and failover.")
    cost = next((p for p in r.review if p.pillar == "cost_optimization"), None)
    if cost is not None and cost.findings:
        out.append("**Cost levers the review found**: " + " ".join(cost.findings))
    if prefs.existing_provider:
        out.append(f"**Existing provider**: {prefs.existing_provider} is preferred when within "
                   "the engine's tolerance of the cheapest option, since a migration has costs "
                   "this comparison does not price.")
    return "\n\n".join(out)


def _risks_facts(r: AssessmentResult) -> list[str]:
    facts = [f"review {p.pillar} ({p.risk} risk): {f}" for p in r.review for f in p.findings]
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
        out.append(_bullets([f"**{p.pillar.replace('_', ' ').capitalize()}** ({p.risk} risk): "
                             + " ".join(p.findings) for p in risky]))
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
    facts += [f"gap: {_gap_line(c)}" for c in _gaps(r)]
    chosen = recommended_option(r)
    if chosen is not None:
        facts += [f"purchase option {c.purchase_option}: break-even month {c.break_even_month}"
                  for c in chosen.commitment[1:]]
    facts.append(f"horizon: {r.requirements.business.horizon_months} months")
    return facts


_PHASE_ORDER = {"database": 0, "object_storage": 0, "cache": 1, "worker": 2,
                "web_service": 2, "static_site": 2, "ml_training": 3, "ml_inference": 3}


def _roadmap_offline(r: AssessmentResult) -> str:
    rec = r.recommended
    target = where(rec) if rec else "the chosen provider"
    data = [w.name for w in r.requirements.workloads if _PHASE_ORDER.get(w.type, 2) <= 1]
    apps = [w.name for w in r.requirements.workloads if _PHASE_ORDER.get(w.type, 2) == 2]
    ml = [w.name for w in r.requirements.workloads if w.type in ML_TYPES]
    gaps = _gaps(r)
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
        out.append(_bullets(fallbacks))
        out.append("Running these means owning patching, backups and failover; revisit when "
                   "the managed service can be priced for the region.")
    return "\n\n".join(out)


# --- report writer ----------------------------------------------------------------------------

def _technical_facts(r: AssessmentResult) -> list[str]:
    facts = [f"workload {d.workload} ({d.type}): "
             + ", ".join(f"{k} {v}" for k, v in d.resources.items()) for d in r.demand]
    facts += [f"option {where(o)}: {usd(o.monthly_cost_usd)} a month, {len(o.line_items)} "
              "priced lines" for o in r.options]
    facts += [f"review {p.pillar}: {p.risk} risk" for p in r.review]
    return facts


def _technical_offline(r: AssessmentResult) -> str:
    out = [f"The requirements describe {len(r.demand)} workloads; each was sized by formula "
           "(the traces follow) and priced on every allowed provider and region."]
    out.append(" ".join(f"{where(o)} totals {usd(o.monthly_cost_usd)} a month over "
                        f"{len(o.line_items)} priced lines." for o in r.options))
    risky = [p.pillar.replace("_", " ") for p in r.review if p.risk != "none"]
    if risky:
        out.append(f"The review flags {', '.join(risky)}.")
    return "\n\n".join(out)


def _compliance_overview_facts(r: AssessmentResult) -> list[str]:
    per: dict[str, dict[str, int]] = defaultdict(lambda: {"met": 0, "gap": 0, "customer": 0})
    for c in r.compliance:
        per[c.framework][c.status] += 1
    return [f"{fw}: {n['met']} met, {n['gap']} gaps, {n['customer']} customer"
            for fw, n in per.items()] or ["no framework requested"]


def _compliance_overview_offline(r: AssessmentResult) -> str:
    if not r.compliance:
        return "No compliance framework was requested."
    per: dict[str, dict[str, int]] = defaultdict(lambda: {"met": 0, "gap": 0, "customer": 0})
    for c in r.compliance:
        per[c.framework][c.status] += 1
    lines = [f"**{fw}**: {plural(n['met'], 'control')} met by the design, "
             f"{plural(n['gap'], 'gap')}, {n['customer']} for the customer's processes"
             for fw, n in per.items()]
    return ("The controls below were evaluated against the recommended design; each gap has "
            "a remediation.\n\n" + _bullets(lines))


# --- the table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SectionSpec:
    agent: str
    key: str
    instruction: str
    facts: Callable[[AssessmentResult], list[str]]
    offline: Callable[[AssessmentResult], str]


SPECS: dict[tuple[str, str], SectionSpec] = {
    (s.agent, s.key): s for s in [
        SectionSpec("research", "catalog", "Say how fresh and well sourced the prices are, "
                    "and what could not be priced.", _catalog_facts, _catalog_offline),
        SectionSpec("research", "alternatives", "Name the alternatives worth a look and why "
                    "each was not chosen.", _alternatives_facts, _alternatives_offline),
        SectionSpec("cloud_engineer", "architecture", "Describe the architecture of each option "
                    "by workload.", _architecture_facts, _architecture_offline),
        SectionSpec("cloud_engineer", "sku_choices", "Explain why each SKU of the recommended "
                    "option was chosen, from its sizing.", _sku_facts, _sku_offline),
        SectionSpec("compliance", "gaps", "Summarise the compliance position and each gap.",
                    _gaps_facts, _gaps_offline),
        SectionSpec("compliance", "remediation_plan", "Write an ordered remediation plan.",
                    _remediation_facts, _remediation_offline),
        SectionSpec("mlops", "ml_platform", "Describe the ML training and inference platform "
                    "and its GPU choices.", _ml_facts, _ml_offline),
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
        SectionSpec("report_writer", "technical_overview", "Write the opening paragraph of the "
                    "technical report.", _technical_facts, _technical_offline),
        SectionSpec("report_writer", "compliance_overview", "Write the opening paragraph of "
                    "the compliance report.", _compliance_overview_facts,
                    _compliance_overview_offline),
    ]
}


def sections_of(agent: str) -> list[SectionSpec]:
    return [spec for (name, _), spec in SPECS.items() if name == agent]


def user_data(r: AssessmentResult) -> dict[str, object]:
    """The user's own words in the requirements: given to models as data, never as orders."""
    req = r.requirements
    return {"name": req.name, "industry": req.business.industry,
            "workloads": [w.name for w in req.workloads]}
