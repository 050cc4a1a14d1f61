"""Django admin for every model. Preference changes made here go through the services, like everywhere else."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from contacts.models import (
    Category,
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceChange,
    PreferenceSettings,
    Segment,
    SegmentMembership,
    StaffChange,
)
from contacts.services import (
    ObjectInUse,
    PreferencesInvalid,
    Source,
    category_create,
    category_delete,
    category_subscribe,
    category_unsubscribe,
    category_update,
    channel_default_cap_set,
    channel_dnc_clear,
    channel_frequency_set,
    channel_pause_set,
    channel_unsubscribe,
    contact_preferred_channel_set,
    contact_save,
    segment_create,
    segment_delete,
    segment_membership_add,
    segment_membership_remove,
    segment_update,
    settings_update,
)
from contacts.services.categories import CATEGORY_FIELDS
from contacts.services.segments import SEGMENT_FIELDS
from contacts.services.settings import SETTINGS_FIELDS
from contacts.selectors import message_names_using


class ServiceWrittenAdmin(admin.ModelAdmin):
    """Rows that carry preferences are written by a service so each change leaves its history row."""

    def save_model(self, request, obj, form, change):
        try:
            self.save_through_service(obj, Source.staff(request.user), form)
        except PreferencesInvalid as error:
            messages.error(request, str(error))

    def delete_model(self, request, obj):
        self.delete_through_service(obj, Source.staff(request.user))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class StaffAuditedAdmin(admin.ModelAdmin):
    """Categories and segments are created, changed and deleted by their services, which leave the staff audit row."""

    fields_written: tuple[str, ...] = ()
    entity = ""

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in self.fields_written if name in form.cleaned_data}
        if change:
            services_of[f"{self.entity}_update"](**{self.entity: obj}, acting_user=request.user, **values)
        else:
            obj.pk = services_of[f"{self.entity}_create"](acting_user=request.user, **values).pk

    def delete_model(self, request, obj):
        try:
            services_of[f"{self.entity}_delete"](**{self.entity: obj}, acting_user=request.user)
        except ObjectInUse as refused:  # used since the confirmation page was shown
            self.message_user(request, str(refused), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


services_of = {
    "category_create": category_create, "category_update": category_update, "category_delete": category_delete,
    "segment_create": segment_create, "segment_update": segment_update, "segment_delete": segment_delete,
}


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """The default cap goes through ``channel_default_cap_set`` (its rule and its audit row); the rest saves as is."""

    list_display = ["name", "slug", "address_field", "backend", "default_cap_number", "default_cap_unit", "position"]
    list_editable = ["default_cap_number", "default_cap_unit", "position"]

    def save_model(self, request, obj, form, change):
        number, unit = obj.default_cap_number, obj.default_cap_unit
        if change:
            stored = Channel.objects.get(pk=obj.pk)
            obj.default_cap_number, obj.default_cap_unit = stored.default_cap_number, stored.default_cap_unit
            super().save_model(request, obj, form, change)
            try:
                channel_default_cap_set(channel=obj, number=number, unit=unit, acting_user=request.user)
            except PreferencesInvalid as error:
                messages.error(request, str(error))
        else:
            super().save_model(request, obj, form, change)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Details are saved by ``contact_save``: an address removed drops a preferred channel it served, with history."""

    list_display = ["id", "first_name", "last_name", "email", "phone", "locale", "time_zone", "created_at"]
    list_filter = ["locale", "dnc_entries__channel", "dnc_entries__reason", "segment_memberships__segment"]
    search_fields = ["=id", "email", "phone", "first_name", "last_name"]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
    # Custom field values are written by contact_fields_update (validated, audited): the profile edits them.
    readonly_fields = ["created_at", "updated_at", "fields"]

    def save_model(self, request, obj, form, change):
        contact_save(contact=obj, source=Source.staff(request.user))


