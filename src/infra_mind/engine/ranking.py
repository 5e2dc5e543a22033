"""Ranking the options, and the reasons for the recommendation, each true of the numbers.

The order (``rank_key``): fewest constraint violations, then fewest compliance gaps, then
the lowest *compared cost*: the monthly cost of the parts that every compared option
prices. A part the catalog cannot price in one option (its load balancer, say) is left out
of every option's compared cost, so a catalog hole can neither sink an option (ranking
"fully priced first" would let an unpriced NAT gateway beat a cheaper design) nor lift one
(ranking on the priced total would make the region with the most holes look cheapest).
A workload one of them designs self-managed where managed services were asked (no managed
size that fits is priced there) is left out the same way: a Redis on machines is not the
managed cache the others price, and comparing them rewarded the catalog's hole.
Nothing is estimated: the reasons say what was left out and, where it could change the
order, how much it would have to cost to do so.

Why gaps before cost: a gap is a control an auditor will flag, and some remediations have
a running cost the catalog cannot price (log retention sized by unstated volumes), so
"cost plus priced remediation" would favour the option whose gaps happen to be unpriced.
Counting gaps treats every option alike; the priced remediations are in each control.

Two exceptions to the order, each moving one option first:

- Nearer the users for a little more (``nearer_pick``): where the users are known, an
  option level with the first on violations, gaps and unpriced parts whose farthest users
  are at least ``NEARER_MS`` nearer is ranked first when it costs at most
  ``NEAR_TOLERANCE`` (or ``NEAR_TOLERANCE_USD`` a month, whichever allows more) above it
  and keeps within the budget where the first does; of several, the nearest. A UK craft
  shop went to Stockholm, 31 ms from its users, for $8.67 a month less than London; the
  US and EU marketplace example to Stockholm, 100 ms from its US users, where Azure
  Ireland (72 ms) cost 4.6% more on the compared parts. Both regions were "near" enough
  (``latency``), but no architect moves a business's data two countries away for that,
  and a few percent is within what usage will vary by anyway.
- The requirements' ``existing_provider`` is recommended (and ranked first) when its best
  option has as few violations and gaps as the first and a compared cost at most
  ``EXISTING_PROVIDER_TOLERANCE`` higher, since staying avoids a migration the comparison
  does not price. Staying wins over nearness: where the existing provider's option is
  first, another provider is not moved above it for being nearer.

The best region of each provider is chosen the same way, compared on the parts every one
of its regions prices (a region preferred to a cheaper one for nearness says so:
``Candidate.preferred_to``); the providers' best are then compared on the parts all of
them price. The reasons for the recommendation are written in ``reasons``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from infra_mind.engine.design import OptionDesign
from infra_mind.engine.facts import ArchitectureFacts
from infra_mind.engine.result import ControlResult

#: The existing provider is recommended when its best option costs at most this much
#: more than the first-ranked one: staying avoids a migration the comparison does not price.
EXISTING_PROVIDER_TOLERANCE = 0.10

RANKING_RULE = ("fewest constraint violations, then fewest compliance gaps, then lowest "
                "monthly cost of the parts every contending option prices, then fewest "
                "unpriced components")

#: An option whose farthest users are at least ``NEARER_MS`` nearer is preferred when it
#: costs at most ``NEAR_TOLERANCE`` of the first option's compared cost, or
#: ``NEAR_TOLERANCE_USD`` a month, more (whichever allows more). 10 ms is what a round trip
#: between neighbouring countries' regions differs by (London-Paris 11, Amsterdam-Frankfurt
#: 11 in ``engine.places``): less is the noise of the table, not a different place.
NEAR_TOLERANCE = 0.05
NEAR_TOLERANCE_USD = 10.0
NEARER_MS = 10
NEAR_RULE = (f"{NEAR_TOLERANCE:.0%} or ${NEAR_TOLERANCE_USD:,.0f} a month, whichever is "
             "more, allowed for a region nearer the users")

#: A slot is a part of a design that options can be compared on: (workload, part), where a
#: workload's part is its "storage" (database and block storage) or its "main" lines, and
#: the shared parts are named. ``ALL`` stands for every part (of a workload, or of all).
Slot = tuple[str, str]
ALL = "*"
SHARED = "(shared)"
_SHARED_PARTS = (("load balancer", re.compile(r"load balancer", re.I)),
                 ("CDN", re.compile(r"\bCDN\b", re.I)),
                 ("NAT gateway", re.compile(r"\bNAT\b", re.I)),
                 ("internet egress", re.compile(r"egress", re.I)),
                 ("Kubernetes control plane", re.compile(r"kubernetes", re.I)),
                 ("WAF", re.compile(r"\bWAF\b")),
                 ("customer-managed keys", re.compile(r"customer-managed keys")),
                 ("key requests", re.compile(r"\bkey requests\b")))
#: Where a piece's name ends in an unpriced text: its quantity or its place.
_PIECE = re.compile(r" \(| in (?:aws|azure|gcp) ")
_STORAGE = re.compile(r"\b(database|block|postgres|mysql) storage\b", re.I)


class Candidate:
    """One designed region with its facts, its gap count and (once kept) its controls."""

    def __init__(self, design: OptionDesign, facts: ArchitectureFacts, gaps: int,
                 controls: list[ControlResult] | None = None,
                 user_rtt_ms: float | None = None, rtt_by_share: bool = False) -> None:
        self.design = design
        self.facts = facts
        self.gaps = gaps
        self.controls = controls or []
        #: the users' round trip (``latency.Choice.rtt_ms``): from the farthest place, or
        #: ``rtt_by_share``, the mean over the users weighed by their shares
        self.user_rtt_ms = user_rtt_ms
        self.rtt_by_share = rtt_by_share
        #: the cost ranked on, set by ``compare`` (the total until then)
        self.compared = design.monthly_usd
        #: the cheaper region of the same provider this one was preferred to for being
        #: nearer the users (``best_per_provider``), as it was compared then
        self.preferred_to: PreferredTo | None = None

    @property
    def cost(self) -> float:
        return self.design.monthly_usd

    @property
    def violations(self) -> int:
        return len(self.design.violations)

    @property
    def where(self) -> str:
        return f"{self.design.provider} {self.design.region.code}"

    def rank_key(self) -> tuple:
        """Violations, gaps, compared cost; on a tie (the comparison cannot tell them
        apart) the one with fewer unpriced components, then the one nearer the users (a
        static site's origin costs the same to the cent in Montréal and Virginia: users in
        the US get Virginia); provider and region only to make the order deterministic."""
        nearness = self.user_rtt_ms if self.user_rtt_ms is not None else float("inf")
        return (self.violations, self.gaps, self.compared, len(self.design.unpriced),
                nearness, self.design.provider, self.design.region.code)


@dataclass(frozen=True)
class PreferredTo:
    """The cheaper region an option was preferred to for nearness, with the figures of
    that comparison: its compared cost, the chosen one's, and its users' round trip."""

    region_code: str
    city: str
    compared: float
    chosen_compared: float
    user_rtt_ms: float

    @property
    def more_usd(self) -> float:
        return round(self.chosen_compared - self.compared, 2)


def near_allowance(cheapest: Candidate) -> float:
    """How much more than ``cheapest`` a nearer option may cost and still be preferred."""
    return max(cheapest.compared * NEAR_TOLERANCE, NEAR_TOLERANCE_USD)


def nearer_pick(ordered: list[Candidate], budget: float | None = None) -> Candidate | None:
    """The option to rank first instead of ``ordered[0]`` for being nearer the users (the
    module docstring), or None. Only options level with the first on violations and gaps,
    and leaving no more parts unpriced than any option cheaper than them, are considered
    (a nearer option that prices less is not comparable on its total). Where the first is
    within the monthly ``budget``, an option over it is not: nearness is worth a few
    percent, not a budget overrun."""
    top = ordered[0]
    if top.user_rtt_ms is None:
        return None
    cap = budget if budget is not None and round(top.cost, 2) <= budget else math.inf
    level = [c for c in ordered if (c.violations, c.gaps) == (top.violations, top.gaps)]
    allowed = round(near_allowance(top), 2)
    near = []
    for i, c in enumerate(level[1:], start=1):
        if (c.user_rtt_ms is not None and c.user_rtt_ms <= top.user_rtt_ms - NEARER_MS
                and round(c.compared - top.compared, 2) <= allowed
                and round(c.cost, 2) <= cap
                and all(len(c.design.unpriced) <= len(b.design.unpriced)
                        for b in level[:i])):
            near.append(c)
    return min(near, key=lambda c: (c.user_rtt_ms, c.rank_key()), default=None)


# -- the compared cost ----------------------------------------------------------------


def _shared_part(text: str) -> str | None:
    return next((name for name, pattern in _SHARED_PARTS if pattern.search(text)), None)


def line_slots(workload: str, component: str) -> set[Slot]:
    """The slots a priced line belongs to: a shared line to its part (all load-balancer
    lines are "load balancer") and to its own name (a part of a part: "CDN cache fill")."""
    if workload == SHARED:
        return {(SHARED, _shared_part(component) or component), (SHARED, component)}
    return {(workload, "storage" if _STORAGE.search(component) else "main")}


def unpriced_slot(text: str, workloads: Iterable[str], priced: Iterable[str] = ()) -> Slot:
    """The slot an unpriced component leaves empty (``design.unpriced`` writes
    "workload: what (quantity) in provider region"); a text it cannot place empties every
    slot.

    A shared text empties its whole part (an unpriced load balancer has no capacity lines
    either), unless the same design prices other lines of that part (``priced``: its
    shared line names): then only this piece is missing (the CDN's cache fill, say), and
    it is the slot of the line of that name."""
    names = sorted({*workloads, SHARED}, key=len, reverse=True)
    workload = next((w for w in names if text.startswith(f"{w}: ")), None)
    if workload is None:
        return ALL, ALL
    what = text[len(workload) + 2:]
    if workload == SHARED:
        part = _shared_part(what)
        if part is None:
            return SHARED, ALL
        if any(_shared_part(c) == part for c in priced):
            return SHARED, _PIECE.split(what, 1)[0]
        return SHARED, part
    return workload, "storage" if _STORAGE.search(what) else ALL


def _left_out(slots: set[Slot], missing: set[Slot]) -> bool:
    return any({slot, (slot[0], ALL), (ALL, ALL)} & missing for slot in slots)


def compare(candidates: list[Candidate], workloads: Iterable[str]) -> set[Slot]:
    """Set each candidate's compared cost: its lines outside the slots some contender
    cannot price. The contenders are the candidates with the fewest violations and, among
    them, the fewest gaps: the others rank after them whatever they cost, so their holes
    do not narrow the comparison. Returns the slots left out."""
    names = list(workloads)
    best = min((c.violations, c.gaps) for c in candidates)
    basis = [c for c in candidates if (c.violations, c.gaps) == best]
    missing = {unpriced_slot(u, names, [pl.item.component for pl in c.design.lines
                                        if pl.item.workload == SHARED])
               for c in basis for u in c.design.unpriced}
    # a workload one contender designs self-managed where managed services were asked is
    # not the same part as the others' managed service: none of them is compared on it
    missing |= {(w, ALL) for c in basis for w in c.design.not_as_asked}
    for c in candidates:
        c.compared = round(sum(pl.item.monthly_usd for pl in c.design.lines
                               if not _left_out(line_slots(pl.item.workload,
                                                           pl.item.component), missing)), 2)
    return missing


def slot_names(missing: set[Slot], self_managed: Iterable[str] = ()) -> list[str]:
    """The slots left out, in words, sorted; ``self_managed`` names the workloads a
    contender designs self-managed where managed services were asked."""
    fallback = set(self_managed)
    out = []
    for workload, part in sorted(missing):
        if workload == ALL:
            out.append("every part")
        elif part == ALL and workload in fallback:
            out.append(f"{workload} (self-managed where no managed size is priced)")
        elif part == ALL:
            out.append(f"{workload} (all of it)")
        elif workload == SHARED:
            out.append(part)
        else:
            out.append(f"{workload} {part}" if part != "main" else workload)
    return out


@dataclass
class Ranking:
    """The options in rank order, whether the existing provider was moved first, and what
    the compared cost leaves out."""

    ranked: list[Candidate]
    #: the existing provider was moved first
    promoted: bool
    left_out: list[str]
    #: the option that ranks first by the order, where one nearer the users was moved
    #: above it (``nearer_pick``)
    passed_over: Candidate | None = None

    @property
    def nearer(self) -> bool:
        """Whether the first option was moved first for being nearer the users."""
        return self.passed_over is not None


def best_per_provider(candidates: list[Candidate], workloads: Iterable[str],
                      prefer_near: bool = True, budget: float | None = None
                      ) -> list[Candidate]:
    """The best region of each provider, each compared with the provider's other regions;
    a region preferred to a cheaper one for nearness records which (``preferred_to``).
    ``prefer_near`` False (the users' places do not apply: ``latency.Choice.applies``):
    no option is preferred for nearness; ``budget``: the monthly budget, which a nearer
    option may not pass where the cheaper one keeps within it (``nearer_pick``)."""
    names = list(workloads)
    by_provider: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_provider.setdefault(c.design.provider, []).append(c)
    best = []
    for group in by_provider.values():
        compare(group, names)
        ordered = sorted(group, key=Candidate.rank_key)
        top = ordered[0]
        near = nearer_pick(ordered, budget) if prefer_near else None
        if near is not None and top.user_rtt_ms is not None:
            near.preferred_to = PreferredTo(top.design.region.code, top.design.region.city,
                                            top.compared, near.compared, top.user_rtt_ms)
        best.append(near or top)
    return best


def rank(best: list[Candidate], existing: str | None, workloads: Iterable[str],
         prefer_near: bool = True, budget: float | None = None) -> Ranking:
    """The providers' best options compared with one another and put in rank order
    (``prefer_near`` and ``budget`` as in ``best_per_provider``)."""
    missing = compare(best, workloads)
    left_out = slot_names(missing, [w for c in best for w in c.design.not_as_asked])
    ordered = sorted(best, key=Candidate.rank_key)
    top = ordered[0]
    mine = next((c for c in ordered if c.design.provider == existing), None)
    if (mine is not None and mine is not top
            and (mine.violations, mine.gaps) == (top.violations, top.gaps)
            and mine.compared <= top.compared * (1 + EXISTING_PROVIDER_TOLERANCE)):
        return Ranking([mine, *[c for c in ordered if c is not mine]], True, left_out)
    near = nearer_pick(ordered, budget) if prefer_near and top is not mine else None
    if near is not None:
        return Ranking([near, *[c for c in ordered if c is not near]], False, left_out,
                       passed_over=top)
    return Ranking(ordered, False, left_out)
