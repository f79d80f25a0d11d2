"""The storage and search suites catch what they promise to: each deliberately broken
backend fails the suite method of the rule it breaks, with a message naming it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import attrs
import pytest

from commercekit.adapters.search.memory import MemorySearchBackend
from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.domain.errors import ConcurrencyConflict
from commercekit.ports.search import SearchDocument, SearchQuery, SearchResult
from commercekit.ports.storage import Storage
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed
from commercekit.testing.conformance import search as search_rules
from commercekit.testing.conformance import storage as storage_rules
from commercekit.testing.conformance.search import SearchBackendConformance
from commercekit.testing.conformance.storage import StorageConformance
from tests.conformance.test_the_kit import broken_rule

# --- storage ----------------------------------------------------------------------------


class Wrapped:
    """Every call goes to ``inner`` unless a broken backend overrides it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class UnitOfWork(Wrapped):
    def __enter__(self) -> UnitOfWork:
        self.inner.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.inner.__exit__(kind, error, traceback)


class CommitsOnExit(UnitOfWork):
    """Keeps what a unit of work wrote even when it was never committed."""

    def rollback(self) -> None:
        self.inner.commit()

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        self.inner.commit()
        self.inner.__exit__(kind, error, traceback)


class SwallowsConflicts(UnitOfWork):
    """Answers a lost race as if the commit had landed."""

    def commit(self) -> Any:
        try:
            return self.inner.commit()
        except ConcurrencyConflict:
            return []


class RaisesKeyErrors(UnitOfWork):
    """Lets a lookup's own error out instead of NotFound."""

    @property
    def carts(self) -> Any:
        carts = self.inner.carts

        class Carts(Wrapped):
            def get(self, cart_id: str) -> Any:
                if cart_id == "nowhere":
                    raise KeyError(cart_id)
                return carts.get(cart_id)

        return Carts(carts)


class BrokenStorage(Wrapped):
    unit: type[UnitOfWork] = UnitOfWork

    def unit_of_work(self) -> Any:
        return self.unit(self.inner.unit_of_work())


class LeasesToAll(BrokenStorage):
    def take_relay_lease(self, name: str, holder: str, *, now: datetime, until: datetime) -> bool:
        return True

    def mark_relayed(self, ids: Sequence[int], *, name: str, holder: str, at: datetime) -> bool:
        return bool(self.inner.mark_relayed(ids, name=name, holder=holder, at=at) or True)


def storage_suite(broken: type[BrokenStorage], unit: type[UnitOfWork] = UnitOfWork) -> Any:
    class Suite(StorageConformance):
        def make_storage(self) -> Storage:
            storage = broken(MemoryStorage())
            storage.unit = unit
            return storage  # type: ignore[return-value]

    return Suite()


@pytest.mark.parametrize(
    ("broken", "unit", "method", "broken_rule_name"),
    [
        (
            BrokenStorage,
            CommitsOnExit,
            "test_a_unit_of_work_is_all_or_nothing",
            storage_rules.ALL_OR_NOTHING,
        ),
        (
            BrokenStorage,
            SwallowsConflicts,
            "test_of_two_writers_the_second_conflicts_and_writes_nothing",
            storage_rules.SECOND_LOSES,
        ),
        (BrokenStorage, RaisesKeyErrors, "test_unknown_ids_are_not_found", TYPED_ERRORS),
        (
            LeasesToAll,
            UnitOfWork,
            "test_one_relay_holds_a_lease_and_only_it_marks_events",
            storage_rules.ONE_RELAY,
        ),
    ],
)
def test_a_broken_storage_fails_the_rule_it_breaks(
    broken: type[BrokenStorage], unit: type[UnitOfWork], method: str, broken_rule_name: str
) -> None:
    message = broken_rule(getattr(storage_suite(broken, unit), method))

    assert message.startswith(f"rule broken: {broken_rule_name}: ")


