"""Facts of real engine results (the bundled examples) and their ranking for questions."""

from __future__ import annotations

import pytest
import yaml

from infra_mind.agents.numbers import figures_of, unmatched_numbers
from infra_mind.chat.grounding import fact_documents, quantity, rank_facts, retrieve
from infra_mind.engine.assess import assess
from infra_mind.engine.money import unit_price, usd
from infra_mind.knowledge import default_knowledge_base
from tests.chat.helpers import EXAMPLES, option, result_of
from tests.factories import CRAFT_SHOP, lecture_platform


def test_money_and_quantities_are_written_exactly():
    assert usd(1641.28) == "$1,641.28"
    assert usd(17.2) == "$17.20"
    assert unit_price(0.0225) == "$0.0225"
    assert unit_price(0.08) == "$0.08"
    assert unit_price(1234.5) == "$1,234.50"
    assert quantity(6570.0) == "6,570"
    assert quantity(3.2) == "3.2"


def test_facts_write_differences_in_words_never_with_a_sign():
    """The budget and every alternative's difference read one way: "$988.49 under budget",
    "$46.38 more a month"; no fact holds "-$" or "$-" (it did: "-$12.50", "within budget,
    $988.49 under it")."""
    for example in sorted(p.stem for p in EXAMPLES.glob("*.yaml")):
        result = result_of(example)
        texts = [f.text for f in fact_documents(result)]
        assert not [t for t in texts if "-$" in t or "$-" in t], example
        budget = result["budget"]
        if budget.get("gap_usd") is not None:
            (fact,) = [f.text for f in fact_documents(result) if f.id == "budget"]
            words = "under budget" if budget["gap_usd"] < 0 else "over budget"
            assert f"{usd(abs(budget['gap_usd']))} {words}" in fact, fact


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_every_number_of_every_fact_is_a_figure_of_the_result(example):
    result = result_of(example)
    facts = fact_documents(result)
    ids = [f.id for f in facts]
    assert len(ids) == len(set(ids))
    assert fact_documents(result) == facts  # stable: the same ids and texts every time
    figures = figures_of(result)
    for fact in facts:
        assert unmatched_numbers(fact.text, figures) == [], fact


def test_facts_cover_the_parts_of_a_result():
    result = result_of("hipaa-telehealth")
    ids = {f.id for f in fact_documents(result)}
    for o in result["options"]:
        assert f"option:{o['provider']}:{o['region']}" in ids
        assert f"commitment:{o['provider']}:{o['region']}" in ids
        for item in o["line_items"]:
            assert f"items:{o['provider']}:{o['region']}:{item['workload']}" in ids
    gaps = [c for c in result["compliance"] if c["status"] == "gap"]
    assert gaps
    for control in gaps:
        assert f"control:{control['framework']}:{control['control_id']}" in ids
    for pillar in result["review"]:
        assert f"review:{pillar['pillar']}" in ids
    for demand in result["demand"]:
        assert f"sizing:{demand['workload']}" in ids
    assert {"recommendation", "budget", "projection", "compliance:hipaa", "catalog"} <= ids
    assert {f"warning:{n}" for n in range(1, len(result["warnings"]) + 1)} <= ids


def test_an_option_fact_names_the_provider_region_and_exact_cost():
    result = result_of("hipaa-telehealth")
    azure = option(result, "azure")
    fact = next(f for f in fact_documents(result)
                if f.id == f"option:azure:{azure['region']}")
    assert "Azure / Microsoft Azure" in fact.text
    assert azure["region_name"] in fact.text
    assert f"${azure['monthly_cost_usd']:,.2f}" in fact.text
    delta = next(a for a in result["recommended"]["alternatives"] if a["provider"] == "azure")
    side = "more" if delta["delta_usd"] > 0 else "less"
    assert f"{usd(abs(delta['delta_usd']))} {side} a month" in fact.text
    for unpriced in azure["unpriced"]:
        assert unpriced in fact.text


@pytest.mark.parametrize(("question", "provider"), [
    ("What would this cost on Azure?", "azure"),
    ("How much on Microsoft?", "azure"),
    ("What does Google Cloud cost?", "gcp"),
    ("And on GCP?", "gcp"),
    ("What would Amazon charge us?", "aws"),
])
def test_a_provider_question_ranks_that_option_first(question, provider):
    result = result_of("hipaa-telehealth")
    best = rank_facts(question, fact_documents(result), 4)[0]
    assert best.fact.id == f"option:{provider}:{option(result, provider)['region']}"


