"""The demo data set: who the demo contacts are and what they allow, decided per contact index.

One definition of the spread serves every database; ``seed_demo`` only chooses how to write it.
The same index always yields the same contact, so seeding again adds only what is missing.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

CATEGORIES = [
    # slug, name, description, public, opt_in
    ("product-news", "Product news", "New features and improvements, once or twice a month.", True, False),
    ("offers", "Offers and promotions", "Discounts and limited-time offers.", True, False),
    ("events", "Events and webinars", "Invitations to our events near you and online.", True, False),
    ("newsletter", "Monthly newsletter", "The best of the month in one email.", True, False),
    ("beta", "Beta programme", "Early access to features in testing. Only if you ask for it.", True, True),
    ("account-tips", "Account tips", "Help to get more out of your account.", False, False),
]
SEGMENTS = [
    # slug, name, public name, public, share of contacts
    ("customers", "All customers", "Customers", False, 0.70),
    ("newsletter-readers", "Newsletter readers", "Newsletter", True, 0.60),
    ("trial-users", "Trial users", "Trial tips", True, 0.20),
    ("event-attendees", "Event attendees", "Event updates", True, 0.15),
    ("vip", "VIP customers", "VIP club", False, 0.05),
]
# What a French contact reads: slug -> (name, description) and slug -> (name, public name).
CATEGORIES_FR = {
    "product-news": ("Nouveautés produit", "Nouvelles fonctions et améliorations, une ou deux fois par mois."),
    "offers": ("Offres et promotions", "Réductions et offres à durée limitée."),
    "events": ("Événements et webinaires", "Invitations à nos événements près de chez vous et en ligne."),
    "newsletter": ("Lettre mensuelle", "Le meilleur du mois en un e-mail."),
    "beta": ("Programme bêta", "Accès anticipé aux fonctions en test. Seulement si vous le demandez."),
    "account-tips": ("Conseils pour votre compte", "De l’aide pour tirer le meilleur de votre compte."),
}
SEGMENTS_FR = {
    "customers": ("Tous les clients", "Clients"),
    "newsletter-readers": ("Lecteurs de la lettre", "Lettre d’information"),
    "trial-users": ("Utilisateurs en essai", "Conseils pour l’essai"),
    "event-attendees": ("Participants aux événements", "Actualités des événements"),
    "vip": ("Clients VIP", "Club VIP"),
}
FIRST_NAMES = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Giulia", "Hugo", "Inès", "Jonas",
               "Karin", "Léa", "Marco", "Nadia", "Oscar", "Paula", "Quentin", "Rosa", "Samir", "Tara"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Rossi", "Müller", "Garcia", "Nguyen", "Smith", "Kowalski",
              "Silva", "Haddad", "Laurent", "Moreau", "Fischer", "Costa", "Jensen", "Petit", "Roux"]
TIME_ZONES = ["Europe/Paris", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "UTC"]
DNC_REASONS = ["unsubscribed"] * 12 + ["bounced"] * 5 + ["complaint"] * 1 + ["manual"] * 2
UNITS = ["day", "week", "month"]


@dataclass
class DemoContact:
    index: int
    first_name: str
    last_name: str
    email: str
    phone: str
    locale: str
    time_zone: str
    created_at: datetime.datetime
    dnc: dict[str, str] = field(default_factory=dict)  # channel slug -> reason
    caps: dict[str, tuple[int, str]] = field(default_factory=dict)
    pauses: dict[str, tuple[datetime.date, datetime.date]] = field(default_factory=dict)
    preferred: str | None = None
    categories: dict[str, str] = field(default_factory=dict)  # slug -> subscribed/unsubscribed
    segments: dict[str, bool] = field(default_factory=dict)  # slug -> removed


def demo_email(index: int) -> str:
    return f"demo-{index}@example.com"


def demo_contact(index: int, *, seed: int, today: datetime.date) -> DemoContact:
    """The demo contact number ``index``: about 5 % email DNC, 3 % SMS DNC, caps, pauses, preferences."""
    rng = random.Random(seed * 10_000_019 + index)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    has_phone = rng.random() < 0.75
    person = DemoContact(
        index=index,
        first_name=first,
        last_name=last,
        email=demo_email(index),
        phone=f"+3367{index:07d}" if has_phone and index < 10_000_000 else "",
        locale="fr" if rng.random() < 0.2 else "en",
        time_zone=rng.choice(TIME_ZONES),
        created_at=datetime.datetime.combine(today, datetime.time(9), datetime.UTC)
        - datetime.timedelta(days=rng.randrange(730), minutes=rng.randrange(1440)),
    )
    if rng.random() < 0.05:
        person.dnc["email"] = rng.choice(DNC_REASONS)
    if person.phone and rng.random() < 0.04:
        person.dnc["sms"] = rng.choice(DNC_REASONS)
    if rng.random() < 0.15:
        person.caps["email"] = (rng.randint(1, 3), rng.choice(UNITS))
    if person.phone and rng.random() < 0.06:
        person.caps["sms"] = (rng.randint(1, 2), rng.choice(UNITS))
    if rng.random() < 0.04:
        start = today + datetime.timedelta(days=rng.randint(-5, 20))
        person.pauses["email"] = (start, start + datetime.timedelta(days=rng.randint(0, 30)))
    if person.phone and rng.random() < 0.02:
        start = today + datetime.timedelta(days=rng.randint(-5, 20))
        person.pauses["sms"] = (start, start + datetime.timedelta(days=rng.randint(0, 30)))
    choice = rng.random()
    if choice < 0.20 and person.phone and "sms" not in person.dnc:
        person.preferred = "sms"
    elif choice > 0.70 and "email" not in person.dnc:
        person.preferred = "email"
    for slug, _name, _description, _public, opt_in in CATEGORIES:
        roll = rng.random()
        if opt_in and roll < 0.10:
            person.categories[slug] = "subscribed"
        elif not opt_in and roll < 0.03:
            person.categories[slug] = "unsubscribed"
    for slug, _name, _public_name, _public, share in SEGMENTS:
        if rng.random() < share:
            person.segments[slug] = rng.random() < 0.01
    return person
