"""A real Celery worker killed in the middle of an import: another one resumes it, nobody is written twice."""

import os
import signal
import time

import pytest
from django.db import connection

from contacts.imports.runner import import_start
from contacts.models import Contact, ContactImport, PreferenceChange

from .factories import CategoryFactory
from .imports import checked, csv_bytes, uploaded

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROWS = 20_000


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)


@pytest.mark.timeout(400)
def test_a_worker_killed_mid_import_is_resumed_by_another_without_duplicates(celery_workers, settings, tmp_path):
    settings.IMPORT_DIR = tmp_path
    celery_workers.environment.update({"IMPORT_CHUNK_ROWS": "500", "CELERY_VISIBILITY_TIMEOUT_SECONDS": "5"})
    news = CategoryFactory(slug="news")
    Contact.objects.bulk_create(Contact(email=f"p{n}@example.com") for n in range(0, ROWS, 3))  # a third exist
    data = csv_bytes("email,first_name,news", *(f"P{n}@example.com,P{n},no" for n in range(ROWS)))
    contact_import = checked(uploaded(data), {"email": "contact:email", "first_name": "contact:first_name",
                                              "news": f"category:{news.slug}"})
    first = celery_workers.start()
    import_start(contact_import=contact_import)

    def progressed():
        contact_import.refresh_from_db()
        return contact_import.rows_done >= 2000

    wait_for(progressed, 120, "the worker never got going")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.IMPORTING and contact_import.rows_done < ROWS, \
        "the import finished before the worker was killed"

    celery_workers.start()

    def finished():
        contact_import.refresh_from_db()
        return contact_import.status == ContactImport.Status.DONE

    wait_for(finished, 240, "the import was not resumed")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT lower(email)) FROM contacts_contact")
        assert cursor.fetchone() == (ROWS, ROWS)
    assert not Contact.objects.filter(first_name="").exists()
    history = PreferenceChange.objects.filter(source=contact_import.source_label, kind="category")
    assert history.count() == ROWS and history.values("contact").distinct().count() == ROWS
    counts = contact_import.import_counts
    assert (counts["new"], counts["updated"], counts["rejected"]) == (ROWS - len(range(0, ROWS, 3)), len(range(0, ROWS, 3)), 0)
