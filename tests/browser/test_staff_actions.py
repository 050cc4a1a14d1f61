"""What marketers reach for next, in a real browser: a test send reaching a real SMTP server, a
schedule made then cancelled, a bulk add confirmed with its count, a contact deleted."""

import pytest
from playwright.sync_api import expect

from contacts.models import Contact, SegmentMembership, StaffChange
from contacts.tests.factories import ContactFactory, SegmentFactory
from messaging.models import ScheduledDispatch, Send
from messaging.tests.factories import MessageFactory
from messaging.tests.test_delivery import smtp_server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page, artifacts, name: str) -> None:
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def message(transactional_db):
    segment = SegmentFactory(name="Everyone")
    for _ in range(2):
        SegmentMembership.objects.create(contact=ContactFactory(), segment=segment, source="import")
    return MessageFactory(name="Spring sale", channels=["email", "sms"], segments=[segment])


def test_a_marketer_sends_a_test_to_a_colleague(logged_in, live_server, message, smtp_server, artifacts):  # noqa: F811
    page = logged_in
    page.goto(f"{live_server.url}{message.get_absolute_url()}")
    page.get_by_role("link", name="Test send…").click()
    page.get_by_label("Send a test to").fill("colleague@example.org")
    page.get_by_role("button", name="Send the test").click()
    expect(page.locator("#test-send-report")).to_contain_text("colleague@example.org")
    assert [rcpt for rcpt, _content in smtp_server.received] == [["colleague@example.org"]]
    assert b"[TEST]" in smtp_server.received[0][1] and not Send.objects.exists()
    shoot(page, artifacts, "staff-test-send")

    page.get_by_label("Send a test to").fill("not an address")
    page.get_by_role("button", name="Send the test").click()
    expect(page.get_by_text("is neither an email address nor a phone number")).to_be_visible()
    assert len(smtp_server.received) == 1


def test_a_marketer_schedules_a_sending_then_cancels_it(logged_in, live_server, message, artifacts):
    page = logged_in
    page.goto(f"{live_server.url}{message.get_absolute_url()}")
    page.get_by_role("link", name="Schedule…").click()
    page.locator("#id_date").fill("2099-06-01")
    page.locator("#id_time").fill("09:30")
    page.locator("#id_time_zone").select_option("Europe/Paris")
    page.get_by_role("button", name="Schedule sending").click()
    row = page.locator("#schedules tbody tr")
    expect(row).to_contain_text("2099-06-01 09:30")
    expect(row).to_contain_text("Scheduled")
    shoot(page, artifacts, "staff-schedule")

    row.get_by_role("button", name="Cancel sending").click()
    expect(page.locator("#schedules tbody tr")).to_contain_text("Cancelled")
    assert ScheduledDispatch.objects.get().status == "cancelled"
    assert StaffChange.objects.filter(subject_type="message", subject_id=message.pk).count() == 2


def test_a_marketer_adds_the_filtered_list_to_a_segment_after_seeing_the_count(logged_in, live_server, artifacts):
    page = logged_in
    for _ in range(3):
        ContactFactory(last_name="Smith")
    ContactFactory(last_name="Jones")
    vip = SegmentFactory(name="VIP")
    page.goto(f"{live_server.url}/")
    page.get_by_role("searchbox", name="Search").fill("smith")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Act on these contacts…").click()
    page.get_by_label("Action").select_option("segment_add")
    page.get_by_label("Segment").select_option(label="VIP")
    page.get_by_role("button", name="Count the contacts it changes").click()
    expect(page.locator("#bulk-confirmation")).to_contain_text("3 contacts match; 3 will change.")
    assert not vip.memberships.exists()
    shoot(page, artifacts, "staff-bulk-confirm")

    page.get_by_role("button", name="Change 3 contacts").click()
    expect(page.locator("#bulk-status")).to_contain_text("Done: 3 contacts processed.")
    assert vip.memberships.filter(removed=False).count() == 3


def test_a_marketer_deletes_a_contact_after_confirming(logged_in, live_server, artifacts):
    page = logged_in
    contact = ContactFactory(first_name="Zoé", last_name="Quintard")
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Delete…").click()
    expect(page.locator("#erasure-counts")).to_contain_text("0 sends")
    shoot(page, artifacts, "staff-contact-delete")
    page.get_by_label("I understand this erases the contact").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text(f"Contact {contact.pk} deleted.")).to_be_visible()
    assert not Contact.objects.filter(pk=contact.pk).exists()
