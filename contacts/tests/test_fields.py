"""Custom field values: one validation for every type, and each change written with its history row."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings as hsettings, strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from contacts.models import Contact, ContactField, PreferenceChange
from contacts.services import contact_fields_update, field_values_clean
from contacts.services.fields import field_value_clean
from contacts.tests.factories import ContactFieldFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def defined(db):
    return {
        "company": ContactFieldFactory(key="company", label="Company"),
        "employees": ContactFieldFactory(key="employees", label="Employees", type="number"),
        "renewal": ContactFieldFactory(key="renewal", label="Renewal", type="date"),
        "vip": ContactFieldFactory(key="vip", label="VIP", type="boolean"),
        "plan": ContactFieldFactory(key="plan", label="Plan", type="choice", choices=["Free", "Gold"]),
    }


def test_strings_from_a_form_are_stored_in_their_typed_json_form(defined):
    assert field_values_clean(
        {"company": " Acme ", "employees": "12", "renewal": "2026-03-31", "vip": "yes", "plan": "gold"}
    ) == {"company": "Acme", "employees": 12, "renewal": "2026-03-31", "vip": True, "plan": "Gold"}


def test_typed_json_from_the_api_is_accepted(defined):
    assert field_values_clean({"employees": 3.5, "vip": False, "renewal": datetime.date(2026, 1, 2)}) == {
        "employees": 3.5, "vip": False, "renewal": "2026-01-02"}


def test_a_decimal_comma_is_read_as_a_decimal_point(defined):
    assert field_values_clean({"employees": "3,5"}) == {"employees": 3.5}


def test_blank_means_no_value(defined):
    assert field_values_clean({"company": "  ", "employees": None}) == {"company": None, "employees": None}


@pytest.mark.parametrize(("key", "value", "message"), [
    ("employees", "twelve", "Enter a number"),
    ("employees", "1.2.3", "Enter a number"),
    ("employees", "nan", "Enter a number"),
    ("employees", "inf", "Enter a number"),
    ("employees", True, "Enter a number"),
    ("employees", "1e400", "Enter a number"),
    ("renewal", "31/03/2026", "YYYY-MM-DD"),
    ("renewal", "2026-02-30", "YYYY-MM-DD"),
    ("vip", "maybe", "Enter yes or no"),
    ("vip", 2, "Enter yes or no"),
    ("plan", "Platinum", "Choose one of: Free, Gold."),
    ("company", 42, "Enter text."),
    ("company", "x" * 1001, "at most 1000"),
])
def test_a_bad_value_gets_a_message_naming_the_field_and_what_to_enter(defined, key, value, message):
    with pytest.raises(ValidationError) as error:
        field_values_clean({key: value})
    (text,) = error.value.message_dict[key]
    assert message in text and text.startswith(defined[key].label + ":")


def test_a_key_that_is_not_a_defined_field_is_refused(defined):
    with pytest.raises(ValidationError) as error:
        field_values_clean({"company": "Acme", "shoe_size": "42"})
    assert error.value.message_dict == {"shoe_size": ["“shoe_size” is not a defined contact field."]}


def test_every_bad_key_gets_its_own_message(defined):
    with pytest.raises(ValidationError) as error:
        field_values_clean({"employees": "x", "vip": "x", "company": "fine"})
    assert set(error.value.message_dict) == {"employees", "vip"}


class TestNumbersRoundTrip(HypothesisTestCase):
    @hsettings(max_examples=200, deadline=None)
    @given(st.one_of(st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
                     st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)))
    def test_any_number_and_its_text_clean_to_the_same_value(self, number):
        field = ContactField(key="n", label="N", type="number")
        assert field_value_clean(field, number) == field_value_clean(field, repr(number)) == number

    @hsettings(max_examples=100, deadline=None)
    @given(st.dates())
    def test_any_date_round_trips_through_its_iso_text(self, day):
        field = ContactField(key="d", label="D", type="date")
        assert field_value_clean(field, day.isoformat()) == day.isoformat()

    @hsettings(max_examples=100, deadline=None)
    @given(st.text(max_size=50).filter(lambda t: "\x00" not in t))
    def test_text_is_stored_trimmed(self, text):
        field = ContactField(key="t", label="T", type="text")
        assert field_value_clean(field, text) == (text.strip() or None)


def test_update_stores_values_and_records_one_history_row_per_changed_key(defined, contact):
    contact_fields_update(contact=contact, values={"company": "Acme", "employees": "12"}, source="staff:alice")
    contact_fields_update(contact=contact, values={"company": "Acme", "employees": "13"}, source="api:crm")
    contact.refresh_from_db()
    assert contact.fields == {"company": "Acme", "employees": 13}
    rows = list(PreferenceChange.objects.filter(contact=contact, kind="field").order_by("id").values_list(
        "subject", "old_value", "new_value", "source"))
    assert rows == [("company", None, "Acme", "staff:alice"), ("employees", None, 12, "staff:alice"),
                    ("employees", 12, 13, "api:crm")]


def test_a_blank_value_removes_the_key_with_its_history_row(defined, contact):
    contact_fields_update(contact=contact, values={"company": "Acme"}, source="staff:alice")
    contact_fields_update(contact=contact, values={"company": ""}, source="staff:alice")
    contact.refresh_from_db()
    assert contact.fields == {}
    assert PreferenceChange.objects.filter(contact=contact, kind="field").first().new_value is None


def test_an_update_with_one_bad_value_writes_nothing(defined, contact):
    with pytest.raises(ValidationError):
        contact_fields_update(contact=contact, values={"company": "Acme", "employees": "lots"}, source="staff:a")
    assert Contact.objects.get(pk=contact.pk).fields == {}
    assert not PreferenceChange.objects.filter(contact=contact).exists()


def test_an_update_keeps_the_other_keys_written_meanwhile(defined, contact):
    stale = Contact.objects.get(pk=contact.pk)
    contact_fields_update(contact=contact, values={"company": "Acme"}, source="staff:alice")
    contact_fields_update(contact=stale, values={"vip": "yes"}, source="staff:bob")
    assert Contact.objects.get(pk=contact.pk).fields == {"company": "Acme", "vip": True}


def test_the_fields_column_is_jsonb_with_a_gin_index():
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_type FROM information_schema.columns "
                       "WHERE table_name = 'contacts_contact' AND column_name = 'fields'")
        assert cursor.fetchone() == ("jsonb",)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'contact_fields_gin_idx'")
        (definition,) = cursor.fetchone()
    assert "USING gin (fields)" in definition


def test_a_contact_inserted_without_fields_gets_an_empty_object(contact):
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, "
                       "created_at, updated_at) VALUES ('', '', 'raw@example.com', '', 'en', 'UTC', now(), now())")
    assert Contact.objects.get(email="raw@example.com").fields == {}


@pytest.mark.parametrize("values", [{"key": "Bad Key"}, {"key": "ok", "type": "colour"}])
def test_the_database_refuses_a_definition_with_a_bad_key_or_type(values):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactField.objects.create(**{"key": "ok", "label": "X", "type": "text", **values})


@pytest.mark.django_db
def test_saving_details_read_before_a_field_change_keeps_the_new_field_value():
    from contacts.services import contact_save
    from contacts.tests.factories import ContactFactory

    ContactFieldFactory(key="company", label="Company", type="text")
    stale = ContactFactory(first_name="Ada")
    contact_fields_update(contact=Contact.objects.get(pk=stale.pk), values={"company": "Acme"}, source="staff:alice")
    stale.first_name = "Ada Lovelace"
    contact_save(contact=stale, source="staff:bob")
    saved = Contact.objects.get(pk=stale.pk)
    assert (saved.first_name, saved.fields) == ("Ada Lovelace", {"company": "Acme"})
