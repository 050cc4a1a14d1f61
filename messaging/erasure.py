"""Erasing a contact (``contacts.services.contact_delete``) erases what messaging keeps about them:
their sends go by cascade, and the copies of what was delivered to them in the development outbox
(addressed to them, their name in the body) go here, since the outbox only loses its link to a send."""

from __future__ import annotations

from contacts.models import Contact

from .models import OutboxMessage


def contact_outbox_erase(sender, *, instance: Contact, **kwargs) -> None:
    OutboxMessage.objects.filter(send__contact_id=instance.pk).delete()
