"""Celery tasks of the dispatch engine. They take ids, re-read the world, and are idempotent,
so ``acks_late`` redelivery after a crash is safe; writes happen in the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db.models import Q

from . import services
from .services.deferred import (
    batch_lease,
    batch_release,
    dispatches_planning_stalled,
    sends_held_elsewhere,
    stalled_batches_claim,
    stalled_sends,
)

RETRY_BACKOFF = 30  # seconds, doubled on each retry


def retry_countdown(retries: int) -> int:
    base = getattr(settings, "MESSAGING_RETRY_BACKOFF_SECONDS", RETRY_BACKOFF)
    return int(min(base * 2**retries, 3600))


def lease_countdown() -> int:
    return int(batch_lease().total_seconds()) + 1


@shared_task(name="messaging.dispatch_plan", acks_late=True)
def dispatch_plan_task(dispatch_id: int) -> int:
    """Split a dispatch into batches and enqueue one task per batch still to do."""
    batch_ids = services.dispatch_plan(dispatch_id=dispatch_id)
    for batch_id in batch_ids:
        dispatch_batch_task.delay(batch_id)
    return len(batch_ids)


@shared_task(name="messaging.dispatch_batch", bind=True, acks_late=True, max_retries=None)
def dispatch_batch_task(self, batch_id: int) -> dict:
    """Decide, then deliver, one batch; delivery errors are retried with backoff."""
    batch = services.batch_claim(batch_id=batch_id)
    if batch is None:
        return {"done": True}
    decided = services.batch_decide(batch=batch)
    report = decided.handed_over
    sends = Q(dispatch_id=batch.dispatch_id, contact_id__gte=batch.first_contact_id, contact_id__lte=batch.last_contact_id)
    if not report.retry:
        # Sends of backends that hand over after the decision, and any an earlier run left.
        report.add(services.sends_deliver(sends=sends, batch_id=batch_id))
    if report.retry:
        batch_release(batch_id=batch_id)
        raise self.retry(countdown=retry_countdown(self.request.retries))
    if sends_held_elsewhere(sends=sends):
        # Another deliverer holds some (a redelivered task, or a dead worker's lease): look again after the lease.
        batch_release(batch_id=batch_id)
        raise self.retry(countdown=lease_countdown())
    services.batch_finish(batch_id=batch_id)
    return {"decided": decided.decided, "delivered": report.delivered, "failed": report.failed}


@shared_task(name="messaging.deliver_sends", bind=True, acks_late=True, max_retries=None)
def deliver_sends_task(self, send_ids: list[int]) -> dict:
    report = services.sends_deliver(sends=Q(pk__in=send_ids))
    if report.retry:
        raise self.retry(args=[report.retry], countdown=retry_countdown(self.request.retries))
    if sends_held_elsewhere(sends=Q(pk__in=send_ids)):
        raise self.retry(countdown=lease_countdown())
    return {"delivered": report.delivered, "failed": report.failed}


DELIVERY_TASK_SIZE = 1000


@shared_task(name="messaging.process_deferred", acks_late=True)
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
    for dispatch_id in dispatches_planning_stalled():
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
