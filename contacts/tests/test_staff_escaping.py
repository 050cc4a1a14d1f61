"""Text typed by staff is shown as text on the staff pages, never as markup."""

import pytest
from django.test import Client
from django.urls import reverse

from .factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory

PAYLOAD = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
ESCAPED = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def test_category_description_shows_as_text_in_the_preferences_modal(admin_client):
    contact = ContactFactory()
    CategoryFactory(name=f"News {PAYLOAD}", description=f"Monthly {PAYLOAD}")
    SegmentFactory(name=f"VIP {PAYLOAD}")
    response = admin_client.get(reverse("contacts:contact_preferences", args=[contact.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<img src=x" not in html and "<script>" not in html
    assert f"Monthly {ESCAPED}" in html and f"News {ESCAPED}" in html and f"VIP {ESCAPED}" in html
