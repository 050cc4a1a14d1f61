"""Handing decided sends to the channel backends: no lock across a provider call, each hand-over
recorded as it happens, exactly once where the backend writes only to this database."""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts.models import Channel, Contact, DoNotContact
from messaging.delivery.backends import backend_for
from messaging.delivery.rendering import Delivery, MessageRenderer
from messaging.engine import locks
from messaging.engine.outcomes import handed_over_outcomes_record
from messaging.models import BatchStatus, DispatchBatch, Message, MessageVersion, Send
from messaging.sql import OUTCOMES, REASONS, sql_compose

logger = logging.getLogger(__name__)


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


def delivery_lease() -> datetime.timedelta:
    """How long a claim on a batch or a send holds without being renewed (a worker renews it
    while it works; one that died lets go when it runs out)."""
    return datetime.timedelta(seconds=settings.MESSAGING_BATCH_LEASE_SECONDS)


def sends_deliver(*, sends: Q, chunk: int | None = None, batch_id: int | None = None) -> DeliveryReport:
    """Deliver every send matching ``sends`` that is decided (``sending``), chunk by chunk.

    No lock is held while a provider is spoken to. A chunk is claimed in a short transaction
    (a claim token and a lease, renewed while the work runs), then each message is handed over
    on its own: do-not-contact is read just before, and the send is recorded ``sent`` as soon as
    the provider accepted it. A do-not-contact stored since the decision skips the send; one
    stored while the provider was receiving it marks it ``dnc_during_handover``. A crash
    re-sends at most the message in flight per connection. A delivery error keeps the send for a
    retry, until ``MESSAGING_MAX_ATTEMPTS`` makes it ``failed``. ``chunk``: sends claimed at a time
    (``MESSAGING_CHUNK_SIZE``). ``batch_id``: the batch whose lease the heartbeat renews too, and
    which publishes the outcomes when it finishes; without it (deferred sends, a dead worker's),
    each record publishes the ``send.outcome`` of the sends whose batch has finished, in its
    own transaction.
    """
    report = DeliveryReport()
    claim = DeliveryClaim(token=uuid.uuid4(), batch_id=batch_id)
    after = 0  # keyset pagination: each send is looked at once per call, retries included
    with _delivery_session(), claim.kept_alive():
        while True:
            rows = sends_claim(sends=sends & Q(pk__gt=after), token=claim.token, chunk=chunk)
            if not rows:
                return report
            after = rows[-1].send_id
            claim.send_ids = [row.send_id for row in rows]
            report.add(_claimed_deliver(rows, claim))


@contextmanager
def _delivery_session():
    """The hand-over step is prepared once per session (planned once, not per message), and
    commits return before the disk flush, since a flush per hand-over would cost more than the
    hand-over. Other sessions see each record at once; only a crash of the database server itself
    can forget the last fraction of a second of records (those sends are then sent again)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # Planned once: PostgreSQL would otherwise plan an array-parameter statement on every call.
        cursor.execute("SET synchronous_commit TO off; SET plan_cache_mode TO force_generic_plan")
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'pc_delivery_step'")
        if not cursor.fetchone()[0]:  # prepared once per database connection, kept with it
            cursor.execute(PREPARE_STEP_SQL, {**OUTCOMES, **REASONS})
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit; RESET plan_cache_mode")




class ClaimedRow(NamedTuple):
    """A decided send as its backend reads it, claimed by a deliverer or just decided in the
    deciding transaction; built from a statement's columns by name."""

    send_id: int
    message_id: int
    channel_id: int
    contact_id: int
    attempts: int
    first_name: str
    last_name: str
    locale: str
    addresses: dict[str, str | None]

    @classmethod
    def named(cls, columns: dict) -> ClaimedRow:
        """From a row as {column name: value}; the address columns are named as ``Channel.AddressField``."""
        return cls(
            **{name: columns[name] for name in cls._fields if name != "addresses"},
            addresses={name: columns[name] for name in Channel.AddressField.values},
        )

    def address(self, address_field: str) -> str:
        return self.addresses[address_field] or ""


def _claimed(cursor) -> list[ClaimedRow]:
    columns = [column[0] for column in cursor.description]
    return sorted((ClaimedRow.named(dict(zip(columns, row))) for row in cursor.fetchall()), key=_by_send)


def _by_send(row: ClaimedRow) -> int:
    return row.send_id


