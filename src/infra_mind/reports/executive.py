"""The executive report: the recommendation, what it costs, and the CTO's narrative."""

from __future__ import annotations

from infra_mind.agents.sections import where
from infra_mind.engine.difference import against_recommended
from infra_mind.engine.money import all_at_once, budget_position, outlook, usd
from infra_mind.engine.result import AssessmentResult, Option
from infra_mind.reports.advice import Advice, Narrative, assemble
from infra_mind.reports.document import Column, Report, Section, Table

#: Narrative sections after the figures, in reading order (the summary comes first).
CTO_SECTIONS = (("cto", "choice"), ("cto", "strategy"), ("cto", "risks"), ("cto", "roadmap"),
                ("cto", "build_vs_buy"))


def build(advice: Advice) -> Report:
    result = advice.result
    narrative = Narrative(advice.narrative)
    option = advice.recommended_option
    providers = sorted({o.provider for o in result.options})
    count = len(result.options)
    subtitle = (f"Executive report: {count} option{'' if count == 1 else 's'} priced on "
                f"{', '.join(providers) or 'no provider'}")
    return assemble(advice, narrative, kind="executive", title="executive report",
                    subtitle=subtitle, sections=[
                        narrative.section("cto", "executive_summary"),
                        recommendation(result),
                        options(result),
                        budget(result),
                        projection(result),
                        commitment(option),
                        *narrative.sections(CTO_SECTIONS),
                        narrative.section("research", "alternatives", optional=True),
                    ])


def recommendation(result: AssessmentResult) -> Section:
    rec = result.recommended
    if rec is None:
        return Section("recommendation", "Recommendation",
                       paragraphs=("No option could be priced.",))
    region = next((o.region_name for o in result.options
                   if o.provider == rec.provider and o.region == rec.region), "")
    return Section("recommendation", "Recommendation",
                   paragraphs=(where(rec) + (f" ({region})" if region else "")
                               + f", {usd(rec.monthly_cost_usd)} a month.",),
                   bullets=tuple(rec.reasons))


def options(result: AssessmentResult) -> Section:
    """The options in rank order, with the ranking key's columns in the order it reads
    them: constraints, compliance gaps, compared cost."""
    compared = any(o.compared_cost_usd not in (None, o.monthly_cost_usd)
                   for o in result.options)
    columns = (Column("rank", "count"), Column("provider"), Column("region"),
               Column("constraints met", "bool"), Column("compliance gaps", "count"),
               *((Column("compared cost", "money"),) if compared else ()),
               Column("monthly", "money"), Column("unpriced", "count"),
               # with shares of the users, the average user's (``Option.user_rtt_ms``)
               Column("average user round trip ms" if result.region_choice.user_shares
                      else "user round trip ms", "number"), Column("violations"))
    rows = tuple((o.rank or None, o.provider, o.region, o.constraints_met, o.compliance_gaps,
                  *((o.compared_cost_usd,) if compared else ()), o.monthly_cost_usd,
                  len(o.unpriced), o.user_rtt_ms, "; ".join(o.violations) or None)
                 for o in result.options)
    rec = result.recommended
    rule = (f"Best first, ranked by {rec.ranking_rule}.",) if rec and rec.ranking_rule else ()
    # where each option's cost differs from the recommendation's: a CTO told "AWS costs
    # $1,268.65 more" asks where (the database machines, the CDN, the NAT gateways)
    against = tuple(f"{where(a)}: {against_recommended(a)}"
                    for a in (rec.alternatives if rec else []))
    return Section("options", "Options side by side",
                   paragraphs=rule + ((f"Against {where(rec)}:",) if against else ()),
                   bullets=against, table=Table(columns, rows))


