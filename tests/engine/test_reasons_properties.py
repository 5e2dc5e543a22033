"""Every reason of every recommendation is true of the options beside it.

Requirements are generated (the strategies of ``test_properties``, with where the users
are drawn too); each reason must match one of the engine's claim templates, and each claim
is read back and checked against the options' figures: "fewest compliance gaps" against
every option's gaps, "lowest cost" against the options it was compared with, a cheaper
option named with what really made it rank lower. The ranking itself is checked too: the
options are in rank order, and none sits above an option of its tier that costs less on
the compared basis (so no catalog hole decides), except the existing provider within its
stated tolerance, or an option nearer the users within its own.
"""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra_mind.catalog.regions import GROUPS, REGIONS, region
from infra_mind.engine.assess import assess
from infra_mind.engine.latency import NEAR_RTT_MS, far_side, rtt_ms
from infra_mind.engine.places import COUNTRIES, place_name
from infra_mind.engine.ranking import (
    EXISTING_PROVIDER_TOLERANCE,
    NEAR_RULE,
    NEAR_TOLERANCE,
    NEAR_TOLERANCE_USD,
    NEARER_MS,
    RANKING_RULE,
)
from infra_mind.engine.requirements import USER_PLACES, Requirements
from infra_mind.engine.result import AssessmentResult, Option
from tests.engine.test_properties import catalog, requirements

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CENT = 0.005
M = r"\$[\d,]+\.\d\d"  # an amount as the money formatter writes it
W = r"(?:aws|azure|gcp) [a-z0-9-]+"  # an option: provider and region code
COMPARED = "compared on the parts every contending option prices"


def amount(text: str) -> float:
    return float(text.removeprefix("$").replace(",", ""))


def change(text: str) -> float:
    """ "$2.92 more" -> 2.92, "$2.92 less" -> -2.92, "the same" -> 0."""
    if text == "the same":
        return 0.0
    value, _, way = text.partition(" ")
    return amount(value) * (1 if way == "more" else -1)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= CENT + 1e-9


def named(result: AssessmentResult, where: str) -> Option:
    provider, code = where.split(" ")
    (option,) = [o for o in result.options if (o.provider, o.region) == (provider, code)]
    return option


def level(o: Option) -> tuple[int, int]:
    return len(o.violations), o.compliance_gaps


def compared(o: Option) -> float:
    return o.monthly_cost_usd if o.compared_cost_usd is None else o.compared_cost_usd


def listing(text: str) -> list[str]:
    """ "a, b and c" -> [a, b, c]."""
    head, _, last = text.rpartition(" and ")
    return [*head.split(", "), last] if head else [last]


# -- the order ------------------------------------------------------------------------


def promoted(result: AssessmentResult) -> bool:
    return result.recommended.reasons[0].startswith(
        f"Ranked first of {len(result.options)} options as the existing provider")


def nearer(result: AssessmentResult) -> bool:
    return result.recommended.reasons[0].startswith(
        f"Ranked first of {len(result.options)} options as nearer the users")


def users_rtt(result: AssessmentResult, r) -> float:
    """The users' round trip to region ``r`` as the engine ranks on it: from the farthest
    place, or with shares the average user's (each place's weighed by its share)."""
    users, shares = result.region_choice.users, result.region_choice.user_shares
    if shares:
        return float(round(sum(s * rtt_ms(r, (p,)) for p, s in shares.items())
                           / sum(shares.values())))
    return float(rtt_ms(r, users))


def rtt_from(result: AssessmentResult, short: bool = False) -> str:
    """Whose round trip the reasons give: the farthest users', or the average user's."""
    if result.region_choice.user_shares:
        return "for the average user"
    return "from the farthest" if short else "from the farthest users"


def within_near_allowance(more: float, cheapest: float) -> bool:
    return more <= max(cheapest * NEAR_TOLERANCE, NEAR_TOLERANCE_USD) + CENT


