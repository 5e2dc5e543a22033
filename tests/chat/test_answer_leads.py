"""Questions about the assessment lead with its facts, the recommended option's first.

On eu-fintech (AWS eu-north-1 recommended): "Why did you pick this region?" led with the
disaster-recovery article, "Can we cut costs without losing availability?" with the
managed-caches article, and "Is Kubernetes necessary here?" with the Azure option's shared
lines. A question in the asker's words ("we", "you", "here") leads with a matching fact;
"pick" and "choose" reach the recommendation; on a tie the recommended option's facts
come before another option's. Conceptual questions still lead with the article.
"""

from __future__ import annotations

import asyncio

import pytest

from infra_mind.chat.answer import answer
from infra_mind.chat.grounding import fact_documents
from infra_mind.knowledge import default_knowledge_base, tokenize
from tests.chat.helpers import result_of

KB = default_knowledge_base()


def lead(question: str) -> str:
    text = asyncio.run(answer(question, result=result_of("eu-fintech"), kb=KB,
                              history=[])).markdown
    return text.split("\n\n")[0]


@pytest.mark.parametrize(("question", "starts"), [
    ("Why did you pick this region?", "**Recommendation.** Recommended: the AWS"),
    ("Can we cut costs without losing availability?", "**"),
    ("Is Kubernetes necessary here?", "**Kubernetes: a cluster or not, and why.** Whether a "
                                      "cluster is required: Kubernetes adds cluster "
                                      "upgrades"),
    # in the asker's words, each had led with an article or another fact (2026-12-07)
    ("Is the design highly available?", "**Review: reliability.**"),
    ("How reliable is it?", "**Review: reliability.**"),
    ("How much would a 3-year commitment save?", "**"),
    ("What is the monthly egress cost?", "**(shared) on aws eu-north-1.**"),
    ("Is our data stored in Sweden?", "**Where the data is stored and hosted: the regions "
                                      "compared"),
    # "Where is our data stored?" had led with the PCI DSS keys control
    ("Where is our data stored?", "**Where the data is stored and hosted"),
    ("Where is our data?", "**Where the data is stored and hosted"),
    ("What happens if the region goes down?", "**Review: reliability.**"),
    # had led with the SOC 2 control on testing the recovery plan ("fail over a zone")
    ("What happens if a zone fails?", "**Review: reliability.**"),
    # had led with a web tier's sizing for its "instances"
    ("Can we use spot instances?", "**Requirements as stated: preferences and targets.**"),
    ("What happens if the database fails?", "**Review: reliability.**"),
    # speed: a page load had found the load balancer's line items
    ("How fast will pages load for our customers?", "**Review: performance efficiency.**"),
    ("Will the site be slow for users in Germany?", "**Where the data is stored"),
    # a why, a would or money (2026-12-07, from an Indian edtech's questions): the NAT
    # gateway article had answered "Why Google Cloud and not AWS?"
    ("Why AWS and not Google Cloud?", "**gcp europe-west1 against the recommended option, "
                                      "part by part.**"),
    ("What would a 3-year commitment save?",
     "**Purchase options on aws eu-north-1: what each term or commitment saves.**"),
    ("How will costs grow over the year?", "**Cost projection.**"),
    # the recommended provider alone: its reasons, not its price (had led with the AWS
    # option, "This is the recommended option", and no why)
    ("Why AWS?", "**Recommendation.** Recommended: the AWS"),
    ("Why did you go with AWS?", "**Recommendation.** Recommended: the AWS"),
    # weighing another provider: where its cost differs, part by part (2026-12-07, a
    # Brazilian marketplace's "Why is AWS more expensive?" had led with AWS's shared lines)
    ("Why is Azure more expensive?", "**azure northeurope against the recommended option, "
                                     "part by part.** azure option in northeurope: $"),
    ("Why not Google Cloud?", "**gcp europe-west1 against the recommended option"),
    ("GCP vs AWS?", "**gcp europe-west1 against the recommended option"),
    ("How much more would Azure cost?", "**azure northeurope against the recommended"),
    # the price on a provider is its option's own fact, its total
    ("What would this cost on Azure?", "**Azure / Microsoft Azure option (northeurope).**"),
])
def test_a_question_about_the_assessment_leads_with_a_fact(question, starts):
    assert lead(question).startswith(starts)
    assert not lead(question).startswith("From the knowledge base")


