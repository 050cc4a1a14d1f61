"""API keys: hashed, shown once, scoped, revocable, audited."""

import pytest
from django.test import Client
from django.urls import reverse

from api.models import ApiKey, Scope
from api.services import api_key_revoke
from contacts.models import ChannelPreference, StaffChange
from contacts.tests.factories import ContactFactory

from .conftest import client_for

PATCH = {"channels": {"email": {"frequency": {"number": 2, "unit": "week"}}}}


def test_an_admin_creates_a_key_in_the_staff_ui_and_sees_it_once(admin):
    staff = Client()
    staff.force_login(admin)
    page = staff.post(reverse("api_keys:list"), {"name": "crm", "scopes": ["read", "write_preferences"]})
    secret = page.context["issued"].secret
    assert secret in page.content.decode() and page["Cache-Control"] == "no-store"
    assert secret not in staff.get(reverse("api_keys:list")).content.decode()
    key = ApiKey.objects.get(name="crm")
    assert key.scopes == ["read", "write_preferences"] and secret not in (key.digest, key.prefix)
    assert client_for(secret).get(reverse("api:contact_list")).status_code == 200
    assert StaffChange.objects.filter(subject_type="api_key", actor="root", action="created").count() == 1


def test_a_viewer_cannot_see_or_create_keys(db):
    from contacts.tests.factories import UserFactory
    from django.contrib.auth.models import Group

    editor = UserFactory(username="edith")
    editor.groups.add(Group.objects.get(name="Editors"))
    staff = Client()
    staff.force_login(editor)
    assert staff.get(reverse("api_keys:list")).status_code == 403
    assert staff.post(reverse("api_keys:list"), {"name": "x", "scopes": ["read"]}).status_code == 403
    assert not ApiKey.objects.exists()


def test_token_and_bearer_both_authenticate_and_last_use_is_recorded(issue_key):
    issued = issue_key()
    for scheme in ("Token", "Bearer"):
        assert client_for(issued.secret, scheme).get(reverse("api:contact_list")).status_code == 200
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None


@pytest.mark.parametrize("header", [None, "Token pc_wrong", "Basic abc", "Token", "Bearer pc_" + "x" * 500])
def test_a_missing_or_wrong_key_gets_401_with_the_error_shape(db, header):
    from rest_framework.test import APIClient

    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api:contact_list"))
    assert response.status_code == 401 and set(response.json()["error"]) == {"code", "message"}
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_key_one_character_off_is_refused(issue_key):
    secret = issue_key().secret
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert client_for(forged).get(reverse("api:contact_list")).status_code == 401


def test_a_revoked_key_is_refused_and_the_revocation_audited(issue_key, admin):
    issued = issue_key()
    staff = Client()
    staff.force_login(admin)
    staff.post(reverse("api_keys:revoke", args=[issued.api_key.pk]))
    assert client_for(issued.secret).get(reverse("api:contact_list")).status_code == 401
    assert StaffChange.objects.filter(subject_type="api_key", changes={"revoked": [False, True]}).count() == 1
    api_key_revoke(acting_user=admin, api_key=issued.api_key)  # revoking twice records nothing more
    assert StaffChange.objects.filter(subject_type="api_key", action="updated").count() == 1


def test_a_read_key_reads_but_cannot_write(issue_key):
    contact = ContactFactory()
    read = client_for(issue_key("warehouse", [Scope.READ]).secret)
    url = reverse("api:contact_preferences", args=[contact.pk])
    assert read.get(url).status_code == 200
    response = read.patch(url, PATCH, format="json")
    assert response.status_code == 403 and "write_preferences" in response.json()["error"]["message"]
    assert read.post(reverse("api:contact_list"), {"email": "a@example.org"}, format="json").status_code == 403
    assert not ChannelPreference.objects.exists()


def test_each_write_needs_its_own_scope(issue_key):
    contact = ContactFactory()
    preferences_only = client_for(issue_key("form", [Scope.WRITE_PREFERENCES]).secret)
    assert preferences_only.get(reverse("api:contact_list")).status_code == 403  # no read scope
    assert preferences_only.patch(reverse("api:contact_preferences", args=[contact.pk]), PATCH,
                                  format="json").status_code == 200
    assert preferences_only.patch(reverse("api:contact_detail", args=[contact.pk]), {"first_name": "X"},
                                  format="json").status_code == 403


def test_the_staff_page_never_shows_a_stored_secret(issue_key, admin):
    issued = issue_key()
    staff = Client()
    staff.force_login(admin)
    html = staff.get(reverse("api_keys:list")).content.decode()
    assert issued.api_key.prefix in html and issued.secret not in html and issued.api_key.digest not in html
