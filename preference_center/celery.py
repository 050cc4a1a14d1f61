"""The Celery application shared by every worker and the scheduler (beat)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preference_center.settings")

app = Celery("preference_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="preference_center.ping")
def ping(payload: str = "pong") -> str:
    """Echo a value: health checks use it to prove a worker consumes the broker."""
    return payload
