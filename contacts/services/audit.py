"""Who made a change and from where, and the append-only history row every change writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from contacts.models import Category, Channel, Contact, PreferenceChange, Segment
from webhooks.outbox import preference_change_publish

from .dynamic_segments import contact_segments_refresh

# Sources of SPEC §2. The ones in NAMED carry a name after a colon: "staff:alice", "api:crm".
SOURCE_KINDS = frozenset(
    {"staff", "public_page", "one_click", "mailto", "api", "bounce", "complaint", "sms_stop", "sms_start", "import",
     "system", "filter"}
)
NAMED = frozenset({"staff", "api"})
# Sources that may name themselves: "import:42" is the import with id 42.
MAY_BE_NAMED = frozenset({"import"})
# Sources that speak for the contact: unticking a channel there records "unsubscribed", not "manual".
CONTACT_SOURCES = frozenset({"public_page", "one_click", "mailto", "sms_stop"})


@dataclass(frozen=True)
class Source:
    """Where a change comes from: the label stored in the history, plus the send, IP and user agent."""

    label: str
    send_id: int | None = None
    ip: str | None = None
    user_agent: str = ""

    def __post_init__(self) -> None:
        kind, _, name = self.label.partition(":")
        if kind not in SOURCE_KINDS:
            raise ValueError(f"Unknown change source {self.label!r}.")
        if (kind in NAMED) != bool(name) and kind not in MAY_BE_NAMED:
            raise ValueError(f"Source {self.label!r}: 'staff' and 'api' need a name, the others none.")

    @property
    def kind(self) -> str:
        return self.label.partition(":")[0]

    @property
    def speaks_for_contact(self) -> bool:
        return self.kind in CONTACT_SOURCES

    @classmethod
    def staff(cls, user) -> Source:
        return cls(f"staff:{user.get_username()}")

    @classmethod
    def contact_import(cls, contact_import) -> Source:
        return cls(contact_import.source_label)

    @classmethod
    def of(cls, value: Source | str) -> Source:
        return value if isinstance(value, Source) else cls(value)


def change_record(
    *,
    contact: Contact,
    kind: str,
    source: Source,
    old: Any,
    new: Any,
    channel: Channel | None = None,
    category: Category | None = None,
    segment: Segment | None = None,
    subject: str = "",
) -> PreferenceChange | None:
    """Append one history row, in the caller's transaction; an unchanged value writes nothing.

    The contact's dynamic segment memberships follow the change in the same transaction.
    """
    if old == new:
        return None
    assert transaction.get_connection().in_atomic_block, "history rows are written inside the change's transaction"
    # A custom field names itself (its key); the others are named by their object's slug.
    subject = subject or ((channel or category or segment).slug if (channel or category or segment) else "")
    change = PreferenceChange.objects.create(
        contact=contact,
        kind=kind,
        channel=channel,
        category=category,
        segment=segment,
        subject=subject,
        old_value=old,
        new_value=new,
        source=source.label,
        send_id=source.send_id,
        ip_address=source.ip or None,
        user_agent=(source.user_agent or "")[:500],
    )
    contact_segments_refresh(contact=contact, change=change)
    preference_change_publish(change)
    return change


def contact_lock(contact: Contact) -> None:
    """Serialise concurrent changes to one contact so each history row's old value is the true one."""
    Contact.objects.select_for_update().filter(pk=contact.pk).values_list("pk", flat=True).first()
