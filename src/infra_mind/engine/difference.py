"""Where an option's cost differs from the recommended one's, part by part.

"AWS costs $1,268.65 more a month" leaves a CTO asking where: the database, the CDN, the
NAT gateways? The parts compared are those an architect compares across providers: each
workload with all its lines (its machines, storage and backups), and the shared lines
grouped by what they do, whatever each provider calls them (AWS's "NAT gateways" and
Google's "Cloud NAT (per VM)" are both the NAT; CloudFront's transfer and requests and
Cloud CDN's cache fill are all the CDN). The differences sum to the options' difference
in total, so the largest of them say where it comes from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from infra_mind.engine.money import usd_change
from infra_mind.engine.result import Alternative, CostDifference, LineItem

#: The workload of lines no single workload owns (load balancer, CDN, NAT, egress).
SHARED = "(shared)"
#: Shared lines grouped by what they do, first match: (part, component pattern).
SHARED_PARTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("CDN", re.compile(r"^CDN\b")),
    ("NAT", re.compile(r"\bNAT\b")),
    ("WAF", re.compile(r"^WAF\b")),
    ("load balancer", re.compile(r"^load balancer\b")),
    ("log archive", re.compile(r"^log archive\b")),
    ("Kubernetes control plane", re.compile(r"Kubernetes control plane")),
    ("internet egress", re.compile(r"^internet egress\b")),
)
#: Where either side's WAF is itself the load balancer (Azure's Application Gateway in
#: place of the layer-4 one), the two are one part: else Azure read as having no load
#: balancer and AWS as paying for it twice.
GATEWAY = "load balancer and WAF"
#: Differences written out in words (the rest are in ``Alternative.differences``).
IN_WORDS = 3
#: Differences kept in ``Alternative.differences``, largest first.
KEPT = 8


def part_of(item: LineItem, gateway: bool = False) -> str:
    """The part a line belongs to: its workload, or for a shared line what it does
    (``gateway``: the load balancer and the WAF as one, ``GATEWAY``)."""
    if item.workload != SHARED:
        return item.workload
    return _shared_part(item.component, gateway) or item.component


def _shared_part(text: str, gateway: bool) -> str | None:
    part = next((part for part, pattern in SHARED_PARTS if pattern.search(text)), None)
    return GATEWAY if gateway and part in ("load balancer", "WAF") else part


def _sums(items: Iterable[LineItem], gateway: bool) -> dict[str, tuple[float, LineItem]]:
    """Per part: the monthly sum and its dearest line."""
    total: dict[str, float] = defaultdict(float)
    dearest: dict[str, LineItem] = {}
    for item in items:
        part = part_of(item, gateway)
        total[part] += item.monthly_usd
        if part not in dearest or item.monthly_usd > dearest[part].monthly_usd:
            dearest[part] = item
    return {part: (total[part], dearest[part]) for part in total}


def _machines(item: LineItem | None) -> str:
    if item is None:
        return ""
    return f"self-managed on {item.sku}" if "self-managed" in item.component else item.sku


def unpriced_parts(unpriced: Iterable[str], gateway: bool = False) -> set[str]:
    """The parts an option's unpriced components belong to (``OptionDesign.unpriced``:
    "transcoder: GPU workers (...) in gcp us-central1", "(shared): NAT gateway in ...")."""
    parts = set()
    for text in unpriced:
        workload, _, rest = text.partition(": ")
        part = workload if workload != SHARED else _shared_part(rest, gateway)
        if part:
            parts.add(part)
    return parts


def _detail(mine: LineItem | None, theirs: LineItem | None, shared: bool,
            unpriced: tuple[bool, bool]) -> str:
    """What differs in words: a part unpriced or lacking on one side; a workload's machines
    where they differ ("db.m6g.4xlarge against db-custom-8-40960", "self-managed on ...")."""
    for line, left_out, side in ((mine, unpriced[0], "this option"),
                                 (theirs, unpriced[1], "the recommended option")):
        if left_out:
            return f"{'partly ' if line else ''}unpriced on {side}"
        if line is None:
            return f"none on {side}"
    if shared or mine is None or theirs is None or mine.sku == theirs.sku:
        return ""
    return f"{_machines(mine)} against {_machines(theirs)}"


def differences(items: Iterable[LineItem], recommended: Iterable[LineItem],
                unpriced: Iterable[str] = (), recommended_unpriced: Iterable[str] = ()
                ) -> list[CostDifference]:
    """The parts whose monthly cost differs between an option (``items``, ``unpriced``: its
    line items and unpriced components) and the recommended one, largest difference first
    (then by name), at most ``KEPT``. A part one side lacks or leaves unpriced counts
    there as nothing, and its detail says so."""
    items, recommended = list(items), list(recommended)
    gateway = any(i.workload == SHARED and i.component.startswith("WAF gateway")
                  for i in (*items, *recommended))
    this, that = _sums(items, gateway), _sums(recommended, gateway)
    workloads = {item.workload for item in (*items, *recommended)} - {SHARED}
    left_out = unpriced_parts(unpriced, gateway)
    their_left_out = unpriced_parts(recommended_unpriced, gateway)
    out = []
    for part in this.keys() | that.keys() | left_out | their_left_out:
        mine, line = this.get(part, (0.0, None))
        theirs, their_line = that.get(part, (0.0, None))
        delta = round(mine - theirs, 2)
        if delta == 0:
            continue
        shared = part not in workloads
        out.append(CostDifference(
            part=part, monthly_usd=round(mine, 2), recommended_usd=round(theirs, 2),
            delta_usd=delta, sku=line.sku if line else "",
            recommended_sku=their_line.sku if their_line else "", shared=shared,
            detail=_detail(line, their_line, shared,
                           (part in left_out, part in their_left_out))))
    out.sort(key=lambda d: (-abs(d.delta_usd), d.part))
    return out[:KEPT]


def monthly_delta(a: Alternative) -> str:
    """'$46.38 more a month (9.1%)' or 'the same' for an alternative ("$46.38 more (9.1%) a
    month" had read as if the percentage were monthly)."""
    change = usd_change(a.delta_usd)
    return change if change == "the same" else f"{change} a month ({abs(a.delta_pct):g}%)"


def against_recommended(a: Alternative) -> str:
    """An alternative's cost against the recommended option's, and where the difference
    comes from: "$1,268.65 more a month (32.9%); the largest differences: orders-db $924.80
    more (db.m6g.4xlarge against db-custom-8-40960); CDN $290.71 more; NAT $91.89 more".
    The reports, the Markdown brief and the CLI table say it so."""
    text = monthly_delta(a)
    if a.differences_text:
        text += f"; the largest differences: {a.differences_text}"
    return text


def in_words(diffs: list[CostDifference]) -> str:
    """The largest differences in words: "orders-db $924.80 more (db.m6g.4xlarge against
    db-custom-8-40960); CDN $290.71 more; NAT $91.89 more"."""
    return "; ".join(f"{d.part} {usd_change(d.delta_usd)}" + (f" ({d.detail})" if d.detail
                                                               else "")
                     for d in diffs[:IN_WORDS])
