"""Money in words: the one way every figure in dollars is written.

Engine text (reasons, warnings, review findings, line-item notes), reports, the offline
writer and the chat all write money through these functions, so a reader sees one form:
``$1,693.97``. A sign is never written in front of an amount: a difference says which
way it goes in words (``$988.49 under budget``, ``$46.38 more``), because "-$5.00",
"$-5.00" and "within (difference -988.49)" each read differently to different people.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra_mind.engine.result import Budget, BudgetLever


def usd(amount: float) -> str:
    """``$1,234.56``: an amount (a price, a total), rounded to the cent.

    A negative amount is a difference written the wrong way: use ``usd_change``.
    """
    if not math.isfinite(amount):
        raise ValueError(f"not an amount of money: {amount!r}")
    if amount < 0 and round(amount, 2) != 0:
        raise ValueError(f"a negative amount ({amount!r}) is a difference: use usd_change")
    return f"${abs(amount):,.2f}"


def unit_price(amount: float) -> str:
    """A unit price with the decimals it was published with, at least two: ``$0.0225``,
    ``$0.10``, ``$1,234.5678``."""
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"not a unit price: {amount!r}")
    text = f"{amount:,.10f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def qty(amount: float, digits: int = 6) -> str:
    """A quantity (GB, requests) as a reader writes it, to ``digits`` significant digits
    and whole from there up: ``120,300``, ``2,000,000``, ``0.25``; never ``1.2e+06``, as
    ``:g`` wrote 1.2 million GB of backups (and ``:,.4g`` 120,300 GB as 1.203e+05)."""
    if not math.isfinite(amount):
        raise ValueError(f"not a quantity: {amount!r}")
    if amount == 0:
        return "0"
    places = max(0, digits - 1 - math.floor(math.log10(abs(amount))))
    text = f"{round(amount, places):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


#: Marks a price derived from list prices by a stated rule (the catalog's ``basis:
#: derived``), wherever a table shows it; the rule itself is in the line's note.
DERIVED_MARK = "≈"


def marked_unit_price(amount: float, basis: str) -> str:
    """``unit_price``, with ``≈`` in front of a derived price: ``≈$0.047813``."""
    return (DERIVED_MARK if basis == "derived" else "") + unit_price(amount)


def usd_change(delta: float, more: str = "more", less: str = "less",
               same: str = "the same") -> str:
    """A signed difference in words: ``$46.38 more``, ``$231.42 less`` or ``the same``
    (below half a cent). The words fit the sentence: ``usd_change(gap, "over budget",
    "under budget", "exactly on budget")``."""
    if not math.isfinite(delta):
        raise ValueError(f"not a difference of money: {delta!r}")
    cents = round(delta, 2)
    if cents == 0:
        return same
    return f"{usd(abs(cents))} {more if cents > 0 else less}"


def budget_position(cost_usd: float, budget_usd: float) -> str:
    """``$988.49 under budget``, ``$12.00 over budget`` or ``exactly on budget``."""
    return usd_change(cost_usd - budget_usd, "over budget", "under budget",
                      "exactly on budget")


def outlook(month: int | None, horizon: int) -> str:
    """``over_budget_from_month`` in words: "over budget now", "over budget from month 11",
    "within budget for 12 months"."""
    if month is None:
        return f"within budget for {horizon} month{'' if horizon == 1 else 's'}"
    return "over budget now" if month == 1 else f"over budget from month {month}"


def together_note(levers: Sequence[BudgetLever]) -> str:
    """Which levers "all of them at once" leaves out, where two set the same setting:
    " (not a 1-year commitment on ...)", or ""."""
    left = [lv.change for lv in levers if not lv.together]
    return f" (not {', '.join(left)})" if left else ""


def all_at_once(budget: Budget, horizon: int) -> str:
    """The levers together, to follow "All of them at once": " (not ...): $278.14 a
    month, over budget from month 2"; "" where they were not priced together."""
    if budget.levers_together_usd is None:
        return ""
    return (f"{together_note(budget.levers)}: {usd(budget.levers_together_usd)} a month, "
            f"{outlook(budget.levers_together_over_budget_from_month, horizon)}")