def check_order(result: AssessmentResult) -> None:
    options, rec = result.options, result.recommended
    assert [o.rank for o in options] == list(range(1, len(options) + 1))
    assert (rec.provider, rec.region) == (options[0].provider, options[0].region)
    assert rec.monthly_cost_usd == options[0].monthly_cost_usd
    assert not (promoted(result) and nearer(result))
    rest = options[1:] if promoted(result) or nearer(result) else options
    for a, b in itertools.pairwise(rest):
        assert level(a) <= level(b), (a.rank_basis, b.rank_basis)
        if level(a) == level(b):
            # no option above a cheaper one of its tier on the compared basis: a part one of
            # them cannot price is left out of both
            assert compared(a) <= compared(b) + CENT, (a.rank_basis, b.rank_basis)
    if promoted(result):
        mine, top = options[0], options[1]
        existing = result.requirements.preferences.existing_provider
        assert existing is not None and mine.provider == existing.value
        assert level(mine) == level(top) and all(level(top) <= level(o) for o in options)
        assert compared(mine) <= compared(top) * (1 + EXISTING_PROVIDER_TOLERANCE) + CENT
    if nearer(result):
        near, top = options[0], options[1]
        assert result.region_choice.max_rtt_ms is not None  # the users' places apply
        assert level(near) == level(top) and all(level(top) <= level(o) for o in options)
        assert near.user_rtt_ms <= top.user_rtt_ms - NEARER_MS
        assert within_near_allowance(compared(near) - compared(top), compared(top))
        assert len(near.unpriced) <= len(top.unpriced)
        existing = result.requirements.preferences.existing_provider
        assert existing is None or top.provider != existing.value
        budget = result.requirements.business.monthly_budget_usd
        if budget is not None and top.monthly_cost_usd <= budget:
            assert near.monthly_cost_usd <= budget


# -- the reasons ----------------------------------------------------------------------


def check_ranking(result, reason):
    n = len(result.options)
    first = result.options[0]
    if m := re.fullmatch(rf"Only one option could be designed within the requirements: ({W})",
                         reason):
        assert n == 1 and named(result, m[1]) is first
    elif m := re.fullmatch(rf"Ranked first of (\d+) options by {RANKING_RULE}", reason):
        assert int(m[1]) == n > 1 and not promoted(result)
    elif m := re.fullmatch(
            rf"Ranked first of (\d+) options as the existing provider: ({W}) ranks first by "
            rf"{RANKING_RULE}, and ({W}) has as few violations and compliance gaps and costs "
            rf"({M} more|{M} less|the same) \(([-\d.]+)%\)( {COMPARED})?, within the 10% "
            r"allowed for staying on (\w+) \(a migration the comparison does not price\)",
            reason):
        top, mine = named(result, m[2]), named(result, m[3])
        assert int(m[1]) == n and mine is first and top is result.options[1]
        assert close(change(m[4]), compared(mine) - compared(top))
        assert m[7] == first.provider
    elif m := re.fullmatch(
            rf"Ranked first of (\d+) options as nearer the users: ({W}) ranks first by "
            rf"{RANKING_RULE}, and ({W}) has as few violations, compliance gaps and unpriced "
            rf"components, is ~([\d.]+) ms round trip {rtt_from(result)} against "
            rf"~([\d.]+) ms, and costs ({M} more|{M} less|the same) \(([-\d.]+)%\)"
            rf"( {COMPARED})?, within the {re.escape(NEAR_RULE)}", reason):
        top, near = named(result, m[2]), named(result, m[3])
        assert int(m[1]) == n and near is first and top is result.options[1] and nearer(
            result)
        assert (float(m[4]), float(m[5])) == (near.user_rtt_ms, top.user_rtt_ms)
        assert close(change(m[6]), compared(near) - compared(top)) and change(m[6]) >= 0
        assert bool(m[8]) == bool(result.recommended.ranking_rule != RANKING_RULE)
    else:
        return False
    return True


def check_constraints(result, reason):
    first = result.options[0]
    if m := re.fullmatch(r"Meets every constraint: in (.+), (\d+) availability zones? "
                         r"for ([\d.]+)% availability", reason):
        r = region(first.provider, first.region)
        assert first.constraints_met and where_is(m[1], r)
        assert float(m[3]) == float(result.requirements.availability_target)
    elif m := re.fullmatch(r"Meets every constraint: in (.+)", reason):
        # object storage and the CDN alone: the storage service, not a zone count
        r = region(first.provider, first.region)
        assert first.constraints_met and where_is(m[1], r)
        assert all(w.type in ("object_storage", "static_site")
                   for w in result.requirements.workloads)
    elif m := re.fullmatch(r"No option meets every constraint; this one has the fewest "
                           r"violations \((\d+)\): (.+)", reason):
        assert not any(o.constraints_met for o in result.options)
        assert int(m[1]) == len(first.violations) == min(len(o.violations)
                                                          for o in result.options)
    else:
        return False
    return True