def sends_claim(*, sends: Q, token: uuid.UUID, chunk: int | None = None) -> list[ClaimedRow]:
    """Take up to ``chunk`` decided sends nobody holds (or whose holder's lease ran out), in id
    order, for the deliverer ``token``; commits at once. Returns the claimed rows."""
    for _ in range(3):
        now = timezone.now()
        stale = now - delivery_lease()
        claimable = Q(outcome=Send.Outcome.SENDING) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        # No lock in the subquery: a row another claimer takes meanwhile fails the outer re-check.
        candidates = Send.objects.filter(sends & claimable).order_by("pk").values("pk")[: chunk or settings.MESSAGING_CHUNK_SIZE]
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                ids_sql, ids_params = candidates.query.sql_with_params()
                cursor.execute(locks.claim_sql(ids_sql), [token, now, *ids_params, Send.Outcome.SENDING, stale])
                rows = _claimed(cursor)
        else:
            rows = _claim_portable(candidates, claimable, token, now)
        if rows or not Send.objects.filter(sends & claimable).exists():
            return rows
        # Another deliverer took what this statement's snapshot saw: look again.
    return []


def _claim_portable(candidates, claimable: Q, token: uuid.UUID, now) -> list[ClaimedRow]:
    # The embedded SQLite demo: it serialises writers, and its RETURNING cannot name a joined table.
    with transaction.atomic():
        ids = list(candidates.values_list("pk", flat=True))
        Send.objects.filter(claimable, pk__in=ids).update(claim_token=token, claimed_at=now)
        contact_fields = ["first_name", "last_name", "locale", *Channel.AddressField.values]
        claimed = Send.objects.filter(pk__in=ids, claim_token=token).order_by("pk").values(
            "message_id", "channel_id", "contact_id", "attempts", send_id=F("pk"),
            **{name: F(f"contact__{name}") for name in contact_fields},
        )
        return [ClaimedRow.named(row) for row in claimed]


@dataclass
class DeliveryClaim:
    token: uuid.UUID
    batch_id: int | None = None
    send_ids: list[int] = field(default_factory=list)  # the chunk being worked

    def renew(self) -> None:
        """Push the lease of the chunk being worked (and of its batch) to now."""
        now = timezone.now()
        Send.objects.filter(pk__in=self.send_ids, claim_token=self.token, outcome=Send.Outcome.SENDING).update(
            claimed_at=now
        )
        if self.batch_id is not None:
            DispatchBatch.objects.filter(pk=self.batch_id, claimed_at__isnull=False).exclude(
                status=BatchStatus.DONE
            ).update(claimed_at=now)

    @contextmanager
    def kept_alive(self):
        """The heartbeat: a thread renews the lease every third of it while the work runs, so a
        provider call that takes longer than the lease (up to its own timeout) never lets the
        claim lapse while this worker is alive; a worker that dies stops renewing with it."""
        stop = threading.Event()

        def beat() -> None:
            try:
                while not stop.wait(delivery_lease().total_seconds() / 3):
                    try:
                        self.renew()
                    except DatabaseError:  # the next beat tries again; the lease is the fallback
                        logger.warning("could not renew the delivery lease", exc_info=True)
            finally:
                connection.close()  # this thread's own connection

        heart = threading.Thread(target=beat, name=f"lease-{self.token}", daemon=True)
        heart.start()
        try:
            yield self
        finally:
            stop.set()
            heart.join(delivery_lease().total_seconds())


# One statement per hand-over step, outside any transaction: record what the provider just
# accepted (marked when a do-not-contact arrived while it was in flight: the check before the
# hand-over saw none), skip what the last check found do-not-contact, and read do-not-contact
# for the next group, just before it goes out.
# Outcomes and reasons are filled in by the driver when the statement is prepared (client-side,
# as literals), not as $n parameters: the generic plan then still sees the outcome it filters on.
PREPARE_STEP_SQL = sql_compose("""
    PREPARE pc_delivery_step(timestamptz, bigint[], bigint[], bigint[], bigint) AS
    WITH sent AS (
        UPDATE {sends} s SET outcome = %(outcome_sent)s, delivered_at = $1, claim_token = NULL,
            claimed_at = NULL,
            reason = CASE WHEN EXISTS (
                SELECT 1 FROM {do_not_contact} d WHERE d.contact_id = s.contact_id AND d.channel_id = s.channel_id
            ) THEN %(reason_dnc_during_handover)s ELSE s.reason END
        WHERE s.id = ANY($2) AND s.outcome = %(outcome_sending)s
        RETURNING s.id
    ), skipped AS (
        UPDATE {sends} s SET outcome = %(outcome_skipped_dnc)s, reason = %(reason_dnc_before_delivery)s,
            evaluated_at = $1, claim_token = NULL, claimed_at = NULL
        WHERE s.id = ANY($3) AND s.outcome = %(outcome_sending)s
        RETURNING s.id
    )
    SELECT d.contact_id FROM {do_not_contact} d
    WHERE d.contact_id = ANY($4) AND d.channel_id = $5
""")