def within_budget_by(fitting: Sequence[tuple[str, float]], together_usd: float | None,
                     budget_usd: float) -> str:
    """What brings an option over budget within it, in one sentence: the changes that do
    alone, as (change, monthly cost), or else what all the levers at once cost; "" where
    no lever was priced together and none fits alone."""
    if fitting:
        return ("Within budget with one change: "
                + "; ".join(f"{change} ({usd(cost)} a month)" for change, cost in fitting)
                + ".")
    if together_usd is None:
        return ""
    return ("No single change brings it within budget; all the budget levers at once cost "
            f"{usd(together_usd)} a month, "
            + ("within it." if together_usd <= budget_usd else "still over it."))


def lever_line(lever: BudgetLever, horizon: int) -> str:
    """A budget lever in one line: "<change>: $428.87 a month ($143.73 less, over budget
    now, 1 more compliance gap); gives up: <what>"."""
    gaps = lever.compliance_gaps_added
    more = (f", {gaps} more compliance gap{'' if gaps == 1 else 's'}" if gaps else "")
    return (f"{lever.change}: {usd(lever.monthly_cost_usd)} a month ({usd(lever.saving_usd)} "
            f"less, {outlook(lever.over_budget_from_month, horizon)}{more}); gives up: "
            f"{lever.gives_up}")


def per_month(amount: float) -> str:
    """``$1,234.56 a month``."""
    return f"{usd(amount)} a month"


def listing(items: Sequence[str]) -> str:
    """["a", "b", "c"] -> "a, b and c": the one way engine prose lists things."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


#: A budget's words name the largest parts of the cost (or of its rise) until they make up
#: this share of it, at most ``MAX_PARTS`` of them.
PARTS_SHARE = 2 / 3
MAX_PARTS = 3


def largest_parts(parts: Sequence[tuple[str, float]], total: float) -> str:
    """"the largest part is CDN data transfer ($662.31, 92.6%)": the largest of ``parts``
    (name, amount), until they make up ``PARTS_SHARE`` of ``total``; empty if none is
    positive."""
    named: list[str] = []
    covered = 0.0
    for name, amount in sorted(parts, key=lambda p: -p[1]):
        if amount <= 0 or len(named) == MAX_PARTS or covered >= PARTS_SHARE * total:
            break
        named.append(f"{name} ({usd(amount)}, {amount / total:.1%})")
        covered += amount
    return (f"the largest part{' is' if len(named) == 1 else 's are'} {listing(named)}"
            if named else "")


def rise_text(parts: Sequence[tuple[str, float, float]], month: int, path: str = "") -> str:
    """" Of the $715.49 a month it rises by month 4, the largest part is ...": what grows
    the cost up to ``month``, from each component's (name, month 1, ``month``) cost
    (``Budget.parts``); empty where nothing rises."""
    rises = [(name, later - now) for name, now, later in parts]
    rise = sum(r for _, r in rises)
    if rise <= 0:
        return ""
    return (f" Of the {usd(rise)} a month it rises by month {month}{path}, "
            f"{largest_parts(rises, rise)}.")


def passing_text(over_month: int | None, parts_month: int | None,
                 parts: Sequence[tuple[str, float, float]]) -> str:
    """" With the stated growth the projected cost passes the budget in month 4. Of the
    ...": when and why the budget is passed, now or with growth, from ``Budget``'s
    over_budget_from_month, parts_month and parts (as (name, month 1, parts_month));
    empty where it is not."""
    if not parts_month or not parts:
        return ""
    if over_month == 1:
        largest = largest_parts([(name, now) for name, now, _ in parts],
                                sum(now for _, now, _ in parts))
        return f" Where the money goes: {largest}." if largest else ""
    if over_month:
        return (f" With the stated growth the projected cost passes the budget in month "
                f"{over_month}." + rise_text(parts, over_month))
    return (f" On the stated growth the cost stays within the budget; at the projection's "
            f"P90 (faster growth) it passes it in month {parts_month}."
            + rise_text(parts, parts_month, " on the stated growth"))
