"""Bulk actions on the filtered contacts list: the confirmation counts what will change, each
contact changes through the services (the same history as one staff action), large ones run on a
real Celery worker with progress, editors only."""

import time

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import BulkAction, DoNotContact, PreferenceChange, SegmentMembership, StaffChange
from contacts.tests.concurrency import race
from contacts.tests.factories import ContactFactory, SegmentFactory

from .test_staff_views import editor, editor_client, staff_user, viewer, viewer_client  # noqa: F401 (fixtures)

URL = reverse("contacts:bulk_action")


@pytest.fixture
def smiths(db):
    """Three Smiths to act on, and a Jones the filter leaves out."""
    return [ContactFactory(last_name="Smith") for _ in range(3)], ContactFactory(last_name="Jones")


def preview(client, query: str, **data):
    return client.post(URL, {"list_query": query, "step": "preview", **data})


def confirm(client, query: str, expected: int, **data):
    return client.post(URL, {"list_query": query, "step": "confirm", "expected": expected, **data})


@pytest.mark.django_db
def test_adding_the_filtered_list_to_a_segment_says_how_many_first_then_writes_history_per_contact(editor_client, smiths):  # noqa: F811
    (a, b, c), jones = smiths
    segment = SegmentFactory(name="Smiths")
    services.segment_membership_add(contact=a, segment=segment, source="system")
    page = preview(editor_client, "q=smith", kind="segment_add", segment=segment.pk).content.decode()
    assert "3 contacts match; 2 will change." in page
    assert not SegmentMembership.objects.filter(contact__in=[b, c]).exists()  # nothing yet

    response = confirm(editor_client, "q=smith", 2, kind="segment_add", segment=segment.pk)
    action = BulkAction.objects.get()
    assert response.url == reverse("contacts:bulk_action_detail", args=[action.pk])
    assert set(segment.memberships.filter(removed=False).values_list("contact", flat=True)) == {a.pk, b.pk, c.pk}
    history = PreferenceChange.objects.filter(kind="segment", segment=segment, source="staff:edith")
    assert sorted(history.values_list("contact", flat=True)) == sorted([b.pk, c.pk])
    assert {(row.old_value, row.new_value) for row in history} == {(None, "member")}
    assert not SegmentMembership.objects.filter(contact=jones).exists()
    assert "Done: 2 contacts processed." in editor_client.get(response.url).content.decode()
    audit = StaffChange.objects.get(subject_type="bulk_action")
    assert audit.actor == "edith" and audit.changes["contacts"] == [None, 2]


@pytest.mark.django_db
def test_a_list_that_changed_since_the_confirmation_is_refused_and_nothing_changes(editor_client, smiths):  # noqa: F811
    segment = SegmentFactory()
    ContactFactory(last_name="Smith")  # joined after staff saw "3 will change"
    response = confirm(editor_client, "q=smith", 3, kind="segment_add", segment=segment.pk)
    assert "4 contacts would now change, not 3" in response.content.decode()
    assert not segment.memberships.exists() and not BulkAction.objects.exists()


@pytest.mark.django_db
def test_an_invalid_filter_blocks_the_action_instead_of_widening_it(editor_client, smiths):  # noqa: F811
    page = editor_client.get(URL + "?q=smith&segment=no-such-segment").content.decode()
    assert 'id="bulk-filters-invalid"' in page and 'id="bulk-form"' not in page
    segment = SegmentFactory()
    confirm(editor_client, "q=smith&segment=no-such-segment", 4, kind="segment_add", segment=segment.pk)
    assert not segment.memberships.exists()


@pytest.mark.django_db
def test_staff_do_not_contact_is_set_and_cleared_but_a_contacts_own_unsubscribe_stays(editor_client, smiths, email):  # noqa: F811
    (a, b, c), _jones = smiths
    services.channel_unsubscribe(contact=a, channel=email, source="public_page")  # the contact's own choice
    assert "2 will change" in preview(editor_client, "q=smith", kind="dnc_set", channel=email.pk).content.decode()
    confirm(editor_client, "q=smith", 2, kind="dnc_set", channel=email.pk)
    reasons = dict(DoNotContact.objects.filter(channel=email).values_list("contact", "reason"))
    assert reasons == {a.pk: "unsubscribed", b.pk: "manual", c.pk: "manual"}

    assert "2 will change" in preview(editor_client, "q=smith", kind="dnc_clear", channel=email.pk).content.decode()
    confirm(editor_client, "q=smith", 2, kind="dnc_clear", channel=email.pk)
    assert dict(DoNotContact.objects.filter(channel=email).values_list("contact", "reason")) == {a.pk: "unsubscribed"}


