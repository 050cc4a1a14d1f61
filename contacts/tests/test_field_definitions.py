"""Changing or deleting a field definition says how many contacts hold a value and never corrupts them."""

import pytest

from contacts.models import Contact, ContactField, StaffChange
from contacts.services import contact_fields_update
from contacts.services.errors import FieldChangeRefused
from contacts.services.field_definitions import (
    field_definition_create,
    field_definition_delete,
    field_definition_update,
    field_holders_count,
)
from contacts.tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    return UserFactory(username="erin")


def holding(field, *values):
    contacts = []
    for value in values:
        contact = ContactFactory()
        contact_fields_update(contact=contact, values={field.key: value}, source="staff:erin")
        contacts.append(contact)
    return contacts


def stored(contact, key):
    return Contact.objects.get(pk=contact.pk).fields.get(key)


def test_creating_a_field_is_audited_with_its_definition(editor):
    field = field_definition_create(acting_user=editor, key="plan", label="Plan", type="choice", choices=["A", "B"])
    row = StaffChange.objects.get(subject_type="contact_field", subject_id=field.pk)
    assert (row.actor, row.action, row.changes["choices"]) == ("erin", "created", [None, ["A", "B"]])


def test_a_type_change_that_existing_values_do_not_fit_is_refused_naming_the_count(editor):
    field = field_definition_create(acting_user=editor, key="size", label="Size")
    a, b, c = holding(field, "12", "large", "huge")
    with pytest.raises(FieldChangeRefused, match="Contacts holding a value of “Size” that the new definition does not accept: 2."):
        field_definition_update(field=field, acting_user=editor, type="number")
    assert ContactField.objects.get(pk=field.pk).type == "text"
    assert [stored(x, "size") for x in (a, b, c)] == ["12", "large", "huge"]


def test_a_type_change_that_values_fit_converts_them_to_the_new_stored_form(editor):
    field = field_definition_create(acting_user=editor, key="size", label="Size")
    a, b, c = holding(field, "12", "3,5", "12")
    field_definition_update(field=field, acting_user=editor, type="number")
    assert [stored(x, "size") for x in (a, b, c)] == [12, 3.5, 12]
    assert StaffChange.objects.filter(subject_id=field.pk, changes__values_converted=[0, 3]).exists()


def test_a_number_field_becomes_text_without_losing_values(editor):
    field = field_definition_create(acting_user=editor, key="size", label="Size", type="number")
    (a,) = holding(field, "12")
    field_definition_update(field=field, acting_user=editor, type="text")
    assert stored(a, "size") == "12"


def test_removing_a_choice_that_contacts_hold_is_refused(editor):
    field = field_definition_create(acting_user=editor, key="plan", label="Plan", type="choice",
                                    choices=["Free", "Gold"])
    holding(field, "Gold", "Free", "Free")
    with pytest.raises(FieldChangeRefused, match="does not accept: 1."):
        field_definition_update(field=field, acting_user=editor, choices=["Free"])
    field_definition_update(field=field, acting_user=editor, choices=["Free", "Gold", "Platinum"])
    assert ContactField.objects.get(pk=field.pk).choices == ["Free", "Gold", "Platinum"]


def test_the_key_never_changes(editor):
    field = field_definition_create(acting_user=editor, key="plan", label="Plan")
    with pytest.raises(FieldChangeRefused):
        field_definition_update(field=field, acting_user=editor, key="tier")


def test_deleting_a_field_removes_every_value_set_based_and_audits_the_count(editor, django_assert_max_num_queries):
    field = field_definition_create(acting_user=editor, key="size", label="Size")
    other = field_definition_create(acting_user=editor, key="team", label="Team")
    contacts = holding(field, "1", "2", "3")
    contact_fields_update(contact=contacts[0], values={"team": "Blue"}, source="staff:erin")
    assert field_holders_count(field) == 3
    with django_assert_max_num_queries(8):
        assert field_definition_delete(field=field, acting_user=editor) == 3
    assert [Contact.objects.get(pk=c.pk).fields for c in contacts] == [{"team": "Blue"}, {}, {}]
    assert not ContactField.objects.filter(key="size").exists() and other.pk
    row = StaffChange.objects.get(subject_id=field.pk, action="deleted")
    assert (row.actor, row.changes["values_removed"]) == ("erin", [3, 0])
