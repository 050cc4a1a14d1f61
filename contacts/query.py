"""What staff pages read from a query string or a small POST, parsed one way for every page.

Request data is text a client chose: a page number may have thirty digits, an id may be "²"
(``str.isdigit`` says yes, ``int`` and the database say no), a search may hold a NUL that
PostgreSQL refuses. These parsers turn such input into a clear form error or a harmless value,
never an exception further down.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext_lazy as _

# A page number beyond every list, yet (× a page size) far inside PostgreSQL's bigint OFFSET.
MAX_PAGE = 1_000_000
# Primary keys are bigint: a larger number names nothing and must not reach a query.
MAX_ID = 2**63 - 1
SEARCH_MAX_LENGTH = 200


def page_number(value: object) -> int:
    """The 1-based page asked for: 1 when it is no plain number, clamped to ``1..MAX_PAGE``."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text) > len(str(MAX_PAGE)):
        return MAX_PAGE  # and int() of a very long text would itself raise
    return min(max(1, int(text)), MAX_PAGE)


def record_id(value: object) -> int | None:
    """A row id typed or posted: ASCII digits naming a bigint, else ``None``."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def record_count(value: object) -> int:
    """A count posted back (a confirmation's): ASCII digits, else -1, which matches no real count."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return -1
    return int(text)


def record_ids(values: Iterable[object]) -> list[int]:
    """The valid ids among ``values``, each once, in order; the rest are ignored."""
    return list(dict.fromkeys(number for number in map(record_id, values) if number is not None))


class PageNumberField(forms.Field):
    """A page number that is never invalid: see ``page_number``."""

    def to_python(self, value):
        return page_number(value)


class SearchField(forms.CharField):
    """Free search text: trimmed, bounded, and a NUL is a field error (Django's CharField refuses it)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", SEARCH_MAX_LENGTH)
        super().__init__(**kwargs)


class ListQueryForm(forms.Form):
    """The query string of a plain staff list: a search and a page."""

    q = SearchField(label=_("Search"))
    page = PageNumberField(required=False)

    def search_text(self) -> str:
        """The search when it is valid, else no search (its error is shown at the field)."""
        return self.cleaned_data.get("q", "") if self.is_valid() else ""


class TimelineCursorForm(forms.Form):
    """``before``: an ISO 8601 moment that exists (no 30 February, hour 25 or offset +25:00)."""

    before = forms.DateTimeField()
