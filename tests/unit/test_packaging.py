"""The hand-kept package list in pyproject.toml matches the source tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_in_the_tree_ships() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT / "src").parts)
        for path in (ROOT / "src" / "commercekit").rglob("__init__.py")
    }
    # examples/ ships as commercekit.examples, with its subpackages one level down
    # (examples/plugins holds separately packaged plugins).
    examples = {"commercekit.examples"} | {
        f"commercekit.examples.{path.parent.name}"
        for path in (ROOT / "examples").glob("*/__init__.py")
    }
    assert found | examples == listed
    assert config["package-dir"]["commercekit.examples"] == "examples"
    assert (ROOT / "examples" / "__init__.py").exists()
