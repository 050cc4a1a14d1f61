"""Custom fields through the API: validated by field_values_clean, written and audited by contact_fields_update."""

from django.urls import reverse

from contacts.models import Contact, PreferenceChange
from contacts.tests.factories import ContactFactory, ContactFieldFactory


def test_a_contact_is_created_and_edited_with_typed_field_values_and_their_history(api, db):
    ContactFieldFactory(key="plan", type="choice", choices=["Free", "Gold"])
    ContactFieldFactory(key="seats", type="number")
    created = api.post(reverse("api:contact_list"), {"email": "a@example.org", "fields": {"plan": "gold", "seats": 3}},
                       format="json")
    assert created.status_code == 201 and created.json()["fields"] == {"plan": "Gold", "seats": 3}
    pk = created.json()["id"]
    edited = api.patch(reverse("api:contact_detail", args=[pk]), {"fields": {"seats": None}}, format="json")
    assert edited.json()["fields"] == {"plan": "Gold"}
    rows = PreferenceChange.objects.filter(contact_id=pk, kind="field").order_by("id")
    assert [(r.subject, r.old_value, r.new_value, r.source) for r in rows] == [
        ("plan", None, "Gold", "api:crm"), ("seats", None, 3, "api:crm"), ("seats", 3, None, "api:crm")]


def test_a_bad_field_value_or_an_unknown_key_changes_nothing(api, db):
    ContactFieldFactory(key="seats", type="number")
    response = api.post(reverse("api:contact_list"), {"fields": {"seats": "many", "colour": "red"}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"fields.seats", "fields.colour"}
    assert not Contact.objects.exists()


def test_contacts_are_filtered_by_a_field_value_typed_as_the_field(api, db):
    ContactFieldFactory(key="vip", type="boolean")
    ContactFieldFactory(key="seats", type="number")
    yes, no, unset = ContactFactory(fields={"vip": True, "seats": 3}), ContactFactory(fields={"vip": False}), ContactFactory()
    listed = lambda *conditions: [c["id"] for c in api.get(reverse("api:contact_list"), {"field": list(conditions)}).json()["results"]]  # noqa: E731
    assert listed("vip:yes") == [yes.pk]
    assert listed("vip:false") == [no.pk]
    assert listed("vip:") == [unset.pk]
    assert listed("vip:true", "seats:3.0") == [yes.pk]
    assert api.get(reverse("api:contact_list"), {"field": "seats:lots"}).status_code == 400
    assert api.get(reverse("api:contact_list"), {"field": "nokey"}).status_code == 400


def test_a_field_key_with_a_nul_character_is_an_unknown_field_not_a_500(api, db):
    ContactFieldFactory(key="seats", type="number")
    response = api.post(reverse("api:contact_list"), {"fields": {"se\u0000ats": 3}}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["fields.se\u0000ats"]
    assert not Contact.objects.exists()
