"""Each rule of SPEC §3, through the set-based decision the workers run (checked against the reference)."""

import datetime

from contacts import services as contact_services
from contacts.models import CategorySubscription, Channel
from contacts.tests.factories import CategoryFactory, SegmentFactory
from messaging.models import Send

from .conftest import decision_for, run_dispatch, send_of
from .factories import MessageFactory, aware, past_send

NOW = aware(2026, 3, 5, 12, 0)
STAFF = "system"


def test_a_contact_with_no_preferences_gets_the_first_channel_of_the_message_order(members):
    contact = members()
    message = MessageFactory(channels=["sms", "email"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:3] == ("sending", "sms", "channel_order")


def test_the_preferred_channel_is_used_and_the_other_version_is_not_sent(members, sms):
    contact = members()
    contact_services.contact_preferred_channel_set(contact=contact, channel=sms, source=STAFF)
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    send = send_of(message, contact)
    assert (send.outcome, send.channel.slug, send.reason) == ("sent", "sms", "preferred")
    assert Send.objects.filter(contact=contact).count() == 1


def test_a_paused_preferred_channel_falls_to_the_next_reachable_one(members, sms):
    contact = members()
    contact_services.contact_preferred_channel_set(contact=contact, channel=sms, source=STAFF)
    contact_services.channel_pause_set(
        contact=contact, channel=sms, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 31), source=STAFF
    )
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:3] == ("sending", "email", "fallback")


def test_an_email_only_message_with_email_paused_waits_for_the_pause_end_in_the_contacts_time_zone(members, email):
    contact = members(time_zone="America/New_York")
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 10), source=STAFF
    )
    message = MessageFactory(channels=["email"], segments=[members.segment])
    # Midnight after 10 March in New York (UTC-5 before the 8 March DST change: UTC-4 after).
    assert decision_for(message, contact, NOW) == ("deferred", None, "paused", aware(2026, 3, 11, 4, 0))


def test_a_pause_counts_in_the_contacts_local_date_not_utc(members, email):
    contact = members(time_zone="Pacific/Auckland")
    # 5 March 12:00 UTC is already 6 March in Auckland: a pause ending on the 5th is over there.
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 5), source=STAFF
    )
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:2] == ("sending", "email")


def test_the_cap_counts_only_sent_marketing_messages_in_the_rolling_window(members, email):
    contact = members()
    contact_services.channel_frequency_set(contact=contact, channel=email, number=2, unit="day", source=STAFF)
    past_send(contact, "email", NOW - datetime.timedelta(hours=3))  # counts
    past_send(contact, "email", NOW - datetime.timedelta(hours=2), transactional=True)
    past_send(contact, "email", NOW - datetime.timedelta(hours=2), outcome="failed")
    past_send(contact, "email", NOW - datetime.timedelta(hours=2), outcome="deferred")
    past_send(contact, "email", NOW - datetime.timedelta(hours=25))  # left the window
    past_send(contact, "sms", NOW - datetime.timedelta(hours=1))  # another channel
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:2] == ("sending", "email")


def test_a_reached_cap_defers_until_the_oldest_send_leaves_the_window(members, email):
    contact = members()
    contact_services.channel_frequency_set(contact=contact, channel=email, number=2, unit="week", source=STAFF)
    past_send(contact, "email", NOW - datetime.timedelta(days=6))
    past_send(contact, "email", NOW - datetime.timedelta(days=1))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW) == ("deferred", None, "capped", NOW + datetime.timedelta(days=1))


def test_a_monthly_cap_looks_back_one_calendar_month(members, email):
    contact = members()
    contact_services.channel_frequency_set(contact=contact, channel=email, number=1, unit="month", source=STAFF)
    past_send(contact, "email", aware(2026, 2, 6, 12, 0))  # inside 5 Feb 12:00 … 5 Mar 12:00
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW) == ("deferred", None, "capped", aware(2026, 3, 6, 12, 0))


def test_a_capped_channel_falls_to_the_next_channel(members, email):
    contact = members()
    contact_services.channel_frequency_set(contact=contact, channel=email, number=1, unit="day", source=STAFF)
    past_send(contact, "email", NOW - datetime.timedelta(hours=1))
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:3] == ("sending", "sms", "fallback")


def test_the_channel_default_cap_applies_when_the_contact_has_none(members):
    Channel.objects.filter(slug="email").update(default_cap_number=1, default_cap_unit="week")
    Channel.objects.filter(slug="sms").update(default_cap_number=5, default_cap_unit="day")
    contact = members()
    past_send(contact, "email", NOW - datetime.timedelta(days=2))
    past_send(contact, "sms", NOW - datetime.timedelta(hours=2))
    email_only = MessageFactory(channels=["email"], segments=[members.segment])
    sms_only = MessageFactory(channels=["sms"], segments=[members.segment])
    assert decision_for(email_only, contact, NOW)[:3] == ("deferred", None, "capped")
    assert decision_for(sms_only, contact, NOW)[:2] == ("sending", "sms")


