"""Demo messages, ready to send from the staff UI, in English and French, and a designed preference
page for one of them: run after ``seed_demo`` (idempotent)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contacts.models import Category, Channel, Segment
from messaging import services
from messaging.models import Message, MessageVersion, PreferencePage

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
        # The French texts of each channel's version: (subject, text, HTML).
        "versions_fr": {
            "email": ("Nos offres de printemps, {first_name}",
                      "Bonjour {first_name},\n\nNos offres de printemps sont là : 20 % de réduction sur tout "
                      "jusqu’à dimanche.\n\nChoisissez ce que vous recevez : {preferences_url}\n{unsubscribe_text}",
                      "<p>Bonjour {first_name},</p><p>Nos offres de printemps sont là : <b>20 % de réduction</b> "
                      "sur tout jusqu’à dimanche.</p>"
                      "<p><a href=\"{preferences_url}\">Choisissez ce que vous recevez</a></p>"
                      "<p>{unsubscribe_text}</p>"),
            "sms": ("", "Offres de printemps : -20 % jusqu’à dimanche, {first_name} !", ""),
        },
        "page": "Spring page",
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
        "versions_fr": {
            "email": ("Les nouveautés du mois",
                      "Bonjour {first_name},\n\nTrois nouvelles fonctions sont arrivées ce mois-ci.\n\n"
                      "Choisissez ce que vous recevez : {preferences_url}\n{unsubscribe_text}",
                      "<p>Bonjour {first_name},</p><p>Trois nouvelles fonctions sont arrivées ce mois-ci.</p>"
                      "<p><a href=\"{preferences_url}\">Choisissez ce que vous recevez</a></p>"
                      "<p>{unsubscribe_text}</p>"),
        },
    },
]

# A designed preference page in both languages (docs/preference-pages.md), for "Spring offers".
DEMO_PAGE = {
    "name": "Spring page",
    "versions": {
        "en": [
            {"kind": "heading", "text": "Stay in touch"},
            {"kind": "text", "text": "<p>Choose the topics you care about, or leave: it takes one click.</p>"},
            {"kind": "unsubscribe"},
            {"kind": "categories"},
            {"kind": "channels"},
            {"kind": "save"},
            {"kind": "reason"},
            {"kind": "confirmation", "text": "Thank you: your choices are saved."},
        ],
        "fr": [
            {"kind": "heading", "text": "Restons en contact"},
            {"kind": "text", "text": "<p>Choisissez les sujets qui vous intéressent, ou partez : un clic suffit.</p>"},
            {"kind": "unsubscribe"},
            {"kind": "categories"},
            {"kind": "channels"},
            {"kind": "save"},
            {"kind": "reason"},
            {"kind": "confirmation", "text": "Merci : vos choix sont enregistrés."},
        ],
    },
}


def demo_page() -> PreferencePage:
    """The demo page, created and published through the staff services (as "system") if missing."""
    page = PreferencePage.objects.filter(name=DEMO_PAGE["name"]).first()
    if page is not None:
        return page
    page = services.page_create(acting_user=None, name=DEMO_PAGE["name"], default_language="en")
    for language, blocks in DEMO_PAGE["versions"].items():
        services.page_version_save(page=page, acting_user=None, language=language, blocks=blocks)
    return services.page_publish(page=page, acting_user=None)


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
                name=spec["name"], category=Category.objects.filter(slug=spec["category"]).first(),
                preference_page=demo_page() if spec.get("page") else None,
            )
            message.segments.set([segments[slug] for slug in spec["segments"] if slug in segments])
            for position, (channel, subject, text, html) in enumerate(spec["versions"]):
                subject_fr, text_fr, html_fr = spec["versions_fr"][channel]
                MessageVersion.objects.create(
                    message=message, channel=channels[channel], position=position,
                    subject=subject, text_body=text, html_body=html,
                    subject_fr=subject_fr, text_body_fr=text_fr, html_body_fr=html_fr,
                )
            created += 1
        self.stdout.write(f"Demo messages ready ({created} created).")
