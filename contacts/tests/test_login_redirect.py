"""An expired session on an htmx request sends the browser to the login page, back to the same page after."""

import pytest
from django.http import QueryDict
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_htmx_login_redirect_encodes_the_page_to_return_to(client):
    page = reverse("contacts:contact_list") + "?q=a&b&segment=2#x"
    response = client.get(reverse("contacts:contact_list"), HTTP_HX_REQUEST="true",
                          HTTP_HX_CURRENT_URL=f"http://testserver{page}")
    path, _, query = response["HX-Redirect"].partition("?")
    assert path == reverse("contacts:login")
    # One parameter, holding the whole page address; nothing of it leaks into the login URL's own query.
    assert dict(QueryDict(query).lists()) == {"next": [reverse("contacts:contact_list") + "?q=a&b&segment=2#x"]}


def test_a_plain_request_is_redirected_to_login_with_the_same_encoding(client):
    response = client.get(reverse("contacts:contact_list") + "?q=a&segment=2")
    assert response.status_code == 302
    assert response.url == reverse("contacts:login") + "?next=/%3Fq%3Da%26segment%3D2"
