"""The Preferences modal's form: every invalid input shows next to its field, in its tab, and saves nothing."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from contacts.forms import PreferencesForm
from contacts.models import ChannelPreference, DoNotContact, PreferenceChange
from contacts.selectors import contact_preference_state
from contacts.services import channel_unsubscribe

from .factories import ContactFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def editor_client(db):
    user = UserFactory(username="edith")
    user.save()
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(user)
    return client


def valid_data(**overrides) -> dict:
    """A submission that changes nothing for a fresh contact: both channels ticked, no cap, no pause."""
    data = {"email_subscribed": "on", "sms_subscribed": "on", "preferred_channel": ""}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def submit(client, contact, **fields):
    response = client.post(reverse("contacts:contact_preferences", args=[contact.pk]), valid_data(**fields), **HTMX)
    assert response.status_code == 200, "an invalid form is shown again"
    return response.content.decode()


def field_errors(html: str, field: str) -> str:
    """The markup of the field's crispy block (its input and its invalid-feedback)."""
    return html.split(f'id="div_id_{field}"')[1].split('<div id="div_id_')[0]


def pane(html: str, tab: str) -> str:
    return html.split(f'id="pane-{tab}"')[1].split('class="tab-pane')[0]


def assert_nothing_saved(contact):
    assert not ChannelPreference.objects.filter(contact=contact).exists()
    assert not DoNotContact.objects.filter(contact=contact).exists()
    assert not PreferenceChange.objects.filter(contact=contact).exists()


def test_a_cap_below_one_is_refused_next_to_the_number(editor_client, contact):
    html = submit(editor_client, contact, email_cap_number="0", email_cap_unit="day")
    assert "Enter a number of at least 1" in field_errors(html, "email_cap_number")
    assert "is-invalid" in field_errors(html, "email_cap_number")
    assert 'id="tab-channels"' in html and "Nothing was saved" in html
    assert_nothing_saved(contact)


def test_a_cap_number_without_a_unit_is_refused_next_to_the_unit(editor_client, contact):
    html = submit(editor_client, contact, sms_cap_number="3")
    assert "Choose day, week or month." in field_errors(html, "sms_cap_unit")
    assert_nothing_saved(contact)


def test_a_cap_unit_without_a_number_is_refused_next_to_the_number(editor_client, contact):
    html = submit(editor_client, contact, email_cap_unit="week")
    assert "Enter how many messages, or clear the unit." in field_errors(html, "email_cap_number")
    assert_nothing_saved(contact)


def test_a_cap_that_is_not_a_number_is_refused(editor_client, contact):
    html = submit(editor_client, contact, email_cap_number="two", email_cap_unit="day")
    assert "Enter a whole number." in field_errors(html, "email_cap_number")
    assert_nothing_saved(contact)


def test_a_pause_ending_before_it_starts_is_refused_next_to_the_end_date(editor_client, contact):
    html = submit(editor_client, contact, email_pause_from="2026-12-10", email_pause_to="2026-12-01")
    assert "The pause must end on or after the day it starts." in field_errors(html, "email_pause_to")
    assert "The pause must end" in pane(html, "channels")
    assert_nothing_saved(contact)


def test_a_pause_without_an_end_is_refused(editor_client, contact):
    html = submit(editor_client, contact, sms_pause_from="2026-12-10")
    assert "Enter the last day of the pause." in field_errors(html, "sms_pause_to")
    assert_nothing_saved(contact)


def test_a_pause_date_that_is_not_a_date_is_refused(editor_client, contact):
    html = submit(editor_client, contact, email_pause_from="31/31/2026", email_pause_to="2026-12-01")
    assert "Enter a valid date." in field_errors(html, "email_pause_from")
    assert_nothing_saved(contact)


def test_preferring_a_channel_unticked_in_the_same_save_is_refused(editor_client, contact):
    html = submit(editor_client, contact, email_subscribed=None, preferred_channel="email")
    errors = html.split('id="channel-row-email"')[1].split("</fieldset>")[0]  # beside the radio it concerns
    assert "Email cannot be preferred: the contact may not be contacted on it." in errors
    assert_nothing_saved(contact)


def test_preferring_a_channel_without_an_address_is_refused(editor_client):
    contact = ContactFactory(phone="")
    html = submit(editor_client, contact, preferred_channel="sms")
    assert "SMS cannot be preferred: the contact has no address for it." in (
        html.split('id="channel-row-sms"')[1].split("</fieldset>")[0]
    )
    assert_nothing_saved(contact)


def test_preferring_a_bounced_channel_is_refused(editor_client, contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="bounce", reason="bounced")
    html = submit(editor_client, contact, preferred_channel="email")
    assert "cannot be preferred" in html.split('id="channel-row-email"')[1].split("</fieldset>")[0]
    assert not ChannelPreference.objects.filter(contact=contact).exists()


def test_several_errors_in_one_save_all_show_and_nothing_of_the_valid_part_is_saved(editor_client, contact, category):
    html = submit(
        editor_client, contact, email_cap_number="2", email_cap_unit="day",
        sms_pause_from="2026-12-10", sms_pause_to="2026-12-01", **{f"category_{category.slug}": None},
    )
    assert "The pause must end" in field_errors(html, "sms_pause_to")
    assert_nothing_saved(contact)
    assert not contact.category_subscriptions.exists()


def test_the_first_tab_with_an_error_is_open_and_marked(contact, category, segment):
    state = contact_preference_state(contact=contact)
    form = PreferencesForm(valid_data(), state=state, contact=contact)
    assert form.is_valid()
    form.add_service_errors({f"segments.{segment.slug}": ["Segment error."], f"categories.{category.slug}": ["Category error."]})
    assert form.error_tabs() == ["categories", "segments"]
    assert form.active_tab() == "categories"
    assert form.errors[f"category_{category.slug}"] == ["Category error."]


def test_service_error_paths_map_to_modal_fields():
    cases = {
        "channels.email.frequency.number": "email_cap_number",
        "channels.email.frequency.unit": "email_cap_unit",
        "channels.sms.frequency": "sms_cap_number",
        "channels.email.pause.from": "email_pause_from",
        "channels.email.pause.to": "email_pause_to",
        "channels.email.subscribed": "email_subscribed",
        "preferred_channel": "preferred_channel",
        "categories.news": "category_news",
        "segments.vip": "segment_vip",
        "__all__": None,
    }
    for path, field in cases.items():
        assert PreferencesForm.field_for_path(path) == field, path


def test_an_error_for_an_unknown_field_is_shown_at_the_top(contact):
    state = contact_preference_state(contact=contact)
    form = PreferencesForm(valid_data(), state=state, contact=contact)
    assert form.is_valid()
    form.add_service_errors({"channels.fax": ["Unknown channel."]})
    assert form.non_field_errors() == ["Unknown channel."]


def test_one_save_changes_all_three_tabs_with_one_history_row_each(editor_client, contact, email, sms, category, segment):
    response = editor_client.post(
        reverse("contacts:contact_preferences", args=[contact.pk]),
        valid_data(
            sms_subscribed=None, email_cap_number="2", email_cap_unit="week", email_pause_from="2026-12-20",
            email_pause_to="2027-01-03", preferred_channel="email", **{f"segment_{segment.slug}": "on"},
        ),
        **HTMX,
    )
    assert response.status_code == 204
    kinds = sorted(PreferenceChange.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["category", "dnc", "frequency", "pause", "preferred_channel", "segment"]
    assert set(PreferenceChange.objects.filter(contact=contact).values_list("source", flat=True)) == {"staff:edith"}
    assert DoNotContact.objects.get(contact=contact, channel=sms).reason == "manual"
