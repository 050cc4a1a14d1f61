"""The contact's pages in French: a complete catalogue, compiled, and used for every string."""

import gettext
import re

import pytest

from contacts.models import PreferenceSettings
from preference_center.catalogue import LOCALE, public_pot
from contacts.tests.factories import CategoryFactory, ContactFactory

from .test_public_page import delivered_send, page_url, unsubscribe_url

CATALOGUE = LOCALE / "fr" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")


def po_entries(text: str) -> list[dict]:
    """The entries of a .po file: msgid, msgstr and flags (enough of the format for our catalogue)."""
    entries = []
    for block in text.strip().split("\n\n"):
        flags = " ".join(line[2:] for line in block.splitlines() if line.startswith("#,"))
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if match := re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line):
                key = match.group(1)
                fields[key] = match.group(2)
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if "msgid" in fields:
            entries.append({**{k: v.encode().decode("unicode_escape").encode("latin-1").decode() for k, v in fields.items()}, "flags": flags})
    return entries


def source_msgids() -> set[str]:
    """What makemessages would extract from everything a contact can read."""
    return {entry["msgid"] for entry in po_entries(public_pot()) if entry["msgid"]}


def test_the_french_catalogue_has_no_untranslated_or_fuzzy_entry():
    entries = [entry for entry in po_entries(CATALOGUE.read_text()) if entry["msgid"]]
    assert entries
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in entries if not any(v for k, v in e.items() if k.startswith("msgstr"))] == []


def test_the_compiled_catalogue_translates_every_string_of_the_public_pages():
    with COMPILED.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalogue = {e["msgid"]: e.get("msgstr") for e in po_entries(CATALOGUE.read_text()) if e["msgid"]}
    translated = {key for key, value in compiled._catalog.items() if isinstance(key, str) and value}
    untranslated = sorted(source_msgids() - translated)
    assert untranslated == []
    stale = sorted(msgid for msgid, msgstr in catalogue.items() if msgstr and compiled.gettext(msgid) != msgstr)
    assert stale == [], "locale/fr is compiled from an older catalogue: run manage.py compilemessages"


@pytest.mark.django_db
def test_a_french_contact_gets_the_page_and_its_messages_in_french(client):
    PreferenceSettings.objects.filter(pk=1).update(show_segments=True)
    CategoryFactory(name="Actualités", slug="news")
    contact = ContactFactory(locale="fr")
    send = delivered_send(contact)

    page = client.get(page_url(send))
    html = page.content.decode()
    assert page["Content-Language"] == "fr" and '<html lang="fr">' in html
    for french in ("Vos préférences", "Canaux et fréquence", "Faire une pause", "Canal préféré", "Thèmes",
                   "Enregistrer mes préférences", "Me désabonner de tout", "Me désabonner des messages par E-mail",
                   '<option value="week">semaine</option>'):
        assert french in html
    for english in ("Your preferences", "Save my preferences", "Unsubscribe", "messages per", "week<"):
        assert english not in html

    invalid = client.post(page_url(send), {
        "action": "save", "channels.email.subscribed": "on", "channels.sms.subscribed": "on",
        "channels.email.frequency.number": "0", "channels.email.frequency.unit": "",
        "channels.email.pause.from": "demain", "channels.email.pause.to": "",
    }).content.decode()
    for french in ("Rien n’a été enregistré.", "Saisissez un nombre d’au moins 1", "Choisissez jour, semaine ou mois.",
                   "Saisissez une date valide."):
        assert french in invalid

    done = client.post(unsubscribe_url(send), {"List-Unsubscribe": "One-Click"}).content.decode()
    assert "Vous êtes désabonné des messages par E-mail." in done


@pytest.mark.django_db
def test_a_bad_link_is_explained_in_the_site_language(client):
    response = client.get("/messaging/p/garbage/")
    assert response.status_code == 404 and "This link is not valid" in response.content.decode()
