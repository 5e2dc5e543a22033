"""The number guard: what counts as a number in prose, and when it matches a result's figures."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from infra_mind.agents.numbers import (
    Figures,
    NumberToken,
    figures_of,
    numbers_in,
    unmatched_numbers,
)

RESULT = {
    "requirements": {"name": "Clinic portal", "monthly_budget_usd": 5000, "frameworks": ["hipaa"]},
    "recommended": {
        "provider": "aws", "region": "us-east-1", "monthly_cost_usd": 3912.47,
        "reasons": ["Cheapest compliant option: saves $123.45 a month against azure eastus2"],
    },
    "options": [
        {"provider": "aws", "region": "us-east-1", "monthly_cost_usd": 3912.47,
         "line_items": [
             {"sku": "m6i.2xlarge", "quantity": 2190, "unit": "hours", "unit_price_usd": 0.384,
              "monthly_usd": 840.96, "as_of": "2026-11-28"},
             {"sku": "db.r6g.xlarge", "quantity": 730, "unit": "hours", "unit_price_usd": 0.48,
              "monthly_usd": 350.4, "as_of": "2026-11-28"},
         ],
         "commitment": [{"purchase_option": "1y no upfront", "monthly_usd": 2801.3,
                         "savings_usd": 1111.17, "savings_pct": 28.4, "coverage_pct": 91.5,
                         "break_even_month": None}],
         "compliance_gaps": 1, "constraints_met": True},
        {"provider": "azure", "region": "eastus2", "monthly_cost_usd": 4035.92,
         "constraints_met": False},
    ],
    "budget": {"monthly_budget_usd": 5000, "within_budget": True, "gap_usd": -1087.53,
               "utilisation": 0.782},
    "projection": [{"month": 1, "monthly_cost_usd": 3912.47},
                   {"month": 24, "monthly_cost_usd": 6120.0, "p10": 5210.5, "p90": 7302.8}],
    "compliance": [{"framework": "hipaa", "reference": "§164.312(a)(1)", "status": "gap",
                    "remediation_monthly_usd": 45.0}],
    "catalog_as_of": "2026-11-28",
}

PARAGRAPH = """\
### 1. The choice

AWS us-east-1 at **$3,912.47 a month** (about $3.9k) beats Azure eastus2 at $4,035.92,
saving ~$123 a month. Two m6i.2xlarge instances run 24/7: 2,190 hours at $0.384/hour,
$840.96 a month; a db.r6g.xlarge adds $350.40 (730 hours at `0.48`).

1. A 1y no-upfront commitment brings the bill to $2,801.30, a −28.4% change (saves
   $1,111.17), and covers 91.5% of machines.
2. The budget of USD 5,000 leaves $1,087.53 spare: 78% of it is used.
3. By month 24 the P50 reaches $6.1k (P10 $5,210.50, P90 $7,302.80).

