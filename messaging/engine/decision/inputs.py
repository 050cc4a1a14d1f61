"""Load what the decision reads, for a whole batch of contacts, in a constant number of queries."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import QuerySet

from contacts.models import CategorySubscription, Channel, ChannelPreference, Contact, DoNotContact
from messaging.models import CAP_COUNTED, Message, Send

from .rules import ChannelFacts, ContactFacts, MessagePlan, PlannedChannel, month_shift


def message_plan(message: Message, *, deliver_until: datetime.datetime) -> MessagePlan:
    """The message as the decision sees it: its channels in order, category and flags."""
    channels = tuple(
        PlannedChannel(
            id=version.channel.id,
            slug=version.channel.slug,
            address_field=version.channel.address_field,
            default_cap_number=version.channel.default_cap_number,
            default_cap_unit=version.channel.default_cap_unit,
        )
        for version in message.ordered_versions()
    )
    category = message.category
    return MessagePlan(
        message_id=message.pk,
        channels=channels,
        deliver_until=deliver_until,
        transactional=message.transactional,
        category_id=category.pk if category else None,
        category_opt_in=bool(category and category.opt_in),
    )


def contact_facts(
    plan: MessagePlan, contacts: QuerySet[Contact] | Iterable[int], now: datetime.datetime
) -> dict[int, ContactFacts]:
    """Facts for the given contacts (a queryset or ids): five queries whatever their number."""
    if isinstance(contacts, QuerySet):
        rows = contacts.values_list("id", "time_zone", *Channel.AddressField.values)
        ids = contacts.values("id")
    else:
        ids = list(contacts)
        rows = Contact.objects.filter(id__in=ids).values_list("id", "time_zone", *Channel.AddressField.values)
    fields = Channel.AddressField.values
    facts = {
        row[0]: ContactFacts(contact_id=row[0], time_zone=row[1], addresses=dict(zip(fields, row[2:])))
        for row in rows
    }
    channel_ids = [channel.id for channel in plan.channels]

    def channel(contact_id: int, channel_id: int) -> ChannelFacts:
        return facts[contact_id].channels.setdefault(channel_id, ChannelFacts())

    for contact_id, channel_id in DoNotContact.objects.filter(
        contact_id__in=ids, channel_id__in=channel_ids
    ).values_list("contact_id", "channel_id"):
        channel(contact_id, channel_id).dnc = True
    for pref in ChannelPreference.objects.filter(contact_id__in=ids, channel_id__in=channel_ids):
        target = channel(pref.contact_id, pref.channel_id)
        target.preferred, target.pause_from, target.pause_to = pref.preferred, pref.pause_from, pref.pause_to
        target.cap_number, target.cap_unit = pref.cap_number, pref.cap_unit
    if plan.category_id is not None:
        for contact_id, status in CategorySubscription.objects.filter(
            contact_id__in=ids, category_id=plan.category_id
        ).values_list("contact_id", "status"):
            facts[contact_id].category_status = status
    recent = Send.objects.filter(
        contact_id__in=ids,
        channel_id__in=channel_ids,
        outcome__in=CAP_COUNTED,
        transactional=False,
        sent_at__gt=month_shift(now, -1),
    ).order_by("sent_at")
    for contact_id, channel_id, sent_at in recent.values_list("contact_id", "channel_id", "sent_at"):
        channel(contact_id, channel_id).recent_sends.append(sent_at)
    return facts
