import pytest

from preference_center.celery import app, ping


def test_celery_app_loads_from_django_settings():
    assert app.conf.broker_url.startswith("redis://")
    assert app.conf.task_acks_late is True


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_a_real_worker_on_redis(celery_workers):
    celery_workers.start()
    assert ping.delay("hello").get(timeout=30) == "hello"
