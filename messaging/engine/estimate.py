"""What a dispatch of a message would do now, counted and written nowhere (the estimate of the
send page): the decision's own statement, over the same recipients a dispatch would decide,
grouped and counted instead of inserted."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from messaging.engine.decision import decide_contacts, message_plan
from messaging.engine.dispatch import in_halves_on_bad_data, message_recipients_sql
from messaging.models import Message, Send
from messaging.sql import sql_compose

# A dispatch decides every recipient without a send for the message yet: the batch form of the
# recipients, over every contact id instead of one batch's range.
ALL_CONTACTS = {"lo": 0, "hi": 2**63 - 1}

_COUNTED = """
    SELECT outcome, channel_id, reason, count(*) AS n FROM ({decision}) d
    GROUP BY outcome, channel_id, reason
"""


@dataclass(frozen=True)
class Estimate:
    """Counts per (outcome, channel id or None, reason) of the recipients a dispatch would decide
    now, and how many recipients already have an outcome for this message (they keep it)."""

    counts: dict[tuple[str, int | None, str], int] = field(default_factory=dict)
    already_decided: int = 0

    @property
    def decided(self) -> int:
        return sum(self.counts.values())

    def outcome_total(self, outcome: str) -> int:
        return sum(n for (o, _c, _r), n in self.counts.items() if o == outcome)

    def by_channel(self) -> dict[int, int]:
        """Would send, per channel id."""
        totals: Counter[int] = Counter()
        for (outcome, channel_id, _reason), n in self.counts.items():
            if outcome == Send.Outcome.SENDING:
                totals[channel_id] += n
        return dict(totals)

    def by_reason(self, *outcomes: str) -> dict[tuple[str, str], int]:
        """Counts per (outcome, reason) among ``outcomes``."""
        totals: Counter[tuple[str, str]] = Counter()
        for (outcome, _channel_id, reason), n in self.counts.items():
            if outcome in outcomes:
                totals[(outcome, reason)] += n
        return dict(totals)


def message_estimate(*, message: Message, now: datetime.datetime | None = None) -> Estimate:
    """The decision of SPEC §3 for every recipient a dispatch started now would decide, as counts.

    The rules are the decision's (``decision_sql`` on PostgreSQL, ``decide`` on the embedded
    demo), over the dispatch's own candidate query; nothing is written and no row is locked, so
    a concurrent change can make the real dispatch differ by what changed in between."""
    now = now or timezone.now()
    plan = message_plan(message, deliver_until=message.deadline(now))
    params = {"message_id": message.pk, **ALL_CONTACTS}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql_compose("SELECT count(*) FROM ({r}) r", r=message_recipients_sql()), params)
        recipients = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            counts = _counted_sql(cursor, plan, params, now)
        else:
            cursor.execute(message_recipients_sql(batch=True), params)
            ids = [row[0] for row in cursor.fetchall()]
            decided = decide_contacts(plan, ids, now)
            counts = dict(Counter((d.outcome, d.channel_id, d.reason) for d in decided.values()))
    return Estimate(counts=counts, already_decided=recipients - sum(counts.values()))


def _counted_sql(cursor, plan, params, now) -> dict:
    """One counting statement over every candidate; where a contact's stored data makes it fail,
    the range is halved as a dispatch does (``in_halves_on_bad_data``) and that contact counts as
    the ``failed`` send a dispatch would record for it."""
    from messaging.engine.decision.sql import decision_params, decision_sql, jit_off

    jit_off(cursor)
    cursor.execute(sql_compose("SELECT min(contact_id), max(contact_id) FROM ({r}) r", r=message_recipients_sql()), params)
    lo, hi = cursor.fetchone()
    if lo is None:
        return {}
    statement = sql_compose(_COUNTED, decision=decision_sql(plan, message_recipients_sql(batch=True)))
    values = {**decision_params(plan, now), **params}

    def count_range(first: int, last: int) -> list[tuple]:
        with connection.cursor() as inner:
            inner.execute(statement, {**values, "lo": first, "hi": last})
            return inner.fetchall()

    failed: list[int] = []
    rows = in_halves_on_bad_data(count_range, lo, hi, lambda contact_id, _error: failed.append(contact_id))
    counts: Counter = Counter()
    for outcome, channel_id, reason, n in rows:
        counts[(outcome, channel_id, reason)] += n
    if failed:
        counts[(Send.Outcome.FAILED, None, Send.Reason.DECISION_FAILED)] += len(failed)
    return dict(counts)
