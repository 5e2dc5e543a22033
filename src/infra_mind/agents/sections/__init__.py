"""Every narrative section: the facts it is about, the task given to a model, and the
offline writer's version; one module per agent, in the order the agents run.

A section's *facts* are lines computed from the engine's result (the figures formatted as
the reports format them); a model sees only those and the user's own text as delimited
data. The *offline* version is deterministic prose from the same result: it is what a run
without a provider, or a section whose model text failed the number check twice, gets.
Sums written in a section (a plan's total remediation cost, say) are computed by code and
appear in the facts, so the number check accepts them; nothing else may add figures.

To change what an agent writes, open its module (``research``, ``cloud_engineer``,
``compliance``, ``mlops``, ``cto``, ``report_writer``); wording two agents share is in
``words``.
"""

from __future__ import annotations

from infra_mind.agents.sections import (
    cloud_engineer,
    compliance,
    cto,
    mlops,
    report_writer,
    research,
)
from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import has_ml, saves, where
from infra_mind.engine.result import AssessmentResult

__all__ = ["SPECS", "SectionSpec", "has_ml", "saves", "sections_of", "user_data", "where"]

#: Every section, keyed by (agent, key), in the order the agents run.
SPECS: dict[tuple[str, str], SectionSpec] = {
    (s.agent, s.key): s
    for module in (research, cloud_engineer, compliance, mlops, cto, report_writer)
    for s in module.SPECS
}


def sections_of(agent: str) -> list[SectionSpec]:
    return [spec for (name, _), spec in SPECS.items() if name == agent]


def user_data(r: AssessmentResult) -> dict[str, object]:
    """The user's own words in the requirements: given to models as data, never as orders."""
    req = r.requirements
    return {"name": req.name, "industry": req.business.industry,
            "workloads": [w.name for w in req.workloads]}
