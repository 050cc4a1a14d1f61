"""What the database itself guarantees about sends, without foreign-key constraints on them."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from contacts.models import Channel, Contact
from contacts.tests.factories import ContactFactory
from messaging.models import Dispatch, Message, Send

from .factories import aware, past_send

NOW = aware(2026, 3, 5, 12, 0)


@pytest.mark.parametrize("parent", ["contacts_contact", "contacts_channel", "messaging_message", "messaging_dispatch"])
def test_a_row_that_sends_reference_cannot_be_deleted(db, parent):
    send = past_send(ContactFactory(), "email", NOW)
    parent_id = {
        "contacts_contact": send.contact_id,
        "contacts_channel": send.channel_id,
        "messaging_message": send.message_id,
        "messaging_dispatch": send.dispatch_id,
    }[parent]
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {parent} WHERE id = %s", [parent_id])


def test_deleting_a_contact_takes_their_sends_along_but_a_message_with_sends_stays(db):
    first, second = past_send(ContactFactory(), "email", NOW), past_send(ContactFactory(), "email", NOW)
    Contact.objects.filter(pk=first.contact_id).delete()
    with pytest.raises(ProtectedError):  # archived, never deleted (messaging.services.message_delete)
        Message.objects.filter(pk=second.message_id).delete()
    assert list(Send.objects.all()) == [second]
    assert Dispatch.objects.filter(pk=second.dispatch_id).exists()
    assert Channel.objects.filter(slug="email").exists()