@pytest.mark.parametrize(("question", "fact_id"), [
    ("Is it within budget?", "budget"),
    ("What is the recommendation?", "recommendation"),
    # the gaps themselves, with their remediation and cost (HIPAA is its one framework)
    ("What are the HIPAA compliance gaps?", "compliance-gaps"),
    ("How is HIPAA compliance?", "compliance:hipaa"),
    ("How many vCPU does video-visit-api need?", "sizing:video-visit-api"),
    ("What does the cost projection look like?", "projection"),
    ("How old are the catalog prices?", "catalog"),
])
def test_topic_questions_rank_their_fact_first(question, fact_id):
    hits = rank_facts(question, fact_documents(result_of("hipaa-telehealth")), 4)
    assert hits[0].fact.id == fact_id


def test_retrieve_ranks_facts_and_articles_with_scores():
    kb = default_knowledge_base()
    retrieved = retrieve("What would this cost on Azure?", result_of("saas-startup"), kb)
    assert 0 < len(retrieved.facts) <= 4 and len(retrieved.articles) <= 3
    scores = [h.score for h in retrieved.facts]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert all(h.score > 0 for h in retrieved.articles)

    no_result = retrieve("What would this cost on Azure?", None, kb)
    assert no_result.facts == []
    nothing = retrieve("the of and", result_of("saas-startup"), kb)  # only stopwords
    assert nothing.facts == [] and nothing.articles == []


def test_an_engine_only_result_and_an_advice_give_the_same_facts():
    result = result_of("saas-startup")
    advice = {**result, "narrative": {"cto": {"choice": {"markdown": "Pick $1.00"}}},
              "llm_usage": {"requests": 3}}
    assert fact_documents(advice) == fact_documents(result)
    assert fact_documents({}) == []


def test_over_budget_each_lever_is_a_fact_with_only_the_results_figures():
    requirements = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
    requirements["business"]["monthly_budget_usd"] = 150
    result = assess(requirements).model_dump(mode="json")
    facts = {f.id: f for f in fact_documents(result)}
    levers = result["budget"]["levers"]
    for lever in levers:
        fact = facts[f"budget-lever:{lever['setting']}:{lever['value']}"]
        assert fact.title == f"Budget lever: {lever['change']}"
        assert (f"would cost {usd(lever['monthly_cost_usd'])} a month instead of "
                f"{usd(result['recommended']['monthly_cost_usd'])}") in fact.text
        assert f"It gives up: {lever['gives_up']}." in fact.text
        assert f"{lever['change']} ({usd(lever['saving_usd'])} less)" in (
            facts["budget-levers"].text)
    for fact in facts.values():
        assert unmatched_numbers(fact.text, figures_of(result)) == [], fact.id
    # the asker's words reach the lever they mean
    for question, wanted in [
            ("How could we lower the cost to fit the budget?", "budget-lever"),
            ("What if we drop high availability?", "budget-lever:availability_target:99.5"),
            ("What if we run the database ourselves?",
             "budget-lever:preferences.managed_services:False"),
            ("We can't afford this, what can we cut?", "budget-lever:")]:
        hits = [h.fact.id for h in rank_facts(question, list(facts.values()), 4)]
        assert any(h.startswith(wanted) for h in hits[:2]), (question, hits)
    # within budget, no such fact
    assert not [f.id for f in fact_documents(result_of("saas-startup"))
                if f.id.startswith("budget-lever")]


def test_over_budget_the_budget_fact_names_the_changes_that_alone_fit_it():
    # a two-person shop under PCI DSS: only the processor's hosted page fits its $60
    shop = CRAFT_SHOP
    result = assess(shop).model_dump(mode="json")
    facts = {f.id: f for f in fact_documents(result)}
    (fits,) = [lv for lv in result["budget"]["levers"] if lv["within_budget"]]
    assert fits["setting"] == "compliance"
    assert facts["budget"].text.endswith(
        f" Within budget with one change: {fits['change']} "
        f"({usd(fits['monthly_cost_usd'])} a month).")
    assert "budget-lever:compliance:none" in facts  # the frameworks left: none
    hits = [h.fact.id for h in rank_facts("How can we get within budget?",
                                          list(facts.values()), 3)]
    assert hits[0] == "budget"
    # where none fits alone, the fact says what all of them at once cost
    requirements = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
    requirements["business"]["monthly_budget_usd"] = 150
    tight = assess(requirements).model_dump(mode="json")
    assert not any(lv["within_budget"] for lv in tight["budget"]["levers"])
    text = {f.id: f for f in fact_documents(tight)}["budget"].text
    assert "No single change brings it within budget; all the budget levers at once cost " \
        f"{usd(tight['budget']['levers_together_usd'])} a month" in text


