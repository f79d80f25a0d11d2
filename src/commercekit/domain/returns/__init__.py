"""Returns and refunds: the return policy, returns (RMA) and their inspection, and
refunds computed from what was paid."""

from commercekit.domain.returns.claims import Claim, ClaimKind, ClaimResolution
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
]
