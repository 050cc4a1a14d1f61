"""Celery tasks of contacts: one-line bodies that call a service (they take ids, and may run twice)."""

from celery import shared_task

from contacts.imports.runner import IMPORT_RUN, import_run


@shared_task(name=IMPORT_RUN)
def import_run_task(import_id: int) -> str:
    """The dry run or the import of one file, from its last committed chunk."""
    return import_run(import_id=import_id)
