"""The send decision of SPEC §3, set-based, on PostgreSQL: one statement decides a whole batch.

``decision_sql`` returns a SELECT over any set of candidate contacts; the worker wraps it in an
``INSERT … SELECT`` (a dispatch batch) or an ``UPDATE … FROM`` (due deferred sends). The rules
are the same as ``messaging.engine.decision.rules.decide``; a property-based test keeps them in
agreement. The statement is written for the message's channels (one set of columns each), so
its text depends on how many channels the message has. Run these statements with ``jit = off``:
at batches of thousands, compiling the plan costs more than executing it.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from django.db import connection

from contacts.models import Channel
from contacts.rules import (
    category_block_sql, channel_reachable_sql, contact_today_sql, effective_cap_sql, paused_on_sql,
)
from messaging.sql import OUTCOMES, REASONS, sql_compose

from .rules import MessagePlan

# Every template below is plain text filled once by ``sql_compose``: tables from ``_meta``,
# per-channel names from ``{i}``, outcomes and reasons as ``%(outcome_…)s``/``%(reason_…)s``.
_WINDOW = (
    "CASE {unit} WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days' "
    "WHEN 'month' THEN interval '1 month' END"
)

# One row per candidate with a column set per channel of the message (a message has a few
# channels): joins by key, no per-channel rows, no GROUP BY, no sort. OFFSET 0 keeps each layer
# evaluated once per row instead of inlined into every expression of the next one.
FACTS = """
    SELECT cand.*,
        CASE
            WHEN %(category_id)s::bigint IS NULL OR %(transactional)s THEN NULL
            ELSE {category_block}
        END AS category_block{channel_columns}
    FROM ({candidates}) cand
    JOIN {contacts} c ON c.id = cand.contact_id{contact_range}
    LEFT JOIN {category_subscriptions} cs
        ON cs.contact_id = cand.contact_id AND cs.category_id = %(category_id)s::bigint{channel_joins}
    OFFSET 0
"""
# Channel i: reachable (address, no DNC), preferred, when its pause ends (if paused now), and
# when it leaves its cap (if capped now): the cap-th newest counted send in the window + window.
CHANNEL_COLUMNS = """,
        c."{address}" <> '' AS address{i},
        {reachable} AS reachable{i},
        coalesce(p{i}.preferred, false) AS preferred{i},
        CASE WHEN NOT %(transactional)s AND p{i}.pause_from IS NOT NULL AND {paused}
        THEN ((p{i}.pause_to + 1)::timestamp AT TIME ZONE c.time_zone) END AS pause_ends{i},
        r{i}.free_at AS free_at{i}"""
CHANNEL_JOINS = """
    LEFT JOIN {do_not_contact} d{i} ON d{i}.contact_id = c.id AND d{i}.channel_id = %(ch{i})s
    LEFT JOIN {channel_preferences} p{i} ON p{i}.contact_id = c.id AND p{i}.channel_id = %(ch{i})s
    CROSS JOIN LATERAL (
        SELECT CASE WHEN NOT %(transactional)s THEN {cap_number} END AS number,
            {window} AS size
    ) k{i}
    LEFT JOIN LATERAL (
        SELECT s.sent_at + k{i}.size AS free_at FROM {sends} s
        WHERE k{i}.number IS NOT NULL AND s.contact_id = c.id AND s.channel_id = %(ch{i})s
            AND s.outcome IN (%(outcome_sending)s, %(outcome_sent)s) AND NOT s.transactional
            AND s.sent_at > %(now)s::timestamptz - k{i}.size
        ORDER BY s.sent_at DESC OFFSET k{i}.number - 1 LIMIT 1
    ) r{i} ON true"""
# Per contact: the channel used (preferred first, then the message's order, the first reachable
# one neither paused nor capped), the first reachable one, and what a deferral needs.
VERDICT = """
    SELECT f.*,
        {chosen} AS chosen,
        {first} AS first_reachable,
        {chosen_preferred} AS chosen_preferred,
        {any_address} AS any_address,
        {ready_at} AS ready_at,
        {any_unpaused} AS any_unpaused,
        {any_paused} AS any_paused
    FROM ({facts}) f
    OFFSET 0
"""
# psycopg2 fills parameters in on the client, so the server plans the same text as with literals.
DECISION_SQL = """
SELECT {columns},
    outcome,
    CASE WHEN outcome = %(outcome_sending)s THEN chosen END AS channel_id,
    reason,
    CASE WHEN outcome = %(outcome_deferred)s THEN LEAST(ready_at, %(deliver_until)s::timestamptz) END AS deferred_until
