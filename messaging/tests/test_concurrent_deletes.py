"""Sends keep no foreign-key constraints: while sends are being decided, the parent rows they will
point to are held (key share). A channel deleted at that moment waits, then is refused; no send
is left pointing at nothing."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from contacts import services as contact_services
from contacts.models import Channel, Contact
from contacts.tests.concurrency import race
from messaging import services
from messaging.models import Dispatch, Message, MessageVersion, Send

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware

pytestmark = pytest.mark.django_db(transaction=True)

NOW = aware(2026, 3, 5, 12, 0)


@pytest.fixture
def push(db) -> Channel:
    """A channel added by staff, referenced by nothing but the message's version."""
    return Channel.objects.create(slug="push", name="Push", address_field="phone", position=5)


def push_version(message, push):
    MessageVersion.objects.create(message=message, channel=push, position=1, text_body="Sale, {first_name}!")


def batch_deciding(members, push):
    """A batch about to send the message on the push channel."""
    members(email="", phone="+33612345678")
    message = MessageFactory(channels=[], segments=[members.segment], deliver_until=aware(2026, 3, 12))
    push_version(message, push)
    dispatch = Dispatch.objects.create(message=message, deliver_until=message.deliver_until)
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    batch = services.batch_claim(batch_id=batch_id)
    return lambda: services.batch_decide(batch=batch, now=NOW)


def re_evaluation_moving_to_push(members, push):
    """A deferred send whose re-evaluation moves it to the push channel: email was paused when it
    was decided, and since then the contact unsubscribed from email and gave a phone number."""
    email = Channel.objects.get(slug="email")
    contact = members(time_zone="UTC", phone="")
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 5),
        source="system",
    )
    message = MessageFactory(channels=["email"], segments=[members.segment])
    push_version(message, push)
    run_dispatch(message, now=NOW)
    assert send_of(message, contact).outcome == "deferred"
    contact_services.channel_unsubscribe(contact=contact, channel=email, source="one_click")
    Contact.objects.filter(pk=contact.pk).update(phone="+33612345678")
    return lambda: services.deferred_process(now=aware(2026, 3, 6, 0, 1))


def channel_delete(push) -> None:
    """Staff remove the push version from the message, then the channel itself."""
    with transaction.atomic():
        MessageVersion.objects.filter(channel=push).delete()
        Channel.objects.filter(pk=push.pk).delete()


@pytest.mark.parametrize("deciding", [batch_deciding, re_evaluation_moving_to_push], ids=["batch", "re-evaluation"])
def test_a_channel_deleted_while_sends_to_it_are_decided_is_refused_and_leaves_no_orphan_send(members, push, deciding):
    decide = deciding(members, push)
    # Without the key-share lock the delete sees no send on the channel yet, and commits.
    _, staff = race(decide, lambda: channel_delete(push), second_may_fail=True)

    assert Send.objects.filter(channel_id=push.pk, outcome__in=["sending", "sent"]).count() == 1
    assert Channel.objects.filter(pk=push.pk).exists(), "a send points at a deleted channel"
    assert isinstance(staff.error, IntegrityError), staff.error


def test_a_message_deleted_while_its_batch_decides_is_refused_and_leaves_no_orphan_send(members, push):
    decide = batch_deciding(members, push)
    message_id = Dispatch.objects.get().message_id
    _, staff = race(decide, lambda: Message.objects.filter(pk=message_id).delete(), second_may_fail=True)

    assert Send.objects.filter(message_id=message_id).count() == 1
    assert Message.objects.filter(pk=message_id).exists(), "a send points at a deleted message"
    assert staff.error is not None
