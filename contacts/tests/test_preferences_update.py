"""contact_preferences_update: validation first, one error with every message, nothing changed on error."""

import datetime

import pytest
from django.apps import apps

from contacts.models import ChannelPreference, PreferenceChange
from contacts.selectors import contact_preferences
from contacts.services import PreferencesInvalid, channel_unsubscribe, contact_preferences_update

from .factories import CategoryFactory, ContactFactory

pytestmark = pytest.mark.django_db


def database_snapshot():
    """Every row of every table, in primary-key order."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in apps.get_models()}


@pytest.fixture
def busy_contact(email, sms, category, segment):
    contact = ContactFactory()
    contact_preferences_update(contact=contact, data={
        "channels": {"email": {"frequency": {"number": 2, "unit": "day"},
                               "pause": {"from": "2026-12-01", "to": "2026-12-24"}}},
        "preferred_channel": "email",
        "categories": {category.slug: False},
        "segments": {segment.slug: True},
    }, source="staff:alice")
    return contact


INVALID = {
    "unknown channel": ({"channels": {"fax": {"subscribed": True}}}, "channels.fax"),
    "unknown category": ({"categories": {"no-such-topic": True}}, "categories.no-such-topic"),
    "unknown segment": ({"segments": {"no-such-group": True}}, "segments.no-such-group"),
    "unknown field": ({"colour": "blue"}, "colour"),
    "cap below one": ({"channels": {"email": {"frequency": {"number": 0, "unit": "day"}}}}, "channels.email.frequency.number"),
    "cap beyond reason": ({"channels": {"email": {"frequency": {"number": 10**12, "unit": "day"}}}}, "channels.email.frequency.number"),
    "negative cap": ({"channels": {"sms": {"frequency": {"number": -3, "unit": "week"}}}}, "channels.sms.frequency.number"),
    "number without unit": ({"channels": {"email": {"frequency": {"number": 3, "unit": None}}}}, "channels.email.frequency.unit"),
    "unit without number": ({"channels": {"email": {"frequency": {"number": None, "unit": "day"}}}}, "channels.email.frequency.number"),
    "unknown unit": ({"channels": {"email": {"frequency": {"number": 3, "unit": "hour"}}}}, "channels.email.frequency.unit"),
    "number as text": ({"channels": {"email": {"frequency": {"number": "3", "unit": "day"}}}}, "channels.email.frequency.number"),
    "pause ends before it starts": ({"channels": {"email": {"pause": {"from": "2026-11-30", "to": "2026-11-01"}}}}, "channels.email.pause.to"),
    "pause without end": ({"channels": {"email": {"pause": {"from": "2026-11-30", "to": None}}}}, "channels.email.pause.to"),
    "pause date not a date": ({"channels": {"email": {"pause": {"from": "soon", "to": "2026-11-01"}}}}, "channels.email.pause.from"),
    "subscribed not a boolean": ({"channels": {"email": {"subscribed": "yes"}}}, "channels.email.subscribed"),
    "preferred channel unsubscribed in the same save": (
        {"channels": {"sms": {"subscribed": False}}, "preferred_channel": "sms"}, "preferred_channel"),
    "preferred channel unknown": ({"preferred_channel": "pigeon"}, "preferred_channel"),
}


@pytest.mark.parametrize("data, path", INVALID.values(), ids=INVALID.keys())
def test_invalid_input_names_the_field_and_changes_nothing(busy_contact, segment, data, path):
    data = {"segments": {segment.slug: False}, **data}  # a valid change rides along: it must not apply either
    before = database_snapshot()

    with pytest.raises(PreferencesInvalid) as error:
        contact_preferences_update(contact=busy_contact, data=data, source="staff:alice")

    assert path in error.value.errors
    assert database_snapshot() == before


def test_preferred_channel_must_not_be_do_not_contact(contact, sms):
    channel_unsubscribe(contact=contact, channel=sms, reason="complaint", source="complaint")
    before = database_snapshot()
    with pytest.raises(PreferencesInvalid) as error:
        contact_preferences_update(contact=contact, data={"preferred_channel": "sms"}, source="staff:alice")
    assert "preferred_channel" in error.value.errors
    assert database_snapshot() == before


def test_preferred_channel_needs_an_address(email, sms):
    contact = ContactFactory(phone="")
    with pytest.raises(PreferencesInvalid) as error:
        contact_preferences_update(contact=contact, data={"preferred_channel": "sms"}, source="staff:alice")
    assert "no address" in error.value.errors["preferred_channel"][0]


def test_every_error_is_reported_at_once(contact):
    data = {"channels": {"email": {"frequency": {"number": 0, "unit": "day"},
                                   "pause": {"from": "2026-11-30", "to": "2026-11-01"}}},
            "categories": {"nope": True}}
    with pytest.raises(PreferencesInvalid) as error:
        contact_preferences_update(contact=contact, data=data, source="staff:alice")
    assert set(error.value.errors) == {"channels.email.frequency.number", "channels.email.pause.to", "categories.nope"}


def test_a_full_shape_round_trips(busy_contact, email, sms):
    shape = contact_preferences(busy_contact)
    assert shape["channels"]["email"]["frequency"] == {"number": 2, "unit": "day"}
    assert shape["channels"]["email"]["pause"] == {"from": "2026-12-01", "to": "2026-12-24"}
    assert shape["preferred_channel"] == "email"
    history = PreferenceChange.objects.filter(contact=busy_contact).count()

    contact_preferences_update(contact=busy_contact, data=shape, source="api:crm")

    assert contact_preferences(busy_contact) == shape
    assert PreferenceChange.objects.filter(contact=busy_contact).count() == history


def test_a_partial_shape_changes_only_what_it_names(busy_contact):
    before = contact_preferences(busy_contact)
    contact_preferences_update(
        contact=busy_contact, data={"channels": {"email": {"frequency": {"number": 5, "unit": "month"}}}}, source="api:crm"
    )
    after = contact_preferences(busy_contact)
    assert after["channels"]["email"]["frequency"] == {"number": 5, "unit": "month"}
    after["channels"]["email"]["frequency"] = before["channels"]["email"]["frequency"]
    assert after == before


def test_a_channel_reticked_in_the_same_save_can_be_preferred(contact, sms):
    channel_unsubscribe(contact=contact, channel=sms, source="public_page")
    contact_preferences_update(
        contact=contact, data={"channels": {"sms": {"subscribed": True}}, "preferred_channel": "sms"}, source="public_page"
    )
    shape = contact_preferences(contact)
    assert shape["channels"]["sms"]["subscribed"] is True and shape["preferred_channel"] == "sms"


def test_clearing_cap_and_pause_removes_the_empty_preference_row(busy_contact, email):
    contact_preferences_update(
        contact=busy_contact, data={"channels": {"email": {"frequency": None, "pause": None}}, "preferred_channel": None},
        source="staff:alice",
    )
    assert not ChannelPreference.objects.filter(contact=busy_contact).exists()


def test_dates_may_be_given_as_date_objects(contact):
    pause = {"from": datetime.date(2027, 1, 1), "to": datetime.date(2027, 1, 2)}
    contact_preferences_update(contact=contact, data={"channels": {"sms": {"pause": pause}}}, source="staff:alice")
    assert contact_preferences(contact)["channels"]["sms"]["pause"] == {"from": "2027-01-01", "to": "2027-01-02"}


def test_public_only_treats_private_categories_as_unknown(contact):
    private = CategoryFactory(public=False)
    with pytest.raises(PreferencesInvalid) as error:
        contact_preferences_update(
            contact=contact, data={"categories": {private.slug: False}}, source="public_page", public_only=True
        )
    assert f"categories.{private.slug}" in error.value.errors


def test_opt_in_categories_default_to_not_subscribed(contact):
    beta = CategoryFactory(opt_in=True)
    assert contact_preferences(contact)["categories"][beta.slug] is False
    contact_preferences_update(contact=contact, data={"categories": {beta.slug: True}}, source="public_page")
    assert contact_preferences(contact)["categories"][beta.slug] is True
