"""The one way raw SQL is written in messaging: a plain template with ``{name}`` parts, filled in
one step by ``sql_compose``. Table names come from the models' ``_meta`` (``{sends}``,
``{contacts}``, …); values, outcomes and reasons included, are query parameters, never text."""

from __future__ import annotations

import string

from contacts.models import (
    CategorySubscription, Channel, ChannelPreference, Contact, ContactField, DoNotContact, PreferenceSettings,
    SegmentMembership,
)
from messaging.models import Dispatch, DispatchBatch, Message, Send

TABLES = {
    "batches": DispatchBatch._meta.db_table,
    "category_subscriptions": CategorySubscription._meta.db_table,
    "channel_preferences": ChannelPreference._meta.db_table,
    "channels": Channel._meta.db_table,
    "contact_fields": ContactField._meta.db_table,
    "contacts": Contact._meta.db_table,
    "dispatches": Dispatch._meta.db_table,
    "do_not_contact": DoNotContact._meta.db_table,
    "message_segments": Message.segments.through._meta.db_table,
    "messages": Message._meta.db_table,
    "preference_settings": PreferenceSettings._meta.db_table,
    "segment_memberships": SegmentMembership._meta.db_table,
    "sends": Send._meta.db_table,
}


# Outcomes as query parameters: ``%(outcome_sending)s`` and so on.
OUTCOMES = {f"outcome_{outcome.value}": outcome.value for outcome in Send.Outcome}
# Reasons likewise: ``%(reason_dnc)s`` and so on.
REASONS = {f"reason_{reason.value}": reason.value for reason in Send.Reason}


class SqlTemplateError(ValueError):
    """A template names a part nobody gave, or is given a part it does not name."""


def sql_compose(template: str, **parts: str) -> str:
    """``template`` with each ``{name}`` replaced by a table of ``TABLES`` or by ``parts`` (SQL
    text the caller built: a subquery, a column list). Every name must be filled and every part
    used, so a typo fails here rather than as a syntax error in the database."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    given = {**TABLES, **parts}
    if missing := names - given.keys():
        raise SqlTemplateError(f"no SQL given for {sorted(missing)}")
    if unused := parts.keys() - names:
        raise SqlTemplateError(f"the template has no place for {sorted(unused)}")
    return template.format_map(given)


def address_columns(prefix: str) -> str:
    """The contact's address columns in ``Channel.AddressField`` order, each named as its field."""
    return ", ".join(f'{prefix}."{name}"' for name in Channel.AddressField.values)