def budget(result: AssessmentResult) -> Section:
    b = result.budget
    if b.monthly_budget_usd is None:
        return Section("budget", "Budget",
                       paragraphs=("The requirements set no monthly budget.",))
    lines = [f"Budget {usd(b.monthly_budget_usd)} a month."]
    rec = result.recommended
    if b.gap_usd is not None and rec is not None:
        lines.append(f"The recommendation costs {usd(rec.monthly_cost_usd)} a month: "
                     f"{budget_position(rec.monthly_cost_usd, b.monthly_budget_usd)}."
                     + (f" {b.passing_note}" if b.passing_note else ""))
    elif b.within_budget is not None:
        lines.append("The recommendation is " + ("within budget." if b.within_budget
                                                 else "over budget."))
    cheapest = b.cheapest_compliant
    if cheapest is not None and rec is not None and (cheapest.provider, cheapest.region) == (
            rec.provider, rec.region):
        lines.append("It is also the cheapest option that meets every constraint, is fully "
                     "priced and has the fewest compliance gaps.")
    elif cheapest is not None:
        # why it is not the recommendation: an executive told only that a cheaper option
        # exists asks exactly that (the craft shop's Stockholm, $8.67 less than London)
        why = "; ".join(cheapest.why_not)
        lines.append("Cheapest option that meets every constraint, is fully priced and has "
                     f"the fewest compliance gaps: {where(cheapest)}, "
                     f"{usd(cheapest.monthly_cost_usd)} a month"
                     + (f" ({why})." if why else "."))
    if b.levers_note:
        lines.append(f"{b.levers_note}.")
    if not b.levers:
        return Section("budget", "Budget", paragraphs=(" ".join(lines),))
    horizon = result.requirements.business.horizon_months
    together = ("" if b.levers_together_usd is None else
                f" All of them at once{all_at_once(b, horizon)}.")
    columns = (Column("change"), Column("monthly", "money"), Column("saving", "money"),
               Column("budget"), Column("compliance gaps added", "count"),
               Column("gives up"))
    rows = tuple((lv.change, lv.monthly_cost_usd, lv.saving_usd,
                  outlook(lv.over_budget_from_month, horizon), lv.compliance_gaps_added,
                  lv.gives_up) for lv in b.levers)
    return Section("budget", "Budget",
                   paragraphs=(" ".join(lines), "What would lower the cost: each change "
                               "below designs the recommended option again with one setting "
                               "of the requirements changed." + together),
                   table=Table(columns, rows))


def projection(result: AssessmentResult) -> Section | None:
    if not result.projection:
        return None
    months = [result.projection[0]]
    if len(result.projection) > 1:
        months.append(result.projection[-1])
    columns = (Column("month", "count"), Column("monthly", "money"), Column("P10", "money"),
               Column("P90", "money"))
    rows = tuple((m.month, m.monthly_cost_usd, m.p10, m.p90) for m in months)
    return Section("projection", "Cost projection",
                   paragraphs=(f"Month 1 and month {months[-1].month}, with the P10 to P90 "
                               "range.",),
                   table=Table(columns, rows))


def commitment(option: Option | None) -> Section | None:
    """The recommended option under each purchase option the catalog could price."""
    if option is None or not option.commitment:
        return None
    columns = (Column("purchase option"), Column("monthly", "money"),
               Column("savings", "money"), Column("savings %", "percent"),
               Column("coverage %", "percent"), Column("break-even month", "count"),
               Column("note"))
    rows = tuple((c.purchase_option, c.monthly_usd, c.savings_usd, c.savings_pct,
                  c.coverage_pct, c.break_even_month, c.note or None)
                 for c in option.commitment)
    base = option.commitment[0].monthly_usd
    already = (f" The design as recommended, on the purchase terms it uses, costs "
               f"{usd(option.monthly_cost_usd)} a month." if base != option.monthly_cost_usd
               else "")
    return Section("commitment", "Commitment savings",
                   paragraphs=(f"{where(option)} under each "
                               "purchase option; savings against on-demand, a month."
                               + already,),
                   table=Table(columns, rows))
