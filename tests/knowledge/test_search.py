"""Search: the tokeniser's rules and the quality of answers to realistic questions."""

from __future__ import annotations

import pytest

from infra_mind.knowledge import (
    Article,
    KnowledgeBase,
    Source,
    default_knowledge_base,
    stem,
    tokenize,
)

QUESTIONS = [
    ("what happens when a spot instance is interrupted", "aws-spot-instances"),
    ("HIPAA business associate agreement", "hipaa"),
    ("how do committed use discounts work on google cloud", "gcp-committed-use-discounts"),
    ("multi-az database failover", "multi-az-databases"),
    ("savings plan vs reserved instance", "aws-savings-plans"),
    ("savings plan vs reserved instance", "aws-reserved-instances"),
    ("GDPR breach notification within 72 hours", "gdpr"),
    ("how much notice before an Azure spot VM is evicted", "azure-spot-vms"),
    ("preemptible VMs on GCP", "gcp-spot-vms"),
    ("what is the difference between RTO and RPO", "rto-rpo"),
    ("pilot light vs warm standby disaster recovery", "disaster-recovery-tiers"),
    ("should I put a NAT gateway in every availability zone", "nat-gateways"),
    ("GKE autopilot vs standard", "gcp-gke"),
    ("k8s on azure", "azure-aks"),
    ("reduce PCI DSS scope for cardholder data", "pci-dss"),
    ("SOC 2 type II report", "soc2"),
    ("ISO 27001 certification audit", "iso27001"),
    ("CCPA right to opt out of sale", "ccpa-cpra"),
    ("encryption at rest with customer managed keys", "encryption-customer-managed-keys"),
    ("how to calculate a composite SLA", "composite-sla"),
    ("Graviton arm instances", "arm-processors"),
    ("which GPU for LLM inference", "gpus-training-vs-inference"),
    ("egress data transfer charges between regions", "data-egress-pricing"),
    ("when does an upfront reservation break even", "commitment-break-even"),
    ("azure reservations or savings plan", "azure-savings-plan-compute"),
    ("lifecycle rule to move old logs to archive", "storage-lifecycle-policies"),
    ("point in time restore of a database", "backups-point-in-time-recovery"),
    ("Azure Cache for Redis retirement", "managed-caches"),
    ("lift and shift migration", "cloud-migration-strategies"),
    ("is multi-cloud worth it", "multi-cloud-trade-offs"),
    ("shared responsibility model", "shared-responsibility-model"),
    ("keep data in the EU data residency", "data-residency"),
    ("which region is near enough to users in Japan", "latency-and-region-choice"),
    ("round trip time from users to the region", "latency-and-region-choice"),
]


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_question_finds_the_right_article_in_top_three(question: str, expected: str) -> None:
    hits = default_knowledge_base().search(question, k=3)
    assert expected in [hit.article.id for hit in hits], [h.article.id for h in hits]


def test_hits_are_best_first_positive_and_at_most_k() -> None:
    hits = default_knowledge_base().search("spot interruption notice", k=4)
    assert 0 < len(hits) <= 4
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(score, float) and score > 0 for score in scores)


@pytest.mark.parametrize("query", ["", "   ", "what is the", "how do I do it?", "!!!"])
def test_empty_or_stopword_only_query_returns_nothing(query: str) -> None:
    assert default_knowledge_base().search(query) == []


def test_unknown_words_return_nothing() -> None:
    assert default_knowledge_base().search("xylophone zebra") == []


def test_default_knowledge_base_is_cached() -> None:
    assert default_knowledge_base() is default_knowledge_base()
    assert len(default_knowledge_base()) >= 50


def test_empty_knowledge_base_searches_to_nothing() -> None:
    assert KnowledgeBase([]).search("spot") == []


def test_get_by_id() -> None:
    kb = default_knowledge_base()
    article = kb.get("hipaa")
    assert article is not None and article.id == "hipaa"
    assert kb.get("no-such-article") is None


def test_title_outweighs_a_passing_mention() -> None:
    source = (Source(title="t", url="https://example.com"),)
    focused = Article("nat", "NAT gateways", ("networking",), source, "Outbound access.")
    passing = Article("other", "Load balancers", ("networking",), source,
                      "Load balancers spread traffic; a NAT gateway is different.")
    filler = [Article(f"f{i}", f"Filler {i}", ("misc",), source, "Unrelated words here.")
              for i in range(3)]
    hits = KnowledgeBase([passing, focused, *filler]).search("nat gateway")
    assert hits[0].article.id == "nat"


def test_tokenize_lowercases_drops_stopwords_and_stems() -> None:
    assert tokenize("What are the Reserved Instances?") == ["reserv", "instanc"]
    assert tokenize("scaling scaled scales") == ["scal"] * 3


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("GCP", "Google"),
        ("Microsoft", "Azure"),
        ("k8s", "Kubernetes"),
        ("preemptible", "spot"),
        ("RI", "reserved instance"),
        ("CUD", "committed use discount"),
        ("multi-AZ", "multi availability zone"),
        ("interruption", "interrupted"),
        ("committed", "commit"),
        ("policies", "policy"),
        ("databases", "DB"),
        ("GPUs", "GPU"),
        ("vCPUs", "vCPU"),
    ],
)
def test_tokenize_folds_aliases_and_inflections(left: str, right: str) -> None:
    assert tokenize(left) == tokenize(right)


def test_stem_leaves_short_and_alphanumeric_words_alone() -> None:
    assert [stem(w) for w in ["aws", "s3", "ec2", "status", "analysis"]] == [
        "aws", "s3", "ec2", "status", "analysis"]
