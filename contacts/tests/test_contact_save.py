import pytest

from contacts.models import PreferenceChange
from contacts.selectors import contact_preferences
from contacts.services import contact_preferred_channel_set, contact_save

pytestmark = pytest.mark.django_db


def test_removing_the_preferred_channels_address_drops_the_preference(contact, sms):
    contact_preferred_channel_set(contact=contact, channel=sms, source="staff:alice")
    contact.phone = ""
    contact_save(contact=contact, source="staff:alice")
    assert contact_preferences(contact)["preferred_channel"] is None
    change = PreferenceChange.objects.filter(contact=contact).first()
    assert (change.kind, change.old_value, change.new_value) == ("preferred_channel", "sms", None)


def test_editing_a_name_keeps_the_preference(contact, email):
    contact_preferred_channel_set(contact=contact, channel=email, source="staff:alice")
    contact.first_name = "Renamed"
    contact_save(contact=contact, source="staff:alice")
    assert contact_preferences(contact)["preferred_channel"] == "email"
