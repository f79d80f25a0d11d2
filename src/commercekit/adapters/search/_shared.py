"""What the built-in search backends share: checking what they are handed, weighting
the title, and ordering facet values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from commercekit.adapters._options import check_no_options as no_options
from commercekit.domain.errors import InvalidInput, shown
from commercekit.ports.search import FacetCount, SearchDocument

__all__ = [
    "BODY_WEIGHT",
    "TITLE_WEIGHT",
    "Key",
    "by_frequency",
    "check_no_options",
    "checked_documents",
]

#: How much a word counts in the title, and in the body: a title that names the
#: thing beats a body that mentions it (as long as the body does not say it ten times).
TITLE_WEIGHT: Final = 10.0
BODY_WEIGHT: Final = 1.0

Key = tuple[str, str]
"""A document's product id and locale."""


def checked_documents(documents: object) -> list[SearchDocument]:
    """``documents``, the last of each product and locale only.

    :raises InvalidInput: naming ``documents``, for anything but documents.
    """
    if isinstance(documents, str | bytes | Mapping) or not isinstance(documents, Iterable):
        raise InvalidInput("expected a sequence of SearchDocument", field="documents")
    latest: dict[Key, SearchDocument] = {}
    for document in documents:
        if not isinstance(document, SearchDocument):
            raise InvalidInput(
                f"expected SearchDocument, got {type(document).__name__}", field="documents"
            )
        latest[document.product_id, document.locale] = document
    return list(latest.values())


def by_frequency(counts: Mapping[str, int]) -> tuple[FacetCount, ...]:
    """Most frequent first, then by value (by code point, as the SQL backends sort)."""
    return tuple(
        FacetCount(value, count)
        for value, count in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    )


def check_no_options(kind: str, options: Mapping[str, Any]) -> None:
    """Refuse options for a search backend that takes none.

    :raises InvalidInput: naming ``search.options``.
    """
    no_options(kind, "search backend", options, field="search.options")
    if options:
        names = ", ".join(shown(str(name)) for name in sorted(map(str, options)))
        raise InvalidInput(
            f"the {kind} search backend takes no options, got {names}", field="search.options"
        )
