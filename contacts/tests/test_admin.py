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


def test_an_admin_contact_change_removing_the_preferred_address_drops_the_preference_with_history(superuser_client, email):
    from contacts.models import ChannelPreference, Contact
    from contacts.services import contact_preferred_channel_set

    contact = Contact.objects.create(first_name="Ana", email="ana@example.com", phone="+33612345678")
    contact_preferred_channel_set(contact=contact, channel=email, source="staff:setup")
    response = superuser_client.post(reverse("admin:contacts_contact_change", args=[contact.pk]), {
        "first_name": "Ana", "last_name": "", "email": "", "phone": "+33612345678", "locale": "en", "time_zone": "UTC",
    })
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.email == ""
    assert not ChannelPreference.objects.filter(contact=contact, preferred=True).exists()
    change = PreferenceChange.objects.filter(contact=contact).latest("pk")
    assert change.source.startswith("staff:") and change.kind == "preferred_channel" and change.new_value is None


@pytest.mark.parametrize("action", ["add", "change", "delete"])
def test_the_history_cannot_be_written_from_the_admin_even_by_a_superuser(superuser_client, contact, email, action):
    from contacts.services import channel_unsubscribe

    channel_unsubscribe(contact=contact, channel=email, reason="manual", source="staff:setup")
    change = PreferenceChange.objects.get(contact=contact)
    url = reverse(f"admin:contacts_preferencechange_{action}", args=[] if action == "add" else [change.pk])
    assert superuser_client.post(url, {"new_value": '"forged"', "post": "yes"}).status_code == 403
    assert PreferenceChange.objects.get(pk=change.pk).new_value == "manual"


def test_the_admin_cannot_write_custom_field_values_around_their_validation(superuser_client):
    from contacts.models import Contact
    from contacts.tests.factories import ContactFieldFactory

    ContactFieldFactory(key="employees", label="Employees", type="number")
    contact = Contact.objects.create(first_name="Ana", email="ana@example.com")
    response = superuser_client.post(reverse("admin:contacts_contact_change", args=[contact.pk]), {
        "first_name": "Ana", "last_name": "", "email": "ana@example.com", "phone": "", "locale": "en",
        "time_zone": "UTC", "fields": '{"employees": "lots", "undefined": 1}',
    })
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).fields == {}