def test_next_year_is_the_projection_a_year_out():
    text = asyncio.run(answer("How much will this cost next year?",
                              result=result_of("hipaa-telehealth"), kb=KB,
                              history=[])).markdown
    assert text.startswith("**Cost projection.**")
    month = next(m for m in result_of("hipaa-telehealth")["projection"] if m["month"] == 13)
    assert f"About a year out (month 13) it costs ${month['monthly_cost_usd']:,.2f}" in text


def test_a_conceptual_question_leads_with_the_article():
    assert lead("What is a spot instance?").startswith("From the knowledge base")
    assert lead("Why use spot instances?").startswith("From the knowledge base")


def test_how_many_machines_at_peak_is_the_fleets_counts():
    """Answered with instance-hours alone (2,920 hour x $0.033566), no machine count."""
    result = result_of("eu-fintech")
    (floor, _peak) = [i for i in result["options"][0]["line_items"]
                      if i["workload"] == "payments-authorisation-api"]
    text = lead("How many app servers do we run at peak?")
    assert text.startswith("**payments-authorisation-api on aws eu-north-1.**")
    counts = (f"{floor['instances_min']} machines all month and up to "
              f"{floor['instances_max']} at peak")
    assert text.count(counts) == 1  # the committed floor and its peak: one fleet


def test_a_public_buckets_delivery_is_the_shared_cdn_lines():
    """"Why is the video delivery so expensive?" found the bucket's storage line alone:
    the CDN that sends its files is priced in the shared lines."""
    result = result_of("mobile-game-assets")
    text = asyncio.run(answer("Why is asset delivery so expensive?", result=result, kb=KB,
                              history=[])).markdown.split("\n\n")[0]
    assert text.startswith("**asset-bundles on gcp us-central1.**")
    cdn = [i for i in result["options"][0]["line_items"]
           if i["workload"] == "(shared)" and i["component"].startswith("CDN ")]
    assert cdn and "whose delivery is priced in the shared lines" in text
    assert all(f"{i['component']} ${i['monthly_usd']:,.2f}" in text for i in cdn)


def test_choosing_words_reach_the_recommendation():
    for word in ("pick", "picked", "choose", "chose", "chosen", "choice"):
        assert "recommend" in tokenize(word), word


def ask(question: str, name: str = "saas-startup") -> str:
    return asyncio.run(answer(question, result=result_of(name), kb=KB,
                              history=[])).markdown.split("\n\n")[0]


def test_the_biggest_cost_is_the_largest_line_of_the_recommendation():
    # it had led with the cost review's commitment saving
    result = result_of("saas-startup")
    rec = next(o for o in result["options"] if o["rank"] == 1)
    largest = max(rec["line_items"], key=lambda i: i["monthly_usd"])
    text = ask("What is the biggest cost?")
    assert text.startswith("**Cost breakdown: the biggest costs.**")
    assert (f"largest first: {largest['component']} of {largest['workload']} "
            f"${largest['monthly_usd']:,.2f};") in text


def test_why_not_a_preference_is_answered_by_the_requirements_as_stated():
    # "Why not Kubernetes?" had found no fact: the setting that decided it is one
    text = ask("Why not Kubernetes?")
    assert text.startswith("**Requirements as stated: preferences and targets.**")
    assert "Kubernetes avoid" in text


def test_a_yes_or_no_question_leads_with_the_design():
    # "Is autoscaling set up?" had led with the article on autoscaling
    assert not ask("Is autoscaling set up?").startswith("From the knowledge base")
    assert ask("What is autoscaling?").startswith("From the knowledge base")


def test_what_is_not_priced_how_old_the_prices_are_and_no_warnings_are_facts():
    # each had led with the catalog date, an article, or "no assessment facts"
    unpriced = ask("What's not priced?", "llm-inference")
    assert unpriced.startswith("**Unpriced components (what is not priced).**")
    assert "none, every component is priced from the dated catalog" in unpriced
    result = result_of("llm-inference")
    old = ask("How old are the prices?", "llm-inference")
    assert old.startswith("**Price catalog date.**") and result["catalog_as_of"] in old
    assert result["warnings"] == []  # the example gives none; the answer says so
    assert ask("Which warnings should I worry about?", "llm-inference") == (
        "**Warnings.** The assessment gave no warnings.")
    assert tokenize("What isn't priced?") == tokenize("unpriced")