@admin.register(DoNotContact)
class DoNotContactAdmin(ServiceWrittenAdmin):
    list_display = ["contact", "channel", "reason", "source", "created_at"]
    list_filter = ["channel", "reason"]
    list_select_related = ["contact", "channel"]
    raw_id_fields = ["contact"]
    readonly_fields = ["source", "created_at"]
    show_full_result_count = False

    def save_through_service(self, obj, source, form):
        channel_unsubscribe(contact=obj.contact, channel=obj.channel, reason=obj.reason, source=source)

    def delete_through_service(self, obj, source):
        channel_dnc_clear(contact=obj.contact, channel=obj.channel, source=source)


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(ServiceWrittenAdmin):
    list_display = ["contact", "channel", "cap_number", "cap_unit", "pause_from", "pause_to", "preferred"]
    list_filter = ["channel", "cap_unit", "preferred"]
    list_select_related = ["contact", "channel"]
    raw_id_fields = ["contact"]
    show_full_result_count = False

    def save_through_service(self, obj, source, form):
        common = {"contact": obj.contact, "channel": obj.channel, "source": source}
        channel_frequency_set(number=obj.cap_number, unit=obj.cap_unit or None, **common)
        channel_pause_set(pause_from=obj.pause_from, pause_to=obj.pause_to, **common)
        if obj.preferred:
            contact_preferred_channel_set(**common)
        elif "preferred" in form.changed_data:
            contact_preferred_channel_set(contact=obj.contact, channel=None, source=source)

    def delete_through_service(self, obj, source):
        common = {"contact": obj.contact, "channel": obj.channel, "source": source}
        channel_frequency_set(number=None, unit=None, **common)
        channel_pause_set(pause_from=None, pause_to=None, **common)
        if obj.preferred:
            contact_preferred_channel_set(contact=obj.contact, channel=None, source=source)


@admin.register(Category)
class CategoryAdmin(StaffAuditedAdmin):
    fields_written, entity = CATEGORY_FIELDS, "category"
    list_display = ["name", "slug", "public", "opt_in", "created_at"]
    list_filter = ["public", "opt_in"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(CategorySubscription)
class CategorySubscriptionAdmin(ServiceWrittenAdmin):
    list_display = ["contact", "category", "status", "source", "changed_at"]
    list_filter = ["category", "status"]
    list_select_related = ["contact", "category"]
    raw_id_fields = ["contact"]
    readonly_fields = ["source", "changed_at"]
    show_full_result_count = False

    def save_through_service(self, obj, source, form):
        action = category_subscribe if obj.status == CategorySubscription.Status.SUBSCRIBED else category_unsubscribe
        action(contact=obj.contact, category=obj.category, source=source)

    def delete_through_service(self, obj, source):
        # Forgetting a choice means the category's default applies again.
        action = category_unsubscribe if obj.category.opt_in else category_subscribe
        action(contact=obj.contact, category=obj.category, source=source)


@admin.register(Segment)
class SegmentAdmin(StaffAuditedAdmin):
    fields_written, entity = SEGMENT_FIELDS, "segment"
    list_display = ["name", "slug", "public", "public_name", "created_at"]
    list_filter = ["public"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]

    def get_deleted_objects(self, objs, request):
        # A segment that messages target is refused here, naming them (the staff UI offers to detach it).
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected += [
            _("Message “%(message)s” is sent to %(segment)s") % {"message": name, "segment": obj}
            for obj in objs for name in message_names_using(obj)
        ]
        return deleted, counts, perms_needed, protected


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ServiceWrittenAdmin):
    list_display = ["contact", "segment", "removed", "source", "added_at", "changed_at"]
    list_filter = ["segment", "removed"]
    list_select_related = ["contact", "segment"]
    raw_id_fields = ["contact"]
    readonly_fields = ["source", "added_at", "changed_at"]
    show_full_result_count = False

    def save_through_service(self, obj, source, form):
        action = segment_membership_remove if obj.removed else segment_membership_add
        action(contact=obj.contact, segment=obj.segment, source=source)

    def delete_through_service(self, obj, source):
        segment_membership_remove(contact=obj.contact, segment=obj.segment, source=source)


@admin.register(PreferenceChange)
class PreferenceChangeAdmin(admin.ModelAdmin):
    """The audit history: read-only, append-only."""

    list_display = ["created_at", "contact", "kind", "subject", "old_value", "new_value", "source", "send_id"]
    list_filter = ["kind", "channel", "created_at"]
    list_select_related = ["contact"]
    search_fields = ["=contact__id", "contact__email", "source"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StaffChange)
class StaffChangeAdmin(admin.ModelAdmin):
    """The staff audit: read-only, append-only."""

    list_display = ["created_at", "actor", "subject_type", "subject_label", "action", "changes"]
    list_filter = ["subject_type", "action", "created_at"]
    search_fields = ["actor", "subject_label"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PreferenceSettings)
class PreferenceSettingsAdmin(admin.ModelAdmin):
    """Saved through ``settings_update``: only what changed, with its staff audit row."""

    def save_model(self, request, obj, form, change):
        settings_update(acting_user=request.user, **{
            name: form.cleaned_data[name] for name in SETTINGS_FIELDS if name in form.cleaned_data
        })
        obj.pk = 1

    def has_add_permission(self, request):
        return not PreferenceSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
