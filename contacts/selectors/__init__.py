"""Reads of contacts: what a contact allows (``preferences``) and what the staff pages show (``staff``)."""

from .preferences import (
    PreferenceState,
    categories_with_status,
    contact_preference_state,
    contact_preferences,
    preferences_shape,
    segments_with_membership,
)
from .staff import (
    CONTACT_SORTS,
    ChannelStatus,
    ContactProfile,
    ContactSearchText,
    ListPage,
    category_list,
    contact_count_estimate,
    contact_list,
    contact_list_page,
    contact_profile,
    contact_today,
    list_page,
    segment_list,
    segment_members,
)

__all__ = [
    "CONTACT_SORTS",
    "ChannelStatus",
    "ContactProfile",
    "ContactSearchText",
    "ListPage",
    "PreferenceState",
    "categories_with_status",
    "category_list",
    "contact_count_estimate",
    "contact_list",
    "contact_list_page",
    "contact_preference_state",
    "contact_preferences",
    "contact_profile",
    "contact_today",
    "list_page",
    "preferences_shape",
    "segment_list",
    "segment_members",
    "segments_with_membership",
]
