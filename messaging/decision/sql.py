"""The send decision of SPEC §3, set-based, on PostgreSQL: one statement decides a whole batch.

``decision_sql`` returns a SELECT over any set of candidate contacts; the worker wraps it in an
``INSERT … SELECT`` (a dispatch batch) or an ``UPDATE … FROM`` (due deferred sends). The rules
are the same as ``messaging.decision.rules.decide``, line for line; a property-based test keeps
them in agreement. Run these statements with ``jit = off``: at batches of thousands, compiling
the plan costs more than executing it.
"""

from __future__ import annotations

import datetime

from django.db import connection

from contacts.models import Channel

from .rules import MessagePlan

# Channel.address_field names a contact column; the CASE is built from the allowed names only.
_ADDRESS_CASE = " ".join(
    f"WHEN '{name}' THEN b.\"{name}\" <> ''" for name in Channel.AddressField.values
)
_ADDRESS_COLUMNS = ", ".join(f'c."{name}"' for name in Channel.AddressField.values)
_WINDOW = (
    "CASE {unit} WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days' "
    "WHEN 'month' THEN interval '1 month' END"
)

DECISION_SQL = f"""
WITH cand AS ({{candidates}}),
mc AS (
    SELECT * FROM unnest(%(ch_ids)s::bigint[], %(ch_fields)s::text[], %(ch_cap_n)s::int[], %(ch_cap_u)s::text[])
        WITH ORDINALITY AS mc(channel_id, address_field, default_cap_n, default_cap_unit, pos)
),
base AS (
    SELECT cand.*, c.time_zone, {_ADDRESS_COLUMNS},
        CASE
            WHEN %(category_id)s::bigint IS NULL OR %(transactional)s THEN NULL
            WHEN cs.status = 'unsubscribed' THEN 'category_unsubscribed'
            WHEN cs.status IS NULL AND %(opt_in)s THEN 'category_not_subscribed'
        END AS category_block
    FROM cand
    JOIN contacts_contact c ON c.id = cand.contact_id
    LEFT JOIN contacts_categorysubscription cs
        ON cs.contact_id = cand.contact_id AND cs.category_id = %(category_id)s::bigint
),
recent AS (
    SELECT s.contact_id, s.channel_id, array_agg(s.sent_at ORDER BY s.sent_at) AS times
    FROM messaging_send s
    WHERE s.contact_id IN (SELECT contact_id FROM cand)
        AND s.contact_id BETWEEN (SELECT min(contact_id) FROM cand) AND (SELECT max(contact_id) FROM cand)
        AND s.channel_id = ANY(%(ch_ids)s::bigint[])
        AND s.outcome IN ('sending', 'sent') AND NOT s.transactional
        AND s.sent_at > %(now)s::timestamptz - interval '1 month'
        AND NOT %(transactional)s
    GROUP BY s.contact_id, s.channel_id
),
cc AS (
    SELECT b.contact_id, mc.channel_id, mc.pos,
        CASE mc.address_field {_ADDRESS_CASE} ELSE false END AS has_address,
        d.contact_id IS NOT NULL AS has_dnc,
        coalesce(p.preferred, false) AS preferred,
        CASE WHEN NOT %(transactional)s AND p.pause_from IS NOT NULL
             AND (%(now)s::timestamptz AT TIME ZONE b.time_zone)::date BETWEEN p.pause_from AND p.pause_to
        THEN ((p.pause_to + 1)::timestamp AT TIME ZONE b.time_zone) END AS pause_ends,
        CASE WHEN %(transactional)s THEN NULL
             WHEN p.cap_number IS NOT NULL THEN p.cap_number
             WHEN mc.default_cap_n > 0 AND mc.default_cap_unit <> '' THEN mc.default_cap_n END AS cap_n,
        CASE WHEN p.cap_number IS NOT NULL THEN p.cap_unit ELSE mc.default_cap_unit END AS cap_unit,
        r.times
    FROM base b
    CROSS JOIN mc
    LEFT JOIN contacts_donotcontact d ON d.contact_id = b.contact_id AND d.channel_id = mc.channel_id
    LEFT JOIN contacts_channelpreference p ON p.contact_id = b.contact_id AND p.channel_id = mc.channel_id
    LEFT JOIN recent r ON r.contact_id = b.contact_id AND r.channel_id = mc.channel_id
    WHERE b.category_block IS NULL
),
counted AS (
    SELECT cc.*, w.win,
        CASE WHEN cc.cap_n IS NOT NULL AND cc.times IS NOT NULL
             THEN (SELECT count(*) FROM unnest(cc.times) t WHERE t > %(now)s::timestamptz - w.win)
             ELSE 0 END AS in_window
    FROM cc CROSS JOIN LATERAL (SELECT {_WINDOW.format(unit="cc.cap_unit")} AS win) w
),
judged AS (
    SELECT contact_id, has_address,
        ((CASE WHEN preferred THEN 0 ELSE 1 END) * 1000000 + pos) * 1000000000000 + channel_id AS rank_key,
        has_address AND NOT has_dnc AS reachable,
        pause_ends IS NOT NULL AS paused,
        cap_n IS NOT NULL AND in_window >= cap_n AS capped,
        GREATEST(
            pause_ends,
            CASE WHEN cap_n IS NOT NULL AND in_window >= cap_n
                 THEN times[array_length(times, 1) - cap_n + 1] + win END
        ) AS ready_at
    FROM counted
),
per_contact AS (
    -- Plain min() over a sortable key (preferred first, then channel order; the channel id in the
    -- low digits) instead of ordered array_agg: a hash aggregate with no per-group sort.
    SELECT contact_id,
        bool_or(has_address) AS any_address,
        min(rank_key) FILTER (WHERE reachable) AS first_key,
        min(rank_key) FILTER (WHERE reachable AND NOT paused AND NOT capped) AS chosen_key,
        min(ready_at) FILTER (WHERE reachable) AS ready_at,
        bool_and(paused) FILTER (WHERE reachable) AS all_paused,
        bool_or(paused) FILTER (WHERE reachable) AS any_paused
    FROM judged
    GROUP BY contact_id
),
decided AS (
    SELECT b.*, pc.chosen_key %% 1000000000000 AS chosen,
        CASE
            WHEN b.category_block IS NOT NULL THEN 'skipped_category'
            WHEN pc.first_key IS NULL AND pc.any_address THEN 'skipped_dnc'
            WHEN pc.first_key IS NULL THEN 'skipped_no_address'
            WHEN pc.chosen_key IS NOT NULL THEN 'sending'
            WHEN %(now)s::timestamptz >= %(deliver_until)s::timestamptz THEN 'expired'
            ELSE 'deferred'
        END AS outcome,
        CASE
            WHEN b.category_block IS NOT NULL THEN b.category_block
            WHEN pc.first_key IS NULL AND pc.any_address THEN 'dnc'
            WHEN pc.first_key IS NULL THEN 'no_address'
            WHEN pc.chosen_key IS NOT NULL AND pc.chosen_key <> pc.first_key THEN 'fallback'
            WHEN pc.chosen_key IS NOT NULL AND pc.chosen_key < 1000000000000000000 THEN 'preferred'
            WHEN pc.chosen_key IS NOT NULL THEN 'channel_order'
            WHEN %(now)s::timestamptz >= %(deliver_until)s::timestamptz THEN 'deadline'
            WHEN pc.all_paused THEN 'paused'
            WHEN NOT pc.any_paused THEN 'capped'
            ELSE 'paused_and_capped'
        END AS reason,
        LEAST(pc.ready_at, %(deliver_until)s::timestamptz) AS ready_at
    FROM base b
    LEFT JOIN per_contact pc ON pc.contact_id = b.contact_id
)
SELECT {{columns}},
    outcome,
    CASE WHEN outcome = 'sending' THEN chosen END AS channel_id,
    reason,
    CASE WHEN outcome = 'deferred' THEN ready_at END AS deferred_until
FROM decided
"""


