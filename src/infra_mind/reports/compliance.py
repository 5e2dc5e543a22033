"""The compliance report: every control of the requested frameworks for the recommendation."""

from __future__ import annotations

from infra_mind.agents.sections import where
from infra_mind.engine.result import AssessmentResult
from infra_mind.reports.advice import Advice, Narrative, assemble
from infra_mind.reports.document import Column, Report, Section, Table

NARRATIVE = (("report_writer", "compliance_overview"), ("compliance", "gaps"),
             ("compliance", "remediation_plan"))
STATUSES = ("met", "gap", "customer")


def build(advice: Advice) -> Report:
    result = advice.result
    narrative = Narrative(advice.narrative)
    frameworks = [str(f) for f in result.requirements.compliance]
    subtitle = "Compliance report: " + (", ".join(frameworks) if frameworks
                                        else "no framework requested")
    return assemble(advice, narrative, kind="compliance", title="compliance report",
                    subtitle=subtitle, sections=[
                        *narrative.sections(NARRATIVE),
                        summary(result),
                        controls(result),
                    ])


def summary(result: AssessmentResult) -> Section:
    """Controls met, with gaps, and left to the customer, per framework."""
    rec = result.recommended
    scope = (f"Controls for {where(rec)}, the recommended option."
             if rec else "No option could be priced.")
    if not result.compliance:
        return Section("summary", "Summary", paragraphs=(
            scope, "No compliance framework was requested, so no control was checked."))
    counts: dict[str, dict[str, int]] = {}
    for c in result.compliance:
        counts.setdefault(c.framework, dict.fromkeys(STATUSES, 0))[c.status] += 1
    columns = (Column("framework"), Column("met", "count"), Column("gap", "count"),
               Column("customer", "count"))
    rows = tuple((framework, n["met"], n["gap"], n["customer"])
                 for framework, n in counts.items())
    return Section("summary", "Summary", paragraphs=(
        scope, "\"customer\": met by the customer's own processes, outside the architecture."),
        table=Table(columns, rows))


#: How a gap's remediation cost is described, by its basis.
COST_BASIS = {"priced": "priced",
              "unpriced": "adds a running cost the catalog cannot price",
              "none": "configuration only, no added running cost"}


def remediation_cost(basis: str, note: str) -> str | None:
    """A gap's remediation cost in words: its basis and what the figure covers (None for
    met and customer controls, and for results made before the basis was recorded)."""
    if basis not in COST_BASIS:
        return None
    return f"{COST_BASIS[basis]}: {note}" if note else COST_BASIS[basis]


def controls(result: AssessmentResult) -> Section | None:
    if not result.compliance:
        return None
    columns = (Column("framework"), Column("id"), Column("reference"), Column("control"),
               Column("status"), Column("evidence"), Column("remediation"),
               Column("remediation monthly", "money"), Column("remediation cost"))
    rows = tuple((c.framework, c.control_id, c.reference, c.title, c.status, c.evidence,
                  c.remediation or None, c.remediation_monthly_usd,
                  remediation_cost(c.remediation_cost_basis, c.remediation_cost_note))
                 for c in result.compliance)
    return Section("controls", "Controls", table=Table(columns, rows))
