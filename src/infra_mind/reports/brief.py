"""A Markdown brief of an assessment result: every figure read from the result."""

from __future__ import annotations

from infra_mind.engine.result import AssessmentResult


def _usd(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.2f}"


def markdown_brief(result: AssessmentResult) -> str:
    req = result.requirements
    out = [f"# {req.name}: infrastructure assessment", ""]
    rec = result.recommended
    if rec is None:
        out += ["No option could be priced.", ""]
    else:
        out += [f"**Recommendation: {rec.provider.upper()} {rec.region}, "
                f"{_usd(rec.monthly_cost_usd)} a month.**", ""]
        out += [f"{i}. {reason}" for i, reason in enumerate(rec.reasons, 1)] + [""]
    out += ["## Options side by side", "",
            "| provider | region | monthly | compliance gaps | constraints met | unpriced |",
            "|---|---|---:|---:|---|---|"]
    out += [f"| {o.provider} | {o.region} | {_usd(o.monthly_cost_usd)} | {o.compliance_gaps} | "
            f"{'yes' if o.constraints_met else 'no: ' + '; '.join(o.violations)} | "
            f"{len(o.unpriced)} |" for o in result.options]
    chosen = next((o for o in result.options if rec and o.provider == rec.provider
                   and o.region == rec.region), None)
    if chosen is not None:
        out += ["", f"## {chosen.provider.upper()} {chosen.region}: line items", "",
                "| workload | component | sku | quantity | unit price | monthly |",
                "|---|---|---|---:|---:|---:|"]
        out += [f"| {li.workload} | {li.component} | {li.sku} | {li.quantity:,.2f} {li.unit} | "
                f"{li.unit_price_usd:g} | {_usd(li.monthly_usd)} |" for li in chosen.line_items]
        out += [f"| **total** | | | | | **{_usd(chosen.monthly_cost_usd)}** |", ""]
        if len(chosen.commitment) > 1:
            out += ["Commitments: " + "; ".join(
                f"{c.purchase_option} {_usd(c.monthly_usd)} (saves {_usd(c.savings_usd)}, "
                f"covers {c.coverage_pct:g}% of machines)" for c in chosen.commitment[1:]), ""]
    b = result.budget
    if b.monthly_budget_usd is not None:
        state = "within budget" if b.within_budget else "over budget"
        out += ["## Budget", "", f"{_usd(b.monthly_budget_usd)} a month: {state} "
                f"(difference {_usd(b.gap_usd)}).", ""]
    if result.projection:
        last = result.projection[-1]
        out += ["## Projection", "", f"Month 1 {_usd(result.projection[0].monthly_cost_usd)}; "
                f"month {last.month} {_usd(last.monthly_cost_usd)} (P10 {_usd(last.p10)}, "
                f"P90 {_usd(last.p90)}).", ""]
    if result.compliance:
        gaps = [c for c in result.compliance if c.status == "gap"]
        out += ["## Compliance", "", f"{sum(c.status == 'met' for c in result.compliance)} met, "
                f"{len(gaps)} gaps, {sum(c.status == 'customer' for c in result.compliance)} "
                "for the customer's own processes.", ""]
        out += [f"- **{c.framework} {c.reference}** {c.title}: {c.remediation}"
                + (f" ({_usd(c.remediation_monthly_usd)}/month)"
                   if c.remediation_monthly_usd is not None else "") for c in gaps]
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
