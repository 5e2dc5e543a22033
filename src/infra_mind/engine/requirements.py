"""What a user asks for: the requirements file (YAML or JSON), as pydantic models.

Unknown fields are errors everywhere (``extra="forbid"``): a misspelt key must
never be silently ignored. ``infra-mind schema`` prints the JSON Schema of
``Requirements``.

Every number is finite (``Infinity``, ``NaN`` and a literal such as ``1e309`` that
overflows to infinity are refused, naming the field) and has an upper bound that a
real business stays far below; every list has a maximum length and refuses a value
given twice. So the engine's work is bounded by the distinct inputs, and nothing it
derives from them (sizes, prices, a what-if's scaled traffic, a 60-month projection)
can overflow a float.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from infra_mind.catalog.model import Provider
from infra_mind.catalog.regions import GROUPS, REGIONS
from infra_mind.engine.places import COUNTRIES, GROUP_ALIASES

_H = TypeVar("_H", bound=Hashable)

# -- upper bounds ----------------------------------------------------------------------
# Each is generous for the largest real businesses, so no honest plan meets it, and far
# below where float arithmetic overflows (about 1.8e308): the engine multiplies a few of
# these together (training FLOPs = 6 x parameters x tokens x runs, about 6e32 at the
# bounds), a what-if scales traffic by up to 100 and the projection compounds growth
# over 60 months, and every figure must stay a finite number a person can read.

#: $10 billion a month: more than all of AWS's revenue (about $9 billion a month in 2024).
MAX_BUDGET_USD = 10_000_000_000
#: 10 million requests a second: far above the peak of any single web service.
MAX_RPS = 10_000_000
#: A CPU-minute per request; heavier work is a batch job (a ``worker``).
MAX_CPU_MS_PER_REQUEST = 60_000
#: 32 TiB: the largest single machines sold (AWS u7in-32tb) have this much memory.
MAX_INSTANCE_MEMORY_GB = 32_768
#: 1,024 vCPUs: more than any single machine offers (the largest have 896).
MAX_INSTANCE_VCPU = 1_024
#: A million vCPUs running all month: the scale of the largest batch fleets.
MAX_FLEET_VCPU = 1_000_000
MAX_FLEET_VCPU_HOURS_PER_MONTH = MAX_FLEET_VCPU * 730
#: 8 GiB per vCPU for that fleet.
MAX_FLEET_MEMORY_GB = 8 * MAX_FLEET_VCPU
#: 1 PB in one database: managed databases stop at 64-128 TiB; this leaves room for a
#: self-run, sharded one.
MAX_DATABASE_GB = 1_000_000
#: 1 EB: the largest tenants of object stores hold exabytes, not more.
MAX_OBJECT_STORAGE_GB = 1_000_000_000
#: 1 PB of static files.
MAX_STATIC_SITE_GB = 1_000_000
#: 1 EB a month (about 3 Tbit/s sustained): the scale of the largest video services.
MAX_EGRESS_GB_PER_MONTH = 1_000_000_000
#: 250,000 GiB: above a cache cluster of 500 of the largest cache nodes (about 400 GiB
#: each, 200,000 GiB in all).
MAX_CACHE_MEMORY_GB = 250_000
#: 100 trillion parameters: fifty times the largest models published.
MAX_MODEL_PARAMS_B = 100_000
#: 10 million parameters: a smaller model runs on a CPU, not a GPU machine (and below
#: about a million its weights round to 0 GB, which the throughput estimate divides by).
MIN_MODEL_PARAMS_B = 0.01
#: A quadrillion tokens a run: about thirty times the largest training runs published.
MAX_TOKENS_B_PER_RUN = 1_000_000
#: A run every 45 minutes all month; more is a sweep, not a training plan.
MAX_RUNS_PER_MONTH = 1_000
#: A billion tokens a second: above the published total of the largest model providers.
MAX_TOKENS_PER_SEC = 1_000_000_000
#: A trillion requests a month (about 380,000 a second): above the busiest single sites.
MAX_REQUESTS_PER_MONTH = 1_000_000_000_000
#: 4,096 GPUs for one worker: a large render or transcoding farm.
MAX_WORKER_GPUS = 4_096
#: The most GPUs one catalog machine holds (GCP a2-megagpu-16g: 16 A100).
MAX_GPUS_PER_MACHINE = 16
#: 288 GB: the most memory one GPU sold has (NVIDIA B300).
MAX_GPU_MEMORY_GB = 288
#: Default hours a day a web service runs at peak (see ``WebService.peak_hours_per_day``).
DEFAULT_PEAK_HOURS_PER_DAY = 4.0

#: Region codes are short (the longest covered is 23 characters); the bound keeps a
#: refusal that repeats an unknown code short too.
MAX_REGION_CODE_CHARS = 64
REGION_CODES = frozenset(code for _, code in REGIONS)


class _Strict(BaseModel):
    # allow_inf_nan=False: JSON parsers (Python's included) accept Infinity and NaN, and
    # YAML has .inf and .nan; none of them is a quantity, and PostgreSQL's jsonb refuses
    # them, so they are refused here with the field's path
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              allow_inf_nan=False)


def no_repeats(values: list[_H]) -> list[_H]:
    """Refuse a list that names a value twice: a repeat means nothing more, and left in
    it would multiply the engine's work (each provider and region is designed once)."""
    repeated = [str(v) for v, n in Counter(values).items() if n > 1]
    if repeated:
        # an error of its own type: its message reads the same in every error path
        # (a ValueError's gains "Value error, " where the API lists request problems)
        raise PydanticCustomError("repeated_values",
                                  "each value at most once; repeated: {repeated}",
                                  {"repeated": ", ".join(sorted(repeated))})
    return values


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


