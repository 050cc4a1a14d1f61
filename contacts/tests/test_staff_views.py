"""The staff UI pages: who may see and change what, and what each page shows."""

import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import (
    Category,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceChange,
    PreferenceSettings,
    Segment,
    SegmentMembership,
)
from contacts.services import (
    Source,
    category_unsubscribe,
    channel_frequency_set,
    channel_pause_set,
    channel_unsubscribe,
    contact_preferred_channel_set,
    segment_membership_add,
    segment_membership_remove,
)

from .factories import CategoryFactory, ContactFactory, ContactFieldFactory, SegmentFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def staff_user(group: str | None, username: str):
    user = UserFactory(username=username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor(db):
    return staff_user("Editors", "edith")


@pytest.fixture
def viewer(db):
    return staff_user("Viewers", "victor")


@pytest.fixture
def editor_client(editor):
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def pages(contact, category, segment):
    """Every staff page, by name, with its URL."""
    return {
        "contact_list": reverse("contacts:contact_list"),
        "contact_detail": reverse("contacts:contact_detail", args=[contact.pk]),
        "contact_preferences": reverse("contacts:contact_preferences", args=[contact.pk]),
        "category_list": reverse("contacts:category_list"),
        "segment_list": reverse("contacts:segment_list"),
        "segment_detail": reverse("contacts:segment_detail", args=[segment.pk]),
        "settings": reverse("contacts:settings"),
    }


def editor_only_pages(contact, category, segment):
    return [
        reverse("contacts:contact_create"),
        reverse("contacts:contact_edit", args=[contact.pk]),
        reverse("contacts:category_create"),
        reverse("contacts:category_edit", args=[category.pk]),
        reverse("contacts:category_delete", args=[category.pk]),
        reverse("contacts:segment_create"),
        reverse("contacts:segment_edit", args=[segment.pk]),
        reverse("contacts:segment_delete", args=[segment.pk]),
    ]


# --- Shell and permissions ---------------------------------------------------------------------


def test_groups_editors_and_viewers_exist_with_their_permissions(db):
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    viewers = set(Group.objects.get(name="Viewers").permissions.values_list("codename", flat=True))
    assert {"view_contact", "change_contact", "add_category", "delete_segment", "change_preferencesettings"} <= editors
    assert "view_contact" in viewers and "view_preferencechange" in viewers
    assert not any(codename.split("_")[0] in {"add", "change", "delete"} for codename in viewers)


def test_anonymous_visitor_is_sent_to_login_from_every_page(client, pages, contact, category, segment):
    for url in [*pages.values(), *editor_only_pages(contact, category, segment)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("contacts:login") + "?next="), url


def test_anonymous_htmx_request_redirects_the_whole_page_to_login(client, contact):
    response = client.get(reverse("contacts:contact_preferences", args=[contact.pk]), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("contacts:login"))


def test_login_page_logs_in_and_lands_on_the_contacts_list(client, editor):
    response = client.get(reverse("contacts:login"))
    assert b'name="csrfmiddlewaretoken"' in response.content
    response = client.post(reverse("contacts:login"), {"username": "edith", "password": "password"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Contacts" in response.content and b"edith" in response.content


def test_wrong_password_shows_an_error_and_stays_logged_out(client, editor):
    response = client.post(reverse("contacts:login"), {"username": "edith", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_returns_to_login(editor_client):
    response = editor_client.post(reverse("contacts:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("contacts:login")
    assert editor_client.get("/").status_code == 302


def test_viewer_sees_every_read_page(viewer_client, pages):
    for name, url in pages.items():
        assert viewer_client.get(url).status_code == 200, name


def test_viewer_gets_403_on_every_editing_page(viewer_client, contact, category, segment):
    for url in editor_only_pages(contact, category, segment):
        response = viewer_client.get(url)
        assert response.status_code == 403, url
        assert b"Not allowed" in response.content


def test_viewer_forged_posts_are_refused_and_change_nothing(viewer_client, contact, category, segment, email):
    segment_membership_add(contact=contact, segment=segment, source="system")
    posts = {
        reverse("contacts:contact_preferences", args=[contact.pk]): {"email_cap_number": "2", "email_cap_unit": "day"},
        reverse("contacts:contact_dnc_clear", args=[contact.pk, "email"]): {},
        reverse("contacts:contact_edit", args=[contact.pk]): {"first_name": "Forged"},
        reverse("contacts:contact_create"): {"first_name": "Forged"},
        reverse("contacts:category_create"): {"name": "Forged"},
        reverse("contacts:category_edit", args=[category.pk]): {"name": "Forged"},
        reverse("contacts:category_delete", args=[category.pk]): {},
        reverse("contacts:segment_create"): {"name": "Forged"},
        reverse("contacts:segment_edit", args=[segment.pk]): {"name": "Forged"},
        reverse("contacts:segment_delete", args=[segment.pk]): {},
        reverse("contacts:segment_member_add", args=[segment.pk]): {"email": contact.email},
        reverse("contacts:segment_member_remove", args=[segment.pk, contact.pk]): {},
        reverse("contacts:settings"): {"show_preferences": ""},
    }
    history_before = PreferenceChange.objects.count()
    for url, data in posts.items():
        assert viewer_client.post(url, data).status_code == 403, url
        assert viewer_client.post(url, data, **HTMX).status_code == 403, url
    contact.refresh_from_db()
    assert contact.first_name != "Forged"
    assert not ChannelPreference.objects.exists()
    assert Category.objects.filter(pk=category.pk).exists() and Segment.objects.filter(pk=segment.pk).exists()
    assert not Category.objects.filter(name="Forged").exists()
    assert SegmentMembership.objects.get(contact=contact, segment=segment).removed is False
    assert PreferenceSettings.load().show_preferences is True
    assert PreferenceChange.objects.count() == history_before


def test_viewer_sees_no_editing_controls(viewer_client, contact, category, segment):
    detail = viewer_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert 'id="action-edit"' not in detail
    assert "(view only)" in detail
    modal = viewer_client.get(reverse("contacts:contact_preferences", args=[contact.pk]), **HTMX).content.decode()
    assert 'id="preferences-save"' not in modal
    assert "disabled>" in modal.split('class="tab-content')[1].split("\n")[0]
    for url, marker in [
        (reverse("contacts:contact_list"), "New contact"),
        (reverse("contacts:category_list"), "New category"),
        (reverse("contacts:segment_list"), "New segment"),
        (reverse("contacts:segment_detail", args=[segment.pk]), "Add a contact by email"),
        (reverse("contacts:settings"), "Save settings"),
    ]:
        assert marker not in viewer_client.get(url).content.decode(), url


def test_logged_in_user_without_a_group_gets_403(client, contact):
    client.force_login(staff_user(None, "nobody"))
    response = client.get(reverse("contacts:contact_list"))
    assert response.status_code == 403
    assert b"Editors or Viewers" in response.content


def test_unknown_contact_gets_the_styled_404_page(editor_client):
    response = editor_client.get(reverse("contacts:contact_detail", args=[999999]))
    assert response.status_code == 404
    assert b"Page not found" in response.content and b"bootstrap.min.css" in response.content


def test_500_page_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "bootstrap.min.css" in html


def test_forms_refuse_a_post_without_csrf_token(editor, contact):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    url = reverse("contacts:contact_preferences", args=[contact.pk])
    assert client.post(url, {"email_cap_number": "2", "email_cap_unit": "day"}, **HTMX).status_code == 403
    assert not ChannelPreference.objects.exists()


def test_pages_load_assets_from_the_site_only(editor_client):
    html = editor_client.get("/").content.decode()
    assert "bootstrap/css/bootstrap.min.css" in html
    assert "bootstrap/js/bootstrap.bundle.min.js" in html
    assert "django_htmx/htmx-2.min.js" in html
    assert "https://" not in html and "http://" not in html and "<script>" not in html


def test_messages_show_as_toasts(editor_client, contact):
    response = editor_client.post(
        reverse("contacts:contact_edit", args=[contact.pk]),
        {"first_name": "Ada", "last_name": "L", "email": contact.email, "phone": "", "locale": "en",
         "time_zone": "UTC"},
        follow=True,
    )
    assert 'class="toast' in response.content.decode() and "Contact details saved." in response.content.decode()


# --- Contacts list -------------------------------------------------------------------------------


def listed(response) -> list[str]:
    return [contact.email for contact in response.context["page"].rows]


def test_search_matches_name_email_and_phone(editor_client, db):
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@example.org", phone="+441234567890")
    ContactFactory(first_name="Alan", last_name="Turing", email="alan@example.org", phone="+449876543210")
    for query in ["lovelace", "ADA@example", "4412345", "ada love"]:
        assert listed(editor_client.get("/", {"q": query})) == [ada.email], query


def test_filters_by_segment_and_category_subscription(editor_client, segment, category):
    member, unsubscribed, other = ContactFactory(), ContactFactory(), ContactFactory()
    segment_membership_add(contact=member, segment=segment, source="system")
    category_unsubscribe(contact=unsubscribed, category=category, source="system")
    assert listed(editor_client.get("/", {"segment": segment.slug})) == [member.email]
    receives = listed(editor_client.get("/", {"category": category.slug}))
    assert set(receives) == {member.email, other.email}
    assert listed(editor_client.get("/", {"category": category.slug, "category_status": "unsubscribed"})) == [
        unsubscribed.email
    ]


def test_opt_in_category_filter_lists_explicit_subscribers_only(editor_client):
    from contacts.services import category_subscribe

    category = CategoryFactory(opt_in=True)
    subscriber, _silent = ContactFactory(), ContactFactory()
    category_subscribe(contact=subscriber, category=category, source="system")
    assert listed(editor_client.get("/", {"category": category.slug})) == [subscriber.email]


def test_filters_by_do_not_contact_channel_and_reason(editor_client, email, sms):
    bounced, unsubscribed, clean = ContactFactory(), ContactFactory(), ContactFactory()
    channel_unsubscribe(contact=bounced, channel=email, source="bounce", reason="bounced")
    channel_unsubscribe(contact=unsubscribed, channel=sms, source="public_page")
    assert listed(editor_client.get("/", {"dnc_channel": "email", "dnc_reason": "bounced"})) == [bounced.email]
    assert listed(editor_client.get("/", {"dnc_channel": "email"})) == [bounced.email]
    assert set(listed(editor_client.get("/", {"dnc_reason": "any"}))) == {bounced.email, unsubscribed.email}
    assert listed(editor_client.get("/", {"dnc_reason": "none"})) == [clean.email]
    assert listed(editor_client.get("/", {"dnc_channel": "sms", "dnc_reason": "unsubscribed"})) == [unsubscribed.email]


def test_paused_now_uses_each_contacts_time_zone(editor_client, email):
    now = timezone.now()
    kiritimati_today = now.astimezone(datetime.timezone(datetime.timedelta(hours=14))).date()
    honolulu_today = now.astimezone(datetime.timezone(datetime.timedelta(hours=-10))).date()
    ahead = ContactFactory(time_zone="Pacific/Kiritimati")
    behind = ContactFactory(time_zone="Pacific/Honolulu")
    capped = ContactFactory()
    # Both pauses are a single day: "today" for the Kiritimati contact; only that one is paused now
    # whenever the two local dates differ, and both are when they are the same day.
    channel_pause_set(contact=ahead, channel=email, pause_from=kiritimati_today, pause_to=kiritimati_today, source="system")
    far = honolulu_today + datetime.timedelta(days=10)
    channel_pause_set(contact=behind, channel=email, pause_from=far, pause_to=far, source="system")
    channel_frequency_set(contact=capped, channel=email, number=2, unit="day", source="system")
    assert listed(editor_client.get("/", {"paused": "on"})) == [ahead.email]
    assert listed(editor_client.get("/", {"has_cap": "on"})) == [capped.email]


def test_columns_sort_both_ways(editor_client):
    ContactFactory(email="b@example.org"), ContactFactory(email="a@example.org"), ContactFactory(email="c@example.org")
    assert listed(editor_client.get("/", {"sort": "email"})) == ["a@example.org", "b@example.org", "c@example.org"]
    response = editor_client.get("/", {"sort": "-email"})
    assert listed(response) == ["c@example.org", "b@example.org", "a@example.org"]
    assert 'aria-sort="descending"' in response.content.decode()


def test_pagination_moves_page_by_page_and_keeps_filters(editor_client):
    contacts = [ContactFactory(last_name=f"Zed{index:02}") for index in range(30)]
    first = editor_client.get("/", {"q": "zed"})
    html = first.content.decode()
    assert len(first.context["page"].rows) == 25 and first.context["page"].has_next
    assert "q=zed&amp;page=2" in html
    second = editor_client.get("/", {"q": "zed", "page": 2})
    assert [c.email for c in second.context["page"].rows] == [c.email for c in contacts[25:]]
    assert not second.context["page"].has_next
    assert "Contacts 26–30 of 30" in " ".join(second.content.decode().split())


def test_unfiltered_list_shows_the_planner_estimate_when_the_table_is_large(editor_client, monkeypatch):
    ContactFactory()
    monkeypatch.setattr("contacts.selectors.staff.ESTIMATE_ABOVE", 0)
    with_estimate = editor_client.get("/").content.decode()
    assert "of about" in with_estimate


def test_a_broad_filter_counts_no_further_than_the_cap(editor_client, monkeypatch):
    monkeypatch.setattr("contacts.selectors.staff.COUNT_CAP", 3)
    for _ in range(30):
        ContactFactory()
    assert "of more than 3 matching" in editor_client.get("/", {"dnc_reason": "none"}).content.decode()


def test_rows_show_do_not_contact_badges(editor_client, email):
    contact = ContactFactory()
    channel_unsubscribe(contact=contact, channel=email, source="complaint", reason="complaint")
    assert "Email: Spam complaint" in editor_client.get("/").content.decode()


def test_contact_list_query_count_does_not_grow_with_rows(editor_client, email, sms, django_assert_max_num_queries):
    for index in range(30):
        contact = ContactFactory()
        channel_unsubscribe(contact=contact, channel=email if index % 2 else sms, source="system")
        channel_frequency_set(contact=contact, channel=sms, number=1, unit="week", source="system")
        contact_preferred_channel_set(contact=contact, channel=email if index % 2 == 0 else None, source="system")
    # session, user, permissions (2), filter choices (channels, segments, categories), the custom
    # field definitions, count or estimate, the page, its do-not-contact entries, its channel preferences
    with django_assert_max_num_queries(13):
        response = editor_client.get("/", {"q": "example", "dnc_reason": "any"})
    assert len(response.context["page"].rows) == 25


# --- Contact profile -------------------------------------------------------------------------


def test_profile_cards_show_each_channels_status(editor_client, contact, email, sms, editor):
    staff = Source.staff(editor)
    channel_frequency_set(contact=contact, channel=email, number=2, unit="day", source=staff)
    today = timezone.localdate()
    end = today + datetime.timedelta(days=10)
    channel_pause_set(
        contact=contact, channel=email, pause_from=today - datetime.timedelta(days=1), pause_to=end, source=staff
    )
    paused_until = f"Paused until {end.day} {end:%b}" + (f" {end.year}" if end.year != today.year else "")
    contact_preferred_channel_set(contact=contact, channel=email, source=staff)
    channel_unsubscribe(contact=contact, channel=sms, source="bounce", reason="bounced")
    html = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    email_card = html.split('id="channel-card-email"')[1].split("</section>")[0]
    sms_card = html.split('id="channel-card-sms"')[1].split("</section>")[0]
    assert "Contactable" in email_card and "At most 2 per day" in email_card
    assert "Preferred" in email_card and paused_until in email_card
    assert f"Do not contact: Bounced, since {today:%-d %b %Y}" in sms_card


def test_profile_card_shows_the_channel_default_cap(editor_client, contact, email):
    Channel.objects.filter(pk=email.pk).update(default_cap_number=5, default_cap_unit="week")
    html = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert "At most 5 per week (channel default)" in html


def test_profile_lists_categories_and_segments(editor_client, contact, category, segment):
    category_unsubscribe(contact=contact, category=category, source="public_page")
    other = SegmentFactory(name="Left")
    segment_membership_add(contact=contact, segment=segment, source="system")
    segment_membership_add(contact=contact, segment=other, source="system")
    segment_membership_remove(contact=contact, segment=other, source="public_page")
    html = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    categories = html.split('id="categories-card"')[1].split("</section>")[0]
    segments = html.split('id="segments-card"')[1].split("</section>")[0]
    assert category.name in categories and "Unsubscribed" in categories
    assert segment.name in segments and "Member" in segments
    assert "Left" in segments and "Removed" in segments


def test_timeline_shows_who_changed_what_from_what_to_what_and_where(editor_client, contact, email):
    channel_unsubscribe(
        contact=contact, channel=email, source=Source("public_page", ip="203.0.113.9", user_agent="Firefox/140", send_id=42)
    )
    html = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    timeline = html.split('id="timeline"')[1]
    assert "Email: do not contact" in timeline
    assert "contactable" in timeline and "do not contact (Unsubscribed)" in timeline
    assert "the contact, on the preference page" in timeline
    assert "through send #42" in timeline and "from 203.0.113.9" in timeline and "Firefox/140" in timeline


def test_timeline_loads_older_changes_on_demand(editor_client, contact, email):
    from contacts.timeline import TIMELINE_PAGE

    for number in range(1, TIMELINE_PAGE + 6):
        channel_frequency_set(contact=contact, channel=email, number=number, unit="day", source="system")
    html = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert html.count('class="list-group-item timeline-entry"') == TIMELINE_PAGE
    assert "Show older" in html
    oldest_shown = PreferenceChange.objects.filter(contact=contact).order_by("-created_at", "-id")[TIMELINE_PAGE - 1]
    older = editor_client.get(
        reverse("contacts:contact_history", args=[contact.pk]), {"before": oldest_shown.created_at.isoformat()}, **HTMX
    ).content.decode()
    assert older.count('class="list-group-item timeline-entry"') == 5
    assert "no cap of its own" in older and "Show older" not in older


def test_a_timeline_page_never_splits_one_instant(contact, email):
    from unittest import mock

    from contacts.timeline import contact_timeline

    instant = timezone.now() - datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.now", return_value=instant):
        for number in range(1, 5):  # four changes recorded in the same instant
            channel_frequency_set(contact=contact, channel=email, number=number, unit="day", source="import")
    for number in range(5, 8):
        channel_frequency_set(contact=contact, channel=email, number=number, unit="day", source="system")

    first = contact_timeline(contact=contact, limit=4)
    rest = contact_timeline(contact=contact, before=first.next_before, limit=10)

    assert [item.row.new_value["number"] for item in first.items + rest.items] == [7, 6, 5, 4, 3, 2, 1]
    assert not rest.has_more


def test_profile_partial_is_what_htmx_refreshes(editor_client, contact):
    response = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk]), {"partial": "profile"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="profile"') and "<html" not in html
    assert 'hx-trigger="profileChanged from:body"' in html


def test_profile_query_count_does_not_grow_with_history(editor_client, contact, email, sms, django_assert_max_num_queries):
    for index in range(20):
        CategoryFactory()
        segment = SegmentFactory()
        segment_membership_add(contact=contact, segment=segment, source="system")
        channel_frequency_set(contact=contact, channel=email, number=index + 1, unit="day", source="system")
    channel_unsubscribe(contact=contact, channel=sms, source="system")
    # session, user, permissions (2), contact, channels, DNC reasons, preferences, segments,
    # categories, DNC rows, and one per timeline source (history, sends)
    with django_assert_max_num_queries(13):
        response = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk]))
    assert response.status_code == 200


# --- Contact edit and create -----------------------------------------------------------------


def contact_form_data(**overrides):
    return {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.org", "phone": "+15551234567",
            "locale": "en", "time_zone": "America/New_York", **overrides}


def test_editor_edits_contact_details(editor_client, contact):
    response = editor_client.post(reverse("contacts:contact_edit", args=[contact.pk]), contact_form_data())
    assert response.status_code == 302 and response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])
    contact.refresh_from_db()
    assert (contact.first_name, contact.email, contact.time_zone) == ("Grace", "grace@example.org", "America/New_York")


def test_edit_shows_errors_next_to_fields(editor_client, contact):
    other = ContactFactory(email="taken@example.org")
    response = editor_client.post(
        reverse("contacts:contact_edit", args=[contact.pk]), contact_form_data(email="TAKEN@example.org", phone="0612")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Another contact already has this email address." in html
    assert "international format" in html
    contact.refresh_from_db()
    assert contact.email != other.email


def test_removing_the_address_of_the_preferred_channel_drops_the_preference(editor_client, contact, email, editor):
    contact_preferred_channel_set(contact=contact, channel=email, source="system")
    editor_client.post(reverse("contacts:contact_edit", args=[contact.pk]), contact_form_data(email=""))
    assert not ChannelPreference.objects.filter(contact=contact, preferred=True).exists()
    assert PreferenceChange.objects.filter(contact=contact, kind="preferred_channel", source="staff:edith").exists()


def test_editor_creates_a_contact(editor_client):
    response = editor_client.post(reverse("contacts:contact_create"), contact_form_data())
    created = Contact.objects.get(email="grace@example.org")
    assert response["Location"] == reverse("contacts:contact_detail", args=[created.pk])


# --- Categories --------------------------------------------------------------------------------


def test_category_list_shows_subscriber_counts(editor_client, category):
    for contact in [ContactFactory(), ContactFactory()]:
        category_unsubscribe(contact=contact, category=category, source="system")
    response = editor_client.get(reverse("contacts:category_list"))
    row = response.content.decode().split(f'id="category-{category.slug}"')[1].split("</tr>")[0]
    assert category.name in row and '<td class="text-end" data-left>2</td>' in row


def test_editor_creates_a_category_with_a_slug_from_its_name(editor_client):
    response = editor_client.post(
        reverse("contacts:category_create"), {"name": "Product News", "description": "", "public": "on"}
    )
    assert response.status_code == 302
    category = Category.objects.get(name="Product News")
    assert category.slug == "product-news" and category.public and not category.opt_in


def test_category_slug_must_be_unique(editor_client, category):
    response = editor_client.post(reverse("contacts:category_create"), {"name": "Other", "slug": category.slug})
    assert response.status_code == 200 and "already exists" in response.content.decode()


def test_editor_edits_a_category(editor_client, category):
    editor_client.post(
        reverse("contacts:category_edit", args=[category.pk]),
        {"name": "Renamed", "slug": category.slug, "description": "d", "opt_in": "on"},
    )
    category.refresh_from_db()
    assert category.name == "Renamed" and category.opt_in and not category.public


def test_category_delete_asks_for_confirmation_then_deletes(editor_client, category):
    url = reverse("contacts:category_delete", args=[category.pk])
    page = editor_client.get(url).content.decode()
    assert f"Delete {category.name}?" in page and "0 contacts made a choice" in page
    assert Category.objects.filter(pk=category.pk).exists()
    response = editor_client.post(url, follow=True)
    assert not Category.objects.filter(pk=category.pk).exists()
    assert f"Category {category.name} deleted." in response.content.decode()


def test_category_delete_page_counts_the_choices_that_go_with_it(editor_client, category):
    category_unsubscribe(contact=ContactFactory(), category=category, source="system")
    page = editor_client.get(reverse("contacts:category_delete", args=[category.pk])).content.decode()
    assert "1 contact made a choice about this category" in page


# --- Segments --------------------------------------------------------------------------------


def test_segment_list_shows_member_counts(editor_client, segment):
    members = [ContactFactory() for _ in range(3)]
    for contact in members:
        segment_membership_add(contact=contact, segment=segment, source="system")
    segment_membership_remove(contact=members[0], segment=segment, source="system")
    row = editor_client.get(reverse("contacts:segment_list")).content.decode().split(f'id="segment-{segment.slug}"')[1]
    row = row.split("</tr>")[0]
    assert '<td class="text-end">2</td>' in row and '<td class="text-end">1</td>' in row


def test_segment_page_lists_current_members_only(editor_client, segment):
    stays, leaves = ContactFactory(), ContactFactory()
    for contact in (stays, leaves):
        segment_membership_add(contact=contact, segment=segment, source="system")
    segment_membership_remove(contact=leaves, segment=segment, source="public_page")
    response = editor_client.get(reverse("contacts:segment_detail", args=[segment.pk]))
    assert [c.pk for c in response.context["page"].rows] == [stays.pk]
    assert "1 member" in response.content.decode()


def test_editor_adds_and_removes_a_segment_member_with_history(editor_client, segment):
    contact = ContactFactory(email="Member@Example.org")
    editor_client.post(reverse("contacts:segment_member_add", args=[segment.pk]), {"email": "member@example.org"})
    assert SegmentMembership.objects.get(contact=contact, segment=segment).removed is False
    editor_client.post(reverse("contacts:segment_member_remove", args=[segment.pk, contact.pk]))  # the confirmed POST
    assert SegmentMembership.objects.get(contact=contact, segment=segment).removed is True
    sources = list(PreferenceChange.objects.filter(contact=contact, kind="segment").values_list("new_value", "source"))
    assert sorted(sources) == [("member", "staff:edith"), ("removed", "staff:edith")]


def test_adding_an_unknown_email_to_a_segment_says_so(editor_client, segment):
    response = editor_client.post(
        reverse("contacts:segment_member_add", args=[segment.pk]), {"email": "ghost@example.org"}
    )
    assert response.status_code == 400 and "No contact has this email address." in response.content.decode()
    assert not SegmentMembership.objects.exists()


def test_editor_creates_edits_and_deletes_a_segment(editor_client):
    editor_client.post(reverse("contacts:segment_create"), {"name": "VIP", "public_name": "Our best friends"})
    segment = Segment.objects.get(slug="vip")
    editor_client.post(reverse("contacts:segment_edit", args=[segment.pk]), {"name": "VIP", "slug": "vip", "public": "on"})
    segment.refresh_from_db()
    assert segment.public and segment.public_name == ""
    assert "The segment has 0 members" in editor_client.get(reverse("contacts:segment_delete", args=[segment.pk])).content.decode()
    editor_client.post(reverse("contacts:segment_delete", args=[segment.pk]))
    assert not Segment.objects.filter(slug="vip").exists()


# --- Settings ----------------------------------------------------------------------------------


def settings_data(**overrides):
    data = {
        "caps-TOTAL_FORMS": "2", "caps-INITIAL_FORMS": "2",
        "caps-0-id": str(Channel.objects.get(slug="email").pk), "caps-0-default_cap_number": "3",
        "caps-0-default_cap_unit": "week",
        "caps-1-id": str(Channel.objects.get(slug="sms").pk), "caps-1-default_cap_number": "",
        "caps-1-default_cap_unit": "",
        "show_preferences": "on", "show_frequency": "on", "show_categories": "on",
        "unsubscribe_text": "", "resubscribe_text": "",
    }
    data.update(overrides)
    return data


def test_settings_save_default_caps_and_page_switches(editor_client, email, sms):
    response = editor_client.post(reverse("contacts:settings"), settings_data())
    assert response.status_code == 302
    email.refresh_from_db(), sms.refresh_from_db()
    assert email.default_cap == (3, "week") and sms.default_cap is None
    settings = PreferenceSettings.load()
    assert settings.show_preferences and settings.show_frequency and not settings.show_pause
    assert not settings.show_segments


def test_settings_cap_number_needs_a_unit(editor_client, email):
    response = editor_client.post(reverse("contacts:settings"), settings_data(**{"caps-0-default_cap_unit": ""}))
    assert response.status_code == 200
    assert "Choose day, week or month." in response.content.decode()
    email.refresh_from_db()
    assert email.default_cap is None


# --- Preferences modal: the view's side ------------------------------------------------------


def test_modal_opens_as_a_partial_with_three_tabs(editor_client, contact):
    html = editor_client.get(reverse("contacts:contact_preferences", args=[contact.pk]), **HTMX).content.decode()
    assert "<html" not in html and 'id="staff-modal-title"' in html
    for tab in ('id="tab-channels"', 'id="tab-categories"', 'id="tab-segments"', "Channels & frequency"):
        assert tab in html


def test_modal_is_prefilled_with_current_preferences(editor_client, contact, email, category):
    channel_frequency_set(contact=contact, channel=email, number=3, unit="week", source="system")
    category_unsubscribe(contact=contact, category=category, source="system")
    html = editor_client.get(reverse("contacts:contact_preferences", args=[contact.pk]), **HTMX).content.decode()
    assert 'name="email_cap_number" value="3"' in html
    assert '<option value="week" selected>' in html
    assert 'name="sms_subscribed"' in html and "checked" in html.split('name="sms_subscribed"')[1].split(">")[0]
    assert "checked" not in html.split(f'name="category_{category.slug}"')[1].split(">")[0]


def test_valid_save_returns_events_that_close_the_modal_and_refresh_the_profile(editor_client, contact, email):
    response = editor_client.post(
        reverse("contacts:contact_preferences", args=[contact.pk]),
        {"email_subscribed": "on", "sms_subscribed": "on", "email_cap_number": "2", "email_cap_unit": "day"},
        **HTMX,
    )
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert {"profileChanged", "modalClose", "staffMessage"} <= events.keys()
    assert ChannelPreference.objects.get(contact=contact, channel=email).cap == (2, "day")
    change = PreferenceChange.objects.get(contact=contact)
    assert (change.kind, change.source, change.new_value) == ("frequency", "staff:edith", {"number": 2, "unit": "day"})


def test_save_without_javascript_redirects_to_the_profile(editor_client, contact, sms):
    response = editor_client.post(reverse("contacts:contact_preferences", args=[contact.pk]), {"email_subscribed": "on"})
    assert response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])
    assert DoNotContact.objects.get(contact=contact, channel=sms).reason == "manual"


