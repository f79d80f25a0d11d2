"""Safe by default: no gateway (and no published webhook secret) unless configured,
secrets and passwords never shown, errors that repeat a caller's value repeat only a
bounded part of it, identifiers are bounded before they reach storage, and a webhook
header that is not well formed is refused as a webhook, never as a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from commercekit import errors
from commercekit.adapters import _signing as signing
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.adapters.storage.urls import shown_url, without_password
from commercekit.domain.cart import check_quantity
from commercekit.domain.errors import SHOWN_CHARACTERS, shown
from commercekit.domain.identifiers import MAX_KEY_LENGTH, check_key
from commercekit.hookspecs import hookimpl
from commercekit.store import GatewayConfig, Store, StoreConfig

HUGE = "X" * 1_000_000
PASSWORD = "pa55-w0rd"
WEBHOOK_SECRET = "whsec_kept_quiet"
TEST_GATEWAY = {"test": {"plugin": "test", "secrets": {"webhook_secret": WEBHOOK_SECRET}}}


# --- no gateway unless configured --------------------------------------------------


def test_a_store_has_no_gateway_unless_its_configuration_names_one() -> None:
    assert StoreConfig().gateways == {}
    with Store.open("memory://", config={"entry_point_plugins": False}) as store:
        assert store.gateways == {}
        with pytest.raises(errors.UnknownGateway):
            store.gateway("test")


def test_a_store_without_a_gateway_refuses_to_take_payment() -> None:
    with Store.open("memory://", config={"entry_point_plugins": False}) as store:
        token = store.carts.create("EUR").token
        with pytest.raises(errors.UnknownGateway) as caught:
            store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
        assert caught.value.field == "payment_method"
        assert "payment_method" in store.checkout.summary(token).missing


def test_the_test_gateway_is_there_when_configured_with_a_secret() -> None:
    config = {"gateways": TEST_GATEWAY, "entry_point_plugins": False}
    with Store.open("memory://", config=config) as store:
        gateway = store.gateway("test")
    assert isinstance(gateway, TestPaymentGateway)
    assert gateway.webhook_secret == WEBHOOK_SECRET


@pytest.mark.parametrize(
    "gateway",
    [
        {"plugin": "test"},
        {"plugin": "test", "secrets": {"webhook_secret": ""}},
        {"plugin": "test", "options": {"webhook_secret": ""}},
        {"plugin": "test", "options": {"webhook_secret": 42}},
    ],
    ids=["none", "empty-secret", "empty-option", "not-text"],
)
def test_the_test_gateway_without_a_webhook_secret_is_refused(gateway: dict[str, object]) -> None:
    config = {"gateways": {"sandbox": gateway}, "entry_point_plugins": False}
    with pytest.raises(errors.InvalidInput) as caught:
        Store.open("memory://", config=config)
    assert caught.value.field == "gateways.sandbox.secrets.webhook_secret"


def test_the_test_gateway_class_has_no_default_secret() -> None:
    with pytest.raises(TypeError):
        TestPaymentGateway("test")  # type: ignore[call-arg]
    with pytest.raises(errors.InvalidInput) as caught:
        TestPaymentGateway("test", webhook_secret="")
    assert caught.value.field == "webhook_secret"


# --- secrets never shown -----------------------------------------------------------


class Recorder:
    """A gateway plugin that keeps what its factory was given."""

    def __init__(self) -> None:
        self.given: dict[str, object] = {}

    @hookimpl
    def register_payment_gateways(self, register):  # type: ignore[no-untyped-def]
        def build(name: str, options: dict[str, object]) -> TestPaymentGateway:
            self.given = dict(options)
            return TestPaymentGateway(name, webhook_secret=str(options["webhook_secret"]))

        register("recorded", build)


def test_the_factory_gets_the_options_with_the_secrets_revealed() -> None:
    recorder = Recorder()
    gateway = {
        "plugin": "recorded",
        "options": {"account": "acct_1"},
        "secrets": {"webhook_secret": WEBHOOK_SECRET, "api_key": "sk_quiet"},
    }
    config = {"gateways": {"main": gateway}, "entry_point_plugins": False}
    with Store.open("memory://", config=config, plugins=[recorder]):
        pass
    assert recorder.given == {
        "account": "acct_1",
        "webhook_secret": WEBHOOK_SECRET,
        "api_key": "sk_quiet",
    }


def test_a_name_is_an_option_or_a_secret_not_both() -> None:
    gateway = {
        "plugin": "test",
        "options": {"webhook_secret": "a"},
        "secrets": {"webhook_secret": "b"},
    }
    with pytest.raises(errors.InvalidInput) as caught:
        Store.open("memory://", config={"gateways": {"test": gateway}})
    assert caught.value.field == "gateways.test"
    assert "option and as a secret" in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://shop:{PASSWORD}@db.internal:5432/shop",
        f"postgresql://shop:{PASSWORD}@db.internal/shop?sslmode=require",
        f"sqlite://shop:{PASSWORD}@/shop.db",
        f"acme+db://shop:{PASSWORD}@db.internal:notaport/shop",  # not even a valid URL
    ],
    ids=["postgresql", "with-query", "sqlite", "unparseable"],
)
def test_neither_repr_nor_str_of_a_configuration_shows_a_secret(url: str) -> None:
    config = StoreConfig.model_validate({"url": url, "gateways": TEST_GATEWAY})
    gateway = config.gateways["test"]
    for text in (repr(config), str(config), repr(gateway), str(gateway)):
        assert PASSWORD not in text
        assert WEBHOOK_SECRET not in text
    # model_dump() keeps the URL whole, so that a configuration survives a round
    # trip; the gateway's secrets stay SecretStr there too.
    assert WEBHOOK_SECRET not in repr(config.model_dump())
    assert "***@" in repr(config)
    assert config.url == url  # the field keeps the real URL to connect with
    assert gateway.factory_options() == {"webhook_secret": WEBHOOK_SECRET}


def test_a_gateway_configuration_shows_its_options_but_not_its_secrets() -> None:
    gateway = GatewayConfig.model_validate(
        {"plugin": "test", "options": {"account": "acct_1"}, "secrets": {"key": "sk_quiet"}}
    )
    assert "acct_1" in repr(gateway)
    assert "sk_quiet" not in repr(gateway)


# --- bounded echo ------------------------------------------------------------------


def test_a_short_value_is_shown_as_its_repr() -> None:
    assert shown("RETRO-CLOCK") == "'RETRO-CLOCK'"
    assert shown("RETRO-CLOCK", quote=False) == "RETRO-CLOCK"
    assert shown(42) == "42"


def test_a_huge_value_is_cut_and_its_length_noted() -> None:
    text = shown("A" * 1_048_576)
    assert text.startswith("'AAAA")
    assert text.endswith("…' (1048576 characters)")
    assert len(text) < SHOWN_CHARACTERS + 30


def test_unprintable_text_is_shown_as_a_repr_even_unquoted() -> None:
    assert shown("a\nb", quote=False) == "'a\\nb'"


@given(st.one_of(st.text(), st.binary(), st.lists(st.integers())))
def test_no_value_is_shown_longer_than_the_bound(value: object) -> None:
    for text in (shown(value), shown(value, quote=False)):
        assert len(text) <= SHOWN_CHARACTERS + 30


@pytest.mark.parametrize(
    "error",
    [
        errors.NotFound("product", HUGE),
        errors.UnknownSku(HUGE),
        errors.AlreadyExists("product", HUGE),
        errors.DuplicateSku(HUGE),
        errors.MissingPrice(HUGE, "EUR"),
        errors.UnknownGateway(HUGE, ["test"]),
        errors.UnknownCurrency(HUGE),
        errors.InvalidTransition("order", HUGE, "ship"),
        errors.InsufficientStock(HUGE, 2, 1),
        errors.Unavailable(HUGE),
        errors.CouponRejected(HUGE, "unknown"),
        errors.IdempotencyConflict(HUGE),
        errors.PluginError(HUGE, "failed to load"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_repeat_a_huge_value_only_in_part(error: errors.CommerceError) -> None:
    assert len(str(error)) < 300
    assert len(repr(error)) < 300
    assert len(str(error.as_dict())) < 400


def test_the_attributes_keep_the_whole_value() -> None:
    assert errors.UnknownSku(HUGE).sku == HUGE
    assert errors.NotFound("product", HUGE).key == HUGE
    assert errors.UnknownGateway(HUGE, []).name == HUGE


# --- bounded keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["RETRO-CLOCK", "", "Zoë's mug", "x" * MAX_KEY_LENGTH, "🕰️"],
    ids=["sku", "empty", "unicode", "longest", "emoji"],
)
def test_a_key_within_bounds_is_returned_as_it_is(value: str) -> None:
    assert check_key(value, "sku") is value


@pytest.mark.parametrize(
    "value",
    [HUGE, "x" * (MAX_KEY_LENGTH + 1), "RETRO\x00CLOCK", "RETRO\ud800CLOCK", None, 42, b"RETRO"],
    ids=["huge", "one-too-long", "nul", "lone-surrogate", "none", "int", "bytes"],
)
def test_a_key_out_of_bounds_is_invalid_input_naming_the_field(value: object) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        check_key(value, "sku")
    assert caught.value.field == "sku"
    assert len(str(caught.value)) < 100


# Any character, lone surrogates and NUL among them (text() leaves surrogates out).
_ANY_CHARACTER = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00"))


@given(st.text(alphabet=_ANY_CHARACTER, max_size=300))
def test_a_key_is_refused_exactly_when_a_database_could_not_take_it(value: str) -> None:
    storable = len(value) <= MAX_KEY_LENGTH and "\x00" not in value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        storable = False
    if storable:
        assert check_key(value, "token") == value
    else:
        with pytest.raises(errors.InvalidInput):
            check_key(value, "token")


# --- webhook signature headers -----------------------------------------------------

SECRET = "whsec_unit"
BODY = b'{"events": []}'
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SENT = int(NOW.timestamp())
GOOD = signing.sign(SECRET, BODY, SENT)
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10)))


def refusal(header: object) -> errors.WebhookRejected | None:
    """Why the header is refused, or ``None`` if it verifies; any other exception
    escapes and fails the test."""
    try:
        signing.verify(SECRET, BODY, header, NOW)  # type: ignore[arg-type]
    except errors.WebhookRejected as rejected:
        return rejected
    return None


def verifies(header: object) -> bool:
    refused = refusal(header)
    assert refused is None or len(str(refused)) < 200
    return refused is None


def test_a_header_the_gateway_signed_verifies() -> None:
    assert verifies(GOOD)
    assert verifies(f"v1=ff{'0' * 62}, {GOOD}")  # another digest beside it


digits = st.text(alphabet="0123456789", min_size=1, max_size=500)
# Unicode digits that int() would read, spaces, signs and underscores.
number_like = st.text(alphabet="0123456789\u0661\u0662\u096a\u096b _-+.", min_size=1, max_size=40)
any_text = st.text(max_size=200)
fields = st.one_of(
    digits.map(lambda n: f"t={n}"),
    number_like.map(lambda n: f"t={n}"),
    any_text.map(lambda v: f"v1={v}"),
    any_text.map(lambda v: f"t={v}"),
    st.just(f"t={SENT}"),
    st.just(GOOD.split(",")[1]),
    any_text,
)
headers = st.one_of(any_text, st.lists(fields, max_size=6).map(",".join))


@given(headers)
@example("t=" + "9" * 400 + ",v1=" + "0" * 64)  # int() reads it; arithmetic must not fail
@example("t=" + "9" * 400)
@example(f"t={SENT},v1=é" + "0" * 63)  # compare_digest refuses a non-ASCII str
@example(f"t={SENT},v1=\ud800")  # a lone surrogate cannot even be encoded
@example(f"t={SENT}".translate(ARABIC_INDIC) + "," + GOOD.split(",")[1])  # int() reads these
@example(f"t={SENT:_d},{GOOD.split(',')[1]}")  # and this
@example("t=-1,v1=" + "0" * 64)
@example("x" * 1_000_000)
@example(GOOD + "," * 5000)
@example("")
def test_any_text_header_verifies_or_is_rejected_as_a_webhook(header: str) -> None:
    verified = verifies(header)
    if verified:
        assert GOOD.split(",")[1] in header


@pytest.mark.parametrize("header", [None, 42, b"t=1,v1=00", ["t=1"], 1.5], ids=repr)
def test_a_header_that_is_not_text_is_rejected(header: object) -> None:
    assert not verifies(header)


def test_a_body_that_is_not_bytes_is_rejected() -> None:
    with pytest.raises(errors.WebhookRejected):
        signing.verify(SECRET, BODY.decode(), GOOD, NOW)  # type: ignore[arg-type]


def test_a_header_longer_than_the_bound_is_rejected_even_if_it_holds_the_signature() -> None:
    padded = GOOD + "," + " " * signing.MAX_HEADER_LENGTH
    assert not verifies(padded)
    assert verifies(GOOD + "," + " " * (signing.MAX_HEADER_LENGTH - len(GOOD) - 1))


def test_a_signed_body_that_is_not_understood_is_rejected_without_repeating_it() -> None:
    gateway = TestPaymentGateway("test", webhook_secret=SECRET, clock=lambda: NOW)
    event = {
        "transaction_id": "txn_1",
        "payment_reference": "pay_1",
        "kind": HUGE,  # no such kind
        "status": "succeeded",
        "amount_units": 100,
        "currency": "EUR",
        "occurred_at": NOW.isoformat(),
    }
    body = json.dumps({"events": [event]}).encode()
    with pytest.raises(errors.WebhookRejected) as caught:
        gateway.parse_webhook(body, signing.sign(SECRET, body, SENT), NOW)
    assert len(str(caught.value)) < 300


def test_a_signed_body_nested_beyond_what_json_can_read_is_rejected() -> None:
    gateway = TestPaymentGateway("test", webhook_secret=SECRET, clock=lambda: NOW)
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(errors.WebhookRejected):
        gateway.parse_webhook(body, signing.sign(SECRET, body, SENT), NOW)


def test_an_integer_too_long_to_print_is_shown_by_its_size() -> None:
    huge = 10**10_000  # repr() of it raises ValueError
    assert shown(huge) == f"an integer of {huge.bit_length()} bits"
    with pytest.raises(errors.InvalidInput) as caught:
        check_quantity(huge, maximum=999)
    assert len(str(caught.value)) < 300
    with pytest.raises(errors.InvalidInput) as caught:
        check_quantity([huge], maximum=999)  # inside a list, repr() refuses it too
    assert len(str(caught.value)) < 300
    assert shown(list(range(1_000_000))).startswith("[0, 1, 2")


# --- storage URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://shop:{PASSWORD}@files.internal/shop",  # a scheme no backend offers
        f"acme+db://shop:{PASSWORD}@db.internal:notaport/shop",  # not even a valid URL
    ],
    ids=["unknown-scheme", "unparseable"],
)
def test_a_storage_url_no_backend_takes_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        Store.open(url, config={"entry_point_plugins": False})
    assert caught.value.field == "url"
    assert PASSWORD not in str(caught.value)
    assert "shop" in str(caught.value)  # the rest of the URL still says which one


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql+psycopg://shop:{PASSWORD}@db/shop", "postgresql+psycopg://shop:***@db/shop"),
        ("sqlite:///shop.db", "sqlite:///shop.db"),
        (f"acme://shop:{PASSWORD}@db:notaport/x", "acme://***@db:notaport/x"),
        (42, "(a int, not a URL)"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url: object, expected: str) -> None:
    assert shown_url(url) == expected


def test_a_drivers_message_loses_the_password_and_its_line_breaks() -> None:
    url = f"postgresql://shop:{PASSWORD}@db/shop"
    message = f'connection to "db" failed:\n  password "{PASSWORD}" is wrong'
    assert without_password(message, url) == 'connection to "db" failed: password "***" is wrong'
    assert without_password("no password here", "sqlite:///shop.db") == "no password here"
