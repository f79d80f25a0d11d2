"""The Python examples in README.md and docs/ run, and say what they print.

A line of a code block that ends in ``# <literal>`` states the value of its
expression; it is checked as ``expression == literal``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for number, match in enumerate(BLOCK.finditer(document.read_text("utf-8")), 1):
            found.append((f"{document.name}#{number}", match.group(1)))
    return found


def with_checks(source: str) -> str:
    """Turn each top-level ``expression  # literal`` line into an assertion."""
    lines = []
    for line in source.splitlines():
        code, _, comment = line.partition("  # ")
        if comment and not line.startswith(" "):
            try:
                expected = ast.literal_eval(comment.strip())
                ast.parse(code.strip(), mode="eval")
            except (ValueError, SyntaxError):
                lines.append(line)
                continue
            line = f"assert ({code.strip()}) == {expected!r}, {code.strip()!r}"
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "source"), blocks(), ids=[name for name, _ in blocks()])
def test_documented_example_runs_and_says_what_it_gives(name: str, source: str) -> None:
    compiled = compile(with_checks(source), name, "exec")
    exec(compiled, {"__name__": "docs_example"})


def test_every_document_with_code_is_checked() -> None:
    assert any(name.startswith("README.md") for name, _ in blocks())
