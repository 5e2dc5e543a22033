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
    instances_min: int | None = Field(
        None, description="Autoscaled fleets: instances held all month (the floor)")
    instances_max: int | None = Field(
        None, description="Autoscaled fleets: instances at peak load")
    peak_hours_per_month: float | None = Field(
        None, description="Autoscaled fleets: hours a month the instances above the floor run")
    price_basis: Literal["list", "derived"] = Field(
        "list", description="'derived': computed from list prices by the rule in the note")


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
    price_basis: Literal["list", "derived", "mixed"] = Field(
        "list", description="Whether the option's prices are list prices, derived, or both")
    left_on_demand: list[str] = Field(
        default_factory=list,
        description="Machines held all month that the catalog has no price for on this "
                    "term, so it leaves them on demand: \"sku (workload, $X a month held all "
                    "month)\"")


class PriceDates(_Out):
    """The dates of the oldest and newest prices in an option's line items."""

    oldest: date
    newest: date


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
    purchase_terms: dict[str, str] = Field(
        default_factory=dict,
        description="Per workload with machines: the purchase option its lines are priced "
                    "under (on_demand, spot, reserved_1y, ...)")
    terms_unavailable: list[str] = Field(
        default_factory=list,
        description="Requested purchase terms (commitment, spot) the catalog has no price "
                    "for here: those lines are priced on demand")
    rank: int = Field(0, description="1 = recommended; the options are listed in this order "
                                     "(0 in results made before ranks were recorded)")
    rank_basis: str = Field("", description="The ranking key of this option in words: "
                                            "violations, compliance gaps, compared cost")
    compared_cost_usd: float | None = Field(
        None, description="Monthly cost of the parts every compared option prices: the cost "
                          "the ranking compares, so that no catalog hole decides the order "
                          "(equal to monthly_cost_usd when nothing is left out)")
    user_rtt_ms: float | None = Field(
        None, description="Round trip from the farthest user group to this region, ms, in the "
                          "engine's latency model (0: the region is in that group), or with "
                          "user_shares the average user's (each place's round trip weighed by "
                          "its share); None when where the users are is not known")
    price_dates: PriceDates | None = Field(
        None, description="Oldest and newest as_of among this option's line items (the "
                          "prices in its total); None without line items, or in results made "
                          "before it was recorded")


class Recommendation(_Out):
    provider: str
    region: str
    monthly_cost_usd: float
    reasons: list[str]
    alternatives: list[Alternative]
    ranking_rule: str = Field("", description="How the options were ranked, in words")


class CostDifference(_Out):
    """One part of the design priced on an option and on the recommended option
    (``engine.difference``): a workload with all its lines, or shared lines grouped by what
    they do (``CDN``, ``NAT``, ``WAF``, ``load balancer``, ``log archive``; others by their
    component)."""

    part: str
    monthly_usd: float = Field(description="On this option, a month (0: it has none)")
    recommended_usd: float = Field(description="On the recommended option (0: it has none)")
    delta_usd: float = Field(description="monthly_usd - recommended_usd")
    sku: str = Field("", description="The SKU of this option's dearest line of the part")
    recommended_sku: str = Field("", description="The same on the recommended option")
    shared: bool = Field(False, description="Shared lines, not a workload's")
    detail: str = Field("", description="What differs, in words: the machines of a workload "
                                        "(\"db.m6g.4xlarge against db-custom-8-40960\"), or "
                                        "that one side has none of the part")


class Alternative(_Out):
    provider: str
    region: str
    monthly_cost_usd: float
    delta_usd: float
    delta_pct: float
    why_not: list[str]
    differences: list[CostDifference] = Field(
        default_factory=list,
        description="Where its monthly cost differs from the recommended option's, largest "
                    "difference first (at most 8); empty in results made before it was "
                    "recorded")
    differences_text: str = Field(
        "", description="The largest three differences in words: \"orders-db $924.80 more "
                        "(db.m6g.4xlarge against db-custom-8-40960); CDN $290.71 more\"")


class ProjectionMonth(_Out):
    month: int
    monthly_cost_usd: float
    p10: float
    p90: float


class BudgetLever(_Out):
    """One setting of the requirements changed, the recommended provider and region designed
    again with it: what it would cost and what it gives up."""

    setting: str = Field(description="The requirement changed: availability_target, "
                                     "compliance or preferences.<name>")
    value: bool | float | str | list[str] = Field(description="Its new value")
    change: str = Field(description="The change, in words")
    monthly_cost_usd: float = Field(description="The recommended option's monthly cost with "
                                                "the change")
    saving_usd: float = Field(description="Against the recommendation, per month")
    within_budget: bool = Field(description="Its monthly cost is within the budget now")
    over_budget_from_month: int | None = Field(
        None, description="The first month its cost projection passes the budget (1: now); "
                          "None when it stays within the budget over the horizon")
    compliance_gaps_added: int = Field(0, description="Compliance gaps the change opens")
    gives_up: str = Field(description="What the change gives up, in words")
    together: bool = Field(True, description="Counted in levers_together_usd (of two levers "
                                             "on one setting, the one saving more)")


