"""What a marketer tripped over in the staff UI (issue 14, "Wrong or broken"), walked in a real browser.

Each test leaves screenshots of the page it changed at desktop (1366 px) and phone (390 px) width.
"""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from contacts.models import CategorySubscription, ChannelPreference, PreferenceChange, SegmentMembership
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1366, "phone": 390}


def shoot(page, artifacts, name: str) -> None:
    """Screenshots of the page as it is, at desktop and phone width; the viewport is put back."""
    size = page.viewport_size
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(size)


@pytest.fixture
def ada(transactional_db):
    return ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@example.org", phone="+441234567890")


@pytest.fixture
def newsletter(transactional_db):
    return CategoryFactory(name="Newsletter", slug="newsletter", description="Monthly news.")


@pytest.fixture
def vip(transactional_db):
    return SegmentFactory(name="VIP", slug="vip")


def focus_by_tab(page, predicate_js: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches; fails if it never does (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({predicate_js}); }})()"):
            return
    raise AssertionError(f"Tab never reached an element matching {predicate_js}")


# 1. Keyboard users reach every tab of the Preferences modal from its first open.
def test_keyboard_only_user_moves_between_preference_tabs_with_arrows_home_and_end(
    logged_in, live_server, ada, newsletter, vip, artifacts
):
    page = logged_in
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    focus_by_tab(page, "el.id === 'contact-actions'")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Preferences of Ada Lovelace")
    channels, categories, segments = (
        dialog.get_by_role("tab", name=name) for name in ("Channels & frequency", "Categories", "Segments")
    )
    expect(channels).to_be_focused()
    scroll_before = page.evaluate("window.scrollY")

    page.keyboard.press("ArrowRight")
    expect(categories).to_be_focused()
    expect(categories).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_label("Newsletter")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(segments).to_be_focused()
    expect(dialog.get_by_label("VIP")).to_be_visible()
    page.keyboard.press("ArrowRight")  # wraps around
    expect(channels).to_be_focused()
    page.keyboard.press("End")
    expect(segments).to_be_focused()
    page.keyboard.press("Home")
    expect(channels).to_be_focused()
    page.keyboard.press("ArrowLeft")  # wraps backwards
    expect(segments).to_be_focused()
    expect(segments).to_have_attribute("tabindex", "0")
    expect(channels).to_have_attribute("tabindex", "-1")
    assert page.evaluate("window.scrollY") == scroll_before

    # Tab leaves the tab bar for the panel; Space ticks, Enter on Save saves.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("VIP")).to_be_focused()
    page.keyboard.press("Space")
    shoot(page, artifacts, "preferences-keyboard-segments")
    focus_by_tab(page, "el.id === 'preferences-save'")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert SegmentMembership.objects.get(contact=ada, segment=vip).removed is False


# 8. The preferred-channel error appears beside its radio; the tab bar does not move between tabs.
def test_preferred_channel_error_sits_beside_its_radio_and_the_tab_bar_stays_put(
    logged_in, live_server, ada, newsletter, vip, artifacts
):
    page = logged_in
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Preferences").click()
    dialog = page.get_by_role("dialog")
    sms_row = dialog.locator("#channel-row-sms")
    sms_row.get_by_label("Contactable").uncheck()
    sms_row.get_by_label("Preferred channel").check()
    dialog.get_by_role("button", name="Save").click()
    error = sms_row.locator("#preferred-channel-error")
    expect(error).to_be_visible()
    expect(dialog.get_by_text("Nothing was saved.")).to_be_visible()
    shoot(page, artifacts, "preferences-preferred-error")

    tab_bar = dialog.get_by_role("tablist")
    top = tab_bar.bounding_box()["y"]
    dialog.get_by_role("tab", name="Segments").click()
    assert abs(tab_bar.bounding_box()["y"] - top) < 2
    assert not ChannelPreference.objects.filter(contact=ada, preferred=True).exists()


def test_on_a_phone_the_modal_keeps_save_visible_and_its_tab_bar_on_one_line(
    logged_in, live_server, ada, newsletter, vip, artifacts
):
    page = logged_in
    page.set_viewport_size({"width": 390, "height": 760})
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Preferences").click()
    dialog = page.get_by_role("dialog")
    save = dialog.get_by_role("button", name="Save")
    expect(save).to_be_in_viewport()
    tabs = dialog.get_by_role("tab")
    tops = {round(tabs.nth(i).bounding_box()["y"]) for i in range(tabs.count())}
    assert len(tops) == 1, "the tab bar wraps onto several lines"
    scrollers = page.evaluate(
        """Array.from(document.querySelectorAll('#staff-modal, #staff-modal *')).filter(
             (el) => el.scrollHeight > el.clientHeight + 1 && ['auto', 'scroll'].includes(getComputedStyle(el).overflowY)
           ).length"""
    )
    assert scrollers == 1
    page.screenshot(path=artifacts / "preferences-modal-phone.png")


