"""What-ifs asked in the chat: "what if traffic doubles?" is answered from the engine.

A question that changes the assessment's traffic by a stated factor ("doubles", "3x",
"grows 50%", "halves"), its availability target ("what if we need 99.99%?"), where the
data is kept ("what if the data must stay in Germany?"), one place's share of the users
("what if 60% of our users were in the EU?") or its compliance frameworks
("what if we need HIPAA?", "without SOC 2") is a what-if the
stored result cannot answer: "What if traffic doubles?" got the Multi-AZ article and the
projection. ``asked_what_if`` reads the change from the question; the chat service runs
the same what-if as ``POST /assessments/{id}/what-if`` (the engine, in an engine process;
nothing saved), and ``what_if_fact`` writes the outcome as the fact the answer leads
with. Every figure in it comes from the two results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra_mind.chat.answer import CONCEPTUAL
from infra_mind.chat.grounding import (
    FactDoc,
    framework_name,
    named_frameworks,
    provider_name,
)
from infra_mind.engine.money import usd, usd_change
from infra_mind.engine.places import COUNTRIES, place_name
from infra_mind.engine.requirements import RESIDENCY_PLACES, USER_PLACES

#: The what-if's own bounds (``api.schemas.assessments.WhatIf.traffic_multiplier``).
MIN_MULTIPLIER = 0.1
MAX_MULTIPLIER = 100.0
#: Line items named as the largest changes, at most.
LARGEST_CHANGES = 3

#: The question is about load: one of these words must be in it ("grows" alone is not:
#: "what if the database grows 50%?" asks about data, which the factor does not scale).
_LOAD = re.compile(r"(?i)\b(traffic|load|users?|requests?|rps|usage|demand|visitors?|"
                   r"customers?|players?|tokens?)\b")
_WORDS = (
    (re.compile(r"(?i)\b(double[sd]?|doubling|twice)\b"), 2.0),
    (re.compile(r"(?i)\b(triple[sd]?|tripling|three times)\b"), 3.0),
    (re.compile(r"(?i)\b(quadruple[sd]?|quadrupling|four times)\b"), 4.0),
    (re.compile(r"(?i)\b(halve[sd]?|halving|half)\b"), 0.5),
)
_TIMES = re.compile(r"(?i)(?<![\w.])(\d+(?:\.\d+)?)\s*(?:x|×|times)(?!\w)"
                    r"|(?<!\w)[x×]\s*(\d+(?:\.\d+)?)\b")
_UP = re.compile(r"(?i)\b(?:grows?|grew|increases?|rises?|goes up|up|more)\s+(?:by\s+)?"
                 r"(\d+(?:\.\d+)?)\s*%|(\d+(?:\.\d+)?)\s*%\s+(?:more|higher|increase|growth)")
_DOWN = re.compile(r"(?i)\b(?:drops?|falls?|decreases?|shrinks?|goes down|down|less)\s+"
                   r"(?:by\s+)?(\d+(?:\.\d+)?)\s*%|(\d+(?:\.\d+)?)\s*%\s+(?:less|lower|fewer|drop)")


@dataclass(frozen=True)
class AskedWhatIf:
    """A change a question asks for: the what-if's fields, and the change in words."""

    changes: dict[str, Any]
    label: str  # "traffic x2", "availability 99.99%", "HIPAA added"
    scope: str  # what the engine changed, for the answer


#: Availability targets the requirements take, as written in a question.
_TARGETS = {"99": 99.0, "99.0": 99.0, "99.5": 99.5, "99.9": 99.9, "99.95": 99.95,
            "99.99": 99.99}
_AVAILABILITY = re.compile(r"(?i)\b(availability|available|uptime|sla|nines)\b")
_TARGET = re.compile(r"(?<![\d.])(99(?:\.\d+)?)\s*%")
_COST = re.compile(r"(?i)\b(cost|costs|price|priced|how much|spend)\b")
_DROP = re.compile(r"(?i)\b(without|drop|dropp(ed|ing)|remove[ds]?|no longer|skip|stop)\b")
_ADD = re.compile(r"(?i)\b(need|needs|needed|add|adds|added|adding|require[ds]?|must|"
                  r"comply|compliant|become|get|with)\b")


