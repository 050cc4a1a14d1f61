"""A French contact reads French: category and segment names on the public page, the message's
French texts when it has them, and the invalid-link page when the browser asks for French."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import PreferenceSettings
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.models import Message, OutboxMessage

from .conftest import run_dispatch
from .factories import MessageFactory, aware
from .test_delivery import received_messages, smtp_server  # noqa: F401
from .test_public_page import delivered_send, page_url
from .test_staff import marketer  # noqa: F401

pytestmark = pytest.mark.django_db
NOW = aware(2026, 3, 5, 12, 0)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"


@pytest.fixture
def texts(db):
    PreferenceSettings.objects.filter(pk=1).update(show_segments=True)
    CategoryFactory(name="News", name_fr="Actualités", slug="news", description="What is new.",
                    description_fr="Ce qui est nouveau.")
    CategoryFactory(name="Offers", name_fr="", slug="offers", description="Deals.", description_fr="")
    SegmentFactory(name="VIP", slug="vip", public=True, public_name="Club members", public_name_fr="Membres du club")


def test_a_french_contact_sees_french_category_and_segment_names_on_the_page(client, texts):
    html = client.get(page_url(delivered_send(ContactFactory(locale="fr")))).content.decode()
    assert "Actualités" in html and "Ce qui est nouveau." in html and "Membres du club" in html
    assert ">News<" not in html and "What is new." not in html and "Club members" not in html


def test_an_empty_french_name_falls_back_to_the_default_language(client, texts):
    html = client.get(page_url(delivered_send(ContactFactory(locale="fr")))).content.decode()
    assert ">Offers</label>" in html and "Deals." in html


def test_an_english_contact_sees_the_default_names(client, texts):
    html = client.get(page_url(delivered_send(ContactFactory(locale="en")))).content.decode()
    assert ">News</label>" in html and "Club members" in html and "Actualités" not in html


def test_the_french_names_cost_the_page_no_extra_query(client, texts):
    english, french = (page_url(delivered_send(ContactFactory(locale=locale))) for locale in ("en", "fr"))
    client.get(english)  # the first request warms the per-process caches
    with CaptureQueriesContext(connection) as english_queries:
        assert client.get(english).status_code == 200
    with CaptureQueriesContext(connection) as french_queries:
        assert "Actualités" in client.get(french).content.decode()
    assert len(french_queries) == len(english_queries)


def french_message(members, **version):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    message.versions.update(**version)
    return message


def test_a_french_contact_gets_the_french_email_when_the_message_has_one(members, smtp_server):
    ana, zoe = members(first_name="Ana", locale="en"), members(first_name="Zoé", locale="fr")
    message = french_message(members, subject_fr="Bonjour {first_name}", text_body_fr="Salut {first_name}, soldes !",
                             html_body_fr="<p>Salut {first_name}, <b>soldes</b> !</p>")
    run_dispatch(message, now=NOW)
    mails = received_messages(smtp_server)
    french, english = mails[(zoe.email,)], mails[(ana.email,)]
    assert french["Subject"] == "Bonjour Zoé"
    assert french.get_body(("plain",)).get_content().startswith("Salut Zoé, soldes !")
    assert "Pour ne plus recevoir ces messages" in french.get_body(("plain",)).get_content()
    assert "<b>soldes</b>" in french.get_body(("html",)).get_content()
    assert english["Subject"] == "Hello Ana" and "spring sale" in english.get_body(("plain",)).get_content()


def test_without_a_french_body_a_french_contact_gets_the_default_texts(members, smtp_server):
    zoe = members(first_name="Zoé", locale="fr")
    run_dispatch(french_message(members, subject_fr="Bonjour {first_name}"), now=NOW)
    mail = received_messages(smtp_server)[(zoe.email,)]
    assert mail["Subject"] == "Hello Zoé" and mail.get_body(("plain",)).get_content().startswith("Hi Zoé, spring sale!")


def test_a_french_text_without_french_html_sends_no_english_html(members, smtp_server):
    zoe = members(first_name="Zoé", locale="fr")
    run_dispatch(french_message(members, text_body_fr="Salut {first_name}"), now=NOW)
    mail = received_messages(smtp_server)[(zoe.email,)]
    assert mail["Subject"] == "Hello Zoé"  # no French subject: the default one
    assert mail.get_body(("html",)) is None or "spring sale" not in mail.get_body(("html",)).get_content()
    assert mail.get_body(("plain",)).get_content().startswith("Salut Zoé")


def test_a_french_sms_uses_the_french_text(members, sms):
    zoe = members(first_name="Zoé", locale="fr", phone="+33612345678")
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    message.versions.update(text_body_fr="Soldes, {first_name} !")
    run_dispatch(message, now=NOW)
    (text,) = OutboxMessage.objects.filter(to=zoe.phone).values_list("body", flat=True)
    assert text.startswith("Soldes, Zoé !") and "STOP" in text


def test_the_invalid_link_page_is_in_french_for_a_french_browser(client):
    response = client.get("/messaging/p/garbage/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    assert response.status_code == 404 and response["Content-Language"] == "fr"
    html = response.content.decode()
    assert '<html lang="fr">' in html and "This link is not valid" not in html


def test_the_invalid_link_page_stays_in_english_for_other_browsers(client):
    response = client.get("/messaging/p/garbage/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404 and "This link is not valid" in response.content.decode()


def version_post(**texts):
    return {
        "name": "Spring", "show_preferences": "false",
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "1",
        "versions-MAX_NUM_FORMS": "1000", "versions-0-position": "0", "versions-0-subject": "Hi {first_name}",
        "versions-0-text_body": "Hello", "versions-0-html_body": "",
        **{f"versions-0-{name}": value for name, value in texts.items()},
    }


def test_staff_write_a_messages_french_texts(client, marketer, members, email):
    data = version_post(subject_fr="Bonjour {first_name}", text_body_fr="Salut", html_body_fr="")
    data.update({"segments": [members.segment.pk], "versions-0-channel": email.pk})
    response = client.post(reverse("messaging:message_create"), data)
    assert response.status_code == 302
    version = Message.objects.get(name="Spring").versions.get()
    assert (version.subject_fr, version.text_body_fr) == ("Bonjour {first_name}", "Salut")


def test_a_bad_field_token_in_a_french_text_is_refused(client, marketer, members, email):
    data = version_post(text_body_fr="Salut {field:nope}")
    data.update({"segments": [members.segment.pk], "versions-0-channel": email.pk})
    response = client.post(reverse("messaging:message_create"), data)
    assert response.status_code == 200 and "nope" in response.content.decode()
    assert not Message.objects.exists()


def test_a_field_token_only_in_the_french_text_is_filled(members, smtp_server):
    from contacts.models import ContactField
    ContactField.objects.create(key="company", label="Company")
    zoe = members(first_name="Zoé", locale="fr", fields={"company": "Acme"})
    run_dispatch(french_message(members, text_body_fr="Salut {field:company|toi}"), now=NOW)
    mail = received_messages(smtp_server)[(zoe.email,)]
    assert mail.get_body(("plain",)).get_content().startswith("Salut Acme")


def test_the_message_page_shows_the_french_text_to_staff(client, marketer, members):
    message = french_message(members, subject_fr="Bonjour", text_body_fr="Salut <b>{first_name}</b>")
    html = client.get(message.get_absolute_url()).content.decode()
    assert "Salut &lt;b&gt;{first_name}&lt;/b&gt;" in html and "Bonjour" in html
