"""What-ifs asked in the chat: "what if traffic doubles?" is answered from the engine.

A question about the assessment's traffic changing by a stated factor ("doubles", "3x",
"grows 50%", "halves") is a what-if the stored result cannot answer: the retrieval found
the Multi-AZ article and the projection. ``traffic_multiplier`` reads the factor from the
question; the chat service runs the same what-if as ``POST /assessments/{id}/what-if``
(the engine, in an engine process; nothing saved), and ``what_if_fact`` writes the
outcome as the fact the answer leads with. Every figure in it comes from the two results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from infra_mind.chat.grounding import FactDoc, provider_name
from infra_mind.engine.money import usd, usd_change

#: The what-if's own bounds (``api.schemas.assessments.WhatIf.traffic_multiplier``).
MIN_MULTIPLIER = 0.1
MAX_MULTIPLIER = 100.0
#: Line items named as the largest changes, at most.
LARGEST_CHANGES = 3

#: The question is about load: one of these words must be in it.
_LOAD = re.compile(r"(?i)\b(traffic|load|users?|requests?|rps|usage|demand|visitors?|"
                   r"customers?|volume|players?|tokens?|sessions?|scale[sd]?|grows?|"
                   r"growth)\b")
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


def what_if_fact(multiplier: float, before: Mapping[str, Any], after: Mapping[str, Any]
                 ) -> FactDoc:
    """The what-if's outcome as a fact: the recommendation before and after, and the line
    items of the recommended option that changed most (where it stayed in one place)."""
    times = f"x{multiplier:g}"
    now, then = before.get("recommended"), after.get("recommended")
    text = (f"What-if computed by the engine now, nothing saved: traffic {times} (request "
            "rates, token rates and egress scaled; storage as it is).")
    if then is None:
        text += " No option meets the requirements with that traffic."
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
    budget = (after.get("budget") or {}).get("monthly_budget_usd")
    if then is not None and budget is not None:
        over = float(then["monthly_cost_usd"]) - float(budget)
        text += (f" Against the budget of {usd(budget)}: "
                 f"{usd_change(over, 'over', 'under', 'exactly on it')}.")
    return FactDoc(f"what-if:traffic:{multiplier:g}", f"What-if: traffic {times}", text)


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
