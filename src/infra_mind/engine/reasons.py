"""The reasons for a recommendation, each written from the ranked options' figures.

One template per kind of claim, filled from the candidates, so every sentence is true of
the numbers beside it: "fewest compliance gaps" only when no option has fewer, "lowest
cost" only among the options it was compared with and at the figure it was compared on,
and a cheaper option is named with what made it rank lower.
tests/engine/test_reasons_properties.py reads each claim back and checks it against the
options over generated requirements.
"""

from __future__ import annotations

from collections.abc import Iterable

from infra_mind.catalog.regions import REGIONS
from infra_mind.engine import difference
from infra_mind.engine.latency import NEAR_RTT_MS, Choice, far_side, rtt_ms
from infra_mind.engine.money import listing, usd, usd_change
from infra_mind.engine.places import COUNTRIES, by_name, located, place_name, share_name
from infra_mind.engine.ranking import (
    EXISTING_PROVIDER_TOLERANCE,
    NEAR_RULE,
    RANKING_RULE,
    Candidate,
    Ranking,
)
from infra_mind.engine.result import Alternative, Recommendation

COMPARED = "compared on the parts every contending option prices"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _pct(part: float, whole: float) -> float:
    return round(part / whole * 100, 1) if whole else 0.0


def rank_basis(c: Candidate, promoted: bool, left_out: list[str],
               nearer_than: Candidate | None = None) -> str:
    """The option's ranking key in words (``promoted``: moved first as the existing
    provider; ``nearer_than``: the option it was moved above as nearer the users)."""
    parts = ["meets every constraint" if not c.violations
             else _n(c.violations, "constraint violation"),
             _n(c.gaps, "compliance gap"),
             f"{usd(c.cost)} a month"
             + (f" ({_n(len(c.design.unpriced), 'component')} unpriced)"
                if c.design.unpriced else "")]
    if left_out:
        parts.append(f"{usd(c.compared)} {COMPARED}")
    if promoted:
        parts.append(f"the existing provider, within {EXISTING_PROVIDER_TOLERANCE:.0%} of the "
                     "first-ranked cost")
    if nearer_than is not None:
        parts.append(f"ranked above {nearer_than.where} as ~"
                     f"{(nearer_than.user_rtt_ms or 0) - (c.user_rtt_ms or 0):g} ms nearer "
                     f"the users, within the {NEAR_RULE}")
    if c.preferred_to is not None:
        p = c.preferred_to
        parts.append(f"preferred to {p.region_code} ({p.city}), {usd(p.more_usd)} a month "
                     f"cheaper, as ~{p.user_rtt_ms - (c.user_rtt_ms or 0):g} ms nearer the "
                     "users")
    return "; ".join(parts)


def _ms(c: Candidate) -> str:
    return f"~{c.user_rtt_ms:g} ms"


def _rtt_from(c: Candidate, short: bool = False) -> str:
    """Whose round trip ``_ms`` is: the farthest users', or with shares the average
    user's (``latency.Choice.rtt_ms``)."""
    if c.rtt_by_share:
        return "for the average user"
    return "from the farthest" if short else "from the farthest users"


def _nearer_than(chosen: Candidate, c: Candidate) -> str:
    """Why ``c``, cheaper on the compared basis, ranks below ``chosen`` moved first for
    nearness (``ranking.nearer_pick``)."""
    if c.user_rtt_ms is not None and chosen.user_rtt_ms is not None and (
            c.user_rtt_ms > chosen.user_rtt_ms):
        return (f"{chosen.where} is nearer the users ({_ms(chosen)} round trip "
                f"{_rtt_from(chosen, short=True)}, against {_ms(c)}) and costs "
                f"{usd_change(chosen.compared - c.compared)} {COMPARED}, within the "
                f"{NEAR_RULE}")
    # not considered for nearness: it leaves more parts unpriced than a cheaper option
    return (f"its total leaves out {_n(len(c.design.unpriced), 'unpriced component')}, "
            f"and {chosen.where} was preferred to the cheapest as nearer the users")


