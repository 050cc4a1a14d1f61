"""Message activity in segment filters: who was sent a message, who heard from us lately, who has a
send waiting. Real sends from the real dispatch engine where it matters, on PostgreSQL."""

import datetime
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, Segment, SegmentMembership
from contacts.segment_filter import FilterCatalog, filter_clean, filter_q, filter_words
from contacts.services import channel_unsubscribe, contact_fields_update
from contacts.services.dynamic_segments import contact_segments_refresh, segment_rebuild
from contacts.tests.factories import ContactFactory, ContactFieldFactory, SegmentFactory, UserFactory, channel
from messaging.models import Message
from messaging.tests.conftest import run_dispatch, send_of
from messaging.tests.factories import MessageFactory, now_utc, past_send

pytestmark = pytest.mark.django_db


def activity(op, value=None):
    condition = {"field": "activity", "op": op}
    if value is not None:
        condition["value"] = value
    return {"join": "and", "groups": [{"join": "and", "conditions": [condition]}]}


def matching(spec) -> set[str]:
    catalog = FilterCatalog.load()
    q = filter_q(filter_clean(spec, catalog=catalog), catalog=catalog)
    return set(Contact.objects.filter(q).values_list("first_name", flat=True))


@pytest.fixture
def sale(members):
    """"Spring sale" dispatched by the engine to Ann and Bob (Bob unsubscribed from email: skipped);
    Cy is not in its segment."""
    ann, bob = members(first_name="Ann"), members(first_name="Bob")
    ContactFactory(first_name="Cy")
    channel_unsubscribe(contact=bob, channel=channel("email"), source="sms_stop")
    message = MessageFactory(name="Spring sale", channels=["email"], segments=[members.segment])
    run_dispatch(message, now=now_utc())
    assert send_of(message, ann).outcome == "sent" and send_of(message, bob).outcome == "skipped_dnc"
    return message


def test_was_sent_a_message_counts_only_sends_the_engine_handed_over(sale):
    assert matching(activity("sent_message", sale.pk)) == {"Ann"}


def test_was_not_sent_a_message_includes_the_skipped_and_the_never_tried(sale):
    assert matching(activity("not_sent_message", sale.pk)) == {"Bob", "Cy"}


def test_any_message_in_the_last_days_reads_when_it_was_sent():
    now = now_utc()
    recent, old, failed = ContactFactory(first_name="Recent"), ContactFactory(first_name="Old"), ContactFactory(
        first_name="Failed")
    ContactFactory(first_name="Never")
    past_send(recent, "sms", now - datetime.timedelta(days=9))
    past_send(old, "email", now - datetime.timedelta(days=40))
    past_send(failed, "email", now - datetime.timedelta(days=2), outcome="failed")
    assert matching(activity("sent_in_last", 10)) == {"Recent"}
    assert matching(activity("sent_in_last", 41)) == {"Recent", "Old"}
    assert matching(activity("none_sent_in_last", 10)) == {"Old", "Failed", "Never"}


def test_has_a_deferred_send_of_a_message_or_of_any():
    now = now_utc()
    waiting, done = ContactFactory(first_name="Waiting"), ContactFactory(first_name="Done")
    deferred = past_send(waiting, "email", now, outcome="deferred")
    past_send(done, "email", now, outcome="sent")
    other = MessageFactory(channels=["email"])
    assert matching(activity("deferred_message", deferred.message_id)) == {"Waiting"}
    assert matching(activity("deferred_message", other.pk)) == set()
    assert matching(activity("deferred_any")) == {"Waiting"}


def test_was_ever_deferred_still_holds_once_the_deferred_send_went_out(members):
    """Real sends: the engine defers a paused contact's send, and sends it when the pause ends."""
    from contacts.services import channel_pause_set
    from messaging import services

    ada, bob = members(first_name="Ada", time_zone="UTC"), members(first_name="Bob")
    channel_pause_set(contact=ada, channel=channel("email"), pause_from=datetime.date(2026, 3, 1),
                      pause_to=datetime.date(2026, 3, 7), source="system")
    message = MessageFactory(name="Spring sale", channels=["email"], segments=[members.segment])
    other = MessageFactory(channels=["email"])
    run_dispatch(message, now=datetime.datetime(2026, 3, 5, 12, tzinfo=datetime.UTC))
    assert matching(activity("deferred_any")) == matching(activity("was_deferred_any")) == {"Ada"}
    services.deferred_process(now=datetime.datetime(2026, 3, 8, 0, 1, tzinfo=datetime.UTC))
    assert send_of(message, ada).outcome == "sending"
    assert matching(activity("deferred_any")) == set()
    assert matching(activity("was_deferred_any")) == {"Ada"}
    assert matching(activity("was_deferred_message", message.pk)) == {"Ada"}
    assert matching(activity("was_deferred_message", other.pk)) == set()


