"""A dynamic segment's filter: the JSON staff build, validated one way, compiled to one SQL statement.

The stored form (``filter_clean`` returns it)::

    {"join": "or", "groups": [
        {"join": "and", "conditions": [
            {"field": "email_domain", "op": "equals", "value": "example.com"},
            {"field": "channel:email", "op": "contactable"},
            {"field": "category", "op": "receives", "value": 3}]},
        ...]}

Groups are joined by the outer ``join``, conditions inside a group by the group's: one level of
grouping, ``(A and B) or (C and D)``. ``filter_q`` turns it into a ``Q`` on contacts: the ORM
writes one parameterised statement (values are never formatted into SQL). Channel state,
"receives a category" and segment membership are the rules of ``contacts.rules``, the same ones
the send decision and the staff list use. Other apps add conditions with ``condition_kind_register``
(messaging: message activity), validated, compiled and offered by the same code.
"""

from __future__ import annotations

import calendar
import datetime
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, JSONField, OuterRef, Q, TextField, Value
from django.db.models.functions import Coalesce
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.lookups import (
    GreaterThan, GreaterThanOrEqual, IContains, IEndsWith, IExact, IStartsWith, LessThan, LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from contacts.dates import date_clean
from contacts.models import Category, Channel, DncReason, DoNotContact, Segment
from contacts.rules import category_receives_q, channel_reachable_q, segment_member_q

MAX_GROUPS, MAX_CONDITIONS, MAX_LIST, MAX_TEXT = 10, 20, 100, 200
MAX_AMOUNT = 100 * 366
UNITS = ("days", "weeks", "months", "years")
JOINS = ("and", "or")

NO_VALUE = frozenset({"empty", "not_empty", "is_true", "is_false", "contactable", "not_contactable"})

# Operators each type needs, in the order the builder lists them.
OPERATORS = {
    "text": ("equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "in", "empty",
             "not_empty"),
    "domain": ("equals", "not_equals", "ends_with", "in"),
    "number": ("equals", "not_equals", "gt", "lt", "between", "in", "empty", "not_empty"),
    "date": ("equals", "before", "after", "between", "in_last", "more_than_ago", "empty", "not_empty"),
    "boolean": ("is_true", "is_false", "empty", "not_empty"),
    "choice": ("equals", "not_equals", "in", "empty", "not_empty"),
    "channel": ("contactable", "not_contactable", "dnc"),
    "category": ("receives", "not_receives"),
    "segment": ("in_segment", "not_in_segment"),
}

OPERATOR_WORDS = {
    "equals": gettext_lazy("is"), "not_equals": gettext_lazy("is not"), "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"), "starts_with": gettext_lazy("starts with"),
    "ends_with": gettext_lazy("ends with"), "in": gettext_lazy("is one of"), "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"), "gt": gettext_lazy("is greater than"),
    "lt": gettext_lazy("is less than"), "between": gettext_lazy("is between"), "before": gettext_lazy("is before"),
    "after": gettext_lazy("is after"), "in_last": gettext_lazy("is in the last"),
    "more_than_ago": gettext_lazy("is more than"), "is_true": gettext_lazy("is yes"),
    "is_false": gettext_lazy("is no"), "contactable": gettext_lazy("is contactable"),
    "not_contactable": gettext_lazy("is not contactable"), "dnc": gettext_lazy("is do-not-contact for"),
    "receives": gettext_lazy("receives"), "not_receives": gettext_lazy("does not receive"),
    "in_segment": gettext_lazy("is in"), "not_in_segment": gettext_lazy("is not in"),
}

# Built-in fields: key → (label, type, model field).
BUILT_IN = {
    "email": (gettext_lazy("Email"), "text", "email"),
    "email_domain": (gettext_lazy("Email domain"), "domain", "email"),
    "first_name": (gettext_lazy("First name"), "text", "first_name"),
    "last_name": (gettext_lazy("Last name"), "text", "last_name"),
    "phone": (gettext_lazy("Phone"), "text", "phone"),
    "locale": (gettext_lazy("Language"), "choice", "locale"),
    "time_zone": (gettext_lazy("Time zone"), "text", "time_zone"),
    "created": (gettext_lazy("Created"), "date", "created_at"),
}
CUSTOM_PREFIX, CHANNEL_PREFIX = "field:", "channel:"


