"""Reads of custom fields: definitions with how many contacts hold a value, a contact's values,
and the contacts list's filter on one field."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from contacts.models import Contact, ContactField
from contacts.services.fields import field_value_text

# The filter operators each type offers.
FIELD_OPERATORS = {
    ContactField.Type.TEXT: ("eq", "contains", "set", "unset"),
    ContactField.Type.NUMBER: ("eq", "range", "set", "unset"),
    ContactField.Type.DATE: ("eq", "range", "set", "unset"),
    ContactField.Type.BOOLEAN: ("eq", "set", "unset"),
    ContactField.Type.CHOICE: ("eq", "set", "unset"),
}


def contact_fields_with_holders() -> list[ContactField]:
    """Every definition, each with ``holders``: how many contacts hold a value (one scan for all)."""
    fields = list(ContactField.objects.all())
    if fields:
        counts = Contact.objects.aggregate(
            **{f"f{field.pk}": Count("pk", filter=Q(fields__has_key=field.key)) for field in fields}
        )
        for field in fields:
            field.holders = counts[f"f{field.pk}"]
    return fields


def contact_field_rows(contact: Contact, *, public_only: bool = False) -> list[tuple[ContactField, str]]:
    """The contact's value of each defined field, as text ("" when it holds none), in the fields' order."""
    fields = ContactField.objects.all()
    if public_only:
        fields = fields.filter(public=True)
    stored = contact.fields or {}
    return [(field, field_value_text(stored.get(field.key))) for field in fields]


def contacts_holding(contacts: QuerySet[Contact], key: str, value: Any) -> QuerySet[Contact]:
    """Contacts whose stored value for ``key`` is ``value``.

    Containment is what the GIN index answers; SQLite (the demo) compares the extracted value.
    The key goes through ``KeyTransform``, never a lookup path, so a key named like a lookup
    ("contains") still means the key.
    """
    if connection.vendor == "postgresql":
        return contacts.filter(fields__contains={key: value})
    return contacts.alias(field_value=KeyTransform(key, "fields")).filter(field_value=value)


def contacts_field_filter(
    contacts: QuerySet[Contact], *, field: ContactField, operator: str, value: Any = None, value_to: Any = None
) -> QuerySet[Contact]:
    """Contacts whose value of ``field`` matches: ``eq`` (the stored value), ``contains`` (text, any case),
    ``range`` (numbers and dates, either bound optional), ``set`` / ``unset`` (holds a value or not).

    Values are already cleaned by ``field_values_clean`` for the field's type.
    """
    key = field.key
    if operator == "unset":
        return contacts.exclude(fields__has_key=key)
    contacts = contacts.filter(fields__has_key=key)
    if operator == "eq":
        return contacts_holding(contacts, key, value)
    contacts = contacts.alias(field_value=KeyTransform(key, "fields"))
    if operator == "contains":
        return contacts.filter(field_value__icontains=value)
    if operator == "range":
        if value is not None:
            contacts = contacts.filter(field_value__gte=value)
        if value_to is not None:
            contacts = contacts.filter(field_value__lte=value_to)
    return contacts