def test_the_database_refuses_a_deferred_send_that_does_not_record_its_deferral():
    from django.db import IntegrityError

    deferred = past_send(ContactFactory(), "email", now_utc(), outcome="deferred")
    with pytest.raises(IntegrityError), transaction.atomic():
        type(deferred).objects.filter(pk=deferred.pk).update(first_deferred_at=None)


def test_a_filter_with_activity_is_one_statement():
    past_send(ContactFactory(), "email", now_utc())
    catalog = FilterCatalog.load()
    spec = filter_clean({"join": "or", "groups": [
        {"join": "and", "conditions": [{"field": "activity", "op": "sent_in_last", "value": 5},
                                       {"field": "activity", "op": "deferred_any"}]},
        {"join": "and", "conditions": [{"field": "email_domain", "op": "equals", "value": "example.com"}]}]},
        catalog=catalog)
    with CaptureQueriesContext(connection) as queries:
        assert Contact.objects.filter(filter_q(spec, catalog=catalog)).count() == 1
    assert len(queries) == 1


@pytest.mark.parametrize(("op", "value", "message"), [
    ("sent_message", 987654, "choose one of the listed values."),
    ("sent_message", None, "choose one of the listed values."),
    ("sent_message", "Spring sale", "choose one of the listed values."),
    ("sent_in_last", 0, "the number of days is a whole number"),
    ("sent_in_last", True, "the number of days is a whole number"),
    ("sent_in_last", "ten", "the number of days is a whole number"),
    ("none_sent_in_last", 10**9, "the number of days is a whole number"),
    ("deferred_any", 3, "this operator takes no value."),
    ("opened", 3, "has no operator “opened”"),
])
def test_bad_activity_values_are_refused_with_a_reason(op, value, message):
    MessageFactory(channels=["email"])
    with pytest.raises(ValidationError) as refused:
        filter_clean(activity(op, value))
    assert message in " ".join(refused.value.messages)


def test_numbers_typed_in_a_form_are_accepted_as_whole_numbers():
    sale = MessageFactory(channels=["email"])
    cleaned = filter_clean({"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "activity", "op": "sent_in_last", "value": "30"},
        {"field": "activity", "op": "sent_message", "value": str(sale.pk)}]}]})
    assert [c["value"] for c in cleaned["groups"][0]["conditions"]] == [30, sale.pk]


def test_the_filter_reads_in_words():
    sale = MessageFactory(name="Spring <sale>", channels=["email"])
    spec = {"join": "and", "groups": [{"join": "or", "conditions": [
        {"field": "activity", "op": "sent_message", "value": sale.pk},
        {"field": "activity", "op": "not_sent_message", "value": sale.pk},
        {"field": "activity", "op": "sent_in_last", "value": 30},
        {"field": "activity", "op": "none_sent_in_last", "value": 7},
        {"field": "activity", "op": "deferred_message", "value": sale.pk},
        {"field": "activity", "op": "deferred_any"},
        {"field": "activity", "op": "was_deferred_message", "value": sale.pk},
        {"field": "activity", "op": "was_deferred_any"}]}]}
    assert filter_words(spec, catalog=FilterCatalog.load()) == (
        "Was sent “Spring <sale>” or Was not sent “Spring <sale>” or Was sent a message in the last 30 days"
        " or Was sent no message in the last 7 days or Has a deferred send of “Spring <sale>”"
        " or Has a deferred send of any message or Was ever deferred for “Spring <sale>”"
        " or Was ever deferred for any message"
    )


def test_a_dispatch_to_an_activity_segment_rebuilds_it_from_the_sends_first(sale):
    """No rebuild by hand: planning the follow-up rebuilds the segment and sees the sale's sends."""
    follow_up_segment = SegmentFactory(filter=activity("sent_message", sale.pk))
    follow_up = MessageFactory(name="Thanks", channels=["email"], segments=[follow_up_segment])
    dispatch = run_dispatch(follow_up, now=now_utc())
    assert dispatch.recipients == 1
    assert set(follow_up.sends.values_list("contact__first_name", flat=True)) == {"Ann"}


