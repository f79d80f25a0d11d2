"""Aggregates kept as one record each: one table for all of them, the aggregate as
JSON beside the keys its ``index()`` names.

The JSON is written from the aggregate's attrs fields by their declared types, and
read back by them, so a new :class:`~commercekit.domain.indexed.Indexed` class needs
no mapping of its own and no migration.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Generic, TypeVar, final

import attrs
import sqlalchemy as sa

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Row
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.errors import NotFound
from commercekit.domain.indexed import Indexed

__all__ = ["SqlRecordRepository", "decode", "encode", "record_mapping"]

R = TypeVar("R", bound=Indexed)
_SKIPPED: Final = "transient"


@functools.cache
def _fields(cls: type[Any]) -> tuple[tuple[str, Any, str], ...]:
    """``(attribute, type, init name)`` of the fields ``cls`` stores."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (field.name, hints[field.name], field.alias or field.name)
        for field in attrs.fields(cls)
        if field.init and not field.metadata.get(_SKIPPED) and field.name != "events"
    )


def encode(value: Any, kind: Any = None) -> Any:
    """``value`` as JSON-safe data, by its declared type ``kind`` (or its own)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    cls: type[Any] = type(value)
    if attrs.has(cls):
        return {name: encode(getattr(value, name), hint) for name, hint, _ in _fields(cls)}
    if isinstance(value, Mapping):
        args = typing.get_args(kind)
        item = args[1] if len(args) == 2 else None
        return {str(key): encode(entry, item) for key, entry in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        args = typing.get_args(kind)
        if (len(args) == 2 and args[1] is Ellipsis) or len(args) == 1:
            return [encode(entry, args[0]) for entry in value]
        if args:
            return [encode(entry, arg) for entry, arg in zip(value, args, strict=True)]
        return [encode(entry) for entry in value]
    raise TypeError(f"cannot store a {type(value).__name__}")


def decode(kind: Any, data: Any) -> Any:
    """The value of declared type ``kind`` that :func:`encode` wrote as ``data``."""
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        if data is None:
            return None
        choices = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return decode(choices[0], data)
    if kind is Any or data is None:
        return data
    if isinstance(kind, type):
        if issubclass(kind, enum.Enum):
            return kind(data)
        if kind is datetime:
            return datetime.fromisoformat(data)
        if kind is date:
            return date.fromisoformat(data)
        if kind is Decimal:
            return Decimal(data)
        if kind in (str, int, bool):
            return kind(data)
        if attrs.has(kind):
            return kind(**{init: decode(hint, data[name]) for name, hint, init in _fields(kind)})
    args = typing.get_args(kind)
    if origin in (dict, Mapping) or origin is typing.Mapping:
        return {key: decode(args[1], entry) for key, entry in data.items()}
    if origin in (tuple, list, frozenset, set):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            values: list[Any] = [decode(arg, entry) for arg, entry in zip(args, data, strict=True)]
        else:
            values = [decode(args[0], entry) for entry in data]
        return origin(values)
    raise TypeError(f"cannot read a {kind!r}")


def _row(record: Indexed) -> dict[str, Any]:
    index = record.index()
    return {
        "id": record.id,
        "kind": record.KIND,
        "ref": index.ref,
        "owner": index.owner,
        "state": index.state,
        "due_at": index.due,
        "at": index.at,
        "data": encode(record),
        "version": record.version,
    }


@functools.cache
def record_mapping(cls: type[R]) -> AggregateMapping[R]:
    """How records of ``cls`` are written and read."""

    def build(row: Row, parts: Sequence[Sequence[Row]]) -> R:
        record: R = decode(cls, row["data"])
        return record

    return AggregateMapping(
        kind=f"record:{cls.KIND}",
        cls=cls,
        root=t.records,
        row=_row,
        build=build,
        order_by=("at", "id"),
        events=lambda record: record.events,
    )


_C = t.records.c
_KEYS: Final = ("ref", "owner", "state")
_BY_ID: Final = sa.and_(_C.id == sa.bindparam("record_id"), _C.kind == sa.bindparam("kind"))


@functools.cache
def _condition(keys: tuple[str, ...], due: bool) -> sa.ColumnElement[bool]:
    """Built once per set of keys asked for, so the statement is prepared once."""
    terms = [_C.kind == sa.bindparam("kind"), *(_C[key] == sa.bindparam(key) for key in keys)]
    if due:
        terms.append(_C.due_at < sa.bindparam("due_before"))
    return sa.and_(*terms)


@final
class SqlRecordRepository(Generic[R]):
    """The records of one class."""

    def __init__(self, session: Session, cls: type[R]) -> None:
        self._session = session
        self._cls = cls
        self._mapping = record_mapping(cls)

    def get(self, record_id: str) -> R:
        found = self.find(record_id)
        if found is None:
            raise NotFound(self._cls.KIND, record_id, field=f"{self._cls.KIND}_id")
        return found

    def find(self, record_id: str) -> R | None:
        staged: R | None = self._session.staged(self._mapping, record_id)
        if staged is not None:
            return staged
        # By id and kind: a record of another class under this id is none of these.
        found = self._session.load(
            self._mapping, _BY_ID, params={"kind": self._cls.KIND, "record_id": record_id}
        )
        return found[0] if found else None

    def add(self, record: R) -> None:
        self._session.stage(self._mapping, record)

    def save(self, record: R) -> None:
        self._session.stage(self._mapping, record)

    def where(
        self,
        *,
        ref: str | None = None,
        owner: str | None = None,
        state: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
    ) -> list[R]:
        given = {"ref": ref, "owner": owner, "state": state}
        keys = tuple(key for key in _KEYS if given[key] is not None)
        params: dict[str, Any] = {"kind": self._cls.KIND, **{key: given[key] for key in keys}}
        if due_before is not None:
            params["due_before"] = due_before
        condition = _condition(keys, due_before is not None)
        return self._session.load(self._mapping, condition, params=params, limit=limit)