def test_the_contacts_own_cap_replaces_the_channel_default(members, email):
    Channel.objects.filter(slug="email").update(default_cap_number=1, default_cap_unit="week")
    contact = members()
    contact_services.channel_frequency_set(contact=contact, channel=email, number=3, unit="week", source=STAFF)
    past_send(contact, "email", NOW - datetime.timedelta(days=2))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:2] == ("sending", "email")


def test_a_default_cap_of_zero_means_no_cap(members):
    Channel.objects.filter(slug="email").update(default_cap_number=0, default_cap_unit="")
    contact = members()
    for hours in range(1, 6):
        past_send(contact, "email", NOW - datetime.timedelta(hours=hours))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:2] == ("sending", "email")


def test_a_contact_who_left_the_category_is_skipped(members):
    news = CategoryFactory()
    contact = members()
    contact_services.category_unsubscribe(contact=contact, category=news, source=STAFF)
    message = MessageFactory(channels=["email"], segments=[members.segment], category=news)
    assert decision_for(message, contact, NOW)[:3] == ("skipped_category", None, "category_unsubscribed")


def test_an_opt_in_category_reaches_only_explicit_subscribers(members):
    beta = CategoryFactory(opt_in=True)
    silent, subscriber = members(), members()
    contact_services.category_subscribe(contact=subscriber, category=beta, source=STAFF)
    message = MessageFactory(channels=["email"], segments=[members.segment], category=beta)
    run_dispatch(message, now=NOW)
    assert (send_of(message, silent).outcome, send_of(message, silent).reason) == (
        "skipped_category", "category_not_subscribed",
    )
    assert send_of(message, subscriber).outcome == "sent"
    assert CategorySubscription.objects.filter(contact=subscriber).exists()


def test_a_contact_removed_from_the_segment_gets_nothing(members):
    stays, leaves = members(), members()
    contact_services.segment_membership_remove(contact=leaves, segment=members.segment, source=STAFF)
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW)
    assert send_of(message, stays).outcome == "sent"
    assert send_of(message, leaves) is None
    assert dispatch.recipients == 1


def test_a_contact_in_two_source_segments_gets_one_send(members):
    other = SegmentFactory()
    contact = members()
    contact_services.segment_membership_add(contact=contact, segment=other, source=STAFF)
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment, other])
    run_dispatch(message, now=NOW)
    assert Send.objects.filter(message=message, contact=contact).count() == 1


def test_do_not_contact_on_the_first_channel_falls_to_the_next(members, email):
    contact = members()
    contact_services.channel_unsubscribe(contact=contact, channel=email, source=STAFF)
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:3] == ("sending", "sms", "channel_order")


def test_do_not_contact_on_every_channel_skips_with_dnc(members, email, sms):
    contact = members()
    contact_services.channel_unsubscribe(contact=contact, channel=email, source=STAFF)
    contact_services.channel_unsubscribe(contact=contact, channel=sms, source=STAFF, reason="bounced")
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:3] == ("skipped_dnc", None, "dnc")


def test_a_contact_without_any_address_for_the_message_is_skipped_for_no_address(members):
    contact = members(email="")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert decision_for(message, contact, NOW)[:3] == ("skipped_no_address", None, "no_address")


def test_a_transactional_message_ignores_caps_pauses_and_categories(members, email):
    news = CategoryFactory()
    contact = members()
    contact_services.category_unsubscribe(contact=contact, category=news, source=STAFF)
    contact_services.channel_frequency_set(contact=contact, channel=email, number=1, unit="day", source=STAFF)
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 9), source=STAFF
    )
    past_send(contact, "email", NOW - datetime.timedelta(hours=1))
    receipt = MessageFactory(channels=["email"], segments=[members.segment], category=news, transactional=True)
    assert decision_for(receipt, contact, NOW)[:2] == ("sending", "email")


def test_a_transactional_message_still_honours_do_not_contact(members, email):
    contact = members()
    contact_services.channel_unsubscribe(contact=contact, channel=email, source=STAFF)
    receipt = MessageFactory(channels=["email"], segments=[members.segment], transactional=True)
    assert decision_for(receipt, contact, NOW)[:1] == ("skipped_dnc",)


def test_transactional_sends_do_not_count_toward_caps(members, email):
    contact = members()
    contact_services.channel_frequency_set(contact=contact, channel=email, number=1, unit="day", source=STAFF)
    receipt = MessageFactory(channels=["email"], segments=[members.segment], transactional=True)
    run_dispatch(receipt, now=NOW)
    news = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(news, now=NOW + datetime.timedelta(minutes=1))
    assert send_of(news, contact).outcome == "sent"
