"""Celery tasks of the dispatch engine. They take ids, re-read the world, and are idempotent,
so ``acks_late`` redelivery after a crash is safe; writes happen in the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import selectors, services
from .engine.deferred import batch_lease, stalled_batches_claim, stalled_sends
from .engine.queue import DISPATCH_PLAN

# A failed hand-over is tried again after MESSAGING_RETRY_BACKOFF_SECONDS, doubling each time up
# to the maximum, jittered so that the retries of many batches do not arrive together. The number
# of attempts is counted on the send rows (MESSAGING_MAX_ATTEMPTS), so the task retries for ever.
DELIVERY_RETRIES = {
    "autoretry_for": (services.DeliveryRetry,),
    "retry_backoff": settings.MESSAGING_RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": settings.MESSAGING_RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": None,
}


def lease_countdown() -> int:
    return int(batch_lease().total_seconds()) + 1


@shared_task(name=DISPATCH_PLAN)
def dispatch_plan_task(dispatch_id: int) -> int:
    """Split a dispatch into batches and enqueue one task per batch still to do."""
    batch_ids = services.dispatch_plan(dispatch_id=dispatch_id)
    for batch_id in batch_ids:
        dispatch_batch_task.delay(batch_id)
    return len(batch_ids)


@shared_task(name="messaging.dispatch_batch", bind=True, **DELIVERY_RETRIES)
def dispatch_batch_task(self, batch_id: int) -> dict:
    """Decide, then deliver, one batch; delivery errors are retried with backoff."""
    try:
        return services.batch_run(batch_id=batch_id)
    except services.SendsHeldElsewhere:
        # Not a failure: the holder's lease decides when to look again, not the backoff.
        raise self.retry(countdown=lease_countdown()) from None


@shared_task(name="messaging.deliver_sends", bind=True, **DELIVERY_RETRIES)
def deliver_sends_task(self, send_ids: list[int]) -> dict:
    """Deliver decided sends; delivery errors are retried with backoff."""
    try:
        return services.sends_deliver_now(send_ids=send_ids)
    except services.SendsHeldElsewhere:
        raise self.retry(countdown=lease_countdown()) from None


DELIVERY_TASK_SIZE = 1000


@shared_task(name="messaging.process_deferred")
def process_deferred_task() -> dict:
    """The periodic sweep: re-decide due deferred sends, and pick up work whose worker died."""
    return process_deferred()


def process_deferred() -> dict:
    report = services.deferred_process()
    for start in range(0, len(report.to_deliver), DELIVERY_TASK_SIZE):
        deliver_sends_task.delay(report.to_deliver[start : start + DELIVERY_TASK_SIZE])
    stalled = stalled_batches_claim()
    for batch_id in stalled:
        dispatch_batch_task.delay(batch_id)
    for dispatch_id in selectors.dispatches_planning_stalled():
        dispatch_plan_task.delay(dispatch_id)
    stuck = stalled_sends()
    for start in range(0, len(stuck), DELIVERY_TASK_SIZE):
        deliver_sends_task.delay(stuck[start : start + DELIVERY_TASK_SIZE])
    return {
        "reevaluated": report.reevaluated,
        "outcomes": dict(report.outcomes),
        "stalled_batches": len(stalled),
        "stalled_sends": len(stuck),
    }


@shared_task(name="messaging.start_scheduled")
def start_scheduled_task() -> list[int]:
    """The periodic start of scheduled dispatches that are due; safe to run from two beats at once."""
    return services.schedules_start_due()
