"""An import and a service changing the same contact at once: the import waits, and its history tells the truth."""

import pytest

from contacts.imports.runner import import_run, import_start
from contacts.models import CategorySubscription, PreferenceChange
from contacts.services import category_subscribe, category_unsubscribe

from .concurrency import race
from .factories import CategoryFactory, ContactFactory
from .imports import checked, csv_bytes, uploaded

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_import_waits_for_a_contact_being_changed_and_writes_no_stale_history_row(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path
    beta = CategoryFactory(slug="beta", opt_in=True)
    contact = ContactFactory(email="ana@example.com")
    category_subscribe(contact=contact, category=beta, source="staff:alice")
    contact_import = checked(uploaded(csv_bytes("email,beta", "ana@example.com,no")),
                             {"email": "contact:email", "beta": "category:beta"})
    import_start(contact_import=contact_import, enqueue=False)

    race(lambda: category_unsubscribe(contact=contact, category=beta, source="public_page"),
         lambda: import_run(import_id=contact_import.pk))

    assert CategorySubscription.objects.get(contact=contact, category=beta).status == "unsubscribed"
    # The contact's own unsubscribe is the one change; the import found nothing left to do.
    assert list(PreferenceChange.objects.filter(contact=contact, kind="category").values_list(
        "source", "old_value", "new_value").order_by("id")) == [
        ("staff:alice", None, "subscribed"), ("public_page", "subscribed", "unsubscribed")]
