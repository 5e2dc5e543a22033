"""The compliance agent's sections: the gaps, and a plan to remediate them."""

from __future__ import annotations

from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import (
    bullets,
    gap_line,
    gaps_of,
    plural,
    remediation_cost,
    where,
)
from infra_mind.engine.money import usd
from infra_mind.engine.result import AssessmentResult


def _gaps_facts(r: AssessmentResult) -> list[str]:
    frameworks = [f.value if hasattr(f, "value") else str(f) for f in r.requirements.compliance]
    facts = [f"frameworks requested: {', '.join(frameworks) or 'none'}"]
    counts = {s: sum(c.status == s for c in r.compliance) for s in ("met", "gap", "customer")}
    facts.append(f"recommended option: {counts['met']} controls met, {counts['gap']} gaps, "
                 f"{counts['customer']} for the customer's own processes")
    facts += [f"gap: {gap_line(c)}; evidence: {c.evidence}" for c in gaps_of(r)]
    facts += [f"option {where(o)}: {o.compliance_gaps} gaps" for o in r.options]
    return facts


def _gaps_offline(r: AssessmentResult) -> str:
    if not r.compliance:
        return ("No compliance framework was requested, so no controls were evaluated. The "
                "baseline the designs include (encryption at rest, access control, audit "
                "logging, monitoring) is listed in the technical report's review.")
    gaps = gaps_of(r)
    met = sum(c.status == "met" for c in r.compliance)
    customer = sum(c.status == "customer" for c in r.compliance)
    out = [f"The recommended design meets {plural(met, 'technical control')} of the requested "
           f"frameworks and leaves {plural(len(gaps), 'gap')}; {plural(customer, 'control')} "
           "depend on the customer's own processes (policies, training, contracts) rather than "
           "on the infrastructure."]
    if gaps:
        out += ["", bullets([f"**{c.framework} {c.reference}** {c.title}: {c.evidence}"
                              for c in gaps])]
    others = [o for o in r.options if r.recommended and o.provider != r.recommended.provider]
    if others:
        out += ["", "Other options: " + "; ".join(
            f"{where(o)} {plural(o.compliance_gaps, 'gap')}" for o in others) + "."]
    return "\n".join(out)


def _priced_remediation_total(r: AssessmentResult) -> float:
    return round(sum(c.remediation_monthly_usd or 0.0 for c in gaps_of(r)), 2)


def _remediation_facts(r: AssessmentResult) -> list[str]:
    gaps = gaps_of(r)
    facts = [f"gap to remediate: {gap_line(c)}" for c in gaps]
    facts.append(f"sum of priced remediations: {usd(_priced_remediation_total(r))} a month")
    facts += [f"customer control: {c.framework} {c.reference} {c.title}"
              for c in r.compliance if c.status == "customer"]
    return facts


def _remediation_offline(r: AssessmentResult) -> str:
    gaps = gaps_of(r)
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
                bullets([f"{c.framework} {c.reference}: {c.remediation}" for c in quick]), ""]
    if paid:
        head = "Then, additions" if quick else "Additions"
        out += [f"**{head} with a priced running cost**:", "",
                bullets([f"{c.framework} {c.reference}: {c.remediation} "
                          f"({remediation_cost(c)})" for c in paid]), "",
                f"Together the priced remediations add {usd(_priced_remediation_total(r))} a "
                "month to the recommended design.", ""]
    if unpriced:
        head = "And additions" if quick or paid else "Additions"
        out += [f"**{head} with a running cost the catalog cannot price** (budget for "
                "them before committing):", "",
                bullets([f"{c.framework} {c.reference}: {c.remediation}"
                          + (f" ({c.remediation_cost_note})" if c.remediation_cost_note
                             else "") for c in unpriced]), ""]
    customer = [c for c in r.compliance if c.status == "customer"]
    if customer:
        out += ["**Alongside**, evidence the customer-side controls: "
                + "; ".join(sorted({f"{c.framework} {c.reference}" for c in customer})) + "."]
    return "\n".join(out).rstrip()


SPECS = [
    SectionSpec("compliance", "gaps", "Summarise the compliance position and each gap.",
                _gaps_facts, _gaps_offline),
    SectionSpec("compliance", "remediation_plan", "Write an ordered remediation plan.",
                _remediation_facts, _remediation_offline),
]
