"""What the outbound webhooks hear of sends: their outcomes, a batch at a time (``send.outcome``)."""

from __future__ import annotations

from django.db.models import Q

from messaging.models import Outcome, Send
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
    rows = (
        Send.objects.filter(sends).exclude(outcome=Outcome.SENDING)
        .values("id", "message_id", "contact_id", "channel__slug", "outcome", "reason").order_by("id")
    )
    send_outcomes_publish(outcomes=(_outcome(row) for row in rows.iterator()))
