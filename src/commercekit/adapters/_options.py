"""The check every built-in adapter that takes no options makes of what it is given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from commercekit.domain.errors import InvalidInput, shown

__all__ = ["check_no_options"]


def check_no_options(kind: str, what: str, options: object, *, field: str) -> None:
    """Refuse any option for the ``kind`` ``what`` (``"sql"``, ``"search backend"``).

    :raises InvalidInput: naming ``field``, for anything but an empty mapping.
    """
    if not isinstance(options, Mapping):
        raise InvalidInput(
            f"expected a mapping of options, got {type(options).__name__}", field=field
        )
    if options:
        given: Mapping[Any, Any] = options
        names = ", ".join(shown(str(name)) for name in sorted(map(str, given)))
        raise InvalidInput(f"the {kind} {what} takes no options, got {names}", field=field)
