"""Celery tasks of the contacts app: one-line bodies that call a service (they take ids, re-read the world, and may run twice)."""

from __future__ import annotations

from celery import shared_task

from contacts.imports.runner import IMPORT_RUN, import_run
from contacts.services.bulk import BULK_ACTION_RUN, bulk_action_run
from contacts.services.dynamic_segments import (
    SEGMENT_REBUILD, SEGMENTS_REBUILD, segment_rebuild, segments_rebuild_all,
)


@shared_task(name=BULK_ACTION_RUN)
def bulk_action_run_task(bulk_action_id: int) -> int:
    """Apply a confirmed bulk action to the contacts it has left; resumes where a dead worker stopped."""
    return bulk_action_run(bulk_action_id=bulk_action_id).done


@shared_task(name=IMPORT_RUN)
def import_run_task(import_id: int) -> str:
    """The dry run or the import of one file, from its last committed chunk."""
    return import_run(import_id=import_id)


@shared_task(name=SEGMENT_REBUILD)
def segment_rebuild_task(segment_id: int) -> dict | None:
    """Rebuild one dynamic segment (on demand from its page, or after its filter changed)."""
    result = segment_rebuild(segment_id=segment_id)
    return None if result is None else {"added": result.added, "removed": result.removed}


@shared_task(name=SEGMENTS_REBUILD)
def segments_rebuild_task() -> int:
    """Rebuild every dynamic segment (beat schedule): relative dates move on even when nobody changes."""
    return len(segments_rebuild_all())
