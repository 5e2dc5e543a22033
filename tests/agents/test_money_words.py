"""Money reads one way in what the agents see and write, and the number guard accepts it.

The offline writer and the facts given to a model write money with ``engine.money``:
``$1,693.97``, a difference in words (``$988.49 under budget``), never "$-988.49",
"-$5.00" or "1,693.97 USD". The guard must still find each such figure in the result: the
result stores a budget gap or a cost difference signed, the text writes its size, and the
guard matches a written amount to a stored figure of either sign, to the cent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra_mind.agents.numbers import figures_of, numbers_in, unmatched_numbers
from infra_mind.agents.sections import SPECS
from infra_mind.engine.assess import assess
from infra_mind.engine.money import budget_position, usd, usd_change
from tests.factories import CRAFT_SHOP

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
SIGNED = ("$-", "-$", "−$", " USD", "USD ")


@pytest.fixture(scope="module")
def results():
    return {p.stem: assess(yaml.safe_load(p.read_text())) for p in EXAMPLES}


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_facts_and_offline_text_write_money_one_way(results, name):
    """The CTO's facts said "cost minus budget $-988.49", SKU lines "0.0416 USD"."""
    result = results[name]
    for spec in SPECS.values():
        for text in [*spec.facts(result), spec.offline(result)]:
            assert not [s for s in SIGNED if s in text], (spec.key, text)


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_the_budget_is_said_as_a_position(results, name):
    result = results[name]
    budget, rec = result.budget, result.recommended
    if budget.monthly_budget_usd is None or rec is None:
        return
    position = budget_position(rec.monthly_cost_usd, budget.monthly_budget_usd)
    facts = SPECS[("cto", "executive_summary")].facts(result)
    assert any(position in line for line in facts)
    assert position in SPECS[("cto", "executive_summary")].offline(result)
    # the amount written is the stored gap's size, which the guard accepts
    assert unmatched_numbers(position, figures_of(result.model_dump(mode="json"))) == []


def test_a_written_difference_matches_the_signed_figure_to_the_cent():
    stored = figures_of({"budget": {"gap_usd": -988.49}, "alternative": {"delta_usd": 46.38}})
    assert unmatched_numbers("$988.49 under budget", stored) == []
    assert unmatched_numbers(usd_change(-988.49, "over budget", "under budget"), stored) == []
    assert unmatched_numbers("$46.38 more a month", stored) == []
    # the size is checked, not only the sign: a cent off is an invented figure
    assert unmatched_numbers("$988.48 under budget", stored) == ["$988.48"]
    assert unmatched_numbers("$46.39 more", stored) == ["$46.39"]


def test_each_money_form_reads_as_one_amount():
    """Every form the formatter writes is one money token of the right size."""
    for text, value in [("$1,693.97", 1693.97), ("$988.49 under budget", 988.49),
                        ("$0.0416", 0.0416), ("$17.28 a month", 17.28)]:
        (token,) = numbers_in(text)
        assert (token.kind, token.value) == ("money", value)


def test_over_budget_the_summary_names_what_fits_the_budget():
    # a two-person shop under PCI DSS: only the processor's hosted page fits its $60; the
    # executive summary says so where an executive reads "over budget"
    shop = CRAFT_SHOP
    result = assess(shop)
    (fits,) = [lv for lv in result.budget.levers if lv.within_budget]
    line = (f"Within budget with one change: {fits.change} "
            f"({usd(fits.monthly_cost_usd)} a month).")
    summary = SPECS[("cto", "executive_summary")]
    assert line in summary.offline(result)
    assert f"budget levers: {line}" in summary.facts(result)
    assert unmatched_numbers(line, figures_of(result.model_dump(mode="json"))) == []
    # within budget, nothing is said of levers
    roomy = assess({**shop, "business": {"monthly_budget_usd": 500}})
    assert "Within budget with one change" not in summary.offline(roomy)
