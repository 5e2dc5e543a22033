"""Request and response bodies of ``/api/v1/assessments``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)
from pydantic.json_schema import SkipJsonSchema

from infra_mind.api.schemas.text import NOT_BLANK, PublishedPattern
from infra_mind.engine.load import field_path
from infra_mind.engine.requirements import (
    AvailabilityTarget,
    Commitment,
    Frameworks,
    KubernetesPreference,
    Providers,
    Requirements,
    ResidencyPlaces,
    UserPlaces,
    UserShares,
)

Status = Literal["draft", "queued", "running", "completed", "failed", "cancelled"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                  PublishedPattern(NOT_BLANK)]
#: Where ``api.openapi`` puts the engine's ``Requirements`` schema in the document.
REQUIREMENTS_REF = "#/components/schemas/Requirements"


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands times back without a zone; they are stored in UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UTCDateTime = Annotated[datetime, AfterValidator(_utc)]


class ErrorBody(BaseModel):
    """Every refused request: one line saying why (never a secret)."""

    detail: str


class ProblemsBody(BaseModel):
    """A 422: ``detail`` is "invalid request" when the request does not match this
    document, or the rule that refused it ("invalid requirements", "password refused:
    ..."); ``problems`` names each problem by its path ("body.title: ..."), and is absent
    when ``detail`` names the only one."""

    detail: str
    problems: list[str] | SkipJsonSchema[None] = Field(
        None, description="One line per problem, naming the field path")


#: The body stays a plain object, validated by the service (``validated``), so that its
#: problems are named from the requirements' root; the document shows the model it is
#: checked against (``api.openapi`` adds that component).
#: (``allOf``: pydantic resolves a bare ``$ref`` beside a description, and cannot here)
RequirementsDocument = Annotated[dict[str, Any],
                                 WithJsonSchema({"allOf": [{"$ref": REQUIREMENTS_REF}]})]


#: Errors of a value of the wrong JSON type, which pydantic's lax mode would convert.
_JSON_TYPE_ERRORS = frozenset({"bool_type", "float_type", "int_type", "string_type"})


def json_type_problems(requirements: dict[str, Any]) -> list[str]:
    """The values of ``requirements`` whose JSON type is not the document's.

    The service validates requirements in pydantic's lax mode, which converts ``"2"`` and
    ``false`` to numbers and ``"yes"`` to true: a client relying on that would send what
    the document refuses, and the stored requirements would keep the strings. JSON's
    strict mode names them (an integral float such as ``12.0`` stays allowed where an
    integer is asked: JSON Schema calls it an integer). The other problems are left to
    the service, which names them all.
    """
    try:
        Requirements.model_validate_json(json.dumps(requirements), strict=True)
    except ValidationError as exc:
        return [f"{field_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()
                if e["type"] in _JSON_TYPE_ERRORS
                and not (isinstance(e["input"], float) and e["input"].is_integer())]
    return []


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    requirements: RequirementsDocument = Field(description="A requirements document "
                                                           "(`infra-mind schema` prints it)")
    organization_id: str | None = Field(
        None, max_length=36,
        description="Default: the caller's oldest organization where they can write")


class AssessmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    requirements: RequirementsDocument | None = None


class AssessmentBase(BaseModel):
    """What every answer about an assessment says (not published on its own)."""

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


class AssessmentSummary(AssessmentBase):
    """An assessment in a list, with its latest result's recommendation (so a list needs
    no request per result)."""

    recommended_provider: str | None = Field(
        description="The latest result's recommended provider; null before a result, or "
                    "when no design met the requirements")
    recommended_region: str | None = Field(description="The latest result's recommended "
                                                       "region")
    recommended_monthly_cost_usd: float | None = Field(
        description="The latest result's recommended design's monthly cost, in US dollars")


class AssessmentRead(AssessmentBase):
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

    # strict: a number, as the document says ("2" and true are not converted)
    traffic_multiplier: float | None = Field(
        None, ge=0.1, le=100, strict=True,
        description="Scales request rates, token rates and egress")
    providers: Providers | None = None
    commitment: Commitment | None = None
    availability_target: AvailabilityTarget | None = None
    data_residency: ResidencyPlaces | None = None
    users: UserPlaces | None = Field(
        None, description="Where the users are instead of the stored places; the stored "
                          "user_shares are kept where they name exactly these places, else "
                          "dropped (every place counts the same) unless user_shares is given")
    user_shares: UserShares | None = Field(
        None, description="Each place's share of the users instead of the stored shares "
                          "({}: every place counts the same); they must fit users")
    compliance: Frameworks | None = Field(
        None, description="The frameworks that apply instead of the stored ones ([]: none)")
    # the other settings a budget lever changes (``engine.levers``); strict booleans
    managed_services: bool | None = Field(None, strict=True)
    spot_ok: bool | None = Field(None, strict=True)
    kubernetes: KubernetesPreference | None = None
    allow_arm: bool | None = Field(None, strict=True)


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
