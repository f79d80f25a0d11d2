"""``commercekit report`` as an operator runs it: a table on standard output, the same
as CSV, a time series drawn as a PNG, and every failure one line with exit status 2."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from matplotlib import image

from commercekit.adapters.clock import FixedClock
from commercekit.cli import main
from commercekit.store import Store
from tests.services.bringing_back import Outbox, opened
from tests.services.conftest import START
from tests.services.test_abandoned_carts import carts_config
from tests.services.test_abandoned_report import reminded_shop
from tests.services.test_reports import FRIDAY, SHOP, shop

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding the shop of ``tests/services/test_reports.py``."""
    path = tmp_path_factory.mktemp("report") / "shop.db"
    clock = FixedClock(FRIDAY)
    with Store.open(f"sqlite:///{path}", config=SHOP, clock=clock) as store:
        shop(store, clock)
    return f"sqlite:///{path}"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_failure(status: int, err: str, code: str) -> None:
    assert status == 2
    assert err.startswith(f"commercekit: {code}: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_sales_print_a_table_write_csv_and_draw_a_png(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table, chart = tmp_path / "sales.csv", tmp_path / "sales.png"
    status, out, err = run(
        capsys,
        "report",
        "sales",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-30",
        "--url",
        url,
        "--csv",
        str(table),
        "--chart",
        str(chart),
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["period", "currency", "orders", "units"]
    assert lines[2].split() == [
        "2026-11-27",
        "EUR",
        "1",
        "4",
        "76.00",
        "3.60",
        "4.90",
        "13.76",
        "91.06",
        "91.06",
    ]
    assert lines[-2:] == [f"{table}: 4 rows written", f"{chart}: chart drawn"]
    with table.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["revenue"] for row in rows] == ["91.06", "100.10", "0.00", "19.18"]
    assert rows[2]["average_order_value"] == ""
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    height, width, _ = image.imread(chart).shape
    assert width > height > 100


def test_weeks_and_a_hyphenated_name(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "report",
        "top-products",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-30",
        "--limit",
        "1",
        "--url",
        url,
    )
    assert status == 0
    assert out.splitlines()[2].split()[:2] == ["clock", "Retro"]
    assert len(out.splitlines()) == 3
    status, out, _ = run(
        capsys,
        "report",
        "sales",
        "--by",
        "week",
        "--from",
        "2026-11-23",
        "--to",
        "2026-12-06",
        "--url",
        url,
    )
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["2026-11-23", "2026-11-30"]


def test_stock_at_a_price_list(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "report",
        "stock",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-30",
        "--price-list",
        "eu",
        "--overstock-days",
        "20",
        "--url",
        url,
    )
    assert status == 0
    assert out.splitlines()[2].split() == [
        "RETRO-CLOCK",
        "17",
        "0",
        "17",
        "3",
        "0.75",
        "22.7",
        "EUR",
        "40.00",
        "680.00",
        "true",
    ]


@pytest.mark.parametrize(
    ("arguments", "code", "said"),
    [
        (["profits"], "invalid_input", "name: no such report"),
        (["sales", "--to", "2026-11-3"], "invalid_input", "to: must be a day"),
        (["sales", "--to", "2026-11-26"], "invalid_input", "to: must not be before"),
        (["funnel", "--chart", "x.png"], "invalid_input", "chart: funnel is not a time series"),
        (["stock", "--price-list", "nowhere"], "not_found", "price_list_id"),
        (["top_products", "--limit", "many"], "invalid_quantity", "limit"),
    ],
)
def test_a_wrong_argument_is_one_line(
    url: str,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    code: str,
    said: str,
) -> None:
    name, *rest = arguments
    given = ["report", name, "--from", "2026-11-27", "--to", "2026-11-30", "--url", url, *rest]
    status, out, err = run(capsys, *given)
    assert_one_line_failure(status, err, code)
    assert said in err
    assert out == ""


def test_without_matplotlib_a_chart_is_a_configuration_error(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    chart = tmp_path / "sales.png"
    status, out, err = run(
        capsys,
        "report",
        "sales",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-30",
        "--url",
        url,
        "--chart",
        str(chart),
    )
    assert_one_line_failure(status, err, "configuration_error")
    assert out == ""
    assert "pip install 'commercekit[charts]'" in err
    assert not chart.exists()


def test_the_funnel_reads_the_behaviour_log(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "report", "funnel", "--from", "2026-11-27", "--to", "2026-11-30", "--url", url
    )
    assert status == 0
    assert out.splitlines()[2].split() == ["product_viewed", "3", "1.0000", "1.0000"]


def test_abandoned_carts_by_the_currency_they_were_recovered_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock, outbox = FixedClock(START), Outbox()
    with opened("sqlite", tmp_path, outbox, clock=clock, config=carts_config()) as store:
        reminded_shop(store, clock, outbox)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    status, out, err = run(
        capsys,
        "report",
        "abandoned-carts",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-28",
        "--url",
        url,
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "currency",
        "carts",
        "carts_reminded",
        "reminders",
        "carts_restored",
        "orders_recovered",
        "revenue",
        "reminded_share",
        "recovered_share",
    ]
    # The carts no order recovered have no currency and no revenue: blank cells.
    assert lines[2].split() == ["2", "1", "2", "0", "0", "0.3333", "0.0000"]
    assert lines[3].split() == ["EUR", "1", "1", "1", "1", "1", "30.60", "0.3333", "0.5000"]
    assert len(lines) == 4
