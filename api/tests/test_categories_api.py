"""Categories through the API: a key that writes contacts creates and edits them through the
category services (audited under the key's name); other keys read them only."""

import pytest
from django.urls import reverse

from api.models import Scope
from contacts.models import Category, StaffChange
from contacts.tests.factories import CategoryFactory

from .conftest import client_for


def test_a_category_is_created_and_the_audit_names_the_key(api):
    body = {"name": "Offers", "slug": "offers", "opt_in": True, "description_fr": "Nos offres"}
    response = api.post(reverse("api:category_list"), body, format="json")
    assert response.status_code == 201, response.json()
    category = Category.objects.get(slug="offers")
    assert (category.name, category.opt_in, category.description_fr) == ("Offers", True, "Nos offres")
    assert response["Location"] == reverse("api:category_detail", args=[category.pk])
    audit = StaffChange.objects.get(subject_type="category", subject_id=category.pk)
    assert audit.actor == "api:crm" and audit.action == StaffChange.Action.CREATED


def test_a_category_is_changed_and_only_what_changed_is_audited(api):
    category = CategoryFactory(slug="news", public=True)
    response = api.patch(reverse("api:category_detail", args=[category.pk]), {"public": False, "slug": "news"},
                         format="json")
    assert response.status_code == 200 and response.json()["public"] is False
    [audit] = StaffChange.objects.filter(subject_type="category", subject_id=category.pk)
    assert audit.actor == "api:crm" and audit.changes == {"public": [True, False]}


def test_unknown_or_read_only_fields_bad_and_taken_slugs_are_refused_and_change_nothing(api):
    category = CategoryFactory(slug="taken")
    for body in ({"name": "X", "slug": "taken"}, {"name": "X", "slug": "not a slug"}, {"name": "X", "slug": "x", "id": 9},
                 {"name": "", "slug": "x"}):
        response = api.post(reverse("api:category_list"), body, format="json")
        assert response.status_code == 400 and response.json()["error"]["fields"], body
    response = api.patch(reverse("api:category_detail", args=[category.pk]), {"id": 7, "colour": "red"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"id": ["Read-only field."], "colour": ["Unknown field."]}
    assert list(Category.objects.values_list("slug", flat=True)) == ["taken"]
    assert not StaffChange.objects.filter(subject_type="category").exists()


@pytest.mark.parametrize("scope", [Scope.READ, Scope.WRITE_PREFERENCES, Scope.SEND])
def test_only_a_key_that_writes_contacts_writes_categories(issue_key, scope):
    category = CategoryFactory(slug="kept", public=True)
    client = client_for(issue_key(name="narrow", scopes=[scope]).secret)
    assert client.post(reverse("api:category_list"), {"name": "X", "slug": "x"}, format="json").status_code == 403
    assert client.patch(reverse("api:category_detail", args=[category.pk]), {"public": False},
                        format="json").status_code == 403
    category.refresh_from_db()
    assert category.public and not Category.objects.filter(slug="x").exists()
