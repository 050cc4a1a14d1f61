from django.contrib import admin

from .models import Dispatch, DispatchBatch, Message, MessageVersion, OutboxMessage, Send


class VersionInline(admin.StackedInline):
    model = MessageVersion
    extra = 0


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "transactional", "created_at"]
    list_filter = ["transactional", "category"]
    search_fields = ["name"]
    filter_horizontal = ["segments"]
    inlines = [VersionInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Sends and dispatches are written by the engine only; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
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
