"""Addresses are normalised before they are compared or stored, and every error lands at its field."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from contacts.models import Contact
from contacts.services import contact_save

from .factories import ContactFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

KELVIN = "\u212a"  # KELVIN SIGN: NFKC turns it into "K", PostgreSQL's lower() into "k"
ARABIC_INDIC = "+\u0663\u0663\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"  # +33612345678
FULLWIDTH = "\uff0b\uff13\uff13\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"


@pytest.fixture
def editor_client(client):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


def form_data(**overrides):
    return {"first_name": "Kate", "email": "new@example.org", "phone": "", "locale": "en", "time_zone": "UTC",
            **overrides}


def test_creating_a_contact_with_a_kelvin_sign_twin_of_an_address_shows_the_clash_at_the_email_field(editor_client):
    ContactFactory(email="kate@example.com")
    response = editor_client.post(reverse("contacts:contact_create"), form_data(email=f"{KELVIN}ate@example.com"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["Another contact already has this email address."]}
    assert "Another contact already has this email address." in response.content.decode()
    assert Contact.objects.count() == 1


def test_editing_a_contact_to_a_kelvin_sign_twin_shows_the_clash_at_the_email_field(editor_client):
    ContactFactory(email="kate@example.com")
    contact = ContactFactory(email="other@example.com")
    response = editor_client.post(
        reverse("contacts:contact_edit", args=[contact.pk]), form_data(email=f"{KELVIN}ATE@Example.COM")
    )
    assert response.context["form"].errors == {"email": ["Another contact already has this email address."]}
    contact.refresh_from_db()
    assert contact.email == "other@example.com"


def test_an_address_is_stored_normalised(editor_client):
    editor_client.post(reverse("contacts:contact_create"), form_data(email=f" {KELVIN}ate@EXAMPLE.com "))
    assert Contact.objects.get().email == "Kate@example.com"


@pytest.mark.parametrize("typed", [ARABIC_INDIC, FULLWIDTH, "+3\u0663612345678"])
def test_a_phone_typed_with_other_digits_is_saved_in_ascii_digits(editor_client, typed):
    response = editor_client.post(reverse("contacts:contact_create"), form_data(phone=typed))
    assert response.status_code == 302
    assert Contact.objects.get().phone == "+33612345678"


def test_a_phone_that_is_not_a_number_shows_its_error_at_the_phone_field(editor_client):
    response = editor_client.post(reverse("contacts:contact_create"), form_data(phone="+33\u2167612345"))  # Roman VIII
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["phone"]
    assert "international format" in response.content.decode()
    assert not Contact.objects.exists()


def test_the_service_normalises_addresses_for_every_caller(db):
    contact = contact_save(contact=Contact(email=f"{KELVIN}im@example.com", phone=FULLWIDTH), source="system")
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("Kim@example.com", "+33612345678")


def test_adding_a_member_by_a_kelvin_sign_address_finds_the_contact(editor_client):
    contact, segment = ContactFactory(email="kate@example.com"), SegmentFactory()
    editor_client.post(reverse("contacts:segment_member_add", args=[segment.pk]), {"email": f"{KELVIN}ate@example.com"})
    assert segment.memberships.filter(contact=contact, removed=False).exists()


def test_the_model_refuses_other_scripts_digits_like_the_database_check(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        Contact(phone="+3\u0663612345678").full_clean()
    assert list(refused.value.message_dict) == ["phone"]
