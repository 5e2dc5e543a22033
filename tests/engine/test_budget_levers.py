"""Budget levers: over budget (now or with growth), what one changed setting would save.

Every figure of a lever must be what the engine answers when the user makes that change:
the tests apply each lever to the requirements, assess again in the same provider and
region, and compare.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra_mind.engine.assess import assess
from infra_mind.engine.money import outlook, together_note
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.result import AssessmentResult, BudgetLever
from tests.engine.test_properties import catalog
from tests.factories import CRAFT_SHOP

API = {"name": "api", "type": "web_service", "peak_rps": 200, "avg_rps": 50,
       "cpu_ms_per_request": 30, "memory_gb": 2}
DB = {"name": "db", "type": "database", "engine": "postgres", "storage_gb": 100,
      "growth_gb_per_month": 10}
JOBS = {"name": "jobs", "type": "worker", "vcpu": 8, "memory_gb": 16, "interruptible": True}


def business(budget: float, growth: float = 0.0, **top: Any) -> dict:
    return {"name": "tight budget", "users": ["us"], "availability_target": 99.9,
            "compliance": ["soc2"],
            "business": {"monthly_budget_usd": budget, "growth_rate_monthly": growth,
                         "horizon_months": 12},
            "workloads": [API, DB, JOBS], **top}


def applied(req: Requirements, levers: list[BudgetLever], provider: str, region: str
            ) -> AssessmentResult:
    """``req`` with ``levers`` applied, assessed in one provider and region."""
    data = req.model_dump(mode="json")
    for lever in levers:
        if lever.setting.startswith("preferences."):
            data["preferences"][lever.setting.removeprefix("preferences.")] = lever.value
        else:
            data[lever.setting] = lever.value
    data["preferences"] |= {"providers": [provider], "regions": [region]}
    return assess(data, catalog())


@pytest.fixture(scope="module")
def over() -> AssessmentResult:
    return assess(business(budget=300), catalog())


def test_over_budget_the_levers_are_what_the_engine_answers_with_the_change(over):
    rec = over.options[0]
    levers = over.budget.levers
    assert over.budget.within_budget is False and levers
    settings = {lv.setting for lv in levers}
    assert {"availability_target", "preferences.commitment", "preferences.spot_ok",
            "preferences.managed_services"} <= settings
    assert [lv.saving_usd for lv in levers] == sorted((lv.saving_usd for lv in levers),
                                                      reverse=True)
    for lever in levers:
        again = applied(over.requirements, [lever], rec.provider, rec.region)
        option = again.options[0]
        assert option.monthly_cost_usd == pytest.approx(lever.monthly_cost_usd, abs=0.005)
        assert lever.saving_usd == pytest.approx(rec.monthly_cost_usd
                                                 - lever.monthly_cost_usd, abs=0.005)
        assert lever.saving_usd >= 1
        assert option.compliance_gaps - rec.compliance_gaps == lever.compliance_gaps_added
        assert lever.within_budget is (lever.monthly_cost_usd <= 300)
        passes = next((m.month for m in again.projection if m.monthly_cost_usd > 300), None)
        assert lever.over_budget_from_month == passes


def test_the_availability_lever_is_the_smallest_step_down_that_saves(over):
    lever = next(lv for lv in over.budget.levers if lv.setting == "availability_target")
    assert lever.value == 99.5  # 99.9: two zones and a standby; 99.5: one zone
    assert lever.change == "availability target 99.5% instead of 99.9%"
    assert "1 availability zone instead of 2" in lever.gives_up
    assert "databases without a standby" in lever.gives_up
    # a 99.95% business steps down to 99.9% only if that saves; whichever step is
    # offered, no higher lower step saves anything
    high = assess(business(budget=300, availability_target=99.95), catalog())
    rec = high.options[0]
    step = next(lv for lv in high.budget.levers if lv.setting == "availability_target")
    for target in (99.9, 99.5, 99.0):
        if target <= step.value:
            break
        data = high.requirements.model_dump(mode="json") | {"availability_target": target}
        data["preferences"] |= {"providers": [rec.provider], "regions": [rec.region]}
        assert assess(data, catalog()).options[0].monthly_cost_usd > (
            rec.monthly_cost_usd - 1)


def test_self_managed_stores_name_the_stores_and_count_the_gaps_they_open(over):
    lever = next(lv for lv in over.budget.levers
                 if lv.setting == "preferences.managed_services")
    assert lever.change == "self-managed db (database), run by your team on machines"
    assert lever.value is False
    assert lever.compliance_gaps_added > 0  # SOC 2: point-in-time backups, TLS-only


def test_spot_is_offered_for_interruptible_work_only(over):
    lever = next(lv for lv in over.budget.levers if lv.setting == "preferences.spot_ok")
    assert lever.change == "spot capacity for jobs"
    steady = business(budget=300)
    steady["workloads"] = [API, DB, {**JOBS, "interruptible": False}]
    result = assess(steady, catalog())
    assert all(lv.setting != "preferences.spot_ok" for lv in result.budget.levers)


def test_all_levers_at_once_take_the_larger_of_two_on_one_setting(over):
    rec = over.options[0]
    levers = over.budget.levers
    terms = [lv for lv in levers if lv.setting == "preferences.commitment"]
    assert {lv.value for lv in terms} == {"1y", "3y"}
    assert [lv.together for lv in terms] == [True, False]  # larger saving first
    assert terms[0].saving_usd > terms[1].saving_usd
    assert together_note(levers) == f" (not {terms[1].change})"
    again = applied(over.requirements, [lv for lv in levers if lv.together],
                    rec.provider, rec.region)
    assert again.options[0].monthly_cost_usd == pytest.approx(
        over.budget.levers_together_usd, abs=0.005)
    assert over.budget.levers_together_usd < min(lv.monthly_cost_usd for lv in levers)
    passes = next((m.month for m in again.projection if m.monthly_cost_usd > 300), None)
    assert over.budget.levers_together_over_budget_from_month == passes


def test_levers_appear_when_growth_passes_the_budget_and_not_otherwise():
    calm = assess(business(budget=5000), catalog())
    assert calm.budget.within_budget and calm.budget.levers == []
    assert calm.budget.levers_together_usd is None
    cost = calm.options[0].monthly_cost_usd
    growing = assess(business(budget=cost * 1.05, growth=0.1), catalog())
    assert growing.budget.within_budget is True
    assert growing.budget.levers
    months = [lv.over_budget_from_month for lv in growing.budget.levers]
    # each lever lowers the cost, so the budget is passed no sooner than without it
    first = next(m.month for m in growing.projection
                 if m.monthly_cost_usd > cost * 1.05)
    assert all(m is None or m >= first for m in months)
    no_budget = business(budget=1)
    del no_budget["business"]["monthly_budget_usd"]
    assert assess(no_budget, catalog()).budget.levers == []


@pytest.mark.parametrize(("month", "text"), [
    (None, "within budget for 12 months"), (1, "over budget now"),
    (7, "over budget from month 7")])
def test_the_outlook_in_words(month, text):
    assert outlook(month, 12) == text


def test_a_step_down_that_keeps_two_zones_does_not_claim_one_failure_stops_the_service():
    result = assess(business(budget=300, availability_target=99.99), catalog())
    lever = next(lv for lv in result.budget.levers if lv.setting == "availability_target")
    assert lever.value == 99.95
    assert lever.gives_up == ("2 availability zones instead of 3; 2 app servers at the "
                              "least instead of 3: a zone failure leaves 1 zone carrying "
                              "the service")


def test_a_setting_already_at_its_cheapest_offers_no_lever_and_the_budget_says_so():
    # every setting at its cheapest (arm64 is allowed by default): nothing to offer
    cheap = business(budget=50, availability_target=99.0,
                     preferences={"commitment": "3y", "spot_ok": True,
                                  "managed_services": False, "kubernetes": "avoid"})
    result = assess(cheap, catalog())
    assert result.budget.within_budget is False and result.budget.levers == []
    assert result.budget.levers_note.startswith("No single change of the availability target")
    # with levers, or within budget, no note
    assert assess(business(budget=300), catalog()).budget.levers_note == ""
    assert assess(business(budget=5000), catalog()).budget.levers_note == ""


def test_a_one_year_commitment_is_offered_three_years():
    result = assess(business(budget=300, preferences={"commitment": "1y"}), catalog())
    (term,) = [lv for lv in result.budget.levers if lv.setting == "preferences.commitment"]
    assert (term.value, term.change) == ("3y", "a 3-year commitment instead of 1 year")
    rec = result.options[0]
    again = applied(result.requirements, [term], rec.provider, rec.region)
    assert again.options[0].monthly_cost_usd == pytest.approx(term.monthly_cost_usd, abs=0.005)


SHOP = {**CRAFT_SHOP, "compliance": ["pci_dss", "gdpr"]}


def test_under_pci_dss_a_hosted_payment_page_is_a_lever():
    # a two-person shop: the WAF, private subnets with NAT and customer-managed keys PCI
    # DSS asks of systems that handle card data are most of its bill; the processor's
    # hosted page takes the systems out of scope, and the shop within its budget
    result = assess(SHOP, catalog())
    rec = result.options[0]
    (lever,) = [lv for lv in result.budget.levers if lv.setting == "compliance"]
    assert lever.value == ["gdpr"]  # the other frameworks still apply
    assert lever.change == ("card payments on the payment processor's hosted page, these "
                            "systems out of PCI DSS scope")
    assert "SAQ A" in lever.gives_up and "payment processor or bank cannot" in lever.gives_up
    again = applied(result.requirements, [lever], rec.provider, rec.region).options[0]
    assert again.monthly_cost_usd == pytest.approx(lever.monthly_cost_usd, abs=0.005)
    assert lever.monthly_cost_usd < rec.monthly_cost_usd
    # the gaps it would open are counted against the frameworks that still apply: none
    assert lever.compliance_gaps_added == 0
    assert not any(li.component.startswith("WAF") for li in again.line_items)
    # with PCI DSS alone, the shop comes within its budget
    cards_only = assess({**SHOP, "compliance": ["pci_dss"]}, catalog())
    (alone,) = [lv for lv in cards_only.budget.levers if lv.setting == "compliance"]
    assert alone.value == [] and alone.within_budget
    assert cards_only.options[0].monthly_cost_usd > 60
    # without PCI DSS there is no such lever
    no_cards = assess({**SHOP, "compliance": ["gdpr"]}, catalog())
    assert not [lv for lv in no_cards.budget.levers if lv.setting == "compliance"]
