"""A local stand-in for Stripe's API, for testing the stripe gateway with Stripe's own SDK.

It answers the requests the gateway makes as Stripe documents them: form-encoded
parameters (``a[b][c]=v``, ``a[0]=v``), JSON answers, errors as
``{"error": {"type", "code", "decline_code", "message", "param"}}`` with Stripe's
status codes, and idempotency (the same ``Idempotency-Key`` again answers the first
answer; with other parameters it is refused with a 400 ``idempotency_error``; a request
refused for its parameters is not kept). It checks what it is sent, so that a wrong
request fails a test rather than passing quietly: the ``Authorization`` header, the
``Stripe-Version`` header, the content type, every parameter's name (an unknown one is
a 400 ``parameter_unknown``), amounts as positive integers in Stripe's units for the
currency, currencies in lower case, and metadata within Stripe's limits.

Payment methods are Stripe's test ids:

====================================  ============================================
``pm_card_visa``,                     authorized (multicapture and incremental
``pm_card_mastercard``                authorization available when asked for)
``pm_card_chargeDeclined``            402 ``card_declined`` / ``generic_decline``
``pm_card_chargeDeclinedInsufficientFunds``  402 ``card_declined`` / ``insufficient_funds``
``pm_card_threeDSecure2Required``,    ``requires_action`` (3-D Secure): the customer
``pm_card_authenticationRequired``    authenticates at once (``authenticate_at_once``)
                                      or when a test calls :meth:`authenticate`
====================================  ============================================

Faults: :meth:`fail_next` answers the next requests with a 500 without carrying them out;
:meth:`delay_next` holds the next answers (for a client timeout). Search shows a
PaymentIntent only once it is indexed (at once unless ``index_at_once`` is off, then
when a test calls :meth:`index`), as Stripe's search lags behind writes.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

API_KEY: Final = "sk_test_commercekit_local"

_ZERO_DECIMAL: Final = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_THREE_DECIMAL: Final = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
_CURRENCIES: Final = frozenset(
    {"eur", "usd", "gbp", "chf", "huf", "isk", "twd", "jpy", "krw", "kwd", "bhd", "sek"}
)
_CARDS: Final = frozenset({"pm_card_visa", "pm_card_mastercard"})
_DECLINES: Final = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
_AUTHENTICATE: Final = frozenset(
    {"pm_card_threeDSecure2Required", "pm_card_authenticationRequired"}
)
_CANCELABLE: Final = frozenset(
    {"requires_payment_method", "requires_capture", "requires_confirmation", "requires_action"}
)
_QUERY_CLAUSE: Final = re.compile(r"metadata\['([^'\\]+)'\]:'([^'\\]*)'")

# The parameters each request may carry, as Stripe names them (nested ones by path).
_CREATE: Final = frozenset(
    {
        "amount",
        "currency",
        "payment_method",
        "allowed_payment_method_types",
        "confirm",
        "capture_method",
        "description",
        "metadata",
        "payment_method_options",
        "return_url",
    }
)
_CARD_OPTIONS: Final = frozenset({"request_multicapture", "request_incremental_authorization"})


class _Refused(Exception):
    """A Stripe error answer."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        code: str = "",
        param: str = "",
        decline_code: str = "",
        payment_intent: dict[str, Any] | None = None,
        kept: bool = True,
    ) -> None:
        super().__init__(message)
        error: dict[str, Any] = {"type": kind, "message": message}
        if code:
            error["code"] = code
        if param:
            error["param"] = param
        if decline_code:
            error["decline_code"] = decline_code
        if payment_intent is not None:
            error["payment_intent"] = payment_intent
        self.status = status
        self.body = {"error": error}
        self.kept = kept
        """Whether Stripe keeps the answer for its idempotency key (not for a request
        refused for its parameters, which never ran)."""


def _invalid(message: str, *, param: str = "", code: str = "parameter_invalid") -> _Refused:
    return _Refused(400, "invalid_request_error", message, code=code, param=param, kept=False)


def _state(message: str, code: str = "payment_intent_unexpected_state") -> _Refused:
    return _Refused(400, "invalid_request_error", message, code=code)


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields as Stripe reads them: ``a[b]=1&a[c][0]=x`` is ``{"a": {"b": "1",
    "c": ["x"]}}`` (lists are written with indexes, as the SDK writes them)."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        path = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = root
        for part, following in itertools.zip_longest(path, path[1:]):
            if following is None:
                if part in node:
                    raise _invalid(f"{name} given twice", param=name)
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise _invalid(f"{name} mixes a value and an object", param=name)
    return {key: _listed(value) for key, value in root.items()}


