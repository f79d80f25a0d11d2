"""Search in the store's own SQL database: SQLite's FTS5, PostgreSQL's full text.

The tables live beside the store's, all named ``search_...``, and are created on
first use (``IF NOT EXISTS``): they are an index that can always be built again from
the catalogue, so they are no part of the store's schema or its migrations.

- ``search_documents``: a row per product and locale, with what queries filter by;
  on PostgreSQL also its words as a ``tsvector`` (the title's weighted ``A``, the
  body's ``B``) under a GIN index.
- ``search_text`` (SQLite only): an FTS5 table of the words, whose rowid is the
  document's.
- ``search_categories``, ``search_attributes``, ``search_prices``: what facets
  count and filters test, a row per value.

Words reach both databases already folded (see ``_text``): FTS5 re-reads them with
its ``unicode61`` tokenizer, which finds the same words (but for 21 New Tai Lue and
Vedic signs that its older Unicode tables call marks, not letters), and PostgreSQL
takes them as lexemes as they are, with no text search configuration between, so
that neither the server's locale nor a language's stemming changes what matches.

A search is one statement, so that its hits, total and facets come from one
snapshot of the index: the documents found are a common table expression, which
the page, the total and each facet read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from commercekit.adapters._sidetables import SideTables, engine_of
from commercekit.adapters.search._shared import (
    BODY_WEIGHT,
    TITLE_WEIGHT,
    Key,
    by_frequency,
    checked_documents,
)
from commercekit.adapters.search._text import Terms, query_terms, words
from commercekit.domain.errors import (
    ConfigurationError,
    InvalidInput,
)
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

__all__ = ["SqlSearchBackend"]

#: How many keys one statement's ``IN`` list holds (far below either database's
#: limit on parameters).
_CHUNK: Final = 500
# Any fixed number will do, as long as only the search tables' creation takes it.
_CREATION_LOCK: Final = 0x636B_7365
# PostgreSQL positions its lexemes up to here, and keeps up to 256 positions a lexeme.
_LAST_POSITION: Final = 16_383
_POSITIONS: Final = 256
# PostgreSQL's ts_rank_cd weights, for D, C, B and A: the body's B a tenth of the
# title's A, as FTS5's bm25() weights the columns.
_PG_WEIGHTS: Final = f"{{0.1, 0.1, {BODY_WEIGHT / TITLE_WEIGHT}, 1.0}}"
# The first SQLite with RETURNING and MATERIALIZED, which the statements here use.
_LEAST_SQLITE: Final = (3, 35)


def _tables(postgres: bool) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    """The plain search tables (the same on both databases but for the words)."""
    metadata = sa.MetaData()
    words = (sa.Column("words", postgresql.TSVECTOR, nullable=False),) if postgres else ()
    documents = sa.Table(
        "search_documents",
        metadata,
        # On SQLite an INTEGER primary key is the rowid, which FTS5's rows share.
        sa.Column(
            "doc_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            primary_key=True,
        ),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("in_stock", sa.Boolean, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *words,
        sa.UniqueConstraint("product_id", "locale", name="search_documents_key"),
    )
    if postgres:
        # Without GIN's pending list: words indexed in bulk would otherwise wait there
        # for a vacuum, and until then the planner (rightly) scans the whole table.
        sa.Index(
            "search_documents_words",
            documents.c.words,
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        )

    def doc_id() -> sa.Column[int]:
        # Checked at commit: a document and its parts go in one transaction, and the
        # document goes first when it is removed (see SqlSearchBackend.remove).
        owner = sa.ForeignKey(documents.c.doc_id, deferrable=True, initially="DEFERRED")
        return sa.Column("doc_id", documents.c.doc_id.type, owner, primary_key=True)

    categories = sa.Table(
        "search_categories",
        metadata,
        doc_id(),
        sa.Column("category_id", sa.Text, primary_key=True),
        sa.Index("search_categories_category", "category_id", "doc_id"),
    )
    attributes = sa.Table(
        "search_attributes",
        metadata,
        doc_id(),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Index("search_attributes_value", "name", "value", "doc_id"),
    )
    prices = sa.Table(
        "search_prices",
        metadata,
        doc_id(),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Index("search_prices_units", "currency", "units", "doc_id"),
    )
    return metadata, {
        "documents": documents,
        "categories": categories,
        "attributes": attributes,
        "prices": prices,
    }


# The FTS5 table: its rowid is the document's, and its hidden column of the table's
# own name is what MATCH and bm25() take.
_FTS: Final = sa.table(
    "search_text",
    sa.column("rowid"),
    sa.column("search_text"),
    sa.column("title"),
    sa.column("body"),
)
_CREATE_FTS: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5("
    "title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _quoted(word: str, quote: str) -> str:
    return quote + word.replace(quote, quote * 2) + quote


def _fts_query(terms: Terms) -> str:
    """An FTS5 query for every word: each a quoted string, never an operator."""
    last = len(terms.words) - 1
    return " ".join(
        _quoted(word, '"') + ("*" if terms.prefix and n == last else "")
        for n, word in enumerate(terms.words)
    )


def _lexeme(word: str) -> str:
    return _quoted(word.replace("\\", "\\\\"), "'")


def _tsquery(terms: Terms) -> str:
    """A ``tsquery`` literal for every word: each a quoted lexeme, taken as it is."""
    last = len(terms.words) - 1
    return " & ".join(
        _lexeme(word) + (":*" if terms.prefix and n == last else "")
        for n, word in enumerate(terms.words)
    )


def _tsvector(title: list[str], body: list[str]) -> str:
    """A ``tsvector`` literal of the words at their positions, the title's weighted A
    and the body's B, as ``setweight(title, 'A') || setweight(body, 'B')`` makes."""
    positions: dict[str, dict[str, None]] = {}
    for n, word in enumerate(title + body, start=1):
        weight = "A" if n <= len(title) else "B"
        positions.setdefault(word, {})[f"{min(n, _LAST_POSITION)}{weight}"] = None
    return " ".join(
        f"{_lexeme(word)}:{','.join(list(marks)[:_POSITIONS])}" for word, marks in positions.items()
    )