def _lower_because(chosen: Candidate, c: Candidate, promoted: bool,
                   nearer: bool = False) -> str:
    """Why ``c`` ranks below ``chosen`` although its total is lower (``nearer``: chosen
    was moved first for nearness)."""
    if c.violations > chosen.violations:
        return (f"{_n(c.violations, 'constraint violation')} against {chosen.violations}: "
                + "; ".join(c.design.violations))
    if c.gaps > chosen.gaps:
        return (f"{_n(c.gaps - chosen.gaps, 'more compliance gap')} ({c.gaps} against "
                f"{chosen.gaps})")
    if promoted:
        return (f"{chosen.design.provider} is the existing provider and costs at most "
                f"{EXISTING_PROVIDER_TOLERANCE:.0%} more")
    if nearer and round(c.compared, 2) < round(chosen.compared, 2):
        return _nearer_than(chosen, c)
    text = (f"{COMPARED} it costs {usd_change(c.compared - chosen.compared)} "
            f"({usd(c.compared)} against {usd(chosen.compared)})")
    if round(c.compared, 2) == round(chosen.compared, 2):
        text += ", and ties go by provider and region name"
    if c.design.unpriced:
        text += (f", and its total leaves out "
                 f"{_n(len(c.design.unpriced), 'unpriced component')}")
    return text


def alternative(chosen: Candidate, c: Candidate, promoted: bool, ranked: bool = True,
                nearer: bool = False) -> Alternative:
    """An option not recommended, with its cost difference and why it ranks lower
    (``promoted``, ``nearer``: as ``Ranking`` says of ``chosen``).

    ``ranked`` False: ``c`` is a region that was not compared with ``chosen`` (not its
    provider's best), so only the difference is said, not a comparison never made."""
    delta = round(c.cost - chosen.cost, 2)
    why = list(c.design.violations)
    if c.gaps > chosen.gaps:
        why.append(f"{_n(c.gaps - chosen.gaps, 'more compliance gap')} ({c.gaps} against "
                   f"{chosen.gaps})")
    if delta > 0:
        why.append(f"{usd(delta)} a month more")
    elif delta < 0 and (c.violations, c.gaps) == (chosen.violations, chosen.gaps):
        p = chosen.preferred_to
        if ranked:
            why.append(f"{usd(-delta)} a month less, but "
                       f"{_lower_because(chosen, c, promoted, nearer)}")
        elif (p is not None and c.design.provider == chosen.design.provider
              and c.design.region.code == p.region_code):
            why.append(f"{usd(-delta)} a month less, but {chosen.design.region.code} is "
                       f"nearer the users ({_ms(chosen)} round trip "
                       f"{_rtt_from(chosen, short=True)}, "
                       f"against ~{p.user_rtt_ms:g} ms), within the {NEAR_RULE}")
        else:
            why.append(f"{usd(-delta)} a month less")
    if c.design.unpriced and not any("leaves out" in w for w in why):
        why.append(f"its total leaves out {_n(len(c.design.unpriced), 'unpriced component')}")
    parts = difference.differences((pl.item for pl in c.design.lines),
                                   (pl.item for pl in chosen.design.lines),
                                   c.design.unpriced, chosen.design.unpriced)
    return Alternative(provider=c.design.provider, region=c.design.region.code,
                       monthly_cost_usd=c.cost, delta_usd=delta,
                       delta_pct=_pct(delta, chosen.cost), why_not=why,
                       differences=parts, differences_text=difference.in_words(parts))


def _ranking(r: Ranking) -> str:
    chosen = r.ranked[0]
    if len(r.ranked) == 1:
        return f"Only one option could be designed within the requirements: {chosen.where}"
    if r.passed_over is not None:
        top = r.passed_over
        delta = round(chosen.compared - top.compared, 2)
        return (f"Ranked first of {len(r.ranked)} options as nearer the users: {top.where} "
                f"ranks first by {RANKING_RULE}, and {chosen.where} has as few violations, "
                f"compliance gaps and unpriced components, is {_ms(chosen)} round trip "
                f"{_rtt_from(chosen)} against {_ms(top)}, and costs {usd_change(delta)} "
                f"({_pct(delta, top.compared)}%)" + (f" {COMPARED}" if r.left_out else "")
                + f", within the {NEAR_RULE}")
    if not r.promoted:
        return f"Ranked first of {len(r.ranked)} options by {RANKING_RULE}"
    top = r.ranked[1]
    delta = round(chosen.compared - top.compared, 2)
    return (f"Ranked first of {len(r.ranked)} options as the existing provider: {top.where} "
            f"ranks first by {RANKING_RULE}, and {chosen.where} has as few violations and "
            f"compliance gaps and costs {usd_change(delta)} ({_pct(delta, top.compared)}%)"
            + (f" {COMPARED}" if r.left_out else "")
            + f", within the {EXISTING_PROVIDER_TOLERANCE:.0%} allowed for staying on "
            f"{chosen.design.provider} (a migration the comparison does not price)")


