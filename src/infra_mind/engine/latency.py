"""Where the users are, and which regions are near enough to serve them.

A region far from its users costs every request a long round trip, so price alone must not
send a US business to Belgium. The requirements say where users are by region group (``us``,
``ca``, ``eu``, ``uk``, ``apac``, ``sa``) or by country (``JP``, ``AE``: ``engine.places``).
Round trips are read from Azure's published inter-region table (``engine.places``), each
region by the Azure region that stands for it (``measured_at``). A country's round trip to a
region is from the nearest of the country's measured regions, a group's from the nearest of
the group's own regions; a region in the users' own country or group counts as 0 ms. (The
round trip between groups had been the shortest between any city of each, from another
operator's table: Stockholm was 13 ms from UK users, London to Frankfurt, where the table
gives 31; Oregon 16 ms from Canadian users, where it gives 64.)

The rule (``choose``): keep the regions within ``NEAR_RTT_MS`` of every place the users are.
When users are in places no single region is near to all of (us and eu, say), keep the
regions near the most of those places (a business with players in Singapore, Malaysia,
Indonesia and the US is designed in South-East Asia, not in Virginia because it is cheaper);
where several regions tie (us and eu: each near one), price decides among them. Places
count the same unless ``user_shares`` weighs them: then the regions near the largest share
of the users are kept (a language app with 40% of its users in the US, 35% in the EU and 25%
in Japan and Korea is designed in the US, where by count Tokyo, near two places, won). Where
the places were not stated as ``users`` but read from the residency or the allowed regions,
they say where users may be, not where most are, and every region near any of them is
kept. Each option then serves the far users at the round trip it states. Regions near fewer of the
places are designed too where they close compliance gaps that every region near the most
leaves open (``also``, from ``assess``): the ranking puts gaps before cost, and a filter on
round trips alone had taken those options away before it could (a language app for the US,
the EU, Japan and Korea under GDPR went to Tokyo, a transfer gap on every option).
When no allowed region is near any of them (data residency or region preferences rule them
out), keep the nearest allowed ones (to the farthest users, or with shares to the average
user). It applies when the requirements have a user-facing
workload (a web service, a static site, an inference endpoint), or when ``users`` is stated;
a batch job has no users waiting on it.

A group is coarse: every ``apac`` region is 0 ms from users in ``apac``, though Mumbai and
Sydney are 145 ms apart. ``wide_groups`` names such groups so the result can ask for
countries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from infra_mind.catalog.regions import REGIONS, Region
from infra_mind.engine.places import (
    COUNTRIES,
    between,
    by_name,
    country_rtt_ms,
    group_spread,
    place_name,
)
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.workloads import is_user_facing

#: A region is near its users when the round trip is at most this. From a region group, the
#: regions of its own side of a continent are under 40 ms; the US west coast is 64-69 ms from
#: Canada's regions (Toronto, Québec) and an ocean crossing at least 72 ms (Virginia-Ireland),
#: so any bound from 40 to 63 ms makes the same choices; at 60 ms the three round trips of a
#: new HTTPS request (TCP, TLS 1.3, the request) stay under 200 ms.
NEAR_RTT_MS = 60


@cache
def _group_homes(group: str) -> tuple[str, ...]:
    """The measured regions (``engine.places``) that stand for a group's own regions."""
    return tuple(sorted({r.measured_at for r in REGIONS.values() if r.group == group}))


def group_rtt_ms(group: str, region: Region) -> int:
    """The round trip from users in a region group to ``region``: 0 in the group, else
    from the nearest of the group's own regions (as a country's is from its regions)."""
    if region.group == group:
        return 0
    return min(between(home, region.measured_at) for home in _group_homes(group))


def place_rtt_ms(place: str, region: Region) -> int:
    """The round trip from users at ``place`` (a region group or a country) to ``region``."""
    if place in COUNTRIES:
        return country_rtt_ms(place, region)
    return group_rtt_ms(place, region)


def rtt_ms(region: Region, users: Iterable[str]) -> int:
    """The round trip from the farthest of ``users`` to ``region``."""
    return max((place_rtt_ms(place, region) for place in users), default=0)