FROM (
    SELECT v.*,
        CASE
            WHEN category_block IS NOT NULL THEN %(outcome_skipped_category)s
            WHEN first_reachable IS NULL AND any_address THEN %(outcome_skipped_dnc)s
            WHEN first_reachable IS NULL THEN %(outcome_skipped_no_address)s
            WHEN chosen IS NOT NULL THEN %(outcome_sending)s
            WHEN %(now)s::timestamptz >= %(deliver_until)s::timestamptz THEN %(outcome_expired)s
            ELSE %(outcome_deferred)s
        END AS outcome,
        CASE
            WHEN category_block IS NOT NULL THEN category_block
            WHEN first_reachable IS NULL AND any_address THEN %(reason_dnc)s
            WHEN first_reachable IS NULL THEN %(reason_no_address)s
            WHEN chosen IS NOT NULL AND chosen <> first_reachable THEN %(reason_fallback)s
            WHEN chosen IS NOT NULL AND chosen_preferred THEN %(reason_preferred)s
            WHEN chosen IS NOT NULL THEN %(reason_channel_order)s
            WHEN %(now)s::timestamptz >= %(deliver_until)s::timestamptz THEN %(reason_deadline)s
            WHEN NOT any_unpaused THEN %(reason_paused)s
            WHEN NOT any_paused THEN %(reason_capped)s
            ELSE %(reason_paused_and_capped)s
        END AS reason
    FROM ({verdict}) v
) d
"""


def decision_params(plan: MessagePlan, now: datetime.datetime) -> dict:
    params = {
        **OUTCOMES,
        **REASONS,
        "ch_ids": [channel.id for channel in plan.channels],
        "category_id": plan.category_id,
        "opt_in": plan.category_opt_in,
        "transactional": plan.transactional,
        "deliver_until": plan.deliver_until,
        "now": now,
    }
    for i, channel in enumerate(plan.channels):
        params[f"ch{i}"] = channel.id
        params[f"cap_number{i}"] = channel.default_cap_number or 0
        params[f"cap_unit{i}"] = channel.default_cap_unit or ""
    return params


class UnknownAddressColumn(ValueError):
    """A channel names an address field that is not a column of the contact."""


def address_column_check(name: str) -> str:
    """``name`` goes into the SQL text as a column: only the known address fields may (checked
    always, not by ``assert``, which ``python -O`` drops)."""
    if name not in Channel.AddressField.values:
        raise UnknownAddressColumn(f"{name!r} is not an address field of a contact")
    return name


def _any(terms: list[str]) -> str:
    return "(" + " OR ".join(terms) + ")" if terms else "false"


def decision_sql(plan: MessagePlan, candidates: str, columns: str = "contact_id", *, contact_range: bool = False) -> str:
    """The decision over ``candidates`` (a SELECT with a ``contact_id`` column, and any others
    to carry through as ``columns``). Its own placeholders are pyformat names, as are theirs.
    ``contact_range``: the candidates lie within ``%(lo)s``–``%(hi)s`` (a dispatch batch), which
    lets the planner read the contacts by a range of their primary key."""
    channels = range(len(plan.channels))
    usable = [f"(reachable{i} AND pause_ends{i} IS NULL AND free_at{i} IS NULL)" for i in channels]

    def first_of(conditions: list[str]) -> str:
        # Preferred channels first, then the message's channel order.
        whens = [f"WHEN preferred{i} AND {conditions[i]} THEN %(ch{i})s::bigint" for i in channels]
        whens += [f"WHEN {conditions[i]} THEN %(ch{i})s::bigint" for i in channels]
        return f"CASE {' '.join(whens)} END" if whens else "NULL::bigint"

    ready = [f"CASE WHEN reachable{i} THEN GREATEST(pause_ends{i}, free_at{i}) END" for i in channels]
    facts = sql_compose(
        FACTS,
        category_block=category_block_sql(status="cs.status", opt_in="%(opt_in)s"),
        candidates=candidates,
        contact_range=" AND c.id BETWEEN %(lo)s AND %(hi)s" if contact_range else "",
        channel_columns="".join(_channel_columns(i, channel.address_field) for i, channel in enumerate(plan.channels)),
        channel_joins="".join(_channel_joins(i) for i in channels),
    )
    verdict = sql_compose(
        VERDICT,
        facts=facts,
        chosen=first_of(usable),
        first=first_of([f"reachable{i}" for i in channels]),
        chosen_preferred=_any([f"(preferred{i} AND {usable[i]})" for i in channels]),
        any_address=_any([f"address{i}" for i in channels]),
        ready_at=f"LEAST({', '.join(ready)})" if ready else "NULL::timestamptz",
        any_unpaused=_any([f"(reachable{i} AND pause_ends{i} IS NULL)" for i in channels]),
        any_paused=_any([f"(reachable{i} AND pause_ends{i} IS NOT NULL)" for i in channels]),
    )
    return sql_compose(DECISION_SQL, columns=columns, verdict=verdict)


def _channel_columns(i: int, address_field: str) -> str:
    paused = paused_on_sql(
        pause_from=f"p{i}.pause_from", pause_to=f"p{i}.pause_to",
        day=contact_today_sql(now="%(now)s::timestamptz", zone="c.time_zone"),
    )
    address = address_column_check(address_field)
    reachable = channel_reachable_sql(has_address=f"c.\"{address}\" <> ''", dnc_missing=f"d{i}.contact_id IS NULL")
    return sql_compose(CHANNEL_COLUMNS, i=str(i), address=address, paused=paused, reachable=reachable)


def _channel_joins(i: int) -> str:
    cap_number, cap_unit = effective_cap_sql(
        own_number=f"p{i}.cap_number", own_unit=f"p{i}.cap_unit",
        default_number=f"%(cap_number{i})s", default_unit=f"%(cap_unit{i})s",
    )
    return sql_compose(
        CHANNEL_JOINS, i=str(i), cap_number=cap_number, window=sql_compose(_WINDOW, unit=cap_unit)
    )


def jit_off(cursor) -> None:
    """Planning-time JIT compilation dominates at batch sizes; this transaction goes without it."""
    cursor.execute("SET LOCAL jit = off")


class DecidedRow(NamedTuple):
    """One contact's decision as the statement returns it, read by column name."""

    outcome: str
    channel_id: int | None
    reason: str
    deferred_until: datetime.datetime | None


def decide_contacts_sql(plan: MessagePlan, contact_ids: list[int], now: datetime.datetime) -> dict[int, DecidedRow]:
    """The decision for the given contacts, without writing anything: preview and tests."""
    sql = decision_sql(plan, "SELECT unnest(%(contact_ids)s::bigint[]) AS contact_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, {**decision_params(plan, now), "contact_ids": list(contact_ids)})
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    return {row["contact_id"]: DecidedRow(**{name: row[name] for name in DecidedRow._fields}) for row in rows}
