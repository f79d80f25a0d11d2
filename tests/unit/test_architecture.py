"""The map holds: imports point inwards, adapter families stay apart, siblings never
import each other in a circle, and every module of the package has its place."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "commercekit"


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_import_contract_is_kept() -> None:
    command = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(command), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in done.stdout


def test_every_top_level_module_has_its_layer() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")
    named = {part.strip() for layer in layers["layers"] for part in layer.split("|")}
    top = {path.stem for path in PACKAGE.glob("*.py")} | {
        path.parent.name for path in PACKAGE.glob("*/__init__.py")
    }
    # The package itself and the public error module only re-export the domain's names.
    placed = {f"commercekit.{name}" for name in top - {"__init__", "errors"}}
    assert placed <= named


def test_every_adapter_family_is_kept_apart_from_the_others() -> None:
    adapters = PACKAGE / "adapters"
    families = {f"commercekit.adapters.{path.stem}" for path in adapters.glob("[!_]*.py")} | {
        f"commercekit.adapters.{path.parent.name}" for path in adapters.glob("*/__init__.py")
    }
    independent = next(
        c for c in _contracts() if c["name"] == "adapter families do not import each other"
    )
    assert set(independent["modules"]) == families