#: An Australian payroll company (made up, 2026-12-07): its questions had led with the
#: per-second billing article, and with the Google Cloud option's line items.
PAYROLL = {
    "name": "Payroll SaaS (Australia)", "compliance": ["soc2"], "data_residency": ["AU"],
    "users": ["AU", "NZ"], "availability_target": 99.9,
    "workloads": [
        {"name": "payroll-api", "type": "web_service", "peak_rps": 90, "avg_rps": 12,
         "cpu_ms_per_request": 35, "memory_gb": 2, "peak_hours_per_day": 3},
        {"name": "payrun-worker", "type": "worker", "vcpu_hours_per_month": 1200,
         "memory_gb": 8},
        {"name": "payroll-db", "type": "database", "storage_gb": 250, "memory_gb": 16}]}


@pytest.mark.parametrize(("question", "starts"), [
    ("How many payrun workers run?", "**payrun-worker on "),
    ("Is payroll data kept in Australia?", "**Where the data is stored"),
    ("What happens if Sydney goes down?", "**Review: reliability.**"),
])
def test_a_payroll_companys_questions_lead_with_their_facts(question, starts):
    import infra_mind

    result = infra_mind.assess(PAYROLL).model_dump(mode="json")
    text = asyncio.run(answer(question, result=result, kb=KB, history=[])).markdown
    assert text.startswith(starts), text[:200]


@pytest.mark.parametrize(("question", "named"), [
    ("What would this cost on GCP?", {"gcp"}),
    ("Why AWS and not Google Cloud?", {"aws", "gcp"}),
    ("Is Azure cheaper than Amazon?", {"azure", "aws"}),
    ("Why did you pick this region?", set()),
])
def test_the_providers_a_question_names(question, named):
    """"Azure" stems to "azur", and "gcp" and "Google" fold onto "googl", so a question
    naming Azure or Google Cloud had named no provider: "Why AWS and not Google Cloud?"
    read as naming AWS alone."""
    from infra_mind.chat.grounding import _named_providers

    assert _named_providers(question) == named


def test_explain_the_architecture_is_the_design_and_what_could_go_wrong_its_risks():
    """"Explain the architecture" had led with an article on active-active regions, "What
    are the main risks?" with SOC 2's risk-assessment control."""
    design = "**The architecture: what the design is made of, its servers.**"
    assert ask("Explain the architecture", "marketplace-platform").startswith(
        f"{design} The recommended azure option in northeurope is made of, workload by "
        "workload")
    for question in ("What does the design look like?", "How many servers do we need?"):
        assert ask(question, "marketplace-platform").startswith(design), question
    # "What should we worry about?" had found no fact at all
    for question in ("What are the main risks?", "What could go wrong?",
                     "What are the biggest risks?", "What should we worry about?"):
        assert ask(question, "marketplace-platform").startswith(
            "**Risks: the biggest risks, what could go wrong, what to worry about, highest "
            "first.**"), question
    # a concept is still explained from the knowledge base
    assert ask("Explain spot instances").startswith("From the knowledge base")


def test_what_to_do_first_is_the_next_steps_in_order():
    """"What should we do first?" had led with the cost breakdown."""
    telehealth = result_of("hipaa-telehealth")
    (gap,) = [c for c in telehealth["compliance"] if c["status"] == "gap"]
    for question in ("What should we do first?", "Where do we start?",
                     "What are the next steps?"):
        text = ask(question, "hipaa-telehealth")
        assert text.startswith("**Next steps: what to do first, where to start.** Next steps "
                               "for the recommended design, first things first: 1. close the "
                               f"compliance gap HIPAA {gap['control_id']} "
                               f"({gap['title']}); 2. act on the review's high-risk findings "
                               "(security)"), (question, text[:300])
    # nothing open: build it
    assert ask("What should we do first?", "eu-fintech").endswith(
        "first things first: 1. build the design as it stands: it meets the constraints with "
        "no compliance gap, high risk or unpriced part.")
    # within budget now, passing it only at the P90, and no commitment asked for
    saas = result_of("saas-startup")
    saving = max(c["savings_usd"] for c in saas["options"][0]["commitment"]
                 if c["purchase_option"] != "spot")
    assert ask("What should we do first?").endswith(
        "1. watch the budget: growth faster than stated passes it; 2. once usage is steady, "
        f"commit the base load (up to ${saving:,.2f} a month less).")