def _check_sqlite(connection: Connection) -> None:
    version = connection.dialect.server_version_info or ()
    if version < _LEAST_SQLITE:
        raise ConfigurationError(
            "the sql search backend needs SQLite 3.35 or later, not " + ".".join(map(str, version)),
            field="search",
        )


@final
class SqlSearchBackend:
    """The search index in a SQL database, SQLite or PostgreSQL, through SQLAlchemy
    Core. Safe to share between threads: each call takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        """Search the database ``engine`` connects to.

        :raises ConfigurationError: naming ``search``, for a database other than
            SQLite or PostgreSQL.
        """
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ConfigurationError(
                f"the sql search backend works on SQLite and PostgreSQL, not {dialect}",
                field="search",
            )
        postgres = dialect == "postgresql"
        metadata, tables = _tables(postgres)
        self._postgres: Final = postgres
        self._documents: Final = tables["documents"]
        self._categories: Final = tables["categories"]
        self._attributes: Final = tables["attributes"]
        self._prices: Final = tables["prices"]
        self._tables: Final = SideTables(
            engine,
            metadata,
            what="search",
            lock_key=_CREATION_LOCK,
            also=None if postgres else (lambda c: c.exec_driver_sql(_CREATE_FTS)),
        )

    @classmethod
    def over(cls, storage: object) -> SqlSearchBackend:
        """Search the database of ``storage``, a SQL storage: it is reached through
        the storage's ``engine`` (storage adapters are not imported here).

        :raises ConfigurationError: naming ``search``, for a storage without one.
        """
        engine = engine_of(
            storage, what="search backend", field="search", instead="the memory search backend"
        )
        return cls(engine)

    # --- the tables ------------------------------------------------------------------

    def _create(self) -> None:
        """Create the search tables, unless this backend did already (see
        :class:`~commercekit.adapters._sidetables.SideTables`)."""
        self._tables.ensure(None if self._postgres else _check_sqlite)

    def _connection(self) -> Connection:
        return self._tables.connection()

    # --- writing ---------------------------------------------------------------------

    def index(self, documents: Sequence[SearchDocument]) -> None:
        # In key order, so that two indexings at once lock their rows in one order
        # (and never wait for each other in a circle).
        checked = sorted(checked_documents(documents), key=lambda d: (d.product_id, d.locale))
        if not checked:
            return
        self._create()
        with self._connection() as connection:
            try:
                with connection.begin():
                    # The upsert comes first: on SQLite, a transaction whose first
                    # statement writes takes the write lock before it reads anything.
                    ids = self._upsert(connection, checked)
                    self._delete_parts(connection, list(ids.values()))
                    self._insert_parts(connection, checked, ids)
            except sa.exc.DBAPIError as error:
                raise self._tables.translated(error) from error

    def _upsert(self, connection: Connection, documents: list[SearchDocument]) -> dict[Key, int]:
        table = self._documents
        insert = (postgresql.insert if self._postgres else sqlite.insert)(table)
        changed = ["in_stock", "published", "created_at"]
        if self._postgres:
            insert = insert.values(words=sa.cast(sa.bindparam("lexemes"), postgresql.TSVECTOR))
            changed.append("words")
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.product_id, table.c.locale],
            set_={name: insert.excluded[name] for name in changed},
        ).returning(table.c.doc_id, table.c.product_id, table.c.locale)
        rows = []
        for document in documents:
            row: dict[str, Any] = {
                "product_id": document.product_id,
                "locale": document.locale,
                "in_stock": document.in_stock,
                "published": document.published,
                "created_at": document.created_at.astimezone(UTC),
            }
            if self._postgres:
                row["lexemes"] = _tsvector(words(document.title), words(document.body))
            rows.append(row)
        returned = connection.execute(upsert, rows).all()
        return {(product_id, locale): doc_id for doc_id, product_id, locale in returned}

    def _parts(self) -> list[sa.TableClause]:
        parts: list[sa.TableClause] = [self._categories, self._attributes, self._prices]
        return parts if self._postgres else [*parts, _FTS]

    def _delete_parts(self, connection: Connection, doc_ids: Sequence[int]) -> None:
        for chunk in _chunks(doc_ids):
            for part in self._parts():
                key = part.c.rowid if part is _FTS else part.c.doc_id
                connection.execute(part.delete().where(key.in_(chunk)))

    def _insert_parts(
        self, connection: Connection, documents: list[SearchDocument], ids: dict[Key, int]
    ) -> None:
        categories, attributes, prices, text = [], [], [], []
        for document in documents:
            doc_id = ids[document.product_id, document.locale]
            categories += [
                {"doc_id": doc_id, "category_id": category} for category in document.category_ids
            ]
            attributes += [
                {"doc_id": doc_id, "name": name, "value": value}
                for name, values in document.attributes.items()
                for value in values
            ]
            prices += [
                {"doc_id": doc_id, "currency": currency, "units": units}
                for currency, units in document.prices.items()
            ]
            if not self._postgres:
                text.append(
                    {
                        "rowid": doc_id,
                        "title": " ".join(words(document.title)),
                        "body": " ".join(words(document.body)),
                    }
                )
        for part, rows in (
            (self._categories, categories),
            (self._attributes, attributes),
            (self._prices, prices),
            (_FTS, text),
        ):
            if rows:
                connection.execute(part.insert(), rows)

    def remove(self, product_ids: Iterable[str]) -> None:
        gone = sorted(set(check_keys(product_ids, "product_ids")))
        if not gone:
            return
        self._create()
        documents = self._documents
        with self._connection() as connection:
            try:
                with connection.begin():
                    for chunk in _chunks(gone):
                        # The documents go first: on PostgreSQL that waits for an index
                        # of the same product under way, whose parts the next statements
                        # then see and delete; on SQLite it takes the write lock.
                        doc_ids = connection.execute(
                            documents.delete()
                            .where(documents.c.product_id.in_(chunk))
                            .returning(documents.c.doc_id)
                        )
                        self._delete_parts(connection, doc_ids.scalars().all())
            except sa.exc.DBAPIError as error:
                raise self._tables.translated(error) from error

    def clear(self) -> None:
        self._create()
        with self._connection() as connection:
            try:
                with connection.begin():
                    for part in (*self._parts(), self._documents):
                        connection.execute(part.delete())
            except sa.exc.DBAPIError as error:
                raise self._tables.translated(error) from error

    # --- searching -------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        if not isinstance(query, SearchQuery):
            raise InvalidInput(f"expected a SearchQuery, got {type(query).__name__}", field="query")
        self._create()
        statement = self._statement(query, query_terms(query.text, prefix=query.prefix))
        with self._connection() as connection:
            try:
                with connection.begin():
                    rows = [tuple(row) for row in connection.execute(statement)]
            except sa.exc.DBAPIError as error:
                raise self._tables.translated(error) from error
        return _result(query, rows)

    def _found(self, query: SearchQuery, terms: Terms) -> sa.CTE:
        """The documents the query finds, with their scores and stock."""
        documents = self._documents
        conditions: list[sa.ColumnElement[bool]] = [documents.c.locale == query.locale]
        if not query.include_unpublished:
            conditions.append(documents.c.published.is_(True))
        if query.in_stock_only:
            conditions.append(documents.c.in_stock.is_(True))
        # Each filter is a list of documents to be in: the databases start from the
        # filter's index when it is the narrower, rather than test every document.
        if query.category_id is not None:
            categories = self._categories
            conditions.append(
                documents.c.doc_id.in_(
                    sa.select(categories.c.doc_id).where(
                        categories.c.category_id == query.category_id
                    )
                )
            )
        attributes = self._attributes
        for name, values in query.attributes.items():
            conditions.append(
                documents.c.doc_id.in_(
                    sa.select(attributes.c.doc_id).where(
                        attributes.c.name == name, attributes.c.value.in_(sorted(values))
                    )
                )
            )
        if query.price is not None:
            prices = self._prices
            price = [prices.c.currency == query.price.currency]
            if query.price.min_units is not None:
                price.append(prices.c.units >= query.price.min_units)
            if query.price.max_units is not None:
                price.append(prices.c.units <= query.price.max_units)
            conditions.append(documents.c.doc_id.in_(sa.select(prices.c.doc_id).where(*price)))
        columns = (documents.c.doc_id, documents.c.product_id, documents.c.in_stock)
        if not terms:
            score: sa.ColumnElement[Any] = sa.cast(sa.literal_column("0"), sa.Float)
            found = sa.select(*columns, score.label("score")).where(*conditions)
        elif self._postgres:
            tsquery = sa.cast(sa.literal(_tsquery(terms), sa.Text), postgresql.TSQUERY)
            weights = sa.cast(sa.literal(_PG_WEIGHTS, sa.Text), postgresql.ARRAY(sa.REAL))
            score = sa.func.ts_rank_cd(weights, documents.c.words, tsquery)
            found = sa.select(*columns, score.label("score")).where(
                documents.c.words.op("@@")(tsquery), *conditions
            )
        else:
            # bm25() is better the lower; scores here are better the higher.
            score = -sa.func.bm25(
                sa.literal_column("search_text"),
                sa.literal_column(repr(TITLE_WEIGHT)),
                sa.literal_column(repr(BODY_WEIGHT)),
            )
            found = (
                sa.select(*columns, score.label("score"))
                .select_from(documents.join(_FTS, _FTS.c.rowid == documents.c.doc_id))
                .where(_FTS.c.search_text.op("MATCH")(_fts_query(terms)), *conditions)
            )
        # Read by the page, the total and each facet: worked out once.
        return found.cte("found").prefix_with("MATERIALIZED")

    def _statement(self, query: SearchQuery, terms: Terms) -> sa.CompoundSelect[Any]:
        """Rows of (what, key, value, count, score): the page's hits, the total, and
        each facet's counts."""
        found = self._found(query, terms)
        # Ties by product id in code point order, as Python orders strings (the "C"
        # collation on PostgreSQL, whatever the database's own).
        by_id = found.c.product_id.collate("C" if self._postgres else "BINARY")
        page = (
            sa.select(found.c.product_id, found.c.score)
            .order_by(found.c.score.desc(), by_id)
            .limit(query.limit)
            .offset(query.offset)
            .subquery("page")
        )
        no_text = sa.cast(sa.null(), sa.Text)
        no_count = sa.cast(sa.null(), sa.BigInteger)
        no_score = sa.cast(sa.null(), sa.Float)
        count = sa.func.count()

        def of_found(select: sa.Select[Any], part: sa.Table) -> sa.Select[Any]:
            """``select`` over the rows of ``part`` that belong to documents found."""
            if self._postgres:
                # A join: PostgreSQL then knows how many documents were found (of a
                # list it would guess 200) and hashes rather than look up each one.
                return select.select_from(part.join(found, found.c.doc_id == part.c.doc_id))
            # A list: SQLite looks up each document's rows rather than read them all.
            return select.where(part.c.doc_id.in_(sa.select(found.c.doc_id)))

        def what(name: str) -> sa.ColumnElement[str]:
            return sa.literal_column(f"'{name}'", sa.Text)

        parts: list[sa.Select[Any]] = [
            sa.select(what("hit"), page.c.product_id, no_text, no_count, page.c.score),
            sa.select(what("total"), no_text, no_text, count, no_score).select_from(found),
        ]
        wanted = query.facets
        if wanted.categories:
            categories = self._categories
            counted = sa.select(
                what(CATEGORY_FACET), categories.c.category_id, no_text, count, no_score
            )
            parts.append(of_found(counted, categories).group_by(categories.c.category_id))
        if wanted.attributes:
            attributes = self._attributes
            counted = sa.select(
                what("attribute"), attributes.c.name, attributes.c.value, count, no_score
            ).where(attributes.c.name.in_(wanted.attributes))
            parts.append(
                of_found(counted, attributes).group_by(attributes.c.name, attributes.c.value)
            )
        if wanted.prices is not None:
            prices, buckets = self._prices, wanted.prices
            labels = buckets.labels()
            bucket = sa.case(
                *(
                    (prices.c.units < _inline(bound), _inline(label))
                    for bound, label in zip(buckets.bounds, labels, strict=False)
                ),
                else_=_inline(labels[-1]),
            )
            counted = sa.select(what(PRICE_FACET), bucket, no_text, count, no_score).where(
                prices.c.currency == buckets.currency
            )
            parts.append(of_found(counted, prices).group_by(bucket))
        if wanted.in_stock:
            stocked = sa.case((found.c.in_stock, _inline("true")), else_=_inline("false"))
            parts.append(
                sa.select(what(IN_STOCK_FACET), stocked, no_text, count, no_score)
                .select_from(found)
                .group_by(stocked)
            )
        return sa.union_all(*parts)


