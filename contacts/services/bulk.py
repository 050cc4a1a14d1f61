"""Bulk actions on a filtered contact list: confirmed with the count they will touch, then applied
contact by contact through the same services as the single staff action (same history rows),
inline when small, as a Celery job with progress when large (``CONTACTS_BULK_INLINE_MAX``)."""

from __future__ import annotations

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import BulkAction, Channel, Contact, DoNotContact, Segment
from contacts.selectors.staff import bulk_action_changes, contact_list_filtered

from .audit import Source
from .channels import channel_dnc_clear, channel_unsubscribe
from .errors import PreferencesInvalid
from .segments import segment_membership_add, segment_membership_remove
from .staff_audit import Action, actor_label, staff_change_record

BULK_ACTION_RUN = "contacts.bulk_action_run"  # the task, enqueued by name
Kind = BulkAction.Kind
NEEDS_SEGMENT = {Kind.SEGMENT_ADD, Kind.SEGMENT_REMOVE}
ONLY_STAFF_DNC = frozenset({DoNotContact.Reason.MANUAL})


class BulkActionStale(Exception):
    """What the action would touch changed since staff confirmed it; nothing was done."""


def bulk_action_scope(*, kind: str, filters: dict, segment: Segment | None, channel: Channel | None) -> tuple[int, int]:
    """(contacts matching the filters, those the action would change): what the confirmation says."""
    contacts = contact_list_filtered(filters)
    changes = bulk_action_changes(contacts=contacts, kind=kind, segment=segment, channel=channel)
    return contacts.count(), changes.count()


@transaction.atomic
def bulk_action_create(
    *, kind: str, filters: dict, segment: Segment | None, channel: Channel | None, expected: int, acting_user
) -> BulkAction:
    """Start the confirmed action; refused (BulkActionStale) when the number of contacts it would
    change is no longer the one staff confirmed. Small ones run before this returns."""
    if (kind in NEEDS_SEGMENT) != (segment is not None) or (kind not in NEEDS_SEGMENT) != (channel is not None):
        raise ValueError(f"{kind}: a segment or a channel is missing")
    _matching, changing = bulk_action_scope(kind=kind, filters=filters, segment=segment, channel=channel)
    if changing != expected:
        raise BulkActionStale(
            _("The list changed since you confirmed: %(now)s contacts would now change, not %(then)s. Check again.")
            % {"now": changing, "then": expected}
        )
    action = BulkAction.objects.create(
        kind=kind, segment=segment, channel=channel, filters=filters, total=changing, actor=actor_label(acting_user)
    )
    target = segment or channel
    staff_change_record(
        acting_user=acting_user, subject_type="bulk_action", subject_id=action.pk, subject_label=str(action),
        action=Action.CREATED,
        changes={"action": [None, str(action.get_kind_display())], "target": [None, str(target)],
                 "contacts": [None, changing], "filters": [None, filters]},
    )
    if changing <= settings.CONTACTS_BULK_INLINE_MAX:
        bulk_action_run(bulk_action_id=action.pk)
        action.refresh_from_db()
    else:
        transaction.on_commit(lambda: current_app.send_task(BULK_ACTION_RUN, args=(action.pk,)))
    return action


def _apply(action: BulkAction, contact: Contact, source: Source) -> None:
    if action.kind == Kind.SEGMENT_ADD:
        segment_membership_add(contact=contact, segment=action.segment, source=source)
    elif action.kind == Kind.SEGMENT_REMOVE:
        segment_membership_remove(contact=contact, segment=action.segment, source=source)
    elif action.kind == Kind.DNC_SET:
        channel_unsubscribe(contact=contact, channel=action.channel, source=source, reason=DoNotContact.Reason.MANUAL)
    else:
        # Only what staff set: a contact's own unsubscribe, a bounce or a complaint is theirs to keep.
        channel_dnc_clear(contact=contact, channel=action.channel, source=source, only_reasons=ONLY_STAFF_DNC)


def bulk_action_run(*, bulk_action_id: int, chunk: int | None = None) -> BulkAction:
    """Apply the action to the next contacts in id order, a chunk per transaction, until none is
    left; idempotent. Each chunk holds the job's row, so a second worker given the same job (a
    redelivered task) waits, then continues after the contacts the first one finished."""
    chunk = chunk or settings.CONTACTS_BULK_CHUNK
    while True:
        with transaction.atomic():
            action = BulkAction.objects.select_for_update(of=("self",)).select_related("segment", "channel").get(pk=bulk_action_id)
            if action.status == BulkAction.Status.DONE:
                return action
            target_gone = (action.kind in NEEDS_SEGMENT and action.segment is None) or (
                action.kind not in NEEDS_SEGMENT and action.channel is None
            )
            contacts = bulk_action_changes(
                contacts=contact_list_filtered(action.filters), kind=action.kind,
                segment=action.segment, channel=action.channel,
            ).filter(pk__gt=action.last_contact_id)
            batch = [] if target_gone else list(contacts[:chunk])
            if not batch:
                action.status, action.finished_at = BulkAction.Status.DONE, timezone.now()
                action.save(update_fields=["status", "finished_at"])
                return action
            source = Source(f"staff:{action.actor}")
            for contact in batch:
                try:
                    _apply(action, contact, source)
                except PreferencesInvalid:
                    pass  # a state the single action refuses too: that contact stays as it is
            action.done += len(batch)
            action.last_contact_id = batch[-1].pk
            action.status = BulkAction.Status.RUNNING
            action.save(update_fields=["done", "last_contact_id", "status"])
