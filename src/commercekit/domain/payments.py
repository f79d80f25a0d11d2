"""The payment aggregate: a ledger of gateway transactions that can never take or give
back more money than it may.

A payment is paid through one gateway for one order. Every operation the gateway
performs (authorize, capture, void, refund) is a :class:`Transaction` in the ledger,
identified by the gateway's own transaction id, so that the same fact arriving twice
(from our call and from a webhook, or a webhook delivered twice) is applied once.
What the payment has authorized, captured and refunded is always the sum of its
successful transactions; nothing is stored that could drift from the ledger.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from commercekit.domain._validators import ACTOR, readable, text
from commercekit.domain.errors import (
    CurrencyMismatch,
    EventOutOfOrder,
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OperationInProgress,
    PaymentLimitExceeded,
    RequestInProgress,
)
from commercekit.domain.events import (
    DomainEvent,
    NeedsAttention,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    PaymentRequiresAction,
    PaymentVoided,
    with_note,
)
from commercekit.domain.identifiers import MAX_KEY_LENGTH
from commercekit.domain.money import Money, currency_precision, from_minor_units

__all__ = [
    "GatewayEvent",
    "Intent",
    "Payment",
    "PaymentStatus",
    "Transaction",
    "TransactionKind",
    "TransactionStatus",
    "authorization_key",
]


def authorization_key(order_id: str) -> str:
    """The idempotency key of an order's authorization: the same in the first call,
    a retry, and recovery after a crash, so the gateway answers them all alike."""
    return f"{order_id}:authorize"


class TransactionKind(enum.Enum):
    """What a gateway operation did."""

    AUTHORIZE = "authorize"
    INCREMENT = "increment"
    """More authorized on a standing authorization (an order edited to cost more)."""
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class TransactionStatus(enum.Enum):
    """How a gateway operation ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


class PaymentStatus(enum.Enum):
    """Where a payment stands, derived from its ledger."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"
    AUTHORIZED = "authorized"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"


@attrs.frozen(kw_only=True)
class Transaction:
    """One gateway operation, as recorded in the ledger."""

    id: str
    """The gateway's id for this operation: the key that makes recording idempotent."""
    kind: TransactionKind
    status: TransactionStatus
    amount_units: int
    occurred_at: datetime
    detail: str = ""
    """Why it failed, or what the gateway said."""
    intent_id: str = ""
    """The operation of ours it answered, if it answered one (not a webhook's news)."""


def _gateway_words(value: object) -> str:
    return readable(value, 500)


@attrs.frozen(kw_only=True)
class GatewayEvent:
    """A fact reported by a gateway, by our call's answer or by a webhook alike."""

    transaction_id: str = attrs.field(validator=text(MAX_KEY_LENGTH))
    payment_reference: str = attrs.field(validator=text(MAX_KEY_LENGTH, blank=True))
    kind: TransactionKind
    status: TransactionStatus
    amount_units: int
    currency: str
    occurred_at: datetime
    detail: str = attrs.field(default="", converter=_gateway_words)
    """The gateway's words, kept as storable text of at most 500 characters: a fact the
    gateway reports is never refused for how it is worded."""


@attrs.frozen(kw_only=True)
class Intent:
    """An operation asked of the gateway and not settled yet: recorded before the
    gateway is called, so that every other operation on the payment sees it and counts
    what it reserves against the ledger."""

    id: str
    kind: TransactionKind
    """``capture``, ``void`` or ``refund``."""
    amount_units: int
    """What it captures or refunds; for a void, what was capturable when it was asked."""
    key: str
    """The idempotency key the gateway is called with: one per intent, never reused."""
    requested_at: datetime
    actor: str = attrs.field(default="", validator=ACTOR)
    holder: str = ""
    """The one caller asking the gateway for it now; empty while nobody is."""
    leased_until: datetime | None = None
    """When the holder's claim runs out, so that a caller that stopped midway does not
    keep it: after this, another caller may take it over."""

    def held_by_other(self, holder: str, at: datetime) -> bool:
        """Whether another caller holds it at ``at``, on a claim that has not run out."""
        return (
            bool(self.holder)
            and self.holder != holder
            and self.leased_until is not None
            and self.leased_until > at
        )


