"""The Python examples in README.md and docs/ run, and say what they give.

A top-level expression in a code block followed by ``# <expression>`` states its
value; it is checked as ``expression == expected``, both evaluated in the block's
namespace (so ``# Decimal('0.13')`` works). The comment may follow an expression that
spans several lines: it goes after the line that ends it. A comment after an
expression that is not itself an expression fails the test rather than being
skipped, and each document must make at least its minimum number of checks.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
FENCE = re.compile(r"^```\s*(\w*)", re.MULTILINE)
#: How many stated results each document checks at least; a document with Python
#: blocks that is not listed must still check one.
MINIMUM_CHECKS = {"README.md": 3, "pricing.md": 12}


def blocks() -> list[tuple[str, str]]:
    """``(document#number, source)`` of every Python block, in document order."""
    found = []
    for document in DOCUMENTS:
        for number, match in enumerate(BLOCK.finditer(document.read_text("utf-8")), 1):
            found.append((f"{document.name}#{number}", match.group(1)))
    return found


def documents() -> dict[str, list[tuple[str, str]]]:
    """The Python blocks of each document that has any."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, source in blocks():
        found.setdefault(name.partition("#")[0], []).append((name, source))
    return found


def stated_results(source: str) -> dict[int, str]:
    """The text of each comment, by the line it ends (1-based)."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string[1:].strip()
    return comments


def run(name: str, source: str, namespace: dict[str, object] | None = None) -> int:
    """Run a block statement by statement, checking every stated result.

    :param namespace: shared with the document's earlier blocks, which a later block
        may build on, as a reader would.
    :returns: how many results were checked.
    """
    if namespace is None:
        namespace = {"__name__": "docs_example"}
    comments = stated_results(source)
    checked = 0
    for statement in ast.parse(source, name).body:
        comment = comments.get(statement.end_lineno or 0)
        if not (isinstance(statement, ast.Expr) and comment):
            exec(compile(ast.Module([statement], []), name, "exec"), namespace)
            continue
        where = f"{name}, line {statement.lineno}"
        try:
            expected_code = compile(comment, where, "eval")
        except SyntaxError:
            pytest.fail(f"{where}: the stated result {comment!r} is not an expression")
        actual = eval(compile(ast.Expression(statement.value), where, "eval"), namespace)
        expected = eval(expected_code, namespace)
        assert actual == expected, f"{where}: {ast.unparse(statement)} gave {actual!r}"
        assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
        checked += 1
    return checked


@pytest.mark.parametrize("document", sorted(documents()))
def test_documented_examples_run_and_say_what_they_give(document: str) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    checked = sum(run(name, source, namespace) for name, source in documents()[document])
    assert checked >= MINIMUM_CHECKS.get(document, 1), f"{document}: only {checked} checked"


def test_every_document_with_code_is_checked() -> None:
    found = documents()
    # The documents that must check most are there, with Python blocks.
    assert set(MINIMUM_CHECKS) <= set(found)
    for document in DOCUMENTS:
        text = document.read_text("utf-8")
        assert ("```python" in text) == (document.name in found)
        # Every fenced block that looks like Python is a ```python block, so none is
        # left out of the run by a different tag.
        for match in FENCE.finditer(text):
            assert match.group(1) not in {"py", "python3", "pycon", "ipython"}, document.name
    # Every stated result in a document is on a top-level expression, where it is
    # checked, and not on a line the checker would pass over.
    for name, source in blocks():
        tree = ast.parse(source, name)
        ends = {s.end_lineno for s in tree.body if isinstance(s, ast.Expr)}
        for line, comment in stated_results(source).items():
            if _looks_like_a_result(comment):
                assert line in ends, f"{name}, line {line}: # {comment} is never checked"


def _looks_like_a_result(comment: str) -> bool:
    try:
        ast.literal_eval(comment)
    except (ValueError, SyntaxError):
        return bool(re.fullmatch(r"(Decimal|Money)\(.*\)", comment))
    return True


def test_a_wrong_stated_result_fails() -> None:
    with pytest.raises(AssertionError):
        run("wrong", "from decimal import Decimal\nDecimal('0.125')  # Decimal('0.13')\n")
    with pytest.raises(AssertionError):
        run("wrong", "[\n    1,\n    2,\n]  # [1, 3]\n")
    assert run("right", "[\n    1,\n    2,\n]  # [1, 2]\nx = 3  # a note, not a result\n") == 1


def test_a_stated_result_that_is_not_an_expression_fails() -> None:
    with pytest.raises(pytest.fail.Exception):
        run("prose", "1 + 1  # two, as you would expect\n")
