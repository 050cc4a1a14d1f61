import pytest
from django.db import connection


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE']} {db.get('NAME')}; broker: {settings.CELERY_BROKER_URL}"


@pytest.fixture(autouse=True, scope="session")
def _tests_run_on_postgresql(django_db_setup, django_db_blocker):
    # The suite proves production behaviour; the SQLite default has its own smoke test.
    assert connection.vendor == "postgresql", "Run the tests on PostgreSQL (DATABASE_URL); see README."
