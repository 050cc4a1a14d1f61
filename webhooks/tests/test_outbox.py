"""The outbox is written in the changing transaction: one compact event per save, none for a
change that rolled back, and nothing sent before the commit."""

import pytest
from django.db import transaction

from contacts.models import Channel
from contacts.services import (
    category_unsubscribe,
    channel_frequency_set,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferences_update,
    segment_membership_add,
    segment_membership_remove,
)
from webhooks.delivery import endpoint_drain
from webhooks.models import EventType, WebhookDelivery, WebhookEvent
from webhooks.outbox import import_finished_publish, send_outcomes_publish

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def events(type_):
    return list(WebhookEvent.objects.filter(type=type_).order_by("id").values_list("payload", flat=True))


def test_a_preferences_save_is_one_event_with_each_change_before_and_after(receiver, endpoint_for, contact, category):
    endpoint_for(receiver)
    contact_preferences_update(
        contact=contact, source="staff:alice",
        data={"channels": {"email": {"subscribed": False}, "sms": {"frequency": {"number": 2, "unit": "week"}}},
              "categories": {category.slug: False}},
    )
    [event] = events(EventType.PREFERENCES_CHANGED)
    assert event["type"] == "preferences.changed"
    data = event["data"]
    assert data["contact"] == {"id": contact.pk, "external_id": None}
    assert (data["source"], data["send_id"]) == ("staff:alice", None)
    assert sorted(data["changes"], key=lambda change: change["kind"]) == [
        {"kind": "category", "subject": category.slug, "before": None, "after": "unsubscribed"},
        {"kind": "dnc", "subject": "email", "before": None, "after": "manual"},
        {"kind": "frequency", "subject": "sms", "before": None, "after": {"number": 2, "unit": "week"}},
    ]


def test_a_value_changed_twice_in_one_transaction_shows_first_before_and_last_after(receiver, endpoint_for, contact, sms):
    endpoint_for(receiver)
    with transaction.atomic():
        channel_frequency_set(contact=contact, channel=sms, number=1, unit="day", source="system")
        channel_frequency_set(contact=contact, channel=sms, number=3, unit="day", source="system")
        channel_unsubscribe(contact=contact, channel=sms, source="system")
        channel_subscribe(contact=contact, channel=sms, source="system")
    [event] = events(EventType.PREFERENCES_CHANGED)
    assert event["data"]["changes"] == [
        {"kind": "frequency", "subject": "sms", "before": None, "after": {"number": 3, "unit": "day"}},
    ]  # the do-not-contact that came and went is not a change


def test_separate_saves_are_separate_events(receiver, endpoint_for, contact, email, sms):
    endpoint_for(receiver)
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    channel_unsubscribe(contact=contact, channel=sms, source="one_click")
    assert len(events(EventType.PREFERENCES_CHANGED)) == 2


def test_the_event_is_written_in_the_changing_transaction_and_goes_with_its_rollback(
    receiver, endpoint_for, contact, email
):
    endpoint = endpoint_for(receiver)
    with pytest.raises(Boom), transaction.atomic():
        channel_unsubscribe(contact=contact, channel=email, source="one_click")
        assert WebhookEvent.objects.filter(type=EventType.DNC_ADDED, contact=contact).exists()  # same transaction
        assert WebhookDelivery.objects.filter(endpoint=endpoint, status="pending").exists()
        raise Boom
    assert not WebhookEvent.objects.exists()
    endpoint_drain(endpoint_id=endpoint.pk)
    assert receiver.requests == 0  # a rolled-back change sends nothing


