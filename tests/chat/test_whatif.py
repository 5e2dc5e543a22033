"""What-ifs asked in the chat: the factor read from the question, and the outcome written
from the engine's two results (real engine and catalog)."""

from __future__ import annotations

import pytest
import yaml

from infra_mind.agents.numbers import figures_of, unmatched_numbers
from infra_mind.chat.whatif import AskedWhatIf, asked_what_if, traffic_multiplier, what_if_fact
from infra_mind.engine.assess import assess
from infra_mind.engine.load import parse_requirements
from infra_mind.engine.money import usd
from infra_mind.services.assessments import apply_what_if
from tests.chat.helpers import EXAMPLES


@pytest.mark.parametrize(("question", "factor"), [
    ("What if traffic doubles?", 2.0),
    ("Can we handle twice the requests?", 2.0),
    ("What if we get 3x the users?", 3.0),
    ("What happens at 10 times the traffic?", 10.0),
    ("what if traffic x1.5", 1.5),
    ("What if traffic grows 50%?", 1.5),
    ("What if usage goes up by 25%?", 1.25),
    ("What if load drops by 20%?", 0.8),
    ("What if traffic halves?", 0.5),
    # not a change of traffic, or none the what-if takes
    ("What if we double the database?", None),
    ("What if we move to Azure?", None),
    ("What if we have 2 regions?", None),
    ("What does SOC2 cost?", None),
    ("What if traffic grows 0%?", None),
    ("What if traffic is 500x?", None),
    # data and caches are not the traffic the factor scales
    ("What if the database grows 50%?", None),
    ("What if the session cache doubles?", None),
])
def test_the_factor_is_read_from_the_question(question, factor):
    assert traffic_multiplier(question) == factor


def test_the_outcome_is_the_engines_with_its_largest_changes():
    requirements = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
    before = assess(requirements).model_dump(mode="json")
    after = assess(apply_what_if(parse_requirements(requirements),
                                 {"traffic_multiplier": 2})).model_dump(mode="json")
    fact = what_if_fact(asked_what_if("What if traffic doubles?", before["requirements"]),
                        before, after)
    now, then = before["recommended"], after["recommended"]
    assert (now["provider"], now["region"]) == (then["provider"], then["region"])
    assert fact.id == "what-if:traffic_multiplier=2" and fact.title == "What-if: traffic x2"
    assert (f"at {usd(then['monthly_cost_usd'])} a month, against "
            f"{usd(now['monthly_cost_usd'])} now "
            f"({usd(then['monthly_cost_usd'] - now['monthly_cost_usd'])} more).") in fact.text
    # the line items that moved most, each by what the two results say
    (largest,) = [part for part in fact.text.split(". ") if part.startswith("The largest")]
    egress = [sum(li["monthly_usd"] for li in o["line_items"]
                  if li["component"] == "internet egress")
              for o in (before["options"][0], after["options"][0])]
    assert f"(shared) internet egress {usd(egress[1] - egress[0])} more" in largest
    assert f"Against the budget of {usd(1500)}: " in fact.text
    # every other number is one of the results' own; the differences are between them
    deltas = {usd(abs(then["monthly_cost_usd"] - now["monthly_cost_usd"]))}
    for key in {(li["workload"], li["component"]) for o in (before, after)
                for li in o["options"][0]["line_items"]}:
        totals = [sum(li["monthly_usd"] for li in o["options"][0]["line_items"]
                      if (li["workload"], li["component"]) == key) for o in (before, after)]
        deltas.add(usd(abs(totals[1] - totals[0])))
    unmatched = unmatched_numbers(fact.text, figures_of(before, after))
    assert unmatched and set(unmatched) <= deltas


def test_a_move_is_named():
    before = {"recommended": {"provider": "aws", "region": "us-east-1",
                              "monthly_cost_usd": 100.0}, "options": []}
    after = {"recommended": {"provider": "gcp", "region": "us-east1",
                             "monthly_cost_usd": 150.0}, "options": []}
    triple = AskedWhatIf({"traffic_multiplier": 3.0}, "traffic x3", "request rates scaled")
    text = what_if_fact(triple, before, after).text
    assert ("The recommended option would be GCP / Google Cloud us-east1 at $150.00 a month, "
            "against $100.00 now ($50.00 more); it moves from AWS / Amazon Web Services "
            "us-east-1.") in text
    assert "largest" not in text  # line items are compared within one place only
    nothing = what_if_fact(triple, before, {"recommended": None, "options": []}).text
    assert nothing.endswith("No option meets the requirements with that change.")


REQUIREMENTS = {"availability_target": 99.9, "compliance": ["soc2"]}


