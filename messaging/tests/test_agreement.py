"""The set-based decision and the reference rules agree on every generated case: the bare
decision, the batch insert of a dispatch and the re-evaluation of deferred sends, over a history
of past sends with every outcome, marketing and transactional."""

import datetime
from collections import defaultdict

from django.db import connection, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contacts.models import (
    PAUSE_EARLIEST,
    PAUSE_LATEST,
    Category,
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    Segment,
    SegmentMembership,
)
from messaging import services
from messaging.engine.decision import decide, message_plan
from messaging.engine.decision.inputs import contact_facts
from messaging.engine.decision.sql import decide_contacts_sql
from messaging.models import CAP_COUNTED, Dispatch, Message, Send

from .factories import MessageFactory, aware

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles"]
BASE = aware(2026, 1, 31, 6, 0)  # the 31st: month windows clamp on shorter months
caps = st.one_of(st.none(), st.tuples(st.integers(1, 3), st.sampled_from(["day", "week", "month"])))


@st.composite
def channel_state(draw):
    pause = None
    if draw(st.booleans()):
        start = datetime.date(2026, 1, 25) + datetime.timedelta(days=draw(st.integers(0, 45)))
        end = start + datetime.timedelta(days=draw(st.integers(0, 10)))
        if draw(st.integers(0, 3)) == 0:
            # The bounds of a pause, and the ends of the calendar that rows saved before them may hold.
            start = draw(st.sampled_from([start, PAUSE_EARLIEST, datetime.date.min]))
            end = draw(st.sampled_from([end, PAUSE_LATEST, datetime.date.max]))
        pause = (start, end)
    return {
        "dnc": draw(st.sampled_from([None, None, None, "unsubscribed", "bounced"])),
        "cap": draw(caps),
        "pause": pause,
        "sends": draw(st.lists(past_send_state(), max_size=4)),
    }


@st.composite
def past_send_state(draw):
    """A send of another message on this channel: any outcome, marketing or transactional. Only
    sends handed to a backend must count, whether or not the others carry a send time (a send
    failed or dropped for do-not-contact at hand-over keeps the time it was decided to go)."""
    outcome = draw(st.sampled_from(Send.Outcome.values))
    return {
        # Half of them within the last day, where every kind of cap window sees them.
        "minutes_before": draw(st.one_of(st.integers(0, 24 * 60), st.integers(0, 40 * 24 * 60))),
        "outcome": outcome,
        "transactional": draw(st.booleans()),
        "timed": outcome in CAP_COUNTED or draw(st.booleans()),
    }


@st.composite
def contact_state(draw):
    return {
        "zone": draw(st.sampled_from(ZONES)),
        "email": draw(st.booleans()) or draw(st.booleans()),
        "phone": draw(st.booleans()),
        "preferred": draw(st.sampled_from([None, "email", "sms"])),
        "category": draw(st.sampled_from([None, "subscribed", "unsubscribed"])),
        "channels": {"email": draw(channel_state()), "sms": draw(channel_state())},
    }


scenario = st.fixed_dictionaries(
    {
        "order": st.sampled_from([["email"], ["sms"], ["email", "sms"], ["sms", "email"]]),
        "transactional": st.booleans(),
        "category": st.sampled_from([None, "opt_out", "opt_in"]),
        "defaults": st.fixed_dictionaries({"email": caps, "sms": caps}),
        "now_offset": st.integers(0, 60 * 24 * 45),  # minutes after BASE
        "deadline_offset": st.integers(-60, 60 * 24 * 10),
        "contacts": st.lists(contact_state(), min_size=1, max_size=6),
    }
)


def build(case):
    now = BASE + datetime.timedelta(minutes=case["now_offset"])
    for slug, cap in case["defaults"].items():
        Channel.objects.filter(slug=slug).update(
            default_cap_number=cap[0] if cap else 0, default_cap_unit=cap[1] if cap else ""
        )
    channels = {channel.slug: channel for channel in Channel.objects.all()}
    category = None
    if case["category"]:
        category = Category.objects.create(name="c", slug=f"c-{now.timestamp()}", opt_in=case["category"] == "opt_in")
    message = MessageFactory(channels=case["order"], category=category, transactional=case["transactional"])
    history, past_sends = History(now), []
    contacts = []
    for index, state in enumerate(case["contacts"]):
        contact = Contact.objects.create(
            first_name="A",
            email=f"p{index}@example.com" if state["email"] else "",
            phone=f"+3361234567{index}" if state["phone"] else "",
            time_zone=state["zone"],
        )
        contacts.append(contact)
        if category and state["category"]:
            CategorySubscription.objects.create(contact=contact, category=category, status=state["category"], source="x")
        for slug, channel_data in state["channels"].items():
            channel = channels[slug]
            if channel_data["dnc"]:
                DoNotContact.objects.create(contact=contact, channel=channel, reason=channel_data["dnc"], source="x")
            cap, pause = channel_data["cap"], channel_data["pause"]
            preferred = state["preferred"] == slug
            if cap or pause or preferred:
                ChannelPreference.objects.create(
                    contact=contact,
                    channel=channel,
                    cap_number=cap[0] if cap else None,
                    cap_unit=cap[1] if cap else "",
                    pause_from=pause[0] if pause else None,
                    pause_to=pause[1] if pause else None,
                    preferred=preferred,
                )
            for past in channel_data["sends"]:
                past_sends.append(history.send(contact, channel, past))
    Send.objects.bulk_create(past_sends)
    deadline = now + datetime.timedelta(minutes=case["deadline_offset"])
    return message, contacts, now, deadline


