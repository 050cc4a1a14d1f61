"""Demo messages, ready to send from the staff UI: run after ``seed_demo`` (idempotent)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contacts.models import Category, Channel, Segment
from messaging.models import Message, MessageVersion

DEMO_MESSAGES = [
    {
        "name": "Spring offers",
        "category": "offers",
        "segments": ["newsletter-readers"],
        "versions": [
            ("email", "Our spring offers, {first_name}",
             "Hi {first_name},\n\nOur spring offers are here: 20 % off everything until Sunday.\n\n"
             "Choose what you receive: {preferences_url}\n{unsubscribe_text}",
             "<p>Hi {first_name},</p><p>Our spring offers are here: <b>20 % off</b> everything until Sunday.</p>"
             "<p><a href=\"{preferences_url}\">Choose what you receive</a></p>"
             "<p>{unsubscribe_text}</p>"),
            ("sms", "", "Spring offers: 20% off until Sunday, {first_name}!", ""),
        ],
    },
    {
        "name": "Product news — November",
        "category": "product-news",
        "segments": ["customers", "trial-users"],
        "versions": [
            ("email", "What's new this month",
             "Hi {first_name},\n\nThree new features landed this month.\n\n"
             "Choose what you receive: {preferences_url}\n{unsubscribe_text}",
             "<p>Hi {first_name},</p><p>Three new features landed this month.</p>"
             "<p><a href=\"{preferences_url}\">Choose what you receive</a></p>"
             "<p>{unsubscribe_text}</p>"),
        ],
    },
]


class Command(BaseCommand):
    help = "Create demo messages for the demo segments (skips those that exist)."

    @transaction.atomic
    def handle(self, *args, **options):
        segments = {segment.slug: segment for segment in Segment.objects.all()}
        if not segments:
            raise CommandError("No segments: run `manage.py seed_demo` first.")
        channels = {channel.slug: channel for channel in Channel.objects.all()}
        created = 0
        for spec in DEMO_MESSAGES:
            if Message.objects.filter(name=spec["name"]).exists():
                continue
            message = Message.objects.create(
                name=spec["name"], category=Category.objects.filter(slug=spec["category"]).first()
            )
            message.segments.set([segments[slug] for slug in spec["segments"] if slug in segments])
            for position, (channel, subject, text, html) in enumerate(spec["versions"]):
                MessageVersion.objects.create(
                    message=message, channel=channels[channel], position=position,
                    subject=subject, text_body=text, html_body=html,
                )
            created += 1
        self.stdout.write(f"Demo messages ready ({created} created).")