def decision_params(plan: MessagePlan, now: datetime.datetime) -> dict:
    return {
        "ch_ids": [channel.id for channel in plan.channels],
        "ch_fields": [channel.address_field for channel in plan.channels],
        "ch_cap_n": [channel.default_cap_number or 0 for channel in plan.channels],
        "ch_cap_u": [channel.default_cap_unit or "" for channel in plan.channels],
        "category_id": plan.category_id,
        "opt_in": plan.category_opt_in,
        "transactional": plan.transactional,
        "deliver_until": plan.deliver_until,
        "now": now,
    }


def decision_sql(candidates: str, columns: str = "contact_id") -> str:
    """The decision over ``candidates`` (a SELECT with a ``contact_id`` column, and any others
    to carry through as ``columns``). Its own placeholders are pyformat names, as are theirs."""
    return DECISION_SQL.replace("{candidates}", candidates).replace("{columns}", columns)


def jit_off(cursor) -> None:
    """Planning-time JIT compilation dominates at batch sizes; this transaction goes without it."""
    cursor.execute("SET LOCAL jit = off")


def decide_contacts_sql(plan: MessagePlan, contact_ids: list[int], now: datetime.datetime) -> dict[int, tuple]:
    """The decision for the given contacts, without writing anything: preview and tests."""
    sql = decision_sql("SELECT unnest(%(contact_ids)s::bigint[]) AS contact_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, {**decision_params(plan, now), "contact_ids": list(contact_ids)})
        return {row[0]: row[1:] for row in cursor.fetchall()}
