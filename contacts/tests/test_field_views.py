"""Staff pages for custom fields: definitions, the profile's values, the list's filter and columns."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, ContactField, PreferenceChange, StaffChange
from contacts.services import contact_fields_update

from .factories import ContactFactory, ContactFieldFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(group: str, username: str) -> Client:
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor_client(db):
    return client_for("Editors", "edith")


@pytest.fixture
def viewer_client(db):
    return client_for("Viewers", "victor")


@pytest.fixture
def fields(db):
    return {
        "company": ContactFieldFactory(key="company", label="Company"),
        "employees": ContactFieldFactory(key="employees", label="Employees", type="number"),
        "vip": ContactFieldFactory(key="vip", label="VIP", type="boolean"),
        "plan": ContactFieldFactory(key="plan", label="Plan", type="choice", choices=["Free", "Gold"]),
        "renewal": ContactFieldFactory(key="renewal", label="Renewal", type="date"),
    }


def with_values(contact_values):
    contacts = []
    for email, values in contact_values:
        contact = ContactFactory(email=email)
        contact_fields_update(contact=contact, values=values, source="staff:edith")
        contacts.append(contact)
    return contacts


# --- Definitions -----------------------------------------------------------------------------------


def test_an_editor_defines_a_choice_field(editor_client):
    response = editor_client.post(reverse("contacts:field_create"), {
        "label": "Plan", "key": "plan", "type": "choice", "choices": "Free\nGold\n\nGold", "position": 0})
    assert response.status_code == 302
    field = ContactField.objects.get(key="plan")
    assert field.choices == ["Free", "Gold"]
    assert StaffChange.objects.filter(subject_type="contact_field", actor="edith", action="created").exists()


@pytest.mark.parametrize(("key", "message"), [
    ("email", "is a built-in contact field"),
    ("first_name", "is a built-in contact field"),
    ("Company Name", "Lower-case letters"),
    ("9lives", "Lower-case letters"),
])
def test_a_key_that_is_built_in_or_not_a_slug_is_refused(editor_client, key, message):
    response = editor_client.post(reverse("contacts:field_create"),
                                  {"label": "X", "key": key, "type": "text", "position": 0})
    assert response.status_code == 200 and message in response.content.decode()
    assert not ContactField.objects.exists()


def test_a_duplicate_key_is_refused(editor_client, fields):
    response = editor_client.post(reverse("contacts:field_create"),
                                  {"label": "X", "key": "company", "type": "text", "position": 0})
    assert response.status_code == 200 and ContactField.objects.filter(key="company").count() == 1


def test_a_choice_field_needs_choices(editor_client):
    response = editor_client.post(reverse("contacts:field_create"),
                                  {"label": "Plan", "key": "plan", "type": "choice", "position": 0})
    assert "List at least one choice." in response.content.decode()


def test_the_edit_page_says_how_many_contacts_hold_a_value(editor_client, fields):
    with_values([("a@example.com", {"company": "Acme"}), ("b@example.com", {"company": "Initech"})])
    response = editor_client.get(reverse("contacts:field_edit", args=[fields["company"].pk]))
    assert "2 contacts hold a value" in response.content.decode()


def test_a_type_change_the_values_do_not_fit_is_refused_on_the_page(editor_client, fields):
    with_values([("a@example.com", {"company": "Acme"}), ("b@example.com", {"company": "12"})])
    response = editor_client.post(reverse("contacts:field_edit", args=[fields["company"].pk]), {
        "label": "Company", "type": "number", "position": 0})
    assert response.status_code == 200
    assert "Contacts holding a value of “Company” that the new definition does not accept: 1." in response.content.decode()
    assert ContactField.objects.get(key="company").type == "text"


def test_the_key_cannot_be_changed_by_a_forged_post(editor_client, fields):
    editor_client.post(reverse("contacts:field_edit", args=[fields["company"].pk]), {
        "label": "Firm", "key": "firm", "type": "text", "position": 0})
    assert ContactField.objects.get(pk=fields["company"].pk).key == "company"


def test_delete_asks_with_the_count_then_removes_the_values(editor_client, fields):
    a, b = with_values([("a@example.com", {"company": "Acme", "vip": "yes"}), ("b@example.com", {"company": "X"})])
    url = reverse("contacts:field_delete", args=[fields["company"].pk])
    assert "2 contacts hold a value for this field" in editor_client.get(url).content.decode()
    assert editor_client.post(url).status_code == 302
    assert Contact.objects.get(pk=a.pk).fields == {"vip": True}
    row = StaffChange.objects.get(subject_type="contact_field", action="deleted")
    assert row.changes["values_removed"] == [2, 0] and row.actor == "edith"


def test_a_viewer_sees_the_fields_but_cannot_change_them(viewer_client, fields):
    assert viewer_client.get(reverse("contacts:field_list")).status_code == 200
    for url in (reverse("contacts:field_create"), reverse("contacts:field_edit", args=[fields["company"].pk]),
                reverse("contacts:field_delete", args=[fields["company"].pk])):
        assert viewer_client.get(url).status_code == 403
        assert viewer_client.post(url, {"label": "x", "key": "x", "type": "text"}).status_code == 403
    assert ContactField.objects.count() == 5


def test_the_field_list_shows_how_many_contacts_hold_each(editor_client, fields, django_assert_max_num_queries):
    with_values([("a@example.com", {"company": "Acme"}), ("b@example.com", {"company": "X", "vip": "no"})])
    with django_assert_max_num_queries(8):
        response = editor_client.get(reverse("contacts:field_list"))
    holders = {field.key: field.holders for field in response.context["fields"]}
    assert holders == {"company": 2, "employees": 0, "vip": 1, "plan": 0, "renewal": 0}


def test_staff_text_in_a_definition_is_escaped(editor_client):
    ContactFieldFactory(key="evil", label="<script>alert(1)</script>", help_text="<b>x</b>")
    content = editor_client.get(reverse("contacts:field_list")).content.decode()
    assert "<script>alert(1)" not in content and "&lt;script&gt;" in content


# --- Profile -----------------------------------------------------------------------------------------


def contact_post(contact, **fields):
    return {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
            "phone": contact.phone, "locale": "en", "time_zone": "UTC",
            **{f"field-{key}": value for key, value in fields.items()}}


def test_the_profile_shows_and_edits_custom_fields(editor_client, fields):
    contact = ContactFactory()
    response = editor_client.post(reverse("contacts:contact_edit", args=[contact.pk]), contact_post(
        contact, company="Acme", employees="12", vip="yes", plan="Gold", renewal="2026-03-31"))
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).fields == {
        "company": "Acme", "employees": 12, "vip": True, "plan": "Gold", "renewal": "2026-03-31"}
    assert set(PreferenceChange.objects.filter(contact=contact, kind="field").values_list("source", flat=True)) == {
        "staff:edith"}
    page = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert "Acme" in page and "2026-03-31" in page


def test_one_bad_field_saves_nothing_of_the_form(editor_client, fields):
    contact = ContactFactory(first_name="Ada")
    response = editor_client.post(reverse("contacts:contact_edit", args=[contact.pk]), {
        **contact_post(contact, company="Acme", employees="a dozen"), "first_name": "Grace"})
    assert response.status_code == 200
    assert "Enter a number" in response.content.decode()
    saved = Contact.objects.get(pk=contact.pk)
    assert (saved.first_name, saved.fields) == ("Ada", {})


def test_a_bad_contact_detail_saves_no_field_either(editor_client, fields):
    contact = ContactFactory()
    editor_client.post(reverse("contacts:contact_edit", args=[contact.pk]), {
        **contact_post(contact, company="Acme"), "phone": "not a phone"})
    assert Contact.objects.get(pk=contact.pk).fields == {}


def test_a_new_contact_gets_its_fields(editor_client, fields):
    response = editor_client.post(reverse("contacts:contact_create"), {
        "first_name": "Ada", "last_name": "L", "email": "ada@example.com", "phone": "", "locale": "en",
        "time_zone": "UTC", "field-company": "Acme"})
    assert response.status_code == 302
    assert Contact.objects.get(email="ada@example.com").fields == {"company": "Acme"}


# --- Contacts list -----------------------------------------------------------------------------------


def listed(response) -> list[str]:
    return sorted(contact.email for contact in response.context["page"].rows)


@pytest.fixture
def people(fields):
    return with_values([
        ("acme@example.com", {"company": "Acme Corp", "employees": "12", "vip": "yes", "plan": "Gold",
                              "renewal": "2026-01-15"}),
        ("small@example.com", {"company": "Tiny", "employees": "3", "vip": "no", "plan": "Free",
                               "renewal": "2026-06-01"}),
        ("none@example.com", {}),
    ])


@pytest.mark.parametrize(("query", "expected"), [
    ({"ff": "company", "fo": "eq", "fv": "Acme Corp"}, ["acme@example.com"]),
    ({"ff": "company", "fo": "contains", "fv": "acme"}, ["acme@example.com"]),
    ({"ff": "employees", "fo": "range", "fv": "5"}, ["acme@example.com"]),
    ({"ff": "employees", "fo": "range", "fv2": "5"}, ["small@example.com"]),
    ({"ff": "employees", "fo": "range", "fv": "3", "fv2": "12"}, ["acme@example.com", "small@example.com"]),
    ({"ff": "renewal", "fo": "range", "fv": "2026-02-01"}, ["small@example.com"]),
    ({"ff": "vip", "fo": "eq", "fv": "no"}, ["small@example.com"]),
    ({"ff": "plan", "fo": "eq", "fv": "gold"}, ["acme@example.com"]),
    ({"ff": "company", "fo": "unset"}, ["none@example.com"]),
    ({"ff": "plan", "fo": "set"}, ["acme@example.com", "small@example.com"]),
])
def test_the_list_filters_on_a_field_by_its_type(editor_client, people, query, expected):
    assert listed(editor_client.get(reverse("contacts:contact_list"), query)) == expected


@pytest.mark.parametrize(("query", "message"), [
    ({"ff": "employees", "fo": "range", "fv": "lots"}, "Enter a number"),
    ({"ff": "renewal", "fo": "eq", "fv": "31/01/2026"}, "YYYY-MM-DD"),
    ({"ff": "employees", "fo": "contains", "fv": "1"}, "does not apply to Employees"),
    ({"ff": "plan", "fo": "eq", "fv": "Platinum"}, "Choose one of"),
    ({"ff": "company", "fo": "eq"}, "Enter the value to look for."),
])
def test_an_invalid_field_filter_gets_a_message_and_the_list_still_shows(editor_client, people, query, message):
    response = editor_client.get(reverse("contacts:contact_list"), query)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(response.context["page"].rows) == 3


def test_an_unknown_field_or_operator_is_a_message_not_a_500(editor_client, people):
    response = editor_client.get(reverse("contacts:contact_list"), {"ff": "nope", "fo": "regex", "col": "nope"})
    assert response.status_code == 200 and len(response.context["page"].rows) == 3


def test_chosen_fields_show_as_columns(editor_client, people):
    response = editor_client.get(reverse("contacts:contact_list"), {"col": ["company", "vip"], "sort": "email"})
    content = response.content.decode()
    assert '<th scope="col" class="field-column">Company</th>' in content
    rows = {c.email: c.field_cells for c in response.context["page"].rows}
    assert rows["acme@example.com"] == ["Acme Corp", "yes"] and rows["none@example.com"] == ["", ""]


def test_a_field_filter_combines_with_the_other_filters(editor_client, people):
    response = editor_client.get(reverse("contacts:contact_list"), {"q": "small", "ff": "plan", "fo": "set"})
    assert listed(response) == ["small@example.com"]


def test_an_editor_gives_a_field_a_french_label_for_contacts_audited(editor_client, fields):
    response = editor_client.post(reverse("contacts:field_edit", args=[fields["company"].pk]), {
        "label": "Company", "label_fr": "Entreprise", "type": "text", "position": 0, "public": "on"})
    assert response.status_code == 302
    field = ContactField.objects.get(key="company")
    assert (field.label_fr, field.public) == ("Entreprise", True)
    row = StaffChange.objects.filter(subject_type="contact_field", action="updated").latest("id")
    assert row.changes["label_fr"] == ["", "Entreprise"]