HIPAA §164.312(a)(1) is the one gap (remediation $45/month); see
[the AWS HIPAA page](https://aws.amazon.com/compliance/hipaa-2026/). Prices as of 2026-11-28.
"""


def parsed(text: str) -> list[tuple[str, float, str]]:
    return [(t.raw, t.value, t.kind) for t in numbers_in(text)]


def raws(text: str) -> list[str]:
    return [t.raw for t in numbers_in(text)]


# --- what counts as a number ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("$1,234.56", [("$1,234.56", 1234.56, "money")]),
    ("$ 1,234", [("$ 1,234", 1234.0, "money")]),
    ("USD 1,234", [("USD 1,234", 1234.0, "money")]),
    ("1,234.56 USD", [("1,234.56 USD", 1234.56, "money")]),
    ("US$5", [("US$5", 5.0, "money")]),
    ("€1,200 and £0.99", [("€1,200", 1200.0, "money"), ("£0.99", 0.99, "money")]),
    ("EUR 12 or 12 GBP", [("EUR 12", 12.0, "money"), ("12 GBP", 12.0, "money")]),
    ("$1.2k", [("$1.2k", 1200.0, "money")]),
    ("$1.2K", [("$1.2K", 1200.0, "money")]),
    ("$3.4M", [("$3.4M", 3_400_000.0, "money")]),
    ("$2B", [("$2B", 2e9, "money")]),
    ("$2bn", [("$2bn", 2e9, "money")]),
    ("$2 bn", [("$2 bn", 2e9, "money")]),
    ("$3m", [("$3m", 3e6, "money")]),
    ("1.5 million", [("1.5 million", 1.5e6, "plain")]),
    ("$1.5 million", [("$1.5 million", 1.5e6, "money")]),
    ("20 thousand requests", [("20 thousand", 20_000.0, "plain")]),
    ("2 billion rows", [("2 billion", 2e9, "plain")]),
    ("10k requests", [("10k", 10_000.0, "plain")]),
    ("12%", [("12%", 12.0, "percent")]),
    ("12.5 %", [("12.5 %", 12.5, "percent")]),
    ("12 percent", [("12 percent", 12.0, "percent")]),
    ("12 per cent", [("12 per cent", 12.0, "percent")]),
    ("-12%", [("-12%", -12.0, "percent")]),
    ("a −12% change", [("−12%", -12.0, "percent")]),
    ("a gap of -$1,087.53", [("-$1,087.53", -1087.53, "money")]),
    ("$-1,087.53", [("$-1,087.53", -1087.53, "money")]),
    ("(−3)", [("−3", -3.0, "plain")]),
    ("10–20", [("10", 10.0, "plain"), ("20", 20.0, "plain")]),
    ("10-20", [("10", 10.0, "plain"), ("20", 20.0, "plain")]),
    ("10 - 20", [("10", 10.0, "plain"), ("20", 20.0, "plain")]),
    ("10–20%", [("10", 10.0, "percent"), ("20%", 20.0, "percent")]),
    ("$10–20k", [("$10", 10_000.0, "money"), ("20k", 20_000.0, "money")]),
    ("~300", [("300", 300.0, "plain")]),
    ("≈ $300", [("$300", 300.0, "money")]),
    ("2x faster", [("2x", 2.0, "plain")]),
    ("2× faster", [("2", 2.0, "plain")]),
    ("24/7", [("24", 24.0, "plain"), ("7", 7.0, "plain")]),
    ("as of 2026-11-28", [("2026", 2026.0, "plain"), ("11", 11.0, "plain"),
                          ("28", 28.0, "plain")]),
    ("a $500-a-month line", [("$500", 500.0, "money")]),
    ("a 3-year term", [("3", 3.0, "plain")]),
    ("$1,234/month at 0.0416/hour", [("$1,234", 1234.0, "money"),
                                     ("0.0416", 0.0416, "plain")]),
    ("costs 730.", [("730", 730.0, "plain")]),
    ("$.50", [("$.50", 0.5, "money")]),
    ("a .5 share", [(".5", 0.5, "plain")]),
    ("**$3,912.47**", [("$3,912.47", 3912.47, "money")]),
    ("ISO 27001", [("27001", 27001.0, "plain")]),
    ("3,4", [("3", 3.0, "plain"), ("4", 4.0, "plain")]),
])
def test_formats(text: str, expected: list[tuple[str, float, str]]) -> None:
    got = parsed(text)
    assert [(r, k) for r, _, k in got] == [(r, k) for r, _, k in expected]
    assert [v for _, v, _ in got] == pytest.approx([v for _, v, _ in expected])


@pytest.mark.parametrize(("text", "decimals", "scale"), [
    ("$1,234.56", 2, 1), ("$1.2k", 1, 1e3), ("$3.4M", 1, 1e6), ("$2B", 0, 1e9),
    ("1.5 million", 1, 1e6), ("0.0416", 4, 1), ("12.5 %", 1, 1),
])
def test_decimals_and_scale(text: str, decimals: int, scale: float) -> None:
    [token] = numbers_in(text)
    assert (token.decimals, token.scale) == (decimals, scale)


def test_token_is_frozen() -> None:
    token = numbers_in("$5")[0]
    assert token == NumberToken(raw="$5", value=5.0, kind="money", decimals=0, scale=1.0)
    with pytest.raises(AttributeError):
        token.value = 6.0  # type: ignore[misc]


@pytest.mark.parametrize("text", [
    "m6i.2xlarge", "t4g.medium", "t4g", "us-east-1", "eu-west-2", "eastus2", "P90", "P10",
    "P90/P10", "3y", "1y", "Gen2", "Standard_D4s_v5", "gp3", "A100", "COVID-19", "16GiB", "2nd",
    "5m", "0x1F", "§164.312(a)(1)", "§ 164.308(a)(7)(ii)", "§§ 164.308–164.316",
    "164.312(a)(1)", "version 1.2.3", "https://example.com/prices/2026/v2",
    "www.example.com/7", "[docs](https://example.com/a/99)"
])
def test_identifiers_and_references_are_skipped(text: str) -> None:
    assert numbers_in(text) == []


@pytest.mark.parametrize("text", [
    "1. first", "2) second", "  10. nested", "- 3. in a bullet", "> 4. quoted",
    "### 1. Heading", "## 2.1 Sizing", "# 3 Risks",
])
def test_list_markers_and_heading_numbers_are_skipped(text: str) -> None:
    assert numbers_in(text) == []


def test_list_marker_only_at_line_start() -> None:
    assert raws("1. Save $840.96\n2. then 12. more") == ["$840.96", "12"]
    assert raws("12.5% at line start") == ["12.5%"]
    assert raws("## 2026 roadmap") == ["2026"]


def test_link_text_is_read_but_its_target_is_not() -> None:
    assert raws("[AWS 730 hours](https://aws.amazon.com/ec2/730)") == ["730"]


# --- figures ---------------------------------------------------------------------------------

def test_figures_of_walks_values_not_keys_nor_bools() -> None:
    figs = figures_of({"a1": 3.5, 99: [1, (2.25, {"b": True})], "c": None, "d": False})
    assert list(figs) == [1.0, 2.25, 3.5]


def test_figures_of_reads_strings_with_the_tokenizer() -> None:
    figs = figures_of({"reasons": ["saves $123.45 a month (28%) in us-east-1 on m6i.2xlarge"]})
    assert list(figs) == [28.0, 123.45]


def test_figures_of_dates() -> None:
    assert list(figures_of(date(2026, 11, 28))) == [11.0, 28.0, 2026.0]
    assert list(figures_of("2026-11-28")) == [11.0, 28.0, 2026.0]
    assert {11.0, 28.0, 2026.0} <= set(figures_of("2026-11-28T10:30:00Z"))


def test_figures_union_and_several_objects() -> None:
    a, b = figures_of(1.5), figures_of([2.5, 1.5])
    assert list(a.union(b)) == list(figures_of(1.5, [2.5])) == list(figures_of(a, b)) == [1.5, 2.5]
    assert len(a.union(b)) == 2


def test_figures_are_sorted_and_immutable() -> None:
    figs = Figures([3, 1, 2, 1])
    assert figs.values == (1.0, 2.0, 3.0)
    with pytest.raises(AttributeError):
        figs.values = ()  # type: ignore[misc]


def test_figures_of_a_large_result() -> None:
    result = {"items": [{"monthly_usd": i * 1.01, "quantity": i} for i in range(5000)]}
    figs = figures_of(result)
    assert len(figs) > 9000
    assert unmatched_numbers("$4,999.50 and $3,030.00 for 4999 hours", figs) == []
    assert unmatched_numbers("$4,999.52", figs) == ["$4,999.52"]


# --- matching ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "figures", "unmatched"), [
    ("$1,234.56", [1234.56], []),
    ("$1,234.56", [1234.555], []),
    ("$1,234.56", [1234.57], ["$1,234.56"]),
    ("$1,235", [1234.56], []),
    ("$1,234", [1234.56], ["$1,234"]),
    ("$1.2k", [1234.56], []),
    ("$1.3k", [1234.56], ["$1.3k"]),
    ("$1k", [1234.56], []),
    ("$1k", [1500.01], ["$1k"]),
    ("$3.4M", [3_412_345.0], []),
    ("$3.5M", [3_412_345.0], ["$3.5M"]),
    ("1.5 million", [1_549_000.0], []),
    ("0.0416 per hour", [0.0416], []),
    ("0.042 per hour", [0.0416], []),
    ("0.04 per hour", [0.0416], []),
    ("0.0417 per hour", [0.0416], ["0.0417"]),
    ("730 hours", [730], []),
    ("731 hours", [730], ["731"]),
    ("28.4%", [28.4], []),
    ("28%", [28.4], []),
    ("29%", [28.4], ["29%"]),
    ("28.4%", [0.284], []),
    ("28%", [0.284], []),
    ("28.5%", [0.284], ["28.5%"]),
    ("78%", [0.782], []),
    ("−12%", [12.0], []),
    ("12%", [-12.0], []),
    ("-$1,087.53", [1087.53], []),
    ("$1,087.53", [-1087.53], []),
    ("12 percent", [0.12], []),
    ("a 28 plain", [0.284], ["28"]),
    ("$0.28", [0.284], []),
    ("10–20", [10, 20], []),
    ("10–25", [10, 20], ["25"]),
    ("2026-11-28", [date(2026, 11, 28)], []),
    ("2026-12-28", [date(2026, 11, 28)], ["12"]),
    ("27001", [], ["27001"]),
    ("27001", [27001], []),
])
def test_matching(text: str, figures: list[object], unmatched: list[str]) -> None:
    assert unmatched_numbers(text, figures_of(figures)) == unmatched


@pytest.mark.parametrize(("text", "unmatched"), [
    ("two zones, Phase 1, 3 steps, 10 nodes", []),
    ("0 downtime", []),
    ("11 nodes", ["11"]),
    ("2x faster", []),
    ("30x faster", ["30x"]),
    ("$3", ["$3"]),
    ("3%", ["3%"]),
    ("3.0 nodes", ["3.0"]),
    ("3k users", ["3k"]),
    ("-3 nodes", ["-3"]),
    ("100% of machines", []),
    ("100.0% of machines", []),
    ("99% of machines", ["99%"]),
])
def test_small_integers_and_100_percent_are_allowed(text: str, unmatched: list[str]) -> None:
    assert unmatched_numbers(text, figures_of()) == unmatched


def test_small_int_max() -> None:
    assert unmatched_numbers("12 nodes", figures_of(), small_int_max=12) == []
    assert unmatched_numbers("2 nodes", figures_of(), small_int_max=1) == ["2"]


def test_realistic_paragraph_passes() -> None:
    assert unmatched_numbers(PARAGRAPH, figures_of(RESULT)) == []


def test_one_invented_price_is_reported() -> None:
    text = PARAGRAPH.replace("$840.96", "$999.99")
    assert unmatched_numbers(text, figures_of(RESULT)) == ["$999.99"]


def test_invented_numbers_in_code_free_prose_are_all_reported() -> None:
    text = "Reserved pricing cuts 41% (about $1,604.11), 3 weeks of work at $12k."
    assert unmatched_numbers(text, figures_of(RESULT)) == ["41%", "$1,604.11", "$12k"]


# --- properties ----------------------------------------------------------------------------------

AMOUNTS = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
FORMATS = [
    lambda x: f"${x:,.2f}",
    lambda x: f"${x:,.0f}",
    lambda x: f"{x:,.1f}",
    lambda x: f"${x / 1000:.1f}k",
]


@settings(max_examples=300, deadline=None)
@given(x=AMOUNTS, fmt=st.sampled_from(FORMATS))
def test_a_figure_formatted_is_accepted(x: float, fmt) -> None:
    text = f"It costs {fmt(x)} a month."
    assert len(numbers_in(text)) == 1
    assert unmatched_numbers(text, figures_of(x), small_int_max=-1) == []


@settings(max_examples=300, deadline=None)
@given(figures=st.lists(AMOUNTS, max_size=20), v=AMOUNTS,
       fmt=st.sampled_from(FORMATS[:2]))
def test_a_far_value_is_rejected_as_money(figures: list[float], v: float, fmt) -> None:
    far = all(abs(v - s * f) > max(1.0, 0.01 * abs(f)) for f in figures for s in (1, -1))
    assume(far)
    written = fmt(v)
    assert unmatched_numbers(f"It costs {written} a month.", figures_of(figures)) == [written]


def test_a_price_in_inline_code_is_still_checked() -> None:
    figures = figures_of({"monthly_cost_usd": 511.51})
    assert unmatched_numbers("Runs on `m6i.large` for `$511.51`.", figures) == []
    assert unmatched_numbers("Only `$999.99` with a plan.", figures) == ["$999.99"]
