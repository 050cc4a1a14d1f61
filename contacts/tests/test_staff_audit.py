"""The staff audit: each staff write leaves one row (who, when, what, old → new), staff read it on
the object's page, and nobody rewrites it."""

import pytest
from django.contrib.admin.sites import site
from django.db import connection, transaction
from django.db.utils import InternalError
from django.urls import reverse

from contacts.models import Category, Channel, PreferenceSettings, StaffChange
from contacts.services import (
    category_create,
    category_delete,
    category_update,
    channel_default_cap_set,
    segment_create,
    segment_delete,
    segment_update,
    settings_update,
)

from .concurrency import commit_once_another_waits
from .factories import CategoryFactory, SegmentFactory, UserFactory
from .test_staff_views import editor, editor_client, settings_data, staff_user, viewer  # noqa: F401


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def only_row() -> StaffChange:
    (row,) = StaffChange.objects.all()
    return row


def test_creating_a_category_records_who_and_its_first_values(alice):
    category = category_create(acting_user=alice, name="News", slug="news", opt_in=True)
    row = only_row()
    assert (row.actor, row.subject_type, row.subject_id, row.action) == ("alice", "category", category.pk, "created")
    assert row.changes["name"] == [None, "News"] and row.changes["opt_in"] == [None, True]


def test_changing_a_category_records_each_changed_field_old_and_new(alice):
    category = CategoryFactory(name="News", public=True)
    category_update(category=category, acting_user=alice, name="Newsletter", public=False, slug=category.slug)
    assert only_row().changes == {"name": ["News", "Newsletter"], "public": [True, False]}
    category.refresh_from_db()
    assert (category.name, category.public) == ("Newsletter", False)


def test_saving_a_category_unchanged_records_nothing(alice):
    category = CategoryFactory(name="News")
    category_update(category=category, acting_user=alice, name="News", slug=category.slug)
    assert not StaffChange.objects.exists()


def test_deleting_a_category_records_what_it_was(alice):
    category = CategoryFactory(name="News")
    category_delete(category=category, acting_user=alice)
    row = only_row()
    assert (row.action, row.subject_label, row.changes["name"]) == ("deleted", "News", ["News", None])


def test_creating_changing_and_deleting_a_segment_leave_one_row_each(alice):
    segment = segment_create(acting_user=alice, name="VIP", slug="vip")
    segment_update(segment=segment, acting_user=alice, public_name="Friends")
    segment_update(segment=segment, acting_user=alice, public_name="Friends")  # unchanged: no row
    segment_delete(segment=segment, acting_user=alice)
    rows = list(StaffChange.objects.order_by("id"))
    assert [row.action for row in rows] == ["created", "updated", "deleted"]
    assert rows[1].changes == {"public_name": ["", "Friends"]}


def test_changing_the_settings_records_old_and_new(alice):
    settings_update(acting_user=alice, show_segments=True, unsubscribe_text="Bye")
    row = only_row()
    assert (row.subject_type, row.action) == ("settings", "updated")
    assert row.changes == {"show_segments": [False, True], "unsubscribe_text": ["", "Bye"]}
    assert PreferenceSettings.load().show_segments is True


def test_saving_the_settings_unchanged_records_nothing(alice):
    settings_update(acting_user=alice, show_segments=False, unsubscribe_text="")
    assert not StaffChange.objects.exists()


def test_setting_a_default_cap_records_the_old_and_new_cap(alice, email):
    channel_default_cap_set(channel=email, number=3, unit="week", acting_user=alice)
    row = only_row()
    assert (row.subject_type, row.subject_label) == ("channel", email.name)
    assert row.changes == {"default_cap": [None, {"number": 3, "unit": "week"}]}


def test_setting_the_same_default_cap_records_nothing(alice, email):
    channel_default_cap_set(channel=email, number=None, unit=None, acting_user=alice)
    assert not StaffChange.objects.exists()


def test_the_category_page_shows_its_history_escaped(editor_client):
    category = CategoryFactory(name="News", slug="news")
    response = editor_client.post(reverse("contacts:category_edit", args=[category.pk]), {
        "name": "<b>Big</b> news", "slug": "news", "description": "", "public": "on",
    })
    assert response.status_code == 302 and only_row().actor == "edith"
    html = editor_client.get(reverse("contacts:category_edit", args=[category.pk])).content.decode()
    assert "&lt;b&gt;Big&lt;/b&gt; news" in html and "<b>Big</b>" not in html
    assert "edith" in html and "News →" in html


def test_creating_a_category_in_the_staff_ui_goes_through_the_service(editor_client):
    editor_client.post(reverse("contacts:category_create"), {"name": "Offers", "slug": "offers", "public": "on"})
    row = only_row()
    assert (row.action, row.subject_id) == ("created", Category.objects.get(slug="offers").pk)


