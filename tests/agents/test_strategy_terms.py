"""The CTO strategy speaks of the commitment the requirements ask for.

A UK florist asking for a 3-year commitment got "Commit once usage is steady. Start on
demand; the reserved_3y option would price the design at $810.03", the figure of the design
already committed as asked; and "Existing provider: azure is preferred when within the
engine's tolerance of the cheapest option" where Azure was the only provider allowed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from infra_mind.agents.sections import SPECS
from infra_mind.engine.assess import assess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
strategy = SPECS[("cto", "strategy")].offline


def example(name: str, **preferences) -> dict:
    doc = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    doc["preferences"] = {**doc.get("preferences", {}), **preferences}
    return doc


def test_a_design_committed_as_asked_says_so_with_the_on_demand_figure():
    result = assess(example("eu-fintech"))  # commitment: 1y
    rec = result.options[0]
    text = strategy(result)
    assert text.startswith("**Committed as asked.** The design prices the machines that run "
                           "all month on the 1-year term the requirements ask for")
    assert (f"${rec.monthly_cost_usd:,.2f} a month, against "
            f"${rec.commitment[0].monthly_usd:,.2f} with every machine on demand") in text
    assert "Commit once usage is steady" not in text


def test_without_a_commitment_asked_the_strategy_offers_one():
    text = strategy(assess(example("saas-startup")))
    assert text.startswith("**Commit once usage is steady.**")


def test_the_existing_provider_is_named_only_where_there_was_a_choice():
    one = assess(example("saas-startup", providers=["azure"], existing_provider="azure"))
    assert "**Existing provider**" not in strategy(one)
    several = assess(example("saas-startup", existing_provider="azure"))
    assert "**Existing provider**: azure is preferred" in strategy(several)