class HandOverLedger:
    """Writes down each hand-over as it happens: the state a crash leaves is the provider's.
    ``publish``: each record also puts the outcomes of sends whose batch has finished in the
    webhook outbox, in the same transaction (outside a batch run)."""

    def __init__(self, report: DeliveryReport, attempts: dict[int, int], *, publish: bool = False):
        self.report, self.attempts, self.publish = report, attempts, publish
        self.sent: list[int] = []
        self.skipped: list[int] = []

    def step(self, *, channel_id: int, next_group: list[Delivery]) -> list[Delivery]:
        """Record what is pending, then return the deliveries of ``next_group`` still allowed."""
        now = timezone.now()
        if connection.vendor != "postgresql":
            return self._step_portable(channel_id, next_group, now)
        publish = self.publish and bool(self.sent or self.skipped)
        with transaction.atomic() if publish else nullcontext(), connection.cursor() as cursor:
            cursor.execute(
                "EXECUTE pc_delivery_step(%s, %s::bigint[], %s::bigint[], %s::bigint[], %s)",
                [now, self.sent, self.skipped, [d.contact_id for d in next_group], channel_id],
            )
            do_not_contact = {row[0] for row in cursor.fetchall()}
            if publish:
                handed_over_outcomes_record(sends=self._recorded(now))
        self._counted()
        return self._admit(next_group, do_not_contact)

    def _step_portable(self, channel_id, next_group, now) -> list[Delivery]:
        with transaction.atomic():
            if self.sent:
                Send.objects.filter(pk__in=self.sent, outcome=Send.Outcome.SENDING).update(
                    outcome=Send.Outcome.SENT, delivered_at=now, claim_token=None, claimed_at=None
                )
            if self.skipped:
                Send.objects.filter(pk__in=self.skipped, outcome=Send.Outcome.SENDING).update(
                    outcome=Send.Outcome.SKIPPED_DNC, reason=Send.Reason.DNC_BEFORE_DELIVERY, evaluated_at=now,
                    claim_token=None, claimed_at=None,
                )
            if self.publish:
                handed_over_outcomes_record(sends=self._recorded(now))
        do_not_contact = set(
            DoNotContact.objects.filter(contact_id__in=[d.contact_id for d in next_group], channel_id=channel_id)
            .values_list("contact_id", flat=True)
        )
        self._counted()
        return self._admit(next_group, do_not_contact)

    def _recorded(self, now) -> Q:
        # The rows this step changed (stamped with its moment), not one another deliverer recorded.
        return (Q(pk__in=self.sent, outcome=Send.Outcome.SENT, delivered_at=now)
                | Q(pk__in=self.skipped, outcome=Send.Outcome.SKIPPED_DNC, evaluated_at=now))

    def _counted(self) -> None:
        self.report.delivered += len(self.sent)
        self.report.skipped += len(self.skipped)
        self.sent, self.skipped = [], []

    def _admit(self, group: list[Delivery], do_not_contact: set[int]) -> list[Delivery]:
        admitted = []
        for delivery in group:
            (self.skipped.append(delivery.send_id) if delivery.contact_id in do_not_contact else admitted.append(delivery))
        return admitted

    def accepted(self, group: list[Delivery], errors: dict[int, str]) -> None:
        self.sent += [d.send_id for d in group if d.send_id not in errors]
        if errors:
            _errors_record(errors, self.attempts, timezone.now(), self.report, publish=self.publish)

    def close(self, channel_id: int) -> None:
        if self.sent or self.skipped:
            self.step(channel_id=channel_id, next_group=[])


def _claimed_deliver(rows: list[ClaimedRow], claim: DeliveryClaim) -> DeliveryReport:
    """Hand the claimed rows over, group by group of the backend's size, one provider session
    per (message, channel)."""
    report = DeliveryReport()
    ledger = HandOverLedger(report, {row.send_id: row.attempts for row in rows}, publish=claim.batch_id is None)
    for channel, backend, renderer, deliveries in _backend_groups(rows):
        size = max(1, backend.batch_size)
        handled: set[int] = set()
        try:
            with backend.session(renderer) as hand_over:
                for start in range(0, len(deliveries), size):
                    next_group = deliveries[start : start + size]
                    group = ledger.step(channel_id=channel.pk, next_group=next_group)
                    handled.update(d.send_id for d in next_group)
                    if not group:
                        continue
                    try:
                        errors = hand_over(group)
                    except Exception as error:  # noqa: BLE001 - a provider call that fails fails its group
                        errors = {d.send_id: f"{type(error).__name__}: {error}"[:1000] for d in group}
                    ledger.accepted(group, errors)
        except Exception as error:  # noqa: BLE001 - no session (server unreachable): retry what is left
            left = {d.send_id: f"{type(error).__name__}: {error}"[:1000] for d in deliveries if d.send_id not in handled}
            if left:
                _errors_record(left, ledger.attempts, timezone.now(), report, publish=ledger.publish)
        ledger.close(channel.pk)
    return report


