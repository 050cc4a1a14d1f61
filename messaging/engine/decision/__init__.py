"""The one send decision (SPEC §3).

``rules.decide`` states it for one contact; ``sql`` evaluates the same rules for a whole batch in
one statement. The worker uses the set-based version on PostgreSQL and the Python one on the
embedded SQLite demo; the preview shows both the verdict and the per-channel reasons.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection

from contacts.models import Contact, Segment, SegmentMembership

from .inputs import contact_facts, message_plan
from .rules import ChannelVerdict, Decision, MessagePlan, channel_verdict, decide

__all__ = ["Decision", "MessagePlan", "Preview", "decide", "decide_contacts", "message_plan", "preview_decision"]


def decide_contacts(plan: MessagePlan, contact_ids: list[int], now: datetime.datetime) -> dict[int, Decision]:
    """The decision for these contacts, writing nothing, with the engine the worker uses."""
    if connection.vendor == "postgresql":
        from .sql import decide_contacts_sql

        rows = decide_contacts_sql(plan, contact_ids, now)
        return {
            contact_id: Decision(row.outcome, channel_id=row.channel_id, reason=row.reason, deferred_until=row.deferred_until)
            for contact_id, row in rows.items()
        }
    facts = contact_facts(plan, contact_ids, now)
    return {contact_id: decide(facts[contact_id], plan, now) for contact_id in contact_ids if contact_id in facts}


@dataclass(frozen=True)
class Preview:
    decision: Decision
    verdicts: tuple[ChannelVerdict, ...]
    # A contact outside the recipients gets no send at all, whatever the decision would say.
    recipient: bool = True
    removed_from: tuple[str, ...] = ()  # the message's segments the contact was removed from
    segments: tuple[str, ...] = ()  # the message's segments, for "not a member of …"


def preview_decision(plan: MessagePlan, contact: Contact, now: datetime.datetime) -> Preview:
    """What the worker would decide for this contact now, and each channel's facts for the "why";
    first of all whether the contact is a recipient at all (a member of the message's segments)."""
    from messaging.engine.dispatch import message_recipient  # dispatch imports this package

    recipient = message_recipient(message_id=plan.message_id, contact_id=contact.pk)
    segments = tuple(Segment.objects.filter(messages__id=plan.message_id).order_by("name").values_list("name", "id"))
    removed_from = ()
    if not recipient:
        removed_ids = set(SegmentMembership.objects.filter(
            contact=contact, segment_id__in=[pk for _name, pk in segments], removed=True
        ).values_list("segment_id", flat=True))
        removed_from = tuple(name for name, pk in segments if pk in removed_ids)
    decision = decide_contacts(plan, [contact.pk], now)[contact.pk]
    facts = contact_facts(plan, [contact.pk], now)[contact.pk]
    reference = decide(facts, plan, now)
    verdicts = reference.verdicts or tuple(
        channel_verdict(
            facts, channel, now=now, transactional=plan.transactional
        )
        for channel in plan.channels
    )
    return Preview(decision=decision, verdicts=verdicts, recipient=recipient, removed_from=removed_from,
                   segments=tuple(name for name, _pk in segments))
