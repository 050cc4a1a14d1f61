"""The demo data speaks French to a French contact: categories, segments, the designed page, the messages."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts.models import Category, Channel, Segment
from contacts.tests.factories import ContactFactory
from messaging.delivery.rendering import Delivery, MessageRenderer
from messaging.management.commands.seed_demo_messages import DEMO_MESSAGES
from messaging.models import Dispatch, Message, Send

from .test_public_page import _no_rate_limit, page_url  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", contacts=5, no_progress=True, stdout=io.StringIO())
    call_command("seed_demo_messages", stdout=io.StringIO())


def send_to(message: Message, contact) -> Send:
    now = timezone.now()
    dispatch = Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
    return Send.objects.create(message=message, dispatch=dispatch, contact=contact, channel=Channel.objects.get(slug="email"),
                               outcome="sent", decided_at=now, evaluated_at=now, sent_at=now, delivered_at=now)


def test_a_french_contact_reads_the_demo_page_categories_and_segments_in_french(client, demo):
    contact = ContactFactory(locale="fr")
    Segment.objects.get(slug="newsletter-readers").memberships.create(contact=contact, source="import")
    page = client.get(page_url(send_to(Message.objects.get(name="Spring offers"), contact))).content.decode()
    assert "Restons en contact" in page and "Offres et promotions" in page and "Réductions et offres" in page
    assert "Stay in touch" not in page and "Offers and promotions" not in page


def test_the_demo_page_built_from_switches_shows_french_segment_names(client, demo):
    contact = ContactFactory(locale="fr")
    Segment.objects.get(slug="newsletter-readers").memberships.create(contact=contact, source="import")
    message = Message.objects.get(name="Product news — November")
    Message.objects.filter(pk=message.pk).update(show_segments=True)
    page = client.get(page_url(send_to(message, contact))).content.decode()
    assert "Lettre d’information" in page and "Nouveautés produit" in page


def test_every_demo_message_has_a_french_version_per_channel(demo):
    for spec in DEMO_MESSAGES:
        message = Message.objects.get(name=spec["name"])
        for version in message.versions.all():
            assert version.text_body_fr, (spec["name"], version.channel.slug)
    message = Message.objects.get(name="Spring offers")
    version = message.versions.get(channel__slug="email")
    subject, _text, html, _values = MessageRenderer(message, version).email(
        Delivery(1, 1, "Claire", "D", "claire@example.fr", locale="fr"))
    assert subject == "Nos offres de printemps, Claire" and "Choisissez ce que vous recevez" in html


def test_seeding_again_keeps_french_staff_wrote(demo):
    Category.objects.filter(slug="offers").update(name_fr="Promos")
    call_command("seed_demo", contacts=5, no_progress=True, stdout=io.StringIO())
    call_command("seed_demo_messages", stdout=io.StringIO())
    assert Category.objects.get(slug="offers").name_fr == "Promos"
    assert Category.objects.get(slug="events").name_fr == "Événements et webinaires"