def test_met_controls_say_what_meets_them_and_customer_ones_whose_they_are():
    # "why is there a NAT gateway?" is answered by the control it meets, and "what do we
    # do ourselves?" by the controls that are the business's own
    result = result_of("eu-fintech")
    facts = {f.id: f for f in fact_documents(result)}
    for control in result["compliance"]:
        fact = facts.get(f"control:{control['framework']}:{control['control_id']}")
        assert fact is not None, control["control_id"]
        if control["status"] == "met":
            assert fact.title.endswith("(met)")
            assert (f"required, and met by the design: "
                    f"{control['evidence'].rstrip('. ')}.") in fact.text
        elif control["status"] == "customer":
            assert fact.title.endswith("(your process)")
            assert "a customer responsibility" in fact.text
            assert "Customer responsibility, outside" not in fact.text
    pci = [c for c in result["compliance"] if c["framework"] == "pci_dss"]
    network = next(c for c in pci if c["status"] == "met" and "NAT" in c["evidence"])
    hits = [h.fact.id for h in rank_facts("Why is there a NAT gateway?",
                                          list(facts.values()), 3)]
    # beside the line items that price it
    assert f"control:pci_dss:{network['control_id']}" in hits[:2]
    hits = [h.fact.id for h in rank_facts("What do we have to do ourselves for PCI?",
                                          list(facts.values()), 3)]
    own = {f"control:pci_dss:{c['control_id']}" for c in pci if c["status"] == "customer"}
    # the framework's summary (which names them) may lead; one of them follows
    assert own & set(hits[:2]), hits


def test_articles_on_frameworks_the_assessment_does_not_ask_for_are_left_out():
    # saas-startup asks for SOC 2: "What are the compliance gaps?" had led with PCI DSS
    kb = default_knowledge_base()
    result = result_of("saas-startup")
    framework_articles = {"pci-dss", "hipaa", "gdpr", "iso27001", "ccpa-cpra", "soc2"}
    for question in ("What are the compliance gaps?", "Which compliance controls apply?"):
        found = {h.article.id for h in retrieve(question, result, kb, k_articles=6).articles}
        assert not found & (framework_articles - {"soc2"}), (question, found)
    # one the question names is in view
    named = retrieve("What would HIPAA need?", result, kb).articles
    assert named and named[0].article.id == "hipaa"
    # without a result, every article is in view
    alone = retrieve("What is PCI DSS?", None, kb).articles
    assert alone[0].article.id == "pci-dss"


@pytest.mark.parametrize("name", ["saas-startup", "hipaa-telehealth", "llm-inference",
                                  "eu-fintech", "static-site"])
def test_the_suggested_questions_lead_with_their_fact(name):
    # the web app offers these on an empty conversation: each must lead with its answer
    # ("Why did you pick this region?" had led with a review finding on llm-inference,
    # "What are the compliance gaps?" with the recommendation on hipaa-telehealth)
    facts = fact_documents(result_of(name))
    for question, fact_id in [("Why did you pick this region?", "recommendation"),
                              ("What are the biggest costs?", "cost-breakdown"),
                              ("How can we get within budget?", "budget"),
                              ("What are the compliance gaps?", "compliance-gaps")]:
        hits = rank_facts(question, facts, 4)
        assert hits[0].fact.id == fact_id, (name, question, [h.fact.id for h in hits])


def test_why_not_a_cheaper_region_is_answered_by_the_regions_compared():
    """The craft shop is in London; its Stockholm region is $7.82 a month cheaper and ~31 ms
    from its users. "Why not Stockholm? It is cheaper." had led with the article on
    commitments ("cheaper" folds to "lower" and "cost"): the one sentence naming Stockholm
    was deep in the recommendation's reasons."""
    result = assess(CRAFT_SHOP).model_dump(mode="json")
    assert result["recommended"]["region"] == "eu-west-2"
    facts = fact_documents(result)
    for question in ("Why not Stockholm? It is cheaper.", "Which regions did you compare?"):
        (lead, *_) = rank_facts(question, facts, 3)
        assert lead.fact.id == "region-choice", question
    text = lead.fact.text
    assert text.startswith("The design is placed in aws eu-west-2 (London), for users in the UK; "
                           "its data is stored in London (the UK, region group uk). "
                           "Regions compared, in rank order: eu-west-2 (London) $99.65 a "
                           "month, where the users are; europe-west1 (Belgium) $102.84 a "
                           "month, ~14 ms from the users;")
    assert ("Cheaper region passed over: eu-west-2 (London) rather than eu-north-1 "
            "(Stockholm), the cheapest aws region: ~0 ms round trip from the farthest users "
            "against ~31 ms, for $7.82 a month more") in text
    # the cheapest option is that region: not said twice
    assert "The cheapest option meeting every constraint" not in text
    # the suggested question still leads with the recommendation's reasons
    assert rank_facts("Why did you pick this region?", facts, 1)[0].fact.id == "recommendation"


