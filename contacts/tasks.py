"""Celery tasks of contacts: they take ids and call a service (which is idempotent)."""

from __future__ import annotations

from celery import shared_task

from contacts.services.bulk import BULK_ACTION_RUN, bulk_action_run


@shared_task(name=BULK_ACTION_RUN)
def bulk_action_run_task(bulk_action_id: int) -> int:
    """Apply a confirmed bulk action to the contacts it has left; resumes where a dead worker stopped."""
    return bulk_action_run(bulk_action_id=bulk_action_id).done
