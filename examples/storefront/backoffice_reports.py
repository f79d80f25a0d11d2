"""The back office's reports: sales over a recent period as a chart and a table,
the top products, returns by reason and stock.

The chart is an SVG drawn on the server (``/staff/reports/sales.svg``) and shown in
an ``<img>`` whose alt text points to the table of the same figures beside it, the
alternative for anyone who cannot see the chart. Amounts are the report's exact
minor units; only pixel positions are worked out by division.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import Money, format_money
from commercekit.domain.access import Permission
from commercekit.domain.money import minor_units
from commercekit.domain.reports import REPORTS, Column, ColumnKind, ReportTable

from .backoffice_web import Staffer, attempt, staff_only, staff_page, store_now, text_of
from .web import Shop, shop_of

MARKETING: Final = Permission.MARKETING
#: The periods a report may cover, in days back from today; the first is the default.
PERIODS: Final = (30, 7, 90)
#: The reports the page runs besides sales, with their headings.
TABLES: Final = (
    ("top_products", "Top products"),
    ("returns_by_reason", "Returns by reason"),
    ("stock", "Stock"),
)
#: The chart's size and margins, in pixels.
WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 44, 56
#: How many steps the revenue axis is cut into, and the most dates written under it.
TICKS, MOST_DATE_LABELS = 4, 8
BAR, AXIS, GRID, INK = "#3b6e4f", "#1d1d1b", "#c8cfc4", "#1d1d1b"
SVG_NS: Final = "http://www.w3.org/2000/svg"


def period_days(request: Request) -> int:
    """The period asked for (``?days=``), one of :data:`PERIODS`."""
    asked = text_of(request.query_params, "days")
    return next((days for days in PERIODS if str(days) == asked), PERIODS[0])


def period(request: Request, days: int) -> tuple[datetime, datetime]:
    """The last ``days`` days up to the end of today (UTC, by the store's clock)."""
    today = store_now(request).astimezone(UTC).date()
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    return until - timedelta(days=days), until


def cell_text(shop: Shop, column: Column, value: Any, currency: str) -> str:
    """One cell as the page shows it: amounts in the shop's money format, rates as
    percentages, flags in words."""
    if value is None:
        return "—"
    if column.kind is ColumnKind.AMOUNT and isinstance(value, Decimal):
        return format_money(Money(value, currency), shop.locale)
    if column.kind is ColumnKind.RATE and isinstance(value, Decimal):
        return f"{(value * 100).quantize(Decimal('0.01'))} %"
    if column.kind is ColumnKind.FLAG:
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def shown(shop: Shop, table: ReportTable) -> dict[str, Any]:
    """A report table with each cell written out, for the template."""
    names = table.names
    at = names.index("currency") if "currency" in names else None
    rows = []
    for row in table.rows:
        currency = str(row[at]) if at is not None and row[at] else shop.currency
        rows.append(
            [
                cell_text(shop, column, value, currency)
                for column, value in zip(table.columns, row, strict=True)
            ]
        )
    return {
        "columns": [(column.name.replace("_", " "), column.numeric) for column in table.columns],
        "rows": rows,
    }


def run(
    staffer: Staffer, name: str, since: datetime, until: datetime, errors: dict[str, str]
) -> ReportTable | None:
    return attempt(
        MARKETING,
        lambda: staffer.view.reports.run(name, since=since, until=until, by="day"),
        errors,
        name,
    )


@staff_only(MARKETING)
async def reports_page(request: Request, staffer: Staffer) -> Response:
    shop = shop_of(request)
    days = period_days(request)
    since, until = period(request, days)
    errors: dict[str, str] = {}
    sales = run(staffer, "sales", since, until, errors)
    tables = []
    for name, heading in TABLES:
        found = run(staffer, name, since, until, errors)
        tables.append(
            {
                "name": name,
                "heading": heading,
                "about": REPORTS[name][:1].upper() + REPORTS[name][1:],
                "table": None if found is None else shown(shop, found),
            }
        )
    return staff_page(
        request,
        staffer,
        "staff_reports.html",
        {
            "days": days,
            "periods": [(str(each), f"the last {each} days") for each in PERIODS],
            "since": since.date(),
            "last": (until - timedelta(days=1)).date(),
            "sales": None if sales is None else shown(shop, sales),
            "tables": tables,
            "errors": errors,
        },
    )


def revenue(table: ReportTable, currency: str) -> list[tuple[date, int]]:
    """Each day's revenue in ``currency``, in minor units, from the sales report."""
    points = []
    for record in table.records():
        day, amount = record["period"], record["revenue"]
        if record["currency"] == currency and isinstance(day, date):
            units = minor_units(Money(amount, currency)) if isinstance(amount, Decimal) else 0
            points.append((day, units))
    return points


def step_for(most: int) -> int:
    """A round step (1, 2 or 5 times a power of ten, in minor units) that
    :data:`TICKS` steps reach ``most`` with."""
    wanted = max(1, -(-most // TICKS))
    scale = 1
    while True:
        for factor in (1, 2, 5):
            if factor * scale >= wanted:
                return factor * scale
        scale *= 10


def _text(parent: ET.Element, x: float, y: float, words: str, **attrs: str) -> None:
    element = ET.SubElement(
        parent,
        "text",
        {"x": f"{x:.1f}", "y": f"{y:.1f}", "fill": INK, "font-size": "12", **attrs},
    )
    element.text = words


def sales_chart(
    points: Sequence[tuple[date, int]], money: Callable[[int], str], title: str, axis: str
) -> str:
    """The revenue per day as bars, with a revenue axis and dates beneath, as SVG
    text. Each bar carries its day and amount as a tooltip."""
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(WIDTH),
            "height": str(HEIGHT),
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-labelledby": "chart-title",
            "font-family": "system-ui, sans-serif",
        },
    )
    ET.SubElement(root, "title", {"id": "chart-title"}).text = title
    _text(root, LEFT, 24, title, **{"font-size": "15", "font-weight": "bold"})
    base, plot_width, plot_height = HEIGHT - BOTTOM, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = step_for(max((units for _, units in points), default=0))
    top = step * TICKS
    for tick in range(TICKS + 1):
        y = base - plot_height * tick / TICKS
        colour = AXIS if tick == 0 else GRID
        ET.SubElement(
            root,
            "line",
            {
                "x1": str(LEFT),
                "x2": str(WIDTH - RIGHT),
                "y1": f"{y:.1f}",
                "y2": f"{y:.1f}",
                "stroke": colour,
            },
        )
        _text(root, LEFT - 8, y + 4, money(step * tick), **{"text-anchor": "end"})
    ET.SubElement(
        root,
        "line",
        {"x1": str(LEFT), "x2": str(LEFT), "y1": str(TOP), "y2": str(base), "stroke": AXIS},
    )
    slot = plot_width / max(len(points), 1)
    every = max(1, -(-len(points) // MOST_DATE_LABELS))
    bars = ET.SubElement(root, "g", {"fill": BAR})
    for index, (day, units) in enumerate(points):
        height = plot_height * units / top
        bar = ET.SubElement(
            bars,
            "rect",
            {
                "x": f"{LEFT + slot * index + slot * 0.15:.1f}",
                "y": f"{base - height:.1f}",
                "width": f"{slot * 0.7:.1f}",
                "height": f"{height:.1f}",
            },
        )
        ET.SubElement(bar, "title").text = f"{day.isoformat()}: {money(units)}"
        if index % every == 0:
            label_x = LEFT + slot * index + slot / 2
            _text(root, label_x, base + 18, day.strftime("%d %b"), **{"text-anchor": "middle"})
    if not points:
        _text(
            root,
            LEFT + plot_width / 2,
            base - plot_height / 2,
            "No sales",
            **{"text-anchor": "middle"},
        )
    _text(root, LEFT + plot_width / 2, HEIGHT - 12, "Day (UTC)", **{"text-anchor": "middle"})
    middle = TOP + plot_height / 2
    turned = f"rotate(-90 16 {middle:.1f})"
    _text(root, 16, middle, axis, **{"text-anchor": "middle", "transform": turned})
    return ET.tostring(root, encoding="unicode")


@staff_only(MARKETING)
async def sales_svg(request: Request, staffer: Staffer) -> Response:
    shop = shop_of(request)
    days = period_days(request)
    since, until = period(request, days)
    errors: dict[str, str] = {}
    table = run(staffer, "sales", since, until, errors)
    points = [] if table is None else revenue(table, shop.currency)
    title = f"Revenue per day in {shop.currency}, the last {days} days"
    chart = sales_chart(points, shop.money, title, f"Revenue ({shop.currency})")
    return Response(chart, media_type="image/svg+xml")


ROUTES: Final = [
    Route("/staff/reports", reports_page),
    Route("/staff/reports/sales.svg", sales_svg),
]
