import datetime

import pytest
from django.db.models import Q

from contacts.models import Channel, SegmentMembership
from contacts.tests.factories import ContactFactory, SegmentFactory
from messaging import services
from messaging.engine.decision import decide, message_plan
from messaging.engine.decision.inputs import contact_facts
from messaging.engine.decision.sql import decide_contacts_sql
from messaging.models import Dispatch, Send



@pytest.fixture(autouse=True)
def _outbox_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def members(db):
    """A segment and a helper adding contacts to it."""
    segment = SegmentFactory()

    def add(**fields):
        contact = ContactFactory(**fields)
        SegmentMembership.objects.create(contact=contact, segment=segment, source="import")
        return contact

    add.segment = segment
    return add


def run_dispatch(message, *, now: datetime.datetime, deliver: bool = True, batch_size: int = 5000) -> Dispatch:
    """What the workers do, in-process and at a chosen moment: plan, decide each batch, deliver."""
    message.deliver_until = message.deliver_until or now + datetime.timedelta(days=7)
    message.save()
    dispatch = Dispatch.objects.create(message=message, deliver_until=message.deliver_until, batch_size=batch_size)
    for batch_id in services.dispatch_plan(dispatch_id=dispatch.pk):
        batch = services.batch_claim(batch_id=batch_id)
        services.batch_decide(batch=batch, now=now)
        if deliver:
            services.sends_deliver(sends=Q(dispatch=dispatch))
        services.batch_finish(batch_id=batch_id)
    dispatch.refresh_from_db()
    return dispatch


def send_of(message, contact) -> Send | None:
    return Send.objects.filter(message=message, contact=contact).first()


def decision_for(message, contact, now, deliver_until=None):
    """The set-based decision for one contact, checked against the reference rules."""
    plan = message_plan(message, deliver_until=deliver_until or now + datetime.timedelta(days=7))
    outcome, channel_id, reason, until = decide_contacts_sql(plan, [contact.pk], now)[contact.pk]
    reference = decide(contact_facts(plan, [contact.pk], now)[contact.pk], plan, now)
    assert (reference.outcome, reference.channel_id, reference.reason, reference.deferred_until) == (
        outcome, channel_id, reason, until,
    )
    channel = Channel.objects.get(pk=channel_id).slug if channel_id else None
    return outcome, channel, reason, until
