"""What a chat answer may stand on: short fact documents made from a stored result, and
knowledge-base articles, both ranked for a question with BM25.

A fact document says one thing about the user's assessment in a sentence or two, with
every figure copied from the engine's result, money written by ``engine.money`` (``$1,234.56``,
a difference in words: ``$988.49 under budget``). Its id is stable
across reads of the same result (``option:azure:eastus``, ``control:hipaa:HIPAA-CP-01``),
so a citation points at the same fact every time. The result is read defensively: an
advice (a result with ``narrative`` and ``llm_usage``) and an engine-only result both
work, and a missing part gives no fact rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra_mind.catalog.regions import Region
from infra_mind.catalog.regions import region as find_region
from infra_mind.engine.money import (
    listing,
    outlook,
    unit_price,
    usd,
    usd_change,
    within_budget_by,
)
from infra_mind.engine.places import place_name, share_name
from infra_mind.engine.projection import part_name
from infra_mind.engine.sizing import HOURS_PER_MONTH
from infra_mind.knowledge import Hit, KnowledgeBase, stem, tokenize
from infra_mind.knowledge.bm25 import Okapi

#: How each provider is named in a fact: its id and its common names, so a question
#: that says "Microsoft" or "Google Cloud" finds the option.
PROVIDER_NAMES = {"aws": "AWS / Amazon Web Services", "azure": "Azure / Microsoft Azure",
                  "gcp": "GCP / Google Cloud"}


@dataclass(frozen=True)
class FactDoc:
    """One fact of an assessment result."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class FactHit:
    fact: FactDoc
    score: float


@dataclass(frozen=True)
class Retrieved:
    """The facts and articles ranked for one question, best first (scores > 0 only)."""

    facts: list[FactHit]
    articles: list[Hit]


# -- formatting ---------------------------------------------------------------------------


def quantity(value: Any) -> str:
    """``6,570`` or ``3.2``: no trailing zeros."""
    return f"{float(value):,.4f}".rstrip("0").rstrip(".")


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def _where(option: Mapping[str, Any], *, short: bool = False) -> str:
    """``Azure / Microsoft Azure option in eastus``, or with ``short`` ``azure option in
    eastus``: only the option's own fact names the provider in full, so it ranks first
    for a question that names only the provider."""
    provider = option.get("provider", "")
    return f"{provider if short else provider_name(provider)} option in {option.get('region', '')}"


def _slug(*parts: Any) -> str:
    return ":".join(str(p) for p in parts)


def _words(value: str) -> str:
    return value.replace("_", " ")


def _term_words(option: str) -> str:
    """``reserved_1y`` -> "reserved 1-year term (reserved 1y)": the words a question about
    a commitment uses ("a 1-year term", "three years"), with the option's own name."""
    for short, term in (("_1y", "1-year"), ("_3y", "3-year")):
        if option.endswith(short):
            return f"{_words(option.removesuffix(short))} {term} term ({_words(option)})"
    return _words(option)


# -- facts ----------------------------------------------------------------------------------


def fact_documents(result: Mapping[str, Any]) -> list[FactDoc]:
    """Every fact of a stored result, in a stable order (ids unique)."""
    facts: list[FactDoc] = []
    facts.extend(_recommendation(result))
    facts.extend(_region_choice(result))
    facts.extend(_cost_breakdown(result))
    facts.extend(_design(result))
    facts.extend(_risks(result))
    facts.extend(_kubernetes(result))
    facts.extend(_next_steps(result))
    facts.extend(_stated(result))
    facts.extend(_unpriced(result))
    facts.extend(_not_priced(result))
    recommended = result.get("recommended") or None
    for option in result.get("options") or []:
        facts.append(_option(option, recommended))
        facts.extend(_difference(option, recommended))
        facts.extend(_line_items(option, _served_by_cdn(result)))
        facts.extend(_commitment(option))
    facts.extend(_budget(result))
    facts.extend(_projection(result))
    facts.extend(_compliance(result))
    facts.extend(_review(result))
    facts.extend(_sizing(result))
    facts.extend(_warnings(result))
    facts.extend(_catalog(result))
    unique: dict[str, FactDoc] = {}
    for fact in facts:
        unique.setdefault(fact.id, fact)
    return list(unique.values())


def _recommendation(result: Mapping[str, Any]) -> list[FactDoc]:
    if "recommended" not in result:
        return []
    chosen = result["recommended"]
    if not chosen:
        return [FactDoc("recommendation", "Recommendation",
                        "No option is recommended: none meets every constraint.")]
    text = (f"Recommended: the {_where(chosen)}, at a monthly cost of "
            f"{usd(chosen['monthly_cost_usd'])}.")
    # another option is named by its region only ("the us-east-1 option"): its provider's
    # name would make this fact the answer to a question about that provider, whose own
    # option fact holds its figures
    others = [(f"{o.get('provider', '')} {o.get('region', '')}", f"the {o.get('region', '')} "
               "option") for o in result.get("options") or []
              if (o.get("provider"), o.get("region")) != (chosen.get("provider"),
                                                          chosen.get("region"))]
    reasons = []
    for reason in chosen.get("reasons") or []:
        for name, neutral in others:
            reason = reason.replace(name, neutral)
        reasons.append(reason)
    if reasons:
        text += " Why: " + "; ".join(reasons) + "."
    return [FactDoc("recommendation", "Recommendation", text)]


def _region(provider: Any, code: Any) -> Region | None:
    try:
        return find_region(str(provider), str(code))
    except ValueError:  # not a provider the table knows
        return None


def _city(provider: Any, code: Any) -> str:
    """``eu-west-2 (London)``: a region by its code and city, so a question that names
    either finds it; the code alone where the region is not in the table."""
    found = _region(provider, code)
    return f"{code} ({found.city})" if found else str(code)


def _rtt(ms: Any, by_share: bool = False) -> str:
    """An option's round trip to the users (``by_share``: the average user's, as the
    requirements give each place's share of the users)."""
    if ms is None:
        return ""
    if float(ms) == 0:
        return ", where the users are"
    return f", ~{float(ms):g} ms " + ("for the average user" if by_share else "from the users")


