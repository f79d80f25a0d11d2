"""The documentation site builds with ``mkdocs build --strict``.

Strict, with mkdocs.yml's validation settings, means no warning at all: every page of
docs/ is in the navigation, every link and anchor between pages resolves, and every
docstring of the API reference renders. The pages a reader lands on first are there,
and the reference holds the classes it documents.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly_with_its_key_pages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-5000:]

    home = (site / "index.html").read_text("utf-8")
    assert "framework-free commerce core" in home
    guide = (site / "plugin-guide" / "index.html").read_text("utf-8")
    assert "GatewayConformance" in guide
    assert "kestrel_commerce.plugin:plugin" in guide
    store = (site / "reference" / "store" / "index.html").read_text("utf-8")
    assert 'id="commercekit.store.Store"' in store
    assert 'id="commercekit.store.Store.open"' in store
    ports = (site / "reference" / "ports" / "index.html").read_text("utf-8")
    assert 'id="commercekit.ports.payments.PaymentGateway"' in ports
    testing = (site / "reference" / "testing" / "index.html").read_text("utf-8")
    assert 'id="commercekit.testing.conformance.carrier.CarrierConformance"' in testing
    # Sphinx roles in docstrings are read as links or code, not printed as written.
    assert ":class:" not in store + ports + testing
