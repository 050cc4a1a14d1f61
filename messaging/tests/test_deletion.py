"""A message that reached contacts is archived, never deleted; a segment or category that messages
depend on is not deleted silently. Delivered links keep working through every attempt."""

import threading
import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from contacts.models import Category, Segment
from contacts.services import ObjectInUse, category_delete, channel_frequency_set, segment_delete
from contacts.tests.factories import CategoryFactory, SegmentFactory, UserFactory
from messaging import services
from messaging.models import Dispatch, Message, Send
from messaging.public.tokens import send_token

from .conftest import decision_for, run_dispatch
from .factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(members):
    """A message delivered to one contact: its send."""
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=timezone.now())
    return Send.objects.get(message=message, contact=contact)


def link_works(client, send) -> bool:
    return client.get(reverse("messaging:unsubscribe", args=[send_token(send.pk)])).status_code == 200


def staff(client, group: str):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


# --- The model and the database refuse -----------------------------------------------------------


def test_deleting_a_sent_message_through_the_orm_is_refused_and_its_link_still_works(client, sent):
    with pytest.raises(ProtectedError):
        sent.message.delete()
    with pytest.raises(ProtectedError):
        Message.objects.filter(pk=sent.message_id).delete()
    with pytest.raises(ProtectedError):
        Dispatch.objects.filter(pk=sent.dispatch_id).delete()
    assert Send.objects.filter(pk=sent.pk).exists()
    assert link_works(client, sent)


# --- The services ------------------------------------------------------------------------------------


def test_message_delete_refuses_a_message_with_sends_and_says_to_archive(client, sent):
    with pytest.raises(services.MessageHasSends, match="has 1 send: it cannot be deleted.*Archive it instead"):
        services.message_delete(message=sent.message, acting_user=None)
    assert Message.objects.filter(pk=sent.message_id).exists() and link_works(client, sent)


def test_message_delete_deletes_a_message_never_sent(members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    services.message_delete(message=message, acting_user=None)
    assert not Message.objects.filter(pk=message.pk).exists()


def test_an_archived_message_keeps_its_links_and_cannot_be_dispatched(client, sent):
    services.message_archive(message=sent.message, acting_user=None)
    assert link_works(client, sent)
    with pytest.raises(services.DispatchInvalid, match="archived"):
        services.dispatch_create(message=sent.message)


def test_an_archived_message_still_counts_toward_the_contacts_cap(members, sent, email):
    channel_frequency_set(contact=sent.contact, channel=email, number=1, unit="day", source="system")
    services.message_archive(message=sent.message, acting_user=None)
    later = MessageFactory(channels=["email"], segments=[members.segment])
    outcome, _channel, reason, _until = decision_for(later, sent.contact, timezone.now())
    assert (outcome, reason) == ("deferred", "capped")


# --- The staff pages ---------------------------------------------------------------------------------


def test_an_editor_is_offered_to_archive_a_sent_message_and_a_forged_delete_is_refused(client, sent):
    editor = staff(client, "Editors")
    page = editor.get(reverse("messaging:message_delete", args=[sent.message_id])).content.decode()
    assert "It cannot be deleted" in page and reverse("messaging:message_archive", args=[sent.message_id]) in page
    response = editor.post(reverse("messaging:message_delete", args=[sent.message_id]), follow=True)
    assert "Archive it instead" in response.content.decode()
    assert Message.objects.filter(pk=sent.message_id).exists() and link_works(client, sent)


def test_an_editor_archives_a_message_which_leaves_the_list_and_cannot_be_sent(client, sent):
    editor, message = staff(client, "Editors"), sent.message
    editor.post(reverse("messaging:message_archive", args=[message.pk]), follow=True)
    message.refresh_from_db()
    assert message.archived
    assert message.name not in editor.get(reverse("messaging:message_list")).content.decode()
    assert message.name in editor.get(reverse("messaging:message_list"), {"archived": "1"}).content.decode()
    editor.post(reverse("messaging:message_send", args=[message.pk]))
    assert message.dispatches.count() == 1
    assert "The message is archived." in editor.get(reverse("messaging:message_send", args=[message.pk])).content.decode()


def test_an_editor_deletes_a_message_never_sent(client, members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    staff(client, "Editors").post(reverse("messaging:message_delete", args=[message.pk]))
    assert not Message.objects.filter(pk=message.pk).exists()


def test_a_viewer_can_neither_delete_nor_archive(client, sent):
    viewer = staff(client, "Viewers")
    assert viewer.post(reverse("messaging:message_delete", args=[sent.message_id])).status_code == 403
    assert viewer.post(reverse("messaging:message_archive", args=[sent.message_id])).status_code == 403
    assert not Message.objects.get(pk=sent.message_id).archived


# --- The admin -----------------------------------------------------------------------------------------


def test_the_admin_refuses_to_delete_a_sent_message_and_names_the_reason(admin_client, client, sent):
    url = reverse("admin:messaging_message_delete", args=[sent.message_id])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200 and "Archive it instead" in response.content.decode()
    changelist = reverse("admin:messaging_message_changelist")
    response = admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [sent.message_id],
                                              "post": "yes"})
    assert "Archive it instead" in response.content.decode()
    assert Message.objects.filter(pk=sent.message_id).exists() and link_works(client, sent)