def far_side(place: str, region: Region) -> tuple[int, Region] | None:
    """Where a region group's users are far from ``region`` though the group's nearest
    regions are near it: the round trip from the group's farthest own region, and a catalog
    region there. A group is one point to ``group_rtt_ms``, its nearest; the US is 72 ms
    across (East US to West US 2), so Montréal, ~26 ms from Virginia, is ~76 ms from
    California. None for a country, inside the group, or when every part of it is near."""
    if place in COUNTRIES or region.group == place:
        return None
    homes = _group_homes(place)
    if not homes:
        return None
    ms, home = max((between(h, region.measured_at), h) for h in homes)
    if ms <= NEAR_RTT_MS:
        return None
    # named by a region of ``region``'s own provider where it has one there
    there = min((r for r in REGIONS.values() if r.measured_at == home and r.group == place),
                key=lambda r: (r.provider != region.provider, r.code))
    return ms, there


def wide_groups(users: Iterable[str]) -> list[tuple[str, int, Region, Region]]:
    """The region groups among ``users`` whose regions in different countries are more than
    ``NEAR_RTT_MS`` apart, each with that round trip and the two regions (``apac``)."""
    out = []
    for place in users:
        spread = None if place in COUNTRIES else group_spread(place)
        if spread and spread[0] > NEAR_RTT_MS:
            out.append((place, *spread))
    return out


def user_groups(req: Requirements) -> tuple[tuple[str, ...], str]:
    """Where the users are and where that was read: ``users``, else ``data_residency``,
    else the groups of ``preferences.regions``; ``((), "")`` when none says."""
    if req.users:
        return tuple(req.users), "users"
    if req.data_residency:
        return tuple(req.data_residency), "data_residency"
    if req.preferences.regions:
        from infra_mind.catalog.regions import REGIONS

        groups = dict.fromkeys(r.group for r in REGIONS.values()
                               if r.code in set(req.preferences.regions))
        return tuple(groups), "preferences.regions"
    return (), ""


@dataclass(frozen=True)
class Choice:
    """The regions kept for latency and how they were chosen."""

    regions: list[Region]
    users: tuple[str, ...]
    users_from: str
    #: "near every user group" | "near the most user groups" (users stated) | "near at
    #: least one user group" (read from residency or regions) | "nearest allowed" |
    #: "not applied: ..." (why latency played no part)
    rule: str
    #: region groups left out, each with its round trip from the farthest user group
    #: (from the nearest, under the two "near ..." rules for users in several places)
    excluded: dict[str, float]
    applies: bool
    #: Under "near the most user groups": how much of the users each kept region is near
    #: (``near``: a count of places, or a percent with ``shares``), and the regions left
    #: out although near some (by name, as ``excluded``), each with how much its best
    #: region is near.
    near_most: float = 0
    fewer: dict[str, float] = field(default_factory=dict)
    #: Regions near fewer of the places, designed too as they close compliance gaps the
    #: regions near the most leave open (``choose``'s ``also``).
    closing: tuple[Region, ...] = ()
    #: Each place's share of the users in percent (``user_shares``); empty: each counts 1.
    shares: dict[str, float] = field(default_factory=dict)

    def near(self, region: Region) -> float:
        """How much of the users ``region`` is near: the places, or their share."""
        return near_weight(region, self.users, self.shares)

    def amount(self, n: float) -> str:
        """``near``'s measure in words: "2 of the 4 user places", "40% of the users"."""
        return (f"{n:g}% of the users" if self.shares
                else f"{n:g} of the {len(self.users)} user places")

    def rtt_ms(self, region: Region) -> float | None:
        """The users' round trip to ``region``: from the farthest place, or with ``shares``
        the mean over the users, each place weighed by its share (a 10% place 154 ms away
        must not choose between regions for the other 90%); None when unknown."""
        if not self.users:
            return None
        if self.shares:
            return mean_rtt_ms(region, self.shares)
        return float(rtt_ms(region, self.users))


def mean_rtt_ms(region: Region, shares: dict[str, float]) -> float:
    """The average user's round trip to ``region``: each place's weighed by its share of
    the users, to the whole ms."""
    total = sum(shares.values())
    return float(round(sum(share * rtt_ms(region, (place,))
                           for place, share in shares.items()) / total))


def near_weight(region: Region, users: Sequence[str], shares: dict[str, float]) -> float:
    """How much of the users ``region`` is within ``NEAR_RTT_MS`` of: the number of places,
    or with ``shares`` the sum of theirs (rounded, so equal sums tie whatever their order)."""
    return round(sum(shares.get(p, 1.0) for p in users
                     if rtt_ms(region, (p,)) <= NEAR_RTT_MS), 6)


