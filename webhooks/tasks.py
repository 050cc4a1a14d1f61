"""Celery tasks of the outbound webhooks. They take ids, re-read the outbox and are idempotent
(a delivery is marked once it succeeded; a repeat carries the same ``webhook-id``)."""

from __future__ import annotations

from celery import shared_task

from webhooks import delivery
from webhooks.outbox import ENDPOINT_DRAIN, endpoints_drain_enqueue


@shared_task(name=ENDPOINT_DRAIN)
def endpoint_drain_task(endpoint_id: int) -> dict:
    """Deliver what is due to one endpoint (after a commit that wrote events, or from the sweep)."""
    return delivery.endpoint_drain(endpoint_id=endpoint_id)


@shared_task(name="webhooks.sweep")
def sweep() -> list[int]:
    """Beat's retry clock: wake the endpoints with a delivery due (a retry whose time has come, or
    an event whose after-commit message was lost) that no worker is draining."""
    endpoint_ids = delivery.endpoints_due()
    endpoints_drain_enqueue(endpoint_ids)
    return endpoint_ids