def check_gaps(result, reason):
    first, others = result.options[0], result.options[1:]
    if reason in ("No compliance gap on any option: each meets every technical control asked",
                  "No compliance gap: the design meets every technical control asked"):
        assert result.requirements.compliance
        assert not any(o.compliance_gaps for o in result.options)
        assert reason.startswith("No compliance gap on any") == bool(others)
        return True
    m = re.fullmatch(r"(Fewest compliance gaps of any option|As few compliance gaps as any "
                     r"option|Fewest compliance gaps of the options with as few violations): "
                     r"(\d+)(?: \(against (.+)\))?", reason)
    if not m:
        return False
    assert int(m[2]) == first.compliance_gaps and result.requirements.compliance
    if m[1].startswith("Fewest compliance gaps of any"):
        assert all(first.compliance_gaps < o.compliance_gaps for o in others)
    elif m[1].startswith("As few"):
        assert first.compliance_gaps == min(o.compliance_gaps for o in result.options)
    else:
        assert first.compliance_gaps == min(o.compliance_gaps for o in result.options
                                            if len(o.violations) == len(first.violations))
    against = listing(m[3]) if m[3] else []
    assert len(against) == len(others)
    for part, option in zip(against, others, strict=True):
        gaps, _, where = part.partition(" on ")
        assert named(result, where) is option and int(gaps) == option.compliance_gaps
    return True


def check_cost(result, reason):
    first = result.options[0]
    tier = [o for o in result.options[1:] if level(o) == level(first)]
    if m := re.fullmatch(rf"Lowest monthly cost of the options with as few violations and "
                         rf"compliance gaps: ({M}), against ({M}) on ({W})"
                         rf"(?: \({COMPARED}; left out: (.+)\))?", reason):
        other = named(result, m[3])
        assert other in tier and not promoted(result) and not nearer(result)
        assert close(amount(m[1]), compared(first)) and close(amount(m[2]), compared(other))
        assert all(compared(first) <= compared(o) + CENT for o in tier)
        assert other is min(tier, key=lambda o: o.rank)
        if m[4]:
            assert result.recommended.ranking_rule.endswith(
                f"; left out of the compared cost: {m[4]}")
    elif m := re.fullmatch(rf"No other option has as few violations and compliance gaps; it "
                           rf"costs ({M}) a month", reason):
        assert not tier and close(amount(m[1]), first.monthly_cost_usd)
    else:
        return False
    return True


def check_cheaper(result, reason):
    first = result.options[0]
    m = re.fullmatch(rf"({W}) costs ({M}) less \(({M}) a month\) but ranks lower: (.+)", reason)
    if not m:
        return False
    other = named(result, m[1])
    assert other is not first and close(amount(m[3]), other.monthly_cost_usd)
    assert other.monthly_cost_usd < first.monthly_cost_usd
    assert close(amount(m[2]), first.monthly_cost_usd - other.monthly_cost_usd)
    why = m[4]
    if w := re.fullmatch(r"(\d+) constraint violations? against (\d+): .+", why):
        assert (int(w[1]), int(w[2])) == (len(other.violations), len(first.violations))
        assert int(w[1]) > int(w[2])
    elif w := re.fullmatch(r"(\d+) more compliance gaps? \((\d+) against (\d+)\)", why):
        assert (int(w[2]), int(w[3])) == (other.compliance_gaps, first.compliance_gaps)
        assert int(w[1]) == int(w[2]) - int(w[3]) > 0
        assert len(other.violations) == len(first.violations)
    elif w := re.fullmatch(r"(\w+) is the existing provider and costs at most 10% more", why):
        assert promoted(result) and w[1] == first.provider and level(other) == level(first)
    elif w := re.fullmatch(rf"({W}) is nearer the users \(~([\d.]+) ms round trip "
                           rf"{rtt_from(result, short=True)}, against ~([\d.]+) ms\) and "
                           rf"costs ({M} more) "
                           rf"{COMPARED}, within the {re.escape(NEAR_RULE)}", why):
        assert nearer(result) and named(result, w[1]) is first and level(other) == level(first)
        assert (float(w[2]), float(w[3])) == (first.user_rtt_ms, other.user_rtt_ms)
        assert first.user_rtt_ms < other.user_rtt_ms
        assert close(change(w[4]), compared(first) - compared(other))
        assert within_near_allowance(change(w[4]), compared(other))
    elif w := re.fullmatch(rf"its total leaves out (\d+) unpriced components?, and ({W}) was "
                           r"preferred to the cheapest as nearer the users", why):
        assert nearer(result) and named(result, w[2]) is first
        assert int(w[1]) == len(other.unpriced) > len(first.unpriced)
    elif w := re.fullmatch(rf"{COMPARED} it costs ({M} more|the same) \(({M}) against ({M})\)"
                           r"(, and ties go by provider and region name)?"
                           r"(?:, and its total leaves out (\d+) unpriced components?)?", why):
        assert level(other) == level(first) and not promoted(result)
        assert not nearer(result) or compared(other) >= compared(first) - CENT
        assert close(amount(w[2]), compared(other)) and close(amount(w[3]), compared(first))
        assert close(change(w[1]), compared(other) - compared(first)) and change(w[1]) >= 0
        assert (w[4] is not None) == close(compared(other), compared(first))
        assert int(w[5] or 0) == len(other.unpriced)
    else:
        raise AssertionError(f"unexplained: {reason}")
    return True


