"""The chat assistant's bundled knowledge base: short sourced articles and their search.

The articles explain mechanisms (how a commitment discount applies, what a
Multi-AZ failover does, what HIPAA asks of a cloud vendor) so the assistant can
answer from text a reviewer can check, citing the vendor's own page. They never
carry prices; those come from the dated price catalog.
"""

from infra_mind.knowledge.loader import (
    ARTICLES_DIR,
    Article,
    KnowledgeError,
    Source,
    load_articles,
    parse_article,
)
from infra_mind.knowledge.search import (
    Hit,
    KnowledgeBase,
    default_knowledge_base,
    stem,
    tokenize,
)

__all__ = ["ARTICLES_DIR", "Article", "Hit", "KnowledgeBase", "KnowledgeError", "Source",
           "default_knowledge_base", "load_articles", "parse_article", "stem", "tokenize"]
