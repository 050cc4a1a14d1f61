"""Why contacts leave: the optional reason asked after an unsubscribe on the page (a write the public
page makes directly, like its ``contacts.services`` calls; ``messaging.services`` re-exports it).
The choices themselves are staff's, written by ``messaging.services.reasons``."""

from __future__ import annotations

from django.db import transaction

from contacts.models import PreferenceChange
from messaging.models import LeavingReasonChoice, Send, UnsubscribeFeedback

MAX_TEXT = 500


def leaving_reasons_offered() -> list[LeavingReasonChoice]:
    """The choices a contact is offered, in staff's order: the active ones. One query."""
    return list(LeavingReasonChoice.objects.filter(active=True))


@transaction.atomic
def unsubscribe_feedback_record(*, send: Send, change_ids: list[int], choice_id: int, text: str = "") -> int:
    """Store the choice ``choice_id`` (an offered one) with its label as it reads now, and the free
    text (kept only with the choice that asks for it, at most 500 characters), with each
    do-not-contact event of ``change_ids`` that ``send``'s page made. The first answer stays: a
    second one for the same event changes nothing. Returns how many were stored."""
    choice = LeavingReasonChoice.objects.filter(pk=choice_id, active=True).first()
    if choice is None:
        raise LeavingReasonChoice.DoesNotExist(f"No offered reason {choice_id!r}.")
    text = text.strip()[:MAX_TEXT] if choice.asks_text else ""
    changes = PreferenceChange.objects.filter(
        pk__in=change_ids, send_id=send.pk, contact_id=send.contact_id, kind=PreferenceChange.Kind.DNC
    ).values_list("pk", flat=True)
    stored = 0
    for change_id in changes:
        _feedback, created = UnsubscribeFeedback.objects.get_or_create(
            change_id=change_id, defaults={"send": send, "choice": choice, "label": choice.label, "text": text}
        )
        stored += created
    return stored
