"""The one validation home of an imported row: each mapped cell checked by the rule its target already has.

Built-in fields by the model's own validators (and ``email_normalise`` / ``phone_normalise``),
custom fields by ``field_values_clean``, preference cells as yes/no. A row with any bad cell is
rejected whole, with one report line per bad cell; other rows go on.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from contacts.models import E164_VALIDATOR, Category, Channel, Contact, Segment, email_normalise, phone_normalise
from contacts.services.fields import field_definitions, field_values_clean
from contacts.spreadsheet import formula_like

from .mapping import IGNORE

YES = frozenset({"1", "yes", "y", "true", "t", "x", "oui", "subscribed", "member", "contactable"})
NO = frozenset({"0", "no", "n", "false", "f", "non", "unsubscribed", "removed", "dnc", "do not contact"})


@dataclass
class Problem:
    line: int
    column: str
    value: str
    reason: str


@dataclass
class CleanRow:
    line: int
    key: str  # the matching value: the lower-cased normalised email, or the normalised phone
    contact: dict[str, str] = field(default_factory=dict)  # built-in fields the file gives (empty cells left out)
    fields: dict[str, object] = field(default_factory=dict)  # custom field values, typed as stored
    preferences: list[tuple[str, int, bool]] = field(default_factory=list)  # (kind, target id, yes/no)


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _validation_message(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def yes_no(value: str) -> bool | None:
    """A preference cell: yes / no, or None when empty; ValueError otherwise."""
    lowered = value.strip().lower()
    if not lowered:
        return None
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ValueError(value)


class RowCleaner:
    """Check the rows of one file against one mapping (target ids are read once, not per row)."""

    def __init__(self, *, header: list[str], mapping: list[str], match_on: str):
        self.header, self.match_on = header, match_on
        ids = {
            "channel": dict(Channel.objects.values_list("slug", "pk")),
            "category": dict(Category.objects.values_list("slug", "pk")),
            "segment": dict(Segment.objects.values_list("slug", "pk")),
        }
        self.columns: list[tuple[int, str, str, int | None]] = []  # (index, kind, name, target id)
        for index, target in enumerate(mapping):
            if target == IGNORE:
                continue
            kind, _sep, name = target.partition(":")
            self.columns.append((index, kind, name, ids[kind].get(name) if kind in ids else None))
        self.definitions = field_definitions([name for _i, kind, name, _t in self.columns if kind == "field"])
        self.locales = {code for code, _name in settings.LANGUAGES}
        self.max_lengths = {name: Contact._meta.get_field(name).max_length for name in ("first_name", "last_name", "email")}

    def key_of(self, cells: list[str]) -> str:
        """Just the matching value of a row (already-imported rows are read again this way on resume)."""
        index = next(i for i, kind, name, _t in self.columns if kind == "contact" and name == self.match_on)
        value = cells[index] if index < len(cells) else ""
        return email_normalise(value).lower() if self.match_on == "email" else phone_normalise(value)

    def clean(self, line: int, cells: list[str]) -> CleanRow | list[Problem]:
        if len(cells) != len(self.header):
            return [Problem(line, "", "", _("This row has %(count)s columns; the header has %(expected)s.")
                            % {"count": len(cells), "expected": len(self.header)})]
        problems: list[Problem] = []
        row = CleanRow(line=line, key="")
        raw_fields: dict[str, str] = {}
        for index, kind, name, target_id in self.columns:
            value = cells[index].strip()
            column = self.header[index]
            if not value:
                continue
            if formula_like(value):
                problems.append(Problem(line, column, value, _(
                    "Looks like a spreadsheet formula; formulas are not imported (remove the leading “%(char)s”)."
                ) % {"char": value[0]}))
                continue
            if kind == "contact":
                try:
                    row.contact[name] = self._contact_value(name, value)
                except ValidationError as error:
                    problems.append(Problem(line, column, value, _validation_message(error)))
            elif kind == "field":
                raw_fields[name] = value
            else:
                try:
                    wanted = yes_no(value)
                except ValueError:
                    problems.append(Problem(line, column, value, _("Write yes or no (or leave the cell empty).")))
                    continue
                row.preferences.append((kind, target_id, wanted))
        if raw_fields:
            problems.extend(self._fields_into(row, raw_fields, line))
        key = row.contact.get(self.match_on, "")
        if not problems and not key:
            column = next(self.header[i] for i, kind, name, _t in self.columns if kind == "contact" and name == self.match_on)
            problems.append(Problem(line, column, "", _("This row has no %(key)s to match contacts by.") % {
                "key": _("email address") if self.match_on == "email" else _("phone number")}))
        if problems:
            return problems
        row.key = key.lower() if self.match_on == "email" else key
        return row

    def _contact_value(self, name: str, value: str) -> str:
        if name == "email":
            value = email_normalise(value)
            validate_email(value)
        elif name == "phone":
            value = phone_normalise(value)
            E164_VALIDATOR(value)
        elif name == "locale":
            if value not in self.locales:
                raise ValidationError(_("Unknown language code; use one of %(codes)s.") % {"codes": ", ".join(sorted(self.locales))})
        elif name == "time_zone":
            if value not in _time_zones():
                raise ValidationError(_("%(value)s is not a known time zone.") % {"value": value})
        limit = self.max_lengths.get(name)
        if limit and len(value) > limit:
            raise ValidationError(_("At most %(limit)s characters.") % {"limit": limit})
        return value

    def _fields_into(self, row: CleanRow, raw: dict[str, str], line: int) -> list[Problem]:
        try:
            row.fields = field_values_clean(raw, definitions=self.definitions)
        except ValidationError as error:
            by_key = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            columns = {name: self.header[i] for i, kind, name, _t in self.columns if kind == "field"}
            return [Problem(line, columns.get(key, key), raw.get(key, ""), " ".join(messages))
                    for key, messages in by_key.items()]
        return []
