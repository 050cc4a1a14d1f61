"""What each dispatch cost, a message's unsubscribes per day, and the dashboard of every message."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from contacts.models import Channel
from contacts.tests.factories import ContactFactory, UserFactory
from messaging.inbound.email_events import email_opt_out_record
from messaging.models import Dispatch, Send
from messaging.selectors import dispatch_leaving_costs, message_unsubscribes_by_day, messages_leaving_costs

from .test_public_page import _no_rate_limit, delivered_send, page_url, unsubscribe_url  # noqa: F401

pytestmark = pytest.mark.django_db


def another_send(message, dispatch=None) -> Send:
    """A second delivered send of ``message`` (in ``dispatch``, or a new dispatch of it)."""
    now = timezone.now()
    dispatch = dispatch or Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
    return Send.objects.create(
        message=message, dispatch=dispatch, contact=ContactFactory(), channel=Channel.objects.get(slug="email"),
        outcome="sent", decided_at=now, evaluated_at=now, sent_at=now, delivered_at=now,
    )


def viewer(client):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Viewers"))
    client.force_login(user)
    return client


def test_each_dispatch_counts_only_the_unsubscribes_of_its_own_links(client):
    first = delivered_send(ContactFactory(), name="Spring")
    second = another_send(first.message)  # a later dispatch of the same message
    another_send(first.message, first.dispatch)  # sent, not unsubscribed: halves the first dispatch's rate
    client.post(page_url(first), {"action": "unsubscribe"})
    client.post(unsubscribe_url(second), {"List-Unsubscribe": "One-Click"})
    [one] = dispatch_leaving_costs(dispatch=first.dispatch)
    [two] = dispatch_leaving_costs(dispatch=second.dispatch)
    assert (one.sends, one.unsubscribes["public_page"], one.unsubscribes["one_click"], one.rate) == (2, 1, 0, 0.5)
    assert (two.sends, two.unsubscribes["public_page"], two.unsubscribes["one_click"], two.rate) == (1, 0, 1, 1.0)


def test_the_dispatch_report_shows_its_costs_to_a_viewer(client):
    send = delivered_send(ContactFactory())
    client.post(unsubscribe_url(send), {"List-Unsubscribe": "One-Click"})
    html = viewer(client).get(reverse("messaging:dispatch_detail", args=[send.dispatch_id])).content.decode()
    assert 'id="dispatch-costs"' in html and "100 %" in html


def test_unsubscribes_are_charted_per_day_and_source(client):
    send = delivered_send(ContactFactory())
    later = another_send(send.message)
    client.post(page_url(send), {"action": "unsubscribe"})
    client.post(unsubscribe_url(later), {"List-Unsubscribe": "One-Click"})
    [(day, counts)] = message_unsubscribes_by_day(message=send.message)
    assert counts == {"public_page": 1, "one_click": 1}
    assert timezone.localtime(day).date() == timezone.localdate()
    html = viewer(client).get(send.message.get_absolute_url()).content.decode()
    assert 'aria-label="Unsubscribes per day"' in html and "One-click: 1" in html and "Page: 1" in html


def test_a_message_without_unsubscribes_says_so_instead_of_a_chart(client):
    send = delivered_send(ContactFactory())
    html = viewer(client).get(send.message.get_absolute_url()).content.decode()
    assert "No unsubscribes." in html


def three_messages(client):
    """Quiet (2 sends, nothing), Noisy (2 sends, 2 unsubscribes), Bouncy (3 sends, 1 bounce, 1 complaint, 1 opt-down)."""
    quiet = delivered_send(ContactFactory(), name="Quiet")
    another_send(quiet.message)
    noisy = delivered_send(ContactFactory(), name="Noisy")
    client.post(page_url(noisy), {"action": "unsubscribe"})
    client.post(unsubscribe_url(another_send(noisy.message)), {"List-Unsubscribe": "One-Click"})
    bouncy = delivered_send(ContactFactory(email="b@example.org"), name="Bouncy")
    complained = another_send(bouncy.message)
    email_opt_out_record(recipient="b@example.org", reason="bounced", send_id=bouncy.pk)
    email_opt_out_record(recipient=complained.contact.email, reason="complaint", send_id=complained.pk)
    assert client.post(page_url(another_send(bouncy.message)), {"action": "fewer", "fewer": "1-week"}).status_code == 200
    return quiet.message, noisy.message, bouncy.message


def test_the_dashboard_counts_every_message_over_all_its_sends(client):
    quiet, noisy, bouncy = three_messages(client)
    rows = {row.message.name: row for row in messages_leaving_costs().rows}
    assert (rows["Quiet"].cost.sends, rows["Quiet"].cost.unsubscribed, rows["Quiet"].rate) == (2, 0, 0.0)
    assert (rows["Noisy"].cost.sends, rows["Noisy"].cost.unsubscribed, rows["Noisy"].rate) == (2, 2, 1.0)
    b = rows["Bouncy"].cost
    assert (b.sends, b.unsubscribed, b.bounces, b.complaints, b.opt_downs) == (3, 0, 1, 1, 1)


def test_the_dashboard_sorts_by_the_column_asked_for(client):
    three_messages(client)
    client = viewer(client)

    def names(sort):
        html = client.get(reverse("messaging:message_costs"), {"sort": sort}).content.decode()
        return sorted(("Quiet", "Noisy", "Bouncy"), key=html.index)

    assert names("-unsubscribes")[0] == "Noisy"
    assert names("-sends")[0] == "Bouncy"
    assert names("rate")[-1] == "Noisy"
    assert names("-bounces")[0] == "Bouncy" and names("-complaints")[0] == "Bouncy"
    assert names("-opt_downs")[0] == "Bouncy"
    assert names("name") == ["Bouncy", "Noisy", "Quiet"] and names("-name") == ["Quiet", "Noisy", "Bouncy"]
    assert names("")[0] == "Noisy"  # the default: most unsubscribed first


def test_an_unknown_sort_says_so_and_sorts_by_unsubscribes(client):
    three_messages(client)
    response = viewer(client).get(reverse("messaging:message_costs"), {"sort": "-password'; drop"})
    html = response.content.decode()
    assert response.status_code == 200 and "Unknown sort order" in html
    assert html.index("Noisy") < html.index("Quiet")


def test_the_dashboard_is_in_the_nav_and_pages(client):
    for index in range(3):
        delivered_send(ContactFactory(), name=f"Costs message {index}")
    client = viewer(client)
    html = client.get(reverse("messaging:message_list")).content.decode()
    assert f'href="{reverse("messaging:message_costs")}"' in html
    import messaging.views.staff as staff_views

    staff_views.PAGE_SIZE, size = 2, staff_views.PAGE_SIZE
    try:
        second = client.get(reverse("messaging:message_costs"), {"sort": "name", "page": 2}).content.decode()
    finally:
        staff_views.PAGE_SIZE = size
    # Names with a space: a random token in the page (CSRF, nonce) cannot hold them.
    assert "Costs message 2" in second and "Costs message 0" not in second and "2 / 2" in second


@pytest.mark.parametrize("messages", [2, 12])
def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_messages(client, messages, django_assert_max_num_queries):
    for index in range(messages):
        send = delivered_send(ContactFactory(), name=f"M{index}")
        client.post(page_url(send), {"action": "unsubscribe"})
    client = viewer(client)
    # Session and user, permissions, the four counting queries, channel names, reasons given.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("messaging:message_costs"))
    assert response.content.decode().count('id="costs-message-') == messages



def test_the_dashboard_splits_each_message_by_source_and_by_channel(client):
    quiet, noisy, bouncy = three_messages(client)
    sms_send = delivered_send(ContactFactory(), channel="sms", name="Texted")
    client.post(page_url(sms_send), {"action": "unsubscribe"})
    dashboard = messages_leaving_costs()
    rows = {row.message.name: row for row in dashboard.rows}
    noisy_row = rows["Noisy"]
    assert (noisy_row.cost.unsubscribes["public_page"], noisy_row.cost.unsubscribes["one_click"]) == (1, 1)
    assert (noisy_row.channel_unsubscribes("email"), noisy_row.channel_unsubscribes("sms")) == (2, 0)
    assert (rows["Texted"].channel_unsubscribes("email"), rows["Texted"].channel_unsubscribes("sms")) == (0, 1)
    totals = {cost.channel: cost for cost in dashboard.channels}
    assert (totals["email"].sends, totals["email"].unsubscribed, totals["email"].bounces) == (7, 2, 1)
    assert (totals["sms"].sends, totals["sms"].unsubscribes["public_page"]) == (1, 1)


def test_the_dashboard_sorts_by_a_source_and_by_a_channel(client):
    three_messages(client)
    texted = delivered_send(ContactFactory(), channel="sms", name="Texted")
    client.post(page_url(texted), {"action": "unsubscribe"})
    client.post(page_url(another_send(texted.message)), {"action": "unsubscribe"})  # by email, from the same message
    client = viewer(client)

    def names(sort):
        html = client.get(reverse("messaging:message_costs"), {"sort": sort}).content.decode()
        assert "Unknown sort order" not in html
        return sorted(("Quiet", "Noisy", "Bouncy", "Texted"), key=html.index)

    assert names("-one_click")[0] == "Noisy"
    assert names("-public_page")[0] == "Texted"
    assert names("-channel_sms")[0] == "Texted"
    assert names("-channel_email")[0] == "Noisy"
    assert names("channel_email")[-1] == "Noisy"
    html = client.get(reverse("messaging:message_costs"), {"sort": "-channel_sms"}).content.decode()
    assert 'id="sort-channel_sms"' in html and 'aria-sort="descending"' in html
    assert 'id="all-costs"' in html and 'id="cost-sms"' in html


def test_the_dashboard_lists_the_reasons_given_across_messages(client):
    from .test_leaving_reasons_staff import answered

    answered(client, delivered_send(ContactFactory(), name="A"), "Too many messages")
    answered(client, delivered_send(ContactFactory(), name="B"), "Too many messages")
    html = viewer(client).get(reverse("messaging:message_costs")).content.decode()
    assert 'id="all-reasons"' in html and "Too many messages (2)" in html


def test_one_send_that_stopped_every_channel_is_one_unsubscribing_send_in_the_rate(client):
    send = delivered_send(ContactFactory(email="both@example.org", phone="+33612345678"), name="Both")
    another_send(send.message)
    assert client.post(page_url(send), {"action": "unsubscribe_all"}).status_code == 200
    [row] = [row for row in messages_leaving_costs().rows if row.message.name == "Both"]
    assert row.cost.unsubscribed == 2  # do-not-contact on email and on SMS, each on the channel it stopped
    assert (row.cost.sends, row.cost.unsubscribing_sends, row.rate) == (2, 1, 0.5)
    costs = {cost.channel: cost for cost in dispatch_leaving_costs(dispatch=send.dispatch)}
    assert (costs["email"].sends, costs["email"].rate) == (1, 1.0)  # the dispatch held this one send
    assert (costs["sms"].unsubscribed, costs["sms"].rate) == (1, None)  # stopped by an email: no SMS sent