AvailabilityTarget = Literal[99.0, 99.5, 99.9, 99.95, 99.99]
RegionCode = Annotated[str, StringConstraints(strip_whitespace=True,
                                              max_length=MAX_REGION_CODE_CHARS)]

#: Lists: at most one of each value, so never longer than the values there are.
_UNIQUE = {"uniqueItems": True}
Providers = Annotated[list[Provider], Field(min_length=1, max_length=len(Provider),
                                            json_schema_extra=_UNIQUE),
                      AfterValidator(no_repeats)]
RegionCodes = Annotated[list[RegionCode], Field(max_length=len(REGION_CODES),
                                                json_schema_extra=_UNIQUE),
                        AfterValidator(no_repeats)]
Frameworks = Annotated[list[Framework], Field(max_length=len(Framework),
                                              json_schema_extra=_UNIQUE),
                       AfterValidator(no_repeats)]
#: Where users may be: a region group, or a country the latency table covers (engine.places).
USER_PLACES = (*GROUPS, *sorted(COUNTRIES))
#: Where data may be kept: a region group, or a country with a covered region (US, CA and GB
#: are their groups).
RESIDENCY_COUNTRIES = tuple(sorted({r.country for r in REGIONS.values()} - set(GROUP_ALIASES)))
RESIDENCY_PLACES = (*GROUPS, *RESIDENCY_COUNTRIES)


def _place_reader(countries: tuple[str, ...], which: str) -> Callable[[object], object]:
    """A reader of places whatever their case: a group's name (US, CA, GB and UK name groups
    too), else one of ``countries``; anything else is refused, naming what is accepted. An
    upper-case SA, Saudi Arabia's code and no covered country, is refused rather than read as
    the group sa (South America)."""

    def read(value: object) -> object:
        if isinstance(value, bool):
            # a YAML 1.1 parser reads an unquoted NO (Norway) as false (engine.load reads 1.2)
            raise PydanticCustomError("place", "{value} is not a place; a YAML 1.1 parser "
                                      "reads an unquoted NO (Norway) as false: write \"NO\"",
                                      {"value": str(value).lower()})
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text == "SA":
            # ISO 3166's SA is Saudi Arabia; the group is South America: never guess
            raise PydanticCustomError(
                "place", "'SA' is Saudi Arabia's country code, not one {which} "
                "({countries}); for the South America region group write sa",
                {"which": which, "countries": ", ".join(countries)})
        if text.lower() in GROUPS:
            return text.lower()
        if text.upper() in GROUP_ALIASES:
            return GROUP_ALIASES[text.upper()]
        if text.upper() in countries:
            return text.upper()
        raise PydanticCustomError(
            "place", "{value} is neither a region group ({groups}) nor a country code "
            f"{which} ({{countries}})",
            {"value": repr(text[:20]), "groups": ", ".join(GROUPS),
             "countries": ", ".join(countries)})

    return read


def _place(values: tuple[str, ...], which: str) -> object:
    return Annotated[Literal[values], BeforeValidator(_place_reader(values[len(GROUPS):],
                                                                    which))]


def _places(values: tuple[str, ...], which: str) -> object:
    return Annotated[list[_place(values, which)], Field(max_length=len(values),
                                                        json_schema_extra=_UNIQUE),
                     AfterValidator(no_repeats)]