def check_unpriced(result, reason):
    first = result.options[0]
    if reason == "Every component is priced from the dated catalog":
        assert not first.unpriced
        return True
    head = (f"Not in the total: {len(first.unpriced)} component"
            f"{'' if len(first.unpriced) == 1 else 's'} the catalog cannot price ("
            + "; ".join(first.unpriced) + ")")
    if not reason.startswith("Not in the total: "):
        return False
    assert first.unpriced and reason.startswith(head), (reason, head)
    rest = reason[len(head):]
    tier = [o for o in result.options[1:] if level(o) == level(first)]
    if m := re.fullmatch(rf"; ({W}), fully priced at ({M}), would cost less only if they cost "
                         rf"more than ({M}) a month", rest):
        other = named(result, m[1])
        assert other is tier[0] and not other.unpriced
        assert not promoted(result) and not nearer(result)
        assert close(amount(m[2]), other.monthly_cost_usd)
        assert close(amount(m[3]), other.monthly_cost_usd - first.monthly_cost_usd)
        assert amount(m[3]) > 0
    elif m := re.fullmatch(rf"; ({W}) also leaves (\d+) components? unpriced", rest):
        other = named(result, m[1])
        assert other is tier[0] and int(m[2]) == len(other.unpriced) > 0
    else:
        assert rest == "" and (not tier or promoted(result) or nearer(result)
                               or tier[0].monthly_cost_usd <= first.monthly_cost_usd)
    return True


def where_is(text, r):
    """Whether ``text`` places region ``r`` by its city and country: "Montréal (Canada)",
    or the city alone where that is the country's name."""
    assert place_name(r.country) != r.country, f"{r.country} has no name"
    country = place_name(r.country).removeprefix("the ")
    return text in (f"{r.city} ({country})", *([r.city] if r.city == country else []))