def test_bounced_channel_cannot_be_reticked_but_staff_can_clear_it(editor_client, contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="bounce", reason="bounced")
    url = reverse("contacts:contact_preferences", args=[contact.pk])
    html = editor_client.get(url, **HTMX).content.decode()
    assert "Messages to this address bounced" in html and "Clear the bounce" in html
    box = html.split('name="email_subscribed"')[1].split(">")[0]
    assert "disabled" in box
    # A forged tick on the disabled box changes nothing.
    editor_client.post(url, {"email_subscribed": "on", "sms_subscribed": "on"}, **HTMX)
    assert DoNotContact.objects.get(contact=contact, channel=email).reason == "bounced"
    response = editor_client.post(reverse("contacts:contact_dnc_clear", args=[contact.pk, "email"]), **HTMX)
    assert "profileChanged" in json.loads(response["HX-Trigger"])
    assert not DoNotContact.objects.filter(contact=contact, channel=email).exists()
    change = PreferenceChange.objects.filter(contact=contact).first()
    assert (change.old_value, change.new_value, change.source) == ("bounced", None, "staff:edith")
    assert "Clear the bounce" not in response.content.decode()


def test_unticking_explains_the_do_not_contact_it_will_write(editor_client, contact):
    html = editor_client.get(reverse("contacts:contact_preferences", args=[contact.pk]), **HTMX).content.decode()
    assert "Saving records “do not contact (set by staff)”." in html