def test_the_admin_archives_selected_messages_and_filters_on_it(admin_client, sent):
    changelist = reverse("admin:messaging_message_changelist")
    admin_client.post(changelist, {"action": "archive_selected", "_selected_action": [sent.message_id]})
    assert Message.objects.get(pk=sent.message_id).archived
    assert sent.message.name in admin_client.get(changelist, {"archived": "yes"}).content.decode()
    assert sent.message.name not in admin_client.get(changelist, {"archived": "no"}).content.decode()


def test_the_admin_deletes_a_message_never_sent(admin_client, members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    admin_client.post(reverse("admin:messaging_message_delete", args=[message.pk]), {"post": "yes"})
    assert not Message.objects.filter(pk=message.pk).exists()


def test_the_admin_never_deletes_sends_or_dispatches(admin_client, sent):
    for name, pk in (("send", sent.pk), ("dispatch", sent.dispatch_id)):
        assert admin_client.post(reverse(f"admin:messaging_{name}_delete", args=[pk]), {"post": "yes"}).status_code == 403
    assert Send.objects.filter(pk=sent.pk).exists()


# --- Segments and categories that messages depend on ------------------------------------------------


def test_deleting_a_targeted_segment_is_refused_naming_the_messages(members):
    message = MessageFactory(name="Spring news", channels=["email"], segments=[members.segment])
    with pytest.raises(ObjectInUse, match="“Spring news”") as refused:
        segment_delete(segment=members.segment, acting_user=None)
    assert refused.value.names == ["Spring news"]
    with pytest.raises(ProtectedError), transaction.atomic():  # the model's own guard, for any other caller
        Segment.objects.filter(pk=members.segment.pk).delete()
    assert list(message.segments.all()) == [members.segment]


def test_deleting_a_targeted_segment_with_the_explicit_confirmation_removes_it_from_the_messages(members):
    other = SegmentFactory()
    message = MessageFactory(channels=["email"], segments=[members.segment, other])
    segment_delete(segment=members.segment, acting_user=None, detach_messages=True)
    assert not Segment.objects.filter(pk=members.segment.pk).exists()
    assert list(message.segments.all()) == [other]


def test_the_staff_page_names_the_messages_and_needs_the_confirmation(client, members):
    MessageFactory(name="Spring news", channels=["email"], segments=[members.segment])
    editor, url = staff(client, "Editors"), reverse("contacts:segment_delete", args=[members.segment.pk])
    page = editor.get(url).content.decode()
    assert "Spring news" in page and 'name="detach_messages"' in page
    response = editor.post(url, follow=True)
    assert "shrink their audience" in response.content.decode() and "Spring news" in response.content.decode()
    assert Segment.objects.filter(pk=members.segment.pk).exists()
    editor.post(url, {"detach_messages": "yes"})
    assert not Segment.objects.filter(pk=members.segment.pk).exists()


def test_the_admin_refuses_to_delete_a_targeted_segment_naming_the_messages(admin_client, members):
    MessageFactory(name="Spring news", channels=["email"], segments=[members.segment])
    response = admin_client.post(reverse("admin:contacts_segment_delete", args=[members.segment.pk]), {"post": "yes"})
    assert response.status_code == 200 and "Spring news" in response.content.decode()
    assert Segment.objects.filter(pk=members.segment.pk).exists()


def test_a_category_used_by_a_message_is_refused_with_that_reason(client, members):
    category = CategoryFactory()
    MessageFactory(name="Spring news", channels=["email"], segments=[members.segment], category=category)
    with pytest.raises(ObjectInUse, match="“Spring news” use it"):
        category_delete(category=category, acting_user=None)
    editor, url = staff(client, "Editors"), reverse("contacts:category_delete", args=[category.pk])
    page = editor.get(url).content.decode()
    assert "These messages use this category" in page and "Spring news" in page
    response = editor.post(url, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "Give those messages another category first" in html
    assert "its history must be kept" not in html
    assert Category.objects.filter(pk=category.pk).exists()


def test_the_admin_refuses_to_delete_a_category_used_by_a_message(admin_client, members):
    category = CategoryFactory()
    MessageFactory(name="Spring news", channels=["email"], segments=[members.segment], category=category)
    response = admin_client.post(reverse("admin:contacts_category_delete", args=[category.pk]), {"post": "yes"})
    assert response.status_code == 200 and "Spring news" in response.content.decode()
    assert Category.objects.filter(pk=category.pk).exists()


def test_dispatching_a_message_archived_meanwhile_is_refused(members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    stale = Message.objects.get(pk=message.pk)
    services.message_archive(message=message, acting_user=None)
    with pytest.raises(services.DispatchInvalid, match="archived"):
        services.dispatch_create(message=stale)  # the page was opened before the archive
    assert not Dispatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_waits_for_an_archive_in_progress_and_is_refused(members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    archived = threading.Event()

    def archive_then_commit_a_moment_later():
        try:
            with transaction.atomic():
                services.message_archive(message=Message.objects.get(pk=message.pk), acting_user=None)
                archived.set()
                time.sleep(0.5)  # ordering only: the dispatch below starts while this is uncommitted
        finally:
            connection.close()

    thread = threading.Thread(target=archive_then_commit_a_moment_later)
    thread.start()
    assert archived.wait(10)
    with pytest.raises(services.DispatchInvalid, match="archived"):
        services.dispatch_create(message=Message.objects.get(pk=message.pk))
    thread.join()
    assert not Dispatch.objects.exists()
