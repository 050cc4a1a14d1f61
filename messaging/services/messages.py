"""Writing, keeping or removing a message; every staff write leaves a staff audit row.

A message that has sends is archived, never deleted.
"""

from __future__ import annotations

import logging
from typing import Any, NotRequired, TypedDict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from contacts.models import Channel, StaffChange
from contacts.services.staff_audit import audit_value, field_values, staff_change_record, values_changed
from messaging.models import SWITCH_TEXTS, SWITCHES, Message, MessageVersion, Send

Action = StaffChange.Action
# What staff write on a message (``segments`` aside, a many-to-many) and on each channel's version.
MESSAGE_FIELDS = ("name", "category", "transactional", "deliver_until", "from_email", "preference_page", *SWITCHES, *SWITCH_TEXTS)
VERSION_FIELDS = ("position", "subject", "text_body", "html_body", "subject_fr", "text_body_fr", "html_body_fr")


class VersionValues(TypedDict):
    channel: Channel
    position: int
    subject: str
    text_body: str
    html_body: str
    subject_fr: NotRequired[str]
    text_body_fr: NotRequired[str]
    html_body_fr: NotRequired[str]

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


def _audited(message: Message) -> dict[str, Any]:
    """The message as its history shows it: fields, segment names, and ``<channel>.<field>`` per version."""
    values = field_values(message, MESSAGE_FIELDS)
    values["segments"] = sorted(segment.name for segment in message.segments.all())
    for version in message.versions.select_related("channel"):
        for name in VERSION_FIELDS:
            values[f"{version.channel.slug}.{name}"] = audit_value(getattr(version, name))
    return values


def _message_write(message: Message, values: dict[str, Any], versions: list[VersionValues] | None) -> None:
    """Save what differs: changed fields, the segment set, and versions added, changed or removed (by channel)."""
    if unknown := values.keys() - {*MESSAGE_FIELDS, "segments"}:
        raise TypeError(f"message fields unknown: {sorted(unknown)}")
    changed = [name for name in MESSAGE_FIELDS if name in values and getattr(message, name) != values[name]]
    for name in changed:
        setattr(message, name, values[name])
    if message.pk is None:
        message.save()
    elif changed:
        message.save(update_fields=[*changed, "updated_at"])
    if "segments" in values and set(message.segments.all()) != set(values["segments"]):
        message.segments.set(values["segments"])
    if versions is None:
        return
    existing = {version.channel_id: version for version in message.versions.all()}
    wanted = {version["channel"].pk: version for version in versions}
    for channel_id, version in existing.items():
        if channel_id not in wanted:
            version.delete()
    for channel_id, wanted_version in wanted.items():
        version = existing.get(channel_id) or MessageVersion(message=message, channel=wanted_version["channel"])
        fields = [name for name in VERSION_FIELDS if name in wanted_version and getattr(version, name) != wanted_version[name]]
        for name in fields:
            setattr(version, name, wanted_version[name])
        if version.pk is None:
            version.save()
        elif fields:
            version.save(update_fields=fields)


@transaction.atomic
def message_create(*, acting_user, values: dict[str, Any], versions: list[VersionValues]) -> Message:
    """Create a message (``MESSAGE_FIELDS`` and ``segments``) with one version per channel.

    The audit row lists every value it was created with.
    """
    message = Message()
    _message_write(message, values, versions)
    staff_change_record(
        acting_user=acting_user, subject_type="message", subject_id=message.pk, subject_label=message.name,
        action=Action.CREATED, changes=values_changed({}, _audited(message)),
    )
    return message


@transaction.atomic
def message_update(
    *, message: Message, acting_user, values: dict[str, Any], versions: list[VersionValues] | None = None
) -> Message:
    """Change a message and its versions: ``versions`` is the whole new set, one per channel
    (a channel left out loses its version; ``None`` leaves the versions as they are). Only what changed is saved; one audit row lists each
    change (old → new), and an edit that changes nothing writes nothing."""
    # NO KEY UPDATE: edits wait for each other, not for a dispatch's key share on the message.
    locked = Message.objects.select_for_update(no_key=True).get(pk=message.pk)
    before = _audited(locked)
    _message_write(locked, values, versions)
    staff_change_record(
        acting_user=acting_user, subject_type="message", subject_id=locked.pk, subject_label=locked.name,
        action=Action.UPDATED, changes=values_changed(before, _audited(locked)),
    )
    return locked


@transaction.atomic
def message_delete(*, message: Message, acting_user) -> None:
    """Delete a message that never reached anyone; one with sends raises ``MessageHasSends`` (archive it).

    The database agrees: sends PROTECT their message and dispatch, and a trigger refuses raw deletes.
    """
    locked = _locked(message)
    sends = Send.objects.filter(message=locked).count()
    if sends:
        raise MessageHasSends(locked, sends)
    staff_change_record(
        acting_user=acting_user, subject_type="message", subject_id=locked.pk, subject_label=locked.name,
        action=Action.DELETED,
    )
    locked.delete()
    log.info("message %s (%s) deleted by %s", locked.pk, locked.name, acting_user)


@transaction.atomic
def message_archive(*, message: Message, acting_user) -> Message:
    """Archive the message: hidden from the default list and never dispatched again.

    Nothing else changes: its sends stay, delivered links keep working, its sends still count
    toward frequency caps, and deferred sends already queued follow their own course. Archiving
    an archived message changes nothing and records nothing.
    """
    locked = _locked(message)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.save(update_fields=["archived_at", "updated_at"])
        staff_change_record(
            acting_user=acting_user, subject_type="message", subject_id=locked.pk, subject_label=locked.name,
            action=Action.ARCHIVED, changes={"archived_at": [None, audit_value(locked.archived_at)]},
        )
        log.info("message %s (%s) archived by %s", locked.pk, locked.name, acting_user)
    message.archived_at = locked.archived_at
    return locked
