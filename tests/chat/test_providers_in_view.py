"""Chat answers about an assessment stay with its providers, and say why one is missing.

On an Azure-only assessment (a UK florist: preferences.providers [azure], a 3-year
commitment), "How much would we save with a 1-year term instead?" was answered from the
AWS Savings Plans article with a PCI log-retention gap as its lead fact; "What would this
cost on AWS?" with the cost review. The purchase-options fact now names terms as a question
does ("1-year term"), articles about providers the assessment does not consider are left
out, and each provider without an option is a fact saying why.
"""

from __future__ import annotations

import asyncio

import yaml

from infra_mind import assess
from infra_mind.chat.answer import answer
from infra_mind.chat.grounding import retrieve
from infra_mind.knowledge import default_knowledge_base
from tests.chat.helpers import EXAMPLES

KB = default_knowledge_base()


def azure_only() -> dict:
    doc = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
    doc["preferences"] = {**doc["preferences"], "providers": ["azure"], "commitment": "3y"}
    return assess(doc).model_dump(mode="json")


RESULT = azure_only()


def ask(question: str, result: dict | None = RESULT) -> str:
    return asyncio.run(answer(question, result=result, kb=KB, history=[])).markdown


def test_a_commitment_question_leads_with_the_purchase_options():
    text = ask("How much would we save with a 1-year term instead?")
    assert text.startswith(
        "**Purchase options on azure eastus: what each term or commitment saves.**")
    assert "reserved 1-year term (reserved 1y): $" in text
    assert "AWS Savings Plans" not in text


def test_articles_about_other_providers_only_are_left_out():
    retrieved = retrieve("commitment savings plan reserved instances", RESULT, KB)
    tags = [set(h.article.tags) & {"aws", "azure", "gcp"} for h in retrieved.articles]
    assert retrieved.articles and all(not t or "azure" in t for t in tags)
    # a provider the question names is in view; without an assessment every one is
    named = retrieve("AWS savings plans", RESULT, KB)
    assert any("aws" in h.article.tags for h in named.articles)
    general = retrieve("commitment savings plan reserved instances", None, KB)
    assert any({"aws", "gcp"} & set(h.article.tags) and "azure" not in h.article.tags
               for h in general.articles)


def test_a_provider_without_an_option_is_a_fact_that_says_why():
    text = ask("What would this cost on AWS?")
    assert text.startswith("**AWS / Amazon Web Services not priced.** No AWS / Amazon Web "
                           "Services (aws) option was priced, so the assessment has no cost "
                           "for it: the requirements' preferences.providers leave it out; add "
                           "aws there.")
