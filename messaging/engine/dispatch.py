"""Starting a dispatch and deciding its batches (SPEC §3)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Channel, Contact
from contacts.services.dynamic_segments import segment_rebuild
from messaging.delivery.backends import backend_for
from messaging.delivery.handover import ClaimedRow, DeliveryReport, decided_sends_hand_over
from messaging.engine.decision import decide, message_plan
from messaging.engine.decision.inputs import contact_facts
from messaging.models import BatchStatus, Dispatch, DispatchBatch, DispatchStatus, Message, Send
from messaging.sql import OUTCOMES, address_columns, sql_compose
from messaging.engine import locks
from messaging.engine.outcomes import send_outcomes_record
from messaging.engine.queue import DISPATCH_PLAN, enqueue_on_commit

DECISION_FAILED = Send.Reason.DECISION_FAILED

logger = logging.getLogger(__name__)


class DispatchInvalid(Exception):
    """The message cannot be sent as it is; the message says why."""


_RECIPIENTS = """
    SELECT DISTINCT sm.contact_id FROM {segment_memberships} sm
    JOIN {message_segments} ms ON ms.segment_id = sm.segment_id AND ms.message_id = %(message_id)s
    WHERE NOT sm.removed{batch}
"""
_RECIPIENTS_BATCH = """
        AND sm.contact_id BETWEEN %(lo)s AND %(hi)s
        AND sm.contact_id NOT IN (
            SELECT s.contact_id FROM {sends} s
            WHERE s.message_id = %(message_id)s AND s.contact_id BETWEEN %(lo)s AND %(hi)s
        )"""


def message_recipients_sql(*, batch: bool = False) -> str:
    """SPEC §3: the recipients of a message are the distinct members of its source segments, minus
    those removed from them. ``batch``: only those within ``%(lo)s``–``%(hi)s`` with no send yet."""
    return sql_compose(_RECIPIENTS, batch=sql_compose(_RECIPIENTS_BATCH) if batch else "")


def message_recipient(*, message_id: int, contact_id: int) -> bool:
    """Whether the contact is among the message's recipients, by ``message_recipients_sql``."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql_compose("SELECT 1 FROM ({recipients}) r WHERE r.contact_id = %(contact_id)s",
                        recipients=message_recipients_sql()),
            {"message_id": message_id, "contact_id": contact_id},
        )
        return cursor.fetchone() is not None


# The next row (lead), not a count over all rows, marks the last recipient: the window then needs
# no buffer of the whole recipient list.
_BATCH_STARTS = """
    SELECT contact_id, rn FROM (
        SELECT contact_id, row_number() OVER w AS rn, lead(contact_id) OVER w IS NULL AS last
        FROM ({recipients}) r
        WINDOW w AS (ORDER BY contact_id)
    ) x WHERE (rn - 1) %% %(size)s = 0 OR last ORDER BY rn
"""


class BatchStart(NamedTuple):
    """A recipient that opens a batch (or is the last one), with its rank among the recipients."""

    contact_id: int
    rn: int


def dispatch_errors(message: Message) -> list[str]:
    errors = []
    if message.archived:
        errors.append("The message is archived.")
    if not message.versions.exists():
        errors.append("The message has no version for any channel.")
    if not message.segments.exists():
        errors.append("The message has no source segment.")
    if message.deliver_until and message.deliver_until <= timezone.now():
        errors.append("The delivery deadline has passed.")
    return errors


@transaction.atomic
def dispatch_create(*, message: Message, user=None, batch_size: int = 5000) -> Dispatch:
    """Send the message to its segments: the planning task is enqueued once this commits.

    A message may be dispatched again (to reach members who joined since): recipients who
    already have an outcome for it keep it, since a send is unique on (message, contact).
    """
    message = Message.objects.select_for_update().get(pk=message.pk)  # serialised with message_archive
    if errors := dispatch_errors(message):
        raise DispatchInvalid(" ".join(errors))
    dispatch = Dispatch.objects.create(
        message=message,
        created_by=user,
        deliver_until=message.deadline(timezone.now()),
        batch_size=batch_size,
    )
    enqueue_on_commit(DISPATCH_PLAN, dispatch.pk)
    return dispatch


