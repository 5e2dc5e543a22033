"""What the engine answers: ``AssessmentResult`` and its parts (pydantic, JSON-ready).

Every figure here is computed by the engine from the catalog; nothing is typed
in by hand or by a model. ``infra-mind assess FILE --format json`` prints
``result.model_dump(mode="json")``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from infra_mind.engine.requirements import Requirements


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Demand(_Out):
    """What one workload needs, before any SKU is chosen, and how that was worked out."""

    workload: str
    type: str
    resources: dict[str, float | int | str | bool] = Field(
        description="e.g. vcpu, memory_gib, instances_min, storage_gb, gpu_hours_per_month")
    trace: list[str] = Field(description="Each formula with the numbers put in")


class LineItem(_Out):
    workload: str
    component: str = Field(description="What this line pays for, e.g. 'app servers'")
    service: str
    sku: str
    region: str
    quantity: float = Field(description="Units per month: hours, GB-months, GB, ...")
    unit: str
    unit_price_usd: float
    monthly_usd: float
    purchase_option: str
    source: str
    as_of: date
    note: str = ""


class CommitmentOption(_Out):
    """The option's compute priced under one purchase option."""

    purchase_option: str
    monthly_usd: float = Field(description="Whole option monthly cost under this purchase option")
    savings_usd: float = Field(description="Against on-demand, per month")
    savings_pct: float
    coverage_pct: float = Field(description="Share of on-demand compute cost this option "
                                            "could price from the catalog")
    break_even_month: int | None = Field(
        None, description="For commitments with an upfront payment; None when there is none "
                          "or the term is paid monthly")
    note: str = ""


class Option(_Out):
    """One provider and region, fully priced."""

    provider: str
    region: str
    region_name: str
    monthly_cost_usd: float
    line_items: list[LineItem]
    commitment: list[CommitmentOption]
    compliance_gaps: int = Field(description="Controls of the requested frameworks not met")
    constraints_met: bool
    violations: list[str]
    unpriced: list[str] = Field(default_factory=list,
                                description="Components with no catalog price (not in total)")


class Recommendation(_Out):
    provider: str
    region: str
    monthly_cost_usd: float
    reasons: list[str]
    alternatives: list[Alternative]


class Alternative(_Out):
    provider: str
    region: str
    monthly_cost_usd: float
    delta_usd: float
    delta_pct: float
    why_not: list[str]


class ProjectionMonth(_Out):
    month: int
    monthly_cost_usd: float
    p10: float
    p90: float


class Budget(_Out):
    monthly_budget_usd: float | None
    within_budget: bool | None
    gap_usd: float | None = Field(description="Cost minus budget; positive means over budget")
    cheapest_compliant: Alternative | None = None


class ControlResult(_Out):
    framework: str
    control_id: str
    reference: str
    title: str
    status: Literal["met", "gap", "customer"]
    evidence: str
    remediation: str = ""
    remediation_monthly_usd: float | None = None


class ReviewPillar(_Out):
    pillar: str
    risk: Literal["high", "medium", "none"]
    findings: list[str]


class AssessmentResult(_Out):
    requirements: Requirements
    demand: list[Demand]
    options: list[Option]
    recommended: Recommendation | None
    projection: list[ProjectionMonth]
    budget: Budget
    compliance: list[ControlResult]
    review: list[ReviewPillar]
    catalog_as_of: date = Field(description="Oldest price date among the recommended lines")
    warnings: list[str]


Recommendation.model_rebuild()
