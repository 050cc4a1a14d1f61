"""The dispatch report: its heading follows its state, the chart's step follows its duration,
results are split by channel, deferred contacts are links, and counts agree in number."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from contacts import services as contact_services
from contacts.tests.factories import UserFactory
from messaging.models import Send
from messaging.selectors import dispatch_timeline, time_step

from .conftest import run_dispatch
from .factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, db):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    return user


@pytest.fixture
def dispatched(members, email):
    paused = members(first_name="Paula")
    contact_services.channel_pause_set(contact=paused, channel=email, pause_from=datetime.date.today(),
                                       pause_to=datetime.date.today() + datetime.timedelta(days=3), source="system")
    members(first_name="Sam")
    members(first_name="Nora", email="", phone="")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now())
    dispatch.paused = paused
    return dispatch


def test_a_finished_dispatch_no_longer_says_sending_in_its_heading(client, marketer, dispatched):
    page = client.get(dispatched.get_absolute_url()).content.decode()
    heading = page.split('id="dispatch-heading"')[1].split("</h1>")[0]
    assert "sent" in heading and "sending" not in heading


def test_results_are_split_by_channel(client, marketer, dispatched):
    page = client.get(dispatched.get_absolute_url()).content.decode()
    table = page.split('id="results-by-channel"')[1].split("</table>")[0]
    assert "<th scope=\"row\">Email</th>" in table and "No channel" in table


def test_deferred_contacts_link_to_their_profile(client, marketer, dispatched):
    page = client.get(dispatched.get_absolute_url()).content.decode()
    url = reverse("contacts:contact_detail", args=[dispatched.paused.pk])
    assert f'<a href="{url}">{dispatched.paused}</a>' in page


def test_a_sub_minute_dispatch_is_charted_in_seconds_not_one_block(marketer, dispatched):
    base = timezone.now().replace(microsecond=0)
    sends = list(Send.objects.filter(dispatch=dispatched).order_by("id"))
    for offset, send in zip((0, 20, 40), sends):
        Send.objects.filter(pk=send.pk).update(evaluated_at=base + datetime.timedelta(seconds=offset))
    step, timeline = dispatch_timeline(dispatch=dispatched)
    assert step < 60 and len(timeline) == 3


@pytest.mark.parametrize(("duration", "step"), [(30, 1), (300, 5), (3600, 60), (86400, 1800)])
def test_the_time_step_grows_with_the_duration(duration, step):
    assert time_step(datetime.timedelta(seconds=duration)) == step


def test_cancelling_one_deferred_send_says_send_not_sends(client, marketer, dispatched):
    response = client.post(reverse("messaging:deferred_cancel", args=[dispatched.pk]),
                           {"scope": "all", "confirm": "yes"}, follow=True)
    assert "1 deferred send cancelled." in response.content.decode()
