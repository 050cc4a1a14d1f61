"""Custom contact fields: the one place their values are validated and written.

Every write path (the profile form, the CSV import, the API) passes values through
``field_values_clean`` and writes them with ``contact_fields_update``, which appends one
history row per changed key. Staff changes to the definitions themselves live in
``contacts.services.field_definitions``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import formats
from django.utils.translation import gettext as _

from contacts.dates import date_clean
from contacts.models import Contact, ContactField, PreferenceChange

from .audit import Source, change_record, contact_lock

FieldType = ContactField.Type

TEXT_MAX_LENGTH = 1000
# Numbers are stored as JSON numbers; beyond 2**53 a double no longer holds every integer exactly.
NUMBER_LIMIT = 2**53
BOOLEAN_WORDS = {
    "true": True, "yes": True, "y": True, "1": True, "on": True,
    "false": False, "no": False, "n": False, "0": False, "off": False,
}
# A decimal comma ("3,5", as a French spreadsheet writes it) is read as a decimal point.
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def field_definitions(keys=None) -> dict[str, ContactField]:
    """The field definitions by key (all of them, or those of ``keys``), in one query."""
    fields = ContactField.objects.all()
    if keys is not None:
        # A key with a NUL character names no field (the database cannot even compare it).
        fields = fields.filter(key__in=[key for key in keys if "\x00" not in str(key)])
    return {field.key: field for field in fields}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: object) -> int | float:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a number, e.g. 42 or 3.5."))
    if isinstance(value, (int, float)):
        number = Decimal(str(value)) if math.isfinite(value) else None
    else:
        text = str(value).strip()
        if DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise ValidationError(_("Enter a number, e.g. 42 or 3.5."))
    if abs(number) >= NUMBER_LIMIT:
        raise ValidationError(_("Enter a number between -9007199254740992 and 9007199254740992."))
    return int(number) if number == number.to_integral_value() else float(number)


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[value.strip().lower()]
    raise ValidationError(_("Enter yes or no (also true/false, 1/0)."))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(_("Enter text."))
    text = value.strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(_("Enter at most %(limit)d characters.") % {"limit": TEXT_MAX_LENGTH})
    if "\x00" in text:
        raise ValidationError(_("The text contains a NUL character."))
    return text


def _choice(value: object, choices: list[str]) -> str:
    text = str(value).strip() if isinstance(value, str) else None
    if text is not None:
        if text in choices:
            return text
        # A CSV may spell "Gold" as "gold": the defined spelling is stored.
        folded = {choice.casefold(): choice for choice in choices}
        if text.casefold() in folded:
            return folded[text.casefold()]
    raise ValidationError(
        _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices) or _("(no choices defined)")}
    )


def field_value_text(value: Any) -> str:
    """A stored value as text: what the list, the export, tokens and a type change read.

    Booleans are "yes"/"no" and numbers their plain form, so the text cleans back to the same value.
    """
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, float):
        # Positional, never "1e-07": the same text PostgreSQL gives for the stored jsonb number.
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    return str(value)


def field_value_display(field: ContactField, value: Any) -> str:
    """A stored value as a contact reads it, in the active language: a date and a number in the
    language's format ("1 décembre 2026", "3,5"), yes/no translated, text and choices as stored.
    A value that does not match its type (written around the services) reads as its text."""
    if value is None:
        return ""
    try:
        if field.type == FieldType.BOOLEAN and isinstance(value, bool):
            return _("Yes") if value else _("No")
        if field.type == FieldType.DATE:
            return formats.date_format(datetime.date.fromisoformat(str(value)), "DATE_FORMAT")
        if field.type == FieldType.NUMBER and isinstance(value, (int, float)) and not isinstance(value, bool):
            return formats.number_format(value, use_l10n=True)
    except ValueError:
        pass
    return field_value_text(value)


def field_value_clean(field: ContactField, value: object) -> Any:
    """One value in its stored JSON form for ``field``'s type; ``None`` for a blank value (no value).

    Accepts strings (forms, CSV) and typed JSON (the API). Raises ``ValidationError`` with a message
    that says what to enter.
    """
    if _blank(value):
        return None
    if field.type == FieldType.NUMBER:
        return _number(value)
    if field.type == FieldType.DATE:
        return date_clean(value)
    if field.type == FieldType.BOOLEAN:
        return _boolean(value)
    if field.type == FieldType.CHOICE:
        return _choice(value, list(field.choices or []))
    return _text(value)


def field_values_clean(
    values: Mapping[str, object], *, definitions: Mapping[str, ContactField] | None = None
) -> dict[str, Any]:
    """Validate custom field values by their definition's type: the rule every write path uses.

    Returns ``{key: stored JSON value}``, ``None`` meaning "no value" (a blank input removes it).
    A key that is not a defined field is refused. Raises ``ValidationError`` whose ``message_dict``
    has one message per bad key; nothing is returned for a partly valid input (all or nothing).
    ``definitions`` lets a caller that validates many rows (the import) load them once.
    """
    if definitions is None:
        definitions = field_definitions(values.keys())
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        field = definitions.get(key)
        if field is None:
            errors[key] = [_("“%(key)s” is not a defined contact field.") % {"key": key}]
            continue
        try:
            cleaned[key] = field_value_clean(field, value)
        except ValidationError as error:
            errors[key] = [f"{field.label}: {message}" for message in error.messages]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _definitions_held(keys) -> dict[str, ContactField]:
    """The definitions of ``keys``, share-locked until the write commits (``FOR KEY SHARE``).

    A type change or a deletion (``FOR UPDATE`` on the definition) then waits for the writes
    validated against the old definition, and counts and converts their values; writers do not
    wait for each other.
    """
    keys = list(keys)
    if connection.vendor != "postgresql" or not keys:
        return field_definitions(keys)
    table = ContactField._meta.db_table
    held = ContactField.objects.raw(f"SELECT * FROM {table} WHERE key = ANY(%s) FOR KEY SHARE", [keys])
    return {field.key: field for field in held}


@transaction.atomic
def contact_fields_update(*, contact: Contact, values: Mapping[str, object], source: Source | str) -> dict[str, list]:
    """Set some of a contact's custom field values (a partial update; blank removes a value).

    Validates with ``field_values_clean`` first (nothing is written when any value is bad), locks
    the contact so each history row's old value is the true one, saves only ``fields`` and appends
    one ``PreferenceChange`` of kind ``field`` per changed key (subject = the key).
    Returns ``{key: [old, new]}`` for the keys that changed.
    """
    source = Source.of(source)
    if contact.pk is None:
        raise ValueError("Save the contact before setting its custom fields.")
    cleaned = field_values_clean(values, definitions=_definitions_held(values.keys()))
    contact_lock(contact)
    stored = dict(Contact.objects.filter(pk=contact.pk).values_list("fields", flat=True).get() or {})
    changes: dict[str, list] = {}
    for key, new in cleaned.items():
        old = stored.get(key)
        if old == new and type(old) is type(new):
            continue
        changes[key] = [old, new]
        if new is None:
            stored.pop(key, None)
        else:
            stored[key] = new
    contact.fields = stored
    if changes:
        contact.save(update_fields=["fields", "updated_at"])
    # Recorded once saved: what follows a change (dynamic segments) reads the new values.
    for key, (old, new) in changes.items():
        change_record(contact=contact, kind=PreferenceChange.Kind.FIELD, source=source, old=old, new=new, subject=key)
    return changes