def test_a_rolled_back_savepoint_takes_its_changes_out_of_the_event(receiver, endpoint_for, contact, email, sms, category):
    endpoint_for(receiver)
    with transaction.atomic():
        category_unsubscribe(contact=contact, category=category, source="system")
        with pytest.raises(Boom), transaction.atomic():
            channel_unsubscribe(contact=contact, channel=email, source="system")
            raise Boom
        channel_frequency_set(contact=contact, channel=sms, number=1, unit="day", source="system")
    changes = [change for event in events(EventType.PREFERENCES_CHANGED) for change in event["data"]["changes"]]
    assert sorted(change["kind"] for change in changes) == ["category", "frequency"]  # no do-not-contact
    assert events(EventType.DNC_ADDED) == []


def test_do_not_contact_added_and_removed_events(receiver, endpoint_for, contact, email):
    endpoint_for(receiver)
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    channel_subscribe(contact=contact, channel=email, source="public_page")
    [added], [removed] = events(EventType.DNC_ADDED), events(EventType.DNC_REMOVED)
    assert added["data"] | {"contact": None} == {
        "contact": None, "channel": "email", "reason": "unsubscribed", "previous_reason": None, "source": "one_click",
        "send_id": None,
    }
    assert (removed["data"]["reason"], removed["data"]["source"]) == ("unsubscribed", "public_page")


def test_segment_membership_changes_are_events(receiver, endpoint_for, contact, segment):
    endpoint_for(receiver)
    segment_membership_add(contact=contact, segment=segment, source="staff:alice")
    segment_membership_remove(contact=contact, segment=segment, source="public_page")
    assert [(e["data"]["segment"], e["data"]["before"], e["data"]["after"]) for e in
            events(EventType.SEGMENT_MEMBERSHIP_CHANGED)] == [(segment.slug, None, "member"), (segment.slug, "member", "removed")]


def test_an_endpoint_receives_only_the_events_it_chose(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=[EventType.DNC_ADDED])
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    assert list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event__type", flat=True)) == ["dnc.added"]


def test_nothing_is_kept_when_no_endpoint_listens(contact, email):
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    assert not WebhookEvent.objects.exists()


def test_send_outcomes_and_import_finished_are_one_event_each(receiver, endpoint_for):
    endpoint_for(receiver)
    with transaction.atomic():
        send_outcomes_publish(outcomes=[
            {"send_id": 1, "message_id": 2, "contact_id": 3, "channel": "email", "outcome": "sent", "reason": ""},
            {"send_id": 4, "message_id": 2, "contact_id": 5, "channel": None, "outcome": "skipped_dnc", "reason": ""},
        ])
        import_finished_publish(import_id=7, counts={"created": 10, "updated": 2, "errors": 1})
    [outcomes], [finished] = events(EventType.SEND_OUTCOME), events(EventType.IMPORT_FINISHED)
    assert [send["outcome"] for send in outcomes["data"]["sends"]] == ["sent", "skipped_dnc"]
    assert finished["data"] == {"import_id": 7, "counts": {"created": 10, "updated": 2, "errors": 1}, "source": "import"}


def test_publishing_outside_a_transaction_is_refused(receiver, endpoint_for):
    endpoint_for(receiver)
    with pytest.raises(RuntimeError):
        import_finished_publish(import_id=1, counts={})


def test_an_event_is_delivered_once_per_endpoint_and_types_and_statuses_are_known(receiver, endpoint_for, contact, email):
    from django.db import IntegrityError
    from django.utils import timezone

    endpoint = endpoint_for(receiver, events=["dnc.added"])
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(event=delivery.event, endpoint=endpoint, next_attempt_at=now, give_up_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="lost")
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEvent.objects.create(type="contact.deleted", payload={})


def test_a_broker_that_is_down_does_not_fail_a_committed_save(receiver, endpoint_for, contact, email, monkeypatch):
    class BrokerDown:
        def send_task(self, *args, **kwargs):
            raise ConnectionError("broker unreachable")

    monkeypatch.setattr("webhooks.outbox.current_app", BrokerDown())
    endpoint_for(receiver, events=["dnc.added"])
    channel_unsubscribe(contact=contact, channel=email, source="one_click")  # no exception
    assert WebhookDelivery.objects.get().status == "pending"  # the sweep will deliver it
