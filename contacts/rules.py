"""Small domain rules shared by the services (writes) and the selectors (reads)."""

from __future__ import annotations

import datetime

from contacts.models import Category, CategorySubscription

MEMBER, REMOVED = "member", "removed"


def category_receives(category: Category, status: str | None) -> bool:
    """SPEC §2: no choice means subscribed, except for ``opt_in`` categories."""
    if status is None:
        return not category.opt_in
    return status == CategorySubscription.Status.SUBSCRIBED


def frequency_value(number: int | None, unit: str | None) -> dict | None:
    return {"number": number, "unit": unit} if number else None


def pause_value(pause_from: datetime.date | None, pause_to: datetime.date | None) -> dict | None:
    return {"from": pause_from.isoformat(), "to": pause_to.isoformat()} if pause_from else None