def _region_choice(result: Mapping[str, Any]) -> list[FactDoc]:
    """Where the recommendation is and why there rather than elsewhere: each option's
    region with its cost and round trip to the users, a cheaper region passed over for
    being farther from them, and the cheapest option meeting every constraint where it is
    another. Only the recommended option's provider is named (the others by their
    regions): a question about a provider is the provider's option fact's to answer.
    "Why not Stockholm? It is cheaper." had been answered with an article on commitments:
    the one sentence naming Stockholm was deep in the recommendation's."""
    chosen = result.get("recommended")
    options = result.get("options") or []
    if not chosen or not options:
        return []
    users = (result.get("region_choice") or {}).get("users") or []
    shares = (result.get("region_choice") or {}).get("user_shares") or {}
    found = _region(chosen.get("provider"), chosen.get("region"))
    text = (f"The design is placed in {chosen.get('provider', '')} "
            f"{_city(chosen.get('provider'), chosen.get('region'))}"
            + (f", for users in {', '.join(share_name(u, shares) for u in users)}"
               if users else "")
            + (f"; its data is stored in {found.city} ({place_name(found.country)}, region "
               f"group {found.group})" if found else "") + ". Regions compared, "
            "in rank order: "
            + "; ".join(f"{_city(o.get('provider'), o.get('region'))} "
                        f"{usd(o['monthly_cost_usd'])} a month"
                        f"{_rtt(o.get('user_rtt_ms'), bool(shares))}"
                        for o in options) + ".")
    passed = [r for r in chosen.get("reasons") or [] if " rather than " in r]
    if passed:
        text += " Cheaper region passed over: " + "; ".join(passed) + "."
    cheapest = (result.get("budget") or {}).get("cheapest_compliant")
    if cheapest and (cheapest.get("provider"), cheapest.get("region")) != (
            chosen.get("provider"), chosen.get("region")) and not any(
            f" rather than {cheapest.get('region')} " in r for r in passed):
        text += (f" The cheapest option meeting every constraint is in "
                 f"{_city(cheapest.get('provider'), cheapest.get('region'))} at "
                 f"{usd(cheapest['monthly_cost_usd'])} a month"
                 + (f": {'; '.join(cheapest['why_not'])}" if cheapest.get("why_not") else "")
                 + ".")
    # "stored and hosted": "Where is our data stored?" had led with PCI DSS's keys for
    # "stored account data", whose title holds the same two words
    return [FactDoc("region-choice", "Where the data is stored and hosted: the regions "
                    "compared, their cost and latency to the users", text)]