def test_a_workloads_warning_is_named_for_it_and_answers_why_it_costs_so_much():
    """"Why is the database so expensive?" on marketplace-platform gave the database's lines
    on three clouds and its sizing, but not the warning that its 60 GiB of memory was
    assumed (memory_gb not stated): every warning was titled "Warning" alone."""
    text = asyncio.run(answer("Why is the database so expensive?",
                              result=result_of("marketplace-platform"), kb=KB,
                              history=[])).markdown
    assert text.startswith("**marketplace-db on azure northeurope.**")
    assert ("- **Warning on marketplace-db.** Warning: marketplace-db: memory_gb not stated, "
            "so 60 GiB and 7.5 vCPUs were assumed") in text
    # a warning about no one workload keeps the plain title
    facts = {f.id: f.title for f in fact_documents(result_of("marketplace-platform"))}
    assert facts["warning:2"] == "Warning on session-cache"
    assert facts["warning:3"] == "Warning"  # "session-cache is priced on different ..."


def test_going_over_budget_is_the_budget():
    """"Will we go over budget?" had led with the risks, whose title says "what could go
    wrong"."""
    assert ask("Will we go over budget?", "marketplace-platform").startswith("**Budget.**")


def test_how_long_logs_are_kept_is_the_year_of_logs():
    """"How long do we keep logs?" led with PCI DSS's written agreements with service
    providers ("keep ..."): the year of logs the design keeps now says "kept 365 days"."""
    assert ask("How long do we keep logs?", "eu-fintech").startswith(
        "**Req. 10.5.1: Audit log history is retained for at least 12 months (met).**")


def test_kubernetes_questions_say_why_there_is_a_cluster_or_not():
    """"Do we need Kubernetes?" on a design without a cluster had led with the
    requirements' preference ("Kubernetes auto") and nothing on why: the operational review
    now says why not, and the reason is a fact of its own."""
    result = result_of("seasonal-ecommerce")
    assert result["requirements"]["preferences"]["kubernetes"] == "auto"
    why_not = ("No Kubernetes cluster (preferences.kubernetes: auto): 2 always-on services "
               "(storefront-api, image-processing-worker), fewer than the 3 at which sharing "
               "a cluster pays for its control plane and its upgrades; they run on machines "
               "of their own.")
    assert why_not in ask("Do we need Kubernetes?", "seasonal-ecommerce")
    for question in ("Should we use Kubernetes?", "Why no Kubernetes?"):
        assert ask(question, "seasonal-ecommerce") == (
            "**Kubernetes: a cluster or not, and why.** Whether a cluster is required: "
            f"{why_not}"), question
    # with a self-managed cache the operations review had said "need patching", and led
    for name in ("seasonal-ecommerce", "marketplace-platform"):
        assert ask("Do we need Kubernetes?", name).startswith(
            "**Kubernetes: a cluster or not, and why.**"), name
    # kubernetes: avoid says nothing of it
    assert "kubernetes" not in {f.id for f in fact_documents(result_of("saas-startup"))}


def test_why_another_provider_costs_more_names_the_parts_that_differ():
    """Its difference from the recommendation, part by part, then the reasons."""
    result = result_of("eu-fintech")
    (azure,) = [a for a in result["recommended"]["alternatives"] if a["provider"] == "azure"]
    text = asyncio.run(answer("Why is Azure more expensive?", result=result, kb=KB,
                              history=[])).markdown
    lead_paragraph = text.split("\n\n")[0]
    largest = azure["differences"][0]
    assert (f"{largest['part']} ${largest['monthly_usd']:,.2f} against "
            f"${largest['recommended_usd']:,.2f}, ${abs(largest['delta_usd']):,.2f} "
            f"{'more' if largest['delta_usd'] > 0 else 'less'}") in lead_paragraph
    assert f"${azure['delta_usd']:,.2f} more a month ({azure['delta_pct']}%)" in lead_paragraph
    assert "Related facts from your assessment:\n- **Recommendation.**" in text
    # the options' figures answer it: no article picked for the word "Azure"
    assert "From the knowledge base" not in text


