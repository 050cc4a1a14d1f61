"""The database itself rejects rows that break SPEC §2, whatever code wrote them."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from contacts.models import (
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceChange,
    PreferenceSettings,
    SegmentMembership,
)

pytestmark = pytest.mark.django_db


def rejected(**kwargs):
    model = kwargs.pop("model")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**kwargs)


def test_one_dnc_per_contact_and_channel(contact, email):
    DoNotContact.objects.create(contact=contact, channel=email, reason="manual", source="system")
    rejected(model=DoNotContact, contact=contact, channel=email, reason="bounced", source="system")


def test_dnc_reason_must_be_known(contact, email):
    rejected(model=DoNotContact, contact=contact, channel=email, reason="bored", source="system")


def test_one_channel_preference_per_contact_and_channel(contact, email):
    ChannelPreference.objects.create(contact=contact, channel=email, cap_number=1, cap_unit="day")
    rejected(model=ChannelPreference, contact=contact, channel=email, cap_number=2, cap_unit="week")


@pytest.mark.parametrize("number, unit", [(0, "day"), (3, ""), (None, "week"), (2, "hour")])
def test_cap_needs_a_number_of_at_least_one_and_a_unit(contact, email, number, unit):
    rejected(model=ChannelPreference, contact=contact, channel=email, cap_number=number, cap_unit=unit)


@pytest.mark.parametrize("start, end", [
    (datetime.date(2026, 11, 30), datetime.date(2026, 11, 1)),
    (datetime.date(2026, 11, 1), None),
    (None, datetime.date(2026, 11, 1)),
])
def test_pause_runs_forward_with_both_ends(contact, email, start, end):
    rejected(model=ChannelPreference, contact=contact, channel=email, pause_from=start, pause_to=end)


def test_a_one_day_pause_is_allowed(contact, email):
    day = datetime.date(2026, 11, 1)
    ChannelPreference.objects.create(contact=contact, channel=email, pause_from=day, pause_to=day)


def test_at_most_one_preferred_channel_per_contact(contact, email, sms):
    ChannelPreference.objects.create(contact=contact, channel=email, preferred=True)
    rejected(model=ChannelPreference, contact=contact, channel=sms, preferred=True)
    ChannelPreference.objects.create(contact=contact, channel=sms, preferred=False)


def test_one_subscription_row_per_contact_and_category(contact, category):
    CategorySubscription.objects.create(contact=contact, category=category, status="subscribed", source="system")
    rejected(model=CategorySubscription, contact=contact, category=category, status="unsubscribed", source="system")


def test_subscription_status_must_be_known(contact, category):
    rejected(model=CategorySubscription, contact=contact, category=category, status="maybe", source="system")


def test_one_membership_row_per_contact_and_segment(contact, segment):
    SegmentMembership.objects.create(contact=contact, segment=segment, source="system")
    rejected(model=SegmentMembership, contact=contact, segment=segment, source="system", removed=True)


def test_email_is_unique_whatever_its_case(contact):
    rejected(model=Contact, email=contact.email.upper())
    Contact.objects.create(email="")
    Contact.objects.create(email="")  # contacts without an email are allowed, several of them


def test_phone_must_be_e164(db):
    rejected(model=Contact, phone="06 12 34 56 78")


def test_channel_default_cap_needs_a_unit(db):
    rejected(model=Channel, slug="push", name="Push", address_field="email", default_cap_number=3)
    Channel.objects.create(slug="push", name="Push", address_field="email", default_cap_number=0)


def test_history_kind_must_be_known(contact):
    rejected(model=PreferenceChange, contact=contact, kind="mood", source="system")


def test_settings_have_a_single_row(db):
    PreferenceSettings.load()
    with pytest.raises(IntegrityError), transaction.atomic():
        PreferenceSettings.objects.bulk_create([PreferenceSettings(pk=2)])
