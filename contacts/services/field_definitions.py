"""Staff changes to custom field definitions, which never silently corrupt the values contacts hold.

- A type or choices change is refused, naming how many contacts hold a value that the new
  definition would not accept; otherwise the values whose stored form changes (text "12" → number
  12) are rewritten set-based, one UPDATE per distinct value, through the GIN-indexed containment.
- A deletion removes every contact's value in one set-based UPDATE and leaves one staff audit row
  with the number of values removed (no per-contact history rows: at a million contacts the
  history would grow by a million rows for one staff click).
- The key never changes after creation: tokens in message bodies and CSV mappings refer to it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.fields.json import KeyTransform
from django.db.models import Count, F, Func, JSONField, Value
from django.utils.translation import gettext as _

from contacts.models import Contact, ContactField
from contacts.selectors.fields import contacts_holding

from .errors import FieldChangeRefused
from .fields import field_value_clean, field_value_text
from .staff_audit import Action, model_created_record, model_update, staff_change_record

FIELD_DEFINITION_FIELDS = ("key", "label", "label_fr", "type", "choices", "help_text", "public", "position")
EDITABLE_FIELDS = ("label", "label_fr", "type", "choices", "help_text", "public", "position")
SUBJECT_TYPE = "contact_field"


class JSONKeyRemove(Func):
    """``fields`` without one key (``fields - key`` on PostgreSQL, ``json_remove`` on SQLite)."""

    output_field = JSONField()

    def __init__(self, column: str, key: str):
        super().__init__(F(column), Value(key))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        column, key = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        return f"json_remove({column_sql}, %s)", [*column_params, f'$."{key.value}"']


class JSONKeySet(Func):
    """``fields`` with one key set to a JSON value (``jsonb_set`` / ``json_set``)."""

    output_field = JSONField()

    def __init__(self, column: str, key: str, value: Any):
        self.key, self.value = key, value
        super().__init__(F(column))

    def as_postgresql(self, compiler, connection, **extra):
        import json

        (column,) = self.source_expressions
        column_sql, params = compiler.compile(column)
        return f"jsonb_set({column_sql}, ARRAY[%s], %s::jsonb)", [*params, self.key, json.dumps(self.value)]

    def as_sqlite(self, compiler, connection, **extra):
        import json

        (column,) = self.source_expressions
        column_sql, params = compiler.compile(column)
        return f"json_set({column_sql}, %s, json(%s))", [*params, f'$."{self.key}"', json.dumps(self.value)]


def field_holders_count(field: ContactField) -> int:
    """How many contacts hold a value for the field (the GIN index answers key existence)."""
    return Contact.objects.filter(fields__has_key=field.key).count()


def field_value_conversions(field: ContactField, new: ContactField) -> tuple[dict[Any, Any], int]:
    """Each distinct stored value → its form under the ``new`` definition, and how many contacts hold a refused one.

    Values are read back as text (``field_value_text``) and cleaned by the one validation rule.
    """
    conversions: dict[Any, Any] = {}
    refused = 0
    rows = (
        Contact.objects.filter(fields__has_key=field.key)
        .values(stored=KeyTransform(field.key, "fields"))
        .annotate(holders=Count("id"))
        .order_by()
    )
    for row in rows.iterator(chunk_size=2000):
        stored = row["stored"]
        try:
            converted = field_value_clean(new, field_value_text(stored))
        except ValidationError:
            refused += row["holders"]
            continue
        if converted != stored or type(converted) is not type(stored):
            conversions[_hashable(stored)] = (stored, converted)
    return conversions, refused


def _hashable(value: Any) -> Any:
    return (type(value).__name__, value) if not isinstance(value, (dict, list)) else repr(value)


@transaction.atomic
def field_definition_create(*, acting_user, key: str, label: str, type: str = ContactField.Type.TEXT,
                            choices: list[str] | None = None, help_text: str = "", public: bool = False,
                            position: int = 0, label_fr: str = "") -> ContactField:
    """Define a custom field; the audit keeps who defined it with its first values."""
    field = ContactField.objects.create(key=key, label=label, label_fr=label_fr, type=type, choices=list(choices or []),
                                        help_text=help_text, public=public, position=position)
    model_created_record(instance=field, fields=FIELD_DEFINITION_FIELDS, acting_user=acting_user,
                         subject_type=SUBJECT_TYPE)
    return field


@transaction.atomic
def field_definition_update(*, field: ContactField, acting_user, **values) -> ContactField:
    """Change a definition. A new type or choice list must accept every value contacts hold.

    Raises ``FieldChangeRefused`` naming the number of contacts whose value the new definition
    refuses; otherwise converts the stored values that change form and audits the change with
    the number of values converted.
    """
    if "key" in values and values["key"] != field.key:
        raise FieldChangeRefused(_("The key of a field cannot change: tokens and imports refer to it."))
    values.pop("key", None)
    field = ContactField.objects.select_for_update().get(pk=field.pk)
    new = ContactField(key=field.key, label=values.get("label", field.label), type=values.get("type", field.type),
                       choices=list(values.get("choices", field.choices) or []))
    converted = 0
    if new.type != field.type or new.choices != list(field.choices or []):
        conversions, refused = field_value_conversions(field, new)
        if refused:
            raise FieldChangeRefused(_(
                "Contacts holding a value of “%(label)s” that the new definition does not accept: %(count)d. "
                "Change or clear those values first."
            ) % {"count": refused, "label": field.label})
        for stored, new_value in conversions.values():
            converted += contacts_holding(Contact.objects.all(), field.key, stored).update(
                fields=JSONKeySet("fields", field.key, new_value)
            )
    if "choices" in values:
        values["choices"] = list(values["choices"] or [])
    changes = model_update(instance=field, values=values, fields=EDITABLE_FIELDS, acting_user=acting_user,
                           subject_type=SUBJECT_TYPE)
    if converted and changes:
        staff_change_record(
            acting_user=acting_user, subject_type=SUBJECT_TYPE, subject_id=field.pk, subject_label=str(field),
            action=Action.UPDATED, changes={"values_converted": [0, converted]},
        )
    return field


@transaction.atomic
def field_definition_delete(*, field: ContactField, acting_user) -> int:
    """Delete a definition and every contact's value for it (one set-based UPDATE); returns how many were removed.

    One staff audit row records who deleted it, its definition and the number of values removed.
    """
    field = ContactField.objects.select_for_update().get(pk=field.pk)
    removed = Contact.objects.filter(fields__has_key=field.key).update(fields=JSONKeyRemove("fields", field.key))
    staff_change_record(
        acting_user=acting_user, subject_type=SUBJECT_TYPE, subject_id=field.pk, subject_label=str(field),
        action=Action.DELETED,
        changes={"key": [field.key, None], "type": [field.type, None], "values_removed": [removed, 0]},
    )
    field.delete()
    return removed
