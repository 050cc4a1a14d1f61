"""Small domain rules shared by the services (writes) and the selectors (reads)."""

from __future__ import annotations

import datetime

from contacts.models import Category, CategorySubscription, DoNotContact

MEMBER, REMOVED = "member", "removed"


def subscription_receives(*, opt_in: bool, status: str | None) -> bool:
    """SPEC §2: no choice means subscribed, except for ``opt_in`` categories."""
    if status is None:
        return not opt_in
    return status == CategorySubscription.Status.SUBSCRIBED


def category_receives(category: Category, status: str | None) -> bool:
    return subscription_receives(opt_in=category.opt_in, status=status)


def dnc_locked(reason: str | None) -> bool:
    """SPEC §2: a do-not-contact only staff can lift (``bounced``, ``complaint``); re-ticking keeps it."""
    return reason is not None and reason not in DoNotContact.CLEARABLE


def frequency_value(number: int | None, unit: str | None) -> dict | None:
    return {"number": number, "unit": unit} if number else None


def pause_value(pause_from: datetime.date | None, pause_to: datetime.date | None) -> dict | None:
    return {"from": pause_from.isoformat(), "to": pause_to.isoformat()} if pause_from else None


def names_listed(names: list[str], *, shown: int = 10) -> str:
    """“A”, “B” and 3 more: names for a message to staff, never an endless list."""
    listed = ", ".join(f"“{name}”" for name in names[:shown])
    return listed if len(names) <= shown else f"{listed} (+{len(names) - shown})"