@pytest.mark.parametrize(("question", "starts"), [
    # "why" is a stopword: the budget's figures had led, not what makes them pass it
    ("Why will we go over budget?", "**Over budget: why, what grows the cost.**"),
    ("How do we get within budget?", "**Budget.**"),
    # "expensive" had matched no fact at all (2026-12-07, a manga reader's question)
    ("Why is it so expensive?", "**Cost breakdown: the biggest costs.**"),
    ("Is it pricey?", "**Cost breakdown: the biggest costs.**"),
    ("Is this too expensive for us?", "**Cost breakdown: the biggest costs"),
])
def test_why_and_expensive_reach_the_facts_that_say_so(question, starts):
    assert ask(question).startswith(starts)


def test_how_long_a_fine_tune_takes_is_its_training_line_with_the_run():
    """"How long does a fine-tune take?" found no fact ("fine-tune" is two words to the
    search), then only the month's instance-hours: the line's run is in its note."""
    result = result_of("model-fine-tuning")
    rec = next(o for o in result["options"] if o["rank"] == 1)
    (train,) = [i for i in rec["line_items"] if i["component"] == "training GPUs"]
    text = ask("How long does a fine-tune take?", "model-fine-tuning")
    assert text.startswith(f"**{train['workload']} on {rec['provider']} {rec['region']}.**")
    assert f"(how long a run takes, on how many machines: {train['note']})" in text
    assert " h per run" in train["note"]


@pytest.mark.parametrize(("name", "question", "starts"), [
    # a CTO's everyday questions (2026-12-07, from a manga reader's and an EU legal
    # assistant's assessments): each had led with a budget lever naming the part in
    # passing, the budget ("No single change ..."), or another option's lines
    ("eu-fintech", "What does the load balancer cost?", "**(shared) on aws eu-north-1.**"),
    ("eu-fintech", "How much egress do we pay for?", "**(shared) on aws eu-north-1.**"),
    ("eu-fintech", "What instance types did you choose?", "**The architecture: what the "
                                                          "design is made of"),
    ("eu-fintech", "How do we back up the database?", "**ledger-db on aws eu-north-1.**"),
    ("eu-fintech", "How will costs change over two years?", "**Cost projection.**"),
    ("eu-fintech", "Is there a single point of failure?", "**Review: reliability.**"),
    ("eu-fintech", "What is the monthly cost?", "**Cost breakdown: the biggest costs.**"),
    ("marketplace-platform", "What does the load balancer cost?",
     "**(shared) on azure northeurope.**"),
    ("eu-fintech", "How secure is this?", "**Review: security.**"),
    ("eu-fintech", "What happens when traffic spikes?", "**Review: performance efficiency.**"),
    ("saas-startup", "What happens during the morning rush?",
     "**Review: performance efficiency.**"),
    ("saas-startup", "What should we negotiate with the provider?",
     "**Review: cost optimization.**"),
    ("saas-startup", "What about disaster recovery?", "**Review: reliability.**"),
    ("saas-startup", "What is the network cost?", "**(shared) on gcp us-east1.**"),
    # had led with the cost breakdown, which names the GPU line among the costs
    ("llm-inference", "What GPU did you pick?", "**The architecture: what the design is made "
                                                "of, its servers and GPUs.**"),
])
def test_everyday_questions_lead_with_the_fact_that_answers_them(name, question, starts):
    assert ask(question, name).startswith(starts)


def test_a_database_whose_backups_are_in_its_storage_price_says_so():
    """RDS includes backups up to the storage's size, so the recommended option has no
    backup line; "How do we back up the database?" had led with Google's."""
    text = ask("How do we back up the database?", "eu-fintech")
    assert "(automated backups (seven daily, incremental) included up to 100% of the " \
           "storage)" in text
