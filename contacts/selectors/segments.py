"""Reads behind the dynamic segment pages: the builder's live count and a filter in words."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connection, transaction

from contacts.models import Contact, Segment
from contacts.segment_filter import FilterCatalog, filter_q, filter_words

# When the full count does not finish within the time limit, count up to this many instead.
COUNT_FLOOR = 10_000


@dataclass(frozen=True)
class LiveCount:
    """How many contacts a filter matches; ``more``: at least ``count`` (the count was cut)."""

    count: int | None
    more: bool = False


def _count(queryset, *, limit: int | None, timeout_ms: int) -> int | None:
    """COUNT(*) bounded by a statement timeout; None when cut."""
    queryset = queryset.order_by()
    if limit is not None:
        queryset = queryset[: limit + 1]
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
            return queryset.count()
    except OperationalError:  # the statement timeout (psycopg's QueryCanceled)
        return None


def filter_count(*, spec: dict, timeout_ms: int | None = None) -> LiveCount:
    """The contacts a (validated) filter matches now, within ``SEGMENT_COUNT_TIMEOUT_MS``:
    the exact number, or "more than ``COUNT_FLOOR``" when the full count is cut."""
    timeout_ms = timeout_ms or settings.SEGMENT_COUNT_TIMEOUT_MS
    catalog = FilterCatalog.load()
    contacts = Contact.objects.filter(filter_q(spec, catalog=catalog))
    total = _count(contacts, limit=None, timeout_ms=timeout_ms)
    if total is not None:
        return LiveCount(total)
    floor = _count(contacts, limit=COUNT_FLOOR, timeout_ms=timeout_ms)
    if floor is None:
        return LiveCount(None, more=True)
    return LiveCount(min(floor, COUNT_FLOOR), more=floor > COUNT_FLOOR)


def segment_filter_words(*, segment: Segment, catalog: FilterCatalog | None = None) -> str:
    """The segment's filter as a sentence, or "" for a static segment. Pass ``catalog`` (read once
    with ``FilterCatalog.load()``) to describe many segments without reading it again for each."""
    if segment.filter is None:
        return ""
    return filter_words(segment.filter, catalog=catalog or FilterCatalog.load())


def filter_catalog_json() -> list[dict]:
    """What the builder offers: every field with its type, operators and choices."""
    return FilterCatalog.load().as_json()
