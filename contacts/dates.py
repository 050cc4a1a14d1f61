"""Calendar dates typed by people: one parser for custom date fields and segment filters alike,
so a filter compares with exactly the "YYYY-MM-DD" strings the fields store."""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def date_clean(value: object) -> str:
    """A date as "YYYY-MM-DD" (a ``date``, or text in that form); anything else is refused."""
    if isinstance(value, datetime.datetime):
        raise ValidationError(_("Enter a date as YYYY-MM-DD, e.g. 2026-03-31."))
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).strip()
    if ISO_DATE.match(text):
        try:
            return datetime.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise ValidationError(_("Enter a date as YYYY-MM-DD, e.g. 2026-03-31."))