def test_the_kept_rules_of_a_broken_storage_still_pass() -> None:
    suite = storage_suite(LeasesToAll, SwallowsConflicts)

    suite.test_aggregates_come_back_as_they_went_in()
    suite.test_a_unit_of_work_reads_its_own_writes()


# --- search -----------------------------------------------------------------------------


class NoPrefixes(Wrapped):
    def search(self, query: SearchQuery) -> SearchResult:
        result: SearchResult = self.inner.search(attrs.evolve(query, prefix=False))
        return result


class CountsOnlyThePage(Wrapped):
    def search(self, query: SearchQuery) -> SearchResult:
        result: SearchResult = self.inner.search(query)
        if not query.facets:
            return result
        on_the_page = set(result.product_ids)
        counted = {
            facet: tuple(
                attrs.evolve(count, count=min(count.count, len(on_the_page))) for count in counts
            )
            for facet, counts in result.facets.items()
        }
        return attrs.evolve(result, facets=counted)


class KeepsRemoved(Wrapped):
    def remove(self, product_ids: Iterable[str]) -> None:
        list(product_ids)


class AppendsAgain(Wrapped):
    """Indexes a product again under a second id instead of replacing it."""

    def index(self, documents: Sequence[SearchDocument]) -> None:
        self.inner.index(documents)
        self.seen = getattr(self, "seen", 0) + 1
        if self.seen > 1:
            self.inner.index(
                [attrs.evolve(d, product_id=f"{d.product_id}-v{self.seen}") for d in documents]
            )


class TrustsAnything(Wrapped):
    def search(self, query: Any) -> SearchResult:
        if not isinstance(query, SearchQuery):
            query = SearchQuery()
        result: SearchResult = self.inner.search(query)
        return result


class ChokesOnQuotes(Wrapped):
    def search(self, query: SearchQuery) -> SearchResult:
        if '"' in query.text and query.text.strip('"* '):
            raise ValueError("unterminated string")
        result: SearchResult = self.inner.search(query)
        return result


def search_suite(broken: type[Wrapped]) -> SearchBackendConformance:
    class Suite(SearchBackendConformance):
        def make_backend(self) -> Any:
            return broken(MemorySearchBackend())

    return Suite()


@pytest.mark.parametrize(
    ("broken", "method", "broken_rule_name"),
    [
        (NoPrefixes, "test_as_you_type_the_last_word_is_a_prefix", search_rules.PREFIX),
        (
            CountsOnlyThePage,
            "test_facets_count_everything_found_not_only_the_page",
            search_rules.FACETS,
        ),
        (KeepsRemoved, "test_removing_and_clearing_forget", search_rules.REMOVED),
        (
            AppendsAgain,
            "test_indexing_a_product_again_replaces_its_document",
            search_rules.REPLACED,
        ),
        (
            TrustsAnything,
            "test_what_is_not_a_query_or_a_document_is_refused",
            search_rules.REFUSED,
        ),
        (ChokesOnQuotes, "test_no_query_text_is_syntax", TYPED_ERRORS),
    ],
)
def test_a_broken_search_backend_fails_the_rule_it_breaks(
    broken: type[Wrapped], method: str, broken_rule_name: str
) -> None:
    message = broken_rule(getattr(search_suite(broken), method))

    assert message.startswith(f"rule broken: {broken_rule_name}: ")


def test_the_kept_rules_of_a_broken_search_backend_still_pass() -> None:
    suite = search_suite(NoPrefixes)

    suite.test_a_title_match_ranks_above_a_body_match()
    suite.test_facets_count_what_the_words_and_filters_found()


def test_a_rule_broken_inside_a_typed_call_keeps_its_own_name() -> None:
    def inner() -> None:
        rule(storage_rules.SECOND_LOSES, False, "accepted")

    def raw_assert() -> None:
        raise AssertionError("x != y")

    with pytest.raises(AssertionError, match=f"^rule broken: {storage_rules.SECOND_LOSES}: "):
        typed(inner)
    with pytest.raises(AssertionError, match=f"^rule broken: {TYPED_ERRORS}: "):
        typed(raw_assert)
