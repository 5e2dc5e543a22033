"""A report as a structured document, built once and rendered to every format.

The builders (``executive``, ``technical``, ``compliance``) read an advice into a
``Report``; ``render_md``, ``render_html`` and ``render.to_json`` only lay it out, so the
three formats cannot disagree on a section or a figure.

Text comes in two kinds, kept apart on purpose: plain text from the engine
(``paragraphs``, ``bullets``, table cells; escaped by every renderer, never read as
Markup) and ``markdown`` written by an agent (untrusted; the HTML renderer converts it
with raw HTML off).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from infra_mind.engine.money import unit_price, usd, usd_change

#: How a column's values are written: the values themselves stay numbers (JSON keeps them).
ColumnKind = Literal["text", "money", "price", "number", "count", "percent", "bool"]
NUMERIC_KINDS = frozenset({"money", "price", "number", "count", "percent"})

Cell = str | int | float | bool | None

#: What an absent value (a None cell) reads as in Markdown and HTML.
ABSENT = "—"


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row of {len(row)} cells for {len(self.columns)} columns")


@dataclass(frozen=True)
class Section:
    """One titled part of a report, laid out in this order: paragraphs, the agent's
    Markdown, bullets, table."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    markdown: str | None = None
    bullets: tuple[str, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class UsageTotals:
    """What the language models cost for this advice, summed over providers."""

    requests: int
    tokens: int
    cost_usd: float
    #: answers from models with no configured price: their cost is not in ``cost_usd``
    unpriced_requests: int = 0


@dataclass(frozen=True)
class Footer:
    catalog_as_of: str
    usage: UsageTotals | None = None
    #: titles of the report's sections written by the offline writer, not a model
    offline_sections: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The footer as sentences (Markdown and HTML print these)."""
        out = [f"Prices from the catalog; the oldest price used is dated {self.catalog_as_of}."]
        if self.usage is not None:
            unpriced = self.usage.unpriced_requests
            out.append(f"Language models: {self.usage.requests:,} requests, "
                       f"{self.usage.tokens:,} tokens, {usd(self.usage.cost_usd)}"
                       + (f" ({unpriced:,} answers from unpriced models not in the cost)."
                          if unpriced else "."))
        if self.offline_sections:
            out.append("Written by the offline writer (no model): "
                       + ", ".join(self.offline_sections) + ".")
        return out


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    subtitle: str
    name: str  # the requirements' name
    catalog_as_of: str
    sections: tuple[Section, ...]
    footer: Footer
    #: report-wide remarks shown under the subtitle (e.g. that no narrative was generated)
    notes: tuple[str, ...] = field(default=())


def number(value: float) -> str:
    """A quantity as written by the engine, with thousands separators and no float noise."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1e-4:
        return f"{value:,}"  # the shortest repr: exactly the engine's figure
    return f"{value:,.12f}".rstrip("0")


def plural(count: int, noun: str) -> str:
    """``1 line item``, ``2 line items``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def cell_text(value: Cell, kind: ColumnKind) -> str:
    """A cell as Markdown and HTML show it (JSON keeps ``value``)."""
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if kind == "money":
            # a negative figure in a money column is a difference (a saving that is a
            # cost): written in words, never with a sign
            return usd(value) if value >= 0 else usd_change(value)
        if kind == "price":
            return unit_price(value)
        if kind == "percent":
            return f"{number(value)}%"
        return number(value)
    return str(value)
