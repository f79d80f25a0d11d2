"""A customer may belong to several groups: prices and promotions follow all of them."""

from __future__ import annotations

import pytest

from commercekit import (
    CustomerGroups,
    PercentOffLines,
    Promotion,
)
from commercekit.domain.pricing import (
    PriceBook,
    PriceList,
    PricingContext,
)
from commercekit.errors import InvalidInput

from .builders import NOW, cart, eur, shop

# Ada buys for her workshop (wholesale) and is also in the loyalty scheme (members);
# wholesale is the group she would rather be priced as.
ADA = ("wholesale", "members")


def group_list(group: str, **prices: str) -> PriceList:
    """A price list for one customer group, in euros."""
    price_list = PriceList(group, "EUR", customer_group=group)
    for sku, amount in prices.items():
        price_list.set_price(sku, eur(amount))
    return price_list


def test_a_customer_in_two_groups_pays_the_wholesale_price_not_the_general_one() -> None:
    engine = shop({"BOLT": "1.00"})
    engine.prices.add(group_list("wholesale", BOLT="0.70"))

    guest = engine.price(cart("EUR", ("BOLT", 10)), PricingContext(now=NOW))
    ada = engine.price(cart("EUR", ("BOLT", 10)), PricingContext(now=NOW, customer_groups=ADA))

    assert guest.lines[0].unit_price == eur("1.00")
    assert ada.lines[0].unit_price == eur("0.70")
    assert ada.grand_total == eur("7.00")


def test_each_sku_takes_the_first_of_the_customers_groups_that_prices_it() -> None:
    engine = shop({"BOLT": "1.00", "NUT": "0.50"})
    engine.prices.add(group_list("members", BOLT="0.90"))
    engine.prices.add(group_list("wholesale", NUT="0.30"))
    a_cart = cart("EUR", ("BOLT", 1), ("NUT", 1))

    # Wholesale prices nuts only, so bolts come from the members' list, not the
    # general one: any group's list is more specific than no group's.
    ada = engine.price(a_cart, PricingContext(now=NOW, customer_groups=ADA))
    assert [line.unit_price for line in ada.lines] == [eur("0.90"), eur("0.30")]

    only_a_member = engine.price(a_cart, PricingContext(now=NOW, customer_groups="members"))
    assert [line.unit_price for line in only_a_member.lines] == [eur("0.90"), eur("0.50")]


def test_the_customers_order_of_groups_decides_between_their_lists() -> None:
    engine = shop({"BOLT": "1.00"})
    engine.prices.add(group_list("members", BOLT="0.90"))
    engine.prices.add(group_list("wholesale", BOLT="0.95"))

    # The first group's list wins even where another of the customer's lists is
    # cheaper: which list applies is the merchant's rule, not a race to the bottom.
    preferring_wholesale = PricingContext(now=NOW, customer_groups=("wholesale", "members"))
    preferring_members = PricingContext(now=NOW, customer_groups=("members", "wholesale"))
    assert engine.price(cart("EUR", ("BOLT", 1)), preferring_wholesale).grand_total == eur("0.95")
    assert engine.price(cart("EUR", ("BOLT", 1)), preferring_members).grand_total == eur("0.90")


def test_the_chain_runs_from_group_and_channel_to_the_general_list() -> None:
    def price_list(id: str, channel: str | None = None, group: str | None = None) -> PriceList:
        return PriceList(id, "EUR", channel=channel, customer_group=group)

    book = PriceBook(
        [
            price_list("general"),
            price_list("web", channel="web"),
            price_list("members", group="members"),
            price_list("wholesale", group="wholesale"),
            price_list("members-web", channel="web", group="members"),
            price_list("wholesale-web", channel="web", group="wholesale"),
            # None of these apply to Ada on the web in euros.
            price_list("wholesale-shop", channel="shop", group="wholesale"),
            price_list("staff", group="staff"),
            PriceList("wholesale-gbp", "GBP", customer_group="wholesale"),
        ]
    )

    def ids(channel: str | None, groups: tuple[str, ...] | str) -> list[str]:
        return [pl.id for pl in book.chain("EUR", channel, groups)]

    assert ids("web", ADA) == [
        "wholesale-web",
        "members-web",
        "wholesale",
        "members",
        "web",
        "general",
    ]
    assert ids("web", ("members", "wholesale"))[:4] == [
        "members-web",
        "wholesale-web",
        "members",
        "wholesale",
    ]
    assert ids("web", ()) == ["web", "general"]
    assert ids(None, "members") == ["members", "general"]


def test_a_group_promotion_applies_for_a_member_and_not_for_a_guest() -> None:
    members_week = Promotion(
        id="members-week",
        name="Members' week",
        conditions=[CustomerGroups({"members"})],
        benefit=PercentOffLines(10),
    )
    engine = shop({"LAVA-LAMP": "25.00"}, promotions=[members_week])
    a_cart = cart("EUR", ("LAVA-LAMP", 2))

    guest = engine.price(a_cart, PricingContext(now=NOW))
    ada = engine.price(a_cart, PricingContext(now=NOW, customer_groups=ADA))
    wholesale_only = engine.price(a_cart, PricingContext(now=NOW, customer_groups="wholesale"))

    assert (guest.applied_promotions, guest.grand_total) == ((), eur("50.00"))
    assert (ada.applied_promotions, ada.grand_total) == (("members-week",), eur("45.00"))
    assert wholesale_only.applied_promotions == ()


def test_customer_groups_are_read_in_order_and_a_set_is_refused() -> None:
    assert PricingContext(now=NOW, customer_groups="members").customer_groups == ("members",)
    assert PricingContext(now=NOW, customer_groups=None).customer_groups == ()
    assert PricingContext(now=NOW, customer_groups=["b", "a", "b"]).customer_groups == ("b", "a")
    for groups in ({"wholesale", "members"}, [3], 3):
        with pytest.raises(InvalidInput) as caught:
            PricingContext(now=NOW, customer_groups=groups)  # type: ignore[arg-type]
        assert caught.value.field == "customer_groups"
