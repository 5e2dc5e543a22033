"""Countries where users are, and the round trip from them to a region, from measurements.

A region group is too coarse for some users: ``apac`` holds Tokyo, Singapore, Sydney and
Mumbai, up to 145 ms apart, so a business whose users are in Japan must be able to say so.
Users may therefore be named by country (ISO 3166-1 alpha-2), and the round trip from a
country to a region is read from Azure's published inter-region table
(``data/azure-rtt-2026-07-30.csv``: monthly P50 round trips between Azure regions, 30 days to
2026-07-30; learn.microsoft.com/azure/networking/azure-network-latency).

- A country stands at the Azure regions inside it (``COUNTRIES``); users there are taken to
  be as near a region as the nearest of those. Finland has no Azure region: Sweden Central,
  across the Gulf of Bothnia, stands for it.
- A region stands at ``Region.measured_at`` (catalog.regions): the Azure region in the same
  metro, or the nearest one measured.
- Users in the region's own country are 0 ms from it, as users in a region group are from
  the group's regions.
- Each pair is the mean of the table's two directions, rounded up, so a pair is never
  reported nearer than measured.

The stand-ins are a few hundred kilometres off at most, a few milliseconds of fibre. Unlike
the group table (``engine.latency``), some country pairs lie close to ``NEAR_RTT_MS`` (Japan
to Singapore 72 ms, Korea to Singapore 67 ms, Canada to the US west coast 64-70 ms): a
stand-in could move such a pair across it, so those decisions are as good as the table.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

from infra_mind.catalog.regions import REGIONS, Region

DATA = Path(__file__).with_name("data") / "azure-rtt-2026-07-30.csv"


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    name: str
    #: the Azure regions of the table that stand for it
    measured_at: tuple[str, ...]


COUNTRIES: dict[str, Country] = {c.code: c for c in (
    Country("AE", "United Arab Emirates", ("UAE Central", "UAE North")),
    Country("AT", "Austria", ("Austria East",)),
    Country("AU", "Australia", ("Australia Central", "Australia Central 2", "Australia East",
                                "Australia Southeast")),
    Country("BE", "Belgium", ("Belgium Central",)),
    Country("BR", "Brazil", ("Brazil South",)),
    Country("CH", "Switzerland", ("Switzerland North", "Switzerland West")),
    Country("DE", "Germany", ("Germany North", "Germany West Central")),
    Country("DK", "Denmark", ("Denmark East",)),
    Country("ES", "Spain", ("Spain Central",)),
    Country("FI", "Finland", ("Sweden Central",)),
    Country("FR", "France", ("France Central", "France South")),
    Country("HK", "Hong Kong", ("East Asia",)),
    Country("ID", "Indonesia", ("Indonesia Central",)),
    Country("IE", "Ireland", ("North Europe",)),
    Country("IL", "Israel", ("Israel Central",)),
    Country("IN", "India", ("Central India", "Jio India West", "South India")),
    Country("IT", "Italy", ("Italy North",)),
    Country("JP", "Japan", ("Japan East", "Japan West")),
    Country("KR", "South Korea", ("Korea Central", "Korea South")),
    Country("MX", "Mexico", ("Mexico Central",)),
    Country("MY", "Malaysia", ("Malaysia West",)),
    Country("NL", "Netherlands", ("West Europe",)),
    Country("NO", "Norway", ("Norway East", "Norway West")),
    Country("NZ", "New Zealand", ("New Zealand North",)),
    Country("PL", "Poland", ("Poland Central",)),
    Country("QA", "Qatar", ("Qatar Central",)),
    Country("SE", "Sweden", ("Sweden Central",)),
    Country("SG", "Singapore", ("Southeast Asia",)),
    Country("ZA", "South Africa", ("South Africa North", "South Africa West")),
)}

#: Country codes that name a whole region group: users there are that group's users.
GROUP_ALIASES = {"US": "us", "CA": "ca", "GB": "uk", "UK": "uk"}


@cache
def table() -> dict[frozenset[str], int]:
    """Every pair of the table's regions: the mean of its two directions, rounded up."""
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    names = rows[0][1:]
    ms = {(row[0], names[i]): int(v) for row in rows[1:] for i, v in enumerate(row[1:]) if v}
    return {frozenset((a, b)): math.ceil((ms[a, b] + ms[b, a]) / 2)
            for a, b in combinations(names, 2)}


def between(a: str, b: str) -> int:
    """The round trip between two of the table's regions, ms (0 for the same one)."""
    return 0 if a == b else table()[frozenset((a, b))]


def country_rtt_ms(country: str, region: Region) -> int:
    """The round trip from users in ``country`` to ``region``: 0 in its own country, else
    from the nearest of the country's measured regions."""
    if region.country == country:
        return 0
    return min(between(at, region.measured_at) for at in COUNTRIES[country].measured_at)


@cache
def group_spread(group: str) -> tuple[int, Region, Region] | None:
    """The longest round trip between two of a group's regions in different countries, and
    the two; None when the group's regions are all in one country."""
    regions = [r for r in REGIONS.values() if r.group == group]
    pairs = [(between(a.measured_at, b.measured_at), a, b)
             for a, b in combinations(regions, 2) if a.country != b.country]
    return max(pairs, key=lambda p: p[0]) if pairs else None


#: The region groups (``catalog.regions``) as a reader knows them. "eu" is the European
#: Union: every region the catalog has in the group is in a member state.
GROUP_NAMES = {"us": "the US", "ca": "Canada", "eu": "the EU", "uk": "the UK",
               "apac": "Asia Pacific", "sa": "South America"}


#: The countries of catalog regions that users name by region group instead (us, ca, uk).
_GROUP_COUNTRIES = {"CA": "Canada", "GB": "the UK", "US": "the US"}

#: Countries whose name takes "the" in a sentence ("users in the Netherlands").
_THE = {"AE", "NL"}


def place_name(place: str) -> str:
    """A place the users are, a region group or a region's country, as a sentence names it:
    "Japan" for JP, "the Netherlands" for NL, "the EU" for eu, "the US" for US. Anything
    else (a city) as given."""
    if place in COUNTRIES:
        return ("the " if place in _THE else "") + COUNTRIES[place].name
    return GROUP_NAMES.get(place) or _GROUP_COUNTRIES.get(place, place)


def located(region: Region) -> str:
    """Where a region is, as a reader knows it: "Montréal (Canada)", "N. Virginia (US)";
    the city alone where it names the country ("Singapore", "Ireland")."""
    country = place_name(region.country).removeprefix("the ")
    return region.city if region.city == country else f"{region.city} ({country})"


def by_name(name: str) -> str:
    """A sort key for place names that reads "the EU" under E."""
    return name.removeprefix("the ").casefold()


def share_name(place: str, shares: Mapping[str, Any]) -> str:
    """A place of the users by name, with its share of them where ``shares`` give one
    ("the US (40%)"; ``Requirements.user_shares``)."""
    share = shares.get(place)
    return place_name(place) + (f" ({float(share):g}%)" if share is not None else "")
