"""A preference page designed in the staff editor, published, chosen by a message, and used by a
French and an English contact in a real browser."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import CategorySubscription, Channel, DoNotContact, SegmentMembership
from contacts.services import contact_preferences_update
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.models import Dispatch, PreferencePage, Send, UnsubscribeFeedback
from messaging.tests.factories import MessageFactory
from messaging.tests.test_public_page import page_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 780}


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"


def set_blocks(page, rows: list[dict]) -> None:
    """Fill the block rows of the editor from the top, then save."""
    for n, row in enumerate(rows):
        page.locator(f'select[name="blocks-{n}-kind"]').select_option(row["kind"])
        if "text" in row:
            page.locator(f'textarea[name="blocks-{n}-text"]').fill(row["text"])
        for pk in row.get("categories", ()):
            page.locator(f'input[name="blocks-{n}-categories"][value="{pk}"]').check()
        page.locator(f'input[name="blocks-{n}-ORDER"]').fill(str(n + 1))
    page.get_by_role("button", name="Save blocks").click()


def sent(message, contact) -> Send:
    now = timezone.now()
    dispatch = Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
    return Send.objects.create(
        message=message, dispatch=dispatch, contact=contact, channel=Channel.objects.get(slug="email"),
        outcome="sent", decided_at=now, evaluated_at=now, sent_at=now, delivered_at=now,
    )


def test_build_publish_attach_and_use_a_page_in_two_languages(logged_in, live_server, browser, artifacts):
    page = logged_in
    newsletter = CategoryFactory(name="Newsletter", slug="newsletter")
    offers = CategoryFactory(name="Offers", slug="offers")
    beta = SegmentFactory(name="Beta", slug="beta", public=True)
    message = MessageFactory(name="Spring sale", segments=[beta], channels=["email"])

    page.goto(f"{live_server.url}/messaging/pages/new/")
    page.get_by_label("Name").fill("Spring page")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#page-state")).to_have_text("Draft")

    # An incomplete page: inputs and a save button, but no way to leave the channel.
    page.locator("#edit-en").click()
    incomplete = [{"kind": "heading", "text": "Stay in touch"}, {"kind": "categories", "categories": [newsletter.pk]},
                  {"kind": "save"}]
    set_blocks(page, incomplete)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The page cannot be published")).to_be_visible()
    expect(page.locator("#page-problems")).to_contain_text("gives no way to unsubscribe from the message's channel")
    expect(page.locator("#page-state")).to_have_text("Draft")
    page.screenshot(path=artifacts / "preference-page-refused.png", full_page=True)

    page.locator("#edit-en").click()
    set_blocks(page, [*incomplete, {"kind": "unsubscribe_all"}, {"kind": "reason"}])
    page.locator("#edit-fr").click()
    set_blocks(page, [{"kind": "heading", "text": "Restons en contact"},
                      {"kind": "categories", "categories": [newsletter.pk]}, {"kind": "save"}, {"kind": "unsubscribe_all"}])
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#page-state")).to_have_text("Published")

    page.goto(f"{live_server.url}/messaging/{message.pk}/edit/")
    page.get_by_label("Preference page").select_option(label="Spring page")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#message-page")).to_have_text("Spring page")
    assert message.__class__.objects.get(pk=message.pk).preference_page == PreferencePage.objects.get(name="Spring page")

    # Staff reword a reason for leaving; contacts are offered the new words.
    page.goto(f"{live_server.url}/messaging/reasons/")
    page.locator("#leaving-reasons tbody tr").first.get_by_label("Label", exact=True).fill("You write too often")
    page.get_by_role("button", name="Save the reasons").click()
    expect(page.get_by_text("Reasons saved.")).to_be_visible()
    expect(page.locator("#staff-history")).to_contain_text("You write too often")

    french = ContactFactory(locale="fr", email="claire@example.fr")
    english = ContactFactory(locale="en", email="ada@example.org")
    SegmentMembership.objects.create(contact=english, segment=beta, source="import")
    contact_preferences_update(contact=english, data={"categories": {"offers": False}}, source="system")

    # No JavaScript on the contact's side, and a phone-sized window.
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    public = context.new_page()
    public.goto(live_server.url + page_url(sent(message, french)))
    expect(public.get_by_role("heading", level=1)).to_have_text("Restons en contact")
    expect(public.get_by_role("button", name="Enregistrer mes préférences")).to_be_visible()
    expect(public.get_by_label("Offers")).to_have_count(0)
    assert public.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    public.screenshot(path=artifacts / "preference-page-fr-360.png", full_page=True)

    public.goto(live_server.url + page_url(sent(message, english)))
    expect(public.get_by_role("heading", level=1)).to_have_text("Stay in touch")
    public.get_by_label("Newsletter").uncheck()
    public.get_by_role("button", name="Save my preferences").click()
    expect(public.locator("#confirmation")).to_have_text("Your preferences are saved.")
    # The shown category changed; the hidden one, the segment and the channels did not.
    statuses = dict(CategorySubscription.objects.filter(contact=english).values_list("category__slug", "status"))
    assert statuses == {"newsletter": "unsubscribed", "offers": "unsubscribed"}
    assert SegmentMembership.objects.get(contact=english, segment=beta).removed is False
    assert not DoNotContact.objects.filter(contact=english).exists()

    # Leave, take it back with the undo button, leave again and say why.
    public.get_by_role("button", name="Unsubscribe from all").click()
    expect(public.locator("#confirmation")).to_contain_text("You are unsubscribed from everything")
    public.get_by_role("button", name="Undo: keep receiving messages").click()
    expect(public.locator("#confirmation")).to_contain_text("Undone: you will receive")
    assert not DoNotContact.objects.filter(contact=english).exists()
    public.get_by_role("button", name="Unsubscribe from all").click()
    public.get_by_label("You write too often").check()
    public.screenshot(path=artifacts / "preference-page-reason-360.png", full_page=True)
    public.get_by_role("button", name="Send my answer").click()
    expect(public.locator("#confirmation")).to_have_text("Thank you for telling us.")
    assert set(UnsubscribeFeedback.objects.values_list("send__contact", "label")) == {(english.pk, "You write too often")}
    assert DoNotContact.objects.filter(contact=english).count() == 2
    context.close()

    assert offers
