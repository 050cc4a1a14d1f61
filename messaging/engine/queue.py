"""How the services put work on the Celery queue: by task name, so a service never imports the
tasks module that calls it back (tasks → services is the only direction)."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

DISPATCH_PLAN = "messaging.dispatch_plan"


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send ``task_name`` with ``args`` once the current transaction commits (never if it rolls
    back), so a worker never looks for rows it cannot see yet."""
    transaction.on_commit(lambda: current_app.send_task(task_name, args=args))