@transaction.atomic
def dispatch_plan(*, dispatch_id: int) -> list[int]:
    """Split the recipients into contact-id ranges of ``batch_size``; idempotent.

    Dynamic source segments are rebuilt first, so conditions that time alone changes ("in the
    last 30 days") are current when the recipients are read (docs/segments.md).
    Returns the ids of the batches still to do (all of them the first time).
    """
    dispatch = Dispatch.objects.select_for_update().get(pk=dispatch_id)
    if dispatch.planned_at is None:
        for segment_id in dispatch.message.segments.filter(filter__isnull=False).values_list("pk", flat=True):
            segment_rebuild(segment_id=segment_id)
        sql = sql_compose(_BATCH_STARTS, recipients=message_recipients_sql())
        with connection.cursor() as cursor:
            cursor.execute(sql, {"message_id": dispatch.message_id, "size": dispatch.batch_size})
            names = [column[0] for column in cursor.description]
            rows = [BatchStart(**dict(zip(names, row))) for row in cursor.fetchall()]
        starts = [row.contact_id for row in rows if (row.rn - 1) % dispatch.batch_size == 0]
        last = rows[-1].contact_id if rows else None
        ends = [start - 1 for start in starts[1:]] + ([last] if rows else [])
        DispatchBatch.objects.bulk_create(
            DispatchBatch(dispatch=dispatch, first_contact_id=start, last_contact_id=end)
            for start, end in zip(starts, ends)
        )
        dispatch.recipients = rows[-1].rn if rows else 0
        dispatch.planned_at = timezone.now()
        dispatch.status = DispatchStatus.RUNNING if rows else DispatchStatus.DONE
        dispatch.finished_at = None if rows else dispatch.planned_at
        dispatch.save(update_fields=["recipients", "planned_at", "status", "finished_at"])
    return list(dispatch.batches.exclude(status=BatchStatus.DONE).values_list("pk", flat=True))


def batch_claim(*, batch_id: int) -> DispatchBatch | None:
    """Mark a worker as being on this batch (its lease); None when there is nothing left to do."""
    now = timezone.now()
    updated = DispatchBatch.objects.filter(pk=batch_id).exclude(status=BatchStatus.DONE).update(claimed_at=now)
    if not updated:
        return None
    return DispatchBatch.objects.select_related("dispatch__message__category").get(pk=batch_id)


_INSERT = """
    WITH decided AS (
        INSERT INTO {sends} (
            message_id, dispatch_id, contact_id, channel_id, outcome, reason, transactional,
            decided_at, evaluated_at, deferred_until, first_deferred_at, sent_at, delivered_at, attempts, last_error
        )
        SELECT %(message_id)s, %(dispatch_id)s, d.contact_id, d.channel_id,
            CASE WHEN d.outcome = %(outcome_sending)s AND d.channel_id = ANY(%(in_transaction)s::bigint[])
                THEN %(outcome_sent)s ELSE d.outcome END,
            d.reason, %(transactional)s, %(now)s, %(now)s, d.deferred_until,
            CASE WHEN d.outcome = %(outcome_deferred)s THEN %(now)s::timestamptz END,
            CASE WHEN d.outcome = %(outcome_sending)s THEN %(now)s::timestamptz END,
            CASE WHEN d.outcome = %(outcome_sending)s AND d.channel_id = ANY(%(in_transaction)s::bigint[])
                THEN %(now)s::timestamptz END,
            0, ''
        FROM ({decision}) d
        ON CONFLICT (message_id, contact_id) DO NOTHING
        RETURNING id, contact_id, channel_id, outcome
    )
    SELECT total.n AS decided, s.id AS send_id, %(message_id)s AS message_id, s.channel_id, s.contact_id,
        0 AS attempts, c.first_name, c.last_name, c.locale,
        {addresses}
    FROM (SELECT count(*) AS n FROM decided) total
    LEFT JOIN (
        decided s JOIN {contacts} c
            ON c.id = s.contact_id AND s.outcome = %(outcome_sent)s AND s.channel_id = ANY(%(recipients_read)s::bigint[])
    ) ON true
"""


