"""Statements run on the database driver itself.

A statement an order runs every time (an aggregate by id, its parts, its rows written
or updated) is written once with SQLAlchemy Core, compiled once per dialect, and then
executed on the connection's own driver cursor: what SQLAlchemy does per execution
(building the execution context, processing parameters, wrapping the result) costs
more than SQLite takes to run the statement. Parameters and rows still pass through
the column types' own processors, so what is stored and read back is exactly what
SQLAlchemy would store and read; driver errors are raised as SQLAlchemy's, so that
callers tell a conflict from a failure the same way on both paths; and the
connection's ``before_cursor_execute`` listeners still hear every statement.

Statements with an expanding ``IN`` list are not for this path: SQLAlchemy renders
those per call.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, final

import attrs
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect

__all__ = ["Prepared", "keys", "run_plain", "spread"]

Processor = Callable[[Any], Any] | None


def keys(count: int, name: str = "k") -> list[sa.BindParameter[Any]]:
    """``count`` parameters for an ``IN`` list of that many values, bound by
    :func:`spread`: a statement for each length, instead of one SQLAlchemy renders
    per call."""
    return [sa.bindparam(f"{name}{n}") for n in range(count)]


def spread(values: Sequence[Any], name: str = "k") -> dict[str, Any]:
    """The values of :func:`keys`."""
    return {f"{name}{n}": value for n, value in enumerate(values)}


@attrs.frozen
class _Compiled:
    """A statement as one dialect runs it."""

    sql: str
    names: tuple[str, ...]
    """The bound parameters, in the order a positional driver takes them."""
    positional: bool
    defaults: Mapping[str, Any]
    """Values the statement itself binds (a status it names, a limit)."""
    binds: tuple[Processor, ...]
    columns: tuple[str, ...]
    """What each row holds, by name (a statement that returns rows)."""
    results: tuple[Processor, ...]
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] = attrs.field(init=False)
    """The values of :attr:`names` from a mapping, in order, as a tuple."""
    processed: tuple[tuple[int, Callable[[Any], Any]], ...] = attrs.field(init=False)
    """Which of them a type processes before the driver sees them, and how."""

    @pick.default
    def _picker(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        if not self.names:
            return lambda values: ()
        if len(self.names) == 1:
            only = self.names[0]
            return lambda values: (values[only],)
        return operator.itemgetter(*self.names)

    @processed.default
    def _processed(self) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        return tuple((n, process) for n, process in enumerate(self.binds) if process is not None)


def _compile(
    statement: sa.ClauseElement, dialect: Dialect, keys: Sequence[str] | None
) -> _Compiled:
    compiled: Any = (
        statement.compile(dialect=dialect)
        if keys is None
        else statement.compile(dialect=dialect, column_keys=list(keys))
    )
    positional = bool(dialect.positional)
    if positional:
        names = tuple(compiled.positiontup)
    else:
        # Anonymous copies of a literal's bind carry a "%(...)" name and are never
        # rendered: the named one is.
        names = tuple(name for name in compiled.binds if not name.startswith("%("))
    binds = compiled.binds
    defaults = {name: binds[name].value for name in names if not binds[name].required}
    processors = tuple(
        binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    # What a SELECT selects, or what an INSERT, UPDATE or DELETE returns (none for
    # one that returns nothing).
    selected: Any = getattr(statement, "selected_columns", None)
    if selected is None:
        selected = getattr(statement, "exported_columns", ())
    columns = tuple(str(column.key) for column in selected)
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
    )
    return _Compiled(str(compiled), names, positional, defaults, processors, columns, results)


def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    values = {**compiled.defaults, **params} if compiled.defaults else params
    picked = compiled.pick(values)
    if compiled.processed:
        bound = list(picked)
        for n, process in compiled.processed:
            bound[n] = process(bound[n])
        picked = tuple(bound)
    if compiled.positional:
        return picked
    return dict(zip(compiled.names, picked, strict=True))


@final
class Prepared:
    """A statement built once, compiled once per dialect, run on the driver.

    ``keys``, for an INSERT or UPDATE with no values of its own, are the columns it
    writes: each is bound under its own name.
    """

    def __init__(self, statement: sa.ClauseElement, keys: Sequence[str] | None = None) -> None:
        self.statement: Final = statement
        self.keys: Final = None if keys is None else tuple(keys)
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, connection: Connection) -> _Compiled:
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled.setdefault(
                dialect.name, _compile(self.statement, dialect, self.keys)
            )
        return compiled

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows the statement returns, each a dict by column name."""
        compiled = self._for(connection)
        cursor = self._run(connection, compiled, _parameters(compiled, params), many=False)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        columns, results = compiled.columns, compiled.results
        return [
            {
                name: value if process is None else process(value)
                for name, value, process in zip(columns, row, results, strict=True)
            }
            for row in fetched
        ]

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Execute it once; how many rows it changed."""
        compiled = self._for(connection)
        cursor = self._run(connection, compiled, _parameters(compiled, params), many=False)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute it once for each of ``rows`` (an executemany)."""
        if not rows:
            return
        compiled = self._for(connection)
        bound = [_parameters(compiled, row) for row in rows]
        self._run(connection, compiled, bound, many=True).close()

    @staticmethod
    def _run(connection: Connection, compiled: _Compiled, parameters: Any, *, many: bool) -> Any:
        return _execute(connection, compiled.sql, parameters, many=many)


def run_plain(connection: Connection, sql: str) -> None:
    """Run ``sql``, which binds nothing (``BEGIN IMMEDIATE``), on the driver."""
    _execute(connection, sql, (), many=False).close()


def _execute(connection: Connection, sql: str, parameters: Any, *, many: bool) -> Any:
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    listeners = connection.dispatch.before_cursor_execute
    if listeners:
        listeners(connection, cursor, sql, parameters, None, many)
    dialect = connection.dialect
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        wrapped = sa_exc.DBAPIError.instance(
            sql,
            None,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=dialect,
            ismulti=many,
        )
        for handle in dialect.dispatch.handle_error:
            handle(_Failure(error, wrapped, connection))
        raise wrapped from error
    return cursor


@attrs.frozen
class _Failure:
    """What an engine's ``handle_error`` listeners read of a failed statement."""

    original_exception: BaseException
    sqlalchemy_exception: sa_exc.StatementError
    connection: Connection