def _constraints(chosen: Candidate, availability: float) -> str:
    d = chosen.design
    if not d.violations and chosen.facts.storage_only:
        # no machines or databases: the storage service, not a zone count, places copies
        return f"Meets every constraint: in {located(d.region)}"
    if not d.violations:
        return (f"Meets every constraint: in {located(d.region)}, "
                f"{_n(d.zones_used, 'availability zone')} for {availability:g}% availability")
    return (f"No option meets every constraint; this one has the fewest violations "
            f"({chosen.violations}): " + "; ".join(d.violations))


def _gaps(ranked: list[Candidate]) -> str:
    chosen, others = ranked[0], ranked[1:]
    if not any(c.gaps for c in ranked):
        # "As few compliance gaps as any option: 0 (against 0 on ... and 0 on ...)"
        return ("No compliance gap on any option: each meets every technical control asked"
                if others else "No compliance gap: the design meets every technical control "
                               "asked")
    if all(chosen.gaps < c.gaps for c in others):
        text = f"Fewest compliance gaps of any option: {chosen.gaps}"
    elif chosen.gaps <= min(c.gaps for c in others):
        text = f"As few compliance gaps as any option: {chosen.gaps}"
    else:
        text = f"Fewest compliance gaps of the options with as few violations: {chosen.gaps}"
    if others:
        text += " (against " + listing([f"{c.gaps} on {c.where}" for c in others]) + ")"
    return text


def _tier(ranked: list[Candidate]) -> list[Candidate]:
    """The other options level with the chosen one on violations and gaps, in rank order."""
    chosen = ranked[0]
    return sorted((c for c in ranked[1:]
                   if (c.violations, c.gaps) == (chosen.violations, chosen.gaps)),
                  key=Candidate.rank_key)


def _cost(r: Ranking) -> str | None:
    chosen = r.ranked[0]
    if r.promoted or r.nearer or len(r.ranked) == 1:
        return None
    tier = _tier(r.ranked)
    if not tier:
        return (f"No other option has as few violations and compliance gaps; it costs "
                f"{usd(chosen.cost)} a month")
    nxt = tier[0]
    return (f"Lowest monthly cost of the options with as few violations and compliance gaps: "
            f"{usd(chosen.compared)}, against {usd(nxt.compared)} on {nxt.where}"
            + (f" ({COMPARED}; left out: {', '.join(r.left_out)})" if r.left_out else ""))


def _cheaper(r: Ranking) -> list[str]:
    chosen = r.ranked[0]
    return [f"{c.where} costs {usd(chosen.cost - c.cost)} less ({usd(c.cost)} a month) but "
            f"ranks lower: {_lower_because(chosen, c, r.promoted, r.nearer)}"
            for c in r.ranked[1:] if round(c.cost, 2) < round(chosen.cost, 2)]


def _unpriced(r: Ranking) -> str:
    chosen = r.ranked[0]
    unpriced = chosen.design.unpriced
    if not unpriced:
        return "Every component is priced from the dated catalog"
    text = (f"Not in the total: {_n(len(unpriced), 'component')} the catalog cannot price ("
            + "; ".join(unpriced) + ")")
    tier = [] if r.promoted or r.nearer else _tier(r.ranked)
    if tier:
        nxt = tier[0]
        if nxt.design.unpriced:
            text += (f"; {nxt.where} also leaves "
                     f"{_n(len(nxt.design.unpriced), 'component')} unpriced")
        elif round(nxt.cost, 2) > round(chosen.cost, 2):
            text += (f"; {nxt.where}, fully priced at {usd(nxt.cost)}, would cost less only if "
                     f"they cost more than {usd(nxt.cost - chosen.cost)} a month")
    return text


def _preferred(chosen: Candidate) -> list[str]:
    """The cheaper region of the same provider the recommended one was preferred to for
    nearness, with both round trips and the difference as compared then."""
    p = chosen.preferred_to
    if p is None:
        return []
    d = chosen.design
    return [f"{d.region.code} ({d.region.city}) rather than {p.region_code} ({p.city}), the "
            f"cheapest {d.provider} region: {_ms(chosen)} round trip {_rtt_from(chosen)} "
            f"against ~{p.user_rtt_ms:g} ms, for {usd(p.more_usd)} a month more "
            f"({_pct(p.more_usd, p.compared)}%) on the parts every {d.provider} region "
            f"prices, within the {NEAR_RULE}"]


def _not_in_catalog(choice: Choice, providers: list[str]) -> list[str]:
    """The users' countries where the catalog has no region of the allowed providers:
    none there was compared. Users in the UAE were served from Mumbai with nothing said of
    a region in the UAE, which a regulator or a CTO asks about first (2026-12-07)."""
    if not choice.applies:
        return []
    covered = {r.country for r in REGIONS.values()
               if not providers or r.provider in providers}
    missing = [p for p in choice.users if p in COUNTRIES and p not in covered]
    if not missing:
        return []
    names = sorted(providers)
    which = (" or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
             + " ") if names else ""
    return [f"The catalog has no {which}region in "
            f"{listing([place_name(p) for p in missing])}, so none there was compared: the "
            "options are the nearest regions it prices"]