def _inline(value: str | int) -> sa.BindParameter[Any]:
    # Written into the statement rather than bound: an expression a query groups by
    # must read the same in its GROUP BY, which two parameters never do on PostgreSQL.
    return sa.literal(value, literal_execute=True)


def _result(query: SearchQuery, rows: Sequence[tuple[Any, ...]]) -> SearchResult:
    hits: list[SearchHit] = []
    total = 0
    categories: dict[str, int] = {}
    attributes: dict[str, dict[str, int]] = {name: {} for name in query.facets.attributes}
    counted: dict[str, dict[str, int]] = {PRICE_FACET: {}, IN_STOCK_FACET: {}}
    for what, key, value, count, score in rows:
        if what == "hit":
            hits.append(SearchHit(key, float(score)))
        elif what == "total":
            total = int(count)
        elif what == CATEGORY_FACET:
            categories[key] = int(count)
        elif what == "attribute":
            attributes[key][value] = int(count)
        else:
            counted[what][key] = int(count)
    hits.sort(key=lambda hit: (-hit.score, hit.product_id))
    wanted = query.facets
    facets: dict[str, tuple[FacetCount, ...]] = {}
    if wanted.categories:
        facets[CATEGORY_FACET] = by_frequency(categories)
    for name, values in attributes.items():
        facets[attribute_facet(name)] = by_frequency(values)
    if wanted.prices is not None:
        buckets = counted[PRICE_FACET]
        facets[PRICE_FACET] = tuple(
            FacetCount(label, buckets.get(label, 0)) for label in wanted.prices.labels()
        )
    if wanted.in_stock:
        stock = counted[IN_STOCK_FACET]
        facets[IN_STOCK_FACET] = tuple(
            FacetCount(value, stock.get(value, 0)) for value in ("true", "false")
        )
    return SearchResult(hits=tuple(hits), total=total, facets=facets)
