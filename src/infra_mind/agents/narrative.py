"""The words of an assessment: sections written by agents about the engine's figures.

An *advice* is the engine's ``AssessmentResult`` as JSON plus two keys:

- ``narrative``: ``{agent: {section_key: Section}}`` (as JSON), Markdown written by a
  model or by the offline writer, every number in it checked against the result;
- ``llm_usage``: requests, tokens and cost per provider and per agent.

``infra-mind advise FILE --format json`` prints an advice; the API stores one as an
assessment's result. Readers (reports, chat) must accept a result without the two keys
(an engine-only result) and a narrative missing any section.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Agents in the order they run; ``mlops`` runs only when the requirements have ML workloads.
AGENTS = ("research", "cloud_engineer", "compliance", "mlops", "cto", "report_writer")

#: Every section an agent writes: {agent: {key: title}}.
SECTIONS: dict[str, dict[str, str]] = {
    "research": {
        "catalog": "Catalog and sources",
        "alternatives": "Alternatives worth a look",
    },
    "cloud_engineer": {
        "architecture": "Architecture per option",
        "sku_choices": "Why each SKU",
    },
    "compliance": {
        "gaps": "Compliance gaps",
        "remediation_plan": "Remediation plan",
    },
    "mlops": {
        "ml_platform": "ML training and inference",
    },
    "cto": {
        "executive_summary": "Executive summary",
        "choice": "The choice",
        "strategy": "Strategy",
        "risks": "Risks",
        "roadmap": "Phased roadmap",
        "build_vs_buy": "Build versus buy",
    },
    "report_writer": {
        "technical_overview": "Technical overview",
        "compliance_overview": "Compliance overview",
    },
}

#: How a section's numbers were checked: a model's text passed first time, passed after one
#: regeneration, or the offline writer wrote it (no provider, provider failed, limits hit, or
#: the model's text failed the check twice).
NumberCheck = Literal["passed", "regenerated", "offline"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str
    key: str
    title: str
    markdown: str
    author: str = Field(description='"offline" or "<provider>/<model>"')
    number_check: NumberCheck
    note: str = Field("", description="Why the offline writer wrote it, when it did")


def section(narrative: dict | None, agent: str, key: str) -> str | None:
    """The Markdown of one section of a narrative as JSON, or None when absent."""
    if not narrative:
        return None
    entry = (narrative.get(agent) or {}).get(key)
    if not entry:
        return None
    return entry.get("markdown") if isinstance(entry, dict) else None
