"""The technical report: the recommended architecture line by line, and how it was sized."""

from __future__ import annotations

from infra_mind.agents.sections import where
from infra_mind.engine.money import usd
from infra_mind.engine.result import AssessmentResult, Demand, LineItem, Option
from infra_mind.reports.advice import Advice, Narrative, assemble
from infra_mind.reports.document import Column, Report, Section, Table, plural

NARRATIVE = (("report_writer", "technical_overview"), ("cloud_engineer", "architecture"),
             ("cloud_engineer", "sku_choices"), ("research", "catalog"))

LINE_COLUMNS = (Column("component"), Column("service"), Column("SKU"),
                Column("quantity", "number"), Column("unit"), Column("unit price", "price"),
                Column("monthly", "money"), Column("purchase option"), Column("price basis"),
                Column("source"), Column("as of"), Column("note"))
#: How a derived price reads in the price-basis column (its rule is in the note).
DERIVED_BASIS = "≈ derived (rule in the note)"


def build(advice: Advice) -> Report:
    result = advice.result
    narrative = Narrative(advice.narrative)
    option = advice.recommended_option
    subtitle = ("Technical report: " + (f"{where(option)} ({option.region_name})" if option else
                                        "no option could be priced"))
    return assemble(advice, narrative, kind="technical", title="technical report",
                    subtitle=subtitle, sections=[
                        *narrative.sections(NARRATIVE),
                        narrative.section("mlops", "ml_platform", optional=True),
                        architecture(option),
                        *workloads(option),
                        other_options(result, option),
                        *(sizing(d) for d in result.demand),
                        review(result),
                        warnings(result),
                        unpriced(option),
                    ])


def _by_workload(option: Option) -> dict[str, list[LineItem]]:
    """Line items grouped by workload, workloads in the order the engine listed them."""
    groups: dict[str, list[LineItem]] = {}
    for li in option.line_items:
        groups.setdefault(li.workload, []).append(li)
    return groups


def _subtotal(items: list[LineItem]) -> float:
    return round(sum(li.monthly_usd for li in items), 2)


def architecture(option: Option | None) -> Section:
    if option is None:
        return Section("architecture", "Recommended architecture",
                       paragraphs=("No option could be priced.",))
    groups = _by_workload(option)
    columns = (Column("workload"), Column("line items", "count"), Column("monthly", "money"))
    rows = tuple((name, len(items), _subtotal(items)) for name, items in groups.items())
    return Section("architecture", "Recommended architecture",
                   paragraphs=(f"{where(option)} ({option.region_name}): "
                               f"{plural(len(option.line_items), 'line item')} in "
                               f"{plural(len(groups), 'workload')}, total "
                               f"{usd(option.monthly_cost_usd)} a month.", *_dated(option)),
                   table=Table(columns, rows))


def _date_range(option: Option) -> str | None:
    """``2024-07-01 to 2026-11-28``: the option's oldest and newest price dates, where the
    result has them (results made before they were recorded do not)."""
    d = option.price_dates
    return f"{d.oldest.isoformat()} to {d.newest.isoformat()}" if d else None


def _dated(option: Option) -> tuple[str, ...]:
    dates = _date_range(option)
    return (f"Prices dated {dates}.",) if dates else ()


def workloads(option: Option | None) -> list[Section]:
    """One section per workload of the recommended option, with its subtotal."""
    if option is None:
        return []
    return [Section(f"workload.{name}", f"Workload {name}",
                    paragraphs=(f"{plural(len(items), 'line item')}, subtotal "
                                f"{usd(_subtotal(items))} a month.",),
                    table=Table(LINE_COLUMNS, tuple(_line(li) for li in items)))
            for name, items in _by_workload(option).items()]


def _line(li: LineItem) -> tuple:
    return (li.component, li.service, li.sku, li.quantity, li.unit, li.unit_price_usd,
            li.monthly_usd, li.purchase_option,
            DERIVED_BASIS if li.price_basis == "derived" else "list", li.source,
            li.as_of.isoformat(), li.note or None)


def other_options(result: AssessmentResult, chosen: Option | None) -> Section | None:
    others = [o for o in result.options if o is not chosen]
    if not others:
        return None
    columns = (Column("rank", "count"), Column("provider"), Column("region"),
               Column("monthly", "money"), Column("line items", "count"),
               Column("unpriced", "count"), Column("prices dated"), Column("rank basis"))
    rows = tuple((o.rank or None, o.provider, o.region, o.monthly_cost_usd, len(o.line_items),
                  len(o.unpriced), _date_range(o), o.rank_basis or None)
                 for o in others)
    return Section("other_options", "Other options", table=Table(columns, rows))


def sizing(demand: Demand) -> Section:
    """What a workload needs and the formulas that worked it out."""
    columns = (Column("resource"), Column("value", "number"))
    rows = tuple((name, value) for name, value in demand.resources.items()
                 if not isinstance(value, str | bool))
    texts = [f"{name}: {'yes' if value is True else 'no' if value is False else value}"
             for name, value in demand.resources.items() if isinstance(value, str | bool)]
    return Section(f"sizing.{demand.workload}", f"Sizing: {demand.workload} ({demand.type})",
                   paragraphs=tuple(texts), bullets=tuple(demand.trace),
                   table=Table(columns, rows) if rows else None)


def review(result: AssessmentResult) -> Section | None:
    if not result.review:
        return None
    columns = (Column("pillar"), Column("risk"), Column("findings"))
    rows = tuple((p.pillar.replace("_", " "), p.risk, " ".join(p.findings) or None)
                 for p in result.review)
    return Section("review", "Well-Architected review", table=Table(columns, rows))


def warnings(result: AssessmentResult) -> Section | None:
    if not result.warnings:
        return None
    return Section("warnings", "Warnings", bullets=tuple(result.warnings))


def unpriced(option: Option | None) -> Section | None:
    if option is None or not option.unpriced:
        return None
    return Section("unpriced", "Unpriced components",
                   paragraphs=("No catalog price: not included in the total.",),
                   bullets=tuple(option.unpriced))