def asked_what_if(question: str, requirements: Mapping[str, Any]) -> AskedWhatIf | None:
    """The change ``question`` asks of ``requirements`` (the stored result's), or None:
    a traffic factor first, then an availability target, then a framework added or
    dropped (a question on what a stated framework costs drops it: the difference is its
    cost); a change to what the requirements already say is none."""
    if CONCEPTUAL.match(question.strip()):  # "what is 99.99% availability?": the article's
        return None
    if (shares := user_shares(question, requirements)) is not None:
        place, share = shares[0], shares[1][shares[0]]
        return AskedWhatIf({"user_shares": shares[1]},
                           f"{share:g}% of the users in {place_name(place)}",
                           "the users' shares changed, the other places keeping their "
                           "proportions")
    if (factor := traffic_multiplier(question)) is not None:
        return AskedWhatIf({"traffic_multiplier": factor}, f"traffic x{factor:g}",
                           "request rates, token rates and egress scaled; storage as it is")
    if _AVAILABILITY.search(question) and (match := _TARGET.search(question)):
        target = _TARGETS.get(match.group(1))
        if target is not None and target != requirements.get("availability_target"):
            return AskedWhatIf({"availability_target": target},
                               f"availability {target:g}%", "the availability target changed")
    if (place := _residency(question)) is not None \
            and [place] != list(requirements.get("data_residency") or []):
        return AskedWhatIf({"data_residency": [place]},
                           f"data kept in {place_name(place)}",
                           "only regions there designed")
    named = named_frameworks(question)
    if len(named) == 1:
        (framework,) = named
        current = list(requirements.get("compliance") or [])
        # "what does SOC 2 cost us?": the design without it, the difference its cost
        if framework in current and (_DROP.search(question) or _COST.search(question)):
            return AskedWhatIf({"compliance": [f for f in current if f != framework]},
                               f"{framework_name(framework)} dropped",
                               "the framework's controls no longer asked for")
        if _ADD.search(question) and not _DROP.search(question) and framework not in current:
            return AskedWhatIf({"compliance": [*current, framework]},
                               f"{framework_name(framework)} added",
                               "the framework's controls designed in where the catalog "
                               "prices them")
    return None


#: "What if the data must stay in Germany?": a residency verb, then "in" a place.
_KEPT = re.compile(r"(?i)\b(stays?|kept|keep|stored?|remains?|resides?|residency|hosted|host)"
                   r"\b.*?\bin\s+(?:the\s+)?([a-z][a-z .]*[a-z])")
#: Residency places by the names a question uses (the requirements' codes: groups in lower
#: case, countries in upper case).
_PLACE_NAMES = {
    **{c.name.lower(): code for code, c in COUNTRIES.items() if code in RESIDENCY_PLACES},
    **{code.lower(): code for code in RESIDENCY_PLACES if code.isupper()},
    "eu": "eu", "european union": "eu", "europe": "eu", "us": "us", "usa": "us",
    "united states": "us", "america": "us", "canada": "ca", "uk": "uk",
    "united kingdom": "uk", "britain": "uk", "great britain": "uk", "apac": "apac",
    "asia pacific": "apac", "asia-pacific": "apac", "south america": "sa",
}

#: "What if 60% of our users were in the EU?": a percent of the users, then "in" a place.
_SHARE = re.compile(r"(?i)(?<![\d.])(\d+(?:\.\d+)?)\s*%\s+of\s+(?:our\s+|the\s+|all\s+)?"
                    r"(?:users|customers|players|visitors|traffic)\b.*?\b(?:in|from)\s+"
                    r"(?:the\s+)?([a-z][a-z .]*[a-z])")
#: User places by the names a question uses.
_USER_PLACE_NAMES = {
    **{c.name.lower(): code for code, c in COUNTRIES.items() if code in USER_PLACES},
    **{code.lower(): code for code in USER_PLACES if code.isupper()},
    **{name: code for name, code in _PLACE_NAMES.items() if code in USER_PLACES},
}


def user_shares(question: str, requirements: Mapping[str, Any]
                ) -> tuple[str, dict[str, float]] | None:
    """The place ``question`` gives a share of the users, with the shares it makes (the
    other places of ``requirements`` keep their proportions, equal where none are
    stated), or None: no such question, a place not among the users, or one place only."""
    match = _SHARE.search(question)
    users = list(requirements.get("users") or [])
    if match is None or len(users) < 2:
        return None
    share = float(match.group(1))
    place = _named_place(match.group(2), _USER_PLACE_NAMES)
    if place not in users or not 0 < share < 100:
        return None
    stored = requirements.get("user_shares") or {}
    others = [p for p in users if p != place]
    weights = {p: float(stored.get(p, 1.0)) if stored else 1.0 for p in others}
    total = sum(weights.values())
    out = {p: round((100 - share) * w / total, 2) for p, w in weights.items()}
    # the rounding kept from the total: the last place takes it (they add up to 100)
    out[others[-1]] = round(100 - share - sum(v for p, v in out.items() if p != others[-1]), 2)
    shares = {p: (share if p == place else out[p]) for p in users}
    if shares == {p: float(v) for p, v in stored.items()}:
        return None
    return place, shares