@attrs.define(kw_only=True, eq=False)
class Payment:
    """What one order owes through one gateway, and the ledger of what happened."""

    id: str
    order_id: str
    gateway: str
    currency: str
    amount_units: int
    """The amount due: nothing beyond it is ever authorized."""
    reference: str | None = None
    """The gateway's id for this payment, known once it answered the authorization."""
    transactions: list[Transaction] = attrs.field(factory=list)
    intents: list[Intent] = attrs.field(factory=list)
    """Operations asked of the gateway and not settled yet."""
    attention: str = ""
    """What staff must look at: a gateway fact the ledger could not take as it came."""
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)
    """Recorded and not yet published; the unit of work collects them."""
    _answering: str = attrs.field(default="", init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.amount_units < 0:
            raise InvalidInput("a payment cannot be for a negative amount", field="amount")

    def _over_limit(self, action: str, requested: int, available: int) -> PaymentLimitExceeded:
        places = currency_precision(self.currency)
        return PaymentLimitExceeded(action, requested, available, self.currency, places=places)

    # --- what the ledger says --------------------------------------------------------

    def _sum(self, kind: TransactionKind) -> int:
        return sum(
            t.amount_units
            for t in self.transactions
            if t.kind is kind and t.status is TransactionStatus.SUCCEEDED
        )

    @property
    def authorized_units(self) -> int:
        """Minor units authorized (at most one successful authorization counts), with
        what was added to it since."""
        return self._sum(TransactionKind.AUTHORIZE) + self._sum(TransactionKind.INCREMENT)

    @property
    def captured_units(self) -> int:
        """Minor units captured so far."""
        return self._sum(TransactionKind.CAPTURE)

    @property
    def refunded_units(self) -> int:
        """Minor units refunded so far."""
        return self._sum(TransactionKind.REFUND)

    @property
    def voided(self) -> bool:
        """Whether the authorization was released."""
        return any(
            t.kind is TransactionKind.VOID and t.status is TransactionStatus.SUCCEEDED
            for t in self.transactions
        )

    @property
    def capturable_units(self) -> int:
        """What may still be captured."""
        return 0 if self.voided else self.authorized_units - self.captured_units

    @property
    def refundable_units(self) -> int:
        """What may still be refunded."""
        return self.captured_units - self.refunded_units

    @property
    def covers_amount_due(self) -> bool:
        """Whether what was authorized covers the whole amount due: only then may the
        order it pays for open."""
        return self.authorized_units >= self.amount_units

    @property
    def authorized_short(self) -> bool:
        """Whether it is authorized for less than the amount due: its order cannot
        open, and what was authorized is to be released."""
        return self.status is PaymentStatus.AUTHORIZED and not self.covers_amount_due

    @property
    def held_units(self) -> int:
        """Money the payment still holds: authorized and not captured, or captured and
        not refunded."""
        return self.capturable_units + self.refundable_units

    @property
    def amount(self) -> Money:
        """The amount due."""
        return from_minor_units(self.amount_units, self.currency)

    @property
    def authorized(self) -> Money:
        """What was authorized."""
        return from_minor_units(self.authorized_units, self.currency)

    @property
    def captured(self) -> Money:
        """What was captured so far."""
        return from_minor_units(self.captured_units, self.currency)

    @property
    def refunded(self) -> Money:
        """What was refunded so far."""
        return from_minor_units(self.refunded_units, self.currency)

    @property
    def status(self) -> PaymentStatus:
        """Where the payment stands, from its ledger."""
        captured, refunded = self.captured_units, self.refunded_units
        if self.voided and not captured:
            return PaymentStatus.VOIDED
        if refunded:
            return (
                PaymentStatus.REFUNDED if refunded == captured else PaymentStatus.PARTIALLY_REFUNDED
            )
        if captured:
            # Once the rest of the authorization is released, what was captured is all
            # that ever will be.
            if captured == self.authorized_units or self.voided:
                return PaymentStatus.CAPTURED
            return PaymentStatus.PARTIALLY_CAPTURED
        if self.authorized_units:
            return PaymentStatus.AUTHORIZED
        attempts = [t for t in self.transactions if t.kind is TransactionKind.AUTHORIZE]
        if attempts and attempts[-1].status is TransactionStatus.REQUIRES_ACTION:
            return PaymentStatus.REQUIRES_ACTION
        if attempts and attempts[-1].status is TransactionStatus.FAILED:
            return PaymentStatus.FAILED
        return PaymentStatus.PENDING

    def has(self, transaction_id: str) -> bool:
        """Whether the ledger already holds this gateway transaction."""
        return any(t.id == transaction_id for t in self.transactions)

    # --- operations under way ----------------------------------------------------------

    def _pending(self, kind: TransactionKind) -> int:
        return sum(intent.amount_units for intent in self.intents if intent.kind is kind)

    def _busy(self, kind: TransactionKind) -> bool:
        return any(intent.kind is kind for intent in self.intents)

    @property
    def uncommitted_units(self) -> int:
        """What may still be captured once the captures under way are counted."""
        return max(self.capturable_units - self._pending(TransactionKind.CAPTURE), 0)

    @property
    def busy_since(self) -> datetime | None:
        """When the oldest operation still under way was asked for; ``None`` if none is."""
        return min((intent.requested_at for intent in self.intents), default=None)

    def intent(self, intent_id: str) -> Intent | None:
        """The operation under way with this id, if it is still under way."""
        return next((intent for intent in self.intents if intent.id == intent_id), None)

    def begin(
        self,
        kind: TransactionKind,
        amount_units: int | None = None,
        *,
        id: str,
        at: datetime,
        actor: str = "",
        holder: str = "",
        lease: timedelta = timedelta(0),
    ) -> Intent:
        """Record that a capture, void or refund is being asked of the gateway, counting
        what it takes against the ledger together with the others under way, so that
        two at once can never take or give back more than the payment may.

        With a ``holder``, the operation is also claimed for that caller for ``lease``
        (see :meth:`claim`): asked again under the same id by another caller, it is
        theirs only once the first one's claim has run out.

        :param amount_units: what to capture or refund (all that may be, if ``None``);
            ignored for a void.
        :raises PaymentLimitExceeded: beyond what is left once the operations under
            way are counted.
        :raises InvalidTransition: for an operation the payment's state refuses, or
            for all of a capture or refund when nothing is left.
        :raises OperationInProgress: for a void while a capture is under way (or a
            capture while a void is), whose outcome it depends on.
        :raises RequestInProgress: for the same operation asked again while another
            caller holds it.
        """
        existing = self.intent(id)
        if existing is not None:
            # The same operation asked again (a retry): it goes on under its own key.
            _same_request(id, (kind, amount_units), (existing.kind, existing.amount_units))
            return self.claim(id, holder, at=at, lease=lease) if holder else existing
        if kind is TransactionKind.CAPTURE:
            if self._busy(TransactionKind.VOID):
                raise OperationInProgress("payment", "a void")
            left = self.uncommitted_units
            # All, when nothing is named, is all that is due (an edit may have made
            # it less than what stands authorized).
            due = max(self.amount_units - self.captured_units - self._pending(kind), 0)
            units = self._all_or(amount_units, min(left, due), kind)
            self.check_capture(units, left=left)
        elif kind is TransactionKind.INCREMENT:
            if self.voided or not self.authorized_units or self._busy(TransactionKind.VOID):
                raise InvalidTransition("payment", self.status.value, "authorize more on")
            if amount_units is None:
                raise InvalidInput("an amount to add is needed", field="amount")
            self._positive(amount_units)
            units = amount_units
        elif kind is TransactionKind.REFUND:
            left = max(self.refundable_units - self._pending(TransactionKind.REFUND), 0)
            units = self._all_or(amount_units, left, kind)
            self.check_refund(units, left=left)
        elif kind is TransactionKind.VOID:
            if self._busy(TransactionKind.CAPTURE):
                raise OperationInProgress("payment", "a capture")
            if self._busy(TransactionKind.VOID):
                raise OperationInProgress("payment", "a void")
            self.check_void()
            units = self.capturable_units
        else:
            raise InvalidInput(
                "an authorization is asked for when the order is placed", field="kind"
            )
        intent = Intent(
            id=id,
            kind=kind,
            amount_units=units,
            key=f"{self.id}:{kind.value}:{id}",
            requested_at=at,
            actor=actor,
            holder=holder,
            leased_until=at + lease if holder else None,
        )
        self.intents.append(intent)
        self.version += 1
        return intent

    def ask_authorization(self, *, at: datetime, holder: str, lease: timedelta) -> Intent:
        """Record that the amount due is being authorized (or charged) by the gateway,
        claimed for ``holder``: every caller placing the same order finds it, and only
        the holder asks the gateway. Asked again, it is claimed again (see :meth:`claim`).
        While the customer's action is awaited, what is asked is its confirmation,
        under a key of its own.

        :raises InvalidTransition: once the authorization was answered.
        :raises RequestInProgress: while another caller holds it.
        """
        key = authorization_key(self.order_id)
        if self.intent(key) is not None:
            return self.claim(key, holder, at=at, lease=lease)
        status = self.status
        if status is PaymentStatus.PENDING:
            gateway_key = key
        elif status is PaymentStatus.REQUIRES_ACTION:
            gateway_key = f"{self.id}:confirm"
        else:
            raise InvalidTransition("payment", status.value, "authorize")
        intent = Intent(
            id=key,
            kind=TransactionKind.AUTHORIZE,
            amount_units=self.amount_units,
            key=gateway_key,
            requested_at=at,
            actor="customer",
            holder=holder,
            leased_until=at + lease,
        )
        self.intents.append(intent)
        self.version += 1
        return intent

    @property
    def authorizing(self) -> Intent | None:
        """The authorization under way, if it was asked and not answered yet."""
        return self.intent(authorization_key(self.order_id))

    def claim(self, intent_id: str, holder: str, *, at: datetime, lease: timedelta) -> Intent:
        """Take an operation under way for one caller to ask the gateway, so that
        however many callers ask at once, the gateway is asked once at a time. A claim
        runs out after ``lease``: a caller that stopped midway holds nothing for long.

        :raises RequestInProgress: while another caller's claim has not run out.
        :raises NotFound: for an operation no longer under way (it was answered).
        """
        intent = self.intent(intent_id)
        if intent is None:
            raise NotFound("operation under way", intent_id, field="idempotency_key")
        if intent.held_by_other(holder, at):
            raise RequestInProgress()
        if intent.holder == holder and intent.leased_until is not None and intent.leased_until > at:
            return intent  # still this caller's
        claimed = attrs.evolve(intent, holder=holder, leased_until=at + lease)
        self._replace(claimed)
        return claimed

    def let_go(self, intent_id: str, holder: str) -> bool:
        """The holder stops asking (the gateway could not be reached): the operation
        stays under way, free for a retry or the sweep to take at once.

        :returns: whether ``holder`` held it.
        """
        intent = self.intent(intent_id)
        if intent is None or intent.holder != holder:
            return False
        self._replace(attrs.evolve(intent, holder="", leased_until=None))
        return True

    def _replace(self, intent: Intent) -> None:
        self.intents = [intent if i.id == intent.id else i for i in self.intents]
        self.version += 1

    def _all_or(self, amount_units: int | None, left: int, kind: TransactionKind) -> int:
        """``amount_units``, or all that is ``left`` when none is named.

        :raises InvalidTransition: asked for all when nothing is left (it all went, or
            is going, to operations under way).
        """
        if amount_units is not None:
            return amount_units
        if not left:
            raise InvalidTransition("payment", self.status.value, kind.value)
        return left

    def finish(self, intent_id: str) -> bool:
        """The gateway answered (or never got) the operation: it is no longer under way.

        :returns: whether it was under way.
        """
        kept = [intent for intent in self.intents if intent.id != intent_id]
        if len(kept) == len(self.intents):
            return False
        self.intents = kept
        self.version += 1
        return True

    # --- checks before calling a gateway ----------------------------------------------

    def check_capture(self, amount_units: int, *, left: int | None = None) -> None:
        """:raises PaymentLimitExceeded: beyond what is authorized and not yet captured.
        :raises InvalidTransition: for a voided or unauthorized payment."""
        if self.voided or not self.authorized_units:
            raise InvalidTransition("payment", self.status.value, "capture")
        self._positive(amount_units)
        available = self.capturable_units if left is None else left
        if amount_units > available:
            raise self._over_limit("capture", amount_units, available)

    def check_refund(self, amount_units: int, *, left: int | None = None) -> None:
        """:raises PaymentLimitExceeded: beyond what was captured and not yet refunded
        (or beyond ``left``, when refunds under way are counted too)."""
        self._positive(amount_units)
        available = self.refundable_units if left is None else left
        if amount_units > available:
            raise self._over_limit("refund", amount_units, available)

    def check_void(self) -> None:
        """Voiding releases what is authorized and not captured (all of it, or the
        rest after a partial capture); no capture can follow.

        :raises InvalidTransition: if nothing is left to release.
        """
        if not self.capturable_units:
            raise InvalidTransition("payment", self.status.value, "void")

    @staticmethod
    def _positive(amount_units: int) -> None:
        if isinstance(amount_units, bool) or not isinstance(amount_units, int) or amount_units <= 0:
            raise InvalidInput("must be a positive whole number of minor units", field="amount")

    # --- applying what the gateway reports --------------------------------------------

    def answered(
        self, intent_id: str, kind: TransactionKind, amount_units: int | None = None
    ) -> Transaction | None:
        """The ledger entry that answered one of our operations, if it was answered.

        :raises IdempotencyConflict: when the id answered another operation (another
            kind, or another amount) than the one asked for now.
        """
        found = next((t for t in self.transactions if intent_id and t.intent_id == intent_id), None)
        if found is not None:
            _same_request(intent_id, (kind, amount_units), (found.kind, found.amount_units))
        return found

    def apply(self, event: GatewayEvent, *, intent_id: str = "") -> bool:
        """Apply a gateway event to the ledger, once.

        This is the one function through which every gateway fact enters, whether it
        came back from our own call, from the customer's confirmation or from a
        webhook, so a fact arriving twice or by two paths is recorded once.

        :returns: whether the ledger changed.
        :raises CurrencyMismatch: for an event in another currency.
        :raises InvalidInput: for a negative amount, or a successful capture, refund or
            authorization of nothing.
        :raises EventOutOfOrder: for a refund whose capture is not recorded yet, or a
            void before any authorization.

        A fact that would take or give back more than the ledger allows is neither
        refused nor recorded: the payment is flagged for staff with it (see
        ``attention``). A capture the gateway made after a void was asked is recorded,
        and flagged too.
        """
        if event.currency != self.currency:
            raise CurrencyMismatch(self.currency, event.currency, field="currency")
        if isinstance(event.amount_units, bool) or not isinstance(event.amount_units, int):
            raise InvalidInput("must be a whole number of minor units", field="amount")
        moves_money = event.kind is not TransactionKind.VOID
        if event.status is TransactionStatus.SUCCEEDED and moves_money and event.amount_units <= 0:
            raise InvalidInput("a successful operation moves a positive amount", field="amount")
        if event.amount_units < 0:
            raise InvalidInput("an amount cannot be negative", field="amount")
        if self.has(event.transaction_id):
            return self.finish(intent_id) if intent_id else False
        self._answering = intent_id
        handler = {
            TransactionKind.AUTHORIZE: self._apply_authorization,
            TransactionKind.INCREMENT: self._apply_increment,
            TransactionKind.CAPTURE: self._apply_capture,
            TransactionKind.VOID: self._apply_void,
            TransactionKind.REFUND: self._apply_refund,
        }[event.kind]
        try:
            changed = handler(event)
        finally:
            self._answering = ""
        if intent_id:
            changed = self.finish(intent_id) or changed
        if changed:
            if self.reference is None:
                self.reference = event.payment_reference
            self.version += 1
        return changed

    def _discrepancy(self, event: GatewayEvent, detail: str) -> bool:
        """The gateway reports a fact the ledger cannot take as it came (it would break
        what the ledger promises): the payment is flagged for staff with what the
        gateway said; the caller records what of it the ledger can hold, if anything.

        :returns: whether the flag is new (the same fact again is flagged once).
        """
        about = f"{event.kind.value} {event.transaction_id}:"
        note = f"{about} {detail}"
        attention = with_note(self.attention, note, about=about)
        if attention is None:
            return False  # the same fact again: flagged once
        self.attention = attention
        self.events.append(
            NeedsAttention(
                occurred_at=event.occurred_at,
                order_id=self.order_id,
                payment_id=self.id,
                detail=note,
            )
        )
        return True

    def _record(
        self, event: GatewayEvent, *, amount_units: int | None = None, suffix: str = ""
    ) -> None:
        self.transactions.append(
            Transaction(
                id=event.transaction_id + suffix,
                kind=event.kind if not suffix else TransactionKind.AUTHORIZE,
                status=event.status if not suffix else TransactionStatus.SUCCEEDED,
                amount_units=event.amount_units if amount_units is None else amount_units,
                occurred_at=event.occurred_at,
                detail=event.detail,
                intent_id="" if suffix else self._answering,
            )
        )

    def _event(
        self,
        cls: type[PaymentAuthorized]
        | type[PaymentCaptured]
        | type[PaymentVoided]
        | type[PaymentRequiresAction],
        amount_units: int,
        at: datetime,
    ) -> None:
        self.events.append(
            cls(
                occurred_at=at,
                payment_id=self.id,
                order_id=self.order_id,
                currency=self.currency,
                amount_units=amount_units,
            )
        )

    def _apply_authorization(self, event: GatewayEvent) -> bool:
        # A payment is authorized once; a late or repeated report of the attempt (a
        # "requires action" after the success, say) changes nothing.
        if self.authorized_units or self.voided:
            return False
        if event.status is TransactionStatus.SUCCEEDED:
            if event.amount_units > self.amount_units:
                return self._discrepancy(
                    event, f"authorized {event.amount_units} of {self.amount_units} due"
                )
            self._record(event)
            self._event(PaymentAuthorized, event.amount_units, event.occurred_at)
        elif event.status is TransactionStatus.REQUIRES_ACTION:
            if self.status is not PaymentStatus.PENDING:
                return False
            self._record(event)
            self._event(PaymentRequiresAction, event.amount_units, event.occurred_at)
        else:
            self._record(event)
            self.events.append(
                PaymentFailed(
                    occurred_at=event.occurred_at,
                    payment_id=self.id,
                    order_id=self.order_id,
                    currency=self.currency,
                    amount_units=event.amount_units,
                    reason=event.detail or "declined",
                )
            )
        return True

    def _apply_increment(self, event: GatewayEvent) -> bool:
        if event.status is TransactionStatus.SUCCEEDED:
            # An increment we asked for is recorded as the gateway made it (the edit that
            # asked may have lost its race meanwhile: capturing all that is due then
            # releases it); one nobody asked for, only within what is due.
            asked = self.intent(self._answering) if self._answering else None
            ours = asked is not None and asked.kind is TransactionKind.INCREMENT
            if ours and asked is not None and event.amount_units > asked.amount_units:
                return self._discrepancy(event, "authorized more than was asked")
            if not ours and self.authorized_units + event.amount_units > self.amount_units:
                return self._discrepancy(
                    event, f"authorized {event.amount_units} more, beyond the amount due"
                )
            self._record(event)
            self._event(PaymentAuthorized, event.amount_units, event.occurred_at)
            return True
        self._record(event)  # refused (or awaiting an action): nothing more is held
        return True

    def set_due(self, amount_units: int) -> None:
        """The amount due changed (its order was edited): what may be authorized and
        what "all" captures follow it.

        :raises InvalidInput: for a negative amount.
        """
        if isinstance(amount_units, bool) or not isinstance(amount_units, int) or amount_units < 0:
            raise InvalidInput("must be a whole number of minor units", field="amount")
        if amount_units != self.amount_units:
            self.amount_units = amount_units
            self.version += 1

    def _apply_capture(self, event: GatewayEvent) -> bool:
        if event.status is not TransactionStatus.SUCCEEDED:
            self._record(event)
            return True
        if not self.authorized_units:
            # The gateway only captures what it authorized: a capture reported before
            # its authorization proves the authorization of the amount due. Check the
            # capture first, so that a refused one leaves the ledger as it was.
            if event.amount_units > self.amount_units:
                return self._discrepancy(
                    event, f"captured {event.amount_units} of {self.amount_units} due"
                )
            self._record(event, amount_units=self.amount_units, suffix=":authorization")
            self._event(PaymentAuthorized, self.amount_units, event.occurred_at)
        if self.voided:
            # The capture reached the gateway before the void did: the money was taken,
            # and the ledger says so; what the void released is what was left.
            if event.amount_units > self.authorized_units - self.captured_units:
                return self._discrepancy(event, "captured more than was authorized")
            self._record(event)
            self._event(PaymentCaptured, event.amount_units, event.occurred_at)
            self._discrepancy(event, "captured after the authorization was voided")
            return True
        if event.amount_units > self.capturable_units:
            return self._discrepancy(
                event, f"captured {event.amount_units}, {self.capturable_units} capturable"
            )
        self._record(event)
        self._event(PaymentCaptured, event.amount_units, event.occurred_at)
        return True

    def _apply_void(self, event: GatewayEvent) -> bool:
        if event.status is not TransactionStatus.SUCCEEDED:
            self._record(event)
            return True
        if self.voided:
            return False
        if not self.authorized_units:
            raise EventOutOfOrder(
                f"void {event.transaction_id} arrived before the authorization", field="kind"
            )
        # What the gateway says it released is what was released (a gateway that does
        # not say released what was left); never more than was left to release.
        left = self.authorized_units - self.captured_units
        released = event.amount_units or left
        if released > left:
            self._discrepancy(event, f"released {released}, {left} was left")
            released = left
        self._record(event, amount_units=released)
        self._event(PaymentVoided, released, event.occurred_at)
        return True

    def _apply_refund(self, event: GatewayEvent) -> bool:
        if event.status is not TransactionStatus.SUCCEEDED:
            self._record(event)
            return True
        if event.amount_units > self.refundable_units:
            # A refund of money whose capture is not recorded yet has overtaken it:
            # refused for now, it applies when the gateway delivers it again.
            if event.amount_units <= self.authorized_units - self.refunded_units or (
                not self.authorized_units and event.amount_units <= self.amount_units
            ):
                raise EventOutOfOrder(
                    f"refund {event.transaction_id} arrived before the capture it refunds",
                    field="kind",
                )
            return self._discrepancy(
                event, f"refunded {event.amount_units}, {self.refundable_units} refundable"
            )
        self._record(event)
        self.events.append(
            PaymentRefunded(
                occurred_at=event.occurred_at,
                payment_id=self.id,
                order_id=self.order_id,
                currency=self.currency,
                amount_units=event.amount_units,
                transaction_id=event.transaction_id,
            )
        )
        return True


def _same_request(
    key: str,
    asked: tuple[TransactionKind, int | None],
    earlier: tuple[TransactionKind, int],
) -> None:
    """An operation id names one operation: asked again, it must be the same kind and,
    when an amount is named, the same amount.

    :raises IdempotencyConflict: otherwise.
    """
    (kind, units), (earlier_kind, earlier_units) = asked, earlier
    if kind is not earlier_kind or (units is not None and units != earlier_units):
        raise IdempotencyConflict(key)
