"""Store credit and gift cards: balances a store keeps for its customers, each an
append-only ledger that never goes below zero, and the part of an order they pay.

- :mod:`~commercekit.domain.credit.ledger`: the ledger, and a customer's
  :class:`CreditAccount` (one per customer and currency);
- :mod:`~commercekit.domain.credit.gift_cards`: :class:`GiftCard`, its codes and
  their digests;
- :mod:`~commercekit.domain.credit.tenders`: what a checkout pays with, and what each
  balance pays of a total.
"""

from __future__ import annotations

from commercekit.domain.credit.gift_cards import (
    CODE_ALPHABET,
    CODE_LENGTH,
    GiftCard,
    GiftCardStatus,
    code_digest,
    new_gift_card_code,
    normalize_code,
)
from commercekit.domain.credit.ledger import (
    MAX_BALANCE_UNITS,
    CreditAccount,
    CreditEntry,
    CreditReason,
    Ledger,
)
from commercekit.domain.credit.tenders import (
    MAX_GIFT_CARDS,
    AppliedGiftCard,
    CheckoutTenders,
    Tender,
    TenderKind,
    check_quote,
    plan_tenders,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "MAX_BALANCE_UNITS",
    "MAX_GIFT_CARDS",
    "AppliedGiftCard",
    "CheckoutTenders",
    "CreditAccount",
    "CreditEntry",
    "CreditReason",
    "GiftCard",
    "GiftCardStatus",
    "Ledger",
    "Tender",
    "TenderKind",
    "check_quote",
    "code_digest",
    "new_gift_card_code",
    "normalize_code",
    "plan_tenders",
]
