"""``knowledge.bm25.Okapi`` gives the scores rank-bm25's ``BM25Okapi`` gave.

The expected figures were computed with rank-bm25 0.2.2 (the package this module
replaced, issue #14) on the same corpus and queries, printed with ``repr``; equality is
exact, as both do the same arithmetic in the same order. The corpus has a term in three
of its four documents (its idf would be negative, so it gets the floor: a quarter of the
average idf), a term in exactly half (idf 0), a term repeated in a document, and
documents of different lengths.
"""

from __future__ import annotations

import math

import pytest

from infra_mind.knowledge.bm25 import Okapi

CORPUS = [["spot", "instance", "interrupt", "spot"],
          ["reserved", "instance", "discount"],
          ["instance", "save", "plan", "discount", "commit"],
          ["cdn", "cache", "edge"]]


@pytest.mark.parametrize(("query", "expected"), [
    (["spot"], [1.1850319725695155, 0.0, 0.0, 0.0]),
    (["instance"], [0.14956714216896794, 0.16929028179564506, 0.1339601360295974, 0.0]),
    (["discount", "commit"], [0.0, 0.0, 0.7367807481627858, 0.0]),
    (["spot", "spot"], [2.370063945139031, 0.0, 0.0, 0.0]),  # a repeat counts again
    (["nothing"], [0.0, 0.0, 0.0, 0.0]),
    (["cdn", "instance"], [0.14956714216896794, 0.16929028179564506, 0.1339601360295974,
                           0.9310965498760481]),
])
def test_scores_are_rank_bm25s(query, expected):
    assert Okapi(CORPUS).scores(query) == expected


def test_common_terms_get_the_floor_and_a_term_in_half_the_documents_counts_nothing():
    idf = Okapi(CORPUS).idf
    rare = math.log(4 - 1 + 0.5) - math.log(1 + 0.5)
    assert idf["spot"] == rare == 0.8472978603872037
    assert idf["discount"] == 0.0
    # nine rare terms, "discount" at 0 and "instance" at ln(1.5/3.5) on average, a quarter
    average = (9 * rare + math.log(4 - 3 + 0.5) - math.log(3 + 0.5)) / 11
    assert idf["instance"] == pytest.approx(0.25 * average) and idf["instance"] > 0


def test_a_longer_document_scores_a_term_lower():
    scores = Okapi([["vpc"], ["vpc", "subnet", "route", "table"], ["nat"]]).scores(["vpc"])
    assert scores[0] > scores[1] > 0 == scores[2]


def test_documents_without_terms_and_an_empty_corpus():
    assert Okapi([[], []]).scores(["vpc"]) == [0.0, 0.0]
    with pytest.raises(ValueError, match="at least one document"):
        Okapi([])