def near_some(allowed: Sequence[Region], choice: Choice) -> list[Region]:
    """Under "near the most user groups": the regions of ``allowed`` near at least one of
    the places but not kept, the ones that may close compliance gaps (``choose``'s
    ``also``)."""
    if choice.rule != "near the most user groups":
        return []
    kept = {(r.provider, r.code) for r in choice.regions}
    return [r for r in allowed if (r.provider, r.code) not in kept
            and any(rtt_ms(r, (place,)) <= NEAR_RTT_MS for place in choice.users)]


def choose(req: Requirements, allowed: Sequence[Region], also: Sequence[Region] = ()
           ) -> Choice:
    """The regions of ``allowed`` near enough to the users (see the module docstring);
    ``also``: regions of ``near_some`` kept as well, as they close compliance gaps."""
    users, source = user_groups(req)
    shares = dict(req.user_shares)
    user_facing = any(is_user_facing(w) for w in req.workloads)
    if not users:
        return Choice(list(allowed), (), "", "not applied: where the users are is not "
                      "stated", {}, applies=False)
    if not user_facing and source != "users":
        return Choice(list(allowed), users, source, "not applied: no user-facing workload",
                      {}, applies=False)
    def farthest(region: Region) -> int:
        return rtt_ms(region, users)

    def nearest_user(region: Region) -> int:
        return min(rtt_ms(region, (place,)) for place in users)

    if source != "users":
        # places read from residency or the allowed regions say where users may be, not
        # where most of them are: every region near any of them stays, even beside one near
        # all (Oregon, allowed with Montréal, is 64 ms from the Canada that Montréal's being
        # allowed put among the places)
        kept = [r for r in allowed if nearest_user(r) <= NEAR_RTT_MS]
        if kept:
            rule = ("near every user group" if all(farthest(r) <= NEAR_RTT_MS for r in kept)
                    else "near at least one user group")
            return Choice(kept, users, source, rule, _excluded(allowed, kept, nearest_user),
                          applies=True, shares=shares)
    kept = [r for r in allowed if farthest(r) <= NEAR_RTT_MS]
    if kept:
        return Choice(kept, users, source, "near every user group",
                      _excluded(allowed, kept, farthest), applies=True, shares=shares)
    # how much of the users each region is near: the places, or their share
    near = {r: near_weight(r, users, shares) for r in allowed}
    most = max(near.values(), default=0)
    if most:
        closing = tuple(r for r in also if 0 < near.get(r, 0) < most)
        kept = [r for r in allowed if near[r] == most] + list(closing)
        some = [r for r in allowed if near[r]]
        fewer = {name: -n for name, n in _excluded(some, kept, lambda r: -near[r]).items()}
        far = _excluded([r for r in allowed if not near[r]], kept, nearest_user)
        return Choice(kept, users, source, "near the most user groups",
                      {name: ms for name, ms in far.items() if name not in fewer},
                      applies=True, near_most=most, fewer=fewer, closing=closing,
                      shares=shares)
    # none near any place (residency keeps the design away): the nearest to the farthest
    # users, or with shares to the average user (an EU-only design for a business with 80%
    # of its users in the US and 20% in Japan belongs nearest the US, not Japan)
    def nearness(region: Region) -> int:
        return int(mean_rtt_ms(region, shares)) if shares else farthest(region)

    best = min((nearness(r) for r in allowed), default=0)
    kept = [r for r in allowed if nearness(r) == best]
    return Choice(kept, users, source, "nearest allowed", _excluded(allowed, kept, nearness),
                  applies=True, shares=shares)


def _excluded(allowed: Sequence[Region], kept: Sequence[Region],
              distance: Callable[[Region], float]) -> dict[str, float]:
    """The regions of ``allowed`` not ``kept``, each with the ``distance`` that ruled it out
    (the least of them where several share a name: the round trip, or minus the places a
    region is near): named by group where no region of the group was kept, else by city
    where no region of the city was, else by code."""
    kept_codes = {(r.provider, r.code) for r in kept}
    kept_groups = {r.group for r in kept}
    kept_cities = {r.city for r in kept}
    out: dict[str, int] = {}
    for r in allowed:
        if (r.provider, r.code) in kept_codes:
            continue
        name = (place_name(r.group) if r.group not in kept_groups
                else r.city if r.city not in kept_cities else r.code)
        out[name] = min(out.get(name, distance(r)), distance(r))
    return dict(sorted(out.items(), key=lambda item: by_name(item[0])))
