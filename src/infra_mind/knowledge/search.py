"""Ranking articles against a question: BM25 over title, tags and body.

Questions to the chat assistant are short and phrased in the asker's words
("GCP", "k8s", "preemptible") while the articles use the vendors' terms, so the
tokeniser folds the common aliases onto one token and strips the plural and
verb endings that would otherwise split "interrupted" from "interrupt". The
same ``tokenize`` ranks the assessment's own fact documents elsewhere, so both
rankings follow one set of rules. Everything is local and deterministic: no
embeddings, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from infra_mind.knowledge.bm25 import Okapi
from infra_mind.knowledge.loader import Article, load_articles

#: How many times the title and each tag count against the body, so a question that
#: names an article's subject ranks it above articles that merely mention it.
TITLE_WEIGHT = 3
TAG_WEIGHT = 2

_WORD = re.compile(r"[a-z0-9]+")

_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing done down during each
either else ever every few for from further get gets go goes going got had has have
having he her here hers him his how i if in into is it its itself just let lets may me
might more most much must my neither no nor not now of off often on once one only or
other our ours out over own per please same shall she should so some such than that the
their theirs them then there these they this those through thus to too under until up
upon us used using very via vs versus was we were what when where whether which while
who whom whose why will with within without would yes yet you your yours
"""
#: Common English words dropped from questions and articles alike. "use" is kept:
#: "committed use discount" needs it. "go" is dropped: "Will we go over budget?" had led
#: with the risks fact for its title's "what could go wrong", not with the budget.
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

