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

from django.db import connection

from contacts.models import CategorySubscription, Channel, ChannelPreference, Contact, DoNotContact
from contacts.rules import category_block_sql, contact_today_sql, effective_cap_sql, paused_on_sql

from .rules import MessagePlan

_WINDOW = (
    "CASE {unit} WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days' "
    "WHEN 'month' THEN interval '1 month' END"
)

# One row per candidate with a column set per channel of the message (a message has a few
# channels): joins by key, no per-channel rows, no GROUP BY, no sort. OFFSET 0 keeps each layer
# evaluated once per row instead of inlined into every expression of the next one.
FACTS = f"""
    SELECT cand.*,
        CASE
            WHEN %(category_id)s::bigint IS NULL OR %(transactional)s THEN NULL
            ELSE {category_block_sql(status="cs.status", opt_in="%(opt_in)s")}
        END AS category_block{{channel_columns}}
    FROM ({{candidates}}) cand
    JOIN {Contact._meta.db_table} c ON c.id = cand.contact_id{{contact_range}}
    LEFT JOIN {CategorySubscription._meta.db_table} cs
        ON cs.contact_id = cand.contact_id AND cs.category_id = %(category_id)s::bigint{{channel_joins}}
    OFFSET 0
"""
# Channel i: reachable (address, no DNC), preferred, when its pause ends (if paused now), and
# when it leaves its cap (if capped now): the cap-th newest counted send in the window + window.
_PAUSED = paused_on_sql(
    pause_from="p{i}.pause_from", pause_to="p{i}.pause_to",
    day=contact_today_sql(now="%(now)s::timestamptz", zone="c.time_zone"),
)
CHANNEL_COLUMNS = f""",
        c."{{address}}" <> '' AS address{{i}},
        c."{{address}}" <> '' AND d{{i}}.contact_id IS NULL AS reachable{{i}},
        coalesce(p{{i}}.preferred, false) AS preferred{{i}},
        CASE WHEN NOT %(transactional)s AND p{{i}}.pause_from IS NOT NULL AND {_PAUSED}
        THEN ((p{{i}}.pause_to + 1)::timestamp AT TIME ZONE c.time_zone) END AS pause_ends{{i}},
        r{{i}}.free_at AS free_at{{i}}"""
_CAP_NUMBER, _CAP_UNIT = effective_cap_sql(
    own_number="p{i}.cap_number", own_unit="p{i}.cap_unit",
    default_number="%(cap_number{i})s", default_unit="%(cap_unit{i})s",
)
CHANNEL_JOINS = f"""
    LEFT JOIN {DoNotContact._meta.db_table} d{{i}} ON d{{i}}.contact_id = c.id AND d{{i}}.channel_id = %(ch{{i}})s
    LEFT JOIN {ChannelPreference._meta.db_table} p{{i}} ON p{{i}}.contact_id = c.id AND p{{i}}.channel_id = %(ch{{i}})s
    CROSS JOIN LATERAL (
        SELECT CASE WHEN NOT %(transactional)s THEN {_CAP_NUMBER} END AS number,
            {{window}} AS size
    ) k{{i}}
    LEFT JOIN LATERAL (
        SELECT s.sent_at + k{{i}}.size AS free_at FROM messaging_send s
        WHERE k{{i}}.number IS NOT NULL AND s.contact_id = c.id AND s.channel_id = %(ch{{i}})s
            AND s.outcome IN ('sending', 'sent') AND NOT s.transactional
            AND s.sent_at > %(now)s::timestamptz - k{{i}}.size
        ORDER BY s.sent_at DESC OFFSET k{{i}}.number - 1 LIMIT 1
    ) r{{i}} ON true"""
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
DECISION_SQL = """
SELECT {columns},
    outcome,
    CASE WHEN outcome = 'sending' THEN chosen END AS channel_id,
    reason,
    CASE WHEN outcome = 'deferred' THEN LEAST(ready_at, %(deliver_until)s::timestamptz) END AS deferred_until
FROM (
    SELECT v.*,
        CASE
            WHEN category_block IS NOT NULL THEN 'skipped_category'
            WHEN first_reachable IS NULL AND any_address THEN 'skipped_dnc'
            WHEN first_reachable IS NULL THEN 'skipped_no_address'
            WHEN chosen IS NOT NULL THEN 'sending'
            WHEN %(now)s::timestamptz >= %(deliver_until)s::timestamptz THEN 'expired'
            ELSE 'deferred'
        END AS outcome,
        CASE
            WHEN category_block IS NOT NULL THEN category_block
            WHEN first_reachable IS NULL AND any_address THEN 'dnc'
            WHEN first_reachable IS NULL THEN 'no_address'
            WHEN chosen IS NOT NULL AND chosen <> first_reachable THEN 'fallback'
            WHEN chosen IS NOT NULL AND chosen_preferred THEN 'preferred'
            WHEN chosen IS NOT NULL THEN 'channel_order'
            WHEN %(now)s::timestamptz >= %(deliver_until)s::timestamptz THEN 'deadline'
            WHEN NOT any_unpaused THEN 'paused'
            WHEN NOT any_paused THEN 'capped'
            ELSE 'paused_and_capped'
        END AS reason
    FROM ({verdict}) v
) d
"""


