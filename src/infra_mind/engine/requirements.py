"""What a user asks for: the requirements file (YAML or JSON), as pydantic models.

Unknown fields are errors everywhere (``extra="forbid"``): a misspelt key must
never be silently ignored. ``infra-mind schema`` prints the JSON Schema of
``Requirements``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from infra_mind.catalog.model import Provider
from infra_mind.catalog.regions import GROUPS, REGIONS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CompanySize(StrEnum):
    STARTUP = "startup"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    ENTERPRISE = "enterprise"


class Framework(StrEnum):
    HIPAA = "hipaa"
    GDPR = "gdpr"
    SOC2 = "soc2"
    PCI_DSS = "pci_dss"
    ISO27001 = "iso27001"
    CCPA = "ccpa"


class KubernetesPreference(StrEnum):
    AUTO = "auto"
    REQUIRED = "required"
    AVOID = "avoid"


class Commitment(StrEnum):
    NONE = "none"
    ONE_YEAR = "1y"
    THREE_YEARS = "3y"


ResidencyGroup = Literal["us", "ca", "eu", "uk", "apac", "sa"]
AvailabilityTarget = Literal[99.0, 99.5, 99.9, 99.95, 99.99]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]


class Business(_Strict):
    industry: str = Field("general", min_length=1, max_length=100)
    company_size: CompanySize = CompanySize.SMALL
    monthly_budget_usd: PositiveFloat | None = None
    growth_rate_monthly: float = Field(0.0, ge=0, le=1,
                                       description="Expected traffic growth per month, 0..1")
    horizon_months: int = Field(12, ge=1, le=60, description="Projection horizon, months")


class Preferences(_Strict):
    providers: list[Provider] = Field(default_factory=lambda: list(Provider), min_length=1)
    regions: list[str] = Field(default_factory=list,
                               description="Allowed region codes (any provider); empty = any")
    managed_services: bool = True
    kubernetes: KubernetesPreference = KubernetesPreference.AUTO
    commitment: Commitment = Commitment.NONE
    spot_ok: bool = False
    existing_provider: Provider | None = None
    allow_arm: bool = Field(True, description="Allow arm64 machines (Graviton and the like); "
                                              "false when images only build for x86_64")

    @model_validator(mode="after")
    def _known_regions(self) -> Preferences:
        known = {code for _, code in REGIONS}
        unknown = [r for r in self.regions if r not in known]
        if unknown:
            raise ValueError(f"unknown region(s) {', '.join(unknown)}; covered regions: "
                             f"{', '.join(sorted(known))}")
        return self


class _Workload(_Strict):
    name: str = Field(min_length=1, max_length=80)
    egress_gb_per_month: NonNegativeFloat = 0.0


class WebService(_Workload):
    type: Literal["web_service"]
    peak_rps: PositiveFloat
    avg_rps: PositiveFloat | None = Field(None, description="Defaults to peak_rps / 3")
    cpu_ms_per_request: PositiveFloat = 20.0
    memory_gb: PositiveFloat = Field(2.0, description="Memory one instance of the service needs")

    @model_validator(mode="after")
    def _avg_not_above_peak(self) -> WebService:
        if self.avg_rps is not None and self.avg_rps > self.peak_rps:
            raise ValueError("avg_rps must not exceed peak_rps")
        return self


class Worker(_Workload):
    type: Literal["worker"]
    vcpu_hours_per_month: PositiveFloat | None = None
    vcpu: PositiveFloat | None = Field(None, description="vCPUs running all month")
    memory_gb: PositiveFloat = 4.0
    interruptible: bool = Field(False, description="May run on spot capacity")

    @model_validator(mode="after")
    def _one_measure(self) -> Worker:
        if (self.vcpu_hours_per_month is None) == (self.vcpu is None):
            raise ValueError("give exactly one of vcpu_hours_per_month or vcpu")
        return self


class Database(_Workload):
    type: Literal["database"]
    engine: Literal["postgres", "mysql"] = "postgres"
    storage_gb: PositiveFloat
    growth_gb_per_month: NonNegativeFloat = 0.0
    vcpu: PositiveFloat | None = Field(None, description="vCPUs; sized from storage if absent")
    memory_gb: PositiveFloat | None = None


class ObjectStorage(_Workload):
    type: Literal["object_storage"]
    storage_gb: PositiveFloat
    growth_gb_per_month: NonNegativeFloat = 0.0
    access: Literal["frequent", "infrequent"] = "frequent"


class Cache(_Workload):
    type: Literal["cache"]
    memory_gb: PositiveFloat


class StaticSite(_Workload):
    type: Literal["static_site"]
    storage_gb: PositiveFloat = 1.0


class MlTraining(_Workload):
    type: Literal["ml_training"]
    model_params_b: PositiveFloat = Field(description="Parameters, billions")
    tokens_b_per_run: PositiveFloat = Field(description="Training tokens per run, billions")
    runs_per_month: PositiveFloat = 1.0


class MlInference(_Workload):
    type: Literal["ml_inference"]
    model_params_b: PositiveFloat = Field(description="Parameters, billions")
    peak_tokens_per_sec: PositiveFloat
    precision: Literal["fp16", "int8", "int4"] = "fp16"
    context_tokens: int = Field(4096, ge=128, le=1_000_000)
    concurrent_requests: int = Field(8, ge=1, le=10_000)


Workload = Annotated[
    WebService | Worker | Database | ObjectStorage | Cache | StaticSite | MlTraining
    | MlInference,
    Field(discriminator="type"),
]


class Requirements(_Strict):
    """A business, its workloads and its constraints."""

    name: str = Field(min_length=1, max_length=200)
    business: Business = Field(default_factory=Business)
    compliance: list[Framework] = Field(default_factory=list)
    data_residency: list[ResidencyGroup] = Field(
        default_factory=list, description=f"Allowed region groups ({', '.join(GROUPS)}); "
        "empty = anywhere. A hard constraint.")
    availability_target: AvailabilityTarget = 99.9
    preferences: Preferences = Field(default_factory=Preferences)
    workloads: list[Workload] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_names(self) -> Requirements:
        names = [w.name for w in self.workloads]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"workload names must be unique; repeated: {', '.join(dupes)}")
        return self
