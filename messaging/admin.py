from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import Dispatch, DispatchBatch, Message, MessageVersion, OutboxMessage, Send
from .services import MessageHasSends, message_archive, message_create, message_delete, message_update
from .services.messages import MESSAGE_FIELDS, VERSION_FIELDS


class VersionInline(admin.StackedInline):
    model = MessageVersion
    extra = 0


class ArchivedFilter(admin.SimpleListFilter):
    title, parameter_name = _("archived"), "archived"

    def lookups(self, request, model_admin):
        return [("no", _("No")), ("yes", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Writes go through the services: ``message_create``/``message_update`` (with the versions
    inline) leave the staff audit row; ``message_delete`` refuses a message with sends (archive it)."""

    list_display = ["name", "category", "transactional", "created_at", "archived_at"]
    list_filter = [ArchivedFilter, "transactional", "category"]
    search_fields = ["name"]
    filter_horizontal = ["segments"]
    inlines = [VersionInline]
    actions = ["archive_selected"]

    def save_model(self, request, obj, form, change):
        pass  # written with its versions in save_related, once the inline forms are valid

    def save_related(self, request, form, formsets, change):
        values = {name: form.cleaned_data[name] for name in (*MESSAGE_FIELDS, "segments") if name in form.cleaned_data}
        versions = [
            {name: version.cleaned_data[name] for name in ("channel", *VERSION_FIELDS) if name in version.cleaned_data}
            for formset in formsets
            for version in formset.forms
            if version.cleaned_data and not version.cleaned_data.get("DELETE")
        ]
        for formset in formsets:  # the admin's change message reads these; the audit row has the details
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if change:
            message_update(message=form.instance, acting_user=request.user, values=values, versions=versions)
        else:
            form.instance.pk = message_create(acting_user=request.user, values=values, versions=versions).pk

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            [obj for obj in objs if not obj.sends.exists()], request
        )
        # Named here, not listed send by send: a message may have a million of them.
        protected += [str(MessageHasSends(obj, obj.sends.count())) for obj in objs if obj.sends.exists()]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        try:
            message_delete(message=obj, acting_user=request.user)
        except MessageHasSends as refused:  # sent since the confirmation page was shown
            self.message_user(request, str(refused), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description=_("Archive the selected messages"), permissions=["delete"])
    def archive_selected(self, request, queryset):
        for obj in queryset:
            message_archive(message=obj, acting_user=request.user)
        self.message_user(request, _("%(count)s messages archived.") % {"count": len(queryset)}, messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Sends and dispatches are written by the engine only; the admin shows them and never deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Dispatch)
class DispatchAdmin(ReadOnlyAdmin):
    list_display = ["message", "status", "recipients", "created_at", "finished_at"]
    list_filter = ["status"]


@admin.register(DispatchBatch)
class DispatchBatchAdmin(ReadOnlyAdmin):
    list_display = ["dispatch", "first_contact_id", "last_contact_id", "status", "claimed_at"]
    list_filter = ["status"]


@admin.register(Send)
class SendAdmin(ReadOnlyAdmin):
    list_display = ["message", "contact", "channel", "outcome", "reason", "decided_at", "deferred_until"]
    list_filter = ["outcome"]
    raw_id_fields = ["contact", "message", "dispatch"]
    list_select_related = ["message", "contact", "channel"]
    show_full_result_count = False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["channel_slug", "to", "subject", "created_at"]
    search_fields = ["to"]
    raw_id_fields = ["send"]