# --- Conditions other apps add ---------------------------------------------------------------------

# How a registered operator takes its value: nothing, one of the field's choices (an id), or a
# whole number of days (1 to MAX_AMOUNT). The builder shows the matching widget.
KIND_VALUES = ("none", "choice", "days")


@dataclass(frozen=True)
class KindOperator:
    op: str
    label: Any  # the builder's operator list
    value: str  # one of KIND_VALUES
    words: Any  # the filter in words; "%(value)s" is the chosen name or the number of days


@dataclass(frozen=True)
class ConditionKind:
    """A condition another app adds to filters (messaging: message activity), registered from its
    ``AppConfig.ready`` so contacts never imports it. ``filter_clean`` validates its values the
    same way as every other condition; ``q(op, value, now)`` compiles one cleaned condition into
    a ``Q`` over contacts (an ``Exists`` on the app's table: part of the one statement);
    ``choices()`` lists what its picker offers (ids as strings), read only when needed."""

    key: str
    label: Any
    operators: tuple[KindOperator, ...]
    choices: Callable[[], list[tuple[str, str]]]
    q: Callable[[str, Any, datetime.datetime], Q]

    def operator(self, op: str) -> KindOperator:
        return next(item for item in self.operators if item.op == op)


CONDITION_KINDS: dict[str, ConditionKind] = {}


def condition_kind_register(kind: ConditionKind) -> None:
    """Offer ``kind`` in every filter (idempotent: ``ready`` may run more than once)."""
    if kind.key in BUILT_IN or kind.key in OPERATORS or kind.key.startswith((CUSTOM_PREFIX, CHANNEL_PREFIX)):
        raise ValueError(f"condition kind {kind.key!r} would hide a built-in field")
    if any(item.value not in KIND_VALUES for item in kind.operators):
        raise ValueError(f"condition kind {kind.key!r}: an operator's value is one of {KIND_VALUES}")
    CONDITION_KINDS[kind.key] = kind


class LazyChoices:
    """A registered kind's choices, read from the database on first use only: re-evaluating one
    contact compiles filters without needing the names, and pays no query for them."""

    def __init__(self, load: Callable[[], list[tuple[str, str]]]) -> None:
        self._load, self._rows = load, None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        if self._rows is None:
            self._rows = tuple(self._load())
        return iter(self._rows)


@dataclass(frozen=True)
class FilterField:
    """One field a condition can test, as the builder offers it."""

    key: str
    label: str
    type: str
    choices: tuple[tuple[str, str], ...] = ()
    column: str = ""  # the contact's model field (built-in) or the custom field's key
    custom: bool = False
    kind: ConditionKind | None = None  # a condition another app registered

    @property
    def operators(self) -> tuple[str, ...]:
        if self.kind is not None:
            return tuple(item.op for item in self.kind.operators)
        return OPERATORS[self.type]

    def as_json(self) -> dict:
        if self.kind is not None:
            operators = [{"op": item.op, "label": str(item.label), "value": item.value} for item in self.kind.operators]
        else:
            operators = [{"op": op, "label": str(OPERATOR_WORDS[op])} for op in self.operators]
        return {"key": self.key, "label": str(self.label), "type": self.type, "operators": operators,
                "choices": [list(choice) for choice in self.choices]}


@dataclass
class FilterCatalog:
    """What a filter may name, read once: fields, channels, categories and segments."""

    fields: dict[str, FilterField]
    channels: dict[str, Channel]
    categories: dict[int, Category]
    segments: dict[int, Segment]
    dynamic: dict[int, dict] = field(default_factory=dict)  # segment id → its filter

    @classmethod
    def load(cls) -> FilterCatalog:
        fields = {key: FilterField(key, label, kind, _builtin_choices(key), column)
                  for key, (label, kind, column) in BUILT_IN.items()}
        for custom in _custom_fields():
            fields[custom.key] = custom
        channels = {channel.slug: channel for channel in Channel.objects.all()}
        for channel in channels.values():
            key = CHANNEL_PREFIX + channel.slug
            fields[key] = FilterField(key, channel.name, "channel", tuple(DncReason.choices))
        categories = {category.pk: category for category in Category.objects.order_by("name")}
        fields["category"] = FilterField(
            "category", _("Subscribed Categories"), "category",
            tuple((str(pk), category.name) for pk, category in categories.items()),
        )
        segments = {segment.pk: segment for segment in Segment.objects.order_by("name")}
        fields["segment"] = FilterField(
            "segment", _("Segment"), "segment", tuple((str(pk), segment.name) for pk, segment in segments.items())
        )
        for kind in CONDITION_KINDS.values():
            fields[kind.key] = FilterField(kind.key, kind.label, kind.key, LazyChoices(kind.choices), kind=kind)
        dynamic = {pk: segment.filter for pk, segment in segments.items() if segment.filter is not None}
        return cls(fields=fields, channels=channels, categories=categories, segments=segments, dynamic=dynamic)

    def as_json(self) -> list[dict]:
        return [item.as_json() for item in self.fields.values()]


