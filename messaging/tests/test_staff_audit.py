"""Staff writes on messages leave the staff audit: one row per change (old → new), shown on the message page."""

import datetime
import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import StaffChange
from contacts.tests.concurrency import commit_once_another_waits
from contacts.tests.factories import UserFactory
from messaging import services
from messaging.models import SWITCHES, Message, Send

from .conftest import run_dispatch
from .factories import MessageFactory


@pytest.fixture
def marketer(client, db):
    user = UserFactory(username="mara")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    return user


def rows_of(message) -> list[StaffChange]:
    return list(StaffChange.objects.filter(subject_type="message", subject_id=message.pk).order_by("id"))


def form_data(message: Message, **overrides) -> dict:
    """The edit form as the page fills it for ``message``, with ``overrides``."""
    versions = message.ordered_versions()
    data = {
        "name": message.name, "segments": [s.pk for s in message.segments.all()],
        "from_email": message.from_email, "unsubscribe_text": message.unsubscribe_text,
        "resubscribe_text": message.resubscribe_text,
        **{name: "" if getattr(message, name) is None else str(getattr(message, name)).lower() for name in SWITCHES},
        "versions-TOTAL_FORMS": str(len(versions)), "versions-INITIAL_FORMS": str(len(versions)),
        "versions-MIN_NUM_FORMS": "1", "versions-MAX_NUM_FORMS": "1000",
    }
    for index, version in enumerate(versions):
        data.update({
            f"versions-{index}-id": version.pk, f"versions-{index}-message": message.pk,
            f"versions-{index}-channel": version.channel_id, f"versions-{index}-position": version.position,
            f"versions-{index}-subject": version.subject, f"versions-{index}-text_body": version.text_body,
            f"versions-{index}-html_body": version.html_body,
        })
    data.update(overrides)
    return data


def test_creating_a_message_records_who_and_its_values(client, marketer, members, email):
    client.post(reverse("messaging:message_create"), {
        "name": "Spring", "segments": [members.segment.pk],
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "1",
        "versions-MAX_NUM_FORMS": "1000", "versions-0-channel": email.pk, "versions-0-position": "0",
        "versions-0-subject": "Hi", "versions-0-text_body": "Hello", "versions-0-html_body": "",
    })
    (row,) = rows_of(Message.objects.get(name="Spring"))
    assert (row.actor, row.action) == ("mara", "created")
    assert row.changes["name"] == [None, "Spring"] and row.changes["email.subject"] == [None, "Hi"]
    assert row.changes["segments"] == [None, [members.segment.name]]


def test_editing_a_message_records_each_change_old_and_new(client, marketer, members):
    message = MessageFactory(name="Spring", channels=["email"], segments=[members.segment])
    client.post(reverse("messaging:message_edit", args=[message.pk]),
                form_data(message, name="Summer", **{"versions-0-subject": "Sun"}))
    (row,) = rows_of(message)
    assert row.action == "updated"
    assert row.changes == {"name": ["Spring", "Summer"], "email.subject": ["Hello {first_name}", "Sun"]}


def test_saving_a_message_unchanged_records_nothing(client, marketer, members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    response = client.post(reverse("messaging:message_edit", args=[message.pk]), form_data(message))
    assert response.status_code == 302
    assert rows_of(message) == []


def test_removing_a_version_records_its_old_values(client, marketer, members):
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    client.post(reverse("messaging:message_edit", args=[message.pk]), form_data(message, **{"versions-1-DELETE": "on"}))
    (row,) = rows_of(message)
    assert row.changes["sms.text_body"] == ["Spring sale, {first_name}!", None]
    assert list(message.versions.values_list("channel__slug", flat=True)) == ["email"]


def test_the_message_page_shows_its_history_escaped(client, marketer, members):
    message = MessageFactory(name="Spring", channels=["email"], segments=[members.segment])
    client.post(reverse("messaging:message_edit", args=[message.pk]), form_data(message, name="<i>Summer</i>"))
    html = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "Spring → &lt;i&gt;Summer&lt;/i&gt;" in html and "<i>Summer</i>" not in html
    assert "mara" in html


def test_archiving_records_one_row_and_archiving_again_none(marketer, members):
    message = MessageFactory(segments=[members.segment])
    services.message_archive(message=message, acting_user=marketer)
    services.message_archive(message=message, acting_user=marketer)
    (row,) = rows_of(message)
    assert (row.action, row.changes["archived_at"][0]) == ("archived", None)


def test_deleting_a_message_leaves_its_row_behind(marketer):
    message = MessageFactory(name="Draft")
    pk = message.pk
    services.message_delete(message=message, acting_user=marketer)
    row = StaffChange.objects.get(subject_type="message", subject_id=pk)
    assert (row.action, row.subject_label, row.actor) == ("deleted", "Draft", "mara")


def paused(contact, email):
    today = datetime.date.today()
    contact_services.channel_pause_set(contact=contact, channel=email, pause_from=today,
                                       pause_to=today + datetime.timedelta(days=3), source="system")


def test_cancelling_deferred_sends_records_how_many_on_the_message(client, marketer, members, email):
    paused(members(), email), paused(members(), email)
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now())
    client.post(reverse("messaging:deferred_cancel", args=[dispatch.pk]), {"scope": "all", "confirm": "yes"})
    (row,) = rows_of(message)
    assert (row.action, row.changes) == ("cancelled", {f"deferred_sends.dispatch_{dispatch.pk}": [2, 0]})


