"""Script typed by staff or sent by a contact never runs on any page an administrator opens.

Every staff-editable text and every value a contact sends holds a payload; an admin then opens
every page that shows them. Any JavaScript dialog, any Content-Security-Policy violation or any
payload element that made it into the DOM fails the test: escaping is the first wall, the policy
the second, and a violation means the first wall broke somewhere.
"""

import datetime
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Channel, PreferenceSettings
from contacts.services import (
    category_unsubscribe,
    category_update,
    channel_pause_set,
    segment_membership_add,
    segment_update,
    settings_update,
)
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory
from messaging.models import MessageVersion
from messaging.services import message_update
from messaging.tests.conftest import run_dispatch
from messaging.tests.factories import MessageFactory
from messaging.tests.test_public_page import page_url

from .conftest import REPORT_CSP_VIOLATIONS, is_csp_violation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def payload(tag: str, *, long: bool = False) -> str:
    """Markup that would run script in HTML text, in a quoted attribute and in SVG (fits 150 characters).

    ``long`` adds what matters in an unquoted attribute, a URL or a template engine, for text fields.
    """
    text = (
        f"{tag} \"'><img src=x onerror=alert('{tag}')><script>alert('{tag}')</script>"
        f"<svg onload=alert('{tag}')>"
    )
    return text + f" onfocus=alert('{tag}') autofocus javascript:alert('{tag}') {{{{7*7}}}} {{% debug %}}" if long else text


# Where a contact's values end up when the contact sends them: the User-Agent lands in the history.
CONTACT_USER_AGENT = f"Mozilla/5.0 {payload('xp-ua', long=True)}"


@pytest.fixture
def watched(browser):
    """A browser context that records dialogs, CSP violations and page errors for each page."""
    problems: list[str] = []
    contexts = []

    def new_page(**context_options):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
        context.set_default_timeout(10_000)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()

        def on_dialog(dialog):
            problems.append(f"dialog on {page.url}: {dialog.message}")
            dialog.dismiss()

        def on_console(message):
            if is_csp_violation(message.text):
                problems.append(f"CSP on {page.url}: {message.text}")

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error on {page.url}: {error}"))
        return page

    new_page.problems = problems
    yield new_page
    for context in contexts:
        context.close()


def assert_clean(page, problems: list[str]) -> None:
    """No dialog or violation so far, and no payload element in the DOM (it would be a broken wall)."""
    page.wait_for_load_state("load")
    # A JSON data block (Django's json_script) is a script element the browser never runs.
    injected = page.locator(
        'img[onerror], svg[onload], script:not([src]):not([type="application/json"]), [onfocus]'
    ).count()
    assert not problems, "\n".join(problems)
    assert injected == 0, f"{injected} payload element(s) in the DOM of {page.url}"


