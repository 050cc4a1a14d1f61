"""Every lock statement of messaging in one place: what each one holds, and why, is read here.

The ORM's own ``select_for_update`` calls (a message being edited, a send being cancelled) stay
next to their writes; these are the raw statements the engine and the hand-over run.
"""

from __future__ import annotations

from contacts.models import Channel, Contact
from messaging.models import Dispatch, Message, Send

# The contacts of one batch (the recipients' subquery is put in for {candidates}), locked in id
# order so that a concurrent preference change waits for the batch's decision, or the batch for it.
BATCH_CONTACTS_LOCK_SQL = f"""
    SELECT c.id FROM {Contact._meta.db_table} c
    WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.id IN ({{candidates}})
    ORDER BY c.id FOR NO KEY UPDATE OF c
"""
# What foreign keys would hold for the sends about to be inserted, once per batch instead of
# once per row: the dispatch, its message and the channels cannot be deleted until commit.
PARENTS_LOCK_SQL = f"""
    WITH dispatch AS (
        SELECT d.id FROM {Dispatch._meta.db_table} d JOIN {Message._meta.db_table} m ON m.id = d.message_id
        WHERE d.id = %(dispatch_id)s FOR KEY SHARE
    ), channels AS (
        SELECT ch.id FROM {Channel._meta.db_table} ch WHERE ch.id = ANY(%(ch_ids)s::bigint[]) FOR KEY SHARE
    )
    SELECT (SELECT count(*) FROM dispatch), (SELECT count(*) FROM channels)
"""


# The deferred sends that are due, and their contacts locked in id order before they are decided again.
DUE_CANDIDATES = f"""
    SELECT contact_id, id AS send_id FROM {Send._meta.db_table}
    WHERE id = ANY(%(send_ids)s::bigint[]) AND outcome = 'deferred'
"""
DUE_CONTACTS_LOCK_SQL = f"""
    SELECT c.id FROM {Contact._meta.db_table} c
    WHERE c.id IN (SELECT contact_id FROM ({DUE_CANDIDATES}) due) ORDER BY c.id FOR NO KEY UPDATE OF c
"""


# Claiming decided sends for one deliverer (its lease); rows nobody else holds, re-checked on the
# row taken.
_ADDRESS_COLUMNS = ", ".join(f'c."{name}"' for name in Channel.AddressField.values)
# A claimed row: send id, message, channel, contact, attempts, first name, last name, locale,
# then the address columns in Channel.AddressField order.
CLAIMED_ADDRESS_START = 8
# The outer WHERE re-checks the outcome and the claim on the row it takes (a concurrent claimer
# or recorder that committed since this statement's snapshot is seen there, not in the subquery).
CLAIM_SQL = f"""
    UPDATE {Send._meta.db_table} s SET claim_token = %s, claimed_at = %s
    FROM {Contact._meta.db_table} c
    WHERE c.id = s.contact_id AND s.id IN ({{ids}})
        AND s.outcome = 'sending' AND (s.claimed_at IS NULL OR s.claimed_at < %s)
    RETURNING s.id, s.message_id, s.channel_id, s.contact_id, s.attempts, c.first_name, c.last_name, c.locale,
        {_ADDRESS_COLUMNS}
"""
