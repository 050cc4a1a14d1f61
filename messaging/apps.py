from django.apps import AppConfig

PROCESS_DEFERRED_EVERY = 60.0  # seconds


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from preference_center.celery import app

        # Celery beat runs the deferral sweep; settings may replace this entry.
        schedule = dict(app.conf.beat_schedule or {})
        schedule.setdefault(
            "messaging.process_deferred", {"task": "messaging.process_deferred", "schedule": PROCESS_DEFERRED_EVERY}
        )
        app.conf.beat_schedule = schedule
