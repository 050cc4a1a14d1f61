"""Dynamic segments: rebuilds and per-contact refreshes keep members in line with the filter."""

import pytest
from django.db import transaction

from contacts.models import CategorySubscription, Contact, PreferenceChange, Segment, SegmentMembership
from contacts.services import (
    Source, category_subscribe, category_unsubscribe, channel_subscribe, channel_unsubscribe, contact_save,
    segment_create, segment_membership_add, segment_membership_remove, segment_update,
)
from contacts.services.dynamic_segments import contact_segments_refresh, segment_rebuild
from contacts.tests.concurrency import Gate, Racer, wait_until
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory, channel

pytestmark = pytest.mark.django_db


def condition(field, op, value=None):
    item = {"field": field, "op": op}
    if value is not None:
        item["value"] = value
    return item


def a_filter(*conditions):
    return {"join": "and", "groups": [{"join": "and", "conditions": list(conditions)}]}


def members(segment) -> set[str]:
    return set(SegmentMembership.objects.filter(segment=segment, removed=False).values_list("contact__email", flat=True))


def dynamic(*conditions, **fields) -> Segment:
    return SegmentFactory(filter=a_filter(*conditions), **fields)


ACME = condition("email_domain", "equals", "acme.com")


def test_a_rebuild_adds_the_matching_contacts_once_with_one_history_row_each():
    ContactFactory(email="a@acme.com"), ContactFactory(email="b@acme.com"), ContactFactory(email="c@other.org")
    segment = dynamic(ACME)
    result = segment_rebuild(segment_id=segment.pk)
    assert (result.added, result.removed) == (2, 0)
    assert members(segment) == {"a@acme.com", "b@acme.com"}
    history = PreferenceChange.objects.filter(segment=segment)
    assert sorted(history.values_list("source", "old_value", "new_value")) == [("filter", None, "member")] * 2
    again = segment_rebuild(segment_id=segment.pk)
    assert (again.added, again.removed) == (0, 0)
    assert history.count() == 2
    segment.refresh_from_db()
    assert (segment.rebuild_added, segment.rebuild_removed, segment.rebuilt_at is not None) == (0, 0, True)


def test_a_rebuild_removes_filter_members_who_no_longer_match_but_keeps_manual_ones():
    kept_by_hand, by_filter = ContactFactory(email="hand@acme.com"), ContactFactory(email="filter@acme.com")
    segment = dynamic(ACME)
    segment_rebuild(segment_id=segment.pk)
    segment_membership_add(contact=kept_by_hand, segment=segment, source="staff:alice")
    for moved in (kept_by_hand, by_filter):  # a raw update: only the rebuild notices
        Contact.objects.filter(pk=moved.pk).update(email=f"{moved.pk}@elsewhere.net")
    result = segment_rebuild(segment_id=segment.pk)
    assert result.removed == 1
    assert SegmentMembership.objects.get(segment=segment).contact == kept_by_hand
    assert SegmentMembership.objects.get(segment=segment).how == "manual"
    gone = PreferenceChange.objects.get(segment=segment, contact=by_filter, new_value__isnull=True)
    assert (gone.old_value, gone.source) == ("member", "filter")


def test_a_removed_member_is_never_added_back_by_a_rebuild_only_by_an_explicit_add():
    contact = ContactFactory(email="left@acme.com")
    segment = dynamic(ACME, public=True)
    segment_rebuild(segment_id=segment.pk)
    segment_membership_remove(contact=contact, segment=segment, source="public_page")
    segment_rebuild(segment_id=segment.pk)
    with transaction.atomic():
        contact_segments_refresh(contact=contact)
    assert members(segment) == set()
    assert SegmentMembership.objects.get(segment=segment).how == "removed"
    segment_membership_add(contact=contact, segment=segment, source="staff:alice")
    assert SegmentMembership.objects.get(segment=segment).how == "manual"


def test_a_category_unsubscribe_leaves_every_matching_segment_at_once():
    news, other = CategoryFactory(), CategoryFactory()
    contact, stays = ContactFactory(), ContactFactory()
    receives_news = dynamic(condition("category", "receives", news.pk))
    news_by_email = dynamic(condition("category", "receives", news.pk), condition("channel:email", "contactable"))
    receives_other = dynamic(condition("category", "receives", other.pk))
    for segment in (receives_news, news_by_email, receives_other):
        segment_rebuild(segment_id=segment.pk)
    category_unsubscribe(contact=contact, category=news, source="one_click")
    assert contact.email not in members(receives_news) | members(news_by_email)
    assert {contact.email, stays.email} <= members(receives_other)
    assert stays.email in members(receives_news) & members(news_by_email)
    category_subscribe(contact=contact, category=news, source="public_page")
    assert contact.email in members(receives_news)


def test_channel_state_changes_move_the_contact_at_once():
    contact = ContactFactory()
    reachable = dynamic(condition("channel:email", "contactable"))
    segment_rebuild(segment_id=reachable.pk)
    channel_unsubscribe(contact=contact, channel=channel("email"), source="one_click")
    assert contact.email not in members(reachable)
    channel_subscribe(contact=contact, channel=channel("email"), source="public_page")
    assert contact.email in members(reachable)


