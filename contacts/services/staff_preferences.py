"""A staff user's own settings (not contacts' data): the time zone the staff pages show dates in."""

from __future__ import annotations

import zoneinfo

from django.db import transaction

from contacts.models import StaffPreference

STAFF_TIME_ZONE_SESSION_KEY = "staff_time_zone"


def staff_time_zone(*, user) -> str:
    """The user's zone, or "" for the server's."""
    return StaffPreference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


@transaction.atomic
def staff_time_zone_set(*, user, time_zone: str, session=None) -> None:
    """Save the user's zone ("" for the server's); the session, if given, follows at once.
    An unknown zone raises ``ValueError``: the form offers only known ones."""
    if time_zone and time_zone not in zoneinfo.available_timezones():
        raise ValueError(f"Unknown time zone {time_zone!r}.")
    StaffPreference.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    if session is not None:
        session[STAFF_TIME_ZONE_SESSION_KEY] = time_zone


def staff_time_zone_to_session(sender, request, user, **kwargs) -> None:
    """On log-in, the user's zone goes into the session, which the middleware reads on every request."""
    request.session[STAFF_TIME_ZONE_SESSION_KEY] = staff_time_zone(user=user)
