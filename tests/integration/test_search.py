"""Catalogue search on every built-in backend: in memory, in a SQLite file (FTS5) and
in PostgreSQL (full text), each reached as a store reaches it, through the plugins,
over a real storage.

Each backend passes the search conformance suite
(:mod:`commercekit.testing.conformance.search`): ranking (a title beats a body), words
and prefixes, accents, filters, facet counts, pages, indexing again and removing, and
query text full of the search engines' own syntax. Here the same documents and
queries then give the same results on every backend: the same hits in the same order
on memory and SQLite (whose bm25 the memory backend follows), and the same documents,
totals and facets on PostgreSQL, whose scores are its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit.adapters.search.sql import SqlSearchBackend
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.errors import ConfigurationError, InvalidInput, StorageUnavailable
from commercekit.plugins import Plugins
from commercekit.ports.search import (
    MAX_QUERY_LENGTH,
    FacetRequest,
    PriceBuckets,
    PriceRange,
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchResult,
)
from commercekit.testing.conformance.search import (
    ALL_FACETS,
    CATALOGUE,
    HOSTILE_PIECES,
    TORCH,
    SearchBackendConformance,
)
from commercekit.testing.conformance.search import document as product
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema

KINDS = ("memory", "sqlite", "postgresql")
PLUGINS = Plugins(entry_point_plugins=False)


def _postgres_wanted() -> bool:
    """Whether to test PostgreSQL: when a server is given, and always in CI (where a
    missing one fails)."""
    return bool(os.environ.get(POSTGRES_URL_VARIABLE)) or os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], SearchBackend]]:
    """A search backend of each kind, over a storage of its own, opened when first
    asked for and kept for the module (a test starts by clearing it)."""
    backends: dict[str, SearchBackend] = {}
    with contextlib.ExitStack() as stack:

        def backend(kind: str) -> SearchBackend:
            if kind not in backends:
                if kind == "memory":
                    url = "memory://"
                elif kind == "sqlite":
                    url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'shop.db'}"
                else:
                    url = stack.enter_context(fresh_postgres_schema())
                storage = PLUGINS.open_storage(url)
                stack.callback(storage.close)
                plugin = "memory" if kind == "memory" else "sql"
                backends[kind] = PLUGINS.make_search_backend(plugin, storage, {})
            return backends[kind]

        yield backend


# --- the suite, on each backend -------------------------------------------------------


class OnABackend(SearchBackendConformance):
    kind = "memory"

    @pytest.fixture(autouse=True)
    def _opened(self, opened: Callable[[str], SearchBackend]) -> None:
        self.backend = opened(self.kind)

    def make_backend(self) -> SearchBackend:
        return self.backend


class TestInMemory(OnABackend):
    kind = "memory"


class TestInSqlite(OnABackend):
    kind = "sqlite"


class TestInPostgresql(OnABackend):
    kind = "postgresql"


def found(backend: SearchBackend, text: str = "", **fields: object) -> list[str]:
    return list(backend.search(SearchQuery(text=text, **fields)).product_ids)  # type: ignore[arg-type]


# --- what is refused -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"text": "x" * (MAX_QUERY_LENGTH + 1)}, "text"),
        ({"text": None}, "text"),
        ({"category_id": ""}, "category_id"),
        ({"attributes": {"colour": "wh\x00ite"}}, "attributes.colour"),
        ({"attributes": {"colour": []}}, "attributes.colour"),
        ({"locale": "\ud800"}, "locale"),
        ({"price": "cheap"}, "price"),
        ({"prefix": "yes"}, "prefix"),
    ],
)
def test_a_bad_query_is_refused_naming_its_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SearchQuery(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_bad_prices_and_buckets_are_refused_naming_their_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        PriceRange(currency="EUR", min_units=500, max_units=100)
    assert caught.value.field == "price"
    with pytest.raises(InvalidInput) as caught:
        PriceRange(currency="XXY")
    assert caught.value.field == "price"
    for bounds in ((), (100, 100), (-1,), ("5",)):
        with pytest.raises(InvalidInput) as caught:
            PriceBuckets(currency="EUR", bounds=bounds)  # type: ignore[arg-type]
        assert caught.value.field == "facets.prices"


HOSTILE_TEXT = st.one_of(
    st.lists(st.sampled_from(HOSTILE_PIECES), max_size=30).map("".join),
    st.text(st.characters(exclude_categories=()), max_size=MAX_QUERY_LENGTH + 10),
)


def test_no_query_text_raises_anything_on_any_backend(
    opened: Callable[[str], SearchBackend],
) -> None:
    backends = available(opened)
    for backend in backends.values():
        backend.index(CATALOGUE)

    @settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
    @given(
        text=HOSTILE_TEXT,
        prefix=st.booleans(),
        locale=st.one_of(st.just(""), HOSTILE_TEXT),
        value=HOSTILE_TEXT,
    )
    def check(text: str, prefix: bool, locale: str, value: str) -> None:
        try:
            query = SearchQuery(
                text=text,
                prefix=prefix,
                locale=locale,
                attributes={"colour": value} if value else {},
                facets=FacetRequest(categories=True, attributes=(value or "colour",)),
            )
        except InvalidInput:
            return
        for backend in backends.values():
            result = backend.search(query)
            assert len(result.hits) <= result.total

    check()


# --- the same answers everywhere -------------------------------------------------------


def available(opened: Callable[[str], SearchBackend]) -> dict[str, SearchBackend]:
    kinds = KINDS if _postgres_wanted() else KINDS[:2]
    backends = {kind: opened(kind) for kind in kinds}
    for backend in backends.values():
        backend.clear()
    return backends


#: Queries whose ranking is clear-cut (a title against a body, or no words), which
#: every backend orders alike. ("kettle" is not: two titles have it, and whether the
#: shorter document or the one saying it twice ranks first is each engine's choice.)
CLEAR_CUT = [
    SearchQuery(text="steel"),
    SearchQuery(text="steel", facets=ALL_FACETS),
    SearchQuery(text="steel kett", prefix=True),
    SearchQuery(text="creme brulee"),
    SearchQuery(text="creme", prefix=True, in_stock_only=True, facets=ALL_FACETS),
    SearchQuery(text="copper"),
    SearchQuery(text="iron"),
    SearchQuery(facets=ALL_FACETS),
    SearchQuery(category_id="kitchen", facets=ALL_FACETS, limit=3, offset=2),
    SearchQuery(attributes={"colour": ["white", "silver"]}, facets=ALL_FACETS),
    SearchQuery(price=PriceRange(currency="EUR", max_units=4000), facets=ALL_FACETS),
    SearchQuery(text="smart", include_unpublished=True),
    SearchQuery(text="kupfer", locale="de", facets=ALL_FACETS),
]


def outcome(result: SearchResult) -> tuple[object, ...]:
    return (result.product_ids, result.total, result.facets)


def test_every_backend_answers_clear_cut_queries_alike(
    opened: Callable[[str], SearchBackend],
) -> None:
    backends = available(opened)
    for backend in backends.values():
        backend.index(CATALOGUE)
    for query in CLEAR_CUT:
        expected = outcome(backends["memory"].search(query))
        for kind, backend in backends.items():
            assert outcome(backend.search(query)) == expected, (kind, query)


VOCABULARY = ["kettle", "kettles", "kettlebell", "copper", "steel", "crème", "Creme", "tea", "a"]
PHRASES = st.lists(st.sampled_from(VOCABULARY), max_size=6).map(" ".join)
DOCUMENTS = st.lists(
    st.builds(
        product,
        product_id=st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6", "p7"]),
        title=PHRASES,
        body=PHRASES,
        category_ids=st.sets(st.sampled_from(["kitchen", "kettles", "fitness"])),
        attributes=st.dictionaries(
            st.sampled_from(["colour", "size"]), st.sets(st.sampled_from(["red", "blue", "XL"]))
        ),
        prices=st.dictionaries(st.just("EUR"), st.integers(0, 6000)),
        in_stock=st.booleans(),
        published=st.booleans(),
    ),
    max_size=12,
)
QUERIES = st.builds(
    SearchQuery,
    text=st.lists(st.sampled_from([*VOCABULARY, "ket", "k", "cop", "zzz"]), max_size=3).map(
        " ".join
    ),
    prefix=st.booleans(),
    category_id=st.none() | st.sampled_from(["kitchen", "kettles"]),
    attributes=st.dictionaries(st.sampled_from(["colour", "size"]), st.just(["red", "XL"])),
    price=st.none()
    | st.builds(PriceRange, currency=st.just("EUR"), max_units=st.integers(0, 6000)),
    in_stock_only=st.booleans(),
    include_unpublished=st.booleans(),
    facets=st.just(FacetRequest(categories=True, attributes=("colour", "size"), in_stock=True))
    | st.just(FacetRequest(prices=PriceBuckets(currency="EUR", bounds=(1000, 3000)))),
    limit=st.integers(1, 5),
    offset=st.integers(0, 4),
)


def test_every_backend_finds_and_counts_alike_and_sqlite_ranks_as_memory(
    opened: Callable[[str], SearchBackend],
) -> None:
    backends = available(opened)

    @settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
    @given(documents=DOCUMENTS, queries=st.lists(QUERIES, min_size=1, max_size=3))
    def check(documents: list[SearchDocument], queries: list[SearchQuery]) -> None:
        for backend in backends.values():
            backend.clear()
            backend.index(documents)
        for query in queries:
            everything = attrs.evolve(query, limit=100, offset=0)
            results = {kind: backend.search(everything) for kind, backend in backends.items()}
            memory = results.pop("memory")
            for result in results.values():
                assert set(result.product_ids) == set(memory.product_ids)
                assert (result.total, result.facets) == (memory.total, memory.facets)
            page = backends["memory"].search(query)
            in_sqlite = backends["sqlite"].search(query)
            assert in_sqlite.product_ids == page.product_ids
            assert [h.score for h in in_sqlite.hits] == pytest.approx([h.score for h in page.hits])

    check()


# --- the plugin ------------------------------------------------------------------------


def test_sql_search_needs_a_sql_storage_and_takes_no_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        PLUGINS.make_search_backend("sql", PLUGINS.open_storage("memory://"), {})
    assert refused.value.field == "search"
    with SqlStorage.open(f"sqlite:///{tmp_path / 'shop.db'}") as storage:
        with pytest.raises(InvalidInput) as caught:
            PLUGINS.make_search_backend("sql", storage, {"language": "english"})
        assert caught.value.field == "search.options"
        with pytest.raises(InvalidInput) as caught:
            PLUGINS.make_search_backend("elastic", storage, {})
        assert caught.value.field == "search"


def test_the_search_tables_live_beside_the_store_s_and_leave_its_schema_alone(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with SqlStorage.open(url) as storage:
        backend = PLUGINS.make_search_backend("sql", storage, {})
        backend.index([TORCH])
    with SqlStorage.open(url, migrate=False) as storage:
        again = PLUGINS.make_search_backend("sql", storage, {})
        assert found(again, "torch") == ["torch"]


def test_a_database_that_cannot_be_reached_is_said_so_without_its_password() -> None:
    engine = sa.create_engine("postgresql+psycopg://shop:hunter2@127.0.0.1:9/shop")
    try:
        with pytest.raises(StorageUnavailable) as caught:
            SqlSearchBackend(engine).search(SearchQuery(text="kettle"))
    finally:
        engine.dispose()
    assert "hunter2" not in str(caught.value)
    assert caught.value.field == "url"