def test_cancelling_nothing_records_nothing(marketer, members, email):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now())
    assert services.deferred_cancel(dispatch=dispatch, acting_user=marketer) == 0
    assert rows_of(message) == []


def test_deleting_a_targeted_segment_records_the_messages_it_left(marketer, members):
    MessageFactory(name="Spring", segments=[members.segment])
    contact_services.segment_delete(segment=members.segment, acting_user=marketer, detach_messages=True)
    row = StaffChange.objects.get(subject_type="segment")
    assert row.changes["messages"] == [["Spring"], None]


def test_a_message_saved_in_the_admin_leaves_one_audit_row(client, members):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    message = MessageFactory(name="Spring", channels=["email"], segments=[members.segment])
    response = client.post(reverse("admin:messaging_message_change", args=[message.pk]), form_data(message, name="Summer"))
    assert response.status_code == 302
    (row,) = rows_of(message)
    assert (row.actor, row.changes) == ("root", {"name": ["Spring", "Summer"]})


def test_a_message_added_in_the_admin_is_created_by_the_service(client, members, email):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:messaging_message_add"), {
        "name": "Spring", "segments": [members.segment.pk], "from_email": "",
        "unsubscribe_text": "", "resubscribe_text": "", **{name: "" for name in SWITCHES},
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000", "versions-0-channel": email.pk, "versions-0-position": "0",
        "versions-0-subject": "Hi", "versions-0-text_body": "Hello", "versions-0-html_body": "",
    })
    message = Message.objects.get(name="Spring")
    assert response.status_code == 302
    assert message.versions.get().subject == "Hi"
    assert [row.action for row in rows_of(message)] == ["created"]


def test_updating_a_message_without_versions_keeps_them(marketer):
    message = MessageFactory(name="Spring", channels=["email", "sms"])
    services.message_update(message=message, acting_user=marketer, values={"name": "Summer"})
    (row,) = rows_of(message)
    assert row.changes == {"name": ["Spring", "Summer"]} and message.versions.count() == 2


@pytest.mark.django_db(transaction=True)
def test_sends_another_cancel_took_while_this_one_waited_are_not_counted(members, email):
    paused(members(), email)
    dispatch = run_dispatch(MessageFactory(channels=["email"], segments=[members.segment]), now=timezone.now())
    send = dispatch.sends.get()
    thread = commit_once_another_waits(
        lambda: Send.objects.filter(pk=send.pk).update(outcome=Send.Outcome.CANCELLED, reason="cancelled by staff:bo"),
    )
    assert services.deferred_cancel(dispatch=dispatch, acting_user=None) == 0
    thread.join()
    assert not StaffChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_edits_at_once_each_record_the_value_the_other_left(members):
    message = MessageFactory(name="Spring", channels=["email"])
    first = UserFactory(username="ann")
    thread = commit_once_another_waits(
        lambda: services.message_update(message=message, acting_user=first, values={"name": "Summer"})
    )
    services.message_update(message=message, acting_user=None, values={"name": "Autumn"})
    thread.join()
    assert [row.changes["name"] for row in rows_of(message)] == [["Spring", "Summer"], ["Summer", "Autumn"]]


@pytest.mark.django_db(transaction=True)
def test_an_edit_does_not_wait_for_a_dispatch_holding_the_message(members):
    message = MessageFactory(name="Spring", channels=["email"])
    held, release = threading.Event(), threading.Event()

    def hold_like_a_dispatch():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {Message._meta.db_table} WHERE id = %s FOR KEY SHARE", [message.pk])
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_like_a_dispatch)
    thread.start()
    assert held.wait(10)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")  # a wait would fail here instead of hanging
            services.message_update(message=message, acting_user=None, values={"name": "Summer"})
    finally:
        release.set()
        thread.join()
    assert Message.objects.get(pk=message.pk).name == "Summer"
