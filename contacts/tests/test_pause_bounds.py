"""Pause dates lie within 2000–2099: the modal, the public page and the services refuse the rest."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from contacts.models import ChannelPreference, PreferenceChange
from contacts.services import PreferencesInvalid, channel_pause_set, contact_preferences_update

from .test_staff_forms import assert_nothing_saved, editor_client, field_errors, submit  # noqa: F401

pytestmark = pytest.mark.django_db

RANGE_ERROR = "Enter a date between"


@pytest.mark.parametrize(
    "start, end, field",
    [("2026-12-01", "9999-12-31", "to"), ("1999-12-31", "2026-12-01", "from"), ("2100-01-01", "2100-01-02", "from")],
)
def test_a_pause_outside_the_years_2000_to_2099_is_refused_at_its_field(contact, start, end, field):
    data = {"channels": {"email": {"pause": {"from": start, "to": end}}}}
    with pytest.raises(PreferencesInvalid) as refused:
        contact_preferences_update(contact=contact, data=data, source="system")
    assert RANGE_ERROR in " ".join(refused.value.errors[f"channels.email.pause.{field}"])
    assert not ChannelPreference.objects.filter(contact=contact).exists()
    assert not PreferenceChange.objects.filter(contact=contact).exists()


def test_the_last_day_of_2099_is_a_valid_end(contact, email):
    channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2000, 1, 1), pause_to=datetime.date(2099, 12, 31),
        source="system",
    )
    assert ChannelPreference.objects.get(contact=contact).pause_to == datetime.date(2099, 12, 31)


def test_the_modal_refuses_a_pause_ending_on_9999_12_31(editor_client, contact):  # noqa: F811
    html = submit(editor_client, contact, email_pause_from="2026-12-01", email_pause_to="9999-12-31")
    assert RANGE_ERROR in field_errors(html, "email_pause_to")
    assert_nothing_saved(contact)


def test_the_database_refuses_a_pause_beyond_2099(contact, email):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelPreference.objects.create(
            contact=contact, channel=email, pause_from=datetime.date(2026, 1, 1), pause_to=datetime.date(9999, 12, 31)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelPreference.objects.create(
            contact=contact, channel=email, pause_from=datetime.date(1, 1, 1), pause_to=datetime.date(2026, 1, 1)
        )


def test_the_migration_moves_a_stored_pause_inside_the_bound_and_records_it(contact, email):
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:  # a row saved before the bound; the rollback restores the constraint
        cursor.execute("ALTER TABLE contacts_channelpreference DROP CONSTRAINT chpref_pause_within_range")
    ChannelPreference.objects.create(
        contact=contact, channel=email, pause_from=datetime.date(2026, 1, 1), pause_to=datetime.date(9999, 12, 31)
    )
    import_module("contacts.migrations.0008_pause_dates_within_range").clamp_stored_pauses(apps, None)
    pref = ChannelPreference.objects.get(contact=contact)
    assert (pref.pause_from, pref.pause_to) == (datetime.date(2026, 1, 1), datetime.date(2099, 12, 31))
    change = PreferenceChange.objects.get(contact=contact)
    assert (change.kind, change.source, change.old_value["to"], change.new_value["to"]) == (
        "pause", "system", "9999-12-31", "2099-12-31",
    )
