"""The MLOps agent's section (written only when the requirements have ML workloads)."""

from __future__ import annotations

from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import bullets, describe_line, where
from infra_mind.engine.money import usd
from infra_mind.engine.result import AssessmentResult
from infra_mind.engine.workloads import ML_KINDS, facts_of


def _ml_names(r: AssessmentResult) -> set[str]:
    return {w.name for w in r.requirements.workloads if w.type in ML_KINDS}


def _ml_facts(r: AssessmentResult) -> list[str]:
    names = _ml_names(r)
    facts = [f"ML workload {d.workload} ({d.type}): "
             + ", ".join(f"{k} {v}" for k, v in d.resources.items())
             for d in r.demand if d.workload in names]
    facts += [f"sizing of {d.workload}: {t}" for d in r.demand if d.workload in names
              for t in d.trace]
    for o in r.options:
        facts += [f"{where(o)}: {describe_line(li)}" for li in o.line_items if li.workload in names]
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
        out += [f"**{d.workload}** ({facts_of(d.type).label}): "
                + "; ".join(f"{t[0].upper()}{t[1:]}" for t in d.trace) + "."]
        priced = [f"{where(o)} on {li.sku} ({usd(li.monthly_usd)} a month)"
                  for o in r.options for li in o.line_items if li.workload == d.workload]
        if priced:
            out += ["", bullets(priced)]
        out.append("")
    ml_warnings = [w for w in r.warnings if any(n in w for n in names)]
    if ml_warnings:
        out += ["Caveats:", "", bullets(ml_warnings)]
    return "\n".join(out).rstrip()


SPECS = [
    SectionSpec("mlops", "ml_platform", "Describe the ML training and inference platform "
                "and its GPU choices.", _ml_facts, _ml_offline),
]