# 9. Without JavaScript the preferences page shows the three sections and saves them at once.
@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_without_javascript_the_preferences_page_shows_every_section_with_one_save(
    page_without_js, live_server, editor, ada, newsletter, vip, artifacts
):
    page = page_without_js
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("edith")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    page.get_by_role("link", name="Preferences").click()

    expect(page.get_by_role("heading", name="Channels & frequency")).to_be_visible()
    expect(page.get_by_role("heading", name="Categories")).to_be_visible()
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    page.locator("#channel-row-email").get_by_label("Do not contact more than").fill("3")
    page.locator("#channel-row-email").get_by_label("each").select_option("week")
    page.get_by_label("Newsletter").uncheck()
    page.get_by_label("VIP").check()
    shoot(page, artifacts, "preferences-no-javascript")
    expect(page.get_by_role("button", name="Save")).to_have_count(1)
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    assert ChannelPreference.objects.get(contact=ada, channel__slug="email").cap == (3, "week")
    assert CategorySubscription.objects.get(contact=ada, category=newsletter).status == "unsubscribed"
    assert SegmentMembership.objects.get(contact=ada, segment=vip).removed is False
    assert PreferenceChange.objects.filter(contact=ada).count() == 3


# 4. Search ignores accents and case (PostgreSQL here; the SQLite demo: contacts/tests/test_search_accents_sqlite.py).
def test_searching_ines_finds_ines_with_an_accent(logged_in, artifacts):
    ContactFactory(first_name="Inès", last_name="Moreau", email="im@example.org")
    ContactFactory(first_name="Léa", last_name="Dupont", email="ld@example.org")
    page = logged_in
    page.get_by_role("searchbox", name="Search").fill("ines")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Inès Moreau")).to_be_visible()
    expect(page.get_by_role("link", name="Léa Dupont")).to_have_count(0)
    page.get_by_role("searchbox", name="Search").fill("LEA")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Léa Dupont")).to_be_visible()
    shoot(page, artifacts, "contacts-search-accents")


# 2 and 7. A demo email's footer shows the unsubscribe link once, on the Outbox detail page.
def test_a_demo_email_in_the_outbox_shows_its_unsubscribe_link_once(logged_in, live_server, settings, artifacts):
    from django.core.management import call_command
    from django.utils import timezone

    from contacts.models import SegmentMembership
    from messaging.models import Message, OutboxMessage
    from messaging.tests.conftest import run_dispatch

    settings.EMAIL_BACKEND = "messaging.delivery.backends.outbox.OutboxEmailBackend"
    readers = SegmentFactory(name="Newsletter readers", slug="newsletter-readers")
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    SegmentMembership.objects.create(contact=ada, segment=readers, source="import")
    call_command("seed_demo_messages", stdout=open("/dev/null", "w"))
    run_dispatch(Message.objects.get(name="Spring offers"), now=timezone.now())
    item = OutboxMessage.objects.get(to="ada@example.org")

    page = logged_in
    page.goto(f"{live_server.url}/messaging/outbox/")
    page.get_by_role("link", name="Email → ada@example.org").click()
    for header in ("From", "To", "Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"):
        expect(page.locator("#outbox-headers").get_by_role("rowheader", name=header, exact=True)).to_be_visible()
    url = item.list_unsubscribe.split("<")[1].split(">")[0] if "<http" in item.list_unsubscribe else None
    text = page.get_by_role("region", name="Text part").inner_text()
    assert url and text.count(url) == 1, text
    assert ": " + url not in text.replace("here: " + url, "")
    frame = page.frame_locator("iframe[title='HTML part']")
    expect(frame.get_by_text("Our spring offers are here")).to_be_visible()
    expect(frame.locator(f'a[href="{url}"]')).to_have_count(1)
    expect(frame.locator("a a")).to_have_count(0)
    shoot(page, artifacts, "outbox-detail-demo-email")