@pytest.fixture
def poisoned(transactional_db, settings):
    """Every text staff can type holds a payload; a dispatch went out and deferred one contact."""
    settings.EMAIL_BACKEND = "messaging.delivery.backends.outbox.OutboxEmailBackend"
    settings.PUBLIC_RATELIMIT = "100000/m"
    PreferenceSettings.objects.update_or_create(
        pk=1, defaults={"show_preferences": True, "show_segments": True,
                        "unsubscribe_text": payload("xp-setunsub", long=True),
                        "resubscribe_text": payload("xp-setresub", long=True)},
    )
    Channel.objects.filter(slug="email").update(name="Email <img src=x onerror=alert('xp-channel')>")
    category = CategoryFactory(name=payload("xp-catname"), slug="news", description=payload("xp-catdesc", long=True))
    segment = SegmentFactory(
        name=payload("xp-segname"), slug="vip", public=True,
        public_name=payload("xp-segpublic"), description=payload("xp-segdesc", long=True),
    )
    ada = ContactFactory(first_name=payload("xp-first"), last_name=payload("xp-last"), email="ada@example.org")
    paused = ContactFactory(first_name=payload("xp-paused"), last_name="Paused", email="paused@example.org")
    email = Channel.objects.get(slug="email")
    today = timezone.localdate()
    channel_pause_set(contact=paused, channel=email, pause_from=today, pause_to=today + datetime.timedelta(days=3),
                      source="staff:root")
    for contact in (ada, paused):
        segment_membership_add(contact=contact, segment=segment, source="staff:root")
    message = MessageFactory(
        channels=[], segments=[segment], name=payload("xp-msgname"),
        unsubscribe_text=payload("xp-msgunsub", long=True), resubscribe_text=payload("xp-msgresub", long=True),
    )
    MessageVersion.objects.create(
        message=message, channel=email, position=0, subject=payload("xp-subject") + " {first_name}",
        text_body=payload("xp-text", long=True) + " Hi {first_name} {unsubscribe_url}",
        html_body="<p>Hi {first_name}</p><p>{unsubscribe_text}</p>",
    )
    dispatch = run_dispatch(message, now=timezone.now())
    other = CategoryFactory(name="Offers", slug="offers")
    category_unsubscribe(contact=ada, category=other, source="staff:root")
    root = UserFactory(username="root", is_superuser=True, is_staff=True,
                       first_name=payload("xp-rootfirst"), last_name=payload("xp-rootlast"))
    editor = UserFactory(username="edith", first_name=payload("xp-edfirst"), last_name=payload("xp-edlast"))
    editor.groups.add(Group.objects.get(name="Editors"))
    # The staff history shows old and new values on each object's page: payloads on both sides.
    category_update(category=category, acting_user=root, description=f"{category.description} {payload('xp-cathist')}")
    segment_update(segment=segment, acting_user=root, description=f"{segment.description} {payload('xp-seghist')}")
    texts = PreferenceSettings.load().unsubscribe_text
    settings_update(acting_user=root, unsubscribe_text=f"{texts} {payload('xp-sethist')}")
    message_update(message=message, acting_user=root,
                   values={"unsubscribe_text": f"{message.unsubscribe_text} {payload('xp-msghist')}"})
    return {"root": root, "ada": ada, "paused": paused, "category": category, "segment": segment,
            "message": message, "dispatch": dispatch, "send": dispatch.sends.get(contact=ada)}