def decision_params(plan: MessagePlan, now: datetime.datetime) -> dict:
    params = {
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
    for channel in plan.channels:
        address_column_check(channel.address_field)
    usable = [f"(reachable{i} AND pause_ends{i} IS NULL AND free_at{i} IS NULL)" for i in channels]

    def first_of(conditions: list[str]) -> str:
        # Preferred channels first, then the message's channel order.
        whens = [f"WHEN preferred{i} AND {conditions[i]} THEN %(ch{i})s::bigint" for i in channels]
        whens += [f"WHEN {conditions[i]} THEN %(ch{i})s::bigint" for i in channels]
        return f"CASE {' '.join(whens)} END" if whens else "NULL::bigint"

    ready = [f"CASE WHEN reachable{i} THEN GREATEST(pause_ends{i}, free_at{i}) END" for i in channels]
    facts = FACTS.format(
        candidates=candidates,
        contact_range=" AND c.id BETWEEN %(lo)s AND %(hi)s" if contact_range else "",
        channel_columns="".join(
            CHANNEL_COLUMNS.format(i=i, address=channel.address_field) for i, channel in enumerate(plan.channels)
        ),
        channel_joins="".join(
            CHANNEL_JOINS.format(
                i=i,
                window=_WINDOW.format(unit=_CAP_UNIT.replace("{i}", str(i))),
            )
            for i in channels
        ),
    )
    verdict = VERDICT.format(
        facts=facts,
        chosen=first_of(usable),
        first=first_of([f"reachable{i}" for i in channels]),
        chosen_preferred=_any([f"(preferred{i} AND {usable[i]})" for i in channels]),
        any_address=_any([f"address{i}" for i in channels]),
        ready_at=f"LEAST({', '.join(ready)})" if ready else "NULL::timestamptz",
        any_unpaused=_any([f"(reachable{i} AND pause_ends{i} IS NULL)" for i in channels]),
        any_paused=_any([f"(reachable{i} AND pause_ends{i} IS NOT NULL)" for i in channels]),
    )
    return DECISION_SQL.format(columns=columns, verdict=verdict)


def jit_off(cursor) -> None:
    """Planning-time JIT compilation dominates at batch sizes; this transaction goes without it."""
    cursor.execute("SET LOCAL jit = off")


def decide_contacts_sql(plan: MessagePlan, contact_ids: list[int], now: datetime.datetime) -> dict[int, tuple]:
    """The decision for the given contacts, without writing anything: preview and tests."""
    sql = decision_sql(plan, "SELECT unnest(%(contact_ids)s::bigint[]) AS contact_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, {**decision_params(plan, now), "contact_ids": list(contact_ids)})
        return {row[0]: row[1:] for row in cursor.fetchall()}
