"""The set-based decision and the reference rules agree on every generated case."""

import datetime

from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
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
)
from messaging.decision import decide, message_plan
from messaging.decision.inputs import contact_facts
from messaging.decision.sql import decide_contacts_sql

from .factories import MessageFactory, aware, past_send

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
        "sends": draw(st.lists(st.integers(0, 40 * 24 * 60), max_size=4)),  # minutes before now
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
            for minutes in channel_data["sends"]:
                past_send(contact, slug, now - datetime.timedelta(minutes=minutes))
    deadline = now + datetime.timedelta(minutes=case["deadline_offset"])
    return message, contacts, now, deadline


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=scenario)
def test_the_set_based_decision_agrees_with_the_reference_rules(db, case):
    with transaction.atomic():
        with connection.cursor() as cursor:  # restored by the rollback: old rows may lie outside the bound
            cursor.execute("ALTER TABLE contacts_channelpreference DROP CONSTRAINT chpref_pause_within_range")
        message, contacts, now, deadline = build(case)
        plan = message_plan(message, deliver_until=deadline)
        ids = [contact.pk for contact in contacts]
        from_sql = decide_contacts_sql(plan, ids, now)
        facts = contact_facts(plan, ids, now)
        for contact_id in ids:
            reference = decide(facts[contact_id], plan, now)
            expected = (reference.outcome, reference.channel_id, reference.reason, reference.deferred_until)
            assert from_sql[contact_id] == expected, (contact_id, case)
        transaction.set_rollback(True)