@pytest.mark.django_db
def test_a_segment_or_channel_is_required_for_its_actions(editor_client, smiths):  # noqa: F811
    page = preview(editor_client, "q=smith", kind="segment_add").content.decode()
    assert "Choose the segment." in page and "will change" not in page


@pytest.mark.django_db
def test_viewers_neither_see_nor_run_bulk_actions(viewer_client, smiths):  # noqa: F811
    assert 'id="bulk-actions"' not in viewer_client.get(reverse("contacts:contact_list")).content.decode()
    assert viewer_client.get(URL).status_code == 403
    assert confirm(viewer_client, "", 4, kind="dnc_set", channel=1).status_code == 403


@pytest.mark.django_db
def test_editors_find_the_action_on_the_list_with_its_filters(editor_client, smiths):  # noqa: F811
    page = editor_client.get(reverse("contacts:contact_list"), {"q": "smith"}).content.decode()
    assert f'href="{URL}?q=smith"' in page


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_job_apply_it_once(smiths, settings):
    settings.CONTACTS_BULK_CHUNK = 1
    segment = SegmentFactory()
    action = BulkAction.objects.create(kind="segment_add", segment=segment, filters={"search": "smith"}, total=3,
                                       actor="edith")
    run = lambda: services.bulk_action_run(bulk_action_id=action.pk)  # noqa: E731
    race(run, run)
    action.refresh_from_db()
    assert action.status == "done" and action.done == 3
    assert PreferenceChange.objects.filter(segment=segment).count() == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_large_action_runs_on_a_worker_and_reports_progress(editor_client, smiths, celery_workers, settings):  # noqa: F811
    settings.CONTACTS_BULK_INLINE_MAX = 1
    segment = SegmentFactory()
    celery_workers.start()
    response = confirm(editor_client, "q=smith", 3, kind="segment_add", segment=segment.pk)
    action = BulkAction.objects.get()
    assert response.url == reverse("contacts:bulk_action_detail", args=[action.pk])
    deadline = time.monotonic() + 60
    while BulkAction.objects.get().status != "done":
        assert time.monotonic() < deadline, "the worker did not finish the job"
        time.sleep(0.2)
    assert segment.memberships.filter(removed=False).count() == 3
    progress = editor_client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert "Done: 3 contacts processed." in progress and "hx-trigger" not in progress


@pytest.mark.django_db
def test_the_custom_field_filter_of_the_list_narrows_the_action_too(editor_client, smiths):  # noqa: F811
    from contacts.tests.factories import ContactFieldFactory

    (a, b, _c), _jones = smiths
    ContactFieldFactory(key="company", label="Company", type="text")
    services.contact_fields_update(contact=a, values={"company": "ACME"}, source="system")
    services.contact_fields_update(contact=b, values={"company": "Other"}, source="system")
    segment = SegmentFactory()
    query = "q=smith&ff=company&fo=eq&fv=ACME"
    assert "1 contact matches; 1 will change." in preview(editor_client, query, kind="segment_add",
                                                          segment=segment.pk).content.decode()
    confirm(editor_client, query, 1, kind="segment_add", segment=segment.pk)
    assert list(segment.memberships.values_list("contact", flat=True)) == [a.pk]


@pytest.mark.django_db
def test_an_invalid_custom_field_filter_blocks_the_action(editor_client, smiths):  # noqa: F811
    from contacts.tests.factories import ContactFieldFactory

    ContactFieldFactory(key="joined", label="Joined", type="date")
    page = editor_client.get(URL + "?ff=joined&fo=eq&fv=not-a-date").content.decode()
    assert 'id="bulk-filters-invalid"' in page and 'id="bulk-form"' not in page


@pytest.mark.django_db
def test_the_bulk_page_links_the_export_of_the_same_list(editor_client, smiths):  # noqa: F811
    page = editor_client.get(URL + "?q=smith").content.decode()
    assert f'href="{reverse("contacts:contact_export")}?q=smith"' in page