@pytest.mark.parametrize(("question", "changes", "label"), [
    ("What if we need 99.99% availability?", {"availability_target": 99.99},
     "availability 99.99%"),
    ("What would a 99.5% SLA save?", {"availability_target": 99.5}, "availability 99.5%"),
    ("What if we need HIPAA?", {"compliance": ["soc2", "hipaa"]}, "HIPAA added"),
    ("What if we add PCI DSS?", {"compliance": ["soc2", "pci_dss"]}, "PCI DSS added"),
    ("What if we drop SOC 2?", {"compliance": []}, "SOC2 dropped"),
    ("What does SOC2 cost us?", {"compliance": []}, "SOC2 dropped"),
    # what the requirements already say, two frameworks at once, or no change asked
    ("What if we need 99.9% availability?", None, None),
    ("What if we need SOC 2?", None, None),
    ("What if we need GDPR and HIPAA?", None, None),
    ("Is HIPAA covered?", None, None),
    ("What is 99.99% availability?", None, None),  # a concept: the article answers
    ("What if the data must stay in Germany?", {"data_residency": ["DE"]},
     "data kept in Germany"),
    ("What if we keep data in the EU?", {"data_residency": ["eu"]}, "data kept in the EU"),
    ("What if we host in India only?", {"data_residency": ["IN"]}, "data kept in India"),
    ("What if we store more in S3?", None, None),
    ("What if we keep data on Mars?", None, None),
    ("Why 99.97%?", None, None),
])
def test_availability_and_framework_changes_are_read_too(question, changes, label):
    asked = asked_what_if(question, REQUIREMENTS)
    assert ((asked.changes, asked.label) if asked else (None, None)) == (changes, label)


def test_a_framework_added_says_the_gaps_then():
    requirements = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
    before = assess(requirements).model_dump(mode="json")
    asked = asked_what_if("What if we need HIPAA?", before["requirements"])
    after = assess(apply_what_if(parse_requirements(requirements), asked.changes)
                   ).model_dump(mode="json")
    fact = what_if_fact(asked, before, after)
    then = after["recommended"]
    gaps = next(o for o in after["options"] if (o["provider"], o["region"])
                == (then["provider"], then["region"]))["compliance_gaps"]
    assert fact.title == "What-if: HIPAA added"
    assert fact.id == "what-if:compliance=soc2,hipaa"
    assert f"at {usd(then['monthly_cost_usd'])} a month" in fact.text
    assert f"Compliance gaps then: {gaps}." in fact.text


LINGO = {"users": ["us", "eu", "JP", "KR"],
         "user_shares": {"us": 40, "eu": 35, "JP": 15, "KR": 10}}


@pytest.mark.parametrize(("question", "requirements", "shares"), [
    # the place asked for takes its share, the others keep their proportions
    ("What if 60% of our users were in the EU?", LINGO,
     {"us": 24.62, "eu": 60.0, "JP": 9.23, "KR": 6.15}),
    ("What if 60% of our users are in Europe?", LINGO,
     {"us": 24.62, "eu": 60.0, "JP": 9.23, "KR": 6.15}),
    ("what if 50% of players come from Japan", LINGO,
     {"us": 23.53, "eu": 20.59, "JP": 50.0, "KR": 5.88}),
    # no shares stated: the others share the rest equally
    ("What if 60% of our users were in the EU?", {"users": ["us", "eu", "JP"]},
     {"us": 20.0, "eu": 60.0, "JP": 20.0}),
    # a place not among the users, the share it has already, one place only
    ("What if 70% of users were in Brazil?", LINGO, None),
    ("What if 40% of our users were in the US?", LINGO, None),
    ("What if 60% of our users were in the EU?", {"users": ["eu"]}, None),
])
def test_a_share_of_the_users_is_read_from_the_question(question, requirements, shares):
    asked = asked_what_if(question, requirements)
    assert (asked.changes if asked else None) == (
        {"user_shares": shares} if shares else None)
    if shares:
        assert abs(sum(shares.values()) - 100) < 0.01


def test_sixty_percent_of_the_users_in_the_eu_moves_the_language_app_to_europe():
    requirements = {"name": "language app", **LINGO,
                    "workloads": [{"name": "api", "type": "web_service", "peak_rps": 400},
                                  {"name": "db", "type": "database", "storage_gb": 200}]}
    before = assess(requirements).model_dump(mode="json")
    asked = asked_what_if("What if 60% of our users were in the EU?", before["requirements"])
    after = assess(apply_what_if(parse_requirements(requirements), asked.changes)
                   ).model_dump(mode="json")
    fact = what_if_fact(asked, before, after)
    assert fact.title == "What-if: 60% of the users in the EU"
    assert fact.id == "what-if:user_shares=us:24.62,eu:60,JP:9.23,KR:6.15"
    then = after["recommended"]
    assert then["region"] != before["recommended"]["region"]
    assert f"{then['region']} at {usd(then['monthly_cost_usd'])} a month" in fact.text
    assert after["region_choice"]["user_shares"]["eu"] == 60

