"""A marketer builds a dynamic segment's filter in a real browser, watches the live count, and saves it."""

import pytest
from playwright.sync_api import expect

from contacts.models import Segment
from contacts.tests.factories import CategoryFactory, ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_builds_a_filter_with_the_live_count_and_saves_it(logged_in, live_server, artifacts):
    page = logged_in
    news = CategoryFactory(name="News", slug="news")
    for number in range(3):
        ContactFactory(email=f"p{number}@acme.com")
    ContactFactory(email="someone@else.org")
    page.goto(f"{live_server.url}/segments/new/")
    page.locator("#id_name").fill("Acme readers")
    page.get_by_label("Members by filter (a dynamic segment)").check()

    # First condition, by keyboard: the field, its operator, then its value.
    field = page.get_by_label("Field of condition 1.1")
    field.focus()
    field.select_option(label="Email domain")
    expect(page.get_by_label("Operator of condition 1.1")).to_have_value("equals")
    page.get_by_label("Value of condition 1.1").fill("acme.com")
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("3 contacts match.")

    page.get_by_role("button", name="Add a condition").click()
    expect(page.get_by_label("Field of condition 1.2")).to_be_focused()
    page.keyboard.press("Tab")  # to the operator: the value widget follows the field's type
    page.get_by_label("Field of condition 1.2").select_option(label="Subscribed Categories")
    expect(page.get_by_label("Value of condition 1.2")).to_have_value(str(news.pk))
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("3 contacts match.")

    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field of condition 1.3").select_option(label="Created")
    page.get_by_label("Operator of condition 1.3").select_option(label="is before")
    page.get_by_label("Value of condition 1.3").fill("2000-01-01")
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("0 contacts match.")
    page.get_by_role("button", name="Remove condition 1.3").click()
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("3 contacts match.")

    page.screenshot(path=str(artifacts / "segment_filter_builder.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Segment Acme readers created.")).to_be_visible()
    segment = Segment.objects.get(name="Acme readers")
    assert segment.filter == {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "email_domain", "op": "equals", "value": "acme.com"},
        {"field": "category", "op": "receives", "value": news.pk},
    ]}]}


def test_marketer_picks_message_activity_conditions(logged_in, live_server):
    from messaging.tests.factories import MessageFactory, now_utc, past_send

    page = logged_in
    recent = ContactFactory(email="recent@acme.com")
    past_send(recent, "email", now_utc())
    ContactFactory(email="quiet@acme.com")
    sale = MessageFactory(name="Spring sale", channels=["email"])
    page.goto(f"{live_server.url}/segments/new/")
    page.locator("#id_name").fill("Heard from us")
    page.get_by_label("Members by filter (a dynamic segment)").check()

    page.get_by_label("Field of condition 1.1").select_option(label="Message activity")
    # The message picker offers the messages by name (recent@ was sent another one).
    page.get_by_label("Value of condition 1.1").select_option(label="Spring sale")
    expect(page.get_by_label("Value of condition 1.1")).to_have_value(str(sale.pk))
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("0 contacts match.")
    page.get_by_label("Operator of condition 1.1").select_option(label="was sent any message in the last (days)")
    expect(page.get_by_label("Value of condition 1.1")).to_have_value("30")
    page.get_by_label("Value of condition 1.1").fill("7")
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("1 contact matches.")
    page.get_by_label("Value of condition 1.1").fill("0")
    expect(page.get_by_role("status")).to_contain_text("the number of days is a whole number")
    page.get_by_label("Value of condition 1.1").fill("7")
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field of condition 1.2").select_option(label="Message activity")
    page.get_by_label("Operator of condition 1.2").select_option(label="has a deferred send of any message")
    expect(page.get_by_label("Value of condition 1.2")).to_have_count(0)
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field of condition 1.3").select_option(label="Message activity")
    page.get_by_label("Operator of condition 1.3").select_option(label="was ever deferred for the message")
    page.get_by_label("Value of condition 1.3").select_option(label="Spring sale")
    page.get_by_label("Conditions to meet in group 1").select_option("or")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Segment Heard from us created.")).to_be_visible()
    segment = Segment.objects.get(name="Heard from us")
    page.goto(f"{live_server.url}/segments/{segment.pk}/")
    words = ("Was sent a message in the last 7 days or Has a deferred send of any message"
             " or Was ever deferred for “Spring sale”")
    expect(page.get_by_text(words)).to_be_visible()
    assert segment.filter == {"join": "and", "groups": [{"join": "or", "conditions": [
        {"field": "activity", "op": "sent_in_last", "value": 7},
        {"field": "activity", "op": "deferred_any"},
        {"field": "activity", "op": "was_deferred_message", "value": sale.pk},
    ]}]}
