from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from contacts.timeline import TimelineSource, timeline_source_register

        from .selectors import contact_sends

        # Sends appear on the contact's profile timeline, beside the preference history.
        timeline_source_register(
            TimelineSource(rows=contact_sends, time_field="decided_at", template="messaging/timeline/send.html")
        )
