"""Custom fields marked "contacts may see it" appear read-only on the contact's page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ContactField
from contacts.services.field_definitions import field_definition_create
from contacts.tests.factories import ContactFactory, UserFactory

from .test_preference_pages import LEAVE, published
from .test_public_page import _no_rate_limit, delivered_send, page_url  # noqa: F401

pytestmark = pytest.mark.django_db


def define(key: str, label: str, type: str = "text", *, public: bool = True, label_fr: str = "", position: int = 0,
           choices=None) -> ContactField:
    return field_definition_create(acting_user=None, key=key, label=label, label_fr=label_fr, type=type,
                                   public=public, position=position, choices=choices)


def details(html: str) -> list[tuple[str, str]]:
    """The (label, value) pairs of the page's "Your details" card, as the contact reads them."""
    card = re.search(r'<section class="public-card" id="area-details".*?</section>', html, re.S)
    if card is None:
        return []
    return [(dt.strip(), dd.strip()) for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", card.group(0), re.S)]


@pytest.fixture
def fields():
    define("member_since", "Member since", "date", label_fr="Membre depuis", position=1)
    define("points", "Points", "number", position=2)
    define("newsletter_vip", "VIP", "boolean", position=3)
    define("tier", "Tier", "choice", choices=["Gold", "Silver"], label_fr="Niveau", position=4)
    define("internal_score", "Internal score", "number", public=False, position=5)
    define("nickname", "Nickname", position=6)


def test_only_fields_contacts_may_see_and_hold_a_value_of_are_shown_in_order(client, fields):
    contact = ContactFactory(fields={"member_since": "2024-03-05", "points": 1250, "internal_score": 99,
                                     "tier": "Gold", "newsletter_vip": True})
    html = client.get(page_url(delivered_send(contact))).content.decode()
    assert details(html) == [("Member since", "March 5, 2024"), ("Points", "1250"), ("VIP", "Yes"), ("Tier", "Gold")]
    assert "Internal score" not in html and "99" not in "".join(value for _label, value in details(html))
    assert "Nickname" not in html  # visible, but the contact holds no value


def test_a_french_contact_reads_french_labels_and_french_formats(client, fields):
    contact = ContactFactory(locale="fr", fields={"member_since": "2024-03-05", "points": 3.5, "newsletter_vip": False,
                                                  "tier": "Gold"})
    html = client.get(page_url(delivered_send(contact))).content.decode()
    assert details(html) == [("Membre depuis", "5 mars 2024"), ("Points", "3,5"), ("VIP", "Non"), ("Niveau", "Gold")]
    assert "Vos informations" in html


def test_labels_and_values_are_escaped(client):
    define("motto", "Motto <b>bold</b>")
    contact = ContactFactory(fields={"motto": '<script>alert("x")</script>'})
    html = client.get(page_url(delivered_send(contact))).content.decode()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert details(html) == [("Motto &lt;b&gt;bold&lt;/b&gt;", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")]


def test_two_contacts_sharing_a_page_skeleton_each_see_their_own_values(client):
    define("nickname", "Nickname")
    ada, bob = ContactFactory(fields={"nickname": "Ada & co"}), ContactFactory(fields={"nickname": "Bob"})
    assert details(client.get(page_url(delivered_send(ada))).content.decode()) == [("Nickname", "Ada &amp; co")]
    assert details(client.get(page_url(delivered_send(bob))).content.decode()) == [("Nickname", "Bob")]


def test_a_designed_page_shows_them_only_with_its_details_block(client):
    define("nickname", "Nickname")
    staff = UserFactory(is_superuser=True)
    with_block = published(staff, {"en": [{"kind": "details"}, LEAVE]}, name="with")
    without = published(staff, {"en": [LEAVE]}, name="without")
    contact = ContactFactory(fields={"nickname": "Ada"})
    shown = client.get(page_url(delivered_send(contact, preference_page=with_block))).content.decode()
    hidden = client.get(page_url(delivered_send(contact, preference_page=without))).content.decode()
    assert details(shown) == [("Nickname", "Ada")] and details(hidden) == []


def test_the_page_reads_them_without_another_query_and_keeps_its_headers(client):
    send = delivered_send(ContactFactory())
    with CaptureQueriesContext(connection) as plain:
        client.get(page_url(send))
    for n in range(5):
        define(f"field_{n}", f"Field {n}")
    contact = ContactFactory(fields={f"field_{n}": f"value {n}" for n in range(5)})
    send = delivered_send(contact)
    with CaptureQueriesContext(connection) as with_fields:
        response = client.get(page_url(send))
    assert len(details(response.content.decode())) == 5
    assert len(with_fields) == len(plain) == 4
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and response["X-Frame-Options"] == "DENY"


def test_the_staff_preview_shows_them_too(client):
    define("nickname", "Nickname")
    contact = ContactFactory(fields={"nickname": "Ada"})
    send = delivered_send(contact)
    client.force_login(UserFactory(is_superuser=True))
    html = client.get(f"/messaging/{send.message_id}/page-preview/", {"contact": contact.pk}).content.decode()
    assert details(html) == [("Nickname", "Ada")]


def test_a_page_version_holds_the_details_block_once():
    from django.core.exceptions import ValidationError

    from messaging.pages import blocks_clean

    with pytest.raises(ValidationError, match="can appear only once"):
        blocks_clean([{"kind": "details"}, LEAVE, {"kind": "details"}])
