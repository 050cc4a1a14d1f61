"""What the outbound webhooks hear of sends: their outcomes, a batch at a time (``send.outcome``)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from messaging.engine import locks
from messaging.models import BatchStatus, DispatchBatch, Outcome, Send
from webhooks.outbox import send_outcomes_publish

# The event names the outcome families of SPEC §3; the precise outcome goes in "reason".
SKIPPED = {Outcome.SKIPPED_CATEGORY, Outcome.SKIPPED_DNC, Outcome.SKIPPED_NO_ADDRESS}


def _outcome(row: dict) -> dict:
    outcome = row["outcome"]
    return {
        "send_id": row["id"], "message_id": row["message_id"], "contact_id": row["contact_id"],
        "channel": row["channel__slug"], "outcome": "skipped" if outcome in SKIPPED else outcome,
        "reason": outcome if outcome in SKIPPED else row["reason"],
    }


def send_outcomes_record(*, sends: Q) -> None:
    """Put the outcomes of these sends in the outbox, in the caller's transaction; the rows are
    read only when an endpoint listens. Sends still being handed over are left for later."""
    send_outcomes_publish(outcomes=(_outcome(row) for row in _rows(sends).iterator()))


def _rows(sends: Q):
    return (
        Send.objects.filter(sends).exclude(outcome=Outcome.SENDING)
        .values("id", "message_id", "contact_id", "channel__slug", "outcome", "reason").order_by("id")
    )


def handed_over_outcomes_record(*, sends: Q) -> None:
    """Put in the outbox the outcomes a hand-over has just recorded (``sent``, ``skipped`` at the
    last do-not-contact check, ``failed`` after the last attempt) for the sends whose batch had
    finished: a deferred send decided again, a dead worker's send. ``batch_finish`` publishes the
    sends recorded before it; in the recording transaction, which holds their batches (share) until
    it commits, so a batch finishing meanwhile and this record publish each send exactly once."""
    send_outcomes_publish(outcomes=_after_their_batch(sends))


def _after_their_batch(sends: Q) -> Iterator[dict]:
    # A generator: nothing is read, or locked, unless an endpoint listens to send.outcome.
    send_ids = list(Send.objects.filter(sends).values_list("pk", flat=True))
    if not send_ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(locks.SEND_BATCHES_SHARE_SQL, {"send_ids": send_ids})
            done = [send_id for send_id, status in cursor.fetchall() if status == BatchStatus.DONE]
    else:  # the embedded SQLite demo serialises writers
        batch_done = DispatchBatch.objects.filter(
            dispatch_id=OuterRef("dispatch_id"), first_contact_id__lte=OuterRef("contact_id"),
            last_contact_id__gte=OuterRef("contact_id"), status=BatchStatus.DONE,
        )
        done = list(Send.objects.filter(Exists(batch_done), pk__in=send_ids).values_list("pk", flat=True))
    yield from (_outcome(row) for row in _rows(Q(pk__in=done)).iterator())