#: Aliases folded onto the articles' own terms. Keys are lowercase words (or their
#: stems); the values replace them and are stemmed like any other word. A value that
#: keeps the key keeps exact-name matches (a question naming "EKS" still prefers the
#: EKS article) while the expansion reaches articles that spell the name out.
ALIASES: dict[str, tuple[str, ...]] = {
    "gcp": ("google",),
    "gce": ("google", "compute", "engine"),
    "microsoft": ("azure",),
    "amazon": ("aws",),
    "k8s": ("kubernetes",),
    "kube": ("kubernetes",),
    "preemptible": ("spot",),
    "preempt": ("spot", "interrupt"),
    "preemption": ("spot", "interrupt"),
    "interruption": ("interrupt",),
    "eviction": ("evict",),
    "ri": ("reserved", "instance"),
    "ris": ("reserved", "instance"),
    "cud": ("committed", "use", "discount"),
    "sud": ("sustained", "use", "discount"),
    "az": ("availability", "zone"),
    "azs": ("availability", "zone"),
    "dr": ("disaster", "recovery"),
    "ha": ("high", "availability"),
    "pitr": ("point", "time", "recovery"),
    "db": ("database",),
    "dbs": ("database",),
    "vm": ("virtual", "machine"),
    "vms": ("virtual", "machine"),
    "lb": ("load", "balancer"),
    "elb": ("elb", "load", "balancer"),
    "alb": ("alb", "application", "load", "balancer"),
    "nlb": ("nlb", "network", "load", "balancer"),
    "baa": ("baa", "business", "associate", "agreement"),
    "dpa": ("dpa", "data", "processing", "agreement"),
    "cmk": ("cmk", "customer", "managed", "key"),
    "cmek": ("cmek", "customer", "managed", "key"),
    "iso27001": ("iso", "27001"),
    "soc2": ("soc", "2"),
    "pcidss": ("pci", "dss"),
    "ccpa": ("ccpa", "cpra"),
    "cpra": ("ccpa", "cpra"),
    "postgres": ("postgresql",),
    # Acronym plurals end in "-us", which the stemmer leaves alone for "status", "bus".
    "gpus": ("gpu",),
    "cpus": ("cpu",),
    "vcpus": ("vcpu",),
    "tpus": ("tpu",),
    "arm64": ("arm",),
    "aarch64": ("arm",),
    "graviton": ("graviton", "arm"),
    "cobalt": ("cobalt", "arm"),
    "axion": ("axion", "arm"),
    "eks": ("eks", "aws", "kubernetes"),
    "aks": ("aks", "azure", "kubernetes"),
    "gke": ("gke", "google", "kubernetes"),
    "gcs": ("gcs", "google", "cloud", "storage"),
    "autoscal": ("auto", "scaling"),
    "autoscaler": ("auto", "scaling"),
    "rightsiz": ("right", "sizing"),
    "ondemand": ("on", "demand"),
    "multicloud": ("multi", "cloud"),
    # money in the asker's words, onto the budget facts' own
    "afford": ("afford", "budget"),
    "cheaper": ("cheaper", "lower", "cost"),
    "cut": ("cut", "lower", "cost"),
    "save": ("save", "lower", "cost"),
    "saving": ("save", "lower", "cost"),
    # "Is payroll data kept in Australia?": where the data is stored
    "kept": ("kept", "stored"),
    "keep": ("keep", "stored"),
    "hosted": ("hosted", "stored"),
    # "How long do we keep logs?": the controls say "retained", "retention"
    "retained": ("retained", "stored"),
    "retain": ("retain", "stored"),
    "retention": ("retention", "stored"),
    # "What happens if Sydney goes down?" ("goes down" folds to "outage"): the reliability
    # review's words, not only the region fact that names Sydney
    "outage": ("outage", "failover", "recovery"),
    # "how will costs grow?": the projection's growth forecast
    "grow": ("grow", "growth", "projection"),
    "growth": ("growth", "projection"),
    # what the business does itself, onto the controls that are its own
    "ourselves": ("customer", "responsibility"),
    "yourselves": ("customer", "responsibility"),
    "waf": ("waf", "web", "application", "firewall"),
    # "do we need X?" asks what requires it: the controls a design meets
    "need": ("need", "require"),
    # "how many servers do we need?": the design's machines
    "server": ("server", "machine"),
    "servers": ("server", "machine"),
    # "what could go wrong?": the risks the review found
    "wrong": ("wrong", "risk"),
    # "is the design highly available?": the reliability facts' words
    "available": ("available", "availability"),
    "highly": ("high",),
    "reliable": ("reliable", "reliability"),
    # "how fast will pages load?": the performance facts' words
    "fast": ("fast", "speed", "latency"),
    "slow": ("slow", "speed", "latency"),
    # "What should we negotiate?": the rates the review says to ask the provider for
    "negotiate": ("negotiate", "ask"),
    "negotiation": ("negotiate", "ask"),
    # "How long until we outgrow this?": the growth the projection and the budget follow
    "outgrow": ("outgrow", "growth", "projection"),
    # "What happens during the dinner rush?": the peak the sizing and the review speak of
    "rush": ("rush", "peak"),
    "spike": ("spike", "peak"),
    "surge": ("surge", "peak"),
    "busiest": ("busiest", "peak"),
    # "How secure is this?" had led with an article: the security review and controls
    "secure": ("secure", "security"),
    # "how old are the prices?": the catalog fact's "oldest price date"
    "old": ("old", "oldest"),
    # "How far are our Japanese users?": the places as the facts name them (``US`` is
    # a stopword, so "American" has nothing to fold onto)
    "japanese": ("japan",),
    "korean": ("korea",),
    "european": ("europe", "eu"),
    "indian": ("india",),
    "australian": ("australia",),
    "canadian": ("canada",),
    "german": ("germany",),
    "french": ("france",),
    "british": ("uk", "britain"),
    "brazilian": ("brazil",),
    "singaporean": ("singapore",),
    "dutch": ("netherlands",),
    "irish": ("ireland",),
    "swedish": ("sweden",),
    "swiss": ("switzerland",),
    "spanish": ("spain",),
    "italian": ("italy",),
    "mexican": ("mexico",),
    # how far the users are: the round trips the region facts and the review give
    "far": ("far", "round", "trip", "latency"),
    # "why did you pick this region?" asks for the recommendation's reasons
    "pick": ("pick", "recommend"),
    "choose": ("choose", "recommend"),
    "chose": ("choose", "recommend"),
    "chosen": ("choose", "recommend"),
    "choice": ("choice", "recommend"),
    "recommendation": ("recommendation", "recommend"),
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the article and its BM25 score (higher is better)."""

    article: Article
    score: float


#: Phrases whose meaning a stopword carries, folded to one word first: "What's not
#: priced?" had searched for "priced" alone ("not" is a stopword).
_PHRASE_WORDS = {"not priced": "unpriced", "isn't priced": "unpriced",
                 "aren't priced": "unpriced", "not included": "unpriced",
                 # "What happens if the region goes down?": the reliability facts' outage
                 "goes down": "outage", "go down": "outage", "went down": "outage",
                 "is down": "outage",
                 # "Where is our data?" ("where" is a stopword): where it is stored
                 "where is our data": "data stored", "where is the data": "data stored",
                 "where does our data live": "data stored",
                 "where will our data live": "data stored",
                 # "How much egress do we pay for?" had led with "where it pays off"
                 # (Kubernetes): what we pay is what it costs
                 "we pay": "cost", "you pay": "cost", "i pay": "cost",
                 # "How do we back up the database?": the backups' lines and controls
                 "back up": "backup", "backs up": "backup", "backed up": "backup",
                 "backing up": "backup",
                 # "How long does a fine-tune take?" found nothing: the workload and the
                 # articles write it as one word, or as training
                 "fine-tune": "finetune training", "fine tune": "finetune training",
                 "fine-tuning": "finetune training", "fine tuning": "finetune training",
                 "fine-tuned": "finetune training", "fine tuned": "finetune training",
                 "fine-tunes": "finetune training", "fine tunes": "finetune training",
                 # "Why is it so expensive?" had found no fact at all: what costs the
                 # most (not every fact saying "cost"; "Why is the database so
                 # expensive?" names what it asks about, and leads with its lines)
                 **{f"{verb} {it}{so} {word}": "biggest cost"
                    for verb in ("is", "are") for it in ("it", "this", "we", "that")
                    for so in ("", " so", " too") for word in ("expensive", "costly",
                                                               "pricey")}}
_PHRASES = re.compile(r"\b(" + "|".join(re.escape(p) for p in _PHRASE_WORDS) + r")\b")


def tokenize(text: str) -> list[str]:
    """Search tokens of ``text``: lowercased alphanumeric runs, stopwords dropped,
    aliases folded and endings stemmed. Order and repeats are kept (BM25 counts them)."""
    tokens: list[str] = []
    for word in _WORD.findall(_PHRASES.sub(lambda m: _PHRASE_WORDS[m[1]], text.lower())):
        if word in STOPWORDS or (len(word) == 1 and word.isalpha()):
            continue
        expansion = ALIASES.get(word) or ALIASES.get(stem(word))
        if expansion is None:
            tokens.append(stem(word))
        else:
            tokens.extend(stem(alias) for alias in expansion if alias not in STOPWORDS)
    return tokens


def stem(word: str) -> str:
    """A light suffix stemmer: plural -s/-es/-ies, -ing, -ed and a final -e.

    Short words and words with digits (``aws``, ``s3``, ``ec2``) are left alone.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if word[-1] == word[-2] and word[-1] not in "lsz":  # committed -> commit
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


class KnowledgeBase:
    """Articles indexed for BM25 search; built once, read-only afterwards."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self.articles: tuple[Article, ...] = tuple(articles)
        self._by_id = {article.id: article for article in self.articles}
        corpus = [_document_tokens(article) for article in self.articles]
        self._bm25 = Okapi(corpus) if corpus else None  # an empty base has no index

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, article_id: str) -> Article | None:
        """The article with ``article_id``, or ``None``."""
        return self._by_id.get(article_id)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best articles for ``query``, best first; only scores above zero."""
        terms = list(dict.fromkeys(tokenize(query)))  # a repeated word is not a stronger hint
        if self._bm25 is None or not terms or k <= 0:
            return []
        scores = self._bm25.scores(terms)
        ranked = sorted(zip(self.articles, scores, strict=True),
                        key=lambda pair: (-pair[1], pair[0].id))
        return [Hit(article, score) for article, score in ranked[:k] if score > 0]


def _document_tokens(article: Article) -> list[str]:
    title = tokenize(article.title) * TITLE_WEIGHT
    tags = tokenize(" ".join(article.tags)) * TAG_WEIGHT
    return title + tags + tokenize(article.body)


@lru_cache(maxsize=1)
def default_knowledge_base() -> KnowledgeBase:
    """The bundled articles, loaded and indexed once per process."""
    return KnowledgeBase(load_articles())