def test_deleting_a_category_that_has_history_keeps_the_history(editor_client, category):
    contact = ContactFactory()
    category_unsubscribe(contact=contact, category=category, source="system")
    response = editor_client.post(reverse("contacts:category_delete", args=[category.pk]), follow=True)
    assert f"Category {category.name} deleted." in response.content.decode()
    assert PreferenceChange.objects.get(contact=contact).subject == category.slug


def test_the_list_says_which_channel_a_cap_or_pause_is_on(editor_client, contact, email, sms):
    channel_frequency_set(contact=contact, channel=sms, number=2, unit="week", source="system")
    html = editor_client.get(reverse("contacts:contact_list")).content.decode()
    assert "SMS: 2 per week" in html


def test_settings_refuse_an_extra_cap_form_and_create_no_channel(editor_client, email):
    extra = {"caps-TOTAL_FORMS": "3", "caps-2-default_cap_number": "5", "caps-2-default_cap_unit": "day"}
    response = editor_client.post(reverse("contacts:settings"), settings_data(**extra))
    assert response.status_code == 200
    assert "Please submit at most 2 forms." in response.content.decode()
    assert sorted(Channel.objects.values_list("slug", flat=True)) == ["email", "sms"]
    email.refresh_from_db()
    assert email.default_cap is None  # nothing of the refused POST was saved


