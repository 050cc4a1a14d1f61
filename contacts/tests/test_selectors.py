import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.selectors import contact_preferences
from contacts.services import contact_preferences_update

from .factories import CategoryFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def queries_for(contact) -> int:
    with CaptureQueriesContext(connection) as queries:
        contact_preferences(contact)
    return len(queries)


def test_contact_preferences_costs_three_queries_whatever_the_number_of_categories_and_segments(contact):
    CategoryFactory.create_batch(2)
    SegmentFactory.create_batch(2)
    few = queries_for(contact)
    categories, segments = CategoryFactory.create_batch(40), SegmentFactory.create_batch(40)
    contact_preferences_update(
        contact=contact,
        data={"categories": {c.slug: False for c in categories[:20]}, "segments": {s.slug: True for s in segments[:20]}},
        source="staff:alice",
    )
    assert few == queries_for(contact) == 3


def test_segments_show_only_current_members(contact, segment):
    other = SegmentFactory()
    contact_preferences_update(contact=contact, data={"segments": {segment.slug: True, other.slug: True}}, source="import")
    contact_preferences_update(contact=contact, data={"segments": {other.slug: False}}, source="public_page")
    assert contact_preferences(contact)["segments"] == {segment.slug: True, other.slug: False}
