"""The CSV export of contacts: chosen columns of a filtered list or a segment, read row by row.

Rows come from a server-side cursor (``iterator(chunk_size=…)``), so memory stays flat at a
million contacts. Each channel's state is a LEFT JOIN on its do-not-contact row (unique per
contact and channel); every cell goes through ``contacts.spreadsheet.cell_neutralise``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.db import connections
from django.db.models import FilteredRelation, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext_lazy as _

from contacts.models import Channel, Contact, ContactField
from contacts.rules import channel_state
from contacts.services.fields import field_value_text
from contacts.spreadsheet import cell_neutralise

BUILT_IN_COLUMNS = {
    "id": _("Id"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("Email"),
    "phone": _("Phone"),
    "locale": _("Language"),
    "time_zone": _("Time zone"),
    "created_at": _("Created"),
}
DEFAULT_COLUMNS = ("id", "first_name", "last_name", "email", "phone")
CHUNK_SIZE = 5000
ROWS_PER_WRITE = 1000


@dataclass(frozen=True)
class ExportColumn:
    """One CSV column: its header, and where its value comes from (``built_in``, ``channel`` or ``field``)."""

    header: str
    label: str
    source: str
    name: str


def export_columns() -> list[ExportColumn]:
    """Every column an export may hold: the contact's own fields, each channel's state, each custom field.

    A field's header is its key (never a built-in name); a channel's is ``channel:<slug>`` (a key has no colon).
    """
    columns = [ExportColumn(name, str(label), "built_in", name) for name, label in BUILT_IN_COLUMNS.items()]
    columns += [
        ExportColumn(f"channel:{channel.slug}", str(_("%(channel)s state") % {"channel": channel.name}), "channel",
                     channel.slug)
        for channel in Channel.objects.all()
    ]
    columns += [ExportColumn(field.key, field.label, "field", field.key) for field in ContactField.objects.all()]
    return columns


def export_rows(contacts: QuerySet[Contact], columns: list[ExportColumn]) -> Iterator[list[str]]:
    """The header, then one row of neutralised cells per contact, in id order.

    The rows come from a server-side cursor (``chunked_cursor``) read ``CHUNK_SIZE`` at a time;
    the JSON of custom fields is decoded once per row, only when a field column is chosen.
    """
    channels = {channel.slug: channel for channel in Channel.objects.all()}
    needed = [c for c in columns if c.source != "channel" or c.name in channels]
    contacts = contacts.order_by("pk")
    connection = connections[contacts.db]
    types = dict(ContactField.objects.values_list("key", "type"))
    select: list[str] = []
    getters = []
    for column in needed:
        if column.source == "built_in":
            select.append(column.name)
            getters.append(_built_in_getter(column.name, len(select) - 1))
        elif column.source == "channel":
            channel = channels[column.name]
            relation = f"dnc_{channel.pk}"
            contacts = contacts.annotate(**{relation: FilteredRelation(
                "dnc_entries", condition=Q(dnc_entries__channel=channel))})
            select += [channel.address_field, f"{relation}__reason"]
            getters.append(_channel_getter(len(select) - 2, len(select) - 1))
        elif connection.vendor == "postgresql":
            # The value as text from the database (``->>``): the same text as ``field_value_text``
            # except that booleans read "true"/"false" (tested in test_export_agrees_with_field_value_text).
            alias = f"field_{len(select)}"
            contacts = contacts.annotate(**{alias: KeyTextTransform(column.name, "fields")})
            select.append(alias)
            getters.append(_field_text_getter(len(select) - 1, boolean=types.get(column.name) == ContactField.Type.BOOLEAN))
        else:
            if "fields" not in select:
                select.append("fields")
            getters.append(_field_getter(column.name))
    yield [cell_neutralise(column.header) for column in needed]
    if not select:
        return
    fields_at = select.index("fields") if "fields" in select else None
    loads, neutralise = _fields_decoded, cell_neutralise
    sql, params = contacts.values_list(*select).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            for row in rows:
                fields = loads(row[fields_at]) if fields_at is not None else None
                yield [neutralise(get(row, fields)) for get in getters]


def _fields_decoded(value) -> dict:
    # The driver hands jsonb over as text to Django (which decodes it in its converters, skipped here).
    if isinstance(value, str):
        return json.loads(value)
    return value or {}


def _built_in_getter(name: str, index: int):
    if name == "created_at":
        return lambda row, fields: row[index].isoformat()
    return lambda row, fields: row[index]


def _channel_getter(address: int, reason: int):
    return lambda row, fields: channel_state(address=row[address], dnc_reason=row[reason])


BOOLEAN_TEXT = {"true": field_value_text(True), "false": field_value_text(False)}


def _field_text_getter(index: int, *, boolean: bool):
    if boolean:
        return lambda row, fields: BOOLEAN_TEXT.get(row[index], row[index])
    return lambda row, fields: row[index]


def _field_getter(key: str):
    def get(row, fields):
        value = fields.get(key)
        # Text, dates and choices are stored as their text already; numbers and booleans need wording.
        return value if value.__class__ is str else field_value_text(value)
    return get


class _Line:
    """A file-like object whose ``write`` returns what it was given: ``csv.writer`` then yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text in chunks of ``ROWS_PER_WRITE`` rows, starting with a UTF-8 byte order mark for spreadsheets."""
    writer = csv.writer(_Line())
    rows = iter(rows)
    yield "\ufeff"
    while chunk := list(islice(rows, ROWS_PER_WRITE)):
        yield "".join([writer.writerow(row) for row in chunk])
