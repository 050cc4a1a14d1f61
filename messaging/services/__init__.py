"""The write path of messaging: dispatching, delivering, the deferral queue."""

from .deferred import DeferredReport, deferred_cancel, deferred_process
from .delivery import DeliveryReport, sends_deliver
from .dispatch import (
    BatchReport,
    DispatchInvalid,
    batch_claim,
    batch_decide,
    batch_finish,
    dispatch_create,
    dispatch_plan,
    message_recipient_count,
)

__all__ = [
    "BatchReport",
    "DeferredReport",
    "DeliveryReport",
    "DispatchInvalid",
    "batch_claim",
    "batch_decide",
    "batch_finish",
    "deferred_cancel",
    "deferred_process",
    "dispatch_create",
    "dispatch_plan",
    "message_recipient_count",
    "sends_deliver",
]