def test_a_contact_saved_with_a_new_address_joins_and_leaves_at_once():
    segment = dynamic(ACME)
    contact = contact_save(contact=Contact(email="new@acme.com"), source="import")
    assert members(segment) == {"new@acme.com"}
    contact.email = "new@other.org"
    contact_save(contact=contact, source="staff:alice")
    assert members(segment) == set()


def test_a_custom_field_change_moves_the_contact_at_once():
    from contacts.models import ContactField
    from contacts.services.fields import contact_fields_update

    ContactField.objects.create(key="plan", label="Plan", type="choice", choices=["gold", "silver"])
    contact = ContactFactory()
    gold = dynamic(condition("field:plan", "equals", "gold"))
    contact_fields_update(contact=contact, values={"plan": "gold"}, source="import")
    assert contact.email in members(gold)
    contact_fields_update(contact=contact, values={"plan": "silver"}, source="import")
    assert contact.email not in members(gold)


def test_another_segments_membership_change_follows_through_in_dependency_order():
    vip = SegmentFactory()
    vip_reachable = dynamic(condition("segment", "in_segment", vip.pk), condition("channel:email", "contactable"))
    not_vip_reachable = dynamic(condition("segment", "not_in_segment", vip_reachable.pk))
    contact = ContactFactory()
    segment_rebuild(segment_id=not_vip_reachable.pk)
    assert contact.email in members(not_vip_reachable)
    segment_membership_add(contact=contact, segment=vip, source="staff:alice")
    assert contact.email in members(vip_reachable)
    assert contact.email not in members(not_vip_reachable)


def test_saving_a_filter_that_would_make_a_cycle_is_refused_and_changes_nothing():
    from django.core.exceptions import ValidationError

    user = UserFactory()
    first = segment_create(acting_user=user, name="First", slug="first")
    second = segment_create(acting_user=user, name="Second", slug="second",
                            filter=a_filter(condition("segment", "in_segment", first.pk)))
    with pytest.raises(ValidationError):
        segment_update(segment=first, acting_user=user, filter=a_filter(condition("segment", "in_segment", second.pk)))
    first.refresh_from_db()
    assert first.filter is None


@pytest.mark.django_db(transaction=True)
def test_two_rebuilds_at_once_take_turns_so_the_later_sees_the_earlier_rows():
    """The first rebuild adds a contact and holds its transaction; the contact then stops matching
    (committed); the second rebuild must wait for the first and then remove them. Without the lock
    it would not see the first one's row and leave a member who no longer matches."""
    contact = ContactFactory(email="racer@acme.com")
    segment = dynamic(ACME)
    gate = Gate()

    def first():
        with transaction.atomic():
            result = segment_rebuild(segment_id=segment.pk)
            gate.stop_here()
        return result

    one = Racer(first, "first").begin()
    wait_until(lambda: gate.reached.is_set() or not one.is_alive(), "the first rebuild to add the contact")
    Contact.objects.filter(pk=contact.pk).update(email="racer@elsewhere.net")
    two = Racer(lambda: segment_rebuild(segment_id=segment.pk), "second").begin()
    wait_until(two.finished_or_waiting, "the second rebuild to finish or wait")
    gate.open()
    assert one.finish().added == 1
    assert two.finish().removed == 1, two.error
    assert not SegmentMembership.objects.filter(segment=segment).exists()
    assert PreferenceChange.objects.filter(segment=segment).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_running_while_a_contact_change_adds_them_does_not_fail_or_duplicate():
    """The change's refresh has inserted the contact's row, not yet committed; the rebuild does not
    see it and inserts too: it must wait and then leave the row, not fail on the unique constraint."""
    from contacts.tests.concurrency import race

    segment = dynamic(ACME)
    contact = ContactFactory(email="late@acme.com")
    one, two = race(lambda: contact_segments_refresh(contact=contact), lambda: segment_rebuild(segment_id=segment.pk))
    assert two.result.added == 0
    assert SegmentMembership.objects.filter(segment=segment).count() == 1
    assert PreferenceChange.objects.filter(segment=segment).count() == 1


def test_the_database_refuses_an_unknown_membership_origin():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentMembership.objects.create(contact=ContactFactory(), segment=SegmentFactory(), source="x", origin="magic")


def test_one_contacts_refresh_costs_a_constant_number_of_queries(django_assert_max_num_queries):
    news = CategoryFactory()
    vip = SegmentFactory()
    for conditions in ([ACME], [condition("category", "receives", news.pk)],
                       [condition("channel:sms", "contactable"), condition("segment", "in_segment", vip.pk)]):
        dynamic(*conditions)
    contact = ContactFactory(email="q@acme.com")
    with transaction.atomic(), django_assert_max_num_queries(10):
        contact_segments_refresh(contact=contact)
    assert SegmentMembership.objects.filter(contact=contact).count() == 2


