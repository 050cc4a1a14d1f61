"""Changes to how a contact may be reached on one channel: do-not-contact, cap, pause, preferred."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from contacts.models import (
    PAUSE_EARLIEST,
    PAUSE_LATEST,
    CapUnit,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceChange,
)
from contacts.rules import dnc_locked, frequency_value, pause_value

from .audit import Source, change_record, contact_lock
from .errors import PreferencesInvalid
from .staff_audit import Action as StaffAction
from .staff_audit import staff_change_record

Reason = DoNotContact.Reason
MAX_CAP = 1000  # a cap above this is no cap; the bound keeps nonsense out of the database
# A harder reason replaces a softer one (a bounce after an unsubscribe); never the other way.
REASON_SEVERITY = {Reason.UNSUBSCRIBED: 1, Reason.MANUAL: 1, Reason.BOUNCED: 2, Reason.COMPLAINT: 3}


def unsubscribe_reason(source: Source) -> str:
    """Unticking a channel: the contact's own choice is "unsubscribed", anyone else's "manual"."""
    return Reason.UNSUBSCRIBED if source.speaks_for_contact else Reason.MANUAL


def _preference_for_update(contact: Contact, channel: Channel) -> ChannelPreference:
    pref = ChannelPreference.objects.filter(contact=contact, channel=channel).first()
    return pref or ChannelPreference(contact=contact, channel=channel)


def _preference_store(pref: ChannelPreference) -> None:
    # An empty row means "defaults": drop it rather than keep rows that say nothing.
    if pref.is_empty:
        if pref.pk:
            pref.delete()
    else:
        pref.save()


@transaction.atomic
def channel_unsubscribe(
    *, contact: Contact, channel: Channel, source: Source | str, reason: str | None = None
) -> DoNotContact:
    """Put do-not-contact on the channel.

    Without a reason, the source decides (``unsubscribe_reason``). An existing entry is kept,
    or hardened (unsubscribed → bounced → complaint), never softened. A preferred channel that
    becomes do-not-contact stops being preferred.
    """
    source = Source.of(source)
    reason = reason or unsubscribe_reason(source)
    if reason not in Reason.values:
        raise ValueError(f"Unknown do-not-contact reason {reason!r}.")
    contact_lock(contact)
    dnc = DoNotContact.objects.filter(contact=contact, channel=channel).first()
    if dnc is None:
        dnc = DoNotContact.objects.create(contact=contact, channel=channel, reason=reason, source=source.label)
        change_record(contact=contact, kind=PreferenceChange.Kind.DNC, source=source, old=None, new=reason, channel=channel)
    elif REASON_SEVERITY[reason] > REASON_SEVERITY[dnc.reason]:
        old = dnc.reason
        dnc.reason, dnc.source = reason, source.label
        dnc.save(update_fields=["reason", "source"])
        change_record(contact=contact, kind=PreferenceChange.Kind.DNC, source=source, old=old, new=reason, channel=channel)
    preferred = ChannelPreference.objects.filter(contact=contact, channel=channel, preferred=True).first()
    if preferred:
        preferred.preferred = False
        _preference_store(preferred)
        change_record(
            contact=contact, kind=PreferenceChange.Kind.PREFERRED_CHANNEL, source=source, old=channel.slug, new=None
        )
    return dnc


@transaction.atomic
def channel_subscribe(*, contact: Contact, channel: Channel, source: Source | str) -> None:
    """Tick the channel again: lifts an ``unsubscribed`` or ``manual`` do-not-contact.

    A ``bounced`` or ``complaint`` entry stays; it raises ``PreferencesInvalid`` and only
    ``channel_dnc_clear`` (an explicit staff action) lifts it.
    """
    source = Source.of(source)
    contact_lock(contact)
    dnc = DoNotContact.objects.filter(contact=contact, channel=channel).first()
    if dnc is None:
        return
    if dnc_locked(dnc.reason):
        raise PreferencesInvalid({f"channels.{channel.slug}.subscribed": [dnc_locked_message(dnc)]})
    dnc.delete()
    change_record(contact=contact, kind=PreferenceChange.Kind.DNC, source=source, old=dnc.reason, new=None, channel=channel)


def dnc_locked_message(dnc: DoNotContact) -> str:
    if dnc.reason == Reason.BOUNCED:
        return _("Messages to this address bounced. Only staff can clear a bounce.")
    return _("This address reported our messages as spam. Only staff can clear a complaint.")


@transaction.atomic
def channel_dnc_clear(
    *, contact: Contact, channel: Channel, source: Source | str, only_reasons: frozenset[str] | None = None
) -> None:
    """Lift any do-not-contact, bounces and complaints included: a deliberate staff action (or, to come, an API one).

    ``only_reasons``: lift it only when its reason (read under the contact's lock) is one of these."""
    source = Source.of(source)
    if source.kind not in {"staff", "api", "system"}:
        raise PermissionError(f"Source {source.label!r} may not clear a bounce or a complaint.")
    contact_lock(contact)
    dnc = DoNotContact.objects.filter(contact=contact, channel=channel).first()
    if dnc is not None and (only_reasons is None or dnc.reason in only_reasons):
        dnc.delete()
        change_record(
            contact=contact, kind=PreferenceChange.Kind.DNC, source=source, old=dnc.reason, new=None, channel=channel
        )


def frequency_errors(number, unit, path: str) -> dict[str, list[str]]:
    """Messages for a cap that breaks the rule "N ≥ 1 per day, week or month, both or neither"."""
    errors: dict[str, list[str]] = {}
    if number in (None, "") and unit in (None, ""):
        return errors
    if number in (None, ""):
        errors[f"{path}.number"] = [_("Enter how many messages, or clear the unit.")]
    elif isinstance(number, bool) or not isinstance(number, int):
        errors[f"{path}.number"] = [_("Enter a whole number.")]
    elif number < 1:
        errors[f"{path}.number"] = [_("Enter a number of at least 1, or leave both fields empty for no limit.")]
    elif number > MAX_CAP:
        errors[f"{path}.number"] = [_("Enter a number of at most %(max)s.") % {"max": MAX_CAP}]
    if unit not in CapUnit.values:
        errors[f"{path}.unit"] = [_("Choose day, week or month.")]
    return errors


def default_cap_errors(number, unit) -> dict[str, list[str]]:
    """A channel's default cap: 0 or nothing means no cap; any other value obeys the contacts' cap rule."""
    if number in (None, "", 0) and unit in (None, ""):
        return {}
    if number == 0:
        return {"default_cap.number": [_("Enter a number of at least 1, or 0 and no unit for no limit.")]}
    return frequency_errors(number, unit, "default_cap")


@transaction.atomic
def channel_default_cap_set(*, channel: Channel, number: int | None, unit: str | None, acting_user) -> None:
    """Set the cap that applies to contacts without one of their own; ``default_cap_errors`` is the rule.

    An unchanged cap writes nothing; a changed one leaves a staff audit row (old → new cap).
    """
    if errors := default_cap_errors(number, unit):
        raise PreferencesInvalid(errors)
    locked = Channel.objects.select_for_update().get(pk=channel.pk)
    old = frequency_value(locked.default_cap_number, locked.default_cap_unit)
    locked.default_cap_number, locked.default_cap_unit = (number, unit) if number else (None, "")
    channel.default_cap_number, channel.default_cap_unit = locked.default_cap_number, locked.default_cap_unit
    new = frequency_value(locked.default_cap_number, locked.default_cap_unit)
    if old == new:
        return
    locked.save(update_fields=["default_cap_number", "default_cap_unit"])
    staff_change_record(
        acting_user=acting_user, subject_type="channel", subject_id=locked.pk, subject_label=locked.name,
        action=StaffAction.UPDATED, changes={"default_cap": [old, new]},
    )


@transaction.atomic
def channel_frequency_set(
    *, contact: Contact, channel: Channel, number: int | None, unit: str | None, source: Source | str
) -> None:
    """Set "at most ``number`` messages per ``unit``" on the channel, or clear it (both ``None``)."""
    source = Source.of(source)
    if errors := frequency_errors(number, unit, f"channels.{channel.slug}.frequency"):
        raise PreferencesInvalid(errors)
    contact_lock(contact)
    pref = _preference_for_update(contact, channel)
    old, new = frequency_value(pref.cap_number, pref.cap_unit), frequency_value(number, unit)
    if old == new:
        return
    pref.cap_number, pref.cap_unit = (number, unit) if number else (None, "")
    _preference_store(pref)
    change_record(contact=contact, kind=PreferenceChange.Kind.FREQUENCY, source=source, old=old, new=new, channel=channel)


def pause_errors(pause_from, pause_to, path: str) -> dict[str, list[str]]:
    """A pause has both days, each within ``PAUSE_EARLIEST``–``PAUSE_LATEST``, and ends on or after it starts."""
    if pause_from is None and pause_to is None:
        return {}
    if pause_from is None:
        return {f"{path}.from": [_("Enter the first day of the pause.")]}
    if pause_to is None:
        return {f"{path}.to": [_("Enter the last day of the pause.")]}
    errors = {}
    for end, day in (("from", pause_from), ("to", pause_to)):
        if not PAUSE_EARLIEST <= day <= PAUSE_LATEST:
            errors[f"{path}.{end}"] = [
                _("Enter a date between %(earliest)s and %(latest)s.")
                % {"earliest": date_format(PAUSE_EARLIEST), "latest": date_format(PAUSE_LATEST)}
            ]
    if not errors and pause_to < pause_from:
        errors[f"{path}.to"] = [_("The pause must end on or after the day it starts.")]
    return errors


@transaction.atomic
def channel_pause_set(
    *,
    contact: Contact,
    channel: Channel,
    pause_from: datetime.date | None,
    pause_to: datetime.date | None,
    source: Source | str,
) -> None:
    """Pause the channel from one day to another, inclusive, in the contact's time zone; ``None`` clears it."""
    source = Source.of(source)
    if errors := pause_errors(pause_from, pause_to, f"channels.{channel.slug}.pause"):
        raise PreferencesInvalid(errors)
    contact_lock(contact)
    pref = _preference_for_update(contact, channel)
    old, new = pause_value(pref.pause_from, pref.pause_to), pause_value(pause_from, pause_to)
    if old == new:
        return
    pref.pause_from, pref.pause_to = pause_from, pause_to
    _preference_store(pref)
    change_record(contact=contact, kind=PreferenceChange.Kind.PAUSE, source=source, old=old, new=new, channel=channel)


def preferred_channel_errors(*, contact: Contact, channel: Channel, has_dnc: bool) -> list[str]:
    name = _(channel.name)  # the seeded channel names are in the catalogue
    if has_dnc:
        return [_("%(channel)s cannot be preferred: the contact may not be contacted on it.") % {"channel": name}]
    if not contact.address_for(channel):
        return [_("%(channel)s cannot be preferred: the contact has no address for it.") % {"channel": name}]
    return []


@transaction.atomic
def contact_preferred_channel_set(*, contact: Contact, channel: Channel | None, source: Source | str) -> None:
    """Make ``channel`` the one preferred channel (``None``: no preference). It must be reachable."""
    source = Source.of(source)
    contact_lock(contact)
    if channel is not None:
        has_dnc = DoNotContact.objects.filter(contact=contact, channel=channel).exists()
        if errors := preferred_channel_errors(contact=contact, channel=channel, has_dnc=has_dnc):
            raise PreferencesInvalid({"preferred_channel": errors})
    current = ChannelPreference.objects.filter(contact=contact, preferred=True).select_related("channel").first()
    old = current.channel.slug if current else None
    new = channel.slug if channel else None
    if old == new:
        return
    if current:  # cleared first: the database allows one preferred row per contact
        current.preferred = False
        _preference_store(current)
    if channel is not None:
        pref = _preference_for_update(contact, channel)
        pref.preferred = True
        _preference_store(pref)
    change_record(contact=contact, kind=PreferenceChange.Kind.PREFERRED_CHANNEL, source=source, old=old, new=new)
