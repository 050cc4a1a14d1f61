"""Staff pages read as words: reasons, outcomes and channels, never internal codes; plurals agree."""

import pytest
from django.utils import timezone
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.models import CategorySubscription
from contacts.tests.factories import CategoryFactory, UserFactory
from messaging.models import Reason, reason_label

from .conftest import run_dispatch
from .factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, db):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    return user


def test_every_reason_code_has_words_that_are_not_the_code():
    codes = [*Reason.values, "category_unsubscribed", "category_not_subscribed"]
    for code in codes:
        assert reason_label(code) != code and "_" not in reason_label(code)


def test_the_preview_gives_the_reason_and_the_channels_in_words(client, marketer, members):
    contact = members(first_name="Ana", phone="+33612345678")
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    page = client.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": contact.email}).content.decode()
    assert "<strong>Sending</strong> (Channel order)" in page
    assert "channel_order" not in page
    assert '<th scope="row">Email' in page and '<th scope="row">SMS' in page


def test_the_contact_timeline_words_a_category_block(client, marketer, members):
    category = CategoryFactory(slug="offers", name="Offers")
    contact = members(first_name="Bea")
    CategorySubscription.objects.create(contact=contact, category=category, status="unsubscribed")
    message = MessageFactory(channels=["email"], segments=[members.segment], category=category)
    run_dispatch(message, now=timezone.now())
    marketer.user_permissions.add(*Permission.objects.filter(codename="view_contact"))
    page = client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert "Unsubscribed from the message&#x27;s category" in page
    assert "category_unsubscribed" not in page