class CostPart(_Out):
    """One component of the recommended option, its line items summed (a CDN's price tiers
    are one): what it costs now and by the month the budget is passed."""

    component: str = Field(description="\"app servers of api\"; a shared line by its "
                                       "component alone (\"CDN data transfer\")")
    monthly_usd: float = Field(description="In month 1")
    later_usd: float = Field(description="In Budget.parts_month, on the expected growth")


class Budget(_Out):
    monthly_budget_usd: float | None
    within_budget: bool | None
    gap_usd: float | None = Field(description="Cost minus budget; positive means over budget")
    over_budget_from_month: int | None = Field(
        None, description="The first month the recommendation's expected projection passes "
                          "the budget (1: now); None when it stays within it")
    parts_month: int | None = Field(
        None, description="over_budget_from_month, else the first month the projection's P90 "
                          "passes the budget; None when neither does")
    parts: list[CostPart] = Field(
        default_factory=list,
        description="Where the money goes and what grows it: the recommendation's "
                    "components, now and in parts_month, the dearest first; empty without "
                    "a parts_month")
    passing_note: str = Field(
        "", description="When and why the budget is passed, now or with growth, in words "
                        "(from parts); empty where it is not")
    cheapest_compliant: Alternative | None = None
    levers: list[BudgetLever] = Field(
        default_factory=list,
        description="When the recommendation is over budget, or passes it within the "
                    "horizon: single changes to the requirements that lower its cost, "
                    "largest saving first")
    levers_together_usd: float | None = Field(
        None, description="The recommended option's monthly cost with every lever marked "
                          "together at once")
    levers_note: str = Field("", description="When levers were looked for and none lowers "
                                             "the cost, that in words; else empty")
    levers_together_over_budget_from_month: int | None = Field(
        None, description="The first month that cost's projection passes the budget (1: now); "
                          "None when it stays within it")


class ControlResult(_Out):
    framework: str
    control_id: str
    reference: str
    title: str
    status: Literal["met", "gap", "customer"]
    evidence: str
    remediation: str = ""
    remediation_monthly_usd: float | None = None
    remediation_cost_basis: Literal["priced", "unpriced", "none", ""] = Field(
        "", description="For a gap: 'priced' (remediation_monthly_usd is the catalog's price of "
                        "what the note says), 'unpriced' (it adds a running cost the catalog "
                        "cannot price), 'none' (a configuration change with no added running "
                        "cost); empty for met and customer controls")
    remediation_cost_note: str = Field("", description="What the remediation's figure covers, "
                                                       "or why there is none")


class ReviewPillar(_Out):
    pillar: str
    risk: Literal["high", "medium", "none"]
    findings: list[str]
    finding_risks: list[Literal["high", "medium", "none"]] = Field(
        default_factory=list, description="Each finding's own risk, in the order of "
                                          "findings (the pillar's risk is the highest)")


class RegionChoice(_Out):
    """Where the users are, and which regions were near enough to them to be designed."""

    users: list[str] = Field(default_factory=list,
                             description="Where the users are: region groups and countries")
    users_from: str = Field("", description="Where that came from: users, data_residency, "
                                            "preferences.regions, or empty when unknown")
    user_shares: dict[str, float] = Field(default_factory=dict,
                                          description="Each place's share of the users, in "
                                                      "percent (user_shares); empty: each "
                                                      "place counts the same")
    rule: str = Field("", description="Which regions were kept, in words")
    max_rtt_ms: float | None = Field(None, description="A region is near when every place "
                                                       "the users are is within this round "
                                                       "trip")
    excluded: list[str] = Field(default_factory=list,
                                description="Regions left out for latency, by group "
                                            "(\"the EU\"; by city where others of the "
                                            "group were kept), with the round trip from "
                                            "the users")
    closing: list[str] = Field(default_factory=list,
                               description="Regions near fewer of the users' places (a "
                                           "smaller share, with user_shares), "
                                           "designed as well as they have fewer compliance "
                                           "gaps than every region near the most "
                                           "(\"aws eu-west-1\")")


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
    region_choice: RegionChoice = Field(default_factory=RegionChoice)


Recommendation.model_rebuild()
