"""A contact's timeline: the preference history plus what other apps register (messaging's sends).

Apps add a ``TimelineSource`` from their ``AppConfig.ready``; contacts never imports them. Items of
every source are merged newest first and paged by time: one query per source and page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Callable

from django.db.models import QuerySet

from contacts.models import Contact, PreferenceChange

TIMELINE_PAGE = 50


@dataclass(frozen=True)
class TimelineSource:
    rows: Callable[[Contact], QuerySet]  # every row of one contact
    time_field: str
    template: str  # renders one row, given as ``row``


@dataclass(frozen=True)
class TimelineItem:
    at: datetime.datetime
    template: str
    row: Any


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    has_more: bool

    @property
    def next_before(self) -> datetime.datetime | None:
        return self.items[-1].at if self.has_more else None


SOURCES: list[TimelineSource] = [
    TimelineSource(
        rows=lambda contact: PreferenceChange.objects.filter(contact=contact),
        time_field="created_at",
        template="contacts/timeline/change.html",
    )
]


def timeline_source_register(source: TimelineSource) -> None:
    if source not in SOURCES:
        SOURCES.append(source)


def _items(source: TimelineSource, rows: QuerySet) -> list[TimelineItem]:
    return [TimelineItem(at=getattr(row, source.time_field), template=source.template, row=row) for row in rows]


def contact_timeline(*, contact: Contact, before: datetime.datetime | None = None, limit: int = TIMELINE_PAGE) -> TimelinePage:
    """The newest ``limit`` items older than ``before``; a page never splits items of the same instant."""
    items: list[TimelineItem] = []
    for source in SOURCES:
        rows = source.rows(contact)
        if before is not None:
            rows = rows.filter(**{f"{source.time_field}__lt": before})
        items += _items(source, rows.order_by(f"-{source.time_field}", "-pk")[: limit + 1])
    items.sort(key=lambda item: item.at, reverse=True)
    if len(items) <= limit:
        return TimelinePage(items=items, has_more=False)
    page, boundary = items[:limit], items[limit - 1].at
    if items[limit].at == boundary:
        # The next page starts strictly before ``boundary``: take every item of that instant now.
        page = [item for item in page if item.at != boundary]
        for source in SOURCES:
            same = source.rows(contact).filter(**{source.time_field: boundary}).order_by("-pk")
            page += _items(source, same)
    return TimelinePage(items=page, has_more=True)
