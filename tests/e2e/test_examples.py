"""The examples run as a newcomer runs them: as scripts, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_pricing_tour_prints_a_breakdown_for_a_locale():
    german = run("pricing_tour.py")
    assert "Three teas for the price of two (buy 2 get 1 free)" in german
    assert "Winter coupon: 10% off kettles" in german
    assert "111,40\xa0€" in german  # 126.70 less 15.30 of promotions, shipping waived
    assert "incl. MwSt 19%" in german
    assert "16.400\xa0¥" in german
    american = run("pricing_tour.py", "en_US")
    assert "€111.40" in american
