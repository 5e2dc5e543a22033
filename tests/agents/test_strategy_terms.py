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


ALTERNATIVES = SPECS[("research", "alternatives")].offline


def nightly_upscaling() -> dict:
    """A GPU batch on spot beside an always-on portal (made up)."""
    return {"name": "upscaling", "users": ["eu"], "availability_target": 99.5,
            "preferences": {"spot_ok": True, "providers": ["gcp", "aws"]},
            "workloads": [
                {"name": "upscaler", "type": "worker", "vcpu": 8, "memory_gb": 32,
                 "interruptible": True,
                 "gpu": {"count": 2, "memory_gb": 24, "hours_per_month": 240}},
                {"name": "portal", "type": "web_service", "peak_rps": 10,
                 "cpu_ms_per_request": 50, "memory_gb": 1}]}


def test_a_design_on_spot_is_offered_a_term_on_its_steady_machines_from_its_own_total():
    # "Commit once usage is steady. Start on demand; the spot option would price the design
    # at $329.01 ($336.50 less)": the design's own total, on spot already
    result = assess(nightly_upscaling())
    rec = result.options[0]
    best = max((c for c in rec.commitment[1:] if c.purchase_option != "spot"),
               key=lambda c: c.savings_usd)
    total = rec.monthly_cost_usd - best.savings_usd
    text = strategy(result)
    assert text.startswith(f"**Commit once usage is steady.** Start on demand; the "
                           f"{best.purchase_option} option would price the design at "
                           f"${total:,.2f} a month (${best.savings_usd:,.2f} less")
    assert "spot option" not in text
    assert (f"Worth a look on the recommended option: the {best.purchase_option} purchase "
            f"option on the machines that run all month prices it at ${total:,.2f} a month"
            ) in ALTERNATIVES(result)


def test_no_term_is_worth_a_look_where_the_design_already_uses_the_one_asked():
    assert "Worth a look" not in ALTERNATIVES(assess(example("eu-fintech")))


def test_over_budget_the_way_within_it_comes_first():
    # saas-startup on a tenth of its budget: over budget now, the strategy opens with the
    # largest lever, before a commitment that saves a fraction of the gap
    doc = example("saas-startup")
    doc["business"] = {**doc["business"], "monthly_budget_usd": 150}
    result = assess(doc)
    assert result.budget.within_budget is False and result.budget.levers
    text = strategy(result)
    first = result.budget.levers[0]
    assert text.startswith(f"**To come within budget**: the largest single saving is "
                           f"{first.change}, ")
    assert "**Commit once usage is steady.**" in text
    # within budget (growth may pass it later), the budget lever stays after the rest
    grows = example("saas-startup")
    grows["business"] = {**grows["business"], "monthly_budget_usd": 800}
    later = assess(grows)
    assert later.budget.levers and later.budget.within_budget is True
    assert strategy(later).startswith("**Commit once usage is steady.**")
    assert "**To stay within budget as the business grows**" in strategy(later)


def test_the_choice_lists_each_option_not_chosen_with_its_monthly_difference():
    """"Not chosen: AWS sa-east-1 ($1,268.65 more (32.9%) a month)" read as if the
    percentage were monthly, its parentheses nested in the sentence's."""
    result = assess(example("video-transcoding"))
    text = SPECS[("cto", "choice")].offline(result)
    listed = text.split("Not chosen:\n\n", 1)[1].splitlines()
    names = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}
    for a, line in zip(result.recommended.alternatives, listed, strict=True):
        change = f"${abs(a.delta_usd):,.2f} {'more' if a.delta_usd > 0 else 'less'}"
        assert line.startswith(f"- {names[a.provider]} {a.region}: {change} a month "
                               f"({abs(a.delta_pct):g}%)"), line
    # a cheaper option ranked lower says why, after its figures
    cheaper = [line for a, line in zip(result.recommended.alternatives, listed, strict=True)
               if a.delta_usd < 0]
    assert cheaper and all("less a month" in line and "; " in line for line in cheaper)


def test_the_summary_says_where_the_nearest_alternatives_difference_comes_from():
    """"The nearest alternative ... costs $1,139.91 more" and no more: an executive asks
    where. "most of it" only where the largest part is most of the difference."""
    summary = SPECS[("cto", "executive_summary")]
    for name in ("saas-startup", "eu-fintech", "azure-enterprise", "nonprofit-site"):
        result = assess(example(name))
        nearest = min(result.recommended.alternatives, key=lambda a: abs(a.delta_usd))
        top = nearest.differences[0]
        text = summary.offline(result)
        change = f"${abs(top.delta_usd):,.2f} {'more' if top.delta_usd > 0 else 'less'}"
        most = (top.delta_usd * nearest.delta_usd > 0
                and abs(nearest.delta_usd) / 2 <= abs(top.delta_usd) <= abs(nearest.delta_usd))
        said = (f", most of it in {top.part}, {change}" if most
                else f"; its largest difference: {top.part} {change}")
        assert said in text, (name, text)
        # the model is given the same, so its text may say it
        assert any(f.startswith("nearest alternative: ") and nearest.differences_text in f
                   for f in summary.facts(result)), name