def _backend_groups(rows: list[ClaimedRow]):
    """(channel, backend, renderer, deliveries) per (message, channel) of the claimed rows."""
    groups: dict[tuple[int, int], list[ClaimedRow]] = defaultdict(list)
    for row in rows:
        groups[(row.message_id, row.channel_id)].append(row)
    channels = Channel.objects.in_bulk({channel_id for _, channel_id in groups})
    messages = Message.objects.in_bulk({message_id for message_id, _ in groups})
    versions = {
        (version.message_id, version.channel_id): version
        for version in MessageVersion.objects.filter(message_id__in=messages, channel_id__in=channels)
    }
    for (message_id, channel_id), group in groups.items():
        channel = channels[channel_id]
        renderer = MessageRenderer(messages[message_id], versions[(message_id, channel_id)])
        yield channel, backend_for(channel), renderer, _deliveries(channel, group, renderer)


def _deliveries(channel: Channel, rows: list[ClaimedRow], renderer: MessageRenderer) -> list[Delivery]:
    # Custom field values only when the version uses a field token: one query for the group.
    fields = (dict(Contact.objects.filter(pk__in=[row.contact_id for row in rows]).values_list("pk", "fields"))
              if renderer.field_keys else {})
    return [
        Delivery(send_id=row.send_id, contact_id=row.contact_id, first_name=row.first_name, last_name=row.last_name,
                 address=row.address(channel.address_field), locale=row.locale, fields=fields.get(row.contact_id))
        for row in rows
    ]


def _hand_over(groups: dict[tuple[int, int], list[ClaimedRow]]) -> tuple[list[int], dict[int, str]]:
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
        renderer = MessageRenderer(message, version)
        deliveries = _deliveries(channel, group, renderer)
        try:
            group_errors = backend_for(channel).deliver(renderer, deliveries)
        except Exception as error:  # noqa: BLE001 - a backend that fails outright fails the whole group
            group_errors = {d.send_id: f"{type(error).__name__}: {error}"[:1000] for d in deliveries}
        errors.update(group_errors)
        delivered += [d.send_id for d in deliveries if d.send_id not in group_errors]
    return delivered, errors


def _errors_record(
    errors: dict[int, str], attempts_by_send: dict[int, int], now, report: DeliveryReport, *, publish: bool = False
) -> None:
    """A failed hand-over keeps the send ``sending`` for a retry, until the last attempt fails it.
    ``publish``: the sends failed here whose batch has finished are put in the webhook outbox."""
    failed: list[int] = []
    with transaction.atomic() if publish else nullcontext():
        _errors_write(errors, attempts_by_send, now, report, failed)
        if publish and failed:
            handed_over_outcomes_record(sends=Q(pk__in=failed, outcome=Send.Outcome.FAILED, evaluated_at=now))


def _errors_write(errors, attempts_by_send, now, report: DeliveryReport, failed: list[int]) -> None:
    for send_id, error in errors.items():
        attempts = attempts_by_send[send_id] + 1
        if attempts >= settings.MESSAGING_MAX_ATTEMPTS:
            Send.objects.filter(pk=send_id).update(
                outcome=Send.Outcome.FAILED, attempts=attempts, last_error=error, evaluated_at=now,
                claim_token=None, claimed_at=None,
            )
            report.failed += 1
            failed.append(send_id)
        else:
            # evaluated_at marks the attempt: the stalled-send sweep leaves the send to its retry,
            # whose backoff is shorter than the sweep's lease.
            Send.objects.filter(pk=send_id).update(
                outcome=Send.Outcome.SENDING, delivered_at=None, attempts=attempts, last_error=error, evaluated_at=now,
                claim_token=None, claimed_at=None,
            )
            report.retry.append(send_id)


def decided_sends_hand_over(*, rows: list[ClaimedRow], now) -> DeliveryReport:
    """Hand sends just decided as ``sent`` to their in-transaction backends, in the deciding
    transaction. A send the backend refused goes back to ``sending``
    with its error, for the retries of the ordinary delivery."""
    report = DeliveryReport()
    groups: dict[tuple[int, int], list[ClaimedRow]] = defaultdict(list)
    for row in rows:
        groups[(row.message_id, row.channel_id)].append(row)
    try:
        with transaction.atomic():  # a savepoint: a backend's failed write must not abort the decision
            delivered, errors = _hand_over(groups)
    except Exception as error:  # noqa: BLE001 - the database refused the backend's writes
        delivered, errors = [], {row.send_id: f"{type(error).__name__}: {error}"[:1000] for row in rows}
    report.delivered = len(delivered)
    _errors_record(errors, {row.send_id: row.attempts for row in rows}, now, report)
    return report
