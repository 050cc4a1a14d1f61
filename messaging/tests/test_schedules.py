"""Scheduled sending: staff pick a date and time in a time zone, move or cancel it until then; the
periodic task starts it once, however many beats or workers run it."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse

from contacts.models import StaffChange
from contacts.tests.concurrency import race
from messaging import services
from messaging.models import Dispatch, ScheduledDispatch

from .factories import MessageFactory, aware
from .test_staff import marketer  # noqa: F401 (fixture)

NOW = aware(2026, 3, 5, 12, 0)
PARIS_9AM = datetime.datetime(2026, 3, 10, 9, 0)  # 08:00 UTC (winter time)


@pytest.fixture
def message(members):
    members()
    return MessageFactory(channels=["email"], segments=[members.segment])


def scheduled(message, user=None, local=PARIS_9AM) -> ScheduledDispatch:
    return services.schedule_create(message=message, local=local, time_zone="Europe/Paris", acting_user=user, now=NOW)


def test_a_schedule_is_the_wall_clock_time_in_the_chosen_zone(message):
    assert scheduled(message).run_at == aware(2026, 3, 10, 8, 0)


@pytest.mark.django_db
def test_the_form_schedules_shows_the_schedule_on_the_message_and_audits_it(client, marketer, message):  # noqa: F811
    response = client.post(reverse("messaging:schedule_create", args=[message.pk]),
                           {"date": "2099-03-10", "time": "09:00", "time_zone": "Europe/Paris"})
    assert response.status_code == 302
    schedule = ScheduledDispatch.objects.get(message=message)
    assert schedule.run_at == aware(2099, 3, 10, 8, 0) and schedule.created_by == marketer
    page = client.get(message.get_absolute_url()).content.decode()
    assert '<td class="schedule-when">2099-03-10 09:00 Europe/Paris</td>' in page  # in its zone, not the page's
    change = StaffChange.objects.get(subject_type="message", subject_id=message.pk)
    assert change.changes == {"scheduled send": [None, "2099-03-10 09:00 Europe/Paris"]}


@pytest.mark.django_db
def test_a_moment_in_the_past_is_refused_with_a_message_and_nothing_saved(client, marketer, message):  # noqa: F811
    response = client.post(reverse("messaging:schedule_create", args=[message.pk]),
                           {"date": "2020-01-01", "time": "09:00", "time_zone": "Europe/Paris"})
    assert response.status_code == 200 and "Choose a moment in the future." in response.content.decode()
    assert not ScheduledDispatch.objects.exists()


@pytest.mark.django_db
def test_a_date_at_the_end_of_the_calendar_is_refused_not_a_server_error(client, marketer, message):  # noqa: F811
    response = client.post(reverse("messaging:schedule_create", args=[message.pk]),
                           {"date": "9999-12-31", "time": "23:59", "time_zone": "Pacific/Honolulu"})
    assert response.status_code == 200 and "cannot be scheduled" in response.content.decode()
    response = client.post(reverse("messaging:schedule_create", args=[message.pk]),
                           {"date": "0001-01-01", "time": "00:00", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 200 and not ScheduledDispatch.objects.exists()


@pytest.mark.django_db
def test_staff_move_then_cancel_a_schedule_and_each_change_is_audited(client, marketer, message):  # noqa: F811
    schedule = scheduled(message, marketer, local=datetime.datetime(2099, 1, 1, 9, 0))
    client.post(reverse("messaging:schedule_edit", args=[schedule.pk]),
                {"date": "2099-01-02", "time": "18:30", "time_zone": "America/New_York"})
    schedule.refresh_from_db()
    assert schedule.run_at == aware(2099, 1, 2, 23, 30) and schedule.time_zone == "America/New_York"
    client.post(reverse("messaging:schedule_cancel", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.status == "cancelled"
    changes = [row.changes["scheduled send"] for row in StaffChange.objects.filter(subject_id=message.pk).order_by("id")]
    assert changes == [
        [None, "2099-01-01 09:00 Europe/Paris"],
        ["2099-01-01 09:00 Europe/Paris", "2099-01-02 18:30 America/New_York"],
        ["2099-01-02 18:30 America/New_York", "cancelled"],
    ]
    assert services.schedules_start_due(now=aware(2099, 1, 3, 0, 0)) == []


def test_a_due_schedule_starts_one_dispatch_and_only_once(message):
    schedule = scheduled(message)
    assert services.schedules_start_due(now=aware(2026, 3, 10, 7, 59)) == []
    started = services.schedules_start_due(now=aware(2026, 3, 10, 8, 0))
    assert len(started) == 1 and Dispatch.objects.get().message == message
    assert services.schedules_start_due(now=aware(2026, 3, 10, 8, 1)) == []
    schedule.refresh_from_db()
    assert schedule.status == "started" and schedule.dispatch_id == started[0]


def test_a_started_schedule_can_no_longer_be_moved_or_cancelled(message):
    schedule = scheduled(message)
    services.schedules_start_due(now=aware(2026, 3, 10, 8, 0))
    with pytest.raises(services.ScheduleInvalid):
        services.schedule_cancel(schedule=schedule, acting_user=None)
    with pytest.raises(services.ScheduleInvalid):
        services.schedule_update(schedule=schedule, local=PARIS_9AM, time_zone="UTC", acting_user=None, now=NOW)


def test_a_message_archived_before_its_time_is_marked_as_not_started_with_why(message):
    schedule = scheduled(message)
    services.message_archive(message=message, acting_user=None)
    assert services.schedules_start_due(now=aware(2026, 3, 10, 8, 0)) == []
    schedule.refresh_from_db()
    assert schedule.status == "failed" and "archived" in schedule.error and not Dispatch.objects.exists()


def test_beat_runs_the_start_of_scheduled_dispatches():
    assert settings.CELERY_BEAT_SCHEDULE["messaging.start_scheduled"]["task"] == "messaging.start_scheduled"
    from messaging.tasks import start_scheduled_task

    assert start_scheduled_task.name == "messaging.start_scheduled"


@pytest.mark.django_db(transaction=True)
def test_two_beats_starting_the_same_schedule_at_once_start_one_dispatch(message):
    schedule = scheduled(message)
    due = aware(2026, 3, 10, 8, 0)
    start = lambda: services.schedule_start(schedule_id=schedule.pk, now=due)  # noqa: E731
    first, second = race(start, start)
    assert first.result is not None and second.result is None
    assert Dispatch.objects.filter(message=message).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_the_start_is_refused_once_the_start_wins(message):
    schedule = scheduled(message)
    due = aware(2026, 3, 10, 8, 0)
    _, cancel = race(lambda: services.schedule_start(schedule_id=schedule.pk, now=due),
                     lambda: services.schedule_cancel(schedule=schedule, acting_user=None), second_may_fail=True)
    assert isinstance(cancel.error, services.ScheduleInvalid)
    schedule.refresh_from_db()
    assert schedule.status == "started" and schedule.dispatch_id is not None