def _users(chosen: Candidate, choice: Choice) -> list[str]:
    if not choice.applies:
        return []
    region = chosen.design.region
    where = f"{region.code} ({region.city})"

    def named(places: Iterable[str]) -> list[str]:
        # each place with its share of the users, where the requirements give shares
        return [share_name(p, choice.shares) for p in places]

    users = listing(named(choice.users))
    out = []
    far_places = [p for p in choice.users if rtt_ms(region, (p,)) > NEAR_RTT_MS]
    if choice.rule == "near every user group" or (
            choice.rule == "near at least one user group" and not far_places):
        ms = rtt_ms(region, choice.users)
        if list(choice.users) == [region.group]:
            out.append(f"Users in {users}: {region.code} is in their region group")
        elif ms == 0:
            out.append(f"Users in {users}: {where} is where they are")
        else:
            # a wide group is near at its nearest regions only: say how far its far side is
            far = [(place, *side) for place in choice.users
                   if (side := far_side(place, region)) is not None]
            out.append(f"Users in {users}: {where} is within ~{ms} ms round trip of all of "
                       + ("them" if not far else "them but the far side of "
                          + listing([f"{place_name(p)}, ~{far_ms} ms from users near "
                                     f"{there.code} ({there.city})"
                                     for p, far_ms, there in far])))
    elif choice.rule in ("near the most user groups", "near at least one user group"):
        near = [p for p in choice.users if rtt_ms(region, (p,)) <= NEAR_RTT_MS]
        far = [f"{name} at ~{rtt_ms(region, (p,))} ms" for p, name
               in zip(choice.users, named(choice.users), strict=True) if p not in near]
        none_near_all = ("no region is within " f"{NEAR_RTT_MS} ms round trip of all of them"
                         if choice.rule == "near the most user groups" else
                         "every region near any of them was designed, as they say where "
                         "users may be")
        out.append(f"Users in {users}: {none_near_all}; {where} is near users in "
                   f"{listing(named(near))} and serves users in {listing(far)}")
    else:
        out.append(f"No allowed region is within {NEAR_RTT_MS} ms round trip of users in "
                   f"{users}; {where} is among the nearest allowed, "
                   + (f"~{choice.rtt_ms(region):g} ms for the average user" if choice.shares
                      else f"~{rtt_ms(region, choice.users)} ms"))
    if choice.fewer:
        fewer = (", ".join(f"{g} {n:g}%" for g, n in choice.fewer.items()) if choice.shares
                 else ", ".join(f"{g} {n:g}" for g, n in choice.fewer.items()))
        out.append(f"Regions in {listing(list(choice.fewer))} were not designed: near "
                   + (f"a smaller share of the users than the {choice.near_most:g}% "
                      if choice.shares else f"fewer of the users' {len(choice.users)} "
                      f"places than the {choice.near_most:g} ")
                   + "the "
                   + ("regions near the most are near, and close no compliance gap those "
                      "leave open (" if choice.closing else "designed regions are near (")
                   + fewer + ")")
    if choice.excluded:
        far_from = ("from every place the users are"
                    if choice.rule in ("near the most user groups",
                                       "near at least one user group")
                    else f"from users in {users}")
        # the nearest allowed with shares: ruled out for the average user's round trip
        average = choice.rule == "nearest allowed" and bool(choice.shares)
        out.append(f"Regions in {listing(list(choice.excluded))} were not designed: over "
                   f"{NEAR_RTT_MS} ms round trip {far_from} ("
                   + ("for the average user: " if average else "")
                   + ", ".join(f"{g} ~{ms} ms" for g, ms in choice.excluded.items()) + ")")
    return out


#: Where more of the regions near the most are in more cities than this, the reason names
#: their region groups instead.
MAX_CITIES_LISTED = 4