def _builtin_choices(key: str) -> tuple[tuple[str, str], ...]:
    return tuple(settings.LANGUAGES) if key == "locale" else ()


def _custom_fields() -> list[FilterField]:
    """The custom contact fields, each by its type; none while the model does not exist."""
    from contacts import models

    model = getattr(models, "ContactField", None)
    if model is None:
        return []
    return [
        FilterField(CUSTOM_PREFIX + item.key, item.label, item.type, tuple((c, c) for c in item.choices or ()),
                    column=item.key, custom=True)
        for item in model.objects.order_by("position", "key")
    ]


# --- Validation -----------------------------------------------------------------------------------

class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}" if where else message)


def filter_clean(data: Any, *, catalog: FilterCatalog | None = None, segment_id: int | None = None) -> dict:
    """The filter in its stored form, or ``ValidationError`` listing every problem (never another error).

    ``segment_id``: the segment the filter is for; a condition on itself, or on a segment whose
    filter leads back to it, is a cycle and refused.
    """
    catalog = catalog or FilterCatalog.load()
    errors = _Errors()
    if not isinstance(data, dict) or set(data) - {"join", "groups"}:
        raise ValidationError(_("A filter is an object with “join” and “groups”."))
    join = data.get("join", "and")
    if join not in JOINS:
        errors.add("", _("“join” is “and” or “or”."))
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ValidationError(_("A filter needs at least one group of conditions."))
    if len(groups) > MAX_GROUPS:
        raise ValidationError(_("A filter has at most %(n)d groups.") % {"n": MAX_GROUPS})
    cleaned = {"join": join, "groups": []}
    for g, group in enumerate(groups, 1):
        where = _("Group %(g)d") % {"g": g}
        if not isinstance(group, dict) or set(group) - {"join", "conditions"}:
            errors.add(where, _("a group is an object with “join” and “conditions”."))
            continue
        group_join = group.get("join", "and")
        if group_join not in JOINS:
            errors.add(where, _("“join” is “and” or “or”."))
        conditions = group.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            errors.add(where, _("add at least one condition."))
            continue
        if len(conditions) > MAX_CONDITIONS:
            errors.add(where, _("at most %(n)d conditions.") % {"n": MAX_CONDITIONS})
            continue
        kept = []
        for c, condition in enumerate(conditions, 1):
            spot = _("Group %(g)d, condition %(c)d") % {"g": g, "c": c}
            kept.append(_condition_clean(condition, catalog, errors, spot, segment_id))
        cleaned["groups"].append({"join": group_join, "conditions": kept})
    if errors.messages:
        raise ValidationError(errors.messages)
    return cleaned


def _condition_clean(condition: Any, catalog: FilterCatalog, errors: _Errors, where: str, segment_id) -> dict | None:
    if not isinstance(condition, dict) or set(condition) - {"field", "op", "value"}:
        errors.add(where, _("a condition is an object with “field”, “op” and “value”."))
        return None
    key, op = condition.get("field"), condition.get("op")
    item = catalog.fields.get(key) if isinstance(key, str) else None
    if item is None:
        errors.add(where, _("unknown field."))
        return None
    if op not in item.operators:
        errors.add(where, _("“%(field)s” has no operator “%(op)s”.") % {"field": item.label, "op": str(op)[:40]})
        return None
    try:
        value = _value_clean(item, op, condition.get("value"), catalog, segment_id)
    except ValidationError as problem:
        for message in problem.messages:
            errors.add(where, message)
        return None
    cleaned = {"field": key, "op": op}
    if value is not None:
        cleaned["value"] = value
    return cleaned


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
        raise ValidationError(_("enter a text of 1 to %(n)d characters.") % {"n": MAX_TEXT})
    return value.strip()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(_("enter a number."))
    if abs(value) > 1e15:
        raise ValidationError(_("the number is too large."))
    return value


