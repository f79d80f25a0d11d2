"""A guest's visit to the demo shop in a real browser, the parcel's way to them, and
what they send back.

The journey is a list of steps, each a function of the :class:`Journey` named for
what the person does; the test runs them in order and takes a screenshot after
each. A member of staff is another visitor with a browser of their own; their steps
are named ``staff_...``. A later part of an order's life joins as more such steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from commercekit import Money, format_money
from commercekit.domain.access import Permission
from commercekit.examples.storefront.demo import PRODUCTS
from tests.browser.conftest import HOURS_PER_STEP, LiveShop, Visitor, require_browser

require_browser()

from playwright.sync_api import Locator, Page, expect  # noqa: E402

EMAIL = "zoe@example.com"
#: The address form's fields by their labels, as the guest fills them in.
ADDRESS = {
    "Full name": "Zoë Ünal",
    "Street and number": "Weinbergsweg 12",
    "Postal code": "10119",
    "City": "Berlin",
    "Country code (such as DE)": "DE",
}
#: The demo channel's locale, in which the pages show money.
LOCALE = "en_IE"
#: The sandbox carrier's journey to an ordinary address, an event a step from the
#: label's creation, as the parcel's timeline words them.
JOURNEY_TO_THE_DOOR = ("label created", "picked up", "in transit", "out for delivery", "delivered")


@attrs.define
class Journey:
    """What the steps share: the shop, the guest, and what the guest learnt."""

    shop: LiveShop
    guest: Visitor
    meet: Callable[[str], Visitor]
    """Another visitor, in a browser of their own (a member of staff, say)."""
    delivery: str = ""
    """The price of the delivery chosen, as the shipping page showed it."""
    asked: str = ""
    """The total the payment page asked for, as it showed it."""
    charged: str = ""
    """The total the bank was asked to confirm, as its page showed it."""
    order_number: str = ""
    sencha_paid: str = ""
    """What the order's page says the Sencha cost, its discount taken off."""
    tracking_numbers: list[str] = attrs.Factory(list)
    staff: Visitor | None = None
    """The member of staff, once signed in (steps named ``staff_...`` are theirs)."""

    def run(self, steps: Sequence[Step]) -> None:
        """Take ``steps`` in order, a screenshot of the page of whoever took each,
        and check that no page so far left an error in a browser's console."""
        for step in steps:
            step(self)
            by_staff = step.__name__.startswith("staff_")
            acting = self.staff if by_staff and self.staff is not None else self.guest
            acting.snap(step.__name__)
            errors = [
                *self.guest.console_errors,
                *(self.staff.console_errors if self.staff else []),
            ]
            assert errors == [], f"after {step.__name__}"

    @property
    def page(self) -> Page:
        return self.guest.page


Step = Callable[[Journey], None]


def money(amount: Decimal) -> str:
    return format_money(Money(amount, "EUR"), LOCALE)


def price_of(product_id: str) -> Decimal:
    return next(Decimal(price) for product, price, _ in PRODUCTS if product.id == product_id)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def notice(page: Page) -> Locator:
    return page.get_by_role("status")


def shown(page: Page, term: str, within: str = "main > dl.status") -> Locator:
    """The value a definition list of the page gives for ``term``."""
    return page.locator(f"{within} dt", has_text=re.compile(f"^{term}$")).locator("+ dd")


def parcels(page: Page) -> Locator:
    return page.get_by_role("region", name="Where your parcels are")


def timeline(page: Page) -> Locator:
    """What the carrier told of the parcel, oldest first."""
    return parcels(page).locator("ol.timeline .event")


# --- the guest buys ----------------------------------------------------------------


