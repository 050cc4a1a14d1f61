"""Dispatches scheduled for later: staff create, move and cancel them until they start; the
periodic task starts each due one exactly once through ``dispatch_create``."""

from __future__ import annotations

import datetime
import logging
import zoneinfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.services.staff_audit import Action, staff_change_record
from messaging.engine.dispatch import DispatchInvalid, dispatch_create, dispatch_errors
from messaging.models import Dispatch, Message, ScheduledDispatch

logger = logging.getLogger(__name__)
# Audited on the message: its page's history then reads "scheduled send: — → 2026-12-03 09:00 Europe/Paris".
FIELD = "scheduled send"


class ScheduleInvalid(Exception):
    """The schedule cannot be saved as asked; the message says why."""


def schedule_moment(*, local: datetime.datetime, time_zone: str) -> datetime.datetime:
    """The instant a wall-clock time in ``time_zone`` names. A time skipped by a clock change is
    read with the offset before it (zoneinfo's ``fold=0``), so 02:30 on a spring-forward night is 03:30."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
        return local.replace(tzinfo=zone).astimezone(datetime.timezone.utc)
    except (OverflowError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ScheduleInvalid(_("This date and time cannot be scheduled in this time zone.")) from None


def _label(schedule: ScheduledDispatch) -> str:
    return schedule.when


def _audit(schedule: ScheduledDispatch, acting_user, old: str | None, new: str) -> None:
    staff_change_record(
        acting_user=acting_user, subject_type="message", subject_id=schedule.message_id,
        subject_label=str(schedule.message), action=Action.UPDATED, changes={FIELD: [old, new]} if old != new else {},
    )


def _checked(message: Message, run_at: datetime.datetime, now: datetime.datetime) -> None:
    if run_at <= now:
        raise ScheduleInvalid(_("Choose a moment in the future."))
    if errors := dispatch_errors(message):
        raise ScheduleInvalid(" ".join(errors))


@transaction.atomic
def schedule_create(
    *, message: Message, local: datetime.datetime, time_zone: str, acting_user, now: datetime.datetime | None = None
) -> ScheduledDispatch:
    """Schedule a dispatch of the message at a wall-clock time in ``time_zone``; audited."""
    run_at = schedule_moment(local=local, time_zone=time_zone)
    _checked(message, run_at, now or timezone.now())
    schedule = ScheduledDispatch.objects.create(
        message=message, run_at=run_at, time_zone=time_zone, created_by=acting_user
    )
    _audit(schedule, acting_user, None, _label(schedule))
    return schedule


def _still_scheduled(schedule: ScheduledDispatch) -> ScheduledDispatch:
    # The row lock makes a concurrent start wait; once it is ours, the status is the truth.
    locked = ScheduledDispatch.objects.select_for_update().select_related("message").get(pk=schedule.pk)
    if locked.status != ScheduledDispatch.Status.SCHEDULED:
        raise ScheduleInvalid(
            _("This schedule is %(status)s: it can no longer be changed.") % {"status": locked.get_status_display().lower()}
        )
    return locked


@transaction.atomic
def schedule_update(
    *, schedule: ScheduledDispatch, local: datetime.datetime, time_zone: str, acting_user,
    now: datetime.datetime | None = None,
) -> ScheduledDispatch:
    """Move a schedule that has not started; audited with the old and new moment."""
    schedule = _still_scheduled(schedule)
    run_at = schedule_moment(local=local, time_zone=time_zone)
    _checked(schedule.message, run_at, now or timezone.now())
    before = _label(schedule)
    schedule.run_at, schedule.time_zone = run_at, time_zone
    schedule.save(update_fields=["run_at", "time_zone"])
    _audit(schedule, acting_user, before, _label(schedule))
    return schedule


@transaction.atomic
def schedule_cancel(*, schedule: ScheduledDispatch, acting_user) -> ScheduledDispatch:
    """Cancel a schedule that has not started; audited."""
    schedule = _still_scheduled(schedule)
    schedule.status = ScheduledDispatch.Status.CANCELLED
    schedule.save(update_fields=["status"])
    _audit(schedule, acting_user, _label(schedule), _("cancelled"))
    return schedule


def schedules_due(*, now: datetime.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        ScheduledDispatch.objects.filter(status=ScheduledDispatch.Status.SCHEDULED, run_at__lte=now)
        .order_by("run_at", "id").values_list("pk", flat=True)
    )


@transaction.atomic
def schedule_start(*, schedule_id: int, now: datetime.datetime | None = None) -> Dispatch | None:
    """Start a due schedule's dispatch, once: the status moves from scheduled to started in one
    conditional update, which a second beat or worker (or a cancel) racing for the same row waits
    on and then finds already done. A message that can no longer be sent marks it failed, with why."""
    now = now or timezone.now()
    claimed = ScheduledDispatch.objects.filter(
        pk=schedule_id, status=ScheduledDispatch.Status.SCHEDULED, run_at__lte=now
    ).update(status=ScheduledDispatch.Status.STARTED, started_at=now)
    if not claimed:
        return None
    schedule = ScheduledDispatch.objects.select_related("message", "created_by").get(pk=schedule_id)
    try:
        dispatch = dispatch_create(message=schedule.message, user=schedule.created_by)
    except DispatchInvalid as refused:
        logger.warning("scheduled dispatch %s could not start: %s", schedule_id, refused)
        schedule.status, schedule.error = ScheduledDispatch.Status.FAILED, str(refused)
        schedule.save(update_fields=["status", "error"])
        return None
    schedule.dispatch = dispatch
    schedule.save(update_fields=["dispatch"])
    return dispatch


def schedules_start_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Start every due schedule (each in its own transaction); the ids of the dispatches started."""
    started = []
    for schedule_id in schedules_due(now=now):
        if dispatch := schedule_start(schedule_id=schedule_id, now=now):
            started.append(dispatch.pk)
    return started
