"""The search backend suite: what every :class:`~commercekit.ports.search.SearchBackend`
promises the catalogue.

Turn it on for a backend with a subclass pytest collects::

    class TestMySearch(SearchBackendConformance):
        def make_backend(self) -> SearchBackend:
            return MySearchEngine(url=..., index="ck-tests")

:meth:`~SearchBackendConformance.make_backend` may hand back the same backend every
time (an engine is slow to open): each rule clears it first and indexes
:data:`CATALOGUE`, a small kitchen shop whose answers are known, before it asks.
Scores are each backend's own; the rules look only at which documents are found, in
what order where the ranking is clear-cut, how many, and how they are counted.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Final

import attrs

from commercekit.domain.errors import InvalidInput
from commercekit.ports.search import (
    CATEGORY_FACET,
    IN_STOCK_FACET,
    MAX_QUERY_LENGTH,
    PRICE_FACET,
    FacetRequest,
    PriceBuckets,
    PriceRange,
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchResult,
    attribute_facet,
)
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed

__all__ = [
    "ALL_FACETS",
    "CATALOGUE",
    "HOSTILE_PIECES",
    "RULES",
    "SHOWN",
    "SearchBackendConformance",
    "document",
]

RANKING = "a word in the title ranks above the same word in the body"
WORDS = "a query finds the documents holding every one of its words, and no other"
NORMALISED = "words match whatever their case, accents and punctuation"
PREFIX = "with prefix, the last word (and only the last) also finds the words it begins"
LOCALES = "each locale is searched on its own"
BROWSING = "a text without words finds every published document of the locale, unscored"
FILTERS = "filters keep only what passes: category and those below it, attributes, price, stock"
PUBLISHED = "an unpublished document is found only when the query includes them"
FACETS = "facets count every document found, not only the page, and only those asked for"
PAGES = "pages split the ranking without gaps or overlaps, and ties go by product id"
REPLACED = "indexing a product again replaces its document"
REMOVED = "removing forgets a product in every locale, and clearing forgets everything"
REFUSED = "what is not a query, a document or a product id is refused with InvalidInput"
SYNTAX = "no text is syntax: any query text gives a result, never an error"

#: Every rule the suite checks, as its failures name them.
RULES: Final = (
    RANKING,
    WORDS,
    NORMALISED,
    PREFIX,
    LOCALES,
    BROWSING,
    FILTERS,
    PUBLISHED,
    FACETS,
    PAGES,
    REPLACED,
    REMOVED,
    REFUSED,
    SYNTAX,
    TYPED_ERRORS,
)

_ADDED: Final = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def document(product_id: str, title: str, body: str = "", **fields: object) -> SearchDocument:
    """A search document added to the catalogue at one fixed instant."""
    fields.setdefault("created_at", _ADDED)
    return SearchDocument(product_id=product_id, title=title, body=body, **fields)  # type: ignore[arg-type]


# A kitchen shop. Categories carry their ancestors: "kettles" and "tools" are below
# "kitchen".
COPPER_KETTLE: Final = document(
    "copper-kettle",
    "Copper Kettle",
    "A whistling stovetop kettle in hammered copper. CK-1",
    category_ids={"kitchen", "kettles"},
    attributes={"colour": ["copper"], "material": ["copper"]},
    prices={"EUR": 4900, "GBP": 4200},
)
STEEL_KETTLE: Final = document(
    "steel-kettle",
    "Steel Kettle",
    "Brushed electric kettle, 1.7 litres. SK-2",
    category_ids={"kitchen", "kettles"},
    attributes={"colour": ["silver"], "material": ["steel"]},
    prices={"EUR": 3900},
)
TEAPOT: Final = document(
    "teapot",
    "Porcelain Teapot",
    "Pairs with any kettle. TP-3",
    category_ids={"kitchen", "teaware"},
    attributes={"colour": ["blue", "white"]},
    prices={"EUR": 2500},
    in_stock=False,
)
KETTLEBELL: Final = document(
    "kettlebell",
    "Kettlebell 12 kg",
    "Cast iron, for swings. KB-12",
    category_ids={"fitness"},
    attributes={"colour": ["black"], "material": ["iron"]},
    prices={"EUR": 2900},
)
TORCH: Final = document(
    "torch",
    "Crème Brûlée Torch",
    "Caramelises sugar in seconds.",
    category_ids={"kitchen", "tools"},
    attributes={"colour": ["red"]},
    prices={"EUR": 1900},
)
RAMEKINS: Final = document(
    "ramekins",
    "Ramekins, set of four",
    "For crème brûlée and soufflés.",
    category_ids={"kitchen", "teaware"},
    attributes={"colour": ["white"]},
    prices={"EUR": 1500},
)
ESPRESSO: Final = document(
    "espresso",
    "Espresso Machine",
    "Steel boiler, 15 bar.",
    category_ids={"kitchen"},
    attributes={"colour": ["silver"], "material": ["steel"]},
    prices={"EUR": 24900},
)
DRAFT_KETTLE: Final = document(
    "smart-kettle",
    "Smart Kettle",
    "A kettle you can ask for tea.",
    category_ids={"kitchen", "kettles"},
    prices={"EUR": 9900},
    published=False,
)
KUPFERKESSEL: Final = document(
    "copper-kettle",
    "Kupferkessel",
    "Ein pfeifender Wasserkessel aus Kupfer.",
    locale="de",
    category_ids={"kitchen", "kettles"},
    prices={"EUR": 4900},
)
#: What every rule indexes before it asks.
CATALOGUE: Final = (
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
SHOWN: Final = tuple(sorted(d.product_id for d in CATALOGUE if d.published and d.locale == ""))

#: Every facet there is, over the catalogue's attributes and euro prices.
ALL_FACETS: Final = FacetRequest(
    categories=True,
    attributes=("colour", "material"),
    prices=PriceBuckets(currency="EUR", bounds=(2000, 4000, 10000)),
    in_stock=True,
)

#: Pieces of the query languages search engines speak, and text no database stores.
HOSTILE_PIECES: Final = (
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
    "[",
    "]",
    "~",
    "/",
    "&",
    "|",
    "!",
    "<->",
    "\\",
    "%",
    "_",
    ";",
    "NEAR",
    "NEAR(",
    "AND",
    "OR",
    "NOT",
    "title:",
    "\x00",
    "\ud800",
    "\u0301",
    "\u200b",
    "ß",
    "İ",
    " ",
    "kett",
    "kettle",
    "crème",
)


def hostile_texts(count: int = 120, seed: int = 20241201) -> list[str]:
    """Query texts made of :data:`HOSTILE_PIECES`, the same ones on every run."""
    draw = random.Random(seed)
    storable = [piece for piece in HOSTILE_PIECES if piece not in ("\x00", "\ud800")]
    texts = list(HOSTILE_PIECES)
    while len(texts) < count:
        pieces = storable if len(texts) % 2 else HOSTILE_PIECES
        texts.append("".join(draw.choices(pieces, k=draw.randint(2, 30))))
    texts.append("kettle " * (MAX_QUERY_LENGTH // 7))
    return texts


def _counts(result: SearchResult, facet: str) -> list[tuple[str, int]]:
    return [(count.value, count.count) for count in result.facets.get(facet, ())]


def _is(name: str, got: object, expected: object, asked: object) -> None:
    rule(name, got == expected, f"{asked}: {got!r}, expected {expected!r}")


class SearchBackendConformance:
    """Subclass it and override :meth:`make_backend`."""

    def make_backend(self) -> SearchBackend:
        """The backend under test (cleared by each rule before it is used)."""
        raise NotImplementedError("override make_backend() to return the backend")

    # --- helpers --------------------------------------------------------------------

    def _empty(self) -> SearchBackend:
        backend = self.make_backend()
        typed(backend.clear)
        return backend

    def _indexed(self) -> SearchBackend:
        backend = self._empty()
        typed(partial(backend.index, CATALOGUE))
        return backend

    @staticmethod
    def _search(backend: SearchBackend, query: SearchQuery) -> SearchResult:
        result = typed(partial(backend.search, query))
        rule(
            "a search answers with a SearchResult",
            isinstance(result, SearchResult),
            repr(result),
        )
        return result

    def _found(self, backend: SearchBackend, text: str = "", **fields: object) -> list[str]:
        query = SearchQuery(text=text, **fields)  # type: ignore[arg-type]
        return list(self._search(backend, query).product_ids)

    def _expect(
        self, name: str, backend: SearchBackend, expected: object, text: str = "", **fields: object
    ) -> None:
        found = self._found(backend, text, **fields)
        got: object = set(found) if isinstance(expected, set) else found
        _is(name, got, expected, {"text": text, **fields})

    # --- words and ranking ----------------------------------------------------------

    def test_a_title_match_ranks_above_a_body_match(self) -> None:
        backend = self._indexed()
        found = self._found(backend, "kettle")
        _is(RANKING, set(found[:2]), {"copper-kettle", "steel-kettle"}, "kettle")
        _is(RANKING, found[2:], ["teapot"], "kettle")

    def test_every_word_must_be_found(self) -> None:
        backend = self._indexed()
        self._expect(WORDS, backend, ["steel-kettle", "espresso"], "steel")
        self._expect(WORDS, backend, ["ramekins"], "soufflés")
        self._expect(WORDS, backend, [], "kettles")
        self._expect(WORDS, backend, ["steel-kettle"], "steel kettle")
        self._expect(WORDS, backend, ["steel-kettle"], "kettle steel")
        self._expect(WORDS, backend, [], "copper teapot")

    def test_case_accents_and_punctuation_do_not_matter(self) -> None:
        backend = self._indexed()
        self._expect(NORMALISED, backend, ["steel-kettle"], "STEEL, Kettle!")
        self._expect(NORMALISED, backend, ["copper-kettle"], "ck-1")
        self._expect(NORMALISED, backend, ["steel-kettle"], "1.7")
        self._expect(NORMALISED, backend, ["torch", "ramekins"], "creme")
        self._expect(NORMALISED, backend, ["torch", "ramekins"], "CRÈME brulee")
        self._expect(NORMALISED, backend, ["ramekins"], "souffles")

    def test_as_you_type_the_last_word_is_a_prefix(self) -> None:
        backend = self._indexed()
        kett = {"copper-kettle", "steel-kettle", "teapot", "kettlebell"}
        self._expect(PREFIX, backend, kett, "kett", prefix=True)
        self._expect(PREFIX, backend, [], "kett")
        self._expect(PREFIX, backend, ["steel-kettle"], "steel kett", prefix=True)
        self._expect(PREFIX, backend, [], "ste kettle", prefix=True)
        self._expect(PREFIX, backend, ["torch"], "carameli", prefix=True)
        ended = self._found(backend, "kettle ", prefix=True)
        rule(PREFIX, "kettlebell" not in ended, f"'kettle ' (a space after it) found {ended}")

    def test_each_locale_is_searched_on_its_own(self) -> None:
        backend = self._indexed()
        self._expect(LOCALES, backend, ["copper-kettle"], "kupfer", locale="de")
        self._expect(LOCALES, backend, ["copper-kettle"], "wasserk", locale="de", prefix=True)
        self._expect(LOCALES, backend, [], "kupferkessel")
        self._expect(LOCALES, backend, [], "copper", locale="de")

    def test_a_text_without_words_finds_everything_shown(self) -> None:
        backend = self._indexed()
        for text in ("", "   ", "?!", '"*"'):
            result = self._search(backend, SearchQuery(text=text, limit=100))
            _is(BROWSING, result.product_ids, SHOWN, repr(text))
            _is(BROWSING, result.total, len(SHOWN), f"the total for {text!r}")
            _is(BROWSING, {hit.score for hit in result.hits}, {0.0}, f"the scores for {text!r}")

    # --- filters --------------------------------------------------------------------

    def test_filters_keep_only_what_passes(self) -> None:
        backend = self._indexed()
        self._expect(FILTERS, backend, ["copper-kettle", "steel-kettle"], category_id="kettles")
        kitchen = self._found(backend, category_id="kitchen", limit=100)
        _is(FILTERS, len(kitchen), 6, "category kitchen")
        self._expect(FILTERS, backend, ["teapot"], "kettle", category_id="teaware")
        self._expect(FILTERS, backend, [], category_id="garden")
        self._expect(FILTERS, backend, ["ramekins", "teapot"], attributes={"colour": "white"})
        self._expect(FILTERS, backend, ["teapot", "torch"], attributes={"colour": ["blue", "red"]})
        both = {"colour": "silver", "material": "steel"}
        self._expect(FILTERS, backend, ["espresso", "steel-kettle"], attributes=both)
        self._expect(FILTERS, backend, [], attributes={"colour": "white", "material": "steel"})
        euros = PriceRange(currency="EUR", min_units=2500, max_units=3900)
        self._expect(FILTERS, backend, ["kettlebell", "steel-kettle", "teapot"], price=euros)
        self._expect(FILTERS, backend, ["steel-kettle", "teapot"], "kettle", price=euros)
        self._expect(FILTERS, backend, ["copper-kettle"], price=PriceRange(currency="gbp"))
        dear = PriceRange(currency="EUR", min_units=20000)
        self._expect(FILTERS, backend, ["espresso"], price=dear)
        in_stock = self._found(backend, "kettle", in_stock_only=True)
        rule(FILTERS, "teapot" not in in_stock, f"in stock only found {in_stock}")

    def test_unpublished_documents_are_found_only_when_asked(self) -> None:
        backend = self._indexed()
        self._expect(PUBLISHED, backend, [], "smart")
        self._expect(PUBLISHED, backend, ["smart-kettle"], "smart", include_unpublished=True)

    # --- facets ---------------------------------------------------------------------

    def test_facets_count_everything_found_not_only_the_page(self) -> None:
        backend = self._indexed()
        result = self._search(backend, SearchQuery(facets=ALL_FACETS, limit=1))
        _is(FACETS, (len(result.hits), result.total), (1, 7), "hits and total of one page")
        expected = {
            CATEGORY_FACET: [
                ("kitchen", 6),
                ("kettles", 2),
                ("teaware", 2),
                ("fitness", 1),
                ("tools", 1),
            ],
            attribute_facet("colour"): [
                ("silver", 2),
                ("white", 2),
                ("black", 1),
                ("blue", 1),
                ("copper", 1),
                ("red", 1),
            ],
            attribute_facet("material"): [("steel", 2), ("copper", 1), ("iron", 1)],
            PRICE_FACET: [("*-2000", 2), ("2000-4000", 3), ("4000-10000", 1), ("10000-*", 1)],
            IN_STOCK_FACET: [("true", 6), ("false", 1)],
        }
        for facet, counts in expected.items():
            _is(FACETS, _counts(result, facet), counts, facet)

    def test_facets_count_what_the_words_and_filters_found(self) -> None:
        backend = self._indexed()
        result = self._search(backend, SearchQuery(text="kettle", facets=ALL_FACETS))
        _is(FACETS, result.total, 3, "kettle")
        expected = {
            CATEGORY_FACET: [("kitchen", 3), ("kettles", 2), ("teaware", 1)],
            attribute_facet("material"): [("copper", 1), ("steel", 1)],
            PRICE_FACET: [("*-2000", 0), ("2000-4000", 2), ("4000-10000", 1), ("10000-*", 0)],
            IN_STOCK_FACET: [("true", 2), ("false", 1)],
        }
        for facet, counts in expected.items():
            _is(FACETS, _counts(result, facet), counts, f"kettle: {facet}")
        nothing = self._search(backend, SearchQuery(text="wok", facets=ALL_FACETS))
        _is(FACETS, _counts(nothing, CATEGORY_FACET), [], "wok")
        _is(FACETS, _counts(nothing, IN_STOCK_FACET), [("true", 0), ("false", 0)], "wok")

    def test_only_the_facets_asked_for_are_counted(self) -> None:
        backend = self._indexed()
        _is(FACETS, dict(self._search(backend, SearchQuery(text="kettle")).facets), {}, "none")
        asked = SearchQuery(facets=FacetRequest(attributes="size"))
        _is(
            FACETS, dict(self._search(backend, asked).facets), {attribute_facet("size"): ()}, "size"
        )

    # --- pages ----------------------------------------------------------------------

    def test_pages_split_the_ranking_without_gaps_or_overlaps(self) -> None:
        backend = self._indexed()
        whole = self._search(backend, SearchQuery(text="kettle", prefix=True, limit=100))
        pages = [
            self._search(backend, SearchQuery(text="kettle", prefix=True, limit=2, offset=at))
            for at in (0, 2, 4)
        ]
        paged = [hit.product_id for page in pages for hit in page.hits]
        _is(PAGES, paged, list(whole.product_ids), "pages of two")
        _is(PAGES, {page.total for page in pages}, {4}, "the totals of the pages")

    def test_ties_are_broken_by_product_id(self) -> None:
        backend = self._empty()
        typed(partial(backend.index, [document(f"mug-{n}", "Enamel Mug") for n in (3, 1, 2)]))
        self._expect(PAGES, backend, ["mug-1", "mug-2"], "mug", limit=2)
        self._expect(PAGES, backend, ["mug-3"], "mug", limit=2, offset=2)

    # --- indexing again, removing ---------------------------------------------------

    def test_indexing_a_product_again_replaces_its_document(self) -> None:
        backend = self._indexed()
        again = attrs.evolve(TEAPOT, title="Cast Iron Teapot", in_stock=True, prices={})
        typed(partial(backend.index, [again]))
        self._expect(REPLACED, backend, [], "porcelain")
        self._expect(REPLACED, backend, ["teapot", "kettlebell"], "iron")
        cheap = PriceRange(currency="EUR", max_units=2500)
        self._expect(REPLACED, backend, ["ramekins", "torch"], price=cheap)
        _is(REPLACED, self._search(backend, SearchQuery()).total, len(SHOWN), "everything")

    def test_the_last_of_two_documents_for_one_product_counts(self) -> None:
        backend = self._empty()
        typed(partial(backend.index, [TEAPOT, attrs.evolve(TEAPOT, title="Glass Teapot")]))
        self._expect(REPLACED, backend, ["teapot"], "glass")
        self._expect(REPLACED, backend, [], "porcelain")

    def test_removing_and_clearing_forget(self) -> None:
        backend = self._indexed()
        typed(partial(backend.remove, ["copper-kettle", "no-such-product"]))
        self._expect(REMOVED, backend, [], "copper")
        self._expect(REMOVED, backend, [], "kupfer", locale="de")
        result = self._search(backend, SearchQuery(facets=FacetRequest(categories=True)))
        _is(REMOVED, result.total, len(SHOWN) - 1, "everything after a removal")
        rule(REMOVED, ("kettles", 1) in _counts(result, CATEGORY_FACET), "kettles still counts 2")
        typed(partial(backend.remove, []))
        typed(backend.clear)
        total = self._search(backend, SearchQuery(include_unpublished=True)).total
        _is(REMOVED, total, 0, "everything after clearing")
        typed(partial(backend.index, [TORCH]))
        self._expect(REMOVED, backend, ["torch"])

    # --- what is refused ------------------------------------------------------------

    def test_what_is_not_a_query_or_a_document_is_refused(self) -> None:
        backend = self._empty()
        calls: Sequence[tuple[str, Callable[[], object]]] = (
            ("query", partial(backend.search, "kettle")),  # type: ignore[arg-type]
            ("documents", partial(backend.index, [TORCH, {"product_id": "x"}])),  # type: ignore[list-item]
            ("product_ids", partial(backend.remove, ["torch", "\x00"])),
        )
        for field, call in calls:
            try:
                typed(call)
            except InvalidInput as refused:
                _is(REFUSED, refused.field, field, "the field named")
            else:
                rule(REFUSED, False, f"{field}: it was accepted")
        _is(REFUSED, self._search(backend, SearchQuery()).total, 0, "after the refusals")

    def test_no_query_text_is_syntax(self) -> None:
        backend = self._indexed()
        for text in hostile_texts():
            try:
                query = SearchQuery(
                    text=text,
                    prefix=len(text) % 2 == 0,
                    attributes={"colour": text} if text.strip() else {},
                    facets=FacetRequest(categories=True, attributes=(text.strip() or "colour",)),
                )
            except InvalidInput:
                continue
            try:
                result = self._search(backend, query)
            except InvalidInput as refused:
                rule(SYNTAX, False, f"{text!r} was refused: {refused}")
            rule(SYNTAX, len(result.hits) <= result.total, f"{text!r}: more hits than its total")
