"""How the staff UI words sends: outcomes and reasons as translated words, never codes."""

from django import template

from messaging.models import Outcome, reason_label

register = template.Library()


@register.filter
def reason_display(code: str) -> str:
    """ "channel_order" → "Channel order"; see ``messaging.models.reason_label``."""
    return reason_label(code) if code else ""


@register.filter
def outcome_display(code: str) -> str:
    return str(Outcome(code).label) if code in Outcome.values else code


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if mapping else None
