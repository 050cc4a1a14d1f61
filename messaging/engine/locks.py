"""Every lock statement of messaging in one place: what each one holds, and why, is read here.

The ORM's own ``select_for_update`` calls (a message being edited, a send being cancelled) stay
next to their writes; these are the raw statements the engine and the hand-over run. Outcomes
are parameters (``messaging.sql.OUTCOMES``).
"""

from __future__ import annotations

from messaging.sql import address_columns, sql_compose

# The contacts of one batch, locked in id order so that a concurrent preference change waits for
# the batch's decision, or the batch for it.
_BATCH_CONTACTS_LOCK = """
    SELECT c.id FROM {contacts} c
    WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.id IN ({candidates})
    ORDER BY c.id FOR NO KEY UPDATE OF c
"""


def batch_contacts_lock_sql(candidates: str) -> str:
    """The lock of a batch's contacts; ``candidates`` is the recipients' subquery."""
    return sql_compose(_BATCH_CONTACTS_LOCK, candidates=candidates)


# What foreign keys would hold for the sends about to be inserted, once per batch instead of
# once per row: the dispatch, its message and the channels cannot be deleted until commit.
PARENTS_LOCK_SQL = sql_compose("""
    WITH dispatch AS (
        SELECT d.id FROM {dispatches} d JOIN {messages} m ON m.id = d.message_id
        WHERE d.id = %(dispatch_id)s FOR KEY SHARE
    ), channels AS (
        SELECT ch.id FROM {channels} ch WHERE ch.id = ANY(%(ch_ids)s::bigint[]) FOR KEY SHARE
    )
    SELECT (SELECT count(*) FROM dispatch), (SELECT count(*) FROM channels)
""")

# The deferred sends that are due, and their contacts locked in id order before they are decided again.
DUE_CANDIDATES = sql_compose("""
    SELECT contact_id, id AS send_id FROM {sends}
    WHERE id = ANY(%(send_ids)s::bigint[]) AND outcome = %(outcome_deferred)s
""")
DUE_CONTACTS_LOCK_SQL = sql_compose("""
    SELECT c.id FROM {contacts} c
    WHERE c.id IN (SELECT contact_id FROM ({due}) due) ORDER BY c.id FOR NO KEY UPDATE OF c
""", due=DUE_CANDIDATES)

# Claiming decided sends for one deliverer (its lease): rows nobody else holds. The outer WHERE
# re-checks the outcome and the claim on the row it takes (a concurrent claimer or recorder that
# committed since this statement's snapshot is seen there, not in the subquery). The columns
# returned are read by name (``messaging.delivery.handover.ClaimedRow``).
_CLAIM = """
    UPDATE {sends} s SET claim_token = %s, claimed_at = %s
    FROM {contacts} c
    WHERE c.id = s.contact_id AND s.id IN ({ids})
        AND s.outcome = %s AND (s.claimed_at IS NULL OR s.claimed_at < %s)
    RETURNING s.id AS send_id, s.message_id, s.channel_id, s.contact_id, s.attempts, c.first_name, c.last_name,
        c.locale, {addresses}
"""


def claim_sql(ids: str) -> str:
    """The claim of the sends of ``ids`` (a subquery with positional parameters). Parameters:
    token, now, the subquery's, the outcome ``sending``, the moment before which a claim is stale."""
    return sql_compose(_CLAIM, ids=ids, addresses=address_columns("c"))


# The batches of sends a deliverer has just recorded after the batch run (a deferred send decided
# again, a dead worker's send), held in share mode until the record commits. A batch finishing
# meanwhile (its status update) either waits for the record, then reads it and publishes its outcome,
# or finished first, and this statement waits for that and reads ``done``: never both, never neither.
# No status filter here: a row filtered out on its old version would not be waited for.
SEND_BATCHES_SHARE_SQL = sql_compose("""
    SELECT s.id, b.status FROM {sends} s
    JOIN {batches} b ON b.dispatch_id = s.dispatch_id AND s.contact_id BETWEEN b.first_contact_id AND b.last_contact_id
    WHERE s.id = ANY(%(send_ids)s::bigint[])
    ORDER BY b.id FOR SHARE OF b
""")
