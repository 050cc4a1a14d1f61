"""Handing decided sends to the channel backends, exactly once where the backend allows it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Channel, DoNotContact
from messaging.backends import backend_for
from messaging.models import Message, MessageVersion, Send
from messaging.rendering import Delivery, MessageRenderer

MAX_ATTEMPTS = 5
CHUNK = 1000


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    retry: list[int] = field(default_factory=list)  # sends to try again later

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.skipped += other.skipped
        self.retry += other.retry


def max_attempts() -> int:
    return getattr(settings, "MESSAGING_MAX_ATTEMPTS", MAX_ATTEMPTS)


def sends_deliver(*, sends: Q, chunk: int = CHUNK) -> DeliveryReport:
    """Deliver every send matching ``sends`` that is decided (``sending``), chunk by chunk.

    Each chunk is one transaction holding its send rows locked (other workers skip them), so a
    send is handed over by one worker at a time; it becomes ``sent`` in the same transaction.
    A do-not-contact that arrived since the decision wins: the send is skipped, not delivered.
    A delivery error keeps the send for a retry, until ``MAX_ATTEMPTS`` makes it ``failed``.
    """
    report = DeliveryReport()
    seen: set[int] = set()
    while True:
        part = _deliver_chunk(sends & Q(outcome=Send.Outcome.SENDING) & ~Q(pk__in=seen), chunk, seen)
        if part is None:
            return report
        report.add(part)


@transaction.atomic
def _deliver_chunk(condition: Q, chunk: int, seen: set[int]) -> DeliveryReport | None:
    rows = list(
        Send.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(condition)
        .order_by("pk")
        .values_list(
            "pk", "message_id", "channel_id", "contact_id", "attempts",
            "contact__first_name", "contact__last_name", "contact__email", "contact__phone", "contact__locale",
        )[:chunk]
    )
    if not rows:
        return None
    seen.update(row[0] for row in rows)
    report = DeliveryReport()
    now = timezone.now()
    blocked = set(
        DoNotContact.objects.filter(contact_id__in={row[3] for row in rows}).values_list("contact_id", "channel_id")
    )
    groups: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    dropped = []
    for row in rows:
        (dropped if (row[3], row[2]) in blocked else groups[(row[1], row[2])]).append(row)
    if dropped:
        Send.objects.filter(pk__in=[row[0] for row in dropped]).update(
            outcome=Send.Outcome.SKIPPED_DNC, reason="dnc_before_delivery", evaluated_at=now
        )
        report.skipped += len(dropped)

    channels = Channel.objects.in_bulk({channel_id for _, channel_id in groups})
    messages = Message.objects.in_bulk({message_id for message_id, _ in groups})
    delivered, attempts_by_send = [], {}
    errors: dict[int, str] = {}
    for (message_id, channel_id), group in groups.items():
        channel, message = channels[channel_id], messages[message_id]
        version = MessageVersion.objects.get(message_id=message_id, channel_id=channel_id)
        deliveries = [
            Delivery(
                send_id=row[0], contact_id=row[3], first_name=row[5], last_name=row[6],
                address=getattr_row(row, channel.address_field), locale=row[9],
            )
            for row in group
        ]
        for row in group:
            attempts_by_send[row[0]] = row[4]
        try:
            group_errors = backend_for(channel).deliver(MessageRenderer(message, version), deliveries)
        except Exception as error:  # noqa: BLE001 - a backend that fails outright fails the whole group
            group_errors = {d.send_id: f"{type(error).__name__}: {error}"[:1000] for d in deliveries}
        errors.update(group_errors)
        delivered += [d.send_id for d in deliveries if d.send_id not in group_errors]

    if delivered:
        Send.objects.filter(pk__in=delivered).update(outcome=Send.Outcome.SENT, delivered_at=now)
        report.delivered += len(delivered)
    for send_id, error in errors.items():
        attempts = attempts_by_send[send_id] + 1
        if attempts >= max_attempts():
            Send.objects.filter(pk=send_id).update(
                outcome=Send.Outcome.FAILED, attempts=attempts, last_error=error, evaluated_at=now
            )
            report.failed += 1
        else:
            Send.objects.filter(pk=send_id).update(attempts=attempts, last_error=error)
            report.retry.append(send_id)
    return report


_ADDRESS_INDEX = {"email": 7, "phone": 8}


def getattr_row(row: tuple, address_field: str) -> str:
    return row[_ADDRESS_INDEX[address_field]] or ""