def check_users(result, reason):
    first, choice = result.options[0], result.region_choice
    where = region(first.provider, first.region)
    users = choice.users
    shares = choice.user_shares
    assert not shares or sorted(shares) == sorted(users)
    names = [place_name(p) + (f" ({shares[p]:g}%)" if shares else "") for p in users]
    assert not set(GROUPS) & set(names)
    by_name = dict(zip(names, users, strict=True))

    def rtt(o, places):
        return rtt_ms(region(o.provider, o.region), places)

    if m := re.fullmatch(r"Users in (.+): (\S+) is in their region group", reason):
        assert listing(m[1]) == names and users == [where.group] and m[2] == first.region
    elif m := re.fullmatch(r"Users in (.+): (\S+) \((.+)\) is where they are", reason):
        assert listing(m[1]) == names and (m[2], m[3]) == (first.region, where.city)
        assert rtt(first, users) == first.user_rtt_ms == 0 and users != [where.group]
    elif m := re.fullmatch(r"Users in (.+): (\S+) \((.+)\) is within ~(\d+) ms round trip of "
                           r"all of them(?: but the far side of (.+))?", reason):
        assert listing(m[1]) == names and (m[2], m[3]) == (first.region, where.city)
        # the farthest users' round trip, whatever the shares (the option's is the average
        # user's with them)
        assert int(m[4]) == rtt(first, users) <= NEAR_RTT_MS
        assert first.user_rtt_ms == users_rtt(result, where) <= int(m[4])
        assert int(m[4]) > 0
        # a wide group (the US) near at its nearest regions: its far side, over the bound
        sides = [f"{place_name(p)}, ~{side[0]} ms from users near {side[1].code} "
                 f"({side[1].city})" for p in users if (side := far_side(p, where))]
        assert (m[5] is None) == (not sides)
        assert all(side in m[5] for side in sides) and len(m[5] or "") <= len(
            " and ".join(sides))
    elif m := re.fullmatch(r"Users in (.+): no region is within 60 ms round trip of all of "
                           r"them; (\S+) \((.+)\) is near users in (.+) and serves users in "
                           r"(.+)", reason):
        assert listing(m[1]) == names and (m[2], m[3]) == (first.region, where.city)
        assert all(rtt(first, (by_name[n],)) <= NEAR_RTT_MS for n in listing(m[4]))
        for far in listing(m[5]):
            n, _, ms = far.partition(" at ~")
            assert int(ms.removesuffix(" ms")) == rtt(first, (by_name[n],)) > NEAR_RTT_MS
        assert all(rtt(o, users) > NEAR_RTT_MS for o in result.options)
    elif m := re.fullmatch(r"Users in (.+): every region near any of them was designed, as "
                           r"they say where users may be; (\S+) \((.+)\) is near users in (.+) "
                           r"and serves users in (.+)", reason):
        # places read from the residency or the allowed regions: a region near all of them
        # may exist, the recommended one is not
        assert choice.rule == "near at least one user group" and choice.users_from != "users"
        assert listing(m[1]) == names and (m[2], m[3]) == (first.region, where.city)
        assert all(rtt(first, (by_name[n],)) <= NEAR_RTT_MS for n in listing(m[4]))
        for far in listing(m[5]):
            n, _, ms = far.partition(" at ~")
            assert int(ms.removesuffix(" ms")) == rtt(first, (by_name[n],)) > NEAR_RTT_MS
    elif m := re.fullmatch(r"No allowed region is within 60 ms round trip of users in (.+); "
                           r"(\S+) \((.+)\) is among the nearest allowed, ~(\d+) ms"
                           r"( for the average user)?", reason):
        assert listing(m[1]) == names and (m[2], m[3]) == (first.region, where.city)
        # the farthest users' round trip, or with shares the average user's
        assert bool(m[5]) == bool(shares)
        assert int(m[4]) == (users_rtt(result, where) if shares else rtt(first, users))
        assert int(m[4]) > NEAR_RTT_MS
        assert all(min(rtt(o, (p,)) for p in users) > NEAR_RTT_MS for o in result.options)
    elif m := re.fullmatch(r"Regions in (.+) were not designed: near (?:fewer of the users' "
                           r"(\d+) places|a smaller share of the users) than the ([\d.]+)(%?) "
                           r"the (designed regions are near|regions near the most are near, "
                           r"and close no compliance gap those leave open) \((.+)\)", reason):
        left_out, most, unit, counts = listing(m[1]), float(m[3]), m[4], m[6]
        assert choice.rule == "near the most user groups"
        # counted as places without shares, weighed by them with
        assert (unit == "%") == bool(shares) == (m[2] is None)
        assert m[2] is None or int(m[2]) == len(users)
        assert (m[5] == "designed regions are near") == (not choice.closing)

        def weight(o):
            return sum(shares.get(p, 1) for p in users if rtt(o, (p,)) <= NEAR_RTT_MS)

        designed = {region(o.provider, o.region) for o in result.options}
        assert all(close(weight(o), most) for o in result.options
                   if f"{o.provider} {o.region}" not in choice.closing)
        assert not {n for r in designed for n in (place_name(r.group), r.city, r.code)} & set(
            left_out)
        assert not set(GROUPS) & set(left_out)  # by the names a reader knows
        for part, g in zip(counts.split(", "), left_out, strict=True):
            name, _, n = part.rpartition(" ")
            assert name == g and n.endswith(unit)
            n = n.removesuffix("%")
            assert 0 < float(n) < most
            said = (f"{g}: near {n}% of the users, against {m[3]}%" if shares else
                    f"{g}: near {n} of the {len(users)} user places, against {m[3]}")
            assert said in choice.excluded
    elif m := re.fullmatch(r"Regions in (.+) were not designed: over 60 ms round trip "
                           r"(from every place the users are|from users in .+) \((.+)\)",
                           reason):
        left_out = listing(m[1])
        designed = {region(o.provider, o.region) for o in result.options}
        assert not {place_name(r.group) for r in designed} & set(left_out)
        assert not set(GROUPS) & set(left_out)
        assert not {n for r in designed for n in (r.city, r.code)} & set(left_out)
        # the nearest allowed with shares rules out by the average user's round trip
        average = choice.rule == "nearest allowed" and bool(shares)
        assert m[3].startswith("for the average user: ") == average
        for part, g in zip(m[3].removeprefix("for the average user: ").split(", "), left_out,
                           strict=True):
            name, _, ms = part.partition(" ~")
            assert name == g and int(ms.removesuffix(" ms")) > NEAR_RTT_MS
            assert f"{g}: ~{ms} round trip" in choice.excluded
    else:
        return False
    return True