def test_a_message_to_those_it_was_not_sent_yet_reaches_only_newcomers_the_second_time():
    """A segment naming the message that targets it reads history: no cycle, each run finds the rest."""
    first = ContactFactory(first_name="First", email="first@acme.com")
    message = MessageFactory(name="Welcome", channels=["email"])
    segment = SegmentFactory(filter={"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "email_domain", "op": "equals", "value": "acme.com"},
        {"field": "activity", "op": "not_sent_message", "value": message.pk}]}]})
    message.segments.add(segment)
    run_dispatch(message, now=now_utc())
    assert send_of(message, first).outcome == "sent"
    newcomer = ContactFactory(first_name="New", email="new@acme.com")
    dispatch = run_dispatch(message, now=now_utc())
    assert dispatch.recipients == 1
    assert send_of(message, newcomer).outcome == "sent"
    assert set(SegmentMembership.objects.filter(segment=segment).values_list("contact__first_name", flat=True)) \
        == {"New"}  # the second plan rebuilt it: First, already sent, left


def test_a_rebuild_adds_and_drops_members_as_sends_change(sale):
    segment = SegmentFactory(filter=activity("sent_in_last", 3))
    result = segment_rebuild(segment_id=segment.pk)
    assert (result.added, result.removed) == (1, 0)
    sale.sends.update(sent_at=now_utc() - datetime.timedelta(days=4))
    result = segment_rebuild(segment_id=segment.pk)
    assert (result.added, result.removed) == (0, 1)


def test_a_contacts_refresh_evaluates_activity_without_reading_message_names(sale):
    """Re-evaluating one contact on every change must not list the messages for a picker."""
    ann = Contact.objects.get(first_name="Ann")
    segment = SegmentFactory(filter=activity("sent_message", sale.pk))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        contact_segments_refresh(contact=ann)
    assert SegmentMembership.objects.filter(segment=segment, contact=ann).exists()
    assert not [q for q in queries if f'FROM "{Message._meta.db_table}"' in q["sql"]]


def test_a_custom_field_change_re_evaluates_activity_with_the_rest(sale):
    ContactFieldFactory(key="plan", type="text")
    ann = Contact.objects.get(first_name="Ann")
    segment = SegmentFactory(filter={"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "field:plan", "op": "equals", "value": "gold"},
        {"field": "activity", "op": "sent_message", "value": sale.pk}]}]})
    contact_fields_update(contact=ann, values={"plan": "gold"}, source="staff:edith")
    assert SegmentMembership.objects.filter(segment=segment, contact=ann, origin="filter").exists()


# --- Staff pages ------------------------------------------------------------------------------------

@pytest.fixture
def editor_client():
    user = UserFactory(username="edith")
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(user)
    return client


def test_the_builder_offers_message_activity_with_a_message_picker(editor_client):
    sale = MessageFactory(name="Spring sale", channels=["email"])
    page = editor_client.get(reverse("contacts:segment_create")).content.decode()
    # What the builder script reads: the catalog in its JSON script element.
    catalog = json.loads(re.search(r'<script id="filter-catalog" type="application/json">(.*?)</script>', page,
                                   re.S).group(1))
    item = next(field for field in catalog if field["key"] == "activity")
    assert item["label"] == "Message activity"
    assert [(o["op"], o["value"]) for o in item["operators"]] == [
        ("sent_message", "choice"), ("not_sent_message", "choice"), ("sent_in_last", "days"),
        ("none_sent_in_last", "days"), ("deferred_message", "choice"), ("deferred_any", "none"),
        ("was_deferred_message", "choice"), ("was_deferred_any", "none")]
    assert item["choices"] == [[str(sale.pk), "Spring sale"]]


def test_a_bad_activity_value_is_a_form_error_and_a_400(editor_client):
    bad = json.dumps(activity("sent_in_last", -3))
    form = editor_client.post(reverse("contacts:segment_create"), {
        "name": "Quiet", "slug": "quiet", "public_name": "", "description": "", "filter": bad})
    assert form.status_code == 200 and "the number of days is a whole number" in form.content.decode()
    assert not Segment.objects.filter(slug="quiet").exists()
    count = editor_client.post(reverse("contacts:segment_filter_count"), {"filter": bad})
    assert count.status_code == 400 and "the number of days" in " ".join(count.json()["errors"])


def test_the_live_count_counts_activity(editor_client, sale):
    count = editor_client.post(reverse("contacts:segment_filter_count"),
                               {"filter": json.dumps(activity("sent_message", sale.pk))})
    assert count.json()["text"] == "1 contact matches."


def test_the_segment_page_reads_the_activity_filter_in_words_with_the_name_escaped(editor_client):
    sale = MessageFactory(name="Spring <b>sale</b>", channels=["email"])
    segment = SegmentFactory(filter=activity("not_sent_message", sale.pk))
    page = editor_client.get(reverse("contacts:segment_detail", args=[segment.pk])).content.decode()
    assert "Was not sent “Spring &lt;b&gt;sale&lt;/b&gt;”" in page
