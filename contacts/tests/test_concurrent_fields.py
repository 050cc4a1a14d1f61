"""Two writes of one contact's custom fields at the same moment, on real PostgreSQL transactions."""

import pytest

from contacts.models import Contact, PreferenceChange
from contacts.services import contact_fields_update

from .concurrency import race
from .factories import ContactFieldFactory

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