@pytest.mark.parametrize(
    ("number", "unit", "error"),
    [
        ("1001", "day", "Enter a number of at most 1000."),
        ("-1", "day", "Ensure this value is greater than or equal to 0."),
        ("", "week", "Enter how many messages, or clear the unit."),
        ("0", "week", "Enter a number of at least 1, or 0 and no unit for no limit."),
    ],
)
def test_settings_bound_the_default_cap_like_a_contacts_cap(editor_client, email, number, unit, error):
    data = settings_data(**{"caps-0-default_cap_number": number, "caps-0-default_cap_unit": unit})
    response = editor_client.post(reverse("contacts:settings"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    email.refresh_from_db()
    assert email.default_cap is None


def test_settings_default_cap_of_zero_means_no_cap(editor_client, email):
    Channel.objects.filter(pk=email.pk).update(default_cap_number=4, default_cap_unit="day")
    response = editor_client.post(reverse("contacts:settings"), settings_data(**{"caps-0-default_cap_number": "0",
                                                                                    "caps-0-default_cap_unit": ""}))
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.default_cap is None


def test_timeline_shows_a_contact_created_by_an_import_with_its_initial_values(editor_client):
    from .imports import csv_bytes, import_file

    ContactFieldFactory(key="company", type="text")
    import_file(csv_bytes("email,company", "new@example.com,Acme"), {"email": "contact:email", "company": "field:company"})
    contact = Contact.objects.get(email="new@example.com")
    html = editor_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    timeline = html.split('id="timeline"')[1]
    assert "Contact created" in timeline and "no contact" in timeline and "company: Acme" in timeline
    assert "by import" in timeline
