"""The cloud engineer's sections: the architecture of each option, and why each SKU."""

from __future__ import annotations

from collections import defaultdict

from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import bullets, describe_line, recommended_option, where
from infra_mind.engine.money import unit_price, usd
from infra_mind.engine.result import AssessmentResult, LineItem


def _by_workload(items: list[LineItem]) -> dict[str, list[LineItem]]:
    grouped: dict[str, list[LineItem]] = defaultdict(list)
    for li in items:
        grouped[li.workload].append(li)
    return grouped


def _architecture_facts(r: AssessmentResult) -> list[str]:
    facts = []
    for o in r.options:
        facts.append(f"option {where(o)} ({o.region_name}): {usd(o.monthly_cost_usd)} a month, "
                     f"constraints met: {'yes' if o.constraints_met else 'no'}, "
                     f"compliance gaps: {o.compliance_gaps}")
        facts += [f"  {describe_line(li)}" for li in o.line_items]
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
        out += [bullets(lines), ""]
        if o.violations:
            out += [f"Does not meet: {'; '.join(o.violations)}.", ""]
        if o.unpriced:
            out += [f"Not priced: {', '.join(o.unpriced)}.", ""]
    return "\n".join(out).rstrip()


def _sku_facts(r: AssessmentResult) -> list[str]:
    chosen = recommended_option(r)
    if chosen is None:
        return ["no option could be priced"]
    facts = [f"{describe_line(li)}; sizing note: {li.note or 'none'}" for li in chosen.line_items]
    for d in r.demand:
        facts += [f"sizing of {d.workload}: {t}" for t in d.trace]
    return facts


def _sku_offline(r: AssessmentResult) -> str:
    chosen = recommended_option(r)
    if chosen is None:
        return "No option could be priced, so no SKU was chosen."
    out = [f"Each SKU on {where(chosen)} is the least-cost catalog entry that meets the sized "
           "demand of its workload; the sizing formulas and their inputs are in the Sizing "
           "sections below.", ""]
    lines = []
    for li in chosen.line_items:
        why = f" {li.note[0].upper()}{li.note[1:]}." if li.note else ""
        lines.append(f"**{li.sku}** for {li.workload} ({li.component}): "
                     f"{unit_price(li.unit_price_usd)} per {li.unit}, {usd(li.monthly_usd)} a "
                     f"month.{why}")
    out.append(bullets(lines))
    return "\n".join(out)


SPECS = [
    SectionSpec("cloud_engineer", "architecture", "Describe the architecture of each option "
                "by workload.", _architecture_facts, _architecture_offline),
    SectionSpec("cloud_engineer", "sku_choices", "Explain why each SKU of the recommended "
                "option was chosen, from its sizing.", _sku_facts, _sku_offline),
]
