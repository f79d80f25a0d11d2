"""Catalogue search on every built-in backend: in memory, in a SQLite file (FTS5) and
in PostgreSQL (full text), each reached as a store reaches it, through the plugins,
over a real storage.

Every behaviour is tried on all three: ranking (a title beats a body), words and
prefixes, accents, filters, facet counts, pages, indexing again and removing, and
query text full of the search engines' own syntax. The same documents and queries
then give the same results on every backend: the same hits in the same order on
memory and SQLite (whose bm25 the memory backend follows), and the same documents,
totals and facets on PostgreSQL, whose scores are its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
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
    CATEGORY_FACET,
    IN_STOCK_FACET,
    MAX_QUERY_LENGTH,
    PRICE_FACET,
    FacetCount,
    FacetRequest,
    PriceBuckets,
    PriceRange,
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchResult,
    attribute_facet,
)
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema

KINDS = ("memory", "sqlite", "postgresql")
ADDED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
PLUGINS = Plugins(entry_point_plugins=False)


def product(product_id: str, title: str, body: str = "", **fields: object) -> SearchDocument:
    fields.setdefault("created_at", ADDED)
    return SearchDocument(product_id=product_id, title=title, body=body, **fields)  # type: ignore[arg-type]


# A kitchen shop's catalogue. Categories carry their ancestors: "kettles" and "tools"
# are below "kitchen".
COPPER_KETTLE = product(
    "copper-kettle",
    "Copper Kettle",
    "A whistling stovetop kettle in hammered copper. CK-1",
    category_ids={"kitchen", "kettles"},
    attributes={"colour": ["copper"], "material": ["copper"]},
    prices={"EUR": 4900, "GBP": 4200},
)
STEEL_KETTLE = product(
    "steel-kettle",
    "Steel Kettle",
    "Brushed electric kettle, 1.7 litres. SK-2",
    category_ids={"kitchen", "kettles"},
    attributes={"colour": ["silver"], "material": ["steel"]},
    prices={"EUR": 3900},
)
TEAPOT = product(
    "teapot",
    "Porcelain Teapot",
    "Pairs with any kettle. TP-3",
    category_ids={"kitchen", "teaware"},
    attributes={"colour": ["blue", "white"]},
    prices={"EUR": 2500},
    in_stock=False,
)
KETTLEBELL = product(
    "kettlebell",
    "Kettlebell 12 kg",
    "Cast iron, for swings. KB-12",
    category_ids={"fitness"},
    attributes={"colour": ["black"], "material": ["iron"]},
    prices={"EUR": 2900},
)
TORCH = product(
    "torch",
    "Crème Brûlée Torch",
    "Caramelises sugar in seconds.",
    category_ids={"kitchen", "tools"},
    attributes={"colour": ["red"]},
    prices={"EUR": 1900},
)
RAMEKINS = product(
    "ramekins",
    "Ramekins, set of four",
    "For crème brûlée and soufflés.",
    category_ids={"kitchen", "teaware"},
    attributes={"colour": ["white"]},
    prices={"EUR": 1500},
)
ESPRESSO = product(
    "espresso",
    "Espresso Machine",
    "Steel boiler, 15 bar.",
    category_ids={"kitchen"},
    attributes={"colour": ["silver"], "material": ["steel"]},
    prices={"EUR": 24900},
)
DRAFT_KETTLE = product(
    "smart-kettle",
    "Smart Kettle",
    "A kettle you can ask for tea.",
    category_ids={"kitchen", "kettles"},
    prices={"EUR": 9900},
    published=False,
)
KUPFERKESSEL = product(
    "copper-kettle",
    "Kupferkessel",
    "Ein pfeifender Wasserkessel aus Kupfer.",
    locale="de",
    category_ids={"kitchen", "kettles"},
    prices={"EUR": 4900},
)
CATALOGUE = (
    COPPER_KETTLE,
    STEEL_KETTLE,
    TEAPOT,
    KETTLEBELL,
    TORCH,
    RAMEKINS,
    ESPRESSO,
    DRAFT_KETTLE,
    KUPFERKESSEL,
)
#: What a shopper sees (in the default locale), in product id order.
SHOWN = sorted(d.product_id for d in CATALOGUE if d.published and d.locale == "")


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


@pytest.fixture(params=KINDS)
def empty(request: pytest.FixtureRequest, opened: Callable[[str], SearchBackend]) -> SearchBackend:
    """A backend of each kind, with nothing indexed."""
    backend = opened(request.param)
    backend.clear()
    return backend


@pytest.fixture
def search(empty: SearchBackend) -> SearchBackend:
    """A backend of each kind, with the catalogue indexed."""
    empty.index(CATALOGUE)
    return empty


def found(backend: SearchBackend, text: str = "", **fields: object) -> list[str]:
    return list(backend.search(SearchQuery(text=text, **fields)).product_ids)  # type: ignore[arg-type]


# --- words and ranking -----------------------------------------------------------------


def test_a_title_match_ranks_above_a_body_match(search: SearchBackend) -> None:
    hits = found(search, "kettle")
    assert set(hits[:2]) == {"copper-kettle", "steel-kettle"}
    assert hits[2:] == ["teapot"]


def test_one_word_finds_every_document_with_it_and_no_other(search: SearchBackend) -> None:
    assert found(search, "steel") == ["steel-kettle", "espresso"]
    assert found(search, "soufflés") == ["ramekins"]
    assert found(search, "kettles") == []


def test_two_words_find_only_documents_with_both(search: SearchBackend) -> None:
    assert found(search, "steel kettle") == ["steel-kettle"]
    assert found(search, "kettle steel") == ["steel-kettle"]
    assert found(search, "copper teapot") == []


def test_words_are_found_whatever_their_case_and_punctuation(search: SearchBackend) -> None:
    assert found(search, "STEEL, Kettle!") == ["steel-kettle"]
    assert found(search, "ck-1") == ["copper-kettle"]
    assert found(search, "1.7") == ["steel-kettle"]


def test_as_you_type_the_last_word_is_a_prefix(search: SearchBackend) -> None:
    assert set(found(search, "kett", prefix=True)) == {
        "copper-kettle",
        "steel-kettle",
        "teapot",
        "kettlebell",
    }
    assert found(search, "kett") == []
    assert found(search, "steel kett", prefix=True) == ["steel-kettle"]
    # Only the last word: "ste" is not a word of any document.
    assert found(search, "ste kettle", prefix=True) == []


def test_a_space_after_the_last_word_ends_it(search: SearchBackend) -> None:
    assert "kettlebell" not in found(search, "kettle ", prefix=True)
    assert "kettlebell" in found(search, "kettle", prefix=True)


def test_accents_and_case_do_not_matter(search: SearchBackend) -> None:
    assert found(search, "creme") == ["torch", "ramekins"]
    assert found(search, "CRÈME brulee") == ["torch", "ramekins"]
    assert found(search, "souffles") == ["ramekins"]
    assert found(search, "carameli", prefix=True) == ["torch"]


def test_each_locale_is_searched_on_its_own(search: SearchBackend) -> None:
    assert found(search, "kupfer", locale="de") == ["copper-kettle"]
    assert found(search, "wasserk", locale="de", prefix=True) == ["copper-kettle"]
    assert found(search, "kupferkessel") == []
    assert found(search, "copper", locale="de") == []


def test_a_text_without_words_finds_everything_shown(search: SearchBackend) -> None:
    for text in ("", "   ", "?!", '"*"'):
        result = search.search(SearchQuery(text=text, limit=100))
        assert list(result.product_ids) == SHOWN
        assert result.total == len(SHOWN)
        assert {hit.score for hit in result.hits} == {0.0}


# --- filters ---------------------------------------------------------------------------


def test_filters_by_category_including_those_below_it(search: SearchBackend) -> None:
    assert found(search, category_id="kettles") == ["copper-kettle", "steel-kettle"]
    assert len(found(search, category_id="kitchen", limit=100)) == 6
    assert found(search, "kettle", category_id="teaware") == ["teapot"]
    assert found(search, category_id="garden") == []


def test_filters_by_attribute_values_any_of_one_all_of_several(search: SearchBackend) -> None:
    assert found(search, attributes={"colour": "white"}) == ["ramekins", "teapot"]
    assert found(search, attributes={"colour": ["blue", "red"]}) == ["teapot", "torch"]
    assert found(search, attributes={"colour": "silver", "material": "steel"}) == [
        "espresso",
        "steel-kettle",
    ]
    assert found(search, attributes={"colour": "white", "material": "steel"}) == []


def test_filters_by_price_range_in_one_currency(search: SearchBackend) -> None:
    euros = PriceRange(currency="EUR", min_units=2500, max_units=3900)
    assert found(search, price=euros) == ["kettlebell", "steel-kettle", "teapot"]
    assert found(search, "kettle", price=euros) == ["steel-kettle", "teapot"]
    assert found(search, price=PriceRange(currency="gbp")) == ["copper-kettle"]
    assert found(search, price=PriceRange(currency="EUR", min_units=20000)) == ["espresso"]


def test_filters_by_stock_and_publication(search: SearchBackend) -> None:
    assert "teapot" not in found(search, "kettle", in_stock_only=True)
    assert found(search, "smart") == []
    assert found(search, "smart", include_unpublished=True) == ["smart-kettle"]


# --- facets ----------------------------------------------------------------------------


ALL_FACETS = FacetRequest(
    categories=True,
    attributes=("colour", "material"),
    prices=PriceBuckets(currency="EUR", bounds=(2000, 4000, 10000)),
    in_stock=True,
)


def counts(result: SearchResult, facet: str) -> list[tuple[str, int]]:
    return [(count.value, count.count) for count in result.facets[facet]]


def test_facets_count_every_document_found_not_only_the_page(search: SearchBackend) -> None:
    result = search.search(SearchQuery(facets=ALL_FACETS, limit=1))
    assert len(result.hits) == 1
    assert result.total == 7
    assert counts(result, CATEGORY_FACET) == [
        ("kitchen", 6),
        ("kettles", 2),
        ("teaware", 2),
        ("fitness", 1),
        ("tools", 1),
    ]
    assert counts(result, attribute_facet("colour")) == [
        ("silver", 2),
        ("white", 2),
        ("black", 1),
        ("blue", 1),
        ("copper", 1),
        ("red", 1),
    ]
    assert counts(result, attribute_facet("material")) == [
        ("steel", 2),
        ("copper", 1),
        ("iron", 1),
    ]
    assert counts(result, PRICE_FACET) == [
        ("*-2000", 2),
        ("2000-4000", 3),
        ("4000-10000", 1),
        ("10000-*", 1),
    ]
    assert counts(result, IN_STOCK_FACET) == [("true", 6), ("false", 1)]


def test_facets_count_what_the_words_and_filters_found(search: SearchBackend) -> None:
    result = search.search(SearchQuery(text="kettle", in_stock_only=False, facets=ALL_FACETS))
    assert result.total == 3
    assert counts(result, CATEGORY_FACET) == [("kitchen", 3), ("kettles", 2), ("teaware", 1)]
    assert counts(result, attribute_facet("material")) == [("copper", 1), ("steel", 1)]
    assert counts(result, PRICE_FACET) == [
        ("*-2000", 0),
        ("2000-4000", 2),
        ("4000-10000", 1),
        ("10000-*", 0),
    ]
    assert counts(result, IN_STOCK_FACET) == [("true", 2), ("false", 1)]
    nothing = search.search(SearchQuery(text="wok", facets=ALL_FACETS))
    assert nothing.total == 0
    assert nothing.facets[CATEGORY_FACET] == ()
    assert nothing.facets[IN_STOCK_FACET] == (FacetCount("true", 0), FacetCount("false", 0))


def test_only_the_facets_asked_for_are_counted(search: SearchBackend) -> None:
    assert search.search(SearchQuery(text="kettle")).facets == {}
    asked = FacetRequest(attributes="size")
    assert search.search(SearchQuery(facets=asked)).facets == {attribute_facet("size"): ()}


# --- pages -----------------------------------------------------------------------------


def test_pages_split_the_ranking_without_gaps_or_overlaps(search: SearchBackend) -> None:
    whole = search.search(SearchQuery(text="kettle", prefix=True, limit=100))
    pages = [
        search.search(SearchQuery(text="kettle", prefix=True, limit=2, offset=offset))
        for offset in (0, 2, 4)
    ]
    assert [hit for page in pages for hit in page.hits] == list(whole.hits)
    assert {page.total for page in pages} == {whole.total} == {4}
    assert pages[-1].hits == ()


def test_ties_are_broken_by_product_id(empty: SearchBackend) -> None:
    twins = [product(f"mug-{n}", "Enamel Mug") for n in (3, 1, 2)]
    empty.index(twins)
    assert found(empty, "mug", limit=2) == ["mug-1", "mug-2"]
    assert found(empty, "mug", limit=2, offset=2) == ["mug-3"]


# --- indexing again, removing ----------------------------------------------------------


def test_indexing_a_product_again_replaces_its_document(search: SearchBackend) -> None:
    search.index([attrs.evolve(TEAPOT, title="Cast Iron Teapot", in_stock=True, prices={})])
    assert found(search, "porcelain") == []
    assert found(search, "iron") == ["teapot", "kettlebell"]
    assert "teapot" in found(search, "kettle", in_stock_only=True)
    assert found(search, price=PriceRange(currency="EUR", max_units=2500)) == [
        "ramekins",
        "torch",
    ]
    assert search.search(SearchQuery()).total == len(SHOWN)


def test_the_last_of_two_documents_for_one_product_counts(empty: SearchBackend) -> None:
    empty.index([TEAPOT, attrs.evolve(TEAPOT, title="Glass Teapot")])
    assert found(empty, "glass") == ["teapot"]
    assert found(empty, "porcelain") == []


def test_removing_a_product_forgets_it_in_every_locale(search: SearchBackend) -> None:
    search.remove(["copper-kettle", "no-such-product"])
    assert found(search, "copper") == []
    assert found(search, "kupfer", locale="de") == []
    result = search.search(SearchQuery(facets=FacetRequest(categories=True)))
    assert result.total == len(SHOWN) - 1
    assert ("kettles", 1) in counts(result, CATEGORY_FACET)
    search.remove([])
    assert result.total == search.search(SearchQuery()).total


def test_clearing_forgets_everything(search: SearchBackend) -> None:
    search.clear()
    assert search.search(SearchQuery(include_unpublished=True)).total == 0
    search.index([TORCH])
    assert found(search) == ["torch"]


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


def test_a_backend_refuses_what_is_not_a_query_or_a_document(empty: SearchBackend) -> None:
    with pytest.raises(InvalidInput) as caught:
        empty.search("kettle")  # type: ignore[arg-type]
    assert caught.value.field == "query"
    with pytest.raises(InvalidInput) as caught:
        empty.index([TORCH, {"product_id": "x"}])  # type: ignore[list-item]
    assert caught.value.field == "documents"
    with pytest.raises(InvalidInput) as caught:
        empty.remove(["torch", "\x00"])
    assert caught.value.field == "product_ids"
    assert empty.search(SearchQuery()).total == 0


#: Pieces of FTS5's and PostgreSQL's query syntax, and text no database stores.
SYNTAX = st.sampled_from(
    [
        '"',
        "'",
        "*",
        "-",
        "+",
        "^",
        ":",
        ":*",
        "(",
        ")",
        "{",
        "}",
        "&",
        "|",
        "!",
        "<->",
        "\\",
        "NEAR",
        "NEAR(",
        "AND",
        "OR",
        "NOT",
        "title:",
        "\x00",
        "\ud800",
        "\u0301",
        " ",
        "kett",
        "kettle",
        "crème",
    ]
)
HOSTILE_TEXT = st.one_of(
    st.lists(SYNTAX, max_size=30).map("".join),
    st.text(st.characters(exclude_categories=()), max_size=MAX_QUERY_LENGTH + 10),
)


def test_no_query_text_raises_anything_but_invalid_input(search: SearchBackend) -> None:
    @settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
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
        result = search.search(query)
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
