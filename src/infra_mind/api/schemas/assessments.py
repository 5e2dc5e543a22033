"""Request and response bodies of ``/api/v1/assessments``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from infra_mind.engine.requirements import (
    AvailabilityTarget,
    Commitment,
    Providers,
    ResidencyGroups,
)

Status = Literal["draft", "queued", "running", "completed", "failed", "cancelled"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands times back without a zone; they are stored in UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UTCDateTime = Annotated[datetime, AfterValidator(_utc)]


class ErrorBody(BaseModel):
    detail: str


class ProblemsBody(BaseModel):
    detail: str
    problems: list[str] = Field(description="One line per problem, naming the field path")


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    requirements: dict[str, Any] = Field(description="A requirements document "
                                                     "(see `infra-mind schema`)")
    organization_id: str | None = Field(
        None, max_length=36,
        description="Default: the caller's oldest organization where they can write")


class AssessmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    requirements: dict[str, Any] | None = None


class AssessmentSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    owner_id: str
    title: str
    status: Status
    progress: int
    current_step: str | None
    error: str | None
    attempts: int
    queued_at: UTCDateTime | None
    started_at: UTCDateTime | None
    finished_at: UTCDateTime | None
    created_at: UTCDateTime
    updated_at: UTCDateTime


class AssessmentRead(AssessmentSummary):
    requirements: dict[str, Any]
    requirements_hash: str


class AssessmentPage(BaseModel):
    items: list[AssessmentSummary]
    total: int
    limit: int
    offset: int


class RunAccepted(BaseModel):
    assessment: AssessmentRead


class ResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    assessment_id: str
    version: int
    catalog_as_of: date
    created_at: UTCDateTime
    result: dict[str, Any] = Field(description="The engine's AssessmentResult, as JSON")


class WhatIf(BaseModel):
    """Changes to try on the stored requirements; nothing is saved. The lists follow the
    requirements' rules (each value once); the changed requirements are validated again,
    so a multiplier that takes a rate past its bound is a 422 naming the field."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    traffic_multiplier: float | None = Field(
        None, ge=0.1, le=100, description="Scales request rates, token rates and egress")
    providers: Providers | None = None
    commitment: Commitment | None = None
    availability_target: AvailabilityTarget | None = None
    data_residency: ResidencyGroups | None = None


class CostDifference(BaseModel):
    before: float | None
    after: float | None
    delta: float | None


class Placement(BaseModel):
    provider: str
    region: str


class RecommendedDifference(BaseModel):
    before: Placement | None
    after: Placement | None


class Differences(BaseModel):
    monthly_cost_usd: CostDifference
    recommended: RecommendedDifference


class WhatIfRead(BaseModel):
    result: dict[str, Any] = Field(description="The engine's AssessmentResult for the "
                                               "changed requirements")
    differences: Differences
