"""Only superusers reach Django's admin; editors and viewers (is_staff) are sent to its login page."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from contacts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["admin:index", "admin:auth_user_changelist", "admin:auth_user_add", "admin:contacts_channel_changelist"]


def staff_in(client, group: str):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.mark.parametrize("group", ["Editors", "Viewers"])
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_editors_and_viewers_are_refused_every_admin_page(client, group, page):
    response = staff_in(client, group).get(reverse(page))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_an_editor_cannot_create_a_superuser_through_the_admin(client):
    staff_in(client, "Editors").post(
        reverse("admin:auth_user_add"), {"username": "mallory", "password1": "x-Long-pass-42", "password2": "x-Long-pass-42"}
    )
    assert not UserFactory._meta.model.objects.filter(username="mallory").exists()


def test_the_admin_login_page_tells_a_logged_in_editor_they_are_not_authorised(client):
    response = staff_in(client, "Editors").get(reverse("admin:index"), follow=True)
    assert "not authorized to access this page" in response.content.decode()


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_a_superuser_reaches_every_admin_page(client, page):
    client.force_login(UserFactory(is_superuser=True))
    assert client.get(reverse(page)).status_code == 200
