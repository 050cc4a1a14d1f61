"""The deferral queue: re-deciding due sends, expiring them, cancelling them, recovering stalls."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import StaffChange
from contacts.services.staff_audit import actor_label, staff_change_record
from messaging.engine.decision import decide, message_plan
from messaging.engine.decision.inputs import contact_facts
from messaging.models import BatchStatus, Dispatch, DispatchBatch, Message, Send
from messaging.sql import OUTCOMES, sql_compose
from messaging.delivery.handover import delivery_lease, sends_deliver
from messaging.engine import locks
from messaging.engine.outcomes import send_outcomes_record
from messaging.engine.dispatch import (
    DECISION_FAILED,
    batch_claim,
    batch_decide,
    batch_finish,
    in_halves_on_bad_data,
    logger,
)


class DeliveryRetry(Exception):
    """Some sends were not handed over and have attempts left: the task is retried with backoff."""


class SendsHeldElsewhere(Exception):
    """Another deliverer holds some of the sends (a redelivered task, or a dead worker's lease not
    yet run out): the work is looked at again once that lease has run out."""


StaffAction = StaffChange.Action


@dataclass
class DeferredReport:
    reevaluated: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    to_deliver: list[int] = field(default_factory=list)


_REEVALUATE = """
    UPDATE {sends} s SET
        outcome = d.outcome, channel_id = d.channel_id, reason = d.reason, evaluated_at = %(now)s,
        deferred_until = d.deferred_until,
        sent_at = CASE WHEN d.outcome = %(outcome_sending)s THEN %(now)s::timestamptz END
    FROM ({decision}) d
    WHERE s.id = d.send_id AND s.outcome = %(outcome_deferred)s
    RETURNING s.id, s.outcome