@dataclass
class BatchReport:
    decided: int = 0
    # Contacts whose decision raised: each got a ``failed`` send, the rest of the batch went on.
    failed: list[int] = field(default_factory=list)
    # Sends handed over inside the decision (in-transaction backends), and their errors.
    handed_over: DeliveryReport = field(default_factory=DeliveryReport)


def batch_decide(*, batch: DispatchBatch, now: datetime.datetime | None = None) -> BatchReport:
    """Decide every recipient of the batch who has no outcome yet.

    On PostgreSQL this is one INSERT … SELECT, after locking the recipients' contact rows in id
    order: a concurrent batch of another message for the same contact waits, then sees this
    one's sends when it counts caps. Re-running it (a redelivered task) decides nobody twice.
    Sends on a channel whose backend hands over in the transaction (``in_transaction``) are
    delivered before it commits, and stored as ``sent`` by the insert itself; the others stay
    ``sending`` for ``sends_deliver``.
    """
    dispatch = batch.dispatch
    message = dispatch.message
    plan = message_plan(message, deliver_until=dispatch.deliver_until)
    with transaction.atomic():
        now = now or timezone.now()
        if connection.vendor == "postgresql":
            report = _batch_decide_sql(batch, plan, now)
        else:
            report = BatchReport(decided=_batch_decide_python(batch, plan, now))
        DispatchBatch.objects.filter(pk=batch.pk, status=BatchStatus.PENDING).update(status=BatchStatus.DECIDED)
    return report


def _batch_decide_sql(batch, plan, now) -> BatchReport:
    from messaging.engine.decision.sql import decision_params, decision_sql, jit_off

    backends = [backend_for(channel) for channel in Channel.objects.filter(pk__in=[c.id for c in plan.channels])]
    in_transaction = [backend.channel.pk for backend in backends if backend.in_transaction]
    candidates = message_recipients_sql(batch=True)
    params = {
        **decision_params(plan, now),
        **OUTCOMES,
        "lo": batch.first_contact_id,
        "hi": batch.last_contact_id,
        "message_id": plan.message_id,
        "dispatch_id": batch.dispatch_id,
        "in_transaction": in_transaction,
        "recipients_read": [b.channel.pk for b in backends if b.in_transaction and b.reads_recipients],
    }
    with connection.cursor() as cursor:
        jit_off(cursor)
        cursor.execute(locks.PARENTS_LOCK_SQL, params)
        if cursor.fetchone() != (1, len(plan.channels)):
            raise DispatchInvalid("The dispatch, its message or one of its channels was deleted.")
        cursor.execute(locks.batch_contacts_lock_sql(candidates), params)
    insert = sql_compose(
        _INSERT, decision=decision_sql(plan, candidates, contact_range=True), addresses=address_columns("c")
    )
    report = BatchReport()

    def insert_range(lo: int, hi: int) -> list[dict]:
        with connection.cursor() as cursor:
            cursor.execute(insert, {**params, "lo": lo, "hi": hi})
            columns = [column[0] for column in cursor.description]
            rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
        report.decided += rows[0]["decided"]
        return rows

    def decision_failed(contact_id: int, error: Exception) -> None:
        failed = failed_send(
            message_id=plan.message_id, dispatch_id=batch.dispatch_id, contact_id=contact_id,
            transactional=plan.transactional, now=now, error=error,
        )
        report.decided += len(Send.objects.bulk_create([failed], ignore_conflicts=True))
        report.failed.append(contact_id)

    rows = in_halves_on_bad_data(insert_range, batch.first_contact_id, batch.last_contact_id, decision_failed)
    recipients = [ClaimedRow.named(row) for row in rows if row["send_id"] is not None]
    if recipients:
        report.handed_over = decided_sends_hand_over(rows=recipients, now=now)
    # Sends of a backend that reads nobody's details were accepted as they were inserted.
    return report