def test_the_segment_page_shows_its_history(editor_client):
    segment = SegmentFactory(name="VIP", slug="vip")
    editor_client.post(reverse("contacts:segment_edit", args=[segment.pk]), {"name": "VIP", "slug": "vip-club"})
    html = editor_client.get(reverse("contacts:segment_detail", args=[segment.pk])).content.decode()
    assert "Staff history" in html and "vip → vip-club" in html


def test_the_settings_page_shows_who_changed_the_settings_and_the_caps(editor_client, email, sms):
    editor_client.post(reverse("contacts:settings"), settings_data())
    assert StaffChange.objects.filter(subject_type="channel", subject_id=email.pk).count() == 1
    html = editor_client.get(reverse("contacts:settings")).content.decode()
    assert "— → 3 per week" in html and "edith" in html


def test_saving_the_settings_page_unchanged_records_nothing(editor_client, email, sms):
    editor_client.post(reverse("contacts:settings"), settings_data())
    rows = StaffChange.objects.count()
    editor_client.post(reverse("contacts:settings"), settings_data())
    assert StaffChange.objects.count() == rows


def test_a_category_saved_in_the_admin_leaves_an_audit_row(client, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    category = CategoryFactory(name="News", slug="news", description="")
    response = client.post(reverse("admin:contacts_category_change", args=[category.pk]), {
        "name": "News", "slug": "news", "description": "Weekly", "public": "on",
    })
    assert response.status_code == 302
    assert only_row().changes == {"description": ["", "Weekly"]}
    assert site._registry[StaffChange].has_delete_permission(None) is False


def test_the_audit_refuses_changes_through_the_orm(alice):
    category_create(acting_user=alice, name="News", slug="news")
    row = only_row()
    with pytest.raises(TypeError):
        row.save()
    with pytest.raises(TypeError):
        row.delete()
    with pytest.raises(TypeError):
        StaffChange.objects.update(actor="mallory")
    with pytest.raises(TypeError):
        StaffChange.objects.all().delete()


def test_the_database_refuses_to_rewrite_the_audit(alice):
    category_create(acting_user=alice, name="News", slug="news")
    with pytest.raises(InternalError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_staffchange SET actor = 'mallory'")


def test_the_database_refuses_to_delete_from_the_audit(alice):
    category_create(acting_user=alice, name="News", slug="news")
    with pytest.raises(InternalError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_staffchange")


def test_a_default_cap_edited_in_the_admin_list_goes_through_its_service(client, alice, email, sms):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    channels = list(Channel.objects.order_by("position", "pk"))
    data = {"form-TOTAL_FORMS": str(len(channels)), "form-INITIAL_FORMS": str(len(channels)), "_save": "Save"}
    for index, channel in enumerate(channels):
        data.update({
            f"form-{index}-id": channel.pk, f"form-{index}-position": channel.position,
            f"form-{index}-default_cap_number": "2" if channel == email else "",
            f"form-{index}-default_cap_unit": "day" if channel == email else "",
        })
    response = client.post(reverse("admin:contacts_channel_changelist"), data)
    assert response.status_code == 302
    row = only_row()
    assert (row.subject_id, row.changes) == (email.pk, {"default_cap": [None, {"number": 2, "unit": "day"}]})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("factory", "update"),
    [
        (CategoryFactory, lambda obj, user, name: category_update(category=obj, acting_user=user, name=name)),
        (SegmentFactory, lambda obj, user, name: segment_update(segment=obj, acting_user=user, name=name)),
    ],
    ids=["category", "segment"],
)
def test_two_edits_at_once_each_record_the_value_the_other_left(factory, update):
    obj = factory(name="A")
    thread = commit_once_another_waits(lambda: update(obj, UserFactory(username="ann"), "B"))
    update(obj, None, "C")
    thread.join()
    assert [row.changes["name"] for row in StaffChange.objects.order_by("id")] == [["A", "B"], ["B", "C"]]


@pytest.mark.django_db(transaction=True)
def test_two_settings_saves_at_once_each_record_the_value_the_other_left(db):
    PreferenceSettings.load()
    thread = commit_once_another_waits(lambda: settings_update(acting_user=None, unsubscribe_text="B"))
    settings_update(acting_user=None, unsubscribe_text="C")
    thread.join()
    assert [row.changes["unsubscribe_text"] for row in StaffChange.objects.order_by("id")] == [["", "B"], ["B", "C"]]


@pytest.mark.django_db(transaction=True)
def test_two_default_cap_saves_at_once_each_record_the_cap_the_other_left(email):
    thread = commit_once_another_waits(lambda: channel_default_cap_set(channel=email, number=2, unit="day", acting_user=None))
    channel_default_cap_set(channel=email, number=3, unit="day", acting_user=None)
    thread.join()
    assert [row.changes["default_cap"][0] for row in StaffChange.objects.order_by("id")] == [
        None, {"number": 2, "unit": "day"},
    ]
