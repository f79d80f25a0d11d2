"""Words, as every built-in search backend reads them.

Text is folded here, in Python, for every backend: casefolded, compatibility
decomposed (``ﬁ`` is ``fi``, ``²`` is ``2``) and stripped of combining marks
(``Crème`` is ``creme``), then cut into runs of letters and digits. SQLite's FTS5 then
indexes the words as they are, and PostgreSQL is handed them as lexemes: neither
database's own folding (its locale, its dictionaries, an ``unaccent`` extension it
may lack) decides what matches, so that the same documents answer the same query
alike on all three backends.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import attrs

__all__ = ["MAX_WORD_LENGTH", "Terms", "query_terms", "words"]

#: Longer words are cut to this length, in documents and queries alike: no word is
#: that long, and a database's index has a limit on its words (PostgreSQL's is 2 KB).
MAX_WORD_LENGTH: Final = 100

# Letters and digits (what str.isalnum() accepts): the word characters less "_".
_WORD: Final = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    # Decomposed before and after casefolding: casefolding "İ" makes a combining dot,
    # and decomposing a black-letter capital H (U+210C) makes an upper-case "H".
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of ``text``, folded, in order."""
    return _words(_fold(text))


def _words(folded: str) -> list[str]:
    return [word[:MAX_WORD_LENGTH] for word in _WORD.findall(folded)]


@attrs.frozen
class Terms:
    """The words a query looks for, each once, in the order typed."""

    words: tuple[str, ...]
    prefix: bool
    """Whether the last word also finds the words it begins."""

    def __bool__(self) -> bool:
        return bool(self.words)


def query_terms(text: str, *, prefix: bool) -> Terms:
    """What a query's text looks for. A text that ends in a separator (``"kettle "``)
    has no word being typed, so nothing is a prefix then."""
    folded = _fold(text)
    # A word typed twice is looked for once, where it was typed last: the last word
    # stays last.
    unique = tuple(reversed(dict.fromkeys(reversed(_words(folded)))))
    typing = prefix and bool(unique) and _WORD.fullmatch(folded[-1:]) is not None
    return Terms(unique, typing)
