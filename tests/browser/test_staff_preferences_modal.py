"""A marketer edits a contact's preferences in the modal, in a real browser."""

import pytest
from playwright.sync_api import expect

from contacts.models import (
    CategorySubscription,
    Channel,
    ChannelPreference,
    DoNotContact,
    PreferenceChange,
    SegmentMembership,
)
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ada(transactional_db):
    ContactFactory(first_name="Alan", last_name="Turing", email="alan@example.org")
    return ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@example.org", phone="+441234567890")


@pytest.fixture
def newsletter(transactional_db):
    return CategoryFactory(name="Newsletter", slug="newsletter", description="Monthly news.")


@pytest.fixture
def vip(transactional_db):
    return SegmentFactory(name="VIP", slug="vip")


def open_profile(page, name: str):
    page.get_by_role("searchbox", name="Search").fill(name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")


def open_preferences(page):
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Preferences").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_marketer_changes_every_tab_and_the_profile_updates_without_reload(logged_in, ada, newsletter, vip, artifacts):
    page = logged_in
    open_profile(page, "lovelace")
    page.evaluate("window.notReloaded = true")
    email_card = page.locator("#channel-card-email")
    sms_card = page.locator("#channel-card-sms")
    expect(email_card).to_contain_text("Contactable")
    expect(email_card).to_contain_text("No frequency cap")

    dialog = open_preferences(page)
    email_row = dialog.locator("#channel-row-email")
    sms_row = dialog.locator("#channel-row-sms")
    email_row.get_by_label("Do not contact more than").fill("2")
    email_row.get_by_label("each").select_option("day")
    email_row.get_by_label("Preferred channel").check()
    sms_row.get_by_label("Contactable").uncheck()
    expect(sms_row.get_by_text("Saving records “do not contact (set by staff)”.")).to_be_visible()
    page.screenshot(path=artifacts / "preferences-tab-channels.png")

    dialog.get_by_role("tab", name="Categories").click()
    dialog.get_by_label("Newsletter").uncheck()
    expect(dialog.get_by_text("Monthly news.")).to_be_visible()
    page.screenshot(path=artifacts / "preferences-tab-categories.png")

    dialog.get_by_role("tab", name="Segments").click()
    dialog.get_by_label("VIP").check()
    page.screenshot(path=artifacts / "preferences-tab-segments.png")

    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(email_card).to_contain_text("At most 2 per day")
    expect(email_card).to_contain_text("Preferred")
    expect(sms_card).to_contain_text("Do not contact: Set by staff")
    expect(page.locator("#categories-card")).to_contain_text("Unsubscribed")
    expect(page.locator("#segments-card")).to_contain_text("VIP")
    expect(page.locator("#timeline")).to_contain_text("Email: frequency cap")
    expect(page.locator(".toast")).to_contain_text("Preferences of Ada Lovelace saved.")
    assert page.evaluate("window.notReloaded") is True

    email, sms = Channel.objects.get(slug="email"), Channel.objects.get(slug="sms")
    email_pref = ChannelPreference.objects.get(contact=ada, channel=email)
    assert (email_pref.cap, email_pref.preferred) == ((2, "day"), True)
    assert DoNotContact.objects.get(contact=ada, channel=sms).reason == "manual"
    assert CategorySubscription.objects.get(contact=ada, category=newsletter).status == "unsubscribed"
    assert SegmentMembership.objects.get(contact=ada, segment=vip).removed is False
    history = PreferenceChange.objects.filter(contact=ada)
    assert sorted(history.values_list("kind", flat=True)) == [
        "category", "dnc", "frequency", "preferred_channel", "segment"
    ]
    assert set(history.values_list("source", flat=True)) == {"staff:edith"}


def test_an_invalid_pause_shows_on_the_channels_tab_and_saves_nothing(logged_in, ada, newsletter, vip, artifacts):
    page = logged_in
    open_profile(page, "ada@example")
    dialog = open_preferences(page)
    email_row = dialog.locator("#channel-row-email")
    email_row.get_by_label("Pause from").fill("2026-12-10")
    email_row.get_by_label("to", exact=True).fill("2026-12-01")
    dialog.get_by_role("tab", name="Segments").click()
    dialog.get_by_label("VIP").check()
    dialog.get_by_role("button", name="Save").click()

    error = dialog.get_by_text("The pause must end on or after the day it starts.")
    expect(error).to_be_visible()
    expect(dialog.get_by_role("tab", name="Channels & frequency")).to_have_attribute("aria-selected", "true")
    expect(dialog.locator("#pane-channels")).to_be_visible()
    expect(dialog.get_by_text("Nothing was saved.")).to_be_visible()
    expect(email_row.get_by_label("to", exact=True)).to_have_class("dateinput form-control is-invalid")
    page.screenshot(path=artifacts / "preferences-invalid-pause.png")
    assert not PreferenceChange.objects.filter(contact=ada).exists()
    assert not ChannelPreference.objects.filter(contact=ada).exists()
    assert not SegmentMembership.objects.filter(contact=ada).exists()


def test_the_modal_opens_traps_focus_and_closes_with_the_keyboard(logged_in, ada):
    page = logged_in
    open_profile(page, "Ada")
    actions = page.get_by_role("button", name="Actions")
    actions.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("link", name="Preferences")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Preferences of Ada Lovelace")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("tab", name="Channels & frequency")).to_be_focused()

    for _ in range(40):  # more stops than the modal has: focus must wrap around inside it
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('staff-modal').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.getElementById('staff-modal').contains(document.activeElement)")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(actions).to_be_focused()
