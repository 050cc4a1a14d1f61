"""Every kind of change appends one history row with its old value, new value and source."""

import datetime

import pytest

from contacts.models import PreferenceChange
from contacts.services import (
    Source,
    category_subscribe,
    category_unsubscribe,
    channel_frequency_set,
    channel_pause_set,
    channel_unsubscribe,
    contact_preferences_update,
    contact_preferred_channel_set,
    segment_membership_add,
    segment_membership_remove,
)

pytestmark = pytest.mark.django_db


def last_change(contact):
    return PreferenceChange.objects.filter(contact=contact).first()


def test_dnc_change_is_recorded(contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="staff:alice")
    change = last_change(contact)
    assert (change.kind, change.channel, change.old_value, change.new_value, change.source) == (
        "dnc", email, None, "manual", "staff:alice")


def test_frequency_change_is_recorded(contact, email):
    channel_frequency_set(contact=contact, channel=email, number=2, unit="day", source="api:crm")
    channel_frequency_set(contact=contact, channel=email, number=1, unit="week", source="api:crm")
    change = last_change(contact)
    assert (change.kind, change.old_value, change.new_value, change.source) == (
        "frequency", {"number": 2, "unit": "day"}, {"number": 1, "unit": "week"}, "api:crm")


def test_pause_change_is_recorded(contact, sms):
    channel_pause_set(contact=contact, channel=sms, pause_from=datetime.date(2026, 11, 1),
                      pause_to=datetime.date(2026, 11, 30), source="public_page")
    channel_pause_set(contact=contact, channel=sms, pause_from=None, pause_to=None, source="public_page")
    change = last_change(contact)
    assert (change.kind, change.old_value, change.new_value) == (
        "pause", {"from": "2026-11-01", "to": "2026-11-30"}, None)


def test_preferred_channel_change_is_recorded(contact, email, sms):
    contact_preferred_channel_set(contact=contact, channel=email, source="staff:alice")
    contact_preferred_channel_set(contact=contact, channel=sms, source="staff:bob")
    change = last_change(contact)
    assert (change.kind, change.old_value, change.new_value, change.source) == (
        "preferred_channel", "email", "sms", "staff:bob")


def test_category_change_is_recorded(contact, category):
    category_unsubscribe(contact=contact, category=category, source="public_page")
    change = last_change(contact)
    assert (change.kind, change.category, change.subject, change.old_value, change.new_value) == (
        "category", category, category.slug, None, "unsubscribed")


def test_segment_removal_and_return_are_recorded(contact, segment):
    segment_membership_add(contact=contact, segment=segment, source="import")
    segment_membership_remove(contact=contact, segment=segment, source="public_page")
    segment_membership_add(contact=contact, segment=segment, source="staff:alice")
    values = list(PreferenceChange.objects.filter(contact=contact).order_by("id").values_list("old_value", "new_value", "source"))
    assert values == [(None, "member", "import"), ("member", "removed", "public_page"), ("removed", "member", "staff:alice")]


def test_public_sources_keep_send_ip_and_user_agent(contact, email):
    source = Source("public_page", send_id=42, ip="203.0.113.9", user_agent="Mail/1.0")
    contact_preferences_update(contact=contact, data={"channels": {"email": {"subscribed": False}}}, source=source)
    change = last_change(contact)
    assert (change.send_id, change.ip_address, change.user_agent) == (42, "203.0.113.9", "Mail/1.0")


def test_unchanged_values_write_no_history(contact, email, category):
    data = {"channels": {"email": {"subscribed": True, "frequency": None, "pause": None}},
            "preferred_channel": None, "categories": {category.slug: True}}
    contact_preferences_update(contact=contact, data=data, source="staff:alice")
    category_subscribe(contact=contact, category=category, source="staff:alice")
    assert not PreferenceChange.objects.filter(contact=contact).exists()


def test_history_rows_cannot_be_edited_or_deleted(contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="staff:alice")
    change = last_change(contact)
    change.new_value = "forged"
    with pytest.raises(TypeError):
        change.save()
    with pytest.raises(TypeError):
        PreferenceChange.objects.filter(contact=contact).update(new_value="forged")
    with pytest.raises(TypeError):
        PreferenceChange.objects.filter(contact=contact).delete()


def test_the_database_refuses_to_rewrite_history(contact, email):
    from django.db import connection, transaction
    from django.db.utils import InternalError

    channel_unsubscribe(contact=contact, channel=email, source="staff:alice")
    with pytest.raises(InternalError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_preferencechange SET new_value = '\"forged\"'")


@pytest.mark.parametrize("label", ["nobody", "staff", "staff:", "public_page:x", "api"])
def test_a_change_needs_a_known_source(contact, email, label):
    with pytest.raises(ValueError):
        channel_unsubscribe(contact=contact, channel=email, source=label)


def test_deleting_a_category_keeps_its_history_by_name(contact, category):
    category_unsubscribe(contact=contact, category=category, source="public_page")
    slug = category.slug
    category.delete()
    change = last_change(contact)
    assert (change.category, change.subject, change.new_value) == (None, slug, "unsubscribed")


def test_deleting_a_segment_keeps_its_history_by_name(contact, segment):
    segment_membership_add(contact=contact, segment=segment, source="import")
    slug = segment.slug
    segment.delete()
    change = last_change(contact)
    assert (change.segment, change.subject, change.new_value) == (None, slug, "member")


def test_the_database_refuses_to_rewrite_a_detached_row(contact, category):
    from django.db import connection, transaction
    from django.db.utils import InternalError

    category_unsubscribe(contact=contact, category=category, source="public_page")
    with pytest.raises(InternalError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_preferencechange SET category_id = NULL, source = 'forged'")