class History:
    """The other messages past sends belong to: a contact's k-th past send is of the k-th one
    (a send is unique per message and contact)."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.dispatches: list[Dispatch] = []
        self.taken: dict[int, int] = defaultdict(int)

    def send(self, contact: Contact, channel: Channel, past: dict) -> Send:
        k = self.taken[contact.pk]
        self.taken[contact.pk] += 1
        if k == len(self.dispatches):
            message = Message.objects.create(name=f"past {k}")
            self.dispatches.append(Dispatch.objects.create(message=message, deliver_until=self.now))
        dispatch = self.dispatches[k]
        at = self.now - datetime.timedelta(minutes=past["minutes_before"])
        return Send(
            message_id=dispatch.message_id,
            dispatch=dispatch,
            contact=contact,
            channel=channel,
            outcome=past["outcome"],
            transactional=past["transactional"],
            decided_at=at,
            evaluated_at=at,
            sent_at=at if past["timed"] else None,
            # Deferred sends of other messages are not due: only the message under test is re-decided.
            deferred_until=self.now + datetime.timedelta(days=1) if past["outcome"] == Send.Outcome.DEFERRED else None,
            first_deferred_at=at if past["outcome"] == Send.Outcome.DEFERRED else None,
        )


def batch_insert(message, contacts, now, deadline) -> dict[int, tuple]:
    """What a dispatch batch stores for each contact (the INSERT … SELECT of the workers)."""
    segment = Segment.objects.create(name="agreement", slug=f"agreement-{now.timestamp()}")
    SegmentMembership.objects.bulk_create(SegmentMembership(contact=c, segment=segment, source="import") for c in contacts)
    message.segments.add(segment)
    dispatch = Dispatch.objects.create(message=message, deliver_until=deadline)
    for batch_id in services.dispatch_plan(dispatch_id=dispatch.pk):
        services.batch_decide(batch=services.batch_claim(batch_id=batch_id), now=now)
    return stored(dispatch)


def re_evaluation(message, contacts, now, deadline) -> dict[int, tuple]:
    """What the re-evaluation of due deferred sends stores for each contact (the UPDATE … FROM)."""
    dispatch = Dispatch.objects.create(message=message, deliver_until=deadline)
    earlier = now - datetime.timedelta(hours=1)
    Send.objects.bulk_create(
        Send(message=message, dispatch=dispatch, contact=contact, outcome=Send.Outcome.DEFERRED,
             transactional=message.transactional, decided_at=earlier, evaluated_at=earlier, deferred_until=now,
             first_deferred_at=earlier)
        for contact in contacts
    )
    assert services.deferred_process(now=now).reevaluated == len(contacts)
    return stored(dispatch)


def stored(dispatch) -> dict[int, tuple]:
    rows = Send.objects.filter(dispatch=dispatch).values_list("contact_id", "outcome", "channel_id", "reason", "deferred_until")
    # A backend that hands over inside the decision stores its sends as "sent" at once.
    return {contact_id: ("sending" if outcome == "sent" else outcome, *rest) for contact_id, outcome, *rest in rows}


def uncounted(outcome: str, *, transactional: bool = False) -> dict:
    """A send an hour ago that must not count toward a cap of one a day."""
    return {"minutes_before": 60, "outcome": outcome, "transactional": transactional, "timed": True}


QUIET = {"dnc": None, "cap": None, "pause": None, "sends": []}
# Always tried: under a cap of one email a day, a failed send, one dropped for do-not-contact at
# hand-over, and a transactional one leave the channel free.
ONLY_HANDED_OVER_MARKETING_COUNTS = {
    "order": ["email"],
    "transactional": False,
    "category": None,
    "defaults": {"email": (1, "day"), "sms": None},
    "now_offset": 0,
    "deadline_offset": 600,
    "contacts": [
        {"zone": "UTC", "email": True, "phone": False, "preferred": None, "category": None,
         "channels": {"email": {**QUIET, "sends": [uncounted(outcome)]}, "sms": QUIET}}
        for outcome in ("failed", "skipped_dnc", "cancelled")
    ] + [
        {"zone": "UTC", "email": True, "phone": False, "preferred": None, "category": None,
         "channels": {"email": {**QUIET, "sends": [uncounted("sent", transactional=True)]}, "sms": QUIET}}
    ],
}


@example(case=ONLY_HANDED_OVER_MARKETING_COUNTS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=scenario)
def test_the_set_based_decision_agrees_with_the_reference_rules(db, case):
    with transaction.atomic():
        with connection.cursor() as cursor:  # restored by the rollback: old rows may lie outside the bound
            cursor.execute("ALTER TABLE contacts_channelpreference DROP CONSTRAINT chpref_pause_within_range")
        message, contacts, now, deadline = build(case)
        plan = message_plan(message, deliver_until=deadline)
        ids = [contact.pk for contact in contacts]
        facts = contact_facts(plan, ids, now)
        expected = {}
        for contact_id in ids:
            reference = decide(facts[contact_id], plan, now)
            expected[contact_id] = (reference.outcome, reference.channel_id, reference.reason, reference.deferred_until)
        assert decide_contacts_sql(plan, ids, now) == expected, case
        for production in (batch_insert, re_evaluation):
            with transaction.atomic():
                assert production(message, contacts, now, deadline) == expected, (production.__name__, case)
                transaction.set_rollback(True)
        transaction.set_rollback(True)
