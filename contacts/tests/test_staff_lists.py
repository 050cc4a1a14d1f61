"""The contacts and categories lists: words instead of dashes, ignored filters said, page counts,
pause badges with dates, and category audiences by the send decision's rule."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import CategorySubscription, Channel, Contact
from contacts.rules import category_receives_q
from contacts.selectors import category_audiences
from contacts.services import channel_pause_set

from .factories import CategoryFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(db):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Viewers"))
    client = Client()
    client.force_login(user)
    return client


def test_empty_filter_options_read_as_words_not_dashes(viewer_client):
    page = viewer_client.get(reverse("contacts:contact_list")).content.decode()
    assert "---------" not in page and ">—<" not in page
    assert "Any segment" in page and "Any category" in page


def test_an_invalid_filter_value_is_said_not_silently_ignored(viewer_client):
    page = viewer_client.get(reverse("contacts:contact_list"), {"segment": "no-such-segment"}).content.decode()
    assert 'id="ignored-filters"' in page and "Segment:" in page


def test_paging_shows_the_page_count_and_links_the_last_page(viewer_client):
    ContactFactory.create_batch(60)
    page = viewer_client.get(reverse("contacts:contact_list"), {"q": "example"}).content.decode()
    assert "Page 1 of 3" in page
    assert "page=3" in page and ">Last<" in page


def test_a_pause_badge_shows_its_dates_and_only_until_the_pause_ends(viewer_client):
    email = Channel.objects.get(slug="email")
    today = timezone.localdate()
    upcoming = ContactFactory(first_name="Uma", time_zone="UTC")
    ended = ContactFactory(first_name="Eli", time_zone="UTC")
    channel_pause_set(contact=upcoming, channel=email, pause_from=today + datetime.timedelta(days=10),
                      pause_to=today + datetime.timedelta(days=12), source="system")
    channel_pause_set(contact=ended, channel=email, pause_from=today - datetime.timedelta(days=10),
                      pause_to=today - datetime.timedelta(days=5), source="system")
    page = viewer_client.get(reverse("contacts:contact_list")).content.decode()
    assert "Email pause " in page and " – " in page
    assert page.count("Email pause") == 1 and "Email paused until" not in page


def test_category_audiences_count_who_receives_by_the_decision_rule(db):
    opt_out = CategoryFactory(opt_in=False, slug="news")
    opt_in = CategoryFactory(opt_in=True, slug="offers")
    contacts = ContactFactory.create_batch(7)
    CategorySubscription.objects.create(contact=contacts[0], category=opt_out, status="unsubscribed", source="x")
    CategorySubscription.objects.create(contact=contacts[1], category=opt_out, status="subscribed", source="x")
    CategorySubscription.objects.create(contact=contacts[2], category=opt_in, status="subscribed", source="x")
    audiences = {audience.category.slug: audience for audience in category_audiences()}
    for category in (opt_out, opt_in):
        expected = Contact.objects.filter(category_receives_q(category)).count()
        assert audiences[category.slug].receives == expected
    assert (audiences["news"].receives, audiences["news"].left) == (6, 1)
    assert audiences["offers"].receives == 1


def test_the_categories_page_shows_an_opt_out_category_received_by_those_who_made_no_choice(viewer_client):
    CategoryFactory(opt_in=False, slug="news")
    ContactFactory.create_batch(4)
    page = viewer_client.get(reverse("contacts:category_list")).content.decode()
    row = page.split('id="category-news"')[1].split("</tr>")[0]
    assert "<td class=\"text-end\" data-receives>4</td>" in row