def _list(value: Any, each) -> list:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise ValidationError(_("give a list of 1 to %(n)d values.") % {"n": MAX_LIST})
    return list(dict.fromkeys(each(item) for item in value))


def _pair(value: Any, each) -> list:
    if not isinstance(value, list) or len(value) != 2:
        raise ValidationError(_("give two values, the lowest first."))
    low, high = each(value[0]), each(value[1])
    if low > high:
        raise ValidationError(_("give two values, the lowest first."))
    return [low, high]


def _amount(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) != {"amount", "unit"}:
        raise ValidationError(_("give an amount and a unit (days, weeks, months, years)."))
    amount, unit = value["amount"], value["unit"]
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise ValidationError(_("the amount is a whole number from 1 to %(n)d.") % {"n": MAX_AMOUNT})
    if unit not in UNITS:
        raise ValidationError(_("the unit is days, weeks, months or years."))
    return {"amount": amount, "unit": unit}


def _choice(item: FilterField):
    allowed = {key for key, _label in item.choices}

    def clean(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValidationError(_("choose one of the listed values."))
        return value

    return clean


def _record_id(value: Any, known: dict) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in known:
        raise ValidationError(_("choose one of the listed values."))
    return value


def _kind_value_clean(item: FilterField, op: str, value: Any) -> Any:
    how = item.kind.operator(op).value
    if how == "none":
        if value not in (None, "", []):
            raise ValidationError(_("this operator takes no value."))
        return None
    if how == "days":
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 7:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AMOUNT:
            raise ValidationError(_("the number of days is a whole number from 1 to %(n)d.") % {"n": MAX_AMOUNT})
        return value
    return _record_id(value, {int(key) for key, _label in item.choices})


def _value_clean(item: FilterField, op: str, value: Any, catalog: FilterCatalog, segment_id) -> Any:
    if item.kind is not None:
        return _kind_value_clean(item, op, value)
    if op in NO_VALUE:
        if value not in (None, "", []):
            raise ValidationError(_("this operator takes no value."))
        return None
    kind = item.type
    if kind == "channel":  # op == "dnc": a reason, or any
        if value not in ("any", *DncReason.values):
            raise ValidationError(_("choose a reason, or any."))
        return value
    if kind == "category":
        return _record_id(value, catalog.categories)
    if kind == "segment":
        chosen = _record_id(value, catalog.segments)
        if segment_id is not None and segment_depends_on(chosen, segment_id, catalog.dynamic):
            raise ValidationError(_("“%(name)s” depends on this segment: that would be a cycle.")
                                  % {"name": catalog.segments[chosen].name})
        return chosen
    if kind == "date":
        if op in ("in_last", "more_than_ago"):
            return _amount(value)
        return _pair(value, date_clean) if op == "between" else date_clean(value)
    each = {"text": _text, "domain": _domain, "number": _number, "choice": _choice(item)}[kind]
    if op == "in":
        return _list(value, each)
    if op == "between":
        return _pair(value, each)
    return each(value)


def _domain(value: Any) -> str:
    return _text(value).lower().lstrip("@")


def filter_segment_ids(spec: dict | None) -> set[int]:
    """The segments a filter's conditions name."""
    if not spec:
        return set()
    return {condition["value"] for group in spec["groups"] for condition in group["conditions"]
            if condition["field"] == "segment"}


def segment_depends_on(start: int, target: int, dynamic: dict[int, dict]) -> bool:
    """Whether segment ``start`` is ``target`` or reaches it through dynamic filters' segment conditions."""
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current == target:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(filter_segment_ids(dynamic.get(current)))
    return False


def segments_in_dependency_order(dynamic: dict[int, dict]) -> list[list[int]]:
    """Dynamic segments in levels: each level only names static segments or those of earlier levels."""
    remaining = {pk: filter_segment_ids(spec) & dynamic.keys() for pk, spec in dynamic.items()}
    levels, done = [], set()
    while remaining:
        level = sorted(pk for pk, needs in remaining.items() if needs <= done)
        if not level:  # a cycle slipped in (two saves at once): evaluate the rest anyway, never loop
            level = sorted(remaining)
        levels.append(level)
        done.update(level)
        for pk in level:
            del remaining[pk]
    return levels


# --- Compilation ----------------------------------------------------------------------------------

def filter_q(spec: dict, *, catalog: FilterCatalog, now: datetime.datetime | None = None) -> Q:
    """The filter as one ``Q`` over contacts (relative dates are measured from ``now``)."""
    now = now or timezone.now()
    groups = [_joined([_condition_q(c, catalog, now) for c in group["conditions"]], group["join"])
              for group in spec["groups"]]
    return _joined(groups, spec["join"])


def _joined(parts: list[Q], join: str) -> Q:
    result = parts[0]
    for part in parts[1:]:
        result = (result | part) if join == "or" else (result & part)
    return result


def months_back(moment: datetime.datetime, months: int) -> datetime.datetime:
    """``moment`` minus calendar months, clamped to the month's last day."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def moment_ago(now: datetime.datetime, amount: int, unit: str) -> datetime.datetime:
    if unit in ("months", "years"):
        return months_back(now, amount * (12 if unit == "years" else 1))
    return now - datetime.timedelta(days=amount * (7 if unit == "weeks" else 1))


def _condition_q(condition: dict, catalog: FilterCatalog, now: datetime.datetime) -> Q:
    item = catalog.fields[condition["field"]]
    op, value = condition["op"], condition.get("value")
    if item.kind is not None:
        return item.kind.q(op, value, now)
    if item.type == "channel":
        channel = catalog.channels[item.key.removeprefix(CHANNEL_PREFIX)]
        if op == "dnc":
            dnc = DoNotContact.objects.filter(channel=channel, contact=OuterRef("pk"))
            return Q(Exists(dnc if value == "any" else dnc.filter(reason=value)))
        reachable = channel_reachable_q(channel)
        return reachable if op == "contactable" else ~reachable
    if item.type == "category":
        receives = category_receives_q(catalog.categories[value])
        return receives if op == "receives" else ~receives
    if item.type == "segment":
        member = segment_member_q(value)
        return member if op == "in_segment" else ~member
    if item.custom:
        return _custom_q(item, op, value, now)
    return _builtin_q(item, op, value, now)


def _builtin_q(item: FilterField, op: str, value: Any, now: datetime.datetime) -> Q:
    column = item.column
    if item.type == "domain":
        ends = {"equals": "@", "not_equals": "@", "in": "@", "ends_with": ""}[op]
        values = value if op == "in" else [value]
        q = _joined([Q(**{f"{column}__iendswith": ends + v}) for v in values], "or")
        return ~q if op == "not_equals" else q
    if item.type == "date":
        return _date_q(column, op, value, now, date_of=f"{column}__date")
    if op == "empty":
        return Q(**{column: ""})
    if op == "not_empty":
        return ~Q(**{column: ""})
    lookup = {"equals": "iexact", "not_equals": "iexact", "contains": "icontains", "not_contains": "icontains",
              "starts_with": "istartswith", "ends_with": "iendswith"}
    if item.type == "choice":
        lookup = {"equals": "exact", "not_equals": "exact"}
    if op == "in":
        if item.type == "choice":
            return Q(**{f"{column}__in": value})
        return _joined([Q(**{f"{column}__iexact": v}) for v in value], "or")
    q = Q(**{f"{column}__{lookup[op]}": value})
    return ~q if op.startswith("not_") else q


def _date_q(column: str, op: str, value: Any, now: datetime.datetime, *, date_of: str) -> Q:
    """Dates: ``column`` compared with moments (relative), ``date_of`` with days (fixed dates)."""
    if op == "in_last":
        return Q(**{f"{column}__gte": moment_ago(now, value["amount"], value["unit"])})
    if op == "more_than_ago":
        return Q(**{f"{column}__lt": moment_ago(now, value["amount"], value["unit"])})
    if op == "empty":
        return Q(**{f"{column}__isnull": True})
    if op == "not_empty":
        return Q(**{f"{column}__isnull": False})
    lookup = {"equals": "", "before": "__lt", "after": "__gt", "between": "__range"}[op]
    return Q(**{f"{date_of}{lookup}": value})


def _jsonb(value: Any) -> Value:
    """A value compared as jsonb with a stored one: numbers as numbers, ISO dates as strings."""
    return Value(value, output_field=JSONField())


def _custom_q(item: FilterField, op: str, value: Any, now: datetime.datetime) -> Q:
    """Custom fields live in the contact's ``fields`` jsonb: equality is a containment the GIN index
    answers; ranges compare jsonb values of the stored type (numbers, "YYYY-MM-DD" strings).
    Expressions, not ``fields__<key>`` paths: a key such as "contains" must stay a key."""
    key = item.column
    # No value reads as "": "does not contain" then includes contacts without one, as for built-in fields.
    stored, text = KeyTransform(key, "fields"), Coalesce(KeyTextTransform(key, "fields"), Value(""), output_field=TextField())

    def has(v: Any) -> Q:
        return Q(fields__contains={key: v})

    empty = ~Q(fields__has_key=key) | has("") | has(None)
    if op == "empty":
        return empty
    if op == "not_empty":
        return ~empty
    if item.type == "boolean":
        return has(op == "is_true")
    if item.type in ("number", "date") and op in ("gt", "lt", "before", "after", "between", "in_last", "more_than_ago"):
        if op in ("in_last", "more_than_ago"):
            op, value = ("after_or_on" if op == "in_last" else "lt"), moment_ago(
                now, value["amount"], value["unit"]).date().isoformat()
        if op == "between":
            return Q(GreaterThanOrEqual(stored, _jsonb(value[0]))) & Q(LessThanOrEqual(stored, _jsonb(value[1])))
        lookup = {"gt": GreaterThan, "after": GreaterThan, "lt": LessThan, "before": LessThan,
                  "after_or_on": GreaterThanOrEqual}[op]
        return Q(lookup(stored, _jsonb(value)))
    if item.type in ("number", "choice", "date"):
        if op == "in":
            return _joined([has(v) for v in value], "or")
        return ~has(value) if op == "not_equals" else has(value)
    if op == "in":
        return _joined([Q(IExact(text, v)) for v in value], "or")
    lookup = {"equals": IExact, "not_equals": IExact, "contains": IContains, "not_contains": IContains,
              "starts_with": IStartsWith, "ends_with": IEndsWith}[op]
    q = Q(lookup(text, value))
    return ~q if op.startswith("not_") else q


# --- In words -------------------------------------------------------------------------------------

def filter_words(spec: dict, *, catalog: FilterCatalog) -> str:
    """The filter as a sentence staff can read: “(Email domain is “a.com” and …) or (…)”."""
    join_words = {"and": _("and"), "or": _("or")}
    groups = []
    for group in spec["groups"]:
        parts = [_condition_words(condition, catalog) for condition in group["conditions"]]
        text = f" {join_words[group['join']]} ".join(parts)
        groups.append(f"({text})" if len(spec["groups"]) > 1 and len(parts) > 1 else text)
    return f" {join_words[spec['join']]} ".join(groups)


def _condition_words(condition: dict, catalog: FilterCatalog) -> str:
    item = catalog.fields.get(condition["field"])
    label = item.label if item else condition["field"]
    op, value = condition["op"], condition.get("value")
    if item is not None and item.kind is not None:
        shown = value if item.kind.operator(op).value == "days" else f"“{dict(item.choices).get(str(value), value)}”"
        return str(item.kind.operator(op).words) % {"value": shown}
    words = f"{label} {OPERATOR_WORDS.get(op, op)}"
    if value is None:
        return words
    names = dict(item.choices) if item else {}
    if op in ("in_last", "more_than_ago"):
        unit = {"days": _("days"), "weeks": _("weeks"), "months": _("months"), "years": _("years")}[value["unit"]]
        return f"{words} {value['amount']} {unit}" + (f" {_('ago')}" if op == "more_than_ago" else "")
    values = value if isinstance(value, list) else [value]
    shown = [f"“{names.get(str(v), v)}”" for v in values]
    return f"{words} {(' ' + _('and') + ' ' if op == 'between' else ', ').join(shown)}"