def contact_sends_payloads(new_page, live_server, poisoned) -> None:
    """The contact, with a payload User-Agent, sends payloads in every field the page has, then leaves."""
    page = new_page(user_agent=CONTACT_USER_AGENT)
    page.goto(live_server.url + page_url(poisoned["send"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your preferences")
    assert_clean(page, new_page.problems)
    # What a hand-made request could carry: text in the number, date and choice fields.
    for selector in ("#f-email-number", "#f-email-from", "#f-email-to"):
        page.locator(selector).evaluate("(el, value) => { el.type = 'text'; el.value = value; }", payload("xp-form", long=True))
    page.locator("#f-category-news").evaluate("(el, value) => { el.value = value; }", payload("xp-formcat"))
    page.get_by_role("button", name="Save my preferences").click()
    assert_clean(page, new_page.problems)
    page.get_by_role("button", name="Unsubscribe from all").click()
    assert_clean(page, new_page.problems)


def admin_urls(poisoned) -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    urls += [
        reverse("admin:contacts_contact_change", args=[poisoned["ada"].pk]),
        reverse("admin:contacts_category_change", args=[poisoned["category"].pk]),
        reverse("admin:contacts_segment_change", args=[poisoned["segment"].pk]),
        reverse("admin:messaging_message_change", args=[poisoned["message"].pk]),
        reverse("admin:auth_user_change", args=[poisoned["root"].pk]),
    ]
    return urls


def test_payloads_typed_by_staff_and_sent_by_contacts_never_run_for_an_admin(watched, live_server, poisoned):
    contact_sends_payloads(watched, live_server, poisoned)
    ada, message = poisoned["ada"], poisoned["message"]
    page = watched()
    problems = watched.problems
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert_clean(page, problems)
    expect(page.get_by_text("xp-first").first).to_be_visible()

    # The profile, then the Preferences modal on each of its tabs.
    page.goto(live_server.url + reverse("contacts:contact_detail", args=[ada.pk]))
    assert_clean(page, problems)
    expect(page.get_by_text("xp-ua").first).to_be_attached()
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Preferences").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert_clean(page, problems)
    for tab in ("Categories", "Segments", "Channels & frequency"):
        dialog.get_by_role("tab", name=tab).click()
        assert_clean(page, problems)
    dialog.get_by_role("tab", name="Categories").click()
    expect(dialog.get_by_text("xp-catdesc").first).to_be_visible()
    # Saving re-renders the profile through htmx (and an HX-Trigger toast).
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toasts").get_by_text("xp-first")).to_be_visible()
    assert_clean(page, problems)

    # Django messages naming what staff typed, shown as toasts after a redirect.
    page.goto(live_server.url + reverse("contacts:segment_detail", args=[poisoned["segment"].pk]))
    page.get_by_role("row", name="xp-paused").get_by_role("link", name="Remove").click()
    assert_clean(page, problems)  # the confirmation page names the contact and the segment
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("#toasts").get_by_text("xp-segname")).to_be_visible()
    assert_clean(page, problems)
    page.get_by_label("Add a contact by email address").fill("paused@example.org")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#toasts").get_by_text("xp-paused")).to_be_visible()
    assert_clean(page, problems)
    page.goto(live_server.url + reverse("contacts:category_edit", args=[poisoned["category"].pk]))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts").get_by_text("xp-catname")).to_be_visible()
    assert_clean(page, problems)

    tomorrow = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    staff_pages = [
        reverse("contacts:contact_list") + "?q=xp",
        # A link someone crafted: what it carries is reflected into the search boxes and errors.
        reverse("contacts:contact_list") + "?" + urlencode({"q": payload("xp-q1"), "sort": payload("xp-q2")}),
        reverse("messaging:outbox") + "?" + urlencode({"q": payload("xp-q3")}),
        reverse("messaging:message_preview", args=[message.pk]) + "?" + urlencode({"contact": payload("xp-q4")}),
        reverse("contacts:contact_create"),
        reverse("contacts:contact_edit", args=[ada.pk]),
        reverse("contacts:contact_history", args=[ada.pk]) + "?" + urlencode({"before": tomorrow}),
        reverse("contacts:category_list"),
        reverse("contacts:category_edit", args=[poisoned["category"].pk]),
        reverse("contacts:category_delete", args=[poisoned["category"].pk]),
        reverse("contacts:segment_list"),
        reverse("contacts:segment_detail", args=[poisoned["segment"].pk]),
        reverse("contacts:segment_edit", args=[poisoned["segment"].pk]),
        reverse("contacts:segment_delete", args=[poisoned["segment"].pk]),
        reverse("messaging:message_list"),
        reverse("messaging:message_detail", args=[message.pk]),
        reverse("messaging:message_create"),
        reverse("messaging:message_edit", args=[message.pk]),
        reverse("messaging:message_preview", args=[message.pk]) + f"?contact={ada.pk}",
        reverse("messaging:message_send", args=[message.pk]),
        reverse("messaging:dispatch_detail", args=[poisoned["dispatch"].pk]),
        reverse("messaging:deferred_queue"),
        reverse("messaging:outbox"),
        reverse("contacts:settings"),
        page_url(poisoned["send"]),
        *admin_urls(poisoned),
    ]
    for url in staff_pages:
        response = page.goto(live_server.url + url)
        assert response.status < 400, (url, response.status)
        assert_clean(page, problems)
    # Each object's staff history shows the changed values (so the walk saw them, as text).
    for url, tag in [
        (reverse("contacts:category_edit", args=[poisoned["category"].pk]), "xp-cathist"),
        (reverse("contacts:segment_detail", args=[poisoned["segment"].pk]), "xp-seghist"),
        (reverse("contacts:settings"), "xp-sethist"),
        (reverse("messaging:message_detail", args=[message.pk]), "xp-msghist"),
    ]:
        page.goto(live_server.url + url)
        expect(page.locator("#staff-history").get_by_text(tag).first).to_be_visible()
    # The report's chart and the outbox show the texts (so the walk saw them, as text).
    page.goto(live_server.url + reverse("messaging:outbox"))
    expect(page.get_by_text("xp-text").first).to_be_visible()
    page.goto(live_server.url + reverse("messaging:message_preview", args=[message.pk]) + f"?contact={ada.pk}")
    expect(page.get_by_text("xp-subject").first).to_be_visible()
    # The message detail's htmx preview swaps the same texts in without a reload.
    page.goto(live_server.url + reverse("messaging:message_detail", args=[message.pk]))
    page.get_by_label("Contact (id or email)", exact=True).fill(str(ada.pk))
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#preview-result").get_by_text("xp-subject").first).to_be_visible()
    assert_clean(page, problems)
