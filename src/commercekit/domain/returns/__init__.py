"""Returns and refunds: the return policy, returns (RMA) and their inspection,
refunds computed from what was paid, and exchanges for other goods."""

from commercekit.domain.returns.claims import Claim, ClaimKind, ClaimResolution
from commercekit.domain.returns.exchanges import (
    Exchange,
    ExchangeLine,
    ExchangeStatus,
    replacement_order,
)
from commercekit.domain.returns.policy import ReturnPolicy, ReturnReason, ReturnShippingPaidBy
from commercekit.domain.returns.refunds import (
    PlannedLine,
    Refund,
    RefundKind,
    RefundLedger,
    RefundPlan,
    RefundStatus,
    fee_units,
    line_share,
)
from commercekit.domain.returns.rma import (
    Inspection,
    InspectionOutcome,
    Return,
    ReturnLabel,
    ReturnLine,
    ReturnStatus,
    ReturnStep,
)

__all__ = [
    "Claim",
    "ClaimKind",
    "ClaimResolution",
    "Exchange",
    "ExchangeLine",
    "ExchangeStatus",
    "Inspection",
    "InspectionOutcome",
    "PlannedLine",
    "Refund",
    "RefundKind",
    "RefundLedger",
    "RefundPlan",
    "RefundStatus",
    "Return",
    "ReturnLabel",
    "ReturnLine",
    "ReturnPolicy",
    "ReturnReason",
    "ReturnShippingPaidBy",
    "ReturnStatus",
    "ReturnStep",
    "fee_units",
    "line_share",
    "replacement_order",
]