def _listed(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    value = {key: _listed(item) for key, item in value.items()}
    if value and all(key.isdigit() for key in value):
        return [value[str(index)] for index in range(len(value))]
    return value


def _amount(params: Mapping[str, Any], name: str) -> int:
    raw = params.get(name)
    if not isinstance(raw, str) or not raw.isdigit() or int(raw) <= 0:
        raise _invalid(
            f"Invalid positive integer: {name}", param=name, code="parameter_invalid_integer"
        )
    if len(raw) > 8:
        raise _invalid("Amount must be no more than 99999999", param=name, code="amount_too_large")
    return int(raw)


def _boolean(params: Mapping[str, Any], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _invalid(f"Invalid boolean: {raw}", param=name)
    return bool(raw == "true")


def _only(params: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> None:
    for name in params:
        if name not in allowed and name != "expand":
            raise _invalid(
                f"Received unknown parameter: {where}{name}",
                param=f"{where}{name}",
                code="parameter_unknown",
            )


def _metadata(params: Mapping[str, Any], current: dict[str, str]) -> dict[str, str]:
    given = params.get("metadata", {})
    if not isinstance(given, dict):
        raise _invalid("Invalid object", param="metadata")
    merged = dict(current)
    for key, value in given.items():
        if not isinstance(value, str):
            raise _invalid("Invalid metadata value", param=f"metadata[{key}]")
        if len(key) > 40 or len(value) > 500:
            raise _invalid("Metadata key or value too long", param=f"metadata[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise _invalid("Metadata can have at most 50 keys", param="metadata")
    return merged


class StripeServer:
    """The local API: start it, point the SDK's ``base_addresses["api"]`` at
    :attr:`url`, stop it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.kept: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.indexed: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        """``(method, path, headers)`` of every request received."""
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        """``(method, path, parameters)`` of every request that reached the API."""
        self.index_at_once = True
        self.authenticate_at_once = True
        self.multicapture_offered = True
        """Whether the account may capture a payment in parts (Stripe offers it on some
        pricing plans only)."""
        self._failures: list[int] = []
        self._delays: list[float] = []
        self._ids = itertools.count(1)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    # --- what tests steer -----------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status``, carrying none of them out."""
        with self.lock:
            self._failures.extend([status] * count)

    def delay_next(self, seconds: float, count: int = 1) -> None:
        """Hold the next ``count`` answers for ``seconds`` (after carrying them out)."""
        with self.lock:
            self._delays.extend([seconds] * count)

    def index(self) -> None:
        """Make every PaymentIntent visible to search."""
        with self.lock:
            self.indexed.update(self.intents)

    def authenticate(self, intent_id: str, *, succeed: bool = True) -> None:
        """The customer completes (or fails) the 3-D Secure challenge."""
        with self.lock:
            intent = self.intents[intent_id]
            assert intent["status"] == "requires_action", intent["status"]
            intent["next_action"] = None
            if succeed:
                self._authorize(intent)
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The customer failed to authenticate.",
                }

    def idempotency_keys(self) -> list[str]:
        """The ``Idempotency-Key`` of every request that carried one, in order."""
        with self.lock:
            return [h["idempotency-key"] for _, _, h in self.requests if "idempotency-key" in h]

    def event(self, kind: str, obj: Mapping[str, Any], created: int) -> dict[str, Any]:
        """A Stripe event as a webhook carries it."""
        return {
            "id": f"evt_{next(self._ids):08d}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": created,
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": json.loads(json.dumps(obj))},
        }

    # --- the API ------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}{next(self._ids):06d}"

    def _intent(self, intent_id: str, param: str = "intent") -> dict[str, Any]:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise _Refused(
                404 if param == "intent" else 400,
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
                param=param,
            )
        return intent

    def _shown(self, intent: dict[str, Any], expand: object = ()) -> dict[str, Any]:
        shown = json.loads(json.dumps(intent))
        charge = shown.get("latest_charge")
        if charge and isinstance(expand, list) and "latest_charge" in expand:
            shown["latest_charge"] = json.loads(json.dumps(self.charges[charge]))
        return shown

    def _authorize(self, intent: dict[str, Any]) -> None:
        charge_id = self._id("ch")
        card = intent.pop("_card_options", {})
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0,
            "amount_refunded": 0,
            "captured": False,
            "refunded": False,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "payment_method_details": {
                "type": "card",
                "card": {
                    "multicapture": {
                        "status": "available"
                        if card.get("request_multicapture") == "if_available"
                        and self.multicapture_offered
                        else "unavailable"
                    },
                    "incremental_authorization": {
                        "status": "available"
                        if card.get("request_incremental_authorization") == "if_available"
                        else "unavailable"
                    },
                },
            },
            "refunds": {"object": "list", "data": [], "has_more": False},
        }
        intent["latest_charge"] = charge_id
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            self.charges[charge_id].update(captured=True, amount_captured=intent["amount"])

    def create_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, _CREATE)
        amount = _amount(params, "amount")
        currency = params.get("currency")
        if not isinstance(currency, str) or currency not in _CURRENCIES:
            raise _invalid(f"Invalid currency: {currency}", param="currency")
        if currency in _THREE_DECIMAL and amount % 10:
            raise _invalid(
                "Amounts in three-decimal currencies must end in 0",
                param="amount",
                code="invalid_amount",
            )
        if currency == "isk" and amount % 100:
            raise _invalid(
                "ISK amounts must be evenly divisible by 100",
                param="amount",
                code="invalid_charge_amount_no_decimal_compatible",
            )
        capture_method = params.get("capture_method", "automatic_async")
        if capture_method not in ("automatic", "automatic_async", "manual"):
            raise _invalid(f"Invalid capture_method: {capture_method}", param="capture_method")
        types = params.get("allowed_payment_method_types", ["card"])
        if types != ["card"]:
            raise _invalid("Only card is offered here", param="allowed_payment_method_types")
        options = params.get("payment_method_options", {})
        if not isinstance(options, dict):
            raise _invalid("Invalid object", param="payment_method_options")
        _only(options, frozenset({"card"}), "payment_method_options.")
        card = options.get("card", {})
        if not isinstance(card, dict):
            raise _invalid("Invalid object", param="payment_method_options[card]")
        _only(card, _CARD_OPTIONS, "payment_method_options.card.")
        for name, value in card.items():
            if value not in ("if_available", "never"):
                raise _invalid(f"Invalid {name}", param=f"payment_method_options[card][{name}]")
        if card and capture_method != "manual":
            raise _invalid(
                "Multicapture and incremental authorization need capture_method=manual",
                param="payment_method_options[card]",
            )
        confirm = _boolean(params, "confirm")
        payment_method = params.get("payment_method")
        if confirm and not payment_method:
            raise _invalid("A payment method is needed to confirm", param="payment_method")
        if payment_method is not None and payment_method not in (
            _CARDS | _AUTHENTICATE | frozenset(_DECLINES)
        ):
            raise _invalid(
                f"No such PaymentMethod: '{payment_method}'",
                param="payment_method",
                code="resource_missing",
            )
        intent_id = self._id("pi")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": currency,
            "capture_method": capture_method,
            "confirmation_method": "automatic",
            "client_secret": f"{intent_id}_secret_local",
            "created": int(time.time()),
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _metadata(params, {}),
            "next_action": None,
            "payment_method": payment_method,
            "payment_method_types": ["card"],
            "status": "requires_payment_method" if not payment_method else "requires_confirmation",
            "canceled_at": None,
            "cancellation_reason": None,
            "_card_options": card,
        }
        self.intents[intent_id] = intent
        if self.index_at_once:
            self.indexed.add(intent_id)
        if confirm:
            return self._confirm(intent)
        return 200, self._public(intent)

    @staticmethod
    def _public(intent: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in intent.items() if not key.startswith("_")}

    def _confirm(self, intent: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = intent["payment_method"]
        if method in _DECLINES:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": _DECLINES[method],
                "message": "Your card was declined.",
            }
            raise _Refused(
                402,
                "card_error",
                "Your card was declined.",
                code="card_declined",
                decline_code=_DECLINES[method],
                payment_intent=self._public(intent),
            )
        if method in _AUTHENTICATE:
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            answer = self._public(intent)
            if self.authenticate_at_once:
                self.authenticate(intent["id"])
            return 200, answer
        self._authorize(intent)
        return 200, self._public(intent)

    def capture(self, intent_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"amount_to_capture", "final_capture", "metadata"}))
        intent = self._intent(intent_id)
        amount = (
            _amount(params, "amount_to_capture")
            if "amount_to_capture" in params
            else intent["amount_capturable"]
        )
        final = _boolean(params, "final_capture")
        metadata = _metadata(params, intent["metadata"])
        if intent["status"] != "requires_capture":
            raise _state(
                f"This PaymentIntent could not be captured because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following "
                f"statuses may be captured: requires_capture."
            )
        charge = self.charges[intent["latest_charge"]]
        multicapture = charge["payment_method_details"]["card"]["multicapture"]["status"]
        if final is False and multicapture != "available":
            raise _invalid(
                "final_capture=false needs multicapture on this payment", param="final_capture"
            )
        if amount > intent["amount_capturable"]:
            raise _Refused(
                400,
                "invalid_request_error",
                f"The amount to capture ({amount}) is greater than what may be captured "
                f"({intent['amount_capturable']}).",
                code="amount_too_large",
                param="amount_to_capture",
            )
        intent["metadata"] = metadata
        intent["amount_received"] += amount
        intent["amount_capturable"] -= amount
        charge.update(captured=True, amount_captured=intent["amount_received"])
        if final is not False or intent["amount_capturable"] == 0:
            # The final capture releases whatever was left of the authorization.
            intent["amount_capturable"] = 0
            intent["status"] = "succeeded"
        return 200, self._public(intent)

    def cancel(self, intent_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"cancellation_reason"}))
        intent = self._intent(intent_id)
        if intent["status"] not in _CANCELABLE:
            raise _state(
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}."
            )
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
            next_action=None,
        )
        return 200, self._public(intent)

    def confirm(self, intent_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"payment_method", "return_url"}))
        intent = self._intent(intent_id)
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise _state(
                f"This PaymentIntent's status is {intent['status']}: it cannot be confirmed."
            )
        return self._confirm(intent)

    def increment(self, intent_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"amount", "metadata", "description"}))
        intent = self._intent(intent_id)
        total = _amount(params, "amount")
        metadata = _metadata(params, intent["metadata"])
        if intent["status"] != "requires_capture":
            raise _state(f"This PaymentIntent's status is {intent['status']}.")
        charge = self.charges[intent["latest_charge"]]
        card = charge["payment_method_details"]["card"]
        if card["incremental_authorization"]["status"] != "available":
            raise _state(
                "Incremental authorization is not available on this payment.",
                code="incremental_authorization_unavailable",
            )
        if intent["amount_received"]:
            raise _state("An authorization cannot grow once part of it was captured.")
        if total <= intent["amount"]:
            raise _invalid("The new amount must be greater than the current one", param="amount")
        intent["metadata"] = metadata
        intent["amount_capturable"] += total - intent["amount"]
        intent["amount"] = total
        charge["amount"] = total
        return 200, self._public(intent)

    def update(self, intent_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"metadata", "description"}))
        intent = self._intent(intent_id)
        intent["metadata"] = _metadata(params, intent["metadata"])
        return 200, self._public(intent)

    def create_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"payment_intent", "amount", "metadata", "reason"}))
        intent = self._intent(str(params.get("payment_intent")), param="payment_intent")
        amount = _amount(params, "amount") if "amount" in params else None
        metadata = _metadata(params, {})
        received = intent["amount_received"]
        charge = self.charges.get(intent["latest_charge"] or "")
        if charge is None or not received:
            raise _state(
                "This PaymentIntent has no captured charge to refund.", code="charge_not_captured"
            )
        left = received - charge["amount_refunded"]
        if left == 0:
            raise _state("The charge has already been refunded.", code="charge_already_refunded")
        amount = left if amount is None else amount
        if amount > left:
            raise _Refused(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than what may be refunded ({left}).",
                code="amount_too_large",
                param="amount",
            )
        refund_id = self._id("re")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "metadata": metadata,
            "created": int(time.time()),
            "reason": params.get("reason"),
        }
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == received
        charge["refunds"]["data"].insert(0, refund)
        return 200, dict(refund)

    def list_refunds(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"payment_intent", "limit", "starting_after"}))
        found = [
            r for r in self.refunds.values() if r["payment_intent"] == params.get("payment_intent")
        ]
        return 200, self._page(list(reversed(found)), params, "/v1/refunds")

    def list_intents(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"created", "limit", "starting_after"}))
        created = params.get("created", {})
        since = int(created.get("gte", "0")) if isinstance(created, dict) else 0
        found = [self._public(i) for i in self.intents.values() if i["created"] >= since]
        return 200, self._page(list(reversed(found)), params, "/v1/payment_intents")

    @staticmethod
    def _page(items: list[dict[str, Any]], params: Mapping[str, Any], url: str) -> dict[str, Any]:
        limit = int(params.get("limit", "10"))
        if not 1 <= limit <= 100:
            raise _invalid("limit must be from 1 to 100", param="limit")
        after = params.get("starting_after")
        if after is not None:
            ids = [item["id"] for item in items]
            if after not in ids:
                raise _invalid(f"No such object: '{after}'", param="starting_after")
            items = items[ids.index(after) + 1 :]
        return {"object": "list", "url": url, "has_more": len(items) > limit, "data": items[:limit]}

    def search_intents(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _only(params, frozenset({"query", "limit", "page"}))
        query = params.get("query")
        if not isinstance(query, str) or not query:
            raise _invalid("A query is required", param="query")
        parts = re.split(r"\s+(OR|AND)\s+", query)
        clauses, joins = parts[::2], set(parts[1::2])
        if len(joins) > 1 or len(clauses) > 10:
            raise _invalid("AND and OR cannot be mixed; at most 10 clauses", param="query")
        wanted = []
        for clause in clauses:
            match = _QUERY_CLAUSE.fullmatch(clause.strip())
            if match is None:
                raise _invalid(f"Unsupported query clause: {clause}", param="query")
            wanted.append((match.group(1), match.group(2)))
        combine = all if joins == {"AND"} else any
        found = [
            self._public(intent)
            for intent in self.intents.values()
            if intent["id"] in self.indexed
            and combine(intent["metadata"].get(k) == v for k, v in wanted)
        ]
        limit = int(params.get("limit", "10"))
        return 200, {
            "object": "search_result",
            "url": "/v1/payment_intents/search",
            "has_more": len(found) > limit,
            "next_page": None,
            "data": found[:limit],
        }

    # --- HTTP ----------------------------------------------------------------------

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return self.create_intent(params)
        if method == "GET" and parts == ["v1", "payment_intents"]:
            return self.list_intents(params)
        if method == "GET" and parts == ["v1", "payment_intents", "search"]:
            return self.search_intents(params)
        if len(parts) == 3 and parts[:2] == ["v1", "payment_intents"]:
            if method == "GET":
                _only(params, frozenset())
                return 200, self._shown(self._intent(parts[2]), params.get("expand"))
            return self.update(parts[2], params)
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "payment_intents"]:
            action = {
                "capture": self.capture,
                "cancel": self.cancel,
                "confirm": self.confirm,
                "increment_authorization": self.increment,
            }.get(parts[3])
            if action is not None:
                return action(parts[2], params)
        if parts == ["v1", "refunds"]:
            return self.create_refund(params) if method == "POST" else self.list_refunds(params)
        raise _Refused(
            404,
            "invalid_request_error",
            f"Unrecognized request URL ({method}: {path}).",
            kept=False,
        )

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((method, urlsplit(target).path, headers))
            if self._failures:
                status = self._failures.pop(0)
                return status, {"error": {"type": "api_error", "message": "Something went wrong."}}
        if headers.get("authorization") != f"Bearer {API_KEY}":
            return 401, {
                "error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}
            }
        if not headers.get("stripe-version"):
            return 400, _invalid("A Stripe-Version header is expected").body
        split = urlsplit(target)
        try:
            if method == "POST":
                if headers.get("content-type") != "application/x-www-form-urlencoded":
                    raise _invalid("Requests are form-encoded")
                pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
            else:
                pairs = parse_qsl(split.query, keep_blank_values=True)
            params = unflatten(pairs)
        except _Refused as refused:
            return refused.status, refused.body
        key = headers.get("idempotency-key") if method == "POST" else None
        with self.lock:
            self.calls.append((method, split.path, params))
        fingerprint = json.dumps([split.path, params], sort_keys=True)
        with self.lock:
            if key is not None and key in self.kept:
                kept_print, status, answer = self.kept[key]
                if kept_print != fingerprint:
                    return 400, {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with "
                            "the same parameters they were first used with.",
                        }
                    }
                return status, answer
            try:
                status, answer = self._route(method, split.path, params)
                kept = True
            except _Refused as refused:
                status, answer, kept = refused.status, refused.body, refused.kept
            if key is not None and kept:
                self.kept[key] = (fingerprint, status, answer)
        return status, answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per answer, sent at once: headers and body in separate small
            # packets would wait on delayed acknowledgements.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, answer = server.handle(method, self.path, headers, body)
                with server.lock:
                    delay = server._delays.pop(0) if server._delays else 0.0
                if delay:
                    time.sleep(delay)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{next(server._ids):08d}")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@contextmanager
def running() -> Iterator[StripeServer]:
    """A started server, stopped afterwards."""
    server = StripeServer().start()
    try:
        yield server
    finally:
        server.stop()