def _closing(r: Ranking, choice: Choice, most_gaps: int | None) -> list[str]:
    """The options near fewer of the users' places (or a smaller share of the users),
    designed as they close compliance gaps every region near the most leaves open
    (``latency.Choice.closing``)."""
    closing = {(x.provider, x.code) for x in choice.closing}
    shown = [c for c in r.ranked if (c.design.provider, c.design.region.code) in closing]
    if not shown or most_gaps is None:
        return []
    pct = "%" if choice.shares else ""
    most = [x for x in choice.regions if (x.provider, x.code) not in closing]
    cities = sorted({x.city for x in most})
    # eleven cities from Iowa to Washington State read as a list to skip: by region group
    # where there are more than a few
    where = (listing(cities) if len(cities) <= MAX_CITIES_LISTED else "in "
             + listing(sorted({place_name(x.group) for x in most}, key=by_name)))
    return [("Regions near a smaller share of the users" if choice.shares else
             f"Regions near fewer of the users' {len(choice.users)} places")
            + f" were designed as well, as every region near {choice.near_most:g}{pct} of "
            f"them ({where}) leaves at least {_n(most_gaps, 'compliance gap')}: "
            + listing([f"{c.where} (near {choice.near(c.design.region):g}{pct}, "
                       f"{_n(c.gaps, 'gap')})" for c in shown])]


def _controls(chosen: Candidate, frameworks: list[str]) -> str:
    count = {s: sum(1 for c in chosen.controls if c.status == s)
             for s in ("met", "gap", "customer")}
    return (f"{count['met']} technical controls met by the design, "
            f"{_n(count['gap'], 'gap')}, {count['customer']} for the customer's own "
            f"processes, across {', '.join(frameworks)}")


def _not_staying(r: Ranking, existing: str | None, providers: list[str]) -> list[str]:
    """Why the existing provider is not recommended: an Australian payroll company on GCP
    was sent to AWS, $289.82 a month (33.5%) less, and the reasons never named GCP.
    ``providers``: those the requirements allow."""
    chosen = r.ranked[0]
    if existing is None or chosen.design.provider == existing:
        return []
    mine = next((c for c in r.ranked if c.design.provider == existing), None)
    if existing not in providers:
        return [f"{existing}, the existing provider, is not among the providers asked for "
                "(preferences.providers), so none of its regions was designed"]
    if mine is None:
        return [f"{existing}, the existing provider, has no option here: none of its "
                "regions was designed within the requirements (see the warnings)"]
    head = f"{existing}, the existing provider, is not recommended: {mine.where} has "
    if mine.violations > chosen.violations:
        return [head + f"{_n(mine.violations, 'constraint violation')} against "
                f"{chosen.violations}"]
    if mine.gaps > chosen.gaps:
        return [head + f"{_n(mine.gaps, 'compliance gap')} against {chosen.gaps}"]
    # the staying rule measures against the first by cost, which a nearer option may
    # have passed (``ranking.rank``): against the recommended one, 8.3% read as beyond 10%
    top = r.passed_over or chosen
    delta = round(mine.compared - top.compared, 2)
    return [f"{existing}, the existing provider, is not recommended: {mine.where} costs "
            f"{usd(delta)} a month more ({_pct(delta, top.compared)}%)"
            + (f" than {top.where}" if top is not chosen else "")
            + (f" {COMPARED}" if r.left_out else "")
            + f", beyond the {EXISTING_PROVIDER_TOLERANCE:.0%} allowed for staying (weigh it "
            "against what moving would cost, which the comparison does not price)"]


def recommendation(r: Ranking, choice: Choice, availability: float,
                   frameworks: list[str], existing: str | None = None,
                   providers: list[str] | None = None,
                   most_gaps: int | None = None) -> Recommendation:
    """The first-ranked option with its reasons and the others as alternatives
    (``existing``: the requirements' existing provider, said when it is not first, of
    the ``providers`` they allow; ``most_gaps``: the fewest compliance gaps of the regions
    near the most user places, where others were designed as they close some)."""
    chosen = r.ranked[0]
    reasons = [_ranking(r), _constraints(chosen, availability),
               *_not_staying(r, existing, providers or [])]
    if frameworks:
        reasons.append(_gaps(r.ranked))
    cost = _cost(r)
    if cost:
        reasons.append(cost)
    reasons += _cheaper(r)
    reasons.append(_unpriced(r))
    reasons += _users(chosen, choice)
    reasons += _not_in_catalog(choice, providers or [])
    reasons += _closing(r, choice, most_gaps)
    reasons += _preferred(chosen)
    if frameworks:
        reasons.append(_controls(chosen, frameworks))
    d = chosen.design
    return Recommendation(provider=d.provider, region=d.region.code,
                          monthly_cost_usd=chosen.cost, reasons=reasons,
                          alternatives=[alternative(chosen, c, r.promoted,
                                                    nearer=r.nearer)
                                        for c in r.ranked[1:]],
                          ranking_rule=RANKING_RULE + (
                              f"; left out of the compared cost: {', '.join(r.left_out)}"
                              if r.left_out else ""))
