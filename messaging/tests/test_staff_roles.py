"""The staff groups reach the messaging pages: viewers read, editors write and send."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from contacts.tests.factories import UserFactory

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


def member_of(client, group: str):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.mark.parametrize("group", ["Viewers", "Editors"])
def test_both_groups_see_messages_and_the_outbox_in_the_navigation(client, group):
    html = member_of(client, group).get(reverse("messaging:message_list")).content.decode()
    assert f'href="{reverse("messaging:message_list")}"' in html and f'href="{reverse("messaging:outbox")}"' in html


def test_a_viewer_cannot_send_a_message(client):
    message = MessageFactory()
    response = member_of(client, "Viewers").post(reverse("messaging:message_send", args=[message.pk]))
    assert response.status_code == 403
    assert not message.dispatches.exists()


def test_an_editor_may_open_the_send_confirmation(client):
    message = MessageFactory()
    response = member_of(client, "Editors").get(reverse("messaging:message_send", args=[message.pk]))
    assert response.status_code == 200
