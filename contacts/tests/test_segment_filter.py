"""Each filter operator and type selects the contacts a staff member expects; bad filters are refused."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import Contact, DoNotContact, Segment, SegmentMembership
from contacts.segment_filter import FilterCatalog, filter_clean, filter_q, filter_words
from contacts.services import category_subscribe, category_unsubscribe, channel_unsubscribe
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, channel

pytestmark = pytest.mark.django_db


def spec(*conditions, join="and"):
    return {"join": "and", "groups": [{"join": join, "conditions": list(conditions)}]}


def matching(filter_spec) -> set[str]:
    catalog = FilterCatalog.load()
    q = filter_q(filter_clean(filter_spec, catalog=catalog), catalog=catalog)
    return set(Contact.objects.filter(q).values_list("first_name", flat=True))


@pytest.fixture
def people():
    ContactFactory(first_name="Ann", last_name="Lee", email="ann@acme.com", phone="+33611111111", locale="fr",
                   time_zone="Europe/Paris")
    ContactFactory(first_name="Bob", last_name="Stone", email="bob@mail.org", phone="", locale="en",
                   time_zone="America/New_York")
    ContactFactory(first_name="Cy", last_name="", email="cy@sub.acme.com", phone="+33622222222", locale="en",
                   time_zone="UTC")


@pytest.mark.parametrize(("condition", "expected"), [
    ({"field": "first_name", "op": "equals", "value": "ann"}, {"Ann"}),
    ({"field": "first_name", "op": "not_equals", "value": "Ann"}, {"Bob", "Cy"}),
    ({"field": "email", "op": "contains", "value": "ACME"}, {"Ann", "Cy"}),
    ({"field": "email", "op": "not_contains", "value": "acme"}, {"Bob"}),
    ({"field": "last_name", "op": "starts_with", "value": "st"}, {"Bob"}),
    ({"field": "email", "op": "ends_with", "value": ".org"}, {"Bob"}),
    ({"field": "first_name", "op": "in", "value": ["ann", "CY"]}, {"Ann", "Cy"}),
    ({"field": "last_name", "op": "empty"}, {"Cy"}),
    ({"field": "phone", "op": "not_empty"}, {"Ann", "Cy"}),
    ({"field": "email_domain", "op": "equals", "value": "acme.com"}, {"Ann"}),
    ({"field": "email_domain", "op": "not_equals", "value": "acme.com"}, {"Bob", "Cy"}),
    ({"field": "email_domain", "op": "ends_with", "value": "acme.com"}, {"Ann", "Cy"}),
    ({"field": "email_domain", "op": "in", "value": ["@mail.org", "sub.acme.com"]}, {"Bob", "Cy"}),
    ({"field": "locale", "op": "equals", "value": "fr"}, {"Ann"}),
    ({"field": "locale", "op": "not_equals", "value": "fr"}, {"Bob", "Cy"}),
    ({"field": "locale", "op": "in", "value": ["en"]}, {"Bob", "Cy"}),
    ({"field": "time_zone", "op": "starts_with", "value": "America/"}, {"Bob"}),
])
def test_each_text_and_choice_operator_selects_the_expected_contacts(people, condition, expected):
    assert matching(spec(condition)) == expected


def test_created_dates_absolute_and_relative(people):
    now = timezone.now()
    Contact.objects.filter(first_name="Ann").update(created_at=now - datetime.timedelta(days=400))
    Contact.objects.filter(first_name="Bob").update(created_at=now - datetime.timedelta(days=10))
    old_day = (now - datetime.timedelta(days=400)).date()
    assert matching(spec({"field": "created", "op": "in_last", "value": {"amount": 30, "unit": "days"}})) == {"Bob", "Cy"}
    assert matching(spec({"field": "created", "op": "more_than_ago", "value": {"amount": 1, "unit": "years"}})) == {"Ann"}
    assert matching(spec({"field": "created", "op": "more_than_ago", "value": {"amount": 2, "unit": "weeks"}})) == {"Ann"}
    assert matching(spec({"field": "created", "op": "in_last", "value": {"amount": 12, "unit": "months"}})) == {"Bob", "Cy"}
    assert matching(spec({"field": "created", "op": "before", "value": (old_day + datetime.timedelta(days=1)).isoformat()})) == {"Ann"}
    assert matching(spec({"field": "created", "op": "after", "value": old_day.isoformat()})) == {"Bob", "Cy"}
    assert matching(spec({"field": "created", "op": "equals", "value": old_day.isoformat()})) == {"Ann"}
    between = [(now - datetime.timedelta(days=11)).date().isoformat(), (now - datetime.timedelta(days=9)).date().isoformat()]
    assert matching(spec({"field": "created", "op": "between", "value": between})) == {"Bob"}
    assert matching(spec({"field": "created", "op": "not_empty"})) == {"Ann", "Bob", "Cy"}


def test_channel_state_uses_the_contactable_rule(people):
    bob, cy = Contact.objects.get(first_name="Bob"), Contact.objects.get(first_name="Cy")
    channel_unsubscribe(contact=cy, channel=channel("sms"), source="sms_stop")
    # Bob has no phone: not contactable by SMS although he has no do-not-contact.
    assert matching(spec({"field": "channel:sms", "op": "contactable"})) == {"Ann"}
    assert matching(spec({"field": "channel:sms", "op": "not_contactable"})) == {"Bob", "Cy"}
    assert matching(spec({"field": "channel:sms", "op": "dnc", "value": "any"})) == {"Cy"}
    assert matching(spec({"field": "channel:sms", "op": "dnc", "value": "unsubscribed"})) == {"Cy"}
    assert matching(spec({"field": "channel:sms", "op": "dnc", "value": "bounced"})) == set()
    assert DoNotContact.objects.filter(contact=bob).count() == 0


def test_subscribed_categories_follow_the_send_rule_for_opt_out_and_opt_in(people):
    ann, bob = Contact.objects.get(first_name="Ann"), Contact.objects.get(first_name="Bob")
    news, club = CategoryFactory(opt_in=False), CategoryFactory(opt_in=True)
    category_unsubscribe(contact=ann, category=news, source="public_page")
    category_subscribe(contact=bob, category=club, source="public_page")
    assert matching(spec({"field": "category", "op": "receives", "value": news.pk})) == {"Bob", "Cy"}
    assert matching(spec({"field": "category", "op": "not_receives", "value": news.pk})) == {"Ann"}
    assert matching(spec({"field": "category", "op": "receives", "value": club.pk})) == {"Bob"}
    assert matching(spec({"field": "category", "op": "not_receives", "value": str(club.pk)})) == {"Ann", "Cy"}


def test_segment_membership_conditions_ignore_removed_members(people):
    segment = SegmentFactory()
    ann, bob = Contact.objects.get(first_name="Ann"), Contact.objects.get(first_name="Bob")
    SegmentMembership.objects.create(contact=ann, segment=segment, source="import")
    SegmentMembership.objects.create(contact=bob, segment=segment, source="import", removed=True)
    assert matching(spec({"field": "segment", "op": "in_segment", "value": segment.pk})) == {"Ann"}
    assert matching(spec({"field": "segment", "op": "not_in_segment", "value": segment.pk})) == {"Bob", "Cy"}


def test_groups_join_as_written(people):
    ann_or_bob = {
        "join": "or",
        "groups": [
            {"join": "and", "conditions": [{"field": "locale", "op": "equals", "value": "fr"},
                                           {"field": "phone", "op": "not_empty"}]},
            {"join": "or", "conditions": [{"field": "first_name", "op": "equals", "value": "Bob"},
                                          {"field": "first_name", "op": "equals", "value": "Nobody"}]},
        ],
    }
    assert matching(ann_or_bob) == {"Ann", "Bob"}
    assert matching({**ann_or_bob, "join": "and"}) == set()


def test_a_filter_reads_in_words():
    news = CategoryFactory(name="News")
    filter_spec = {"join": "or", "groups": [
        {"join": "and", "conditions": [{"field": "email_domain", "op": "equals", "value": "acme.com"},
                                       {"field": "channel:email", "op": "contactable"}]},
        {"join": "and", "conditions": [{"field": "category", "op": "receives", "value": news.pk}]},
    ]}
    words = filter_words(filter_clean(filter_spec), catalog=FilterCatalog.load())
    assert words == "(Email domain is “acme.com” and Email is contactable) or Subscribed Categories receives “News”"


@pytest.mark.parametrize("bad", [
    None, [], "x", {"groups": []}, {"join": "xor", "groups": [{"conditions": [{"field": "email", "op": "empty"}]}]},
    {"groups": [{"conditions": []}]},
    {"groups": [{"conditions": [{"field": "shoe_size", "op": "equals", "value": "4"}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "gt", "value": "a"}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "equals", "value": 4}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "equals", "value": ""}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "equals", "value": "a\x00b"}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "empty", "value": "x"}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "in", "value": []}]}]},
    {"groups": [{"conditions": [{"field": "locale", "op": "equals", "value": "klingon"}]}]},
    {"groups": [{"conditions": [{"field": "created", "op": "before", "value": "2026-02-30"}]}]},
    {"groups": [{"conditions": [{"field": "created", "op": "between", "value": ["2026-03-01", "2026-02-01"]}]}]},
    {"groups": [{"conditions": [{"field": "created", "op": "in_last", "value": {"amount": -3, "unit": "days"}}]}]},
    {"groups": [{"conditions": [{"field": "created", "op": "in_last", "value": {"amount": 3, "unit": "aeons"}}]}]},
    {"groups": [{"conditions": [{"field": "channel:pigeon", "op": "contactable"}]}]},
    {"groups": [{"conditions": [{"field": "channel:email", "op": "dnc", "value": "bored"}]}]},
    {"groups": [{"conditions": [{"field": "category", "op": "receives", "value": 999999}]}]},
    {"groups": [{"conditions": [{"field": "category", "op": "receives", "value": True}]}]},
    {"groups": [{"conditions": [{"field": "segment", "op": "in_segment", "value": "²"}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": "empty", "extra": 1}]}]},
    {"groups": [{"conditions": [{"field": ["email"], "op": "empty"}]}]},
    {"groups": [{"conditions": [{"field": "email", "op": {"x": 1}}]}]},
])
def test_a_bad_filter_is_a_validation_error(bad):
    with pytest.raises(ValidationError):
        filter_clean(bad)


def test_a_segment_cannot_depend_on_itself_through_other_segments():
    first = SegmentFactory()
    second = SegmentFactory(filter={"join": "and", "groups": [
        {"join": "and", "conditions": [{"field": "segment", "op": "in_segment", "value": first.pk}]}]})
    back_to_second = spec({"field": "segment", "op": "in_segment", "value": second.pk})
    with pytest.raises(ValidationError, match="cycle"):
        filter_clean(back_to_second, segment_id=first.pk)
    with pytest.raises(ValidationError, match="cycle"):
        filter_clean(spec({"field": "segment", "op": "not_in_segment", "value": first.pk}), segment_id=first.pk)
    third = Segment.objects.create(name="Third", slug="third")
    assert filter_clean(back_to_second, segment_id=third.pk)["groups"][0]["conditions"][0]["value"] == second.pk


@pytest.fixture
def custom(people):
    from contacts.models import ContactField
    from contacts.services.fields import contact_fields_update

    ContactField.objects.create(key="plan", label="Plan", type="choice", choices=["gold", "silver"])
    ContactField.objects.create(key="score", label="Score", type="number")
    ContactField.objects.create(key="renewal", label="Renewal", type="date")
    ContactField.objects.create(key="vip", label="VIP", type="boolean")
    ContactField.objects.create(key="contains", label="Company", type="text")
    today = timezone.now().date()
    values = {
        "Ann": {"plan": "gold", "score": "12.5", "renewal": (today - datetime.timedelta(days=5)).isoformat(),
                "vip": True, "contains": "Acme Inc"},
        "Bob": {"plan": "silver", "score": 3, "renewal": (today - datetime.timedelta(days=800)).isoformat(),
                "vip": False, "contains": "Mail Corp"},
    }
    for name, fields in values.items():
        contact_fields_update(contact=Contact.objects.get(first_name=name), values=fields, source="import")
    return today


@pytest.mark.parametrize(("condition", "expected"), [
    ({"field": "field:plan", "op": "equals", "value": "gold"}, {"Ann"}),
    ({"field": "field:plan", "op": "not_equals", "value": "gold"}, {"Bob", "Cy"}),
    ({"field": "field:plan", "op": "in", "value": ["gold", "silver"]}, {"Ann", "Bob"}),
    ({"field": "field:plan", "op": "empty"}, {"Cy"}),
    ({"field": "field:plan", "op": "not_empty"}, {"Ann", "Bob"}),
    ({"field": "field:score", "op": "equals", "value": 3}, {"Bob"}),
    ({"field": "field:score", "op": "gt", "value": 3}, {"Ann"}),
    ({"field": "field:score", "op": "lt", "value": 12.5}, {"Bob"}),
    ({"field": "field:score", "op": "between", "value": [3, 12.5]}, {"Ann", "Bob"}),
    ({"field": "field:score", "op": "in", "value": [3, 4]}, {"Bob"}),
    ({"field": "field:vip", "op": "is_true"}, {"Ann"}),
    ({"field": "field:vip", "op": "is_false"}, {"Bob"}),
    ({"field": "field:vip", "op": "empty"}, {"Cy"}),
    ({"field": "field:contains", "op": "contains", "value": "acme"}, {"Ann"}),
    ({"field": "field:contains", "op": "equals", "value": "mail corp"}, {"Bob"}),
    ({"field": "field:contains", "op": "not_contains", "value": "acme"}, {"Bob", "Cy"}),
    ({"field": "field:contains", "op": "starts_with", "value": "Mail"}, {"Bob"}),
    ({"field": "field:contains", "op": "ends_with", "value": "inc"}, {"Ann"}),
    ({"field": "field:contains", "op": "in", "value": ["ACME INC", "x"]}, {"Ann"}),
    ({"field": "field:renewal", "op": "in_last", "value": {"amount": 1, "unit": "weeks"}}, {"Ann"}),
    ({"field": "field:renewal", "op": "more_than_ago", "value": {"amount": 2, "unit": "years"}}, {"Bob"}),
])
def test_each_custom_field_operator_selects_by_the_stored_type(custom, condition, expected):
    assert matching(spec(condition)) == expected


def test_custom_dates_compare_as_days(custom):
    five_days_ago = (custom - datetime.timedelta(days=5)).isoformat()
    assert matching(spec({"field": "field:renewal", "op": "equals", "value": five_days_ago})) == {"Ann"}
    assert matching(spec({"field": "field:renewal", "op": "before", "value": five_days_ago})) == {"Bob"}
    assert matching(spec({"field": "field:renewal", "op": "after", "value": "2000-01-01"})) == {"Ann", "Bob"}
    assert matching(spec({"field": "field:renewal", "op": "between", "value": [five_days_ago, five_days_ago]})) == {"Ann"}


def test_a_custom_choice_outside_its_list_or_a_number_as_text_is_refused(custom):
    with pytest.raises(ValidationError):
        filter_clean(spec({"field": "field:plan", "op": "equals", "value": "bronze"}))
    with pytest.raises(ValidationError):
        filter_clean(spec({"field": "field:score", "op": "gt", "value": "3"}))
    with pytest.raises(ValidationError):
        filter_clean(spec({"field": "field:vip", "op": "equals", "value": True}))
