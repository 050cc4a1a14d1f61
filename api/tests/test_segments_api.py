"""Segments through the API: a dynamic segment's filter (and the filter in words) is read, and a key
that writes contacts creates or edits segments with filters through the segment services."""

import pytest
from django.urls import reverse

from api.models import Scope
from contacts.models import Segment, StaffChange
from contacts.selectors import segment_filter_words
from contacts.tests.factories import SegmentFactory

from .conftest import client_for

ACME = {"join": "and", "groups": [{"join": "and", "conditions": [
    {"field": "email_domain", "op": "equals", "value": "acme.com"}]}]}


def in_segment(segment: Segment) -> dict:
    return {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "segment", "op": "in_segment", "value": segment.pk}]}]}


def test_a_dynamic_segment_shows_its_filter_and_the_filter_in_words(api):
    dynamic = SegmentFactory(slug="acme", filter=ACME)
    static = SegmentFactory(slug="vip")
    shown = api.get(reverse("api:segment_detail", args=[dynamic.pk])).json()
    assert shown["filter"] == ACME
    assert "acme.com" in shown["filter_words"] and shown["filter_words"] == segment_filter_words(segment=dynamic)
    listed = {s["slug"]: s for s in api.get(reverse("api:segment_list")).json()["results"]}
    assert listed["acme"]["filter_words"] == shown["filter_words"]
    assert (listed["vip"]["filter"], listed["vip"]["filter_words"]) == (None, "")
    assert static.pk == listed["vip"]["id"]


def test_a_segment_is_created_with_a_filter_and_the_audit_names_the_key(api):
    response = api.post(reverse("api:segment_list"), {"name": "Acme", "slug": "acme", "filter": ACME}, format="json")
    assert response.status_code == 201, response.json()
    segment = Segment.objects.get(slug="acme")
    assert segment.filter == ACME and response.json()["filter"] == ACME
    assert response["Location"] == reverse("api:segment_detail", args=[segment.pk])
    audit = StaffChange.objects.get(subject_type="segment", subject_id=segment.pk)
    assert audit.actor == "api:crm" and audit.action == StaffChange.Action.CREATED


def test_a_bad_filter_is_a_400_listing_every_problem_and_nothing_is_created(api):
    bad = {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "no_such_field", "op": "equals", "value": "x"},
        {"field": "created", "op": "between", "value": ["2030-02-30", "2030-01-01"]}]}]}
    response = api.post(reverse("api:segment_list"), {"name": "Bad", "slug": "bad", "filter": bad}, format="json")
    assert response.status_code == 400
    problems = response.json()["error"]["fields"]["filter"]
    assert len(problems) == 2
    assert problems[0].startswith("Group 1, condition 1") and problems[1].startswith("Group 1, condition 2")
    for not_a_filter in ("acme", [], {}, {"groups": [], "join": "and"}, {"join": "xor", "groups": [1]}):
        response = api.post(reverse("api:segment_list"), {"name": "Bad", "slug": "bad", "filter": not_a_filter},
                            format="json")
        assert response.status_code == 400 and response.json()["error"]["fields"]["filter"]
    assert not Segment.objects.filter(slug="bad").exists()
    assert not StaffChange.objects.filter(subject_type="segment").exists()


def test_a_filter_is_changed_removed_and_a_cycle_refused(api):
    first, second = SegmentFactory(slug="first"), SegmentFactory(slug="second")
    url = reverse("api:segment_detail", args=[second.pk])
    response = api.patch(url, {"filter": in_segment(first)}, format="json")
    assert response.status_code == 200 and response.json()["filter"] == in_segment(first)
    assert StaffChange.objects.get(subject_type="segment", subject_id=second.pk).actor == "api:crm"
    cycle = api.patch(reverse("api:segment_detail", args=[first.pk]), {"filter": in_segment(second)}, format="json")
    assert cycle.status_code == 400 and cycle.json()["error"]["fields"]["filter"]
    first.refresh_from_db()
    assert first.filter is None
    assert api.patch(url, {"filter": None}, format="json").json()["filter"] is None  # static again
    assert Segment.objects.get(pk=second.pk).filter is None


def test_unknown_fields_and_taken_slugs_are_refused(api):
    SegmentFactory(slug="taken")
    response = api.post(reverse("api:segment_list"), {"name": "X", "slug": "taken"}, format="json")
    assert response.status_code == 400 and "slug" in response.json()["error"]["fields"]
    response = api.post(reverse("api:segment_list"), {"name": "X", "slug": "x", "filter_words": "all"}, format="json")
    assert response.status_code == 400 and "filter_words" in response.json()["error"]["fields"]


@pytest.mark.parametrize("scope", [Scope.READ, Scope.WRITE_PREFERENCES])
def test_only_a_key_that_writes_contacts_writes_segments(issue_key, scope):
    segment = SegmentFactory(slug="kept")
    client = client_for(issue_key(name="narrow", scopes=[scope]).secret)
    assert client.post(reverse("api:segment_list"), {"name": "X", "slug": "x"}, format="json").status_code == 403
    assert client.patch(reverse("api:segment_detail", args=[segment.pk]), {"filter": ACME},
                        format="json").status_code == 403
    segment.refresh_from_db()
    assert segment.filter is None and not Segment.objects.filter(slug="x").exists()
    assert client.get(reverse("api:segment_detail", args=[segment.pk])).status_code == (
        200 if scope == Scope.READ else 403)


def test_listing_dynamic_segments_reads_the_filter_catalog_once(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(reverse("api:segment_list")).status_code == 200
        return len(captured)

    queries()  # the key's first use records "last used": not part of the listing
    SegmentFactory(filter=ACME)
    one = queries()
    for _ in range(5):
        SegmentFactory(filter=ACME)
    assert queries() == one
