"""Sphinx cross-reference roles in docstrings, read as links by the documentation site.

commercekit's docstrings are written for Sphinx: ``:class:`~commercekit.store.Store```,
``:meth:`Order.follow_shipments```, ``:data:`HOOK_VERSIONS```. Markdown has no such
roles, so mkdocstrings would print them as they are written. This griffe extension
(loaded by ``mkdocs.yml``) rewrites each role, once the package is loaded, as an
optional cross-reference: a link where the site documents the target, plain code where
it does not, and never a warning either way, so ``mkdocs build --strict`` stays quiet.
Relative names are resolved in the scope of the docstring's object, as Sphinx
resolves them. A literal block introduced by ``::`` loses one colon, as in Sphinx,
and a doctest (lines from ``>>>`` to the next blank line) becomes a code block rather
than a Markdown quote.

Only the text mkdocstrings renders changes; the source files are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import griffe

__all__ = ["SphinxRoles"]

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):"
    r"`(?P<short>~)?(?P<text>[^`<]+?)\s*(?:<(?P<target>[^`>]+)>)?`"
)
# "an example::" followed by a blank line: Sphinx shows "an example:" above the block.
_LITERAL = re.compile(r"(?<=\S)::(?=\n\s*\n)")
_DOCTEST = re.compile(r"^(?P<indent>[ ]*)>>> .*(?:\n(?P=indent)\S.*)*", re.MULTILINE)


def _walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    """``obj`` and every object defined in it (not the names it imports)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            assert isinstance(member, griffe.Object)
            yield from _walk(member)


def _identifier(obj: griffe.Object, name: str) -> str:
    """The full dotted path ``name`` stands for in ``obj``'s scope, or ``name`` itself
    when it names nothing there (the link is then left out)."""
    name = name.strip().removesuffix("()").lstrip(".")
    first, dot, rest = name.partition(".")
    try:
        resolved = obj.resolve(first)
    except griffe.NameResolutionError:
        return name
    return f"{resolved}{dot}{rest}"


def _rewrite(obj: griffe.Object, text: str) -> str:
    def link(match: re.Match[str]) -> str:
        target = match["target"] or match["text"]
        shown = match["text"].strip()
        if match["target"] is None:
            shown = shown.removeprefix(".")
            if match["short"]:
                shown = shown.rsplit(".", 1)[-1]
        identifier = _identifier(obj, target)
        return f'<autoref identifier="{identifier}" optional>`{shown}`</autoref>'

    def fenced(match: re.Match[str]) -> str:
        indent = match["indent"]
        return f"{indent}```pycon\n{match[0]}\n{indent}```"

    return _DOCTEST.sub(fenced, _LITERAL.sub(":", _ROLE.sub(link, text)))


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring in a loaded package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj, obj.docstring.value)
