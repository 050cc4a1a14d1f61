import pytest
from django.contrib import admin
from django.urls import reverse

from contacts.models import DoNotContact, PreferenceChange

from .factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m._meta.app_label == "contacts"],
                         ids=lambda m: m.__name__)
def test_every_contacts_model_has_a_working_admin_list(superuser_client, contact, model):
    response = superuser_client.get(reverse(f"admin:contacts_{model._meta.model_name}_changelist"))
    assert response.status_code == 200


def test_adding_a_dnc_in_the_admin_goes_through_the_service(superuser_client, contact, email):
    response = superuser_client.post(
        reverse("admin:contacts_donotcontact_add"), {"contact": contact.pk, "channel": email.pk, "reason": "manual"}
    )
    assert response.status_code == 302
    assert DoNotContact.objects.get(contact=contact).reason == "manual"
    change = PreferenceChange.objects.get(contact=contact)
    assert change.source.startswith("staff:") and change.new_value == "manual"


def test_the_history_is_read_only_in_the_admin(superuser_client, contact, email):
    superuser_client.post(
        reverse("admin:contacts_donotcontact_add"), {"contact": contact.pk, "channel": email.pk, "reason": "manual"}
    )
    change = PreferenceChange.objects.get(contact=contact)
    assert superuser_client.get(reverse("admin:contacts_preferencechange_add")).status_code == 403
    response = superuser_client.post(
        reverse("admin:contacts_preferencechange_change", args=[change.pk]), {"new_value": '"forged"'}
    )
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.new_value == "manual"
