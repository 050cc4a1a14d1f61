"""How the staff UI words caps, pauses, sources and history rows."""

from __future__ import annotations

import datetime

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from contacts.models import CapUnit, ChangeKind, DncReason, PreferenceChange
from contacts.rules import MEMBER, REMOVED, contact_today, paused_on
from contacts.services.fields import field_value_text

register = template.Library()

MESSAGE_LEVELS = {"error": "danger", "debug": "secondary"}


@register.filter
def bootstrap_level(tags: str) -> str:
    """The Bootstrap colour of a Django message ("error" is "danger")."""
    level = (tags or "info").split()[-1]
    return MESSAGE_LEVELS.get(level, level)


@register.filter
def cap_display(cap) -> str:
    """(2, "day") → "2 per day"."""
    if not cap:
        return ""
    number, unit = cap
    return _("%(number)s per %(unit)s") % {"number": number, "unit": CapUnit(unit).label}


def _short_date(value: datetime.date, today: datetime.date | None = None) -> str:
    today = today or timezone.localdate()
    return formats.date_format(value, "j M" if value.year == today.year else "j M Y")


@register.filter
def short_date(value: datetime.date) -> str:
    """30 Nov (this year) or 30 Nov 2027."""
    return _short_date(value) if value else ""


@register.simple_tag
def pause_display(status) -> str:
    """A channel status card's pause line: "paused until 30 Nov", "pause from 1 Dec to 24 Dec"…"""
    if not status.pause:
        return ""
    start, end = status.pause
    if status.paused_now:
        return _("paused until %(end)s") % {"end": _short_date(end, status.today)}
    if status.pause_upcoming:
        return _("pause from %(start)s to %(end)s") % {
            "start": _short_date(start, status.today),
            "end": _short_date(end, status.today),
        }
    return _("pause ended %(end)s") % {"end": _short_date(end, status.today)}


@register.simple_tag
def pause_badge(preference, contact) -> str:
    """A contacts-list badge for a pause that holds now or is still to come, with its dates (in the
    contact's zone); a pause that ended says nothing."""
    if preference.pause_from is None:
        return ""
    today = contact_today(contact.time_zone, timezone.now())
    start, end = preference.pause_from, preference.pause_to
    if end < today:
        return ""
    values = {"channel": preference.channel.name, "start": _short_date(start, today), "end": _short_date(end, today)}
    if paused_on(start, end, today):
        return _("%(channel)s paused until %(end)s") % values
    return _("%(channel)s pause %(start)s – %(end)s") % values


@register.filter
def source_display(source: str) -> str:
    """ "staff:alice" → "alice (staff)"; "public_page" → "the contact, on the preference page"."""
    kind, _sep, name = (source or "").partition(":")
    labels = {
        "staff": _("%(name)s (staff)"),
        "api": _("API key %(name)s"),
        "public_page": _("the contact, on the preference page"),
        "one_click": _("the contact, one-click unsubscribe"),
        "mailto": _("the contact, unsubscribe email"),
        "sms_stop": _("the contact, SMS STOP"),
        "sms_start": _("the contact, SMS START"),
        "bounce": _("bounce report"),
        "complaint": _("spam complaint"),
        "import": _("import"),
        "system": _("system"),
    }
    label = labels.get(kind)
    return label % {"name": name} if label else source


def _value_display(kind: str, value, names: dict) -> str:
    if kind == ChangeKind.DNC:
        return _("contactable") if value is None else _("do not contact (%(reason)s)") % {
            "reason": DncReason(value).label if value in DncReason.values else value
        }
    if kind == ChangeKind.FREQUENCY:
        return _("no cap of its own") if not value else cap_display((value["number"], value["unit"]))
    if kind == ChangeKind.PAUSE:
        if not value:
            return _("not paused")
        start, end = datetime.date.fromisoformat(value["from"]), datetime.date.fromisoformat(value["to"])
        return _("paused %(start)s – %(end)s") % {
            "start": formats.date_format(start, "j M Y"),
            "end": formats.date_format(end, "j M Y"),
        }
    if kind == ChangeKind.PREFERRED_CHANNEL:
        return _("none") if value is None else names["channel_names"].get(value, value)
    if kind == ChangeKind.CATEGORY:
        return {None: _("default"), "subscribed": _("subscribed"), "unsubscribed": _("unsubscribed")}.get(value, value)
    if kind == ChangeKind.SEGMENT:
        return {None: _("not a member"), MEMBER: _("member"), REMOVED: _("removed")}.get(value, value)
    if kind == ChangeKind.FIELD:
        return _("no value") if value is None else field_value_text(value)
    if kind == ChangeKind.CREATED:  # old: none; new: the custom field values it was created with
        if value is None:
            return _("no contact")
        return ", ".join(f"{key}: {field_value_text(item)}" for key, item in value.items()) or _("no custom field values")
    return str(value)


@register.simple_tag
def history_entry(change: PreferenceChange, channel_names: dict, category_names: dict, segment_names: dict) -> dict:
    """What a timeline row shows: what changed, from → to, who and where."""
    names = {"channel_names": channel_names}
    if change.kind == ChangeKind.CATEGORY:
        subject = category_names.get(change.category_id) or change.subject
        what = _("Category “%(name)s”") % {"name": subject}
    elif change.kind == ChangeKind.SEGMENT:
        subject = segment_names.get(change.segment_id) or change.subject
        what = _("Segment “%(name)s”") % {"name": subject}
    elif change.kind == ChangeKind.PREFERRED_CHANNEL:
        what = _("Preferred channel")
    elif change.kind == ChangeKind.FIELD:
        what = _("Field “%(key)s”") % {"key": change.subject}
    elif change.kind == ChangeKind.CREATED:
        what = _("Contact created")
    else:
        channel = channel_names.get(change.subject, change.subject)
        what = f"{channel}: {ChangeKind(change.kind).label.lower()}"
    where = []
    if change.send_id:
        where.append(_("through send #%(id)s") % {"id": change.send_id})
    if change.ip_address:
        where.append(_("from %(ip)s") % {"ip": change.ip_address})
    return {
        "what": what,
        "old": _value_display(change.kind, change.old_value, names),
        "new": _value_display(change.kind, change.new_value, names),
        "who": source_display(change.source),
        "where": ", ".join(where),
        "user_agent": change.user_agent,
    }


@register.simple_tag
def tab_has_error(form, tab: str) -> bool:
    return tab in form.error_tabs()


@register.filter
def audit_value(value) -> str:
    """A value of the staff audit as text (the template escapes it): "—" for none, "yes"/"no", caps and lists readable."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dict) and set(value) == {"number", "unit"}:
        return cap_display((value["number"], value["unit"]))
    if isinstance(value, list):
        return ", ".join(audit_value(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {audit_value(item)}" for key, item in value.items())
    return str(value)
