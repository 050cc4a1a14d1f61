"""Preference pages designed from blocks: publish checks, languages, what a save may touch, the
message's category, the staff preview, deletion, and a constant query count."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from contacts.models import (
    Category,
    CategorySubscription,
    ChannelPreference,
    DoNotContact,
    SegmentMembership,
    StaffChange,
)
from contacts.services import contact_preferences_update
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory
from messaging import services
from messaging.forms import MessageForm
from messaging.models import PreferencePage
from messaging.pages import blocks_clean

from .test_public_page import _no_rate_limit, database_snapshot, delivered_send, fields, page_url  # noqa: F401

pytestmark = pytest.mark.django_db

LEAVE = {"kind": "unsubscribe_all"}
SAVE = {"kind": "save"}


@pytest.fixture
def staff():
    return UserFactory(is_superuser=True)


def published(staff, versions: dict[str, list[dict]], *, default_language="en", name="Designed") -> PreferencePage:
    page = services.page_create(acting_user=staff, name=name, default_language=default_language)
    for language, blocks in versions.items():
        services.page_version_save(page=page, acting_user=staff, language=language, blocks=blocks)
    return services.page_publish(page=page, acting_user=staff)


# --- Publish checks ----------------------------------------------------------------------------


def test_a_page_without_a_way_to_unsubscribe_cannot_be_published_and_says_why(staff):
    page = services.page_create(acting_user=staff, name="No exit", default_language="en")
    services.page_version_save(page=page, acting_user=staff, language="en", blocks=[{"kind": "heading", "text": "Hi"}])
    with pytest.raises(services.PageCannotPublish) as refused:
        services.page_publish(page=page, acting_user=staff)
    assert "gives no way to unsubscribe" in str(refused.value)
    page.refresh_from_db()
    assert not page.published


def test_a_page_with_inputs_but_no_save_button_cannot_be_published(staff):
    page = services.page_create(acting_user=staff, name="No save", default_language="en")
    services.page_version_save(page=page, acting_user=staff, language="en", blocks=[{"kind": "categories"}, LEAVE])
    with pytest.raises(services.PageCannotPublish) as refused:
        services.page_publish(page=page, acting_user=staff)
    assert refused.value.problems == ["The English version shows inputs (Categories) but no save button."]


def test_channels_with_a_save_button_is_a_way_to_unsubscribe(staff):
    page = published(staff, {"en": [{"kind": "channels"}, SAVE]})
    assert page.published


def test_a_page_without_its_default_language_cannot_be_published(staff):
    page = services.page_create(acting_user=staff, name="French only", default_language="en")
    services.page_version_save(page=page, acting_user=staff, language="fr", blocks=[LEAVE])
    with pytest.raises(services.PageCannotPublish) as refused:
        services.page_publish(page=page, acting_user=staff)
    assert refused.value.problems == ["The page has no version in its default language (English)."]


def test_a_published_page_refuses_an_edit_that_would_break_it(staff):
    page = published(staff, {"en": [{"kind": "categories"}, SAVE, LEAVE]})
    with pytest.raises(services.PageCannotPublish):
        services.page_version_save(page=page, acting_user=staff, language="en", blocks=[{"kind": "categories"}, LEAVE])
    assert page.versions.get().blocks == [{"kind": "categories", "items": []}, SAVE, LEAVE]


def test_the_publish_button_shows_the_reasons_in_the_editor(client, staff):
    page = services.page_create(acting_user=staff, name="No exit", default_language="en")
    services.page_version_save(page=page, acting_user=staff, language="en", blocks=[{"kind": "pause"}])
    client.force_login(staff)
    response = client.post(f"/messaging/pages/{page.pk}/publish/", follow=True)
    text = response.content.decode()
    assert "The page cannot be published" in text and "no save button" in text and "no way to unsubscribe" in text


def test_publishing_is_audited(staff):
    page = published(staff, {"en": [LEAVE]})
    assert StaffChange.objects.filter(subject_type="preference_page", subject_id=page.pk, changes__has_key="published_at").exists()


# --- Blocks as stored ----------------------------------------------------------------------------


def test_text_blocks_keep_safe_formatting_only():
    [block] = blocks_clean([{"kind": "text", "text": '<p onclick="x()">Hi <b>you</b><script>alert(1)</script>'
                                                     '<img src=x><a href="javascript:alert(1)">link</a></p>'}])
    assert block["text"] == '<p>Hi <b>you</b><a rel="noopener noreferrer nofollow">link</a></p>'


def test_only_public_segments_can_be_chosen_and_some_must_be():
    hidden = SegmentFactory(public=False)
    with pytest.raises(ValidationError) as invalid:
        blocks_clean([{"kind": "segments", "items": [hidden.pk]}])
    assert invalid.value.messages == ["Block 1: only public categories and segments can be shown."]
    with pytest.raises(ValidationError) as invalid:
        blocks_clean([{"kind": "segments", "items": []}])
    assert invalid.value.messages == ["Block 1: choose the segments to show."]


def test_an_input_block_appears_once():
    with pytest.raises(ValidationError) as invalid:
        blocks_clean([{"kind": "pause"}, {"kind": "pause"}])
    assert "can appear only once" in invalid.value.messages[0]


# --- Languages -----------------------------------------------------------------------------------


@pytest.fixture
def bilingual(staff):
    return published(staff, {
        "en": [{"kind": "heading", "text": "Your choices"}, {"kind": "text", "text": "<p>English text</p>"}, LEAVE],
        "fr": [{"kind": "heading", "text": "Vos choix"}, LEAVE],
    })


@pytest.mark.parametrize("locale, heading, absent", [("fr", "Vos choix", "Your choices"), ("en", "Your choices", "Vos choix")])
def test_the_contacts_language_picks_the_version(client, bilingual, locale, heading, absent):
    send = delivered_send(ContactFactory(locale=locale), preference_page=bilingual)
    text = client.get(page_url(send)).content.decode()
    assert heading in text and absent not in text


def test_a_language_without_a_version_falls_back_to_the_pages_default(client, staff):
    page = published(staff, {"fr": [{"kind": "heading", "text": "Vos choix"}, LEAVE]}, default_language="fr")
    published(staff, {"en": [{"kind": "heading", "text": "Another page"}, LEAVE]}, name="Other")
    send = delivered_send(ContactFactory(locale="en"), preference_page=page)
    text = client.get(page_url(send)).content.decode()
    assert "Vos choix" in text and "Another page" not in text


def test_a_designed_page_keeps_the_public_security_headers_and_writes_nothing_on_get(client, bilingual):
    send = delivered_send(ContactFactory(), preference_page=bilingual)
    before = database_snapshot()
    response = client.get(page_url(send))
    assert database_snapshot() == before
    assert "script" not in response["Content-Security-Policy"] and "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    assert "<p>English text</p>" in response.content.decode()


def test_the_message_switches_still_decide_a_page_for_messages_without_one(client):
    send = delivered_send(ContactFactory(), show_preferences=True, show_pause=True, show_frequency=False)
    ids = fields(client.get(page_url(send)))
    assert "f-email-from" in ids and "f-email-number" not in ids


# --- What a page does not show, it does not touch ---------------------------------------------


@pytest.fixture
def world(staff):
    """A contact with a value in every area, two public categories and two public segments."""
    contact = ContactFactory(time_zone="UTC")
    shown_category, hidden_category = CategoryFactory(slug="shown-cat"), CategoryFactory(slug="hidden-cat")
    shown_segment, hidden_segment = SegmentFactory(public=True, slug="shown-seg"), SegmentFactory(public=True, slug="hidden-seg")
    for segment in (shown_segment, hidden_segment):
        SegmentMembership.objects.create(contact=contact, segment=segment, source="import")
    today = datetime.date.today()
    contact_preferences_update(contact=contact, source="system", data={
        "channels": {
            "email": {"frequency": {"number": 5, "unit": "week"},
                      "pause": {"from": str(today + datetime.timedelta(days=10)), "to": str(today + datetime.timedelta(days=12))}},
            "sms": {"frequency": {"number": 2, "unit": "day"}},
        },
        "preferred_channel": "email",
    })
    return {"contact": contact, "categories": (shown_category, hidden_category), "segments": (shown_segment, hidden_segment)}


def areas(contact) -> dict:
    """Everything a save could change, by area."""
    prefs = {p.channel.slug: p for p in ChannelPreference.objects.filter(contact=contact).select_related("channel")}
    return {
        "dnc": sorted(DoNotContact.objects.filter(contact=contact).values_list("channel__slug", "reason")),
        "caps": {slug: (p.cap_number, p.cap_unit) for slug, p in prefs.items()},
        "pauses": {slug: (p.pause_from, p.pause_to) for slug, p in prefs.items()},
        "preferred": sorted(slug for slug, p in prefs.items() if p.preferred),
        "shown-cat": list(CategorySubscription.objects.filter(contact=contact, category__slug="shown-cat").values_list("status")),
        "hidden-cat": list(CategorySubscription.objects.filter(contact=contact, category__slug="hidden-cat").values_list("status")),
        "shown-seg": list(SegmentMembership.objects.filter(contact=contact, segment__slug="shown-seg").values_list("removed")),
        "hidden-seg": list(SegmentMembership.objects.filter(contact=contact, segment__slug="hidden-seg").values_list("removed")),
    }


# A hand-made POST that tries to change every area at once: unticks SMS, every category and segment,
# new caps, no pauses, SMS preferred.
EVERYTHING = {
    "action": "save",
    "channels.email.subscribed": "on",
    "channels.email.frequency.number": "1", "channels.email.frequency.unit": "day",
    "channels.sms.frequency.number": "9", "channels.sms.frequency.unit": "month",
    "channels.email.pause.from": "", "channels.email.pause.to": "",
    "channels.sms.pause.from": "2030-01-01", "channels.sms.pause.to": "2030-01-02",
    "preferred_channel": "sms",
}

BLOCK_AREAS = {
    "channels": {"dnc", "caps"},
    "pause": {"pauses"},
    "preferred": {"preferred"},
    "categories": {"shown-cat"},
    "segments": {"shown-seg"},
}


@pytest.mark.parametrize("kind", sorted(BLOCK_AREAS))
def test_a_save_changes_only_what_the_page_shows(client, staff, world, kind):
    block = {"kind": kind}
    if kind == "categories":
        block["items"] = [world["categories"][0].pk]
    if kind == "segments":
        block["items"] = [world["segments"][0].pk]
    page = published(staff, {"en": [block, SAVE, LEAVE]})
    send = delivered_send(world["contact"], preference_page=page)
    before = areas(world["contact"])
    response = client.post(page_url(send), EVERYTHING)
    assert response.status_code == 200, response.content.decode()
    after = areas(world["contact"])
    for area, value in before.items():
        if area in BLOCK_AREAS[kind]:
            assert after[area] != value, f"{kind} should change {area}"
        else:
            assert after[area] == value, f"{kind} must not touch {area}"


def test_a_page_without_a_save_block_refuses_a_hand_made_save(client, staff, world):
    page = published(staff, {"en": [LEAVE]})
    send = delivered_send(world["contact"], preference_page=page)
    before = areas(world["contact"])
    assert client.post(page_url(send), EVERYTHING).status_code == 400
    assert areas(world["contact"]) == before


def test_a_page_without_unsubscribe_from_all_refuses_it(client, staff, world):
    page = published(staff, {"en": [{"kind": "unsubscribe"}]})
    send = delivered_send(world["contact"], preference_page=page)
    assert client.post(page_url(send), {"action": "unsubscribe_all"}).status_code == 400
    assert not DoNotContact.objects.filter(contact=world["contact"]).exists()


def test_the_confirmation_block_replaces_the_saved_message(client, staff, world):
    page = published(staff, {"en": [{"kind": "preferred"}, SAVE, LEAVE, {"kind": "confirmation", "text": "Thanks, noted!"}]})
    send = delivered_send(world["contact"], preference_page=page)
    response = client.post(page_url(send), {"action": "save", "preferred_channel": "sms"})
    assert "Thanks, noted!" in response.content.decode()


# --- Categories as the contact has them -------------------------------------------------------


def test_new_categories_show_the_contacts_real_state_and_the_messages_own_is_highlighted(client, staff):
    page = published(staff, {"en": [{"kind": "categories"}, SAVE, LEAVE]})
    own = CategoryFactory(slug="own")
    send = delivered_send(ContactFactory(), preference_page=page, category=own)
    opt_out, opt_in = CategoryFactory(slug="fresh-opt-out"), CategoryFactory(slug="fresh-opt-in", opt_in=True)
    response = client.get(page_url(send))
    ids = fields(response)
    assert "checked" in ids["f-category-fresh-opt-out"] and "checked" not in ids["f-category-fresh-opt-in"]
    text = response.content.decode()
    assert text.count("category-highlight") == 1
    assert text.index("category-highlight") < text.index('id="f-category-own"') < text.index("This message's topic")
    assert opt_out and opt_in


def test_a_chosen_subset_of_categories_shows_only_those(client, staff):
    shown, hidden = CategoryFactory(slug="a-shown"), CategoryFactory(slug="a-hidden")
    page = published(staff, {"en": [{"kind": "categories", "items": [shown.pk]}, SAVE, LEAVE]})
    ids = fields(client.get(page_url(delivered_send(ContactFactory(), preference_page=page))))
    assert "f-category-a-shown" in ids and "f-category-a-hidden" not in ids and hidden


# --- Messages, deletion ----------------------------------------------------------------------------


def test_deleting_a_page_used_by_messages_is_refused_naming_them(staff):
    page = published(staff, {"en": [LEAVE]})
    delivered_send(ContactFactory(), preference_page=page, name="Spring sale")
    with pytest.raises(services.PageInUse) as refused:
        services.page_delete(page=page, acting_user=staff)
    assert "Spring sale" in str(refused.value)
    with pytest.raises(ProtectedError):
        page.delete()
    assert PreferencePage.objects.filter(pk=page.pk).exists()


def test_an_unused_page_is_deleted(staff):
    page = published(staff, {"en": [LEAVE]})
    services.page_delete(page=page, acting_user=staff)
    assert not PreferencePage.objects.filter(pk=page.pk).exists()


def test_a_message_can_choose_only_a_published_page(staff):
    draft = services.page_create(acting_user=staff, name="Draft", default_language="en")
    form = MessageForm({"name": "M", "preference_page": draft.pk, "segments": [SegmentFactory().pk]})
    assert not form.is_valid() and "preference_page" in form.errors


# --- Preview -----------------------------------------------------------------------------------------


def test_preview_shows_the_contacts_version_writes_nothing_and_no_button_works(client, staff, bilingual):
    contact = ContactFactory(locale="fr")
    client.force_login(staff)
    before = database_snapshot()
    response = client.get(f"/messaging/pages/{bilingual.pk}/preview/", {"contact": contact.email})
    assert database_snapshot() == before
    text = response.content.decode()
    assert "Vos choix" in text and "Your choices" not in text
    assert 'value="unsubscribe_all" class="btn btn-outline-danger" disabled' in text
    assert "/messaging/p/preview/" in text and client.get("/messaging/p/preview/").status_code == 404


def test_preview_from_a_message_shows_its_page(client, staff, bilingual):
    send = delivered_send(ContactFactory(), preference_page=bilingual)
    client.force_login(staff)
    response = client.get(f"/messaging/{send.message.pk}/page-preview/", {"contact": send.contact.pk})
    assert "Your choices" in response.content.decode()


# --- Query count -------------------------------------------------------------------------------------


def page_queries(client, send) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url(send)).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_blocks_categories_or_segments(client, staff, django_assert_max_num_queries):
    def page_of(size: int, name: str):
        categories = [CategoryFactory() for _ in range(size)]
        segments = [SegmentFactory(public=True) for _ in range(size)]
        texts = [{"kind": "text", "text": f"<p>Block {n}</p>"} for n in range(size)]
        blocks = [*texts, {"kind": "channels"}, {"kind": "pause"}, {"kind": "preferred"},
                  {"kind": "categories", "items": [c.pk for c in categories]},
                  {"kind": "segments", "items": [s.pk for s in segments]}, SAVE, LEAVE]
        contact = ContactFactory()
        for segment in segments:
            SegmentMembership.objects.create(contact=contact, segment=segment, source="import")
        return delivered_send(contact, preference_page=published(staff, {"en": blocks}, name=name))

    small = page_queries(client, page_of(1, "small"))
    large_send = page_of(25, "large")
    with django_assert_max_num_queries(small):
        client.get(page_url(large_send))
    assert Category.objects.count() >= 26


def test_a_text_stored_around_the_editor_is_sanitised_again_on_the_page_and_headings_are_escaped(client, staff):
    page = published(staff, {"en": [LEAVE]})
    # Written straight to the table, as a restored backup or a bad migration could.
    page.versions.update(blocks=[{"kind": "heading", "text": "<i>Hi</i>"},
                                 {"kind": "text", "text": "<p>ok</p><script>alert(1)</script>"}, LEAVE])
    text = client.get(page_url(delivered_send(ContactFactory(), preference_page=page))).content.decode()
    assert "<script>" not in text and "<p>ok</p>" in text and "&lt;i&gt;Hi&lt;/i&gt;" in text


def test_designed_pages_share_a_skeleton_and_each_contact_gets_exactly_their_own_page(client, staff, world):
    from django.template.loader import render_to_string
    from django.utils import translation

    from messaging.public import page as public_page, render as public_render, skeleton as public_skeleton
    from messaging.public.tokens import send_token

    page = published(staff, {"en": [{"kind": "heading", "text": "Hi"}, {"kind": "unsubscribe"}, {"kind": "channels"},
                                    {"kind": "pause"}, {"kind": "categories"}, SAVE, LEAVE]})
    sends = [delivered_send(world["contact"], preference_page=page), delivered_send(ContactFactory(), preference_page=page)]
    first = client.get(page_url(sends[0])).content.decode()
    skeletons = len(public_skeleton.SKELETONS)
    second = client.get(page_url(sends[1])).content.decode()
    assert len(public_skeleton.SKELETONS) == skeletons
    for send, html in zip(sends, (first, second)):
        token = send_token(send.pk)
        with translation.override("en"):
            alone = public_page.public_page_load(public_page.send_for_token(token))
            context = public_render.page_context(alone, token, "preferences", public_render.Outcome(),
                                                 public_skeleton.Slots(shared=False))
            assert html == render_to_string("public/designed.html", context)
    assert 'value="5"' in first and 'value="5"' not in second