def test_the_regions_compared_say_the_users_shares_and_the_average_users_round_trip():
    # llm-inference gives its users' shares (the EU 70%, the US 30%): the options' round
    # trips are the average user's, and "from the users" would read as every user's
    result = result_of("llm-inference")
    (lead, *_) = rank_facts("Which regions did you compare?", fact_documents(result), 3)
    assert lead.fact.id == "region-choice"
    assert lead.fact.text.startswith("The design is placed in aws eu-north-1 (Stockholm), "
                                     "for users in the EU (70%), the US (30%);")
    first = result["options"][0]
    assert (f"eu-north-1 (Stockholm) $2,449.89 a month, ~{first['user_rtt_ms']:g} ms for the "
            "average user;") in lead.fact.text
    assert "from the users" not in lead.fact.text


LINGO = {"name": "language app", "users": ["us", "eu", "JP", "KR"],
         "user_shares": {"us": 40, "eu": 35, "JP": 15, "KR": 10},
         "workloads": [{"name": "api", "type": "web_service", "peak_rps": 400,
                        "avg_rps": 120},
                       {"name": "app-db", "type": "database", "storage_gb": 200}]}


@pytest.mark.parametrize("question", ["How far are our Japanese users from the servers?",
                                      "What latency will European users see?"])
def test_a_question_naming_users_by_nationality_leads_with_their_round_trips(question):
    # "Japanese" stemmed to "japanes" and matched no fact: the regions compared led, which
    # give each option's round trip for the average user, not Japan's
    facts = fact_documents(assess(LINGO).model_dump(mode="json"))
    (lead, *_) = rank_facts(question, facts, 3)
    assert lead.fact.id == "review:performance_efficiency", question
    assert "Japan (~163 ms, 15%)" in lead.fact.text and "the EU (~77 ms, 35%)" in lead.fact.text


def test_is_kubernetes_worth_it_is_answered_with_what_the_cluster_costs_and_saves():
    # it had led with the shared line items, three times, one per provider
    facts = fact_documents(result_of("marketplace-platform"))
    (lead, *_) = rank_facts("Is Kubernetes worth it for us?", facts, 3)
    # the operational review's finding, as its own fact
    assert lead.fact.id == "kubernetes"
    assert "Why a cluster: preferences.kubernetes: auto, and 4 always-on services" in (
        lead.fact.text)
    assert "(preferences.kubernetes: avoid) would cost $" in lead.fact.text


def test_can_we_reserve_the_gpus_is_answered_with_what_each_term_leaves_on_demand():
    # llm-inference's GPU floor has no term price in the catalog: the purchase options fact
    # said "covering 1.1% of compute" and nothing of why
    result = result_of("llm-inference")
    hits = retrieve("Can we reserve the GPUs?", result, default_knowledge_base()).facts
    first = result["options"][0]
    assert hits[0].fact.id == f"commitment:{first['provider']}:{first['region']}"
    left = next(c for c in first["commitment"] if c["purchase_option"] == "reserved_1y")
    assert left["left_on_demand"] and left["left_on_demand"][0].startswith("g5.xlarge (")
    assert ("leaving on demand for want of a price on this term: "
            + ", ".join(left["left_on_demand"])) in hits[0].fact.text


def test_do_we_need_a_part_is_answered_by_the_control_that_requires_it():
    # "Do we really need a WAF?" had led with the shared line items
    result = assess(CRAFT_SHOP).model_dump(mode="json")
    waf = next(c for c in result["compliance"] if "WAF" in c["evidence"])
    hits = rank_facts("Do we really need a WAF?", fact_documents(result), 3)
    assert hits[0].fact.id == f"control:pci_dss:{waf['control_id']}"
    assert f"required, and met by the design: {waf['evidence']}" in hits[0].fact.text
    assert hits[0].fact.title.startswith(f"{waf['reference']}: ")
    # what the framework requires as a whole is its summary's to answer
    hits = rank_facts("What does PCI require of us?", fact_documents(result), 3)
    assert hits[0].fact.id == "compliance:pci_dss"


