"""Handing decided sends to the channel backends, exactly once where the backend allows it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Channel, Contact, DoNotContact
from messaging.backends import backend_for
from messaging.models import Message, MessageVersion, Send
from messaging.rendering import Delivery, MessageRenderer

MAX_ATTEMPTS = 5
CHUNK = 5000


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
    after = 0  # keyset pagination: each send is looked at once per call, retries included
    while True:
        part = _deliver_chunk(sends & Q(outcome=Send.Outcome.SENDING, pk__gt=after), chunk)
        if part is None:
            return report
        part_report, after = part
        report.add(part_report)


_ADDRESS_COLUMNS = ", ".join(f'c."{name}"' for name in Channel.AddressField.values)
# A claimed row: send id, message, channel, contact, attempts, first name, last name, locale,
# then the address columns in Channel.AddressField order.
_ADDRESS_START = 8
CLAIM_SQL = f"""
    SELECT s.id, s.message_id, s.channel_id, s.contact_id, s.attempts, c.first_name, c.last_name, c.locale,
        {_ADDRESS_COLUMNS}
    FROM {Send._meta.db_table} s
    JOIN {Contact._meta.db_table} c ON c.id = s.contact_id
    WHERE s.id IN ({{ids}})
    ORDER BY s.id
    FOR UPDATE OF s {{skip}}
"""
# Held until the hand-over commits, taken in id order like every other contact lock: a change
# of preferences (which locks its contact FOR UPDATE) waits for a hand-over in flight, and a
# hand-over waits for a change in flight and then reads it. So once an unsubscribe has
# returned, nothing more goes out on that channel (SPEC §4), whoever made it.
CONTACT_SHARE_SQL = f"SELECT id FROM {Contact._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR SHARE"


def _do_not_contact(rows: list[tuple]) -> set[tuple[int, int]]:
    """(contact, channel) pairs of the claimed rows that are do-not-contact now, read after the locks."""
    contact_ids = sorted({row[3] for row in rows})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(CONTACT_SHARE_SQL, [contact_ids])
    return set(DoNotContact.objects.filter(contact_id__in=contact_ids).values_list("contact_id", "channel_id"))


@transaction.atomic
def _deliver_chunk(condition: Q, chunk: int) -> tuple[DeliveryReport, int] | None:
    candidates = Send.objects.filter(condition).order_by("pk").values("pk")[:chunk]
    ids_sql, ids_params = candidates.query.sql_with_params()
    skip = "SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update:
            cursor.execute(CLAIM_SQL.format(ids=ids_sql, skip=skip), ids_params)
        else:
            cursor.execute(CLAIM_SQL.replace("FOR UPDATE OF s {skip}", "").format(ids=ids_sql), ids_params)
        rows = cursor.fetchall()
    if not rows:
        return None
    report = DeliveryReport()
    now = timezone.now()
    groups: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    dropped = []
    do_not_contact = _do_not_contact(rows)
    for row in rows:
        # A do-not-contact that arrived since the decision wins over it.
        (dropped if (row[3], row[2]) in do_not_contact else groups[(row[1], row[2])]).append(row)
    if dropped:
        Send.objects.filter(pk__in=[row[0] for row in dropped]).update(
            outcome=Send.Outcome.SKIPPED_DNC, reason="dnc_before_delivery", evaluated_at=now
        )
        report.skipped += len(dropped)

    delivered, errors = _hand_over(groups)
    if delivered:
        with connection.cursor() as cursor:
            # Outside PostgreSQL, ANY() is not available: a plain IN list does the same.
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"UPDATE {Send._meta.db_table} SET outcome = 'sent', delivered_at = %s WHERE id = ANY(%s)",
                    [now, delivered],
                )
            else:
                Send.objects.filter(pk__in=delivered).update(outcome=Send.Outcome.SENT, delivered_at=now)
        report.delivered += len(delivered)
    _errors_record(errors, {row[0]: row[4] for row in rows}, now, report)
    return report, rows[-1][0]


def _hand_over(groups: dict[tuple[int, int], list[tuple]]) -> tuple[list[int], dict[int, str]]:
    """Give each (message, channel) group of claimed rows to its channel's backend: the ids it
    accepted, and the error of each send it did not."""
    channels = Channel.objects.in_bulk({channel_id for _, channel_id in groups})
    messages = Message.objects.in_bulk({message_id for message_id, _ in groups})
    versions = {
        (version.message_id, version.channel_id): version
        for version in MessageVersion.objects.filter(message_id__in=messages, channel_id__in=channels)
    }
    delivered: list[int] = []
    errors: dict[int, str] = {}
    for (message_id, channel_id), group in groups.items():
        channel, message, version = channels[channel_id], messages[message_id], versions[(message_id, channel_id)]
        address = _ADDRESS_START + Channel.AddressField.values.index(channel.address_field)
        deliveries = [
            Delivery(send_id=row[0], contact_id=row[3], first_name=row[5], last_name=row[6],
                     address=row[address] or "", locale=row[7])
            for row in group
        ]
        try:
            group_errors = backend_for(channel).deliver(MessageRenderer(message, version), deliveries)
        except Exception as error:  # noqa: BLE001 - a backend that fails outright fails the whole group
            group_errors = {d.send_id: f"{type(error).__name__}: {error}"[:1000] for d in deliveries}
        errors.update(group_errors)
        delivered += [d.send_id for d in deliveries if d.send_id not in group_errors]
    return delivered, errors


def _errors_record(errors: dict[int, str], attempts_by_send: dict[int, int], now, report: DeliveryReport) -> None:
    """A failed hand-over keeps the send ``sending`` for a retry, until the last attempt fails it."""
    for send_id, error in errors.items():
        attempts = attempts_by_send[send_id] + 1
        if attempts >= max_attempts():
            Send.objects.filter(pk=send_id).update(
                outcome=Send.Outcome.FAILED, attempts=attempts, last_error=error, evaluated_at=now
            )
            report.failed += 1
        else:
            # evaluated_at marks the attempt: the stalled-send sweep leaves the send to its retry,
            # whose backoff is shorter than the sweep's lease.
            Send.objects.filter(pk=send_id).update(
                outcome=Send.Outcome.SENDING, delivered_at=None, attempts=attempts, last_error=error, evaluated_at=now
            )
            report.retry.append(send_id)


def decided_sends_hand_over(*, rows: list[tuple], now) -> DeliveryReport:
    """Hand sends just decided as ``sent`` to their in-transaction backends, in the deciding
    transaction (rows as claimed rows). A send the backend refused goes back to ``sending``
    with its error, for the retries of the ordinary delivery."""
    report = DeliveryReport()
    groups: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for row in rows:
        groups[(row[1], row[2])].append(row)
    try:
        with transaction.atomic():  # a savepoint: a backend's failed write must not abort the decision
            delivered, errors = _hand_over(groups)
    except Exception as error:  # noqa: BLE001 - the database refused the backend's writes
        delivered, errors = [], {row[0]: f"{type(error).__name__}: {error}"[:1000] for row in rows}
    report.delivered = len(delivered)
    _errors_record(errors, {row[0]: row[4] for row in rows}, now, report)
    return report
