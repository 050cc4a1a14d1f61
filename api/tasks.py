"""Celery tasks of the REST API."""

from __future__ import annotations

from celery import shared_task

from api.services import idempotent_requests_purge


@shared_task(name="api.idempotency_purge")
def idempotency_purge_task() -> int:
    """Beat's hourly purge of the kept ``Idempotency-Key`` responses past their retention."""
    return idempotent_requests_purge()
