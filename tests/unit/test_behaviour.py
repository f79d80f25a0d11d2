"""Touches read from a visit, and the first and last touch an attribution keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import InvalidInput
from commercekit.domain.marketing.behaviour import (
    MAX_CAMPAIGN_LENGTH,
    Attribution,
    AttributionScope,
    BehaviourEvent,
    BehaviourKind,
    Funnel,
    Touch,
)

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def visit(url: str = "https://shop.example/", referrer: str = "", **more: object) -> Touch:
    return Touch.from_visit(at=AT, url=url, referrer=referrer, **more)  # type: ignore[arg-type]


def test_utm_parameters_are_read_from_the_landing_url() -> None:
    touch = visit(
        "https://shop.example/mugs?utm_source=Newsletter&utm_medium=email"
        "&utm_campaign=winter%20sale&colour=red",
        referrer="https://mail.example/inbox",
    )
    assert (touch.source, touch.medium, touch.campaign) == ("Newsletter", "email", "winter sale")
    assert touch.referrer == "https://mail.example/inbox"
    assert not touch.direct


def test_utm_given_apart_wins_over_the_url() -> None:
    touch = visit("https://shop.example/?utm_source=url", utm={"source": "app", "medium": "push"})
    assert (touch.source, touch.medium) == ("app", "push")


def test_a_referrer_from_another_site_is_a_referral_from_its_host() -> None:
    touch = visit(referrer="https://WWW.Google.com/search?q=mug")
    assert (touch.source, touch.medium, touch.campaign) == ("www.google.com", "referral", "")


def test_a_referrer_from_the_store_s_own_site_or_none_is_direct() -> None:
    assert visit(referrer="https://shop.example/cart").direct
    assert visit(referrer="https://shop.example/cart").referrer == ""
    assert visit().direct
    own = visit(referrer="https://shop.example/", site_hosts=frozenset({"other.example"}))
    assert own.source == "shop.example"


def test_what_a_browser_sends_is_cut_to_fit_and_text_no_storage_keeps_is_refused() -> None:
    long = visit(f"https://shop.example/?utm_campaign={'x' * 500}")
    assert long.campaign == "x" * MAX_CAMPAIGN_LENGTH
    # A URL no parser reads brings no campaign, and is no error.
    assert visit("https://[broken/?utm_source=a", referrer="http://[::1").direct
    for url, field in (("https://shop.example/\x00", "url"), (7, "url")):
        with pytest.raises(InvalidInput) as caught:
            visit(url)  # type: ignore[arg-type]
        assert caught.value.field == field
    with pytest.raises(InvalidInput) as caught:
        visit(utm={"source": "\ud800"})
    assert caught.value.field == "utm_source"
    with pytest.raises(InvalidInput) as caught:
        visit(utm=["source"])  # type: ignore[arg-type]
    assert caught.value.field == "utm"


def attribution() -> Attribution:
    return Attribution.start(AttributionScope.VISITOR, "v1", at=AT)


def test_the_first_touch_stays_and_a_direct_visit_never_replaces_a_campaign() -> None:
    mine = attribution()
    ads = Touch(at=AT, source="google", medium="cpc", campaign="mugs")
    direct = Touch(at=AT + timedelta(days=1))
    mail = Touch(at=AT + timedelta(days=2), source="newsletter", medium="email")
    assert mine.touched(ads)
    assert not mine.touched(direct)
    assert (mine.first, mine.last) == (ads, ads)
    assert mine.touched(mail)
    assert (mine.first, mine.last) == (ads, mail)


def test_a_direct_first_visit_is_the_first_touch_until_a_campaign_is_the_last() -> None:
    mine = attribution()
    direct = Touch(at=AT)
    ads = Touch(at=AT + timedelta(hours=1), source="google", medium="cpc")
    mine.touched(direct)
    mine.touched(ads)
    assert (mine.first, mine.last) == (direct, ads)


TOUCHES = st.builds(
    Touch,
    at=st.integers(0, 10_000).map(lambda minutes: AT + timedelta(minutes=minutes)),
    source=st.sampled_from(["", "google", "newsletter"]),
    medium=st.sampled_from(["", "cpc", "email"]),
)


@given(st.lists(TOUCHES, min_size=1, max_size=20))
def test_first_is_the_first_visit_and_last_the_latest_with_a_source(touches: list[Touch]) -> None:
    mine = attribution()
    versions = [mine.version]
    for touch in touches:
        changed = mine.touched(touch)
        versions.append(mine.version)
        assert changed == (versions[-1] == versions[-2] + 1)
    assert mine.first == touches[0]
    sourced = [touch for touch in touches if not touch.direct]
    assert mine.last == (sourced[-1] if sourced else touches[-1])


@given(st.lists(TOUCHES, min_size=1, max_size=10), st.lists(TOUCHES, max_size=10))
def test_a_cart_taking_its_visitor_s_touches_keeps_the_earliest_first_and_latest_last(
    visited: list[Touch], before: list[Touch]
) -> None:
    visitor = attribution()
    for touch in visited:
        visitor.touched(touch)
    cart = Attribution.start(AttributionScope.CART, "c1", at=AT)
    for touch in before:
        cart.touched(touch)
    cart.take(visitor)
    firsts = [t for t in (visitor.first, cart.first if before else None) if t is not None]
    assert cart.first is not None
    assert cart.first.at == min(t.at for t in firsts)
    assert cart.visitor_id == "v1"


def test_an_event_names_its_visitor_unless_it_is_an_order_the_store_never_saw_visited() -> None:
    with pytest.raises(InvalidInput) as caught:
        BehaviourEvent(kind=BehaviourKind.PRODUCT_VIEWED, at=AT, visitor_id=" ")
    assert caught.value.field == "visitor_id"
    order = BehaviourEvent(kind=BehaviourKind.ORDER_PLACED, at=AT, visitor_id="", currency="eur")
    assert order.currency == "EUR"
    for fields, field in (
        ({"result_count": -1}, "result_count"),
        ({"value_units": 1.5}, "value_units"),
        ({"at": datetime(2026, 12, 1)}, "at"),
        ({"touch": "google"}, "touch"),
    ):
        with pytest.raises(InvalidInput) as caught:
            BehaviourEvent(
                **{"kind": BehaviourKind.SEARCHED, "at": AT, "visitor_id": "v", **fields}
            )  # type: ignore[arg-type]
        assert caught.value.field == field


def test_the_funnel_shares_round_half_even_to_four_places_and_never_divide_by_zero() -> None:
    funnel = Funnel.of(
        {
            BehaviourKind.PRODUCT_VIEWED: 3,
            BehaviourKind.ADDED_TO_CART: 2,
            BehaviourKind.CHECKOUT_STARTED: 0,
            BehaviourKind.ORDER_PLACED: 0,
        }
    )
    assert [step.of_previous for step in funnel.steps] == [
        Decimal(1),
        Decimal("0.6667"),
        Decimal(0),
        Decimal(0),
    ]
    assert Funnel.of({}).steps[0].of_first == Decimal(0)
