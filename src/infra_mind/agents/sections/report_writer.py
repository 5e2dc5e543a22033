"""The report writer's sections: the opening paragraphs of the technical and compliance
reports."""

from __future__ import annotations

from collections import defaultdict

from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import bullets, plural, where
from infra_mind.engine.money import usd
from infra_mind.engine.result import AssessmentResult


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
            "a remediation.\n\n" + bullets(lines))


SPECS = [
    SectionSpec("report_writer", "technical_overview", "Write the opening paragraph of the "
                "technical report.", _technical_facts, _technical_offline),
    SectionSpec("report_writer", "compliance_overview", "Write the opening paragraph of "
                "the compliance report.", _compliance_overview_facts,
                _compliance_overview_offline),
]