def _recommended_option(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    chosen = result.get("recommended") or {}
    return next((o for o in result.get("options") or []
                 if (o.get("provider"), o.get("region"))
                 == (chosen.get("provider"), chosen.get("region"))), None)


def _cost_breakdown(result: Mapping[str, Any]) -> list[FactDoc]:
    """Where the recommended option's money goes: its largest components, biggest first.
    "What is the biggest cost?" had been answered with the cost review's commitment saving.
    A component's lines (a CDN's price tiers) are ranked by their sum and given one by one:
    every figure of a fact is one of the result's."""
    chosen = result.get("recommended") or {}
    option = _recommended_option(result)
    parts: dict[str, list[float]] = {}
    for i in (option or {}).get("line_items") or []:
        name = part_name(i["component"], i.get("workload", ""))
        parts.setdefault(name, []).append(float(i["monthly_usd"]))
    if not parts:
        return []
    biggest = sorted(parts.items(), key=lambda p: (-sum(p[1]), p[0]))[:BIGGEST_LINES]
    lines = "; ".join(
        f"{name} " + (usd(amounts[0]) if len(amounts) == 1 else
                      f"in {len(amounts)} lines, "
                      + listing([usd(a) for a in sorted(amounts, reverse=True)]))
        for name, amounts in biggest)
    text = (f"Where the money goes in the recommended {_where(chosen, short=True)}, a "
            f"monthly cost of {usd(option['monthly_cost_usd'])} in all: its biggest costs, "
            f"largest first: {lines}.")
    return [FactDoc("cost-breakdown", "Cost breakdown: the biggest costs", text)]


#: Line items the cost breakdown names.
BIGGEST_LINES = 5


def _stated(result: Mapping[str, Any]) -> list[FactDoc]:
    """The preferences and targets the requirements state, so "Why not Kubernetes?" or
    "Why no commitment?" finds the setting that decided it (it had found nothing)."""
    req = result.get("requirements") or {}
    prefs = req.get("preferences") or {}
    if not req:
        return []
    said = [f"availability target {req.get('availability_target')}%",
            f"providers {', '.join(prefs.get('providers') or []) or 'any'}",
            f"regions {', '.join(prefs.get('regions') or []) or 'any allowed'}",
            f"managed services {'yes' if prefs.get('managed_services', True) else 'no'}",
            f"Kubernetes {prefs.get('kubernetes', 'auto')} (required, avoid or auto: where "
            "it pays off)",
            f"commitment {prefs.get('commitment', 'none')}",
            # "spot instances": "Can we use spot instances?" had led with a web tier's
            # sizing, for its "instances"
            f"spot capacity (spot instances) "
            f"{'allowed' if prefs.get('spot_ok') else 'not allowed'}",
            f"arm64 machines {'allowed' if prefs.get('allow_arm', True) else 'not allowed'}",
            f"existing provider {prefs.get('existing_provider') or 'none'}",
            f"data residency {', '.join(req.get('data_residency') or []) or 'none stated'}",
            f"users in {', '.join(req.get('users') or []) or 'not stated'}",
            f"compliance {', '.join(req.get('compliance') or []) or 'none'}"]
    return [FactDoc("stated", "Requirements as stated: preferences and targets",
                    "The requirements state: " + "; ".join(said) + ".")]


def _unpriced(result: Mapping[str, Any]) -> list[FactDoc]:
    """What the recommended option's total leaves out, or that it leaves out nothing:
    "What's not priced?" had led with the catalog's date."""
    option = _recommended_option(result)
    if option is None:
        return []
    unpriced = option.get("unpriced") or []
    text = ("Unpriced components of the recommended option, left out of its total: "
            + ("; ".join(unpriced) if unpriced else
               "none, every component is priced from the dated catalog") + ".")
    return [FactDoc("unpriced", "Unpriced components (what is not priced)", text)]


def _not_priced(result: Mapping[str, Any]) -> list[FactDoc]:
    """The providers with no option, and why: a question about one ("what would this cost
    on AWS?") was answered with the recommendation's cost review."""
    if "options" not in result:
        return []
    priced = {o.get("provider") for o in result.get("options") or []}
    allowed = ((result.get("requirements") or {}).get("preferences") or {}).get("providers")
    out = []
    for provider in sorted(set(PROVIDER_NAMES) - priced):
        if allowed is not None and provider not in allowed:
            # the other providers are not named: this fact is not about them
            why = f"the requirements' preferences.providers leave it out; add {provider} there"
        else:
            why = ("none of its regions could be designed within the requirements (data "
                   "residency, preferences.regions, or the users' round trip)")
        out.append(FactDoc(_slug("not-priced", provider), f"{provider_name(provider)} not priced",
                           f"No {provider_name(provider)} ({provider}) option was priced, so "
                           f"the assessment has no cost for it: {why}."))
    return out


def _alternative_of(option: Mapping[str, Any], recommended: Mapping[str, Any] | None
                    ) -> Mapping[str, Any] | None:
    """The recommendation's alternative that is ``option``, if it is one."""
    return next((a for a in (recommended or {}).get("alternatives") or []
                 if (a.get("provider"), a.get("region"))
                 == (option.get("provider"), option.get("region"))), None)


def _monthly_change(alternative: Mapping[str, Any]) -> str:
    """"$1,268.65 more a month (32.9%)", or "the same"."""
    change = usd_change(float(alternative["delta_usd"]))
    return change if change == "the same" else \
        f"{change} a month ({abs(float(alternative['delta_pct']))}%)"


def _delta(option: Mapping[str, Any], recommended: Mapping[str, Any] | None) -> str:
    if recommended is None:
        return ""
    if (option.get("provider"), option.get("region")) == (recommended.get("provider"),
                                                          recommended.get("region")):
        return " This is the recommended option."
    alternative = _alternative_of(option, recommended)
    if alternative is None:
        return ""
    # the recommended provider is not named: its name would make this fact an answer to
    # questions about that provider
    change = _monthly_change(alternative)
    if change == "the same":
        return " That is the same monthly cost as the recommended option."
    return f" That is {change} than the recommended option."


def _option(option: Mapping[str, Any], recommended: Mapping[str, Any] | None) -> FactDoc:
    provider, region = option.get("provider", ""), option.get("region", "")
    text = (f"{_where(option)} ({option.get('region_name', region)}): monthly price "
            f"{usd(option['monthly_cost_usd'])}, the total cost per month."
            f"{_delta(option, recommended)} "
            f"Compliance gaps: {option.get('compliance_gaps', 0)}.")
    violations = option.get("violations") or []
    text += (" Meets every constraint." if option.get("constraints_met")
             else " Constraints not met: " + "; ".join(violations) + ".")
    unpriced = option.get("unpriced") or []
    if unpriced:
        text += " Unpriced (not in the total): " + "; ".join(unpriced) + "."
    title = f"{provider_name(provider)} option ({region})"
    return FactDoc(_slug("option", provider, region), title, text)


def _difference(option: Mapping[str, Any], recommended: Mapping[str, Any] | None
                ) -> list[FactDoc]:
    """Where an option's cost differs from the recommended option's, part by part (the
    engine's ``Alternative.differences``): "Why is AWS more expensive?" had the totals
    alone to go on. A fact of its own, so that the option's fact stays the short answer
    to "What would this cost on AWS?"; the recommended provider is not named in it."""
    alternative = _alternative_of(option, recommended)
    if not alternative or not alternative.get("differences"):
        return []
    provider, region = option.get("provider", ""), option.get("region", "")
    parts = []
    for d in alternative["differences"]:
        text = (f"{d['part']} {usd(float(d['monthly_usd']))} against "
                f"{usd(float(d['recommended_usd']))}, {usd_change(float(d['delta_usd']))}")
        parts.append(text + (f" ({d['detail']})" if d.get("detail") else ""))
    # neither the provider's full name nor "cost": "What would this cost on AWS?" is the
    # option's own fact, its total
    text = (f"{_where(option, short=True)}: {_monthly_change(alternative)} than the "
            "recommended option. "
            # not "cheaper": "Can we run this cheaper?" had led with this fact
            "Where the difference comes from, part by part (each workload with all its "
            "lines, the shared lines by what they do), the largest differences first: "
            + "; ".join(parts) + ".")
    return [FactDoc(_slug("difference", provider, region),
                    f"{provider} {region} against the recommended option, part by part",
                    text)]


def _backups_included(item: Mapping[str, Any]) -> str:
    """A database's storage line whose price includes its backups, so says: "How do we
    back up the database?" had led with another option's backup line, the recommended
    one's (RDS, Azure) having none."""
    note = str(item.get("note") or "")
    at = note.find("automated backups")
    if item.get("component") != "database storage" or at < 0:
        return ""
    return f" ({note[at:]})"


def _training_run(item: Mapping[str, Any]) -> str:
    """A training line's run in the engine's words (its note: the GPU-hours formula, the
    machines in parallel, the hours a run takes): "How long does a fine-tune take?" was
    answered with the month's instance-hours alone."""
    if item.get("component") != TRAINING_COMPONENT or not item.get("note"):
        return ""
    return f" (how long a run takes, on how many machines: {item['note']})"


def _fleet(item: Mapping[str, Any]) -> str:
    """An autoscaled fleet's machine counts: "How many app servers do we run at peak?" was
    answered with instance-hours alone."""
    low, high = item.get("instances_min"), item.get("instances_max")
    if low is None or high is None:
        held = _held(item)
        return f"{held} machine{'' if held == 1 else 's'} all month, " if held else ""
    if low == high:
        return f"{low} machine{'' if low == 1 else 's'} all month (peak and floor), "
    hours = item.get("peak_hours_per_month")
    return (f"{low} machines all month and up to {high} at peak"
            + (f" ({quantity(hours)} hours a month)" if hours else "") + ", ")


def _served_by_cdn(result: Mapping[str, Any]) -> list[str]:
    """The workloads whose files the CDN serves: public buckets and static sites."""
    workloads = (result.get("requirements") or {}).get("workloads") or []
    return [w.get("name", "") for w in workloads
            if w.get("type") == "static_site" or (w.get("type") == "object_storage"
                                                   and w.get("public"))]


def _cdn_delivery(workload: str, served: list[str], shared: list[Mapping[str, Any]]) -> str:
    """Where a public workload's delivery is priced: the CDN's lines are shared, so "Why is
    the video delivery so expensive?" found the bucket's storage ($184.00) and not the
    $2,890.44 of CDN lines its 30 TB a month cost."""
    lines = [i for i in shared if str(i.get("component", "")).startswith("CDN ")]
    if workload not in served or not lines:
        return ""
    others = [w for w in served if w != workload]
    return (" Its files go out through the CDN, whose delivery is priced in the shared "
            "lines" + (f" (with {', '.join(others)})" if others else "") + ": "
            + "; ".join(f"{i['component']} {usd(i['monthly_usd'])}" for i in lines) + ".")


#: The component of a training workload's GPU line (``engine.compute``).
TRAINING_COMPONENT = "training GPUs"


def _line_items(option: Mapping[str, Any], served: list[str]) -> list[FactDoc]:
    by_workload: dict[str, list[Mapping[str, Any]]] = {}
    for item in option.get("line_items") or []:
        by_workload.setdefault(item.get("workload", ""), []).append(item)
    shared = by_workload.get("(shared)", [])
    facts = []
    for workload, items in by_workload.items():
        parts, fleets = [], set()
        for i in items:
            # a committed floor and its on-demand peak are two lines of one fleet: its
            # counts are said once
            fleet = (i.get("sku"), i.get("instances_min"), i.get("instances_max"))
            counts = "" if fleet in fleets else _fleet(i)
            fleets.add(fleet)
            parts.append(f"{i['component']}: {i['sku']} ({i['service']}), {counts}"
                         f"{quantity(i['quantity'])} {i['unit']} x "
                         f"{unit_price(i['unit_price_usd'])} = {usd(i['monthly_usd'])}"
                         + _training_run(i) + _backups_included(i))
        lines = "; ".join(parts)
        # "monthly cost" in words: "What is the monthly egress cost?" had found the option's
        # total (which says both) before the line that prices the egress
        # the shared lines are the network: "What is the network cost?" had led with
        # another option's, whose CDN is a "Content Delivery Network"
        what = ("the network and services the workloads share" if workload == "(shared)"
                else f"workload {workload}")
        text = (f"{_where(option, short=True)}, {what}, line items with how "
                f"many machines and their monthly cost: {lines}."
                + _cdn_delivery(workload, served, shared))
        facts.append(FactDoc(_slug("items", option.get("provider"), option.get("region"),
                                   workload),
                             f"{workload} on {option.get('provider')} "
                             f"{option.get('region')}", text))
    return facts


def _commitment(option: Mapping[str, Any]) -> list[FactDoc]:
    choices = option.get("commitment") or []
    if not choices:
        return []
    parts = []
    gpu_skus = {i.get("sku") for i in option.get("line_items") or []
                if "GPU" in str(i.get("component"))}
    for c in choices:
        saving = float(c["savings_usd"])
        part = (f"{_term_words(c['purchase_option'])}: {usd(c['monthly_usd'])} a month, "
                + (f"saves {usd(saving)}" if round(saving, 2) >= 0
                   else f"costs {usd(-saving)} more")
                + f" ({c['savings_pct']}%), covering "
                f"{c['coverage_pct']}% of compute")
        if c.get("break_even_month") is not None:
            part += f", break-even in month {c['break_even_month']}"
        if c.get("left_on_demand"):
            # "Can we reserve the GPUs?": a 3.6% coverage said nothing of what it left out
            part += (", leaving on demand for want of a price on this term: "
                     + ", ".join(c["left_on_demand"]))
            if any(entry.split(" ")[0] in gpu_skus for entry in c["left_on_demand"]):
                part += " (GPU machines among them)"
        parts.append(part)
    text = (f"{_where(option, short=True)}, purchase options (reserved, savings plans, spot, "
            f"commitments) and what the option costs on each: " + "; ".join(parts) + ".")
    return [FactDoc(_slug("commitment", option.get("provider"), option.get("region")),
                    f"Purchase options on {option.get('provider')} {option.get('region')}: "
                    "what each term or commitment saves",
                    text)]


def _budget(result: Mapping[str, Any]) -> list[FactDoc]:
    budget = result.get("budget")
    if not budget:
        return []
    if budget.get("monthly_budget_usd") is None:
        return [FactDoc("budget", "Budget", "No monthly budget was given.")]
    text = f"Monthly budget: {usd(budget['monthly_budget_usd'])}."
    gap = budget.get("gap_usd")
    if gap is not None:
        position = usd_change(float(gap), "over budget", "under budget", "exactly on budget")
        text += f" The recommended option is {position}, a month."
    over = budget.get("over_budget_from_month")
    if over and over > 1:
        text += f" With the stated growth the projected cost passes the budget in month {over}."
    cheapest = budget.get("cheapest_compliant")
    if cheapest:
        text += (f" Cheapest option meeting every constraint: the {_where(cheapest)} at "
                 f"{usd(cheapest['monthly_cost_usd'])}.")
    if budget.get("levers_note"):
        text += f" Budget levers: {budget['levers_note']}."
    levers = budget.get("levers") or []
    if levers and gap is not None and float(gap) > 0:
        # "how do we get within budget?" is answered here, where the question leads
        together = budget.get("levers_together_usd")
        fits = within_budget_by(
            [(lv["change"], lv["monthly_cost_usd"]) for lv in levers if lv.get("within_budget")],
            None if together is None else float(together), float(budget["monthly_budget_usd"]))
        text += f" {fits}" if fits else ""
    docs = [FactDoc("budget", "Budget", text)]
    if budget.get("passing_note"):
        # its own fact, so the budget fact still leads "how do we get within budget?"
        docs.append(FactDoc("budget-passed", "Over budget: why, what grows the cost",
                            budget["passing_note"]))
    if not levers:
        return docs
    horizon = (result.get("requirements") or {}).get("business", {}).get("horizon_months", 12)
    recommended = (result.get("recommended") or {}).get("monthly_cost_usd")
    for lv in levers:
        gaps = lv.get("compliance_gaps_added") or 0
        text = (f"Budget lever (a way to lower the cost): {lv['change']}. The recommended "
                f"option would cost {usd(lv['monthly_cost_usd'])} a month"
                + (f" instead of {usd(recommended)}" if recommended is not None else "")
                + f", {usd(lv['saving_usd'])} less; "
                f"{outlook(lv.get('over_budget_from_month'), horizon)}"
                + (f"; {gaps} more compliance gap{'' if gaps == 1 else 's'}" if gaps else "")
                + f". It gives up: {lv['gives_up']}.")
        value = lv["value"]  # the compliance lever's: the frameworks that still apply
        docs.append(FactDoc(_slug("budget-lever", lv["setting"],
                                  (",".join(value) or "none") if isinstance(value, list)
                                  else value),
                            f"Budget lever: {lv['change']}", text))
    together = budget.get("levers_together_usd")
    left = [lv["change"] for lv in levers if lv.get("together") is False]
    text = ("Ways to lower the cost of the recommended option within budget (budget "
            "levers), each one requirement changed: "
            + "; ".join(f"{lv['change']} ({usd(lv['saving_usd'])} less)" for lv in levers)
            + ".")
    if together is not None:
        text += (f" All of them at once{' (not ' + ', '.join(left) + ')' if left else ''}: "
                 f"{usd(together)} a month, "
                 f"{outlook(budget.get('levers_together_over_budget_from_month'), horizon)}.")
    docs.append(FactDoc("budget-levers", "Budget levers", text))
    return docs


def _projection(result: Mapping[str, Any]) -> list[FactDoc]:
    months = result.get("projection") or []
    if not months:
        return []
    first, last = months[0], months[-1]
    # "changes": "How will costs change over two years?" had led with the budget levers
    # ("each requirement changed")
    text = (f"Cost projection (growth forecast: how the cost changes) over {last['month']} "
            f"months for the recommended option: month {first['month']} "
            f"{usd(first['monthly_cost_usd'])}; "
            f"month {last['month']} {usd(last['monthly_cost_usd'])}, between "
            f"{usd(last['p10'])} (P10) and {usd(last['p90'])} (P90).")
    # "how much will this cost next year?": the month a year after the first, else the
    # twelfth
    year = next((m for m in months if m["month"] == 13), None) or \
        next((m for m in months if m["month"] == 12), None)
    if year is not None:
        text += (f" About a year out (month {year['month']}) it costs "
                 f"{usd(year['monthly_cost_usd'])} a month.")
    return [FactDoc("projection", "Cost projection", text)]


def _compliance(result: Mapping[str, Any]) -> list[FactDoc]:
    controls = result.get("compliance") or []
    facts = []
    frameworks: dict[str, dict[str, list[str]]] = {}
    for control in controls:
        framework = control.get("framework", "")
        frameworks.setdefault(framework, {}).setdefault(control.get("status", ""), []).append(
            control.get("control_id", ""))
        if control.get("status") in ("met", "customer"):
            # why a part is in the design ("do we need a WAF?"), and what the business
            # does itself
            facts.append(_control(framework, control))
            continue
        if control.get("status") != "gap":
            continue
        remediation = (control.get("remediation") or "none given").rstrip(". ")
        text = (f"{framework_name(framework)} compliance gap {control['control_id']} "
                f"({control.get('reference', '')}), {control.get('title', '')}: "
                f"{control.get('evidence', '')}. Remediation: {remediation}; "
                + _remediation_cost(control))
        facts.append(FactDoc(_slug("control", framework, control["control_id"]),
                             f"{control['control_id']}: "
                             f"{control.get('title', '')}", text))
    if frameworks:
        facts.append(_gaps_summary(controls))
    elif result.get("requirements"):
        facts.append(FactDoc(
            "compliance-gaps", "Compliance gaps",
            "Compliance gaps: none evaluated. The requirements name no compliance "
            "framework; with one, the design is checked against its technical controls."))
    for framework, by_status in frameworks.items():
        text = (f"{framework_name(framework)} compliance of the recommended design: of the "
                f"controls it requires, {len(by_status.get('met', []))} met, "
                f"{len(by_status.get('gap', []))} gap(s)")
        if by_status.get("gap"):
            text += f" ({', '.join(by_status['gap'])})"
        text += f", {len(by_status.get('customer', []))} customer responsibilities"
        if by_status.get("customer"):
            text += f" ({', '.join(by_status['customer'])})"
        facts.append(FactDoc(_slug("compliance", framework),
                             f"{framework_name(framework)} compliance",
                             text + "."))
    return facts


def _gaps_summary(controls: Sequence[Mapping[str, Any]]) -> FactDoc:
    """The recommended design's compliance gaps across its frameworks, in one fact: what
    "what are the compliance gaps?" asks."""
    gaps = [c for c in controls if c.get("status") == "gap"]
    names = sorted({framework_name(str(c.get("framework", ""))) for c in controls})
    if not gaps:
        met = sum(1 for c in controls if c.get("status") == "met")
        text = (f"Compliance gaps: none. The design meets every technical control "
                f"evaluated for {', '.join(names)} ({met} met); the controls that are the "
                "business's own processes are listed per framework.")
    else:
        text = (f"Compliance gaps: {len(gaps)}, across {', '.join(names)}: "
                + "; ".join(f"{c['control_id']} ({c.get('reference', '')}, "
                            f"{c.get('title', '')}): {_remediation_cost(c).rstrip('.')}"
                            for c in gaps) + ".")
    return FactDoc("compliance-gaps", "Compliance gaps", text)


#: Frameworks as they are written (the rest: upper case, "HIPAA"; "SOC2" and "ISO27001"
#: keep their digits in the word: a number in a fact must be one of the result's figures).
FRAMEWORK_NAMES = {"pci_dss": "PCI DSS"}


def framework_name(framework: str) -> str:
    return FRAMEWORK_NAMES.get(framework, framework.upper())


def _control(framework: str, control: Mapping[str, Any]) -> FactDoc:
    """A control the design meets (with what meets it), or one the business meets itself."""
    met = control.get("status") == "met"
    evidence = str(control.get("evidence", "")).rstrip(". ")
    if not met:
        evidence = evidence.removeprefix("Customer responsibility, outside the architecture: ")
    text = (f"{framework_name(framework)} control {control['control_id']} "
            f"({control.get('reference', '')}), {control.get('title', '')}: "
            + (f"required, and met by the design: {evidence}." if met else
               f"a customer responsibility, the business's own process outside the "
               f"architecture: {evidence}."))
    # titled by the standard's own reference ("Req. 4.2.1"), not the id that repeats the
    # framework's name: "What does PCI require of us?" is the framework summary's to lead
    return FactDoc(_slug("control", framework, control["control_id"]),
                   f"{control.get('reference') or control['control_id']}: "
                   f"{control.get('title', '')} ({'met' if met else 'your process'})", text)


def _remediation_cost(control: Mapping[str, Any]) -> str:
    """The remediation's cost as the engine states it: never "no cost" unless the engine
    says the change is configuration only."""
    cost = control.get("remediation_monthly_usd")
    note = control.get("remediation_cost_note") or ""
    basis = control.get("remediation_cost_basis") or ""
    if cost is not None:
        text = f"about {usd(cost)} a month"
    elif basis == "none":
        text = "configuration only, no added running cost"
    elif basis == "unpriced":
        text = "it adds a running cost the catalog cannot price"
    else:
        text = "no priced remediation cost"
    return text + (f" ({note})." if note else ".")


#: What each review pillar is about, in the words a question uses: "Is the design highly
#: available?" had found a database's sizing ("ha no"), as a reliability finding at 99.5%
#: need not say "availability".
PILLAR_ABOUT = {
    "operational_excellence": "operations, monitoring and alerts",
    # in the asker's words: "How secure is this?" had led with a SOC 2 control on security
    # awareness, "What happens when traffic spikes?" with a worker's sizing
    "security": "protecting data and access: how secure the design is",
    # "what happens when ... fails": "What happens if a zone fails?" had led with the
    # SOC 2 control on testing the recovery plan ("fail over a zone")
    "reliability": "how available the design stays: high availability, outages, failover "
                   "and recovery, what happens when a machine, a zone or a region fails, "
                   "single points of failure, disaster recovery",
    "performance_efficiency": "speed, latency and capacity: what happens when traffic "
                              "peaks",
    "cost_optimization": "spending and savings",
    "sustainability": "energy and idle capacity",
}


#: The services whose hourly lines are virtual machines, counted as machines (a managed
#: database's HA line is one price for its primary and standby on some providers, two
#: lines' worth of hours on others: not counted).
MACHINE_SERVICES = frozenset({"Amazon EC2", "Virtual Machines", "Compute Engine"})


def _held(item: Mapping[str, Any]) -> int:
    """The virtual machines a line holds all month (0: none, or not all month)."""
    held = float(item.get("quantity") or 0) / HOURS_PER_MONTH
    if (item.get("unit") != "hour" or item.get("service") not in MACHINE_SERVICES
            or held < 1 or held != int(held)):
        return 0
    return int(held)


def _machines(item: Mapping[str, Any]) -> str:
    """How many machines a line holds: "2 to 5 x" for an autoscaled fleet, "2 x" for
    machines held all month; empty otherwise (part-time work, managed services, storage,
    transfer)."""
    low, high = item.get("instances_min"), item.get("instances_max")
    if low is not None and high is not None:
        return f"{low} x " if low == high else f"{low} to {high} x "
    held = _held(item)
    return f"{held} x " if held else ""


def _design(result: Mapping[str, Any]) -> list[FactDoc]:
    """What the recommended design is made of, workload by workload: "Explain the
    architecture" had led with an article on active-active regions, "How many servers do
    we need?" with the operational review."""
    option = _recommended_option(result)
    items = (option or {}).get("line_items") or []
    if not items:
        return []
    by_workload: dict[str, list[str]] = {}
    for i in items:
        # an autoscaled fleet's floor and peak lines are one fleet
        component = re.sub(r" \((floor|peak)\)$", "", i["component"])
        by_workload.setdefault(i.get("workload", ""), []).append(
            f"{component} {_machines(i)}{i['sku']} ({i['service']})")
    parts = "; ".join(f"{'shared' if w == '(shared)' else w}: {', '.join(dict.fromkeys(c))}"
                      for w, c in by_workload.items())
    # its GPUs named where it has any: "What GPU did you pick?" had led with the cost
    # breakdown, which names the GPU line among the costs
    gpus = " and GPUs" if any("GPU" in i["component"] for i in items) else ""
    return [FactDoc("design", f"The architecture: what the design is made of, its servers"
                              f"{gpus}",
                    f"The recommended {_where(result.get('recommended') or {}, short=True)} "
                    f"is made of, workload by workload, with how many machines each "
                    f"holds and their instance types (SKUs): {parts}.")]


#: The review's risks, highest first.
RISK_ORDER = {"high": 0, "medium": 1}


def _with_risks(pillar: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A review pillar's findings with each one's risk, as (risk, finding); a result stored
    before ``finding_risks`` gives each its pillar's risk."""
    findings = pillar.get("findings") or []
    risks = pillar.get("finding_risks") or [pillar.get("risk", "")] * len(findings)
    return list(zip(risks, findings, strict=False))


def _risks(result: Mapping[str, Any]) -> list[FactDoc]:
    """The review's findings at high or medium risk, highest first, each with its pillar:
    "What are the main risks?" had led with SOC 2's risk-assessment control. (A result
    stored before findings had their own risk gives each its pillar's.)"""
    if not result.get("review"):
        return []
    found = [(risk, _words(p.get("pillar", "")), text) for p in result["review"]
             for risk, text in _with_risks(p) if risk in RISK_ORDER]
    title = "Risks: the biggest risks, what could go wrong, what to worry about, highest first"
    if not found:
        return [FactDoc("risks", title,
                        "The Well-Architected review found no medium or high risk.")]
    found.sort(key=lambda f: RISK_ORDER[f[0]])  # stable: the review's order within a risk
    text = " ".join(f"{pillar} ({risk} risk): {finding}" for risk, pillar, finding in found)
    return [FactDoc("risks", title, "The main risks the Well-Architected review found, "
                                    f"highest first. {text}")]


#: How the review's operational findings open when they say why there is a cluster or not.
CLUSTER_FINDINGS = ("Kubernetes adds", "No Kubernetes cluster")


def _kubernetes(result: Mapping[str, Any]) -> list[FactDoc]:
    """Whether the recommended design runs a Kubernetes cluster, and why, from the
    review's operational finding: "Do we need Kubernetes?" had led with the requirements'
    preference alone."""
    for pillar in result.get("review") or []:
        for finding in pillar.get("findings") or []:
            if finding.startswith(CLUSTER_FINDINGS):
                # "required": "Do we need Kubernetes?" ("need" folds to "required" too) had
                # led with the requirements' "Kubernetes auto (required, avoid or auto)"
                return [FactDoc("kubernetes", "Kubernetes: a cluster or not, and why",
                                f"Whether a cluster is required: {finding}")]
    return []


def _next_steps(result: Mapping[str, Any]) -> list[FactDoc]:
    """What to do first, in the order an architect would: what blocks going live (the
    compliance gaps, the high risks, what is unpriced), then the budget, then the
    commitment once usage is steady. "What should we do first?" had led with the cost
    breakdown."""
    if not result.get("recommended"):
        return []
    steps = []
    gaps = [c for c in result.get("compliance") or [] if c.get("status") == "gap"]
    if gaps:
        steps.append(f"close the compliance gap{'' if len(gaps) == 1 else 's'} "
                     + listing([f"{framework_name(c.get('framework', ''))} "
                                f"{c.get('control_id', '')} ({c.get('title', '')})"
                                for c in gaps]))
    high = sorted({_words(p.get("pillar", "")) for p in result.get("review") or []
                   for r, _ in _with_risks(p) if r == "high"})
    if high:
        steps.append(f"act on the review's high-risk findings ({listing(high)})")
    option = _recommended_option(result) or {}
    if option.get("unpriced"):
        steps.append("get prices for what the catalog could not price: "
                     + listing(option["unpriced"]))
    budget = result.get("budget") or {}
    if budget.get("passing_note"):
        over = budget.get("over_budget_from_month")
        steps.append("bring the cost within the budget (it is over budget now)" if over == 1
                     else f"plan for the budget before month {over}, when the projected cost "
                          "passes it" if over else
                     "watch the budget: growth faster than stated passes it")
    saving = max((float(c.get("savings_usd") or 0) for c in option.get("commitment") or []
                  if c.get("purchase_option") != "spot"), default=0.0)
    if saving > 0 and (result.get("requirements") or {}).get("preferences", {}).get(
            "commitment", "none") == "none":
        steps.append("once usage is steady, commit the base load (up to "
                     f"{usd(saving)} a month less)")
    if not steps:
        steps.append("build the design as it stands: it meets the constraints with no "
                     "compliance gap, high risk or unpriced part")
    text = "; ".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    return [FactDoc("next-steps", "Next steps: what to do first, where to start",
                    f"Next steps for the recommended design, first things first: {text}.")]


def _review(result: Mapping[str, Any]) -> list[FactDoc]:
    facts = []
    for pillar in result.get("review") or []:
        name = _words(pillar.get("pillar", ""))
        about = PILLAR_ABOUT.get(pillar.get("pillar", ""))
        findings = " ".join(pillar.get("findings") or [])
        text = (f"Well-Architected review, {name} pillar"
                + (f" ({about})" if about else "")
                + f": {pillar.get('risk', '')} risk. {findings}").strip()
        facts.append(FactDoc(_slug("review", pillar.get("pillar", "")),
                             f"Review: {name}", text))
    return facts


def _sizing(result: Mapping[str, Any]) -> list[FactDoc]:
    facts = []
    for demand in result.get("demand") or []:
        resources = ", ".join(f"{_words(k)} {_resource(v)}"
                              for k, v in (demand.get("resources") or {}).items())
        trace = "; ".join(demand.get("trace") or [])
        text = (f"Sizing of workload {demand.get('workload', '')} "
                f"({_words(demand.get('type', ''))}): {resources}. How: {trace}.")
        facts.append(FactDoc(_slug("sizing", demand.get("workload", "")),
                             f"Sizing: {demand.get('workload', '')}", text))
    return facts


def _resource(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return quantity(value) if isinstance(value, int | float) else str(value)


def _warnings(result: Mapping[str, Any]) -> list[FactDoc]:
    warnings = result.get("warnings") or []
    if not warnings and "warnings" in result:
        # "Which warnings should I worry about?" had been told there were no facts for it
        return [FactDoc("warnings-none", "Warnings", "The assessment gave no warnings.")]
    names = {str(w.get("name")) for w in
             (result.get("requirements") or {}).get("workloads") or []}
    return [FactDoc(_slug("warning", n), _warning_title(text, names), f"Warning: {text}")
            for n, text in enumerate(warnings, start=1)]


def _warning_title(text: str, workloads: set[str]) -> str:
    """"Warning on marketplace-db" where a warning opens with the workload it is about:
    titled "Warning" alone, "Why is the database so expensive?" had passed over the
    warning that its memory was assumed, for the other options' database lines."""
    subject = text.split(": ", 1)[0] if ": " in text else ""
    return f"Warning on {subject}" if subject in workloads else "Warning"


def _catalog(result: Mapping[str, Any]) -> list[FactDoc]:
    as_of = result.get("catalog_as_of")
    if not as_of:
        return []
    return [FactDoc("catalog", "Price catalog date",
                    f"Prices come from the dated catalog; how old they are: the oldest "
                    f"price date among the recommended lines is {as_of}.")]


# -- retrieval ------------------------------------------------------------------------------


def rank_facts(question: str, facts: Sequence[FactDoc], k: int,
               elsewhere: frozenset[str] = frozenset()) -> list[FactHit]:
    """The ``k`` facts that best match ``question``, best first: those holding more of
    its distinct terms first, then those whose title holds more of them (a fact named
    for what is asked: "Why did you pick this region?" had led with a review finding that
    says "region" often, over the recommendation), then the recommended option's before
    another option's (an id with a ``provider:region`` of ``elsewhere``), then by BM25
    score (over title and text), then in the facts' order. Facts that share no term with
    it are left out.

    Counting the terms first keeps a fact that matches the whole question ("cost" and
    "azure") above one that matches a rarer word of it alone ("cost" in a review). "Is
    Kubernetes necessary here?" had led with another option's shared lines."""
    query = list(dict.fromkeys(tokenize(question)))  # as the knowledge base does
    if not facts or not query or k <= 0:
        return []
    corpus = [tokenize(f"{f.title} {f.text}") for f in facts]
    scores = Okapi(corpus).scores(query)
    terms = set(query)
    matched = [len(terms.intersection(tokens)) for tokens in corpus]
    titled = [len(terms.intersection(tokenize(f.title))) for f in facts]
    if _WHY_QUESTION.match(question):
        # "why" is a stopword, yet a fact titled for the why answers it: "Why are we over
        # budget?" had led with the budget's figures, not what made them (2026-12-07)
        titled = [n + bool(_WHY_TITLE.search(f.title)) for n, f in zip(titled, facts,
                                                                       strict=True)]
    other = [any(f":{where}:" in f"{f.id}:" for where in elsewhere) for f in facts]
    # a budget lever names many parts in passing (the load balancer, a database, a cache):
    # unless the question is about saving, it comes after a fact as fully matched
    saving = bool(terms & SAVING_TERMS) or _WHAT_IF.match(question) is not None
    aside = ([f.id.startswith(LEVER_PREFIX) for f in facts] if not saving
             else [False] * len(facts))
    ranked = sorted((i for i in range(len(facts)) if matched[i] and scores[i] > 0),
                    key=lambda i: (-matched[i], aside[i], -titled[i], other[i], -scores[i],
                                   i))
    return [FactHit(facts[i], scores[i]) for i in ranked[:k]]


#: The ids of the budget levers' facts (``_budget``).
LEVER_PREFIX = "budget-lever"
#: A question's terms that ask how to spend less (as ``tokenize`` leaves them): "What does
#: the load balancer cost?" had led with the lever "machines behind the load balancer
#: instead of Kubernetes", "How do we back up the database?" with the lever to self-manage
#: it.
SAVING_TERMS = frozenset({"budget", "sav", "lower", "cheaper", "reduc", "lever", "afford",
                          "cut", "spend"})


#: "What if we drop high availability?": a change, which a lever prices.
_WHAT_IF = re.compile(r"(?i)^\s*what\s+if\b")


#: A question that asks why, and a fact's title that says why.
_WHY_QUESTION = re.compile(r"(?i)^\s*why\b")
_WHY_TITLE = re.compile(r"(?i)\bwhy\b")


#: Article tags that name a provider.
PROVIDER_TAGS = frozenset({"aws", "azure", "gcp"})
#: Frameworks as a question names them (the requirements' values, "soc2", "pci_dss").
FRAMEWORK_PATTERNS = (
    ("hipaa", re.compile(r"(?i)\bhipaa\b")),
    ("gdpr", re.compile(r"(?i)\bgdpr\b")),
    ("soc2", re.compile(r"(?i)\bsoc\s*-?\s*2\b")),
    ("pci_dss", re.compile(r"(?i)\bpci(\s*-?\s*dss)?\b")),
    ("iso27001", re.compile(r"(?i)\biso\s*-?\s*27001\b")),
    ("ccpa", re.compile(r"(?i)\bccpa\b")),
)
FRAMEWORK_TAGS = frozenset(key for key, _ in FRAMEWORK_PATTERNS)


def named_frameworks(question: str) -> list[str]:
    """The compliance frameworks a question names ("what if we need HIPAA?")."""
    return [key for key, pattern in FRAMEWORK_PATTERNS if pattern.search(question)]


def _off_topic(article_tags: Sequence[str], providers: set[str] | None,
               frameworks: set[str] | None) -> bool:
    """Whether an article is about providers (its provider tags) or a framework (its first
    tag) that the question cannot be about: none of them the assessment's or named."""
    about = PROVIDER_TAGS & set(article_tags)
    if providers is not None and about and not about & providers:
        return True
    return (frameworks is not None and bool(article_tags)
            and article_tags[0] in FRAMEWORK_TAGS and article_tags[0] not in frameworks)


def _named_providers(question: str) -> set[str]:
    """The providers a question names ("what would this cost on AWS?")."""
    words = set(tokenize(question))
    return {provider for token, provider in _PROVIDER_TOKENS.items() if token in words}


#: The search tokens that name a provider, as ``tokenize`` leaves them: "Azure" stems to
#: "azur", and "gcp" and "Google" fold onto "googl". Compared with the words themselves, a
#: question naming Azure or Google Cloud had named no provider.
_PROVIDER_TOKENS = {stem("aws"): "aws", stem("azure"): "azure", stem("google"): "gcp"}


def _providers_in_view(named: set[str], result: Mapping[str, Any] | None) -> set[str] | None:
    """The providers a question about ``result`` can be about: the result's options' and
    those the question names (``named``); None (any) without a result."""
    if not result:
        return None
    return {str(o.get("provider")) for o in result.get("options") or []} | named


def retrieve(question: str, result: Mapping[str, Any] | None, kb: KnowledgeBase,
             k_facts: int = 4, k_articles: int = 3) -> Retrieved:
    """The facts of ``result`` (none without one) and the articles of ``kb`` for
    ``question``. An article about other providers only (its provider tags, none of them
    the assessment's or named in the question) is left out: an Azure-only assessment's
    question on commitments was answered from the AWS Savings Plans article. So is one
    about a compliance framework the assessment does not ask for, unless the question
    names it: a SOC 2 startup's "What are the compliance gaps?" led with PCI DSS."""
    facts = fact_documents(result) if result else []
    named = _named_providers(question)
    in_view = _providers_in_view(named, result)
    stated = ((result or {}).get("requirements") or {}).get("compliance") or []
    frameworks = {*stated, *named_frameworks(question)} if result else None
    articles = [hit for hit in kb.search(question, k=k_articles * 4) if hit.score > 0
                and not _off_topic(hit.article.tags, in_view, frameworks)][:k_articles]
    rec = (result or {}).get("recommended") or {}
    elsewhere = frozenset(f"{o.get('provider')}:{o.get('region')}"
                          for o in (result or {}).get("options") or []
                          if (o.get("provider"), o.get("region"))
                          != (rec.get("provider"), rec.get("region"))
                          and o.get("provider") not in named)
    ranked = rank_facts(question, facts, k_facts, elsewhere)
    if _WHY.match(question) and rec and named == {rec.get("provider")}:
        ranked = _reasons_first(ranked, facts)
    elif rec and named - {rec.get("provider")} and (_WHY.match(question)
                                                    or _COMPARING.search(question)):
        ranked = _comparison_first(ranked, facts, named, result or {})
        # the options' own figures answer it: "Why not AWS?" had ended on the EKS article
        # for its one word "aws", on a design with no cluster
        articles = []
    return Retrieved(facts=ranked, articles=articles)


#: "Why AWS?", "Why did you go with Azure?": a why naming the recommended provider alone.
_WHY = re.compile(r"(?i)^\s*why\b(?!\s+not\b)")


#: A question weighing a named provider against the recommendation ("Why not Azure?",
#: "Why is AWS more expensive?", "GCP vs AWS?").
_COMPARING = re.compile(r"(?i)\b(why\s+not|vs\.?|versus|instead|rather\s+than|compared?|"
                        r"comparison|cheaper|dearer|costlier|pricier|(more|less)\s+expensive|"
                        r"how\s+much\s+more|differen\w*)(?!\w)")


def _comparison_first(ranked: list[FactHit], facts: Sequence[FactDoc], named: set[str],
                      result: Mapping[str, Any]) -> list[FactHit]:
    """For a question weighing named providers against the recommendation: where each
    named option that was not recommended differs from the recommended one, part by part,
    then the recommendation's reasons, then those options' facts, then the rest. "Why is
    AWS more expensive?" had led with AWS's shared lines."""
    rec = result.get("recommended") or {}
    others = [(o.get("provider"), o.get("region")) for o in result.get("options") or []
              if o.get("provider") in named
              and (o.get("provider"), o.get("region")) != (rec.get("provider"),
                                                           rec.get("region"))]
    return _lead_with(ranked, facts, [*(_slug("difference", *o) for o in others),
                                      "recommendation",
                                      *(_slug("option", *o) for o in others)])


def _lead_with(ranked: list[FactHit], facts: Sequence[FactDoc], ids: list[str]
               ) -> list[FactHit]:
    """``ranked`` with the facts of ``ids`` (those there are) first, in that order, as
    many hits as before (at least those)."""
    by_id = {f.id: f for f in facts}
    top = max((h.score for h in ranked), default=1.0)
    lead = [FactHit(by_id[i], top) for i in dict.fromkeys(ids) if i in by_id]
    chosen = {h.fact.id for h in lead}
    rest = [h for h in ranked if h.fact.id not in chosen]
    return [*lead, *rest][:max(len(ranked), len(lead))]


def _reasons_first(ranked: list[FactHit], facts: Sequence[FactDoc]) -> list[FactHit]:
    """The recommendation's reasons in the lead: "Why AWS?" had led with the AWS option's
    price, which says it is recommended but not why."""
    return _lead_with(ranked, facts, ["recommendation"])
