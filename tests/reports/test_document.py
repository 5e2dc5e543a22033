"""How figures are written, the footer's usage totals, and report file names."""

from __future__ import annotations

import pytest

from infra_mind.engine.money import unit_price, usd
from infra_mind.reports.advice import usage_totals
from infra_mind.reports.document import Column, Footer, Table, UsageTotals, cell_text, number
from infra_mind.reports.render import report_filename


@pytest.mark.parametrize("amount, text", [(1234.5, "$1,234.50"), (0, "$0.00"),
                                          (1e6, "$1,000,000.00")])
def test_usd(amount, text):
    assert usd(amount) == text


def test_a_negative_money_cell_is_a_difference_in_words():
    """Reports write money with the engine's formatter: a negative figure in a money
    column (a purchase option dearer than on demand) reads as a difference, never with a
    sign (it was "-$582.44")."""
    assert cell_text(-582.44, "money") == "$582.44 less"
    assert cell_text(582.44, "money") == "$582.44"


@pytest.mark.parametrize("amount, text", [(5.672, "$5.672"), (0.1, "$0.10"), (3, "$3.00"),
                                          (0.0000123, "$0.0000123"), (1234.5, "$1,234.50")])
def test_unit_price_keeps_every_digit(amount, text):
    assert unit_price(amount) == text


@pytest.mark.parametrize("value, text", [(1460.0, "1,460"), (16.6667, "16.6667"), (7, "7"),
                                         (62.755, "62.755"), (0.0000001, "0.0000001")])
def test_number(value, text):
    assert number(value) == text


def test_cells():
    assert cell_text(None, "money") == "—"
    assert cell_text(True, "bool") == "yes" and cell_text(False, "text") == "no"
    assert cell_text(12.5, "percent") == "12.5%"
    assert cell_text("a|b", "text") == "a|b"


def test_table_rows_match_columns():
    with pytest.raises(ValueError, match="row of 1 cells for 2 columns"):
        Table((Column("a"), Column("b")), (("x",),))


@pytest.mark.parametrize("usage, totals", [
    (None, None),
    ({}, None),
    ({"requests": 3, "input_tokens": 10, "output_tokens": 5, "cost_usd": 0.5},
     UsageTotals(3, 15, 0.5)),
    ({"total": {"requests": 2, "tokens": 40, "cost_usd": 0.1},
      "providers": {"x": {"requests": 99}}}, UsageTotals(2, 40, 0.1)),
    ({"providers": {"a": {"requests": 1, "input_tokens": 1, "output_tokens": 1,
                          "cost_usd": 0.25},
                    "b": {"requests": 2, "input_tokens": 3, "output_tokens": 4}},
      "agents": {"cto": {"requests": 3}}}, UsageTotals(3, 9, 0.25)),
    ({"something": "else"}, None),
    ({"total": {"requests": 4, "failures": 1, "cache_hits": 2, "input_tokens": 100,
                "output_tokens": 20, "cost_usd": 0.01, "unpriced_requests": 1},
      "providers": {}, "agents": {}}, UsageTotals(4, 120, 0.01, 1)),
])
def test_usage_totals(usage, totals):
    assert usage_totals(usage) == totals


def test_footer_lines():
    footer = Footer("2026-01-19", UsageTotals(1200, 34567, 1.5), ("Risks", "Strategy"))
    assert footer.lines() == [
        "Prices from the catalog; the oldest price used is dated 2026-01-19.",
        "Language models: 1,200 requests, 34,567 tokens, $1.50.",
        "Written by the offline writer (no model): Risks, Strategy."]
    unpriced = Footer("2026-01-19", UsageTotals(3, 10, 0.0, 2))
    assert unpriced.lines()[1] == ("Language models: 3 requests, 10 tokens, $0.00 (2 answers "
                                   "from unpriced models not in the cost).")


@pytest.mark.parametrize("name, expected", [
    ("Telehealth platform (HIPAA)", "telehealth-platform-hipaa-executive.md"),
    ('"; rm -rf / <x>', "rm-rf-x-executive.md"),
    ("Ünïcode only ☃", "unicode-only-executive.md"),
    ("☃", "assessment-executive.md"),
])
def test_report_filename_is_a_safe_slug(name, expected):
    assert report_filename({"requirements": {"name": name}}, "executive", "md") == expected
    assert report_filename({}, "technical", "html") == "assessment-technical.html"
