"""The contact's preference page in a real browser: the areas each switch shows, phones, no JavaScript."""

import itertools

import pytest
from playwright.sync_api import expect

from contacts.models import DoNotContact, PreferenceChange, PreferenceSettings
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.tests.test_public_page import delivered_send, page_url, unsubscribe_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AREAS = {
    "show_frequency": "#area-channels",
    "show_pause": "#area-pause",
    "show_preferred_channel": "#area-preferred",
    "show_categories": "#area-categories",
    "show_segments": "#area-segments",
}
PHONE = {"width": 360, "height": 780}


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"


@pytest.fixture
def ada(transactional_db):
    CategoryFactory(name="Newsletter", slug="newsletter", description="Monthly news and long reads.")
    CategoryFactory(name="Offers", slug="offers", description="Discounts, at most once a week.")
    SegmentFactory(name="Beta testers", slug="beta", public=True, public_name="Beta programme")
    return ContactFactory(first_name="Ada", email="ada@example.org", phone="+441234567890")


def set_switches(**switches):
    PreferenceSettings.objects.filter(pk=1).update(show_preferences=True, **switches)


def test_each_switch_combination_shows_exactly_its_areas(page, live_server, ada):
    send = delivered_send(ada)
    for values in itertools.product([True, False], repeat=len(AREAS)):
        switches = dict(zip(AREAS, values))
        set_switches(**switches)
        page.goto(live_server.url + page_url(send))
        expect(page.get_by_role("heading", level=1)).to_have_text("Your preferences")
        for switch, selector in AREAS.items():
            expect(page.locator(selector)).to_have_count(1 if switches[switch] else 0)
        expect(page.get_by_role("button", name="Save my preferences")).to_have_count(1 if any(values) else 0)
        expect(page.get_by_role("button", name="Unsubscribe from all")).to_be_visible()


def test_a_message_can_override_the_global_switches(page, live_server, ada):
    set_switches(show_categories=True, show_pause=True)
    send = delivered_send(ada, show_categories=False, show_segments=True)
    page.goto(live_server.url + page_url(send))
    expect(page.locator("#area-categories")).to_have_count(0)
    expect(page.locator("#area-pause")).to_be_visible()
    expect(page.get_by_label("Beta programme")).not_to_be_checked()


def test_with_show_preferences_off_the_link_shows_a_plain_unsubscribe_page(page, live_server, ada, artifacts):
    PreferenceSettings.objects.filter(pk=1).update(show_preferences=False)
    send = delivered_send(ada)
    page.goto(live_server.url + unsubscribe_url(send))
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    for selector in AREAS.values():
        expect(page.locator(selector)).to_have_count(0)
    page.screenshot(path=artifacts / "public-plain-unsubscribe-desktop.png", full_page=True)

    page.get_by_role("button", name="Unsubscribe from Email messages").click()
    expect(page.get_by_role("status")).to_contain_text("You are unsubscribed from Email messages.")
    page.get_by_role("button", name="Resubscribe to Email messages").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome back")
    assert not DoNotContact.objects.filter(contact=ada).exists()


@pytest.mark.parametrize("viewport, name", [({"width": 1280, "height": 900}, "desktop"), (PHONE, "phone")])
def test_a_contact_changes_every_area_without_javascript(browser, live_server, ada, artifacts, viewport, name):
    set_switches(**dict.fromkeys(AREAS, True))
    send = delivered_send(ada)
    context = browser.new_context(viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + page_url(send))
        # Nothing sticks out sideways on a 360 px phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=artifacts / f"public-preferences-{name}.png", full_page=True)

        page.get_by_label("Email: no more than").fill("2")
        page.locator("#f-email-unit").select_option("week")
        page.locator("#f-sms-from").fill("2026-08-01")
        page.locator("#f-sms-to").fill("2026-08-15")
        page.get_by_label("Send me SMS messages").uncheck()
        page.get_by_label("Offers").uncheck()
        page.get_by_label("Beta programme").check()
        page.get_by_label("Email", exact=True).check()
        page.get_by_role("button", name="Save my preferences").click()

        expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
        expect(page.get_by_label("Email: no more than")).to_have_value("2")
        expect(page.get_by_label("Send me SMS messages")).not_to_be_checked()
        expect(page.get_by_label("Offers")).not_to_be_checked()
        expect(page.get_by_label("Beta programme")).to_be_checked()
        page.screenshot(path=artifacts / f"public-preferences-saved-{name}.png", full_page=True)
    finally:
        context.close()
    kinds = set(PreferenceChange.objects.filter(contact=ada, source="public_page").values_list("kind", flat=True))
    assert kinds == {"frequency", "pause", "dnc", "category", "segment", "preferred_channel"}


def test_errors_are_shown_next_to_their_field_on_a_phone(browser, live_server, ada, artifacts):
    set_switches(**dict.fromkeys(AREAS, True))
    send = delivered_send(ada)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url + page_url(send))
        page.get_by_label("Email: no more than").fill("5")
        page.locator("#f-email-from").fill("2026-09-10")
        page.locator("#f-email-to").fill("2026-09-01")
        page.get_by_role("button", name="Save my preferences").click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
        expect(page.locator("#f-email-unit-error")).to_have_text("Choose day, week or month.")
        expect(page.locator("#f-email-to-error")).to_have_text("The pause must end on or after the day it starts.")
        expect(page.locator("#f-email-unit")).to_have_attribute("aria-invalid", "true")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=artifacts / "public-preferences-errors-phone.png", full_page=True)
    finally:
        context.close()
    assert not PreferenceChange.objects.filter(contact=ada).exists()


def test_the_page_works_from_the_keyboard(page, live_server, ada):
    set_switches(show_frequency=False, show_pause=False, show_preferred_channel=False, show_categories=True)
    send = delivered_send(ada)
    page.goto(live_server.url + page_url(send))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    newsletter = page.get_by_label("Newsletter")
    newsletter.focus()
    page.keyboard.press("Space")
    expect(newsletter).not_to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Offers")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save my preferences")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")


def test_a_bad_link_shows_the_not_valid_page(page, live_server, transactional_db):
    response = page.goto(live_server.url + "/messaging/p/this-is-not-a-token/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
