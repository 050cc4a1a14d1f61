"""SPEC §2 do-not-contact rules, through the services every screen and task calls."""

import pytest

from contacts.models import DoNotContact, PreferenceChange
from contacts.selectors import contact_preferences
from contacts.services import (
    PreferencesInvalid,
    channel_dnc_clear,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferences_update,
    contact_preferred_channel_set,
)

pytestmark = pytest.mark.django_db


def dnc_reason(contact, channel):
    return DoNotContact.objects.filter(contact=contact, channel=channel).values_list("reason", flat=True).first()


def test_staff_unticking_a_channel_records_manual(contact, email):
    contact_preferences_update(contact=contact, data={"channels": {"email": {"subscribed": False}}}, source="staff:alice")
    assert dnc_reason(contact, email) == "manual"


def test_contact_unticking_on_the_public_page_records_unsubscribed(contact, email):
    contact_preferences_update(contact=contact, data={"channels": {"email": {"subscribed": False}}}, source="public_page")
    assert dnc_reason(contact, email) == "unsubscribed"


def test_one_click_unsubscribe_records_unsubscribed(contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    assert dnc_reason(contact, email) == "unsubscribed"


@pytest.mark.parametrize("reason", ["unsubscribed", "manual"])
def test_reticking_clears_unsubscribed_and_manual(contact, email, reason):
    channel_unsubscribe(contact=contact, channel=email, reason=reason, source="system")
    contact_preferences_update(contact=contact, data={"channels": {"email": {"subscribed": True}}}, source="public_page")
    assert dnc_reason(contact, email) is None


@pytest.mark.parametrize("reason", ["bounced", "complaint"])
@pytest.mark.parametrize("source", ["public_page", "staff:alice", "api:crm"])
def test_a_bounce_or_complaint_survives_a_retick(contact, email, reason, source):
    channel_unsubscribe(contact=contact, channel=email, reason=reason, source={"bounced": "bounce"}.get(reason, reason))

    with pytest.raises(PreferencesInvalid) as error:
        contact_preferences_update(contact=contact, data={"channels": {"email": {"subscribed": True}}}, source=source)

    assert "channels.email.subscribed" in error.value.errors
    assert dnc_reason(contact, email) == reason


def test_channel_subscribe_refuses_to_clear_a_bounce(contact, email):
    channel_unsubscribe(contact=contact, channel=email, reason="bounced", source="bounce")
    with pytest.raises(PreferencesInvalid):
        channel_subscribe(contact=contact, channel=email, source="public_page")
    assert dnc_reason(contact, email) == "bounced"


def test_staff_clear_lifts_a_bounce_and_records_it(contact, email):
    channel_unsubscribe(contact=contact, channel=email, reason="bounced", source="bounce")
    channel_dnc_clear(contact=contact, channel=email, source="staff:alice")
    assert dnc_reason(contact, email) is None
    change = PreferenceChange.objects.filter(contact=contact).first()
    assert (change.old_value, change.new_value, change.source) == ("bounced", None, "staff:alice")


def test_a_contact_cannot_clear_a_bounce_even_through_the_clear_action(contact, email):
    channel_unsubscribe(contact=contact, channel=email, reason="bounced", source="bounce")
    with pytest.raises(PermissionError):
        channel_dnc_clear(contact=contact, channel=email, source="public_page")
    assert dnc_reason(contact, email) == "bounced"


def test_a_bounce_hardens_an_unsubscribe(contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="public_page")
    channel_unsubscribe(contact=contact, channel=email, reason="bounced", source="bounce")
    assert dnc_reason(contact, email) == "bounced"


def test_an_unsubscribe_never_softens_a_complaint(contact, email):
    channel_unsubscribe(contact=contact, channel=email, reason="complaint", source="complaint")
    channel_unsubscribe(contact=contact, channel=email, source="public_page")
    assert dnc_reason(contact, email) == "complaint"
    assert PreferenceChange.objects.filter(contact=contact).count() == 1


def test_unsubscribing_the_preferred_channel_drops_the_preference(contact, email):
    contact_preferred_channel_set(contact=contact, channel=email, source="staff:alice")
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    assert contact_preferences(contact)["preferred_channel"] is None
    kinds = list(PreferenceChange.objects.filter(contact=contact).values_list("kind", flat=True))
    assert sorted(kinds) == ["dnc", "preferred_channel", "preferred_channel"]


def test_the_shape_shows_a_dnc_reason(contact, email):
    channel_unsubscribe(contact=contact, channel=email, reason="bounced", source="bounce")
    assert contact_preferences(contact)["channels"]["email"] == {
        "subscribed": False, "dnc_reason": "bounced", "frequency": None, "pause": None,
    }
