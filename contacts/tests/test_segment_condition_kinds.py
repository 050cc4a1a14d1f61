"""Another app's condition kind goes through the same validation, compilation, words and builder
catalog as the built-in conditions; contacts knows nothing of it but what it registered."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q

from contacts.models import Contact
from contacts.segment_filter import (
    CONDITION_KINDS, ConditionKind, FilterCatalog, KindOperator, condition_kind_register, filter_clean, filter_q,
    filter_words,
)
from contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

TIERS = [("1", "Bronze"), ("2", "Silver")]


def tier_q(op, value, now):
    return {"tier": Q(phone__endswith=str(value)), "quiet": Q(phone=""), "young": Q(created_at__gte=now)}[op]


KIND = ConditionKind(
    key="tier", label="Tier",
    operators=(KindOperator("tier", "is in tier", "choice", "In tier %(value)s"),
               KindOperator("quiet", "has no phone", "none", "Has no phone"),
               KindOperator("young", "joined within (days)", "days", "Joined in the last %(value)s days")),
    choices=lambda: TIERS, q=tier_q,
)


@pytest.fixture(autouse=True)
def registered():
    condition_kind_register(KIND)
    yield
    CONDITION_KINDS.pop(KIND.key)


def one(op, value=None):
    condition = {"field": "tier", "op": op} | ({} if value is None else {"value": value})
    return {"join": "and", "groups": [{"join": "and", "conditions": [condition]}]}


def test_a_registered_kind_is_validated_compiled_and_read_in_words():
    ContactFactory(first_name="Two", phone="+33600000002")
    ContactFactory(first_name="None", phone="")
    catalog = FilterCatalog.load()
    spec = filter_clean(one("tier", "2"), catalog=catalog)
    assert spec == one("tier", 2)
    assert set(Contact.objects.filter(filter_q(spec, catalog=catalog)).values_list("first_name", flat=True)) == {"Two"}
    assert filter_words(spec, catalog=catalog) == "In tier “Silver”"
    assert filter_words(one("young", 3), catalog=catalog) == "Joined in the last 3 days"


@pytest.mark.parametrize(("op", "value"), [("tier", 3), ("tier", None), ("quiet", 1), ("young", 0), ("young", 1.5),
                                           ("opened", None)])
def test_bad_values_of_a_registered_kind_are_refused(op, value):
    with pytest.raises(ValidationError):
        filter_clean(one(op, value))


def test_the_builder_catalog_says_which_value_each_operator_takes():
    item = next(field for field in FilterCatalog.load().as_json() if field["key"] == "tier")
    assert item["operators"] == [{"op": "tier", "label": "is in tier", "value": "choice"},
                                 {"op": "quiet", "label": "has no phone", "value": "none"},
                                 {"op": "young", "label": "joined within (days)", "value": "days"}]
    assert item["choices"] == [["1", "Bronze"], ["2", "Silver"]]


@pytest.mark.parametrize("key", ["email", "category", "channel:email", "field:plan"])
def test_a_kind_may_not_hide_a_built_in_field(key):
    with pytest.raises(ValueError):
        condition_kind_register(ConditionKind(key=key, label="x", operators=(), choices=list, q=tier_q))
