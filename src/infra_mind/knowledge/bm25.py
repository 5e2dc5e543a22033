"""Okapi BM25 in plain Python: the scores the chat's two searches rank by.

The collections are small (the bundled articles, one assessment's facts), so a loop over
the documents that hold a term is all the work a question needs. numpy, which the
rank-bm25 package computed this with, cost some 19 MiB in every process that answered a
question (issue #14).

The scoring is rank-bm25's ``BM25Okapi`` (k1 1.5, b 0.75), ties included: the inverse
document frequency is ``ln((N - n + 0.5) / (n + 0.5))`` for a term in ``n`` of ``N``
documents, and a term in more than half of them, whose idf would be negative, counts
``EPSILON`` times the collection's average idf instead. The arithmetic is done in the
same order, so scores are the same floats.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

K1 = 1.5
B = 0.75
#: A term in more than half the documents counts this fraction of the average idf.
EPSILON = 0.25


class Okapi:
    """An index of tokenised documents; ``scores`` ranks them against a query."""

    def __init__(self, corpus: Iterable[Sequence[str]]) -> None:
        self._frequencies: list[Counter[str]] = [Counter(document) for document in corpus]
        if not self._frequencies:
            raise ValueError("BM25 needs at least one document")
        lengths = [sum(counts.values()) for counts in self._frequencies]
        average = sum(lengths) / len(lengths) or 1.0  # 0: no terms, nothing to weigh
        # the part of each document's term weight that depends only on its length
        self._norms = [K1 * (1 - B + B * length / average) for length in lengths]
        holding: Counter[str] = Counter()
        for counts in self._frequencies:
            holding.update(counts.keys())
        size = len(self._frequencies)
        self.idf = {term: math.log(size - n + 0.5) - math.log(n + 0.5)
                    for term, n in holding.items()}
        floor = EPSILON * (sum(self.idf.values()) / len(self.idf)) if self.idf else 0.0
        for term, idf in self.idf.items():
            if idf < 0:
                self.idf[term] = floor

    def scores(self, query: Iterable[str]) -> list[float]:
        """Each document's score for ``query`` (its terms, repeats counting again), in
        the corpus's order."""
        totals = [0.0] * len(self._frequencies)
        for term in query:
            idf = self.idf.get(term)
            if not idf:
                continue
            for i, counts in enumerate(self._frequencies):
                count = counts.get(term)
                if count:
                    totals[i] += idf * (count * (K1 + 1) / (count + self._norms[i]))
        return totals