UserPlace = _place(USER_PLACES, "the latency table covers")
UserPlaces = _places(USER_PLACES, "the latency table covers")
#: A place's share of the users, in percent.
UserShare = Annotated[float, Field(gt=0, le=100)]
#: Each place's share of the users (``Requirements.user_shares``).
UserShares = Annotated[dict[UserPlace, UserShare],  # type: ignore[valid-type]
                       Field(max_length=len(USER_PLACES))]
#: The shares of ``users`` may add up to 100 give or take this (33 + 33 + 33 is 99).
USER_SHARES_SLACK = 1.0
ResidencyPlaces = _places(RESIDENCY_PLACES, "with a covered region")


class Business(_Strict):
    industry: str = Field("general", min_length=1, max_length=100)
    company_size: CompanySize = CompanySize.SMALL
    monthly_budget_usd: float | None = Field(None, gt=0, le=MAX_BUDGET_USD)
    growth_rate_monthly: float = Field(
        0.0, ge=0, le=1,
        description="Expected traffic growth per month, as a fraction: 0.08 is 8% a month")
    horizon_months: int = Field(12, ge=1, le=60, description="Projection horizon, months")


class Preferences(_Strict):
    providers: Providers = Field(default_factory=lambda: list(Provider))
    regions: RegionCodes = Field(default_factory=list,
                                 description="Allowed region codes (any provider); "
                                             "empty = any")
    managed_services: bool = True
    kubernetes: KubernetesPreference = KubernetesPreference.AUTO
    commitment: Commitment = Commitment.NONE
    spot_ok: bool = False
    existing_provider: Provider | None = None
    allow_arm: bool = Field(True, description="Allow arm64 machines (Graviton and the like); "
                                              "false when images only build for x86_64")

    @model_validator(mode="after")
    def _known_regions(self) -> Preferences:
        unknown = [r for r in self.regions if r not in REGION_CODES]
        if unknown:
            raise ValueError(f"unknown region(s) {', '.join(unknown)}; covered regions: "
                             f"{', '.join(sorted(REGION_CODES))}")
        return self


class _Workload(_Strict):
    name: str = Field(min_length=1, max_length=80)
    egress_gb_per_month: float = Field(0.0, ge=0, le=MAX_EGRESS_GB_PER_MONTH)


class WebService(_Workload):
    type: Literal["web_service"]
    peak_rps: float = Field(gt=0, le=MAX_RPS)
    avg_rps: float | None = Field(None, gt=0, le=MAX_RPS,
                                  description="Defaults to peak_rps / 3")
    cpu_ms_per_request: float = Field(20.0, gt=0, le=MAX_CPU_MS_PER_REQUEST)
    memory_gb: float = Field(2.0, gt=0, le=MAX_INSTANCE_MEMORY_GB,
                             description="Memory one instance of the service needs")
    # 4 hours: a business application's daily peak (late morning and mid-afternoon) plus
    # the autoscaler's lead and cool-down around it; state the real figure when known
    peak_hours_per_day: float = Field(
        DEFAULT_PEAK_HOURS_PER_DAY, gt=0, le=24,
        description="Hours a day traffic runs above what the average-load instances serve: "
                    "the autoscaler holds peak capacity for these hours only (24 = always)")
    internal: bool = Field(
        False, description="Called only by the business's own services (an internal API), "
                           "never from the internet: kept off the public load balancer and "
                           "its WAF. Its internet egress is what it sends out itself "
                           "(third-party APIs)")

    @property
    def average_rps(self) -> float:
        """``avg_rps``, or a third of the peak where it is not stated."""
        return self.avg_rps if self.avg_rps is not None else self.peak_rps / 3

    @model_validator(mode="after")
    def _avg_not_above_peak(self) -> WebService:
        if self.avg_rps is not None and self.avg_rps > self.peak_rps:
            raise ValueError("avg_rps must not exceed peak_rps")
        return self


#: GPU models a worker may ask for by name (the catalog's ``gpu_model`` families).
GpuModel = Literal["T4", "V100", "A10", "A10G", "L4", "L40S", "A100", "H100", "H200"]