def check_preferred(result, reason):
    """A region preferred to its provider's cheapest for nearness."""
    first = result.options[0]
    m = re.fullmatch(r"(\S+) \((.+)\) rather than (\S+) \((.+)\), the cheapest (\w+) region: "
                     rf"~([\d.]+) ms round trip {rtt_from(result)} against ~([\d.]+) ms, "
                     rf"for ({M}) a month more \(([\d.]+)%\) on the parts every \w+ region "
                     rf"prices, within the {re.escape(NEAR_RULE)}", reason)
    if not m:
        return False
    assert (m[1], m[5]) == (first.region, first.provider)
    assert m[2] == region(first.provider, first.region).city
    cheaper = region(first.provider, m[3])
    assert m[4] == cheaper.city and m[3] != first.region
    assert result.region_choice.max_rtt_ms is not None
    assert float(m[6]) == first.user_rtt_ms == users_rtt(result, region(first.provider,
                                                                         first.region))
    assert float(m[7]) == users_rtt(result, cheaper) >= first.user_rtt_ms + NEARER_MS
    more, pct = amount(m[8]), float(m[9])
    assert more > 0 and (pct <= NEAR_TOLERANCE * 100 + 0.05 or more <= NEAR_TOLERANCE_USD)
    assert m[3] not in {o.region for o in result.options if o.provider == first.provider}
    assert f"preferred to {m[3]} ({m[4]}), {m[8]} a month cheaper" in first.rank_basis
    return True


def check_closing(result, reason):
    """Regions near fewer of the users' places (a smaller share of them, with shares),
    designed as they close compliance gaps."""
    m = re.fullmatch(r"Regions near (?:fewer of the users' (\d+) places|a smaller share of "
                     r"the users) were designed as well, as every region near ([\d.]+)(%?) "
                     r"of them \((.+)\) leaves at least (\d+) compliance gaps?: (.+)",
                     reason)
    if not m:
        return False
    choice, users = result.region_choice, result.region_choice.users
    shares = choice.user_shares
    assert choice.rule == "near the most user groups"
    assert (m[3] == "%") == bool(shares) == (m[1] is None)
    assert m[1] is None or int(m[1]) == len(users)
    most, least = float(m[2]), int(m[5])
    assert least > 0
    shown = re.findall(rf"({W}) \(near ([\d.]+){m[3]}, (\d+) gaps?\)", m[6])
    parts = [f"{w} (near {n}{m[3]}, {g} gap{'' if g == '1' else 's'})" for w, n, g in shown]
    assert shown and m[6] == (f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1
                              else parts[0])
    for w in shown:
        assert w[0] in choice.closing
        o = named(result, w[0])
        r = region(o.provider, o.region)
        near = sum(shares.get(p, 1) for p in users if rtt_ms(r, (p,)) <= NEAR_RTT_MS)
        assert close(float(w[1]), near) and near < most and int(w[2]) == o.compliance_gaps < least
    # the options near the most have no fewer gaps than it says; where they are: by city,
    # or by region group beyond 4 cities
    named_by = (m[4].removeprefix("in ") if m[4].startswith("in ") else None)
    for o in result.options:
        if f"{o.provider} {o.region}" not in choice.closing:
            assert o.compliance_gaps >= least
            r = region(o.provider, o.region)
            assert (place_name(r.group) in listing(named_by) if named_by
                    else r.city in listing(m[4]))
    return True


