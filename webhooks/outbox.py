"""The outbox: every event is written in the transaction of the change it describes, so an event
is never lost and never sent for a change that rolled back. Delivery happens later, in a worker.

The contacts services call ``preference_change_publish`` (one line in ``change_record``); the
messaging engine calls ``send_outcomes_publish``; an import calls ``import_finished_publish``.
Nothing here imports ``contacts`` or ``messaging`` (``.importlinter``) and nothing here talks to
the network: a preference save writes rows, it never waits on a receiver.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

ENDPOINT_DRAIN = "webhooks.endpoint_drain"

# History kinds (contacts.models.PreferenceChange.Kind values) with an event of their own too.
DNC_KIND, SEGMENT_KIND = "dnc", "segment"

_local = threading.local()


@dataclass
class _Transaction:
    """What this thread's current transaction has put in the outbox so far."""

    # The connection's list of on-commit callbacks: Django replaces it on every commit and every
    # (savepoint) rollback, so holding it tells whether the rows below still exist.
    marker: list
    endpoints: list[WebhookEndpoint]
    preference_events: dict[tuple, tuple[WebhookEvent, dict]] = field(default_factory=dict)
    endpoints_to_drain: set[int] = field(default_factory=set)


def _current() -> _Transaction:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("Webhook events are written inside the change's transaction.")
    state = getattr(_local, "state", None)
    if state is None or state.marker is not connection.run_on_commit:
        state = _Transaction(
            marker=connection.run_on_commit,
            endpoints=list(WebhookEndpoint.objects.filter(enabled=True).only("id", "events")),
        )
        _local.state = state
        # robust: a broker that is down must not fail a save that has committed; the sweep delivers.
        transaction.on_commit(lambda drains=state.endpoints_to_drain: endpoints_drain_enqueue(drains), robust=True)
    return state


def endpoints_drain_enqueue(endpoint_ids: Iterable[int]) -> None:
    """Ask a worker to deliver what is due to these endpoints (by task name: tasks import us)."""
    for endpoint_id in sorted(endpoint_ids):
        current_app.send_task(ENDPOINT_DRAIN, args=(endpoint_id,))


def _event_create(state: _Transaction, *, type: str, contact_id: int | None, data: dict) -> WebhookEvent | None:
    """Write the event and one pending delivery per enabled endpoint that listens to its type."""
    endpoints = [endpoint for endpoint in state.endpoints if endpoint.wants(type)]
    if not endpoints:
        return None  # nobody listens: nothing to keep
    now = timezone.now()
    payload = {"type": type, "timestamp": now.isoformat(), "data": data}
    event = WebhookEvent.objects.create(type=type, contact_id=contact_id, payload=payload)
    give_up_at = now + datetime.timedelta(seconds=settings.WEBHOOK_GIVE_UP_SECONDS)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint_id=endpoint.pk, contact_id=contact_id, next_attempt_at=now,
                        give_up_at=give_up_at)
        for endpoint in endpoints
    )
    state.endpoints_to_drain.update(endpoint.pk for endpoint in endpoints)
    return event


def _contact_data(contact) -> dict:
    # external_id: the integrator's own id, once contacts carry one.
    return {"id": contact.pk, "external_id": getattr(contact, "external_id", None) or None}


def preference_change_publish(change) -> None:
    """Turn one history row (``contacts.models.PreferenceChange``) into outbox events.

    ``preferences.changed``: one event per contact, source and send in a transaction, whatever
    the number of rows: each (kind, subject) appears once, from its first old value to its last
    new value, and drops out if it came back to where it was. ``dnc.added`` / ``dnc.removed``
    and ``segment.membership_changed``: one event per row of that kind.
    """
    state = _current()
    contact = _contact_data(change.contact)
    common = {"source": change.source, "send_id": change.send_id}
    _preferences_changed_add(state, change=change, contact=contact, common=common)
    if change.kind == DNC_KIND:
        removed = change.new_value is None
        _event_create(
            state, type=EventType.DNC_REMOVED if removed else EventType.DNC_ADDED, contact_id=contact["id"],
            data={"contact": contact, "channel": change.subject,
                  "reason": change.old_value if removed else change.new_value,
                  "previous_reason": None if removed else change.old_value, **common},
        )
    elif change.kind == SEGMENT_KIND:
        _event_create(
            state, type=EventType.SEGMENT_MEMBERSHIP_CHANGED, contact_id=contact["id"],
            data={"contact": contact, "segment": change.subject, "before": change.old_value,
                  "after": change.new_value, **common},
        )


def _preferences_changed_add(state: _Transaction, *, change, contact: dict, common: dict) -> None:
    key = (contact["id"], change.source, change.send_id)
    entry = {"kind": change.kind, "subject": change.subject, "before": change.old_value, "after": change.new_value}
    if key not in state.preference_events:
        event = _event_create(
            state, type=EventType.PREFERENCES_CHANGED, contact_id=contact["id"],
            data={"contact": contact, **common, "changes": [entry]},
        )
        if event is not None:
            state.preference_events[key] = (event, {(change.kind, change.subject): entry})
        return
    event, entries = state.preference_events[key]
    earlier = entries.get((change.kind, change.subject))
    if earlier is None:
        entries[(change.kind, change.subject)] = entry
    else:
        earlier["after"] = change.new_value
        if earlier["before"] == earlier["after"]:
            del entries[(change.kind, change.subject)]
    event.payload["data"]["changes"] = list(entries.values())
    WebhookEvent.objects.filter(pk=event.pk).update(payload=event.payload)


def send_outcomes_publish(*, outcomes: Iterable[dict[str, Any]]) -> WebhookEvent | None:
    """One ``send.outcome`` event for a batch of sends, in the transaction that recorded them.

    Each outcome: ``{"send_id", "message_id", "contact_id", "channel", "outcome", "reason"}``.
    """
    state = _current()
    if not any(endpoint.wants(EventType.SEND_OUTCOME) for endpoint in state.endpoints):
        return None  # the outcomes (possibly a lazy query) are not even read
    outcomes = list(outcomes)
    if not outcomes:
        return None
    return _event_create(state, type=EventType.SEND_OUTCOME, contact_id=None, data={"sends": outcomes})


def import_finished_publish(*, import_id: int | str, counts: dict[str, int], source: str = "import") -> WebhookEvent | None:
    """The ``import.finished`` event; an import job calls it in the transaction that marks it done."""
    return _event_create(
        _current(), type=EventType.IMPORT_FINISHED, contact_id=None,
        data={"import_id": import_id, "counts": dict(counts), "source": source},
    )
