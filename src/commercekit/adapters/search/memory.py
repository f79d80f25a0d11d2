"""Search in this process's memory, for ``memory://`` stores and tests.

It ranks as SQLite's FTS5 ranks (Okapi BM25, with FTS5's constants, the title
weighted ten times the body, and statistics over every document kept), so that a
memory store orders results as a SQLite store does.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, final

import attrs

from commercekit.adapters.search._shared import (
    BODY_WEIGHT,
    TITLE_WEIGHT,
    Key,
    by_frequency,
    checked_documents,
)
from commercekit.adapters.search._text import Terms, query_terms, words
from commercekit.domain.errors import InvalidInput
from commercekit.domain.identifiers import check_keys
from commercekit.ports.search import (
    CATEGORY_FACET,
    IN_STOCK_FACET,
    PRICE_FACET,
    FacetCount,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    attribute_facet,
)

__all__ = ["MemorySearchBackend"]

# FTS5's bm25() constants, and the IDF it uses for a word in half the documents or
# more (whose IDF would be zero or less).
_K1: Final = 1.2
_B: Final = 0.75
_LEAST_IDF: Final = 1e-6


@attrs.frozen
class _Entry:
    document: SearchDocument
    weighted: Mapping[str, float]
    """Each word's occurrences, weighted by where they are."""
    length: int
    """How many words the title and body have together."""


@final
class MemorySearchBackend:
    """Documents in a dict, with an inverted index over their words. Safe to share
    between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}
        self._postings: dict[str, set[Key]] = {}
        self._words = 0
        self._vocabulary: list[str] | None = None
        """Every word indexed, sorted (for prefixes); rebuilt when words change."""

    def index(self, documents: Sequence[SearchDocument]) -> None:
        checked = checked_documents(documents)
        with self._lock:
            for document in checked:
                self._forget((document.product_id, document.locale))
                self._keep(document)

    def _keep(self, document: SearchDocument) -> None:
        key = (document.product_id, document.locale)
        title, body = words(document.title), words(document.body)
        weighted: dict[str, float] = {}
        for word in title:
            weighted[word] = weighted.get(word, 0.0) + TITLE_WEIGHT
        for word in body:
            weighted[word] = weighted.get(word, 0.0) + BODY_WEIGHT
        self._entries[key] = _Entry(document, weighted, len(title) + len(body))
        self._words += len(title) + len(body)
        for word in weighted:
            if word not in self._postings:
                self._postings[word] = set()
                self._vocabulary = None
            self._postings[word].add(key)

    def _forget(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._words -= entry.length
        for word in entry.weighted:
            keys = self._postings[word]
            keys.discard(key)
            if not keys:
                del self._postings[word]
                self._vocabulary = None

    def remove(self, product_ids: Iterable[str]) -> None:
        gone = set(check_keys(product_ids, "product_ids"))
        with self._lock:
            for key in [key for key in self._entries if key[0] in gone]:
                self._forget(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._postings.clear()
            self._words = 0
            self._vocabulary = None

    def search(self, query: SearchQuery) -> SearchResult:
        if not isinstance(query, SearchQuery):
            raise InvalidInput(f"expected a SearchQuery, got {type(query).__name__}", field="query")
        terms = query_terms(query.text, prefix=query.prefix)
        with self._lock:
            scored = self._matching(terms, _filter(query))
        ranked = sorted(scored, key=lambda pair: (-pair[1], pair[0].product_id))
        page = ranked[query.offset : query.offset + query.limit]
        return SearchResult(
            hits=tuple(SearchHit(document.product_id, score) for document, score in page),
            total=len(ranked),
            facets=_facets(query, [document for document, _ in ranked]),
        )

    def _matching(
        self, terms: Terms, passes: Callable[[SearchDocument], bool]
    ) -> list[tuple[SearchDocument, float]]:
        if not terms:
            return [(e.document, 0.0) for e in self._entries.values() if passes(e.document)]
        last = len(terms.words) - 1
        found = [
            self._prefixed(word) if terms.prefix and n == last else [word]
            for n, word in enumerate(terms.words)
        ]
        holders = [set().union(*(self._postings.get(word, ()) for word in f)) for f in found]
        keys = set.intersection(*holders)
        count = len(self._entries)
        average = self._words / count if count else 0.0
        idfs = [_idf(count, len(h)) for h in holders]
        scored = []
        for key in keys:
            entry = self._entries[key]
            if passes(entry.document):
                frequencies = [sum(entry.weighted.get(word, 0.0) for word in f) for f in found]
                scored.append((entry.document, _bm25(idfs, frequencies, entry.length, average)))
        return scored

    def _prefixed(self, prefix: str) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = sorted(self._postings)
        vocabulary = self._vocabulary
        start = bisect.bisect_left(vocabulary, prefix)
        end = start
        while end < len(vocabulary) and vocabulary[end].startswith(prefix):
            end += 1
        return vocabulary[start:end]


def _idf(count: int, holding: int) -> float:
    idf = math.log((count - holding + 0.5) / (holding + 0.5))
    return idf if idf > 0.0 else _LEAST_IDF


def _bm25(idfs: list[float], frequencies: list[float], length: int, average: float) -> float:
    # As FTS5's fts5Bm25Function computes it, term by term in the same order, so that
    # the scores come out the same.
    score = 0.0
    for idf, frequency in zip(idfs, frequencies, strict=True):
        score += idf * (
            (frequency * (_K1 + 1.0)) / (frequency + _K1 * (1 - _B + _B * length / average))
        )
    return score


def _filter(query: SearchQuery) -> Callable[[SearchDocument], bool]:
    def passes(document: SearchDocument) -> bool:
        if document.locale != query.locale:
            return False
        if not (document.published or query.include_unpublished):
            return False
        if query.in_stock_only and not document.in_stock:
            return False
        if query.category_id is not None and query.category_id not in document.category_ids:
            return False
        for name, values in query.attributes.items():
            if values.isdisjoint(document.attributes.get(name, ())):
                return False
        if query.price is not None:
            units = document.prices.get(query.price.currency)
            if units is None or not query.price.holds(units):
                return False
        return True

    return passes


def _facets(
    query: SearchQuery, documents: list[SearchDocument]
) -> dict[str, tuple[FacetCount, ...]]:
    wanted = query.facets
    facets: dict[str, tuple[FacetCount, ...]] = {}
    if wanted.categories:
        facets[CATEGORY_FACET] = by_frequency(
            Counter(category for d in documents for category in d.category_ids)
        )
    for name in wanted.attributes:
        facets[attribute_facet(name)] = by_frequency(
            Counter(value for d in documents for value in d.attributes.get(name, ()))
        )
    if wanted.prices is not None:
        buckets = wanted.prices
        counts = Counter(
            buckets.bucket_of(d.prices[buckets.currency])
            for d in documents
            if buckets.currency in d.prices
        )
        facets[PRICE_FACET] = tuple(
            FacetCount(label, counts[n]) for n, label in enumerate(buckets.labels())
        )
    if wanted.in_stock:
        stocked = sum(1 for d in documents if d.in_stock)
        facets[IN_STOCK_FACET] = (
            FacetCount("true", stocked),
            FacetCount("false", len(documents) - stocked),
        )
    return facets