def check_not_staying(result, reason):
    """The existing provider, where it is not recommended, and why."""
    m = re.fullmatch(r"(\w+), the existing provider, (.+)", reason)
    if not m:
        return False
    existing = result.requirements.preferences.existing_provider
    first = result.options[0]
    assert existing is not None and m[1] == existing.value != first.provider
    mine = [o for o in result.options if o.provider == existing.value]
    asked = [p.value for p in result.requirements.preferences.providers]
    if re.fullmatch(r"is not among the providers asked for \(preferences.providers\), so "
                    r"none of its regions was designed", m[2]):
        assert not mine and existing.value not in asked
        return True
    if re.fullmatch(r"has no option here: none of its regions was designed within the "
                    r"requirements \(see the warnings\)", m[2]):
        assert not mine and existing.value in asked
        assert any(w.startswith(f"{existing.value}: ") for w in result.warnings)
        return True
    (o,) = mine
    where = f"{o.provider} {o.region}"
    if m2 := re.fullmatch(rf"is not recommended: {where} has (\d+) constraint violations? "
                          r"against (\d+)", m[2]):
        assert (int(m2[1]), int(m2[2])) == (len(o.violations), len(first.violations))
        assert len(o.violations) > len(first.violations)
    elif m2 := re.fullmatch(rf"is not recommended: {where} has (\d+) compliance gaps? "
                            r"against (\d+)", m[2]):
        assert (int(m2[1]), int(m2[2])) == (o.compliance_gaps, first.compliance_gaps)
        assert level(o)[0] == level(first)[0] and o.compliance_gaps > first.compliance_gaps
    else:
        m2 = re.fullmatch(rf"is not recommended: {where} costs ({M}) a month more "
                          rf"\(([\d.]+)%\)(?: than ({W}))?( {COMPARED})?, "
                          r"beyond the 10% allowed for staying \(weigh it against what "
                          r"moving would cost, which the comparison does not price\)", m[2])
        assert m2, reason
        assert level(o) == level(first)
        # against the first by cost where a nearer option was moved above it
        assert (m2[3] is not None) == nearer(result)
        base = named(result, m2[3]) if m2[3] else first
        assert level(base) == level(first)
        assert m2[3] is None or m2[3] in result.recommended.reasons[0]
        assert close(amount(m2[1]), compared(o) - compared(base))
        assert compared(o) > compared(base) * (1 + EXISTING_PROVIDER_TOLERANCE) - CENT
    return True


def check_controls(result, reason):
    m = re.fullmatch(r"(\d+) technical controls met by the design, (\d+) gaps?, (\d+) for the "
                     r"customer's own processes, across (.+)", reason)
    if not m:
        return False
    count = {s: sum(c.status == s for c in result.compliance) for s in ("met", "gap",
                                                                       "customer")}
    assert (int(m[1]), int(m[2]), int(m[3])) == (count["met"], count["gap"],
                                                 count["customer"])
    assert int(m[2]) == result.options[0].compliance_gaps
    assert m[4].split(", ") == [f.value for f in result.requirements.compliance]
    return True


def check_not_in_catalog(result, reason):
    """The users' countries without a region of the allowed providers in the catalog."""
    m = re.fullmatch(r"The catalog has no (.+) region in (.+), so none there was compared: "
                     r"the options are the nearest regions it prices", reason)
    if not m:
        return False
    providers = sorted(p.value for p in result.requirements.preferences.providers)
    assert m[1] == (", ".join(providers[:-1]) + " or " + providers[-1] if len(providers) > 1
                    else providers[0])
    covered = {r.country for r in REGIONS.values() if r.provider in providers}
    missing = [p for p in result.region_choice.users if p in COUNTRIES and p not in covered]
    assert missing and listing(m[2]) == [place_name(p) for p in missing]
    assert not any(region(o.provider, o.region).country in missing for o in result.options)
    return True


CHECKS = (check_ranking, check_constraints, check_gaps, check_cost, check_cheaper,
          check_unpriced, check_users, check_preferred, check_closing, check_not_staying,
          check_controls, check_not_in_catalog)


def check_reasons(result: AssessmentResult) -> None:
    for reason in result.recommended.reasons:
        assert "-$" not in reason and "$-" not in reason and "USD" not in reason, reason
        matched = [check.__name__ for check in CHECKS if check(result, reason)]
        assert len(matched) == 1, (reason, matched)


