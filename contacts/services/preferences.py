"""Apply a whole set of preferences (the SPEC §6 shape) at once: the modal and the public page (and the REST API to come)."""

from __future__ import annotations

import datetime
from functools import partial
from typing import Any, Callable

from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact, DoNotContact
from contacts.selectors import PreferenceState, contact_preference_state
from contacts.rules import MEMBER, category_receives, dnc_locked, frequency_value, pause_value

from .audit import Source, contact_lock
from .categories import category_subscribe, category_unsubscribe
from .channels import (
    channel_frequency_set,
    channel_pause_set,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferred_channel_set,
    dnc_locked_message,
    frequency_errors,
    pause_errors,
    preferred_channel_errors,
    unsubscribe_reason,
)
from .errors import PreferencesInvalid
from .segments import segment_membership_add, segment_membership_remove

TOP_LEVEL = {"channels", "preferred_channel", "categories", "segments"}
CHANNEL_FIELDS = {"subscribed", "dnc_reason", "frequency", "pause"}  # dnc_reason is read-only


class _Plan:
    """The validated changes, in the order they must run, and the errors found on the way."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.subscribes: list[Callable] = []
        self.preferred: list[Callable] = []
        self.others: list[Callable] = []

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(str(message))

    def steps(self) -> list[Callable]:
        # Re-ticked channels first so a newly reachable channel can be preferred; the preferred
        # channel before unsubscribes so a preference that moves away writes one history row.
        return self.subscribes + self.preferred + self.others


def _parse_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    raise ValueError(value)


def _plan_channel(plan: _Plan, *, contact, channel, spec, state: PreferenceState, source: Source, final_dnc) -> None:
    path = f"channels.{channel.slug}"
    if not isinstance(spec, dict):
        plan.error(path, _("Expected an object."))
        return
    for key in spec.keys() - CHANNEL_FIELDS:
        plan.error(f"{path}.{key}", _("Unknown field."))
    common = {"contact": contact, "channel": channel, "source": source}

    if "subscribed" in spec:
        subscribed, current = spec["subscribed"], state.dnc_reasons.get(channel.slug)
        if not isinstance(subscribed, bool):
            plan.error(f"{path}.subscribed", _("Expected true or false."))
        elif subscribed and current:
            if not dnc_locked(current):
                plan.subscribes.append(partial(channel_subscribe, **common))
                final_dnc[channel.slug] = None
            else:
                plan.error(f"{path}.subscribed", dnc_locked_message(DoNotContact(reason=current)))
        elif not subscribed and not current:
            plan.others.append(partial(channel_unsubscribe, **common))
            final_dnc[channel.slug] = unsubscribe_reason(source)

    pref = state.preferences.get(channel.slug)
    if "frequency" in spec:
        frequency = spec["frequency"]
        if frequency is not None and not isinstance(frequency, dict):
            plan.error(f"{path}.frequency", _("Expected an object with a number and a unit, or null."))
        else:
            number, unit = (frequency or {}).get("number"), (frequency or {}).get("unit")
            if errors := frequency_errors(number, unit, f"{path}.frequency"):
                for field, messages in errors.items():
                    plan.errors.setdefault(field, []).extend(messages)
            elif frequency_value(number, unit) != (frequency_value(pref.cap_number, pref.cap_unit) if pref else None):
                plan.others.append(partial(channel_frequency_set, number=number or None, unit=unit or None, **common))

    if "pause" in spec:
        pause = spec["pause"]
        if pause is not None and not isinstance(pause, dict):
            plan.error(f"{path}.pause", _("Expected an object with from and to dates, or null."))
            return
        dates = {}
        for end in ("from", "to"):
            value = (pause or {}).get(end)
            try:
                dates[end] = None if value in (None, "") else _parse_date(value)
            except ValueError:
                plan.error(f"{path}.pause.{end}", _("Enter a valid date."))
        if len(dates) < 2:
            return
        if errors := pause_errors(dates["from"], dates["to"], f"{path}.pause"):
            for field, messages in errors.items():
                plan.errors.setdefault(field, []).extend(messages)
        elif pause_value(dates["from"], dates["to"]) != (pause_value(pref.pause_from, pref.pause_to) if pref else None):
            plan.others.append(partial(channel_pause_set, pause_from=dates["from"], pause_to=dates["to"], **common))


def _plan_preferences(plan: _Plan, *, contact: Contact, data: dict, state: PreferenceState, source: Source) -> None:
    channels = {channel.slug: channel for channel in state.channels}
    final_dnc = dict(state.dnc_reasons)

    channel_data = data.get("channels", {})
    if not isinstance(channel_data, dict):
        plan.error("channels", _("Expected an object."))
        channel_data = {}
    for slug, spec in channel_data.items():
        if slug not in channels:
            plan.error(f"channels.{slug}", _("Unknown channel."))
            continue
        _plan_channel(plan, contact=contact, channel=channels[slug], spec=spec, state=state, source=source, final_dnc=final_dnc)

    if "preferred_channel" in data:
        slug = data["preferred_channel"]
        if slug is None or slug == "":
            if state.preferred_channel is not None:
                plan.preferred.append(partial(contact_preferred_channel_set, contact=contact, channel=None, source=source))
        elif not isinstance(slug, str) or slug not in channels:
            plan.error("preferred_channel", _("Unknown channel."))
        elif errors := preferred_channel_errors(
            contact=contact, channel=channels[slug], has_dnc=final_dnc.get(slug) is not None
        ):
            for message in errors:
                plan.error("preferred_channel", message)
        elif slug != state.preferred_channel:
            plan.preferred.append(
                partial(contact_preferred_channel_set, contact=contact, channel=channels[slug], source=source)
            )

    for area, rows in (("categories", state.categories), ("segments", state.segments)):
        wanted = data.get(area, {})
        if not isinstance(wanted, dict):
            plan.error(area, _("Expected an object."))
            continue
        by_slug = {row.slug: row for row in rows}
        for slug, value in wanted.items():
            path = f"{area}.{slug}"
            row = by_slug.get(slug)
            if row is None:
                plan.error(path, _("Unknown category.") if area == "categories" else _("Unknown segment."))
            elif not isinstance(value, bool):
                plan.error(path, _("Expected true or false."))
            elif area == "categories" and value != category_receives(row, row.subscription_status):
                action = category_subscribe if value else category_unsubscribe
                plan.others.append(partial(action, contact=contact, category=row, source=source))
            elif area == "segments" and value != (row.membership == MEMBER):
                action = segment_membership_add if value else segment_membership_remove
                plan.others.append(partial(action, contact=contact, segment=row, source=source))


def contact_preferences_update(
    *, contact: Contact, data: dict, source: Source | str, public_only: bool = False
) -> None:
    """Apply a full or partial SPEC §6 shape as one transaction.

    Everything is validated first against the contact's state as it will be after the change
    (a channel re-ticked in the same request may be preferred); any error raises one
    ``PreferencesInvalid`` carrying every per-field message, and then nothing has changed.
    Fields equal to the current value write nothing, history included. ``public_only``
    treats non-public categories and segments as unknown (the public page).
    """
    source = Source.of(source)
    if not isinstance(data, dict):
        raise PreferencesInvalid({"__all__": [_("Expected an object.")]})
    with transaction.atomic():
        contact_lock(contact)
        contact.refresh_from_db(fields=["email", "phone"])
        state = contact_preference_state(contact=contact, public_only=public_only)
        plan = _Plan()
        for key in data.keys() - TOP_LEVEL:
            plan.error(str(key), _("Unknown field."))
        _plan_preferences(plan, contact=contact, data=data, state=state, source=source)
        if plan.errors:
            raise PreferencesInvalid(plan.errors)
        for step in plan.steps():
            step()
