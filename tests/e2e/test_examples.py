"""The examples run as a newcomer runs them: as scripts, in a fresh interpreter."""

from __future__ import annotations

import shutil
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


def test_order_lifecycle_runs_on_sqlite_by_default():
    output = run("order_lifecycle.py")
    assert "storage: SQLite file shop.db" in output
    assert "the retry returned the same order: True" in output
    assert "gateway calls: 1" in output
    # 2 x 8.90 less 10%, 64.00, 9.99 and 4.90 shipping, all with VAT inside
    assert "94,91\xa0€" in output
    assert "order: open, payment captured" in output
    # The kettle back: 64.00 paid, less 5% (3.20) and the 5.90 label it came back with.
    assert "refunded 54,90\xa0€: 44,90\xa0€ to the card, 10,00\xa0€ as store credit" in output
    assert "order: open, payment partially_refunded" in output
    assert "captured 94,91\xa0€, refunded 44,90\xa0€" in output
    assert "balance 12,00\xa0€" in output  # 10.00 of the refund, 2.00 from the case
    assert "case: resolved" in output
    assert "INVOICE INV-000001" in output
    assert "Total credited: €54.90" in output
    assert "CREDIT NOTE CN-000002" in output
    # stock reserved at checkout, consumed on shipping, the kettle returned
    assert "SENCHA-100G   berlin   on hand  40  reserved  2  available  38" in output
    assert "KETTLE-BLACK  hamburg  on hand   2  reserved  0  available   2" in output
    assert "KETTLE-BLACK  hamburg  on hand   3  reserved  0  available   3" in output
    # a quoted rate chosen, a shipment from each location, followed to the door
    assert "chosen: DHL Paket, the cheapest" in output
    assert "from berlin   2 x SENCHA-100G" in output
    assert "from hamburg  1 x KETTLE-BLACK" in output
    assert output.count("delivered         delivered") == 2
    assert "order: delivered" in output
    # the customer's e-mails, one per notice, in the folder the output names
    folder = Path(output.split("written to ")[-1].strip())
    names = sorted(path.name.split("-")[0] for path in folder.glob("*.eml"))
    shutil.rmtree(folder)
    assert names == [
        "case_opened",
        "case_resolved",
        "order_confirmation",
        "refund_issued",
        "refund_issued",
        "return_received",
        "return_requested",
        "shipment_delivered",
        "shipment_delivered",
        "shipment_dispatched",
        "shipment_dispatched",
    ]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "commercekit.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_demo_command_runs_the_lifecycle_on_any_storage():
    completed = run_cli("demo", "memory://")
    assert completed.returncode == 0, completed.stderr
    assert "order: open, payment partially_refunded" in completed.stdout


def test_db_upgrade_migrates_a_sqlite_file_and_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    for expected in ("upgraded from none to", "nothing to apply"):
        completed = run_cli("db", "upgrade", url)
        assert completed.returncode == 0, completed.stderr
        assert expected in completed.stdout
    assert (tmp_path / "shop.db").stat().st_size > 0


def test_a_bad_url_is_a_clear_error_not_a_traceback():
    completed = run_cli("demo", "ftp://nowhere")
    assert completed.returncode == 2
    assert "invalid_input" in completed.stderr
    assert "Traceback" not in completed.stderr