def check_alternatives(result: AssessmentResult) -> None:
    first = result.options[0]
    alternatives = result.recommended.alternatives
    assert [(a.provider, a.region) for a in alternatives] == [
        (o.provider, o.region) for o in result.options[1:]]
    for a, o in zip(alternatives, result.options[1:], strict=True):
        assert close(a.delta_usd, o.monthly_cost_usd - first.monthly_cost_usd)
        for why in a.why_not:
            assert "-$" not in why and "$-" not in why
            if m := re.fullmatch(rf"({M}) a month more", why):
                assert close(amount(m[1]), a.delta_usd) and a.delta_usd > 0
            if m := re.fullmatch(r"(\d+) more compliance gaps? \((\d+) against (\d+)\)", why):
                assert (int(m[2]), int(m[3])) == (o.compliance_gaps, first.compliance_gaps)


# -- the property -----------------------------------------------------------------------


@st.composite
def shares(draw, places: list[str]) -> dict[str, int]:
    """Whole percents for ``places``, adding up to 100, or {} (every place counts 1)."""
    if not places or draw(st.booleans()):
        return {}
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=len(places) - 1,
                                max_size=len(places) - 1, unique=True)))
    bounds = [0, *cuts, 100]
    return {p: bounds[i + 1] - bounds[i] for i, p in enumerate(places)}


@st.composite
def with_users(draw) -> Requirements:
    req = draw(requirements(pinned=False))
    users = draw(st.one_of(st.just([]),
                           st.lists(st.sampled_from(USER_PLACES), min_size=1, max_size=4,
                                    unique=True)))
    return Requirements.model_validate({**req.model_dump(mode="json"), "users": users,
                                        "user_shares": draw(shares(users))})


@st.composite
def contested(draw) -> Requirements:
    """All three providers on any region near one user group, with frameworks: the
    options differ in gaps, cost and holes, and every kind of claim is made."""
    req = draw(requirements(pinned=False))
    data = req.model_dump(mode="json")
    data["preferences"] |= {"providers": ["aws", "azure", "gcp"], "regions": []}
    data["users"] = [draw(st.sampled_from(USER_PLACES))]
    data["data_residency"] = draw(st.sampled_from(
        [[], [data["users"][0]] if data["users"][0] in GROUPS else []]))
    data["compliance"] = draw(st.lists(st.sampled_from(["soc2", "hipaa", "pci_dss", "gdpr",
                                                         "iso27001", "ccpa"]),
                                       min_size=1, max_size=3, unique=True))
    return Requirements.model_validate(data)


@st.composite
def spread(draw) -> Requirements:
    """Users on several continents under frameworks (GDPR among them, whose transfer
    control depends on the region), no residency: regions near fewer of the places may
    close gaps the regions near the most leave open (``latency.Choice.closing``)."""
    req = draw(requirements(pinned=False))
    data = req.model_dump(mode="json")
    data["preferences"] |= {"providers": ["aws", "azure", "gcp"], "regions": [],
                            "existing_provider": None}
    data["users"] = draw(st.lists(st.sampled_from(USER_PLACES), min_size=2, max_size=4,
                                  unique=True))
    data["user_shares"] = draw(shares(data["users"]))
    data["data_residency"] = []
    data["compliance"] = ["gdpr", *draw(st.lists(st.sampled_from(["soc2", "hipaa"]),
                                                 max_size=1))]
    return Requirements.model_validate(data)


@st.composite
def nearby(draw) -> Requirements:
    """All three providers for users in one or two countries, nothing else choosing the
    region: the regions near them differ by some milliseconds and a few percent, where an
    option nearer the users can be moved first (``ranking.nearer_pick``)."""
    req = draw(requirements(pinned=False))
    data = req.model_dump(mode="json")
    data["preferences"] |= {"providers": ["aws", "azure", "gcp"], "regions": [],
                            "existing_provider": None}
    data["users"] = draw(st.lists(st.sampled_from(sorted(COUNTRIES)), min_size=1,
                                  max_size=2, unique=True))
    data["user_shares"] = draw(shares(data["users"]))
    data["data_residency"] = []
    return Requirements.model_validate(data)


@SETTINGS
@given(req=st.one_of(contested(), with_users(), nearby(), spread(), requirements()))
def test_every_reason_is_true_of_the_options(req):
    result = assess(req, catalog())
    if not result.options:
        assert result.recommended is None
        return
    check_order(result)
    check_reasons(result)
    check_alternatives(result)