def opens_the_home_page(journey: Journey) -> None:
    page = journey.page
    journey.guest.open("/")
    expect(heading(page)).to_have_text("Teehaus demo")
    expect(page.get_by_role("link", name="Sencha Kyoto")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")


def searches_for_sencha(journey: Journey) -> None:
    page = journey.page
    page.get_by_label("Search", exact=True).fill("sencha")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/search\?q=sencha$"))
    expect(heading(page)).to_have_text("Results for “sencha”")
    expect(page.get_by_text("1 product found.")).to_be_visible()


def opens_the_sencha(journey: Journey) -> None:
    page = journey.page
    page.get_by_role("link", name="Sencha Kyoto").click()
    expect(page).to_have_url(re.compile(r"/products/sencha$"))
    expect(heading(page)).to_have_text("Sencha Kyoto")
    expect(page.get_by_role("img", name="A paper bag of green tea leaves")).to_be_visible()
    expect(page.locator(".buy .price")).to_have_text(money(price_of("sencha")))


def adds_it_to_the_cart(journey: Journey) -> None:
    page = journey.page
    before = int(page.locator("#cart-count").inner_text())
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(notice(page)).to_have_text("Added to your cart.")
    expect(page.locator("#cart-count")).to_have_text(str(before + 1))


def opens_the_assam_from_the_tea_category(journey: Journey) -> None:
    page = journey.page
    categories = page.get_by_role("navigation", name="Categories")
    categories.get_by_role("link", name="Tea", exact=True).click()
    expect(page).to_have_url(re.compile(r"/search\?category=tea$"))
    expect(page.get_by_text("2 products found.")).to_be_visible()
    page.get_by_role("link", name="Assam Breakfast").click()
    expect(page).to_have_url(re.compile(r"/products/assam$"))
    expect(heading(page)).to_have_text("Assam Breakfast")


def applies_the_coupon(journey: Journey) -> None:
    page = journey.page
    expect(page.locator(".cart-lines .name")).to_have_text(["Sencha Kyoto", "Assam Breakfast"])
    page.get_by_label("Discount code").fill("teaweek")
    page.get_by_role("button", name="Apply").click()
    expect(notice(page)).to_have_text("Code TEAWEEK applied.")
    # Tea week takes 10% off each tea; both lines are tea.
    discount = (price_of("sencha") + price_of("assam")) / 10
    expect(page.locator(".lines .discount")).to_have_count(2)
    expect(shown(page, "Discounts", within="dl.totals")).to_have_text(
        f"\N{MINUS SIGN}{money(discount)}"
    )


def gives_the_email_address(journey: Journey) -> None:
    page = journey.page
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(re.compile(r"/checkout/contact$"))
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_role("button", name="Continue").click()


def gives_the_address(journey: Journey) -> None:
    page = journey.page
    expect(page).to_have_url(re.compile(r"/checkout/address$"))
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Continue").click()


def chooses_a_standard_parcel(journey: Journey) -> None:
    page = journey.page
    expect(page).to_have_url(re.compile(r"/checkout/shipping$"))
    choice = page.get_by_text(re.compile(r"^Standard parcel: "))
    found = re.match(r"^Standard parcel: (.+?), arrives ", choice.inner_text())
    assert found is not None
    journey.delivery = found.group(1)
    page.get_by_label(re.compile(r"^Standard parcel")).check()
    page.get_by_role("button", name="Continue").click()


def pays_with_a_card_the_bank_asks_about(journey: Journey) -> None:
    page = journey.page
    expect(page).to_have_url(re.compile(r"/checkout/payment$"))
    expect(page.get_by_text(f"Sending to {ADDRESS['Full name']}, {EMAIL}.")).to_be_visible()
    expect(shown(page, "Discounts", within="dl.totals")).to_be_visible()
    expect(shown(page, "Shipping", within="dl.totals")).to_have_text(journey.delivery)
    journey.asked = shown(page, "Total", within="dl.totals").inner_text()
    pay = page.get_by_role("button", name=re.compile(r"^Place order and pay"))
    expect(pay).to_have_text(f"Place order and pay {journey.asked}")
    page.get_by_label("Test card: the bank asks you to confirm").check()
    pay.click()


def confirms_at_the_bank(journey: Journey) -> None:
    page = journey.page
    expect(page).to_have_url(re.compile(r"/checkout/action$"))
    expect(heading(page)).to_have_text("Your bank asks you to confirm")
    asking = page.get_by_text(re.compile(r"^Order \S+: .+\. This stands in"))
    found = re.match(r"^Order (\S+): (.+?)\. This", asking.inner_text())
    assert found is not None
    journey.order_number, journey.charged = found.groups()
    assert journey.charged == journey.asked, "the bank is asked for what the shop asked"
    page.get_by_role("button", name="Confirm the payment").click()


def sees_the_confirmation(journey: Journey) -> None:
    page = journey.page
    expect(page).to_have_url(re.compile(r"/checkout/done/[^/]+$"))
    expect(heading(page)).to_have_text("Thank you for your order")
    expect(page.locator(".order-number")).to_have_text(journey.order_number)
    assert page.url.endswith(f"/checkout/done/{journey.order_number}")
    expect(page.get_by_text(f"We have sent the details to {EMAIL}.")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")


def opens_the_order_page(journey: Journey) -> None:
    page = journey.page
    page.get_by_role("link", name="See your order").click()
    expect(page).to_have_url(re.compile(f"/orders/{re.escape(journey.order_number)}$"))
    expect(heading(page)).to_have_text(f"Order {journey.order_number}")
    expect(shown(page, "Order")).to_have_text("open")
    expect(shown(page, "Payment")).to_have_text("captured")
    expect(shown(page, "Delivery")).to_have_text("unfulfilled")
    expect(shown(page, "Shipping", within="dl.totals")).to_have_text(journey.delivery)
    expect(shown(page, "Total", within="dl.totals")).to_have_text(journey.charged)
    names = page.locator("table.lines tbody td:first-child")
    expect(names).to_have_text(["Sencha Kyoto", "Assam Breakfast"])
    sencha = page.locator("table.lines tbody tr", has_text="Sencha Kyoto")
    journey.sencha_paid = sencha.locator("td").nth(2).inner_text()
    assert journey.sencha_paid


A_GUEST_BUYS: Sequence[Step] = (
    opens_the_home_page,
    searches_for_sencha,
    opens_the_sencha,
    adds_it_to_the_cart,
    opens_the_assam_from_the_tea_category,
    adds_it_to_the_cart,
    applies_the_coupon,
    gives_the_email_address,
    gives_the_address,
    chooses_a_standard_parcel,
    pays_with_a_card_the_bank_asks_about,
    confirms_at_the_bank,
    sees_the_confirmation,
    opens_the_order_page,
)


# --- the shop delivers -------------------------------------------------------------


def the_shop_ships_the_order(journey: Journey) -> None:
    # As the application's worker would: plan the parcels, buy each one's label and
    # hand it over, then ask the carrier for news (the label's creation).
    store = journey.shop.store
    order = store.orders.by_number(journey.order_number)
    for planned in store.fulfilment.create_shipments(order.id):
        labelled = store.fulfilment.buy_label(planned.id, carrier="sandbox")
        store.fulfilment.dispatch(labelled.id)
        journey.tracking_numbers.append(labelled.tracking_number)
    assert len(journey.tracking_numbers) == 1
    assert store.fulfilment.refresh_tracking() == 1
    page = journey.page
    page.reload()
    expect(shown(page, "Delivery")).to_have_text("shipped")
    expect(parcels(page).locator(".tracking-number")).to_have_text(journey.tracking_numbers)
    expect(timeline(page)).to_have_text(JOURNEY_TO_THE_DOOR[:1])


def the_parcel_travels_to_the_door(journey: Journey) -> None:
    store, clock, page = journey.shop.store, journey.shop.clock, journey.page
    for step in range(1, len(JOURNEY_TO_THE_DOOR)):
        clock.advance(timedelta(hours=HOURS_PER_STEP))
        assert store.fulfilment.refresh_tracking() == 1, f"no news at step {step}"
        page.reload()
        expect(timeline(page)).to_have_text(JOURNEY_TO_THE_DOOR[: step + 1])
        arrived = step == len(JOURNEY_TO_THE_DOOR) - 1
        expect(shown(page, "Delivery")).to_have_text("delivered" if arrived else "shipped")
        journey.guest.snap(f"parcel-after-{step * HOURS_PER_STEP}-hours")
    expect(parcels(page).get_by_role("heading", level=3)).to_have_text("Parcel 1: delivered")


def looks_the_order_up(journey: Journey) -> None:
    page = journey.page
    journey.guest.open("/track")
    page.get_by_label("Order number").fill(journey.order_number)
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_role("button", name="Look it up").click()
    expect(page.get_by_role("heading", name=f"Order {journey.order_number}")).to_be_visible()
    expect(shown(page, "Delivery", within="main > dl.status")).to_have_text("delivered")
    expect(timeline(page)).to_have_text(JOURNEY_TO_THE_DOOR)


THE_SHOP_DELIVERS: Sequence[Step] = (
    the_shop_ships_the_order,
    the_parcel_travels_to_the_door,
    looks_the_order_up,
)


# --- the guest sends a tea back, and staff refund it ---------------------------------

STAFF_EMAIL = "warehouse@teehaus.example"
STAFF_PASSWORD = "a long staff password"


def asks_to_send_the_sencha_back(journey: Journey) -> None:
    page = journey.page
    journey.guest.open(f"/orders/{journey.order_number}")
    sending_back = page.get_by_role("region", name="Send something back")
    sending_back.get_by_label(re.compile(r"^How many of Sencha Kyoto")).fill("1")
    sending_back.get_by_label("Why is it coming back?").select_option(label="I changed my mind")
    sending_back.get_by_role("button", name="Ask to send it back").click()
    expect(notice(page)).to_have_text("We have your return request and will answer by e-mail.")
    returns = page.get_by_role("region", name="Returns")
    expect(returns.get_by_role("listitem")).to_have_count(1)
    expect(returns.get_by_role("listitem")).to_contain_text("1 x Sencha Kyoto")
    expect(returns.locator(".return-state")).to_have_text("asked for: we will answer soon")


def staff_sign_in(journey: Journey) -> None:
    journey.shop.accounts.create(
        STAFF_EMAIL,
        STAFF_PASSWORD,
        kind="staff",
        permissions=(Permission.ORDERS, Permission.REFUNDS),
    )
    journey.staff = journey.meet("staff")
    page = journey.staff.page
    journey.staff.open("/staff/login")
    page.get_by_label("E-mail address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.get_by_text(f"Signed in as {STAFF_EMAIL}")).to_be_visible()


def staff_approve_the_return(journey: Journey) -> None:
    page = staff_page(journey)
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Returns").click()
    expect(page).to_have_url(re.compile(r"/staff/returns$"))
    page.get_by_role("link", name=f"Open the return of order {journey.order_number}").click()
    expect(heading(page)).to_have_text(f"Return for order {journey.order_number}")
    expect(return_status(page)).to_have_text("requested")
    page.get_by_role("button", name="Approve the return").click()
    expect(return_status(page)).to_have_text("approved")


def staff_receive_and_inspect_it(journey: Journey) -> None:
    page = staff_page(journey)
    expect(page.get_by_label(re.compile(r"^Units of Sencha Kyoto that arrived"))).to_have_value("1")
    page.get_by_role("button", name="Record what arrived").click()
    expect(notice(page)).to_have_text("Received 1 unit(s).")
    expect(return_status(page)).to_have_text("received")
    assert journey.staff is not None
    journey.staff.snap("return-received")
    page.get_by_label("Outcome").select_option("restock")
    page.get_by_role("button", name="Record the inspection").click()
    expect(return_status(page)).to_have_text("inspected")


def staff_refund_it(journey: Journey) -> None:
    page = staff_page(journey)
    offered = page.get_by_text(re.compile(r"^Refunding the return would give back"))
    expect(offered).to_contain_text(journey.sencha_paid)
    page.get_by_role("button", name="Refund the return").click()
    expect(notice(page)).to_have_text(f"Refunded {journey.sencha_paid}.")


def sees_the_refund_on_the_order_page(journey: Journey) -> None:
    page = journey.page
    journey.guest.open(f"/orders/{journey.order_number}")
    refunds = page.get_by_role("region", name="Refunds")
    expect(refunds.get_by_role("listitem")).to_have_text(
        re.compile(f"^Refunded {re.escape(journey.sencha_paid)} on ")
    )
    expect(shown(page, "Payment")).to_have_text("partially refunded")


def staff_page(journey: Journey) -> Page:
    assert journey.staff is not None, "staff have not signed in"
    return journey.staff.page


def return_status(page: Page) -> Locator:
    return page.locator("dd.return-status")


SENT_BACK_AND_REFUNDED: Sequence[Step] = (
    asks_to_send_the_sencha_back,
    staff_sign_in,
    staff_approve_the_return,
    staff_receive_and_inspect_it,
    staff_refund_it,
    sees_the_refund_on_the_order_page,
)


# --- the test ----------------------------------------------------------------------


def test_a_guest_buys_teas_with_a_coupon_and_sends_one_back_once_delivered(
    live_shop: LiveShop, visitors: Callable[[str], Visitor]
) -> None:
    journey = Journey(shop=live_shop, guest=visitors("guest"), meet=visitors)
    journey.run((*A_GUEST_BUYS, *THE_SHOP_DELIVERS, *SENT_BACK_AND_REFUNDED))


# --- the keyboard and the page's policy --------------------------------------------


def focused(page: Page) -> str:
    """The focused element, told by its id, else its link, else its tag."""
    return str(
        page.evaluate(
            """() => {
                const e = document.activeElement;
                if (e === null) return "";
                return e.id ? "#" + e.id : e.getAttribute("href") || e.tagName.toLowerCase();
            }"""
        )
    )


def tab_to(page: Page, selector: str, most: int = 40) -> list[str]:
    """Press Tab until the element ``selector`` matches has the focus; what had the
    focus on the way."""
    passed: list[str] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return passed
        passed.append(focused(page))
    pytest.fail(f"{most} presses of Tab never reached {selector}: {passed}")


def test_a_guest_finds_and_buys_a_tea_with_the_keyboard_alone(
    visitors: Callable[[str], Visitor],
) -> None:
    guest = visitors("keyboard")
    page = guest.page
    guest.open("/")
    on_the_way = tab_to(page, "a.mini-cart")
    assert "#header-q" in on_the_way, on_the_way
    guest.snap("cart-link-focused")

    guest.open("/")
    tab_to(page, "#header-q")
    page.keyboard.type("assam")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=assam$"))
    expect(page.get_by_text("1 product found.")).to_be_visible()
    tab_to(page, 'main a[href="/products/assam"]')
    guest.snap("product-link-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/assam$"))

    tab_to(page, "#quantity-ASSAM-250G")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("2")
    guest.snap("quantity-typed")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(notice(page)).to_have_text("Added to your cart.")
    expect(page.locator("#cart-count")).to_have_text("2")
    expect(page.get_by_label("Quantity")).to_have_value("2")
    guest.snap("added-by-enter")
    assert guest.console_errors == []


def test_the_console_check_hears_what_the_policy_refuses(
    visitors: Callable[[str], Visitor],
) -> None:
    # The journeys' "no console errors" would prove nothing if a refusal by the
    # Content-Security-Policy never reached the listener: make one happen.
    guest = visitors("policy")
    guest.open("/")
    assert guest.console_errors == []
    with guest.page.expect_console_message(lambda message: message.type == "error"):
        guest.page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
            }"""
        )
    assert guest.page.evaluate("() => window.injected === undefined")
    assert any("Content Security Policy" in error for error in guest.console_errors)