def in_halves_on_bad_data(
    run: Callable[[int, int], list], lo: int, hi: int, failed: Callable[[int, Exception], None]
) -> list:
    """``run(lo, hi)`` in a savepoint; when a row's data makes it fail, run each half the same way.

    One statement decides a whole batch, and one contact whose stored data it cannot evaluate (a
    time zone the database no longer knows, …) would fail all of it. Halving leaves each bad key
    alone: ``failed(key, error)`` records it, every other key gets its outcome, at the cost of a
    few statements per bad key. Only data errors are split: a lost connection fails the batch.
    """
    try:
        with transaction.atomic():
            return run(lo, hi)
    except DataError as error:
        if lo == hi:
            failed(lo, error)
            return []
        middle = (lo + hi) // 2
        return in_halves_on_bad_data(run, lo, middle, failed) + in_halves_on_bad_data(run, middle + 1, hi, failed)


def failed_send(
    *, message_id: int, dispatch_id: int, contact_id: int, transactional: bool, now, error: Exception
) -> Send:
    """The outcome of a contact whose decision raised: ``failed``, with the error for staff to read."""
    logger.error("deciding message %s for contact %s failed: %r", message_id, contact_id, error)
    return Send(
        message_id=message_id, dispatch_id=dispatch_id, contact_id=contact_id, outcome=Send.Outcome.FAILED,
        reason=DECISION_FAILED, transactional=transactional, decided_at=now, evaluated_at=now,
        last_error=(str(error) or type(error).__name__)[:1000],
    )


def _batch_decide_python(batch, plan, now) -> int:
    # The embedded SQLite demo: writers are serialised by the database, so caps hold too.
    with connection.cursor() as cursor:
        cursor.execute(message_recipients_sql(batch=True),
                       {"message_id": plan.message_id, "lo": batch.first_contact_id, "hi": batch.last_contact_id})
        contact_ids = sorted(row[0] for row in cursor.fetchall())
    facts = contact_facts(plan, contact_ids, now)
    sends = []
    for contact_id in contact_ids:
        try:
            decision = decide(facts[contact_id], plan, now)
        except Exception as error:  # one contact's bad data must not cost the others their sends
            sends.append(failed_send(message_id=plan.message_id, dispatch_id=batch.dispatch_id, contact_id=contact_id,
                                     transactional=plan.transactional, now=now, error=error))
            continue
        sends.append(
            Send(
                message_id=plan.message_id,
                dispatch_id=batch.dispatch_id,
                contact_id=contact_id,
                channel_id=decision.channel_id,
                outcome=decision.outcome,
                reason=decision.reason,
                transactional=plan.transactional,
                decided_at=now,
                evaluated_at=now,
                deferred_until=decision.deferred_until,
                first_deferred_at=now if decision.outcome == Send.Outcome.DEFERRED else None,
                sent_at=now if decision.outcome == Send.Outcome.SENDING else None,
            )
        )
    return len(Send.objects.bulk_create(sends, ignore_conflicts=True))


@transaction.atomic
def batch_finish(*, batch_id: int) -> None:
    """The batch is done; the dispatch is done once its last batch is."""
    batch = DispatchBatch.objects.select_related("dispatch").get(pk=batch_id)
    now = timezone.now()
    # No key update: it waits for another batch finishing, never for one still deciding (key share).
    dispatch = Dispatch.objects.select_for_update(no_key=True).get(pk=batch.dispatch_id)
    DispatchBatch.objects.filter(pk=batch_id).update(status=BatchStatus.DONE, finished_at=now)
    send_outcomes_record(sends=Q(dispatch_id=batch.dispatch_id, contact_id__gte=batch.first_contact_id,
                                 contact_id__lte=batch.last_contact_id))
    if not dispatch.batches.exclude(status=BatchStatus.DONE).exists():
        Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.DONE, finished_at=now)
