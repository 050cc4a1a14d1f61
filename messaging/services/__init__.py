"""The writes of messaging, as views, the admin, commands and tasks call them: one façade over the
engine (``messaging.engine``: dispatching, the deferral queue), delivery (``messaging.delivery.handover``)
and the staff's message edits (``messages``). Inside the engine and delivery, modules import each other
directly; everything outside them goes through here."""

from messaging.engine.deferred import (
    DeferredReport,
    DeliveryRetry,
    SendsHeldElsewhere,
    batch_run,
    deferred_cancel,
    deferred_process,
    sends_deliver_now,
)
from messaging.delivery.handover import DeliveryReport, sends_deliver
from messaging.engine.dispatch import (
    BatchReport,
    DispatchInvalid,
    batch_claim,
    batch_decide,
    batch_finish,
    dispatch_create,
    dispatch_errors,
    dispatch_plan,
)
from .pages import (
    PageCannotPublish,
    PageInUse,
    page_brand_update,
    page_create,
    page_delete,
    page_publish,
    page_update,
    page_version_save,
)
from messaging.feedback import unsubscribe_feedback_record
from .reasons import leaving_reason_create, leaving_reason_update, leaving_reasons_save
from .messages import MessageHasSends, message_archive, message_create, message_delete, message_update
from .proofs import TestSendRefused, TestSendReport, message_test_send, test_recipients_parse
from .schedules import (
    ScheduleInvalid,
    schedule_cancel,
    schedule_create,
    schedule_moment,
    schedule_start,
    schedule_update,
    schedules_start_due,
)

__all__ = [
    "BatchReport",
    "DeferredReport",
    "DeliveryReport",
    "DeliveryRetry",
    "DispatchInvalid",
    "MessageHasSends",
    "PageCannotPublish",
    "PageInUse",
    "ScheduleInvalid",
    "SendsHeldElsewhere",
    "TestSendRefused",
    "TestSendReport",
    "batch_claim",
    "batch_decide",
    "batch_finish",
    "batch_run",
    "deferred_cancel",
    "deferred_process",
    "dispatch_create",
    "dispatch_errors",
    "dispatch_plan",
    "message_archive",
    "message_create",
    "message_delete",
    "message_test_send",
    "message_update",
    "page_brand_update",
    "page_create",
    "page_delete",
    "page_publish",
    "page_update",
    "page_version_save",
    "schedule_cancel",
    "schedule_create",
    "schedule_moment",
    "schedule_start",
    "schedule_update",
    "schedules_start_due",
    "sends_deliver",
    "sends_deliver_now",
    "test_recipients_parse",
    "unsubscribe_feedback_record",
    "leaving_reason_create",
    "leaving_reason_update",
    "leaving_reasons_save",
]
