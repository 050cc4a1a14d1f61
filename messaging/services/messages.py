"""Keeping or removing a message: a message that has sends is archived, never deleted."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from messaging.models import Message, Send

log = logging.getLogger(__name__)


class MessageHasSends(Exception):
    """The message reached contacts: their links, history and frequency caps need it. Archive it."""

    def __init__(self, message: Message, sends: int):
        self.message, self.sends = message, sends
        super().__init__(
            ngettext(
                "%(name)s has %(count)s send: it cannot be deleted, since delivered links and frequency caps "
                "depend on it. Archive it instead.",
                "%(name)s has %(count)s sends: it cannot be deleted, since delivered links and frequency caps "
                "depend on it. Archive it instead.",
                sends,
            )
            % {"name": message.name, "count": sends}
        )


def _locked(message: Message) -> Message:
    # FOR UPDATE waits for a dispatch that holds the message (key share) until its sends are committed.
    return Message.objects.select_for_update().get(pk=message.pk)


@transaction.atomic
def message_delete(*, message: Message, acting_user=None) -> None:
    """Delete a message that never reached anyone; one with sends raises ``MessageHasSends`` (archive it).

    The database agrees: sends PROTECT their message and dispatch, and a trigger refuses raw deletes.
    """
    locked = _locked(message)
    sends = Send.objects.filter(message=locked).count()
    if sends:
        raise MessageHasSends(locked, sends)
    locked.delete()
    log.info("message %s (%s) deleted by %s", locked.pk, locked.name, acting_user)


@transaction.atomic
def message_archive(*, message: Message, acting_user=None) -> Message:
    """Archive the message: hidden from the default list and never dispatched again.

    Nothing else changes: its sends stay, delivered links keep working, its sends still count
    toward frequency caps, and deferred sends already queued follow their own course.
    """
    locked = _locked(message)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.save(update_fields=["archived_at", "updated_at"])
        log.info("message %s (%s) archived by %s", locked.pk, locked.name, acting_user)
    message.archived_at = locked.archived_at
    return locked
