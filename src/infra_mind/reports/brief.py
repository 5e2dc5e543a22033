"""A Markdown brief of an assessment result: every figure read from the result."""

from __future__ import annotations

from infra_mind.agents.sections import saves, where
from infra_mind.engine.difference import against_recommended
from infra_mind.engine.money import (
    all_at_once,
    budget_position,
    lever_line,
    marked_unit_price,
    per_month,
    usd,
)
from infra_mind.engine.result import AssessmentResult
from infra_mind.reports.compliance import remediation_cost


def markdown_brief(result: AssessmentResult) -> str:
    req = result.requirements
    out = [f"# {req.name}: infrastructure assessment", ""]
    rec = result.recommended
    if rec is None:
        out += ["No option could be priced.", ""]
    else:
        out += [f"**Recommendation: {where(rec)}, "
                f"{usd(rec.monthly_cost_usd)} a month.**", ""]
        out += [f"{i}. {reason}" for i, reason in enumerate(rec.reasons, 1)] + [""]
    compared = any(o.compared_cost_usd not in (None, o.monthly_cost_usd)
                   for o in result.options)
    out += ["## Options side by side", ""]
    if rec is not None and rec.ranking_rule:
        out += [f"Best first, ranked by {rec.ranking_rule}.", ""]
    out += ["| rank | provider | region | constraints met | compliance gaps | "
            + ("compared cost | " if compared else "") + "monthly | unpriced |",
            "|---:|---|---|---|---:|" + ("---:|" if compared else "") + "---:|---:|"]
    out += [f"| {o.rank or ''} | {o.provider} | {o.region} | "
            f"{'yes' if o.constraints_met else 'no: ' + '; '.join(o.violations)} | "
            f"{o.compliance_gaps} | "
            + (f"{usd(o.compared_cost_usd)} | " if compared and o.compared_cost_usd is not None
               else "| " if compared else "")
            + f"{usd(o.monthly_cost_usd)} | {len(o.unpriced)} |" for o in result.options]
    if rec is not None and rec.alternatives:
        out += ["", f"Against {where(rec)}:", ""]
        out += [f"- {where(a)}: {against_recommended(a)}" for a in rec.alternatives]
    chosen = next((o for o in result.options if rec and o.provider == rec.provider
                   and o.region == rec.region), None)
    if chosen is not None:
        out += ["", f"## {where(chosen)}: line items", "",
                "| workload | component | sku | quantity | unit price | monthly |",
                "|---|---|---|---:|---:|---:|"]
        out += [f"| {li.workload} | {li.component} | {li.sku} | {li.quantity:,.2f} {li.unit}"
                + (" (free allowance)" if li.quantity == 0 and "free allowance" in li.note
                   else "") + " | "
                f"{marked_unit_price(li.unit_price_usd, li.price_basis)} | "
                f"{usd(li.monthly_usd)} |"
                for li in chosen.line_items]
        out += [f"| **total** | | | | | **{usd(chosen.monthly_cost_usd)}** |", ""]
        if any(li.price_basis == "derived" for li in chosen.line_items):
            out += ["≈ derived from list prices by the rule in the line's note, not a list "
                    "price.", ""]
        if len(chosen.commitment) > 1:
            base = chosen.commitment[0].monthly_usd
            out += [f"Commitments, each against every machine on demand ({usd(base)}"
                    + (f"; the design above, on the purchase terms it uses, costs "
                       f"{usd(chosen.monthly_cost_usd)}" if base != chosen.monthly_cost_usd
                       else "") + "): " + "; ".join(
                f"{c.purchase_option} {usd(c.monthly_usd)} ({saves(c.savings_usd)}, "
                f"covers {c.coverage_pct:g}% of machines)" for c in chosen.commitment[1:]), ""]
    b = result.budget
    if b.monthly_budget_usd is not None:
        cost = rec.monthly_cost_usd if rec else None
        out += ["## Budget", "", f"{usd(b.monthly_budget_usd)} a month"
                + (f": {budget_position(cost, b.monthly_budget_usd)}." if cost is not None
                   else ".") + (f" {b.passing_note}" if b.passing_note else ""), ""]
        horizon = result.requirements.business.horizon_months
        if b.levers:
            out += ["What would lower the cost, one requirement changed each:", ""]
            out += [f"- {lever_line(lv, horizon)}" for lv in b.levers]
            if b.levers_together_usd is not None:
                out += ["", f"All of them at once{all_at_once(b, horizon)}."]
            out += [""]
        elif b.levers_note:
            out += [f"{b.levers_note}.", ""]
    if result.projection:
        last = result.projection[-1]
        out += ["## Projection", "", f"Month 1 {usd(result.projection[0].monthly_cost_usd)}; "
                f"month {last.month} {usd(last.monthly_cost_usd)} (P10 {usd(last.p10)}, "
                f"P90 {usd(last.p90)}).", ""]
    if result.compliance:
        gaps = [c for c in result.compliance if c.status == "gap"]
        out += ["## Compliance", "", f"{sum(c.status == 'met' for c in result.compliance)} met, "
                f"{len(gaps)} gaps, {sum(c.status == 'customer' for c in result.compliance)} "
                "for the customer's own processes.", ""]
        out += [f"- **{c.framework} {c.reference}** {c.title}: {c.remediation}"
                + (f" ({per_month(c.remediation_monthly_usd)})"
                   if c.remediation_monthly_usd is not None else "")
                + (f" Cost: {cost}." if (cost := remediation_cost(
                    c.remediation_cost_basis, c.remediation_cost_note)) else "")
                for c in gaps]
        out.append("")
    if result.review:
        out += ["## Well-Architected review", ""]
        out += [f"- **{p.pillar.replace('_', ' ')}** ({p.risk} risk): " + " ".join(p.findings)
                for p in result.review]
        out.append("")
    if result.warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in result.warnings] + [""]
    out.append(f"_Prices from the catalog, oldest price used dated {result.catalog_as_of}._")
    return "\n".join(out) + "\n"