class GpuNeed(_Strict):
    """GPUs a worker needs (video transcoding, image models, batch inference)."""

    count: int = Field(1, ge=1, le=MAX_WORKER_GPUS, description="GPUs in use at once")
    memory_gb: float = Field(16.0, gt=0, le=MAX_GPU_MEMORY_GB,
                             description="Memory each GPU needs")
    model: GpuModel | None = Field(None, description="A GPU model the software needs "
                                                     "(e.g. for its video encoder); any if absent")
    hours_per_month: float | None = Field(
        None, gt=0, le=730, description="Hours a month the GPU machines run (batch work "
                                        "started when there is work); absent: all month")
    per_machine: int | None = Field(
        None, ge=1, le=MAX_GPUS_PER_MACHINE,
        description="GPUs that must share one machine (a model split across GPUs, training "
                    "on several GPUs at once); 1 for independent jobs (transcoding, batch "
                    "inference). Absent: 1, and a warning where the GPUs are split across "
                    "machines")

    @model_validator(mode="after")
    def _whole_machines(self) -> GpuNeed:
        if self.per_machine is not None and self.count % self.per_machine:
            raise ValueError(f"gpu.count ({self.count}) must be a multiple of "
                             f"gpu.per_machine ({self.per_machine})")
        return self


class Worker(_Workload):
    type: Literal["worker"]
    vcpu_hours_per_month: float | None = Field(None, gt=0, le=MAX_FLEET_VCPU_HOURS_PER_MONTH)
    vcpu: float | None = Field(None, gt=0, le=MAX_FLEET_VCPU,
                               description="vCPUs running all month")
    memory_gb: float = Field(4.0, gt=0, le=MAX_FLEET_MEMORY_GB,
                             description="Memory in total")
    interruptible: bool = Field(False, description="May run on spot capacity")
    gpu: GpuNeed | None = Field(None, description="GPUs the worker needs: its machines then "
                                                  "come from GPU machines")
    follows_traffic: bool = Field(False, description="The worker's load grows with the "
                                                     "business's traffic (e.g. it drains a queue "
                                                     "the web tier fills); otherwise its size "
                                                     "is fixed over the projection")

    @model_validator(mode="after")
    def _one_measure(self) -> Worker:
        if (self.vcpu_hours_per_month is None) == (self.vcpu is None):
            raise ValueError("give exactly one of vcpu_hours_per_month or vcpu")
        return self


class Database(_Workload):
    type: Literal["database"]
    engine: Literal["postgres", "mysql"] = "postgres"
    storage_gb: float = Field(gt=0, le=MAX_DATABASE_GB)
    growth_gb_per_month: float = Field(0.0, ge=0, le=MAX_DATABASE_GB)
    vcpu: float | None = Field(None, gt=0, le=MAX_INSTANCE_VCPU,
                               description="vCPUs; sized from storage if absent")
    memory_gb: float | None = Field(None, gt=0, le=MAX_INSTANCE_MEMORY_GB)


class ObjectStorage(_Workload):
    type: Literal["object_storage"]
    storage_gb: float = Field(gt=0, le=MAX_OBJECT_STORAGE_GB)
    growth_gb_per_month: float = Field(0.0, ge=0, le=MAX_OBJECT_STORAGE_GB)
    access: Literal["frequent", "infrequent"] = "frequent"
    public: bool = Field(False, description="Objects are served to the public (downloads, "
                                            "game assets, media): through the provider's CDN")
    requests_per_month: float | None = Field(
        None, ge=0, le=MAX_REQUESTS_PER_MONTH,
        description="Public requests a month (CDN requests); absent: egress / 30 KB")


class Cache(_Workload):
    type: Literal["cache"]
    memory_gb: float = Field(gt=0, le=MAX_CACHE_MEMORY_GB)


class StaticSite(_Workload):
    """A static site: object storage as the CDN's origin, no servers."""

    type: Literal["static_site"]
    storage_gb: float = Field(1.0, gt=0, le=MAX_STATIC_SITE_GB)
    requests_per_month: float | None = Field(
        None, ge=0, le=MAX_REQUESTS_PER_MONTH,
        description="Requests a month (CDN requests); absent: egress / 30 KB")


class MlTraining(_Workload):
    type: Literal["ml_training"]
    model_params_b: float = Field(ge=MIN_MODEL_PARAMS_B, le=MAX_MODEL_PARAMS_B,
                                  description="Parameters, billions")
    tokens_b_per_run: float = Field(gt=0, le=MAX_TOKENS_B_PER_RUN,
                                    description="Training tokens per run, billions")
    runs_per_month: float = Field(1.0, gt=0, le=MAX_RUNS_PER_MONTH)


