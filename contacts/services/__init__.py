"""The one write path for everything a contact allows (SPEC §2).

Each function makes one change inside a transaction and appends its history row in the same
transaction. Views, the admin, tasks and the REST API (``api``) call these, never the models directly.
Staff writes to categories, segments, settings and default caps take ``acting_user`` and append
a staff audit row (``staff_audit``).
"""

from .audit import Source
from .bulk import BulkActionStale, bulk_action_create, bulk_action_run, bulk_action_scope
from .categories import category_create, category_delete, category_update, category_subscribe, category_unsubscribe
from .channels import (
    channel_default_cap_set,
    channel_dnc_clear,
    channel_frequency_set,
    channel_pause_set,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferred_channel_set,
)
from .contacts import contact_delete, contact_save
from .errors import ObjectInUse, PreferencesInvalid
from .fields import contact_fields_update, field_values_clean
from .preferences import contact_preferences_update
from .settings import settings_update
from .staff_audit import staff_change_record
from .segments import segment_create, segment_delete, segment_update, segment_membership_add, segment_membership_remove

__all__ = [
    "BulkActionStale",
    "bulk_action_create",
    "bulk_action_run",
    "bulk_action_scope",
    "ObjectInUse",
    "PreferencesInvalid",
    "Source",
    "category_create",
    "category_delete",
    "contact_delete",
    "category_update",
    "category_subscribe",
    "category_unsubscribe",
    "channel_default_cap_set",
    "channel_dnc_clear",
    "channel_frequency_set",
    "channel_pause_set",
    "channel_subscribe",
    "channel_unsubscribe",
    "contact_fields_update",
    "contact_preferences_update",
    "contact_save",
    "contact_preferred_channel_set",
    "field_values_clean",
    "segment_create",
    "segment_delete",
    "segment_update",
    "segment_membership_add",
    "segment_membership_remove",
    "settings_update",
    "staff_change_record",
]