def test_a_change_no_filter_depends_on_costs_one_query_and_moves_nothing(django_assert_num_queries):
    news, other = CategoryFactory(), CategoryFactory()
    receives_news = dynamic(condition("category", "receives", news.pk))
    contact = ContactFactory()
    segment_rebuild(segment_id=receives_news.pk)
    with transaction.atomic():
        unrelated = PreferenceChange.objects.create(contact=contact, kind=PreferenceChange.Kind.CATEGORY, category=other,
                                                    subject=other.slug, new_value="unsubscribed", source="one_click")
        with django_assert_num_queries(1):
            contact_segments_refresh(contact=contact, change=unrelated)
    category_unsubscribe(contact=contact, category=other, source="one_click")
    assert contact.email in members(receives_news)
    category_unsubscribe(contact=contact, category=news, source="one_click")
    assert contact.email not in members(receives_news)


def test_a_rebuild_inside_a_callers_transaction_gives_its_planner_settings_back():
    from django.db import connection

    segment = dynamic(ACME)
    settings = "SELECT current_setting('enable_nestloop'), current_setting('work_mem'), current_setting('jit')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(settings)
        before = cursor.fetchone()
        segment_rebuild(segment_id=segment.pk)
        cursor.execute(settings)
        assert cursor.fetchone() == before
        assert before[0] == "on"


# --- What a refresh keeps between calls: compiled statements, never the rules they came from ----

def test_a_filter_changed_without_the_services_counts_at_the_next_change():
    segment = dynamic(ACME)
    contact = ContactFactory(email="a@acme.com")
    contact_segments_refresh(contact=contact)  # compiles ACME
    assert members(segment) == {"a@acme.com"}
    Segment.objects.filter(pk=segment.pk).update(filter=a_filter(condition("email_domain", "equals", "other.org")))
    contact_segments_refresh(contact=contact)
    assert members(segment) == set()


def test_two_filter_changes_in_one_transaction_are_both_seen():
    """The second write of a row in the same transaction keeps its xmin; the version still changes."""
    segment = dynamic(ACME)
    contact = ContactFactory(email="a@acme.com")
    with transaction.atomic():
        Segment.objects.filter(pk=segment.pk).update(filter=a_filter(condition("email_domain", "equals", "b.org")))
        contact_segments_refresh(contact=contact)
        assert members(segment) == set()
        Segment.objects.filter(pk=segment.pk).update(filter=a_filter(ACME))
        contact_segments_refresh(contact=contact)
        assert members(segment) == {"a@acme.com"}


def test_a_category_turned_opt_in_counts_at_the_next_change():
    news, other = CategoryFactory(opt_in=False), CategoryFactory()
    contact = ContactFactory()
    receives_news = dynamic(condition("category", "receives", news.pk))
    contact_segments_refresh(contact=contact)
    assert contact.email in members(receives_news)  # opt-out: everyone but those who unsubscribed
    news.opt_in = True
    news.save()
    category_unsubscribe(contact=contact, category=other, source="one_click")  # no filter names it
    contact_save(contact=contact, source="staff:alice")
    assert contact.email not in members(receives_news)  # opt-in: subscribers only


def test_a_relative_date_is_measured_from_each_refresh_not_from_when_it_was_compiled():
    import datetime
    from unittest import mock

    from django.utils import timezone

    recent = dynamic(condition("created", "in_last", {"amount": 1, "unit": "days"}))
    contact = ContactFactory()
    contact_segments_refresh(contact=contact)
    assert contact.email in members(recent)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + datetime.timedelta(days=2)):
        contact_segments_refresh(contact=contact)
    assert contact.email not in members(recent)


def test_a_refresh_with_nothing_changed_since_the_last_costs_one_statement_and_a_move_two(django_assert_num_queries):
    news = CategoryFactory()
    receives_news = dynamic(condition("category", "receives", news.pk))
    dynamic(ACME)
    contact = ContactFactory()
    contact_segments_refresh(contact=contact)  # compiles both filters
    change = PreferenceChange(kind=PreferenceChange.Kind.CATEGORY, category=news, subject=news.slug)
    with transaction.atomic():
        with django_assert_num_queries(1):
            contact_segments_refresh(contact=contact, change=change)
        CategorySubscription.objects.create(contact=contact, category=news, status="unsubscribed", source="import")
        with django_assert_num_queries(2):
            contact_segments_refresh(contact=contact, change=change)
        assert contact.email not in members(receives_news)
        history = PreferenceChange.objects.filter(contact=contact, segment=receives_news).order_by("-id").first()
        assert (history.source, history.old_value, history.new_value) == ("filter", "member", None)


def test_a_filter_fixed_after_its_category_was_deleted_counts_at_the_next_change():
    """While nothing compiles (the category is gone), the refresh still checks what it kept."""
    gone = CategoryFactory()
    contact = ContactFactory(email="a@other.org")
    segment = dynamic(condition("category", "receives", gone.pk))
    contact_segments_refresh(contact=contact)
    assert contact.email in members(segment)
    gone.delete()
    contact_segments_refresh(contact=contact)  # compiles nothing: the filter names a deleted category
    Segment.objects.filter(pk=segment.pk).update(filter=a_filter(ACME))
    contact_segments_refresh(contact=contact)
    assert contact.email not in members(segment)
