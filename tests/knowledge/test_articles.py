"""The bundled articles: enough of them, well-formed, sourced, short, and price-free."""

from __future__ import annotations

import re

import pytest

from infra_mind.engine.compliance.catalog import CONTROLS_DIR
from infra_mind.knowledge import ARTICLES_DIR, Article, load_articles

ARTICLES = load_articles()

#: Prices belong to the dated catalog; an article quoting one would go stale unseen.
PRICE = re.compile(
    r"\$\s*\d|\bUSD\b|€|£|%\s*off\b|percent off\b|\bup to \d+(?:\.\d+)?\s*(?:%|percent)",
    re.IGNORECASE,
)


def _ids(articles: list[Article]) -> list[str]:
    return [article.id for article in articles]


def test_at_least_fifty_articles() -> None:
    assert len(ARTICLES) >= 50


def test_ids_unique_and_equal_to_filenames() -> None:
    ids = _ids(ARTICLES)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(path.stem for path in ARTICLES_DIR.glob("*.md"))


@pytest.mark.parametrize("article", ARTICLES, ids=_ids(ARTICLES))
def test_article_has_https_sources(article: Article) -> None:
    assert article.sources
    assert all(source.url.startswith("https://") and source.title for source in article.sources)


@pytest.mark.parametrize("article", ARTICLES, ids=_ids(ARTICLES))
def test_article_body_is_80_to_250_words(article: Article) -> None:
    assert 80 <= len(article.body.split()) <= 250


@pytest.mark.parametrize("article", ARTICLES, ids=_ids(ARTICLES))
def test_article_quotes_no_prices(article: Article) -> None:
    text = "\n".join([article.title, article.body])
    assert PRICE.search(text) is None, PRICE.search(text)


def test_price_pattern_catches_the_usual_forms() -> None:
    for text in ["costs $0.10 an hour", "12 USD", "€5", "40% off", "save up to 72%"]:
        assert PRICE.search(text), text
    for text in ["up to 35 days", "a 2-minute notice", "99.99 percent availability"]:
        assert PRICE.search(text) is None, text


def test_every_compliance_framework_has_a_tagged_article() -> None:
    frameworks = {path.stem for path in CONTROLS_DIR.glob("*.yaml")}
    assert frameworks >= {"ccpa", "gdpr", "hipaa", "iso27001", "pci_dss", "soc2"}
    tagged = {tag for article in ARTICLES for tag in article.tags}
    assert frameworks <= tagged, frameworks - tagged


def test_required_topics_are_covered() -> None:
    ids = set(_ids(ARTICLES))
    for required in ["aws-savings-plans", "aws-reserved-instances", "azure-reservations",
                     "azure-savings-plan-compute", "gcp-committed-use-discounts",
                     "gcp-sustained-use-discounts", "aws-spot-instances", "azure-spot-vms",
                     "gcp-spot-vms", "multi-az-databases", "composite-sla", "rto-rpo",
                     "shared-responsibility-model", "data-residency"]:
        assert required in ids
    pillars = ["operational-excellence", "security", "reliability", "performance-efficiency",
               "cost-optimization", "sustainability"]
    tagged = {tag for article in ARTICLES for tag in article.tags}
    assert set(pillars) <= tagged