def test_the_budget_facts_say_when_it_is_passed_and_what_grows_the_cost():
    """The budget fact said "$646.79 under budget" and nothing of month 4; "what is the
    biggest cost?" listed the CDN's two price tiers as two costs "of (shared)"."""
    result = assess(lecture_platform(4000)).model_dump(mode="json")
    budget = result["budget"]
    facts = {f.id: f for f in fact_documents(result)}
    month = budget["over_budget_from_month"]
    assert (f"under budget, a month. With the stated growth the projected cost passes the "
            f"budget in month {month}.") in facts["budget"].text
    assert facts["budget-passed"].text == budget["passing_note"]
    hits = [h.fact.id for h in rank_facts("What drives the cost growth?",
                                          list(facts.values()), 3)]
    assert hits[0] == "budget-passed"
    tiers = sorted((i["monthly_usd"] for i in option(result, "gcp")["line_items"]
                    if i["component"] == "CDN data transfer"), reverse=True)
    assert len(tiers) == 2
    assert (f"largest first: CDN data transfer in 2 lines, {usd(tiers[0])} and "
            f"{usd(tiers[1])}; ") in facts["cost-breakdown"].text
    assert "(shared)" not in facts["cost-breakdown"].text
    for fact in facts.values():
        assert unmatched_numbers(fact.text, figures_of(result)) == [], fact.id


def test_the_design_fact_names_every_workloads_parts_and_counts_only_machines():
    result = result_of("marketplace-platform")
    rec = next(o for o in result["options"] if o["rank"] == 1)
    (design,) = [f for f in fact_documents(result) if f.id == "design"]
    for item in rec["line_items"]:
        assert item["sku"] in design.text
    # an autoscaled fleet is one part, from its floor to its peak
    (floor, _peak) = [i for i in rec["line_items"] if i["workload"] == "buyer-api"]
    assert (f"buyer-api: app servers {floor['instances_min']} to {floor['instances_max']} x "
            f"{floor['sku']} ({floor['service']});") in design.text
    assert "(floor)" not in design.text and "(peak)" not in design.text
    # machines held all month are counted; a managed database's hours are not machines
    (db,) = [i for i in rec["line_items"] if i["workload"] == "marketplace-db"
             and i["unit"] == "hour"]
    assert f"{db['component']} {db['sku']} ({db['service']})" in design.text
    (cache,) = [i for i in rec["line_items"] if i["workload"] == "session-cache"]
    held = round(cache["quantity"] / 730)
    assert f"{cache['component']} {held} x {cache['sku']}" in design.text
    # and the workload's line items say it too
    (items,) = [f for f in fact_documents(result)
                if f.id == f"items:{rec['provider']}:{rec['region']}:session-cache"]
    assert f"{cache['sku']} ({cache['service']}), {held} machines all month, " in items.text
    assert unmatched_numbers(design.text, figures_of(result)) == []


def test_the_risks_fact_puts_each_finding_by_its_own_risk_highest_first():
    result = assess(CRAFT_SHOP).model_dump(mode="json")
    (risks,) = [f for f in fact_documents(result) if f.id == "risks"]
    found = [(r, p["pillar"].replace("_", " "), f) for p in result["review"]
             for r, f in zip(p["finding_risks"], p["findings"], strict=True)]
    high = [f"{pillar} (high risk): {f}" for r, pillar, f in found if r == "high"]
    medium = [f"{pillar} (medium risk): {f}" for r, pillar, f in found if r == "medium"]
    assert high and medium
    assert risks.text == ("The main risks the Well-Architected review found, highest first. "
                          + " ".join(high + medium))
    # a finding at no risk is not a risk ("Metrics and alarms: ...")
    assert not any(f in risks.text for r, _, f in found if r == "none")
    # a result stored before findings had their own risk: each takes its pillar's
    (first_high,) = [p for p in result["review"] if p["risk"] == "high"][:1]
    for p in result["review"]:
        del p["finding_risks"]
    (older,) = [f for f in fact_documents(result) if f.id == "risks"]
    assert older.text.startswith("The main risks the Well-Architected review found, "
                                 f"highest first. {first_high['pillar'].replace('_', ' ')} "
                                 f"(high risk): {first_high['findings'][0]}")
    assert "risks" not in {f.id for f in fact_documents({**result, "review": []})}