"""


def deferred_process(*, now: datetime.datetime | None = None, chunk: int | None = None) -> DeferredReport:
    """Run the whole decision again for every deferred send that is due (SPEC §3 step 6).

    Preferences are read as they are now: an unsubscribe during the deferral skips the send, a
    lifted pause sends it, and past ``deliver_until`` it expires. Sends that become ``sending``
    are returned for delivery. Each due send is looked at once per call, ``chunk`` at a time
    (``MESSAGING_CHUNK_SIZE``).
    """
    now = now or timezone.now()
    chunk = chunk or settings.MESSAGING_CHUNK_SIZE
    report = DeferredReport()
    while True:
        due = list(
            Send.objects.filter(outcome=Send.Outcome.DEFERRED, deferred_until__lte=now, evaluated_at__lt=now)
            .order_by("deferred_until", "pk")
            .values_list("pk", "dispatch_id")[:chunk]
        )
        if not due:
            return report
        by_dispatch: dict[int, list[int]] = defaultdict(list)
        for send_id, dispatch_id in due:
            by_dispatch[dispatch_id].append(send_id)
        for dispatch_id, send_ids in by_dispatch.items():
            for send_id, outcome in _reevaluate(dispatch_id, send_ids, now):
                report.reevaluated += 1
                report.outcomes[outcome] += 1
                if outcome == Send.Outcome.SENDING:
                    report.to_deliver.append(send_id)


@transaction.atomic
def _reevaluate(dispatch_id: int, send_ids: list[int], now: datetime.datetime) -> list[tuple[int, str]]:
    results = _decide_again(dispatch_id, send_ids, now)
    send_outcomes_record(sends=Q(pk__in=[send_id for send_id, _outcome in results]))
    return results


def _decide_again(dispatch_id: int, send_ids: list[int], now: datetime.datetime) -> list[tuple[int, str]]:
    dispatch = Dispatch.objects.select_related("message__category").get(pk=dispatch_id)
    plan = message_plan(dispatch.message, deliver_until=dispatch.deliver_until)
    if connection.vendor == "postgresql":
        from messaging.engine.decision.sql import decision_params, decision_sql, jit_off

        params = {**decision_params(plan, now), **OUTCOMES, "send_ids": send_ids, "dispatch_id": dispatch_id}
        with connection.cursor() as cursor:
            jit_off(cursor)
            cursor.execute(locks.PARENTS_LOCK_SQL, params)  # the channels a send may move to stay
            cursor.execute(locks.DUE_CONTACTS_LOCK_SQL, params)
        sql = sql_compose(_REEVALUATE, decision=decision_sql(plan, locks.DUE_CANDIDATES, "contact_id, send_id"))
        send_ids = sorted(send_ids)
        results: list[tuple[int, str]] = []

        def reevaluate(first: int, last: int) -> list[tuple[int, str]]:
            with connection.cursor() as cursor:
                cursor.execute(sql, {**params, "send_ids": send_ids[first : last + 1]})
                return cursor.fetchall()

        def decision_failed(index: int, error: Exception) -> None:
            results.append((send_ids[index], _send_failed(send_ids[index], now, error)))

        return in_halves_on_bad_data(reevaluate, 0, len(send_ids) - 1, decision_failed) + results
    sends = list(Send.objects.filter(pk__in=send_ids, outcome=Send.Outcome.DEFERRED))
    facts = contact_facts(plan, [send.contact_id for send in sends], now)
    results, decided = [], []
    for send in sends:
        try:
            decision = decide(facts[send.contact_id], plan, now)
        except Exception as error:  # one contact's bad data must not keep the others deferred
            results.append((send.pk, _send_failed(send.pk, now, error)))
            continue
        send.outcome, send.channel_id, send.reason = decision.outcome, decision.channel_id, decision.reason
        send.deferred_until, send.evaluated_at = decision.deferred_until, now
        send.sent_at = now if decision.outcome == Send.Outcome.SENDING else None
        results.append((send.pk, send.outcome))
        decided.append(send)
    Send.objects.bulk_update(decided, ["outcome", "channel_id", "reason", "deferred_until", "evaluated_at", "sent_at"])
    return results


def _send_failed(send_id: int, now: datetime.datetime, error: Exception) -> str:
    """A deferred send whose decision raised leaves the queue as ``failed``, with the error."""
    logger.error("re-deciding send %s failed: %r", send_id, error)
    Send.objects.filter(pk=send_id, outcome=Send.Outcome.DEFERRED).update(
        outcome=Send.Outcome.FAILED, reason=DECISION_FAILED, evaluated_at=now, deferred_until=None,
        last_error=(str(error) or type(error).__name__)[:1000],
    )
    return Send.Outcome.FAILED


@transaction.atomic
def deferred_cancel(*, acting_user, send_ids: list[int] | None = None, dispatch: Dispatch | None = None) -> int:
    """Staff cancel deferred sends (some, or all of a dispatch); returns how many were cancelled.

    A scope is required: with neither ``send_ids`` nor ``dispatch`` it raises ``ValueError``
    rather than cancel every deferred send of every message. Each message whose sends were
    cancelled gets one staff audit row (deferred sends per dispatch: n → 0); none cancelled, no row.
    The cancelled sends are one ``send.outcome`` event.
    """
    if send_ids is None and dispatch is None:
        raise ValueError("deferred_cancel needs send_ids or a dispatch: it never cancels every deferred send.")
    sends = Send.objects.filter(outcome=Send.Outcome.DEFERRED)
    if send_ids is not None:
        sends = sends.filter(pk__in=send_ids)
    if dispatch is not None:
        sends = sends.filter(dispatch=dispatch)
    # Locked first: a send the deferral worker decides meanwhile is not counted as cancelled.
    rows = list(sends.order_by("pk").select_for_update().values_list("pk", "message_id", "dispatch_id"))
    if not rows:
        return 0
    label = f"staff:{actor_label(acting_user)}" if acting_user else "staff"
    count = Send.objects.filter(pk__in=[pk for pk, _message, _dispatch in rows]).update(
        outcome=Send.Outcome.CANCELLED, reason=f"cancelled by {label}"[:40], evaluated_at=timezone.now()
    )
    send_outcomes_record(sends=Q(pk__in=[pk for pk, _message, _dispatch in rows]))
    by_message: dict[int, Counter] = defaultdict(Counter)
    for _pk, message_id, dispatch_id in rows:
        by_message[message_id][dispatch_id] += 1
    names = dict(Message.objects.filter(pk__in=by_message).values_list("pk", "name"))
    for message_id, per_dispatch in sorted(by_message.items()):
        staff_change_record(
            acting_user=acting_user, subject_type="message", subject_id=message_id, subject_label=names[message_id],
            action=StaffAction.CANCELLED,
            changes={f"deferred_sends.dispatch_{dispatch_id}": [n, 0] for dispatch_id, n in sorted(per_dispatch.items())},
        )
    return count


def batch_lease() -> datetime.timedelta:
    return delivery_lease()


def batch_run(*, batch_id: int) -> dict:
    """Decide, then deliver, one batch, and finish it (SPEC §3).

    A batch another worker holds, or already done, is left alone. A failed hand-over with
    attempts left raises ``DeliveryRetry`` and sends held by another deliverer raise
    ``SendsHeldElsewhere``; either way the batch goes back to the broker first (queued, not
    stalled), and its retry decides nothing twice (sends are unique per message and contact).
    """
    batch = batch_claim(batch_id=batch_id)
    if batch is None:
        return {"done": True}
    decided = batch_decide(batch=batch)
    report = decided.handed_over
    sends = Q(dispatch_id=batch.dispatch_id, contact_id__gte=batch.first_contact_id, contact_id__lte=batch.last_contact_id)
    if not report.retry:
        # Sends of backends that hand over after the decision, and any an earlier run left.
        report.add(sends_deliver(sends=sends, batch_id=batch_id))
    if report.retry:
        batch_release(batch_id=batch_id)
        raise DeliveryRetry(report.retry)
    if sends_held_elsewhere(sends=sends):
        batch_release(batch_id=batch_id)
        raise SendsHeldElsewhere()
    batch_finish(batch_id=batch_id)
    return {"decided": decided.decided, "delivered": report.delivered, "failed": report.failed}


def sends_deliver_now(*, send_ids: list[int]) -> dict:
    """Deliver these decided sends (deferred ones now due, a dead worker's). A failed hand-over
    with attempts left raises ``DeliveryRetry``; sends another deliverer holds raise
    ``SendsHeldElsewhere``. Sends already recorded are not handed over again."""
    report = sends_deliver(sends=Q(pk__in=send_ids))
    if report.retry:
        raise DeliveryRetry(report.retry)
    if sends_held_elsewhere(sends=Q(pk__in=send_ids)):
        raise SendsHeldElsewhere()
    return {"delivered": report.delivered, "failed": report.failed}


@transaction.atomic
def stalled_batches_claim(*, now: datetime.datetime | None = None) -> list[int]:
    """Batches whose worker vanished (killed, machine lost): a worker claimed them and stopped
    renewing the lease. They go back to the queue (returned, to be enqueued once more) and count
    as queued again. A batch never claimed, or released for a retry, is the broker's: still
    queued, it is never issued twice."""
    now = now or timezone.now()
    batches = (
        DispatchBatch.objects.select_for_update(skip_locked=True)
        .exclude(status=BatchStatus.DONE)
        .filter(claimed_at__lt=now - batch_lease())
    )
    ids = list(batches.values_list("pk", flat=True))
    DispatchBatch.objects.filter(pk__in=ids).update(claimed_at=None)
    return ids


def batch_release(*, batch_id: int) -> None:
    """The worker hands the batch back to the broker (a retry is queued): not stalled, queued."""
    DispatchBatch.objects.filter(pk=batch_id).exclude(status=BatchStatus.DONE).update(claimed_at=None)


def sends_held_elsewhere(*, sends: Q) -> bool:
    """Whether some of these decided sends are claimed by another deliverer (alive, or not yet
    past its lease): the batch is not done until they are."""
    return Send.objects.filter(sends, outcome=Send.Outcome.SENDING, claimed_at__isnull=False).exists()


# A decided send nobody claimed for this long has lost its task (the broker normally redelivers).
ORPHAN_AFTER = datetime.timedelta(minutes=15)


@transaction.atomic
def stalled_sends(*, now: datetime.datetime | None = None) -> list[int]:
    """Decided sends whose deliverer died (claimed, lease run out), and decided sends no task
    took for ``ORPHAN_AFTER``, outside dispatches whose batches are still running (those are the
    batches' work). They are released and returned, to be enqueued once more."""
    now = now or timezone.now()
    stalled = (
        Send.objects.select_for_update(skip_locked=True)
        .filter(outcome=Send.Outcome.SENDING)
        .filter(
            Q(claimed_at__lt=now - batch_lease())
            | Q(claimed_at__isnull=True, evaluated_at__lte=now - max(ORPHAN_AFTER, batch_lease()))
        )
        .exclude(dispatch__batches__status__in=[BatchStatus.PENDING, BatchStatus.DECIDED])
    )
    ids = list(stalled.values_list("pk", flat=True)[:100000])
    # Released and looked at now: the next sweeps leave them to the task enqueued for them.
    Send.objects.filter(pk__in=ids).update(claim_token=None, claimed_at=None, evaluated_at=now)
    return ids