class MlInference(_Workload):
    type: Literal["ml_inference"]
    model_params_b: float = Field(ge=MIN_MODEL_PARAMS_B, le=MAX_MODEL_PARAMS_B,
                                  description="Parameters, billions")
    peak_tokens_per_sec: float = Field(gt=0, le=MAX_TOKENS_PER_SEC)
    avg_tokens_per_sec: float | None = Field(
        None, gt=0, le=MAX_TOKENS_PER_SEC,
        description="Tokens a second averaged over the day: the replicas it needs run all "
                    "month, those for the peak only in the peak hours; absent: the peak all "
                    "day (the peak's replicas all month)")
    peak_hours_per_day: float = Field(
        DEFAULT_PEAK_HOURS_PER_DAY, gt=0, le=24,
        description="Hours a day traffic runs above what the average's replicas serve (with "
                    "avg_tokens_per_sec): the replicas above them run for these hours only")
    precision: Literal["fp16", "int8", "int4"] = "fp16"
    context_tokens: int = Field(4096, ge=128, le=1_000_000,
                                description="The longest context a request may use")
    avg_prompt_tokens: int | None = Field(
        None, ge=1, le=1_000_000, description="Average prompt tokens per request; absent: "
                                              "half of context_tokens")
    avg_output_tokens: int | None = Field(
        None, ge=1, le=1_000_000, description="Average generated tokens per request; absent: "
                                              "an eighth of context_tokens")
    tokens_per_sec_per_request: float = Field(
        30.0, gt=0, le=10_000, description="Generation speed each request is streamed at")
    concurrent_requests: int | None = Field(
        None, ge=1, le=10_000, description="Requests in flight at peak; absent: by Little's "
                                           "law, peak_tokens_per_sec / "
                                           "tokens_per_sec_per_request")

    @model_validator(mode="after")
    def _avg_tokens_not_above_peak(self) -> MlInference:
        if self.avg_tokens_per_sec is not None and \
                self.avg_tokens_per_sec > self.peak_tokens_per_sec:
            raise ValueError("avg_tokens_per_sec must not exceed peak_tokens_per_sec")
        return self

    @model_validator(mode="after")
    def _average_within_context(self) -> MlInference:
        held = (self.avg_prompt_tokens or 0) + (self.avg_output_tokens or 0)
        if held > self.context_tokens:
            raise ValueError("avg_prompt_tokens + avg_output_tokens must not exceed "
                             "context_tokens")
        return self


Workload = Annotated[
    WebService | Worker | Database | ObjectStorage | Cache | StaticSite | MlTraining
    | MlInference,
    Field(discriminator="type"),
]


class Requirements(_Strict):
    """A business, its workloads and its constraints."""

    name: str = Field(min_length=1, max_length=200)
    business: Business = Field(default_factory=Business)
    compliance: Frameworks = Field(default_factory=list)
    data_residency: ResidencyPlaces = Field(
        default_factory=list, description=f"Where data may be kept: region groups "
        f"({', '.join(GROUPS)}) or countries ({', '.join(RESIDENCY_COUNTRIES)}); empty = "
        "anywhere. A hard constraint.")
    users: UserPlaces = Field(
        default_factory=list, description=f"Where the users are: region groups "
        f"({', '.join(GROUPS)}) or, to be precise, country codes (JP, AU, AE, ...); empty = "
        "the data_residency groups, else the groups of preferences.regions. Regions more "
        "than 60 ms round trip from them are not designed (see docs/engine.md, region "
        "choice).")
    user_shares: UserShares = Field(
        default_factory=dict,
        description="The share of the users at each place of users, in percent, adding "
        "up to 100 (e.g. us: 40, eu: 35, JP: 15, KR: 10); empty = every place counts the "
        "same. Where no region is near all of the places, the regions near the largest "
        "share are designed (see docs/engine.md, region choice).")
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

    @field_validator("user_shares")
    @classmethod
    def _shares_of_users(cls, shares: dict[str, float], info: ValidationInfo
                         ) -> dict[str, float]:
        """``user_shares`` gives every place of ``users`` a share, and no other place, and
        the shares add up to 100 (a misspelt or forgotten place must not be weighed as 0)."""
        if not shares or "users" not in info.data:  # users refused: said on its own
            return shares
        users = info.data["users"]
        if not users:
            raise ValueError("needs users: list the same places in users")
        others = [p for p in shares if p not in users]
        if others:
            raise ValueError(f"names {', '.join(others)}, not among users")
        missing = [p for p in users if p not in shares]
        if missing:
            raise ValueError(f"gives no share to {', '.join(missing)} (in users): give every "
                             "place a share, or leave user_shares out")
        total = sum(shares.values())
        if abs(total - 100) > USER_SHARES_SLACK:
            raise ValueError(f"the shares add up to {total:g}; they are percentages of the "
                             "users and must add up to 100")
        return shares
