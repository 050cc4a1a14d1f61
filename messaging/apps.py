from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_delete

MESSAGING_MODELS = (
    "message", "messageversion", "dispatch", "dispatchbatch", "send", "outboxmessage", "preferencepage",
    "preferencepageversion", "leavingreasonchoice",
)
VIEWER_PERMISSIONS = tuple(f"view_{model}" for model in MESSAGING_MODELS)
# Editors write messages, send them, and cancel deferred sends; nobody edits a send's outcome by hand.
EDITOR_PERMISSIONS = VIEWER_PERMISSIONS + (
    "add_message",
    "change_message",
    "delete_message",
    "add_messageversion",
    "change_messageversion",
    "delete_messageversion",
    "add_dispatch",
    "change_send",
    "add_preferencepage",
    "change_preferencepage",
    "delete_preferencepage",
    "add_leavingreasonchoice",
    "change_leavingreasonchoice",
)


def staff_groups_extend(sender, *, using="default", **kwargs) -> None:
    from contacts.apps import staff_groups_grant

    staff_groups_grant(sender, {"Viewers": VIEWER_PERMISSIONS, "Editors": EDITOR_PERMISSIONS}, using=using)


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        post_migrate.connect(staff_groups_extend, sender=self, dispatch_uid="messaging.staff_groups_extend")
        from .bootstrap import leaving_reasons_ensure_after_migrate

        post_migrate.connect(leaving_reasons_ensure_after_migrate, sender=self, dispatch_uid="messaging.leaving_reasons")

        from contacts.models import Contact
        from contacts.timeline import TimelineSource, timeline_source_register

        from contacts.segment_filter import condition_kind_register

        from .erasure import contact_outbox_erase
        from .segment_conditions import MESSAGE_ACTIVITY
        from .selectors import contact_sends

        # Segment filters offer message activity; contacts reads the send table only through it.
        condition_kind_register(MESSAGE_ACTIVITY)

        # Sends appear on the contact's profile timeline, beside the preference history.
        timeline_source_register(
            TimelineSource(rows=contact_sends, time_field="decided_at", template="messaging/timeline/send.html")
        )
        pre_delete.connect(contact_outbox_erase, sender=Contact, dispatch_uid="messaging.contact_outbox_erase")
