"""Why contacts leave: the optional reason asked after an unsubscribe on the page (a write the public
page makes directly, like its ``contacts.services`` calls; ``messaging.services`` re-exports it)."""

from __future__ import annotations

from django.db import transaction

from contacts.models import PreferenceChange
from messaging.models import LeavingReason, Send, UnsubscribeFeedback

MAX_TEXT = 500


@transaction.atomic
def unsubscribe_feedback_record(*, send: Send, change_ids: list[int], reason: str, text: str = "") -> int:
    """Store ``reason`` (and the free text, kept only with "other", at most 500 characters) with each
    do-not-contact event of ``change_ids`` that ``send``'s page made. The first answer stays: a
    second one for the same event changes nothing. Returns how many were stored."""
    if reason not in LeavingReason.values:
        raise ValueError(f"Unknown reason {reason!r}.")
    text = text.strip()[:MAX_TEXT] if reason == LeavingReason.OTHER else ""
    changes = PreferenceChange.objects.filter(
        pk__in=change_ids, send_id=send.pk, contact_id=send.contact_id, kind=PreferenceChange.Kind.DNC
    ).values_list("pk", flat=True)
    stored = 0
    for change_id in changes:
        _feedback, created = UnsubscribeFeedback.objects.get_or_create(
            change_id=change_id, defaults={"send": send, "reason": reason, "text": text}
        )
        stored += created
    return stored
