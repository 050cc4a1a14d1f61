"""Celery tasks of the contacts app: they take ids, re-read the world and call a service."""

from __future__ import annotations

from celery import shared_task

from contacts.services.dynamic_segments import (
    SEGMENT_REBUILD, SEGMENTS_REBUILD, segment_rebuild, segments_rebuild_all,
)


@shared_task(name=SEGMENT_REBUILD)
def segment_rebuild_task(segment_id: int) -> dict | None:
    """Rebuild one dynamic segment (on demand from its page, or after its filter changed)."""
    result = segment_rebuild(segment_id=segment_id)
    return None if result is None else {"added": result.added, "removed": result.removed}


@shared_task(name=SEGMENTS_REBUILD)
def segments_rebuild_task() -> int:
    """Rebuild every dynamic segment (beat schedule): relative dates move on even when nobody changes."""
    return len(segments_rebuild_all())
