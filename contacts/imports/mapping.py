"""Where each column of a file goes: a target per column, and the mapping remembered per header.

A target is a string: ``ignore``, ``contact:<built-in field>``, ``field:<custom field key>``,
``channel:<slug>`` (contactable on that channel), ``category:<slug>`` (subscribed) or
``segment:<slug>`` (member).
"""

from __future__ import annotations

import hashlib
import re

from django.utils.translation import gettext as _

from contacts.models import Category, Channel, ContactField, ImportMapping, Segment
from contacts.services.fields import field_definitions

IGNORE = "ignore"
BUILT_IN = ("first_name", "last_name", "email", "phone", "locale", "time_zone")
PREFERENCE_KINDS = ("channel", "category", "segment")


def custom_fields() -> dict[str, ContactField]:
    """The custom fields staff defined, by key."""
    return field_definitions()


def target_choices() -> list[tuple[str, list[tuple[str, str]] | str]]:
    """The choices of the mapping step, grouped as the select shows them."""
    built_in = [(f"contact:{name}", _(name.replace("_", " ").capitalize())) for name in BUILT_IN]
    fields = [(f"field:{key}", field.label) for key, field in custom_fields().items()]
    channels = [(f"channel:{c.slug}", _("%(name)s: contactable") % {"name": c.name}) for c in Channel.objects.all()]
    categories = [(f"category:{c.slug}", _("%(name)s: subscribed") % {"name": c.name}) for c in Category.objects.all()]
    segments = [(f"segment:{s.slug}", _("%(name)s: member") % {"name": s.name}) for s in Segment.objects.all()]
    groups = [(IGNORE, _("Ignore this column")), (_("Contact"), built_in)]
    for label, options in ((_("Custom fields"), fields), (_("Channels"), channels), (_("Categories"), categories),
                           (_("Segments"), segments)):
        if options:
            groups.append((label, options))
    return groups


def target_values() -> set[str]:
    values = set()
    for value, options in target_choices():
        values.update([value] if isinstance(options, str) else (option for option, _label in options))
    return values


def header_key(header: list[str]) -> str:
    return hashlib.sha256("\x1f".join(name.strip().lower() for name in header).encode()).hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


GUESSES = {
    "email": "contact:email", "e_mail": "contact:email", "email_address": "contact:email", "mail": "contact:email",
    "phone": "contact:phone", "mobile": "contact:phone", "phone_number": "contact:phone", "telephone": "contact:phone",
    "first_name": "contact:first_name", "firstname": "contact:first_name", "given_name": "contact:first_name",
    "last_name": "contact:last_name", "lastname": "contact:last_name", "surname": "contact:last_name",
    "family_name": "contact:last_name", "locale": "contact:locale", "language": "contact:locale",
    "time_zone": "contact:time_zone", "timezone": "contact:time_zone", "tz": "contact:time_zone",
}


def mapping_suggest(header: list[str]) -> dict:
    """The mapping remembered for this header, else a guess from the column names; with match and policy."""
    remembered = ImportMapping.objects.filter(header_key=header_key(header)).first()
    valid = target_values()
    if remembered and len(remembered.mapping) == len(header):
        mapping = [target if target in valid else IGNORE for target in remembered.mapping]
        return {"mapping": mapping, "match_on": remembered.match_on, "policy": remembered.policy, "remembered": True}
    mapping = []
    for name in header:
        slug = _slug(name)
        guess = GUESSES.get(slug)
        for prefix in ("field", "channel", "category", "segment"):
            if guess is None and f"{prefix}:{slug.replace('_', '-')}" in valid:
                guess = f"{prefix}:{slug.replace('_', '-')}"
            if guess is None and f"{prefix}:{slug}" in valid:
                guess = f"{prefix}:{slug}"
        mapping.append(guess if guess and guess not in mapping else IGNORE)
    return {"mapping": mapping, "match_on": "email", "policy": "empty_only", "remembered": False}


def mapping_errors(*, header: list[str], mapping: list[str], match_on: str) -> list[str]:
    """What is wrong with a mapping, for the person choosing it (empty: usable)."""
    errors = []
    valid = target_values()
    if len(mapping) != len(header):
        return [_("Choose a target for every column.")]
    unknown = [target for target in mapping if target not in valid]
    if unknown:
        errors.append(_("Unknown target: %(targets)s.") % {"targets": ", ".join(unknown)})
    used = [target for target in mapping if target != IGNORE]
    twice = sorted({target for target in used if used.count(target) > 1})
    if twice:
        errors.append(_("Each target may take one column only: %(targets)s.") % {"targets": ", ".join(twice)})
    if f"contact:{match_on}" not in mapping:
        errors.append(
            _("Contacts are matched by %(key)s: map a column to it.")
            % {"key": _("email address") if match_on == "email" else _("phone number")}
        )
    return errors


def mapping_remember(*, header: list[str], mapping: list[str], match_on: str, policy: str) -> None:
    ImportMapping.objects.update_or_create(
        header_key=header_key(header), defaults={"mapping": mapping, "match_on": match_on, "policy": policy}
    )
