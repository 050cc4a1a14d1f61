"""A dispatch to a dynamic segment reaches the members the filter gives at that moment."""


import pytest

from contacts.models import SegmentMembership
from contacts.services import category_unsubscribe
from contacts.services.dynamic_segments import segment_rebuild
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.tests.conftest import run_dispatch, send_of
from messaging.tests.factories import MessageFactory, aware

pytestmark = pytest.mark.django_db
NOW = aware(2031, 5, 4, 10)


def receives(category):
    return {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "category", "op": "receives", "value": category.pk}]}]}


def test_a_send_right_after_a_category_unsubscribe_does_not_reach_the_contact():
    news = CategoryFactory()
    leaving, staying = ContactFactory(), ContactFactory()
    segment = SegmentFactory(filter=receives(news))
    segment_rebuild(segment_id=segment.pk)
    # A message outside the category: only the segment can keep the contact out.
    message = MessageFactory(channels=["email"], segments=[segment])
    category_unsubscribe(contact=leaving, category=news, source="one_click")
    run_dispatch(message, now=NOW)
    assert send_of(message, leaving) is None
    assert send_of(message, staying).outcome == "sent"


def test_planning_rebuilds_the_dynamic_segment_first():
    ContactFactory(email="early@acme.com")
    segment = SegmentFactory(filter={"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "email_domain", "op": "equals", "value": "acme.com"}]}]})
    message = MessageFactory(channels=["email"], segments=[segment])
    assert not SegmentMembership.objects.filter(segment=segment).exists()  # never built yet
    dispatch = run_dispatch(message, now=NOW)
    assert dispatch.recipients == 1
    segment.refresh_from_db()
    assert segment.rebuilt_at is not None