# 10. A viewer sees no form they cannot use, and a forbidden page says why in their terms.
@pytest.fixture
def viewer_page(page, live_server, transactional_db):
    user = UserFactory(username="vera")
    user.groups.add(Group.objects.get(name="Viewers"))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_a_viewer_is_shown_no_edit_or_send_forms_and_a_403_that_names_their_group(
    viewer_page, live_server, ada, vip, artifacts
):
    from contacts.models import SegmentMembership
    from messaging.tests.factories import MessageFactory

    SegmentMembership.objects.create(contact=ada, segment=vip, source="import")
    message = MessageFactory(channels=["email"], segments=[vip])
    page = viewer_page
    page.goto(f"{live_server.url}{message.get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(message.name)
    for name in ("Edit", "Send…", "Delete or archive…"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.goto(f"{live_server.url}/segments/{vip.pk}/")
    expect(page.get_by_role("button", name="Add")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove Ada Lovelace")).to_have_count(0)
    page.goto(f"{live_server.url}/settings/")
    expect(page.get_by_text("View only: your account cannot change the settings.")).to_be_visible()
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)

    for path in (f"/messaging/{message.pk}/send/", f"/messaging/{message.pk}/edit/", "/messaging/new/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403, path
        expect(page.get_by_role("button", name="Yes, send it")).to_have_count(0)
        reason = page.locator("#forbidden-reason")
        expect(reason).to_contain_text("in the Viewers group")
        expect(reason).not_to_contain_text("Editors or Viewers")
    shoot(page, artifacts, "forbidden-viewer")


# 15. The message editor: no formset jargon, versions ordered by buttons, HTML previewed as typed.
def test_a_marketer_orders_versions_with_buttons_and_previews_the_html_as_typed(
    logged_in, live_server, vip, artifacts
):
    from django.contrib.auth.models import Permission

    from contacts.models import Channel
    from messaging.models import Message
    from messaging.tests.factories import MessageFactory

    editor = logged_in
    from django.contrib.auth import get_user_model

    get_user_model().objects.get(username="edith").user_permissions.add(
        *Permission.objects.filter(content_type__app_label="messaging")
    )
    message = MessageFactory(name="Autumn", channels=["email", "sms"], segments=[vip])
    page = editor
    page.goto(f"{live_server.url}/messaging/{message.pk}/edit/")
    expect(page.get_by_label("Position")).to_have_count(0)
    cards = page.locator("[data-version]")
    first_channel = cards.nth(0).get_by_label("Channel")
    expect(first_channel).to_have_value(str(Channel.objects.get(slug="email").pk))
    cards.nth(1).get_by_role("button", name="Move up").click()
    expect(page.locator("[data-version]").nth(0).get_by_label("Channel")).to_have_value(
        str(Channel.objects.get(slug="sms").pk)
    )
    email_card = page.locator("[data-version]").nth(1)
    email_card.get_by_label("Html body", exact=True).fill("<h1>Autumn sale</h1><p>{unsubscribe_text}</p>")
    frame = email_card.frame_locator("iframe[title='Preview of the HTML part']")
    expect(frame.get_by_role("heading", name="Autumn sale")).to_be_visible()
    shoot(page, artifacts, "message-editor")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn")
    order = [version.channel.slug for version in Message.objects.get(pk=message.pk).ordered_versions()]
    assert order == ["sms", "email"]


def test_an_empty_message_form_asks_for_a_version_in_words(logged_in, live_server, vip):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    get_user_model().objects.get(username="edith").user_permissions.add(
        *Permission.objects.filter(content_type__app_label="messaging")
    )
    page = logged_in
    page.goto(f"{live_server.url}/messaging/new/")
    page.get_by_label("Name").fill("Empty")
    page.get_by_label("VIP").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Add at least one version: choose its channel and write its text.")).to_be_visible()
    expect(page.get_by_text("Please submit at least 1 form.")).to_have_count(0)


# 11 and 12. Lists fit a phone; the categories list counts who receives; toasts leave the user menu free.
def test_lists_fit_a_phone_and_categories_count_who_receives(logged_in, live_server, newsletter, artifacts):
    for n in range(3):
        ContactFactory(first_name="Théo", last_name="Bérénice-Longname", email=f"theo.berenice.{n}@example.org")
    page = logged_in
    page.goto(f"{live_server.url}/categories/")
    expect(page.locator(f"#category-{newsletter.slug} [data-receives]")).to_have_text("3")
    shoot(page, artifacts, "categories-list")
    for path in ("/", "/categories/"):
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/?segment=nope")
    expect(page.locator("#ignored-filters")).to_contain_text("Segment")
    shoot(page, artifacts, "contacts-list")


def test_a_toast_does_not_cover_the_user_menu(logged_in, live_server, ada):
    page = logged_in
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Preferences").click()
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    toast = page.locator(".toast.show")
    expect(toast).to_be_visible()
    box, menu = toast.bounding_box(), page.get_by_role("button", name="Log out").bounding_box()
    overlaps = not (box["x"] > menu["x"] + menu["width"] or box["x"] + box["width"] < menu["x"]
                    or box["y"] > menu["y"] + menu["height"] or box["y"] + box["height"] < menu["y"])
    assert not overlaps
