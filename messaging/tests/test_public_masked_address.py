"""The page says which address or number it is about, masked."""

import pytest

from contacts.tests.factories import ContactFactory
from messaging.public.page import masked_address

from .test_public_page import _no_rate_limit, delivered_send, page_url  # noqa: F401


@pytest.mark.parametrize("address, masked", [
    ("jane@example.com", "j•••@example.com"),
    ("+33612345612", "+33 6•• •• •• 12"),
    ("+14155550123", "+1 4• •• •• •• 23"),
    ("+441234567890", "+44 1• •• •• •• 90"),
    ("+3531234", "+353 1• 34"),
])
def test_addresses_are_masked(address, masked):
    assert masked_address(address) == masked


@pytest.mark.django_db
@pytest.mark.parametrize("channel, shown, hidden", [
    ("email", "For j•••@example.com", "jane@example.com"),
    ("sms", "For +33 6•• •• •• 12", "+33612345612"),
])
def test_the_page_shows_the_sends_address_masked_and_never_whole(client, channel, shown, hidden):
    contact = ContactFactory(email="jane@example.com", phone="+33612345612")
    html = client.get(page_url(delivered_send(contact, channel))).content.decode()
    assert shown in html and hidden not in html and "jane@" not in html


@pytest.mark.django_db
def test_pages_that_look_alike_still_show_each_contacts_own_address(client):
    first = client.get(page_url(delivered_send(ContactFactory(email="anna@example.com")))).content.decode()
    second = client.get(page_url(delivered_send(ContactFactory(email="bob@example.org")))).content.decode()
    assert "For a•••@example.com" in first and "For b•••@example.org" in second
