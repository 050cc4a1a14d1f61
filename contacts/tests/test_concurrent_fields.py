"""Two writes of one contact's custom fields at the same moment, on real PostgreSQL transactions."""

import pytest

from contacts.models import Contact, PreferenceChange
from contacts.services import contact_fields_update

from .concurrency import race
from .factories import ContactFieldFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_writes_of_different_fields_both_survive_and_the_history_chains(contact):
    ContactFieldFactory(key="company", label="Company")
    ContactFieldFactory(key="vip", label="VIP", type="boolean")
    contact_fields_update(contact=contact, values={"company": "Before"}, source="system")
    race(lambda: contact_fields_update(contact=contact, values={"company": "Acme"}, source="api:crm"),
         lambda: contact_fields_update(contact=contact, values={"vip": "yes", "company": "Initech"}, source="staff:a"))
    # Without the contact lock the second reads the fields before the first commits and writes them back.
    assert Contact.objects.get(pk=contact.pk).fields == {"company": "Initech", "vip": True}
    history = list(PreferenceChange.objects.filter(contact=contact, subject="company").order_by("id")
                   .values_list("old_value", "new_value"))
    assert history == [(None, "Before"), ("Before", "Acme"), ("Acme", "Initech")]


def test_a_type_change_waits_for_a_write_validated_under_the_old_type_then_counts_it(contact):
    from contacts.models import ContactField
    from contacts.services.errors import FieldChangeRefused
    from contacts.services.field_definitions import field_definition_update

    size = ContactFieldFactory(key="size", label="Size")
    editor = UserFactory(username="erin")
    _write, change = race(
        lambda: contact_fields_update(contact=contact, values={"size": "large"}, source="staff:a"),
        lambda: field_definition_update(field=size, acting_user=editor, type="number"),
        second_may_fail=True,
    )
    # Without the share lock the change counts no value (the write is not committed) and the text
    # "large" ends up in a number field.
    assert isinstance(change.error, FieldChangeRefused), change.error
    assert ContactField.objects.get(pk=size.pk).type == "text"
    assert Contact.objects.get(pk=contact.pk).fields == {"size": "large"}


def test_a_deletion_waits_for_a_write_and_removes_its_value(contact):
    from contacts.models import ContactField
    from contacts.services.field_definitions import field_definition_delete

    size = ContactFieldFactory(key="size", label="Size")
    editor = UserFactory(username="erin")
    _write, deletion = race(
        lambda: contact_fields_update(contact=contact, values={"size": "large"}, source="staff:a"),
        lambda: field_definition_delete(field=size, acting_user=editor),
    )
    assert deletion.result == 1 and not ContactField.objects.exists()
    assert Contact.objects.get(pk=contact.pk).fields == {}
