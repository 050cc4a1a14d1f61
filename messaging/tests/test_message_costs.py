"""What each message cost: opt-outs attributed to the send whose link was used."""

import pytest

from contacts.tests.factories import ContactFactory, UserFactory
from messaging.selectors import message_leaving_costs

from .test_public_leaving_reason import reason
from .test_public_page import _no_rate_limit, delivered_send, page_url, unsubscribe_url  # noqa: F401

pytestmark = pytest.mark.django_db


def test_unsubscribes_count_on_the_message_whose_link_was_used_by_source(client):
    spring = delivered_send(ContactFactory(), name="Spring")
    message = spring.message
    one_click = delivered_send(ContactFactory())
    one_click.message, one_click.dispatch = message, spring.dispatch
    one_click.save()
    other = delivered_send(ContactFactory(), name="Autumn")
    client.post(page_url(spring), {"action": "unsubscribe"})
    client.post(unsubscribe_url(one_click), {"List-Unsubscribe": "One-Click"})
    client.post(page_url(other), {"action": "unsubscribe"})
    assert client.post(page_url(spring), {"action": "fewer", "fewer": "1-week"}).status_code == 200
    [email], _reasons = message_leaving_costs(message=message)
    assert (email.channel, email.sends, email.unsubscribed) == ("email", 2, 2)
    assert email.unsubscribes == {"public_page": 1, "one_click": 1, "mailto": 0, "sms_stop": 0}
    assert email.rate == 1.0 and email.opt_downs == 1


def test_the_message_page_shows_the_costs_and_reasons(client):
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), {"action": "unsubscribe"})
    token = response.content.decode().split('name="reason_token" value="')[1].split('"')[0]
    client.post(page_url(send), {"action": "reason", "reason_token": token, "reason": reason("Too many messages")})
    client.force_login(UserFactory(is_superuser=True))
    html = client.get(f"/messaging/{send.message.pk}/").content.decode()
    assert 'id="cost-email"' in html and "100 %" in html and "Too many messages (1)" in html