def _residency(question: str) -> str | None:
    """The one place ``question`` asks the data to be kept in, or None."""
    match = _KEPT.search(question)
    return None if match is None else _named_place(match.group(2), _PLACE_NAMES)


def _named_place(text: str, names: Mapping[str, str]) -> str | None:
    """The place the longest run of words from the start of ``text`` names ("germany
    only" -> DE), by ``names``; None where none does."""
    words = text.lower().split()
    for n in range(len(words), 0, -1):
        if (place := names.get(" ".join(words[:n]).rstrip("."))) is not None:
            return place
    return None


def traffic_multiplier(question: str) -> float | None:
    """The factor by which ``question`` asks traffic to change, or None where it asks no
    such thing (or a factor outside the what-if's bounds)."""
    if not _LOAD.search(question):
        return None
    factor: float | None = None
    if match := _TIMES.search(question):
        factor = float(match.group(1) or match.group(2))
    elif match := _UP.search(question):
        factor = 1 + float(match.group(1) or match.group(2)) / 100
    elif match := _DOWN.search(question):
        factor = 1 - float(match.group(1) or match.group(2)) / 100
    else:
        factor = next((f for pattern, f in _WORDS if pattern.search(question)), None)
    if factor is None or not MIN_MULTIPLIER <= factor <= MAX_MULTIPLIER or factor == 1:
        return None
    return round(factor, 4)


def what_if_fact(asked: AskedWhatIf, before: Mapping[str, Any], after: Mapping[str, Any]
                 ) -> FactDoc:
    """The what-if's outcome as a fact: the recommendation before and after, and the line
    items of the recommended option that changed most (where it stayed in one place)."""
    now, then = before.get("recommended"), after.get("recommended")
    text = (f"What-if computed by the engine now, nothing saved: {asked.label} "
            f"({asked.scope}).")
    if then is None:
        text += " No option meets the requirements with that change."
    else:
        where = f"{provider_name(then['provider'])} {then['region']}"
        text += (f" The recommended option would be {where} at "
                 f"{usd(then['monthly_cost_usd'])} a month")
        if now is not None:
            delta = float(then["monthly_cost_usd"]) - float(now["monthly_cost_usd"])
            moved = (now["provider"], now["region"]) != (then["provider"], then["region"])
            text += (f", against {usd(now['monthly_cost_usd'])} now "
                     f"({usd_change(delta, 'more', 'less', 'the same')})"
                     + (f"; it moves from {provider_name(now['provider'])} {now['region']}"
                        if moved else "") + ".")
            if not moved:
                text += _largest_changes(_option(before, now), _option(after, then))
        else:
            text += "."
        gaps = _option(after, then).get("compliance_gaps")
        if "compliance" in asked.changes and gaps is not None:
            text += f" Compliance gaps then: {gaps}."
    budget = (after.get("budget") or {}).get("monthly_budget_usd")
    if then is not None and budget is not None:
        over = float(then["monthly_cost_usd"]) - float(budget)
        text += (f" Against the budget of {usd(budget)}: "
                 f"{usd_change(over, 'over', 'under', 'exactly on it')}.")
    key = ":".join(f"{name}={_key(value)}" for name, value in sorted(asked.changes.items()))
    return FactDoc(f"what-if:{key}", f"What-if: {asked.label}", text)


def _key(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):  # the users' shares: "us:24.62,eu:60,..."
        return ",".join(f"{k}:{_key(v)}" for k, v in value.items()) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _option(result: Mapping[str, Any], chosen: Mapping[str, Any]) -> Mapping[str, Any]:
    return next((o for o in result.get("options") or []
                 if (o.get("provider"), o.get("region"))
                 == (chosen.get("provider"), chosen.get("region"))), {})


def _largest_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """" The largest changes: ..." for the line items whose monthly cost moved most."""
    def totals(option: Mapping[str, Any]) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        for li in option.get("line_items") or []:
            key = (li["workload"], li["component"])
            out[key] = out.get(key, 0.0) + float(li["monthly_usd"])
        return out

    old, new = totals(before), totals(after)
    moves = sorted(((new.get(k, 0.0) - old.get(k, 0.0), k) for k in old.keys() | new.keys()),
                   key=lambda m: (-abs(m[0]), m[1]))
    named = [f"{workload} {component} {usd_change(delta, 'more', 'less', '')}"
             for delta, (workload, component) in moves[:LARGEST_CHANGES]
             if round(abs(delta), 2) >= 0.01]
    return f" The largest changes: {'; '.join(named)}." if named else ""
