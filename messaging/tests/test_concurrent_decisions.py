"""Two steps of the dispatch engine at the same moment, in two real PostgreSQL transactions: the
first holds its transaction open until the second has committed or waits for a lock. Caps hold,
a dispatch is planned once and finishes, a cancel is not overwritten."""

import datetime

import pytest

from contacts import services as contact_services
from contacts.tests.concurrency import race
from messaging import services
from messaging.models import Dispatch, Send

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware, past_send

pytestmark = pytest.mark.django_db(transaction=True)

NOW = aware(2026, 3, 5, 12, 0)
LATER = aware(2026, 3, 5, 13, 1)  # the send made yesterday at 13:00 has left the one-day window


@pytest.mark.parametrize("first", ["re-evaluation", "batch"])
def test_a_deferred_send_re_decided_while_another_message_decides_the_contact_keeps_the_cap(members, email, first):
    contact = members(time_zone="UTC")
    contact_services.channel_frequency_set(contact=contact, channel=email, number=1, unit="day", source="system")
    past_send(contact, "email", aware(2026, 3, 4, 13, 0))
    waiting = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(waiting, now=NOW)
    assert send_of(waiting, contact).deferred_until == aware(2026, 3, 5, 13, 0)
    # A second message to the same contact is being dispatched when the deferred send falls due.
    fresh = MessageFactory(channels=["email"], segments=[members.segment], deliver_until=aware(2026, 3, 12))
    dispatch = Dispatch.objects.create(message=fresh, deliver_until=fresh.deliver_until)
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    batch = services.batch_claim(batch_id=batch_id)

    steps = {
        "re-evaluation": lambda: services.deferred_process(now=LATER),
        "batch": lambda: services.batch_decide(batch=batch, now=LATER),
    }
    # The first decides and holds its transaction open; without the contact locks the second does
    # not see the first one's send and commits.
    race(steps[first], next(step for name, step in steps.items() if name != first))

    counted = Send.objects.filter(
        contact=contact, channel=email, outcome__in=["sending", "sent"], sent_at__gt=LATER - datetime.timedelta(days=1)
    )
    assert counted.count() == 1, "two emails within a day for a contact capped at one a day"
    outcomes = sorted(Send.objects.filter(message__in=[waiting, fresh], contact=contact).values_list("outcome", flat=True))
    assert outcomes == ["deferred", "sending"]


def dispatch_of(members, count: int) -> Dispatch:
    """A dispatch of a new message to ``count`` new contacts, in batches of two, not planned yet."""
    for _ in range(count):
        members()
    message = MessageFactory(channels=["email"], segments=[members.segment], deliver_until=aware(2036, 1, 1))
    return Dispatch.objects.create(message=message, deliver_until=message.deliver_until, batch_size=2)


def test_a_dispatch_planned_twice_at_once_gets_its_batches_once(members):
    # A redelivered planning task and the sweep's may run together.
    dispatch = dispatch_of(members, 4)
    one, two = race(
        lambda: services.dispatch_plan(dispatch_id=dispatch.pk), lambda: services.dispatch_plan(dispatch_id=dispatch.pk)
    )
    assert dispatch.batches.count() == 2, "the recipients were split into batches twice"
    assert sorted(two.result) == sorted(one.result)


def test_the_last_two_batches_finishing_at_once_mark_the_dispatch_done(members):
    dispatch = dispatch_of(members, 4)
    first, second = services.dispatch_plan(dispatch_id=dispatch.pk)
    race(lambda: services.batch_finish(batch_id=first), lambda: services.batch_finish(batch_id=second))
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE, "every batch is done but the dispatch still runs"


def test_a_deferred_send_cancelled_while_it_is_re_decided_stays_cancelled(members, email):
    contact = members(time_zone="UTC")
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 4),
        source="system",
    )
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=aware(2026, 3, 3, 12, 0))
    assert send_of(message, contact).outcome == "deferred"

    # Staff cancel first; the sweep has already picked the send as due and waits for its row.
    race(lambda: services.deferred_cancel(dispatch=dispatch, acting_user=None), lambda: services.deferred_process(now=NOW))
    assert send_of(message, contact).outcome == "cancelled", "a cancelled send was re-decided and is going out"
