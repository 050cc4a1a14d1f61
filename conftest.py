import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from contacts.models import Channel
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory

BASE_DIR = Path(__file__).resolve().parent


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE']} {db.get('NAME')}; broker: {settings.CELERY_BROKER_URL}"


@pytest.fixture(autouse=True, scope="session")
def _tests_run_on_postgresql(django_db_setup, django_db_blocker):
    # The suite proves production behaviour; the SQLite default has its own smoke test.
    assert connection.vendor == "postgresql", "Run the tests on PostgreSQL (DATABASE_URL); see README."


def worker_environment(queue: str) -> dict[str, str]:
    """The environment of a worker process that shares this test run's database and a private queue."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CONN_MAX_AGE": "0",
    }


class WorkerProcesses:
    """Real Celery worker processes, consuming a queue of their own on the test Redis broker."""

    def __init__(self, queue: str):
        self.queue = queue
        self.processes: list[subprocess.Popen] = []

    def start(self, *, concurrency: int = 1, pool: str = "prefork") -> subprocess.Popen:
        name = f"w{len(self.processes)}-{self.queue}@%h"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "preference_center", "worker", "-Q", self.queue,
             "-n", name, "-c", str(concurrency), "-P", pool, "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "WARNING"],
            cwd=BASE_DIR,
            env=worker_environment(self.queue),
            start_new_session=True,
        )
        self.processes.append(process)
        self._wait_ready(process)
        return process

    def _wait_ready(self, process: subprocess.Popen, timeout: float = 60) -> None:
        from preference_center.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}")
            replies = app.control.ping(timeout=0.5) or []
            if any(self.queue in next(iter(reply)) for reply in replies):
                return
        raise TimeoutError("worker did not answer within a minute")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def celery_workers(settings):
    """Start real worker processes with ``celery_workers.start()``; tasks sent in the test go to them.

    Use with ``@pytest.mark.django_db(transaction=True)``: workers only see committed rows.
    """
    from preference_center.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    workers = WorkerProcesses(queue)
    try:
        yield workers
    finally:
        workers.stop()
        app.conf.task_default_queue = previous


# The domain's everyday rows, shared by every app's tests.


@pytest.fixture
def email(db) -> Channel:
    return Channel.objects.get(slug="email")


@pytest.fixture
def sms(db) -> Channel:
    return Channel.objects.get(slug="sms")


@pytest.fixture
def contact(db):
    return ContactFactory()


@pytest.fixture
def category(db):
    return CategoryFactory()


@pytest.fixture
def segment(db):
    return SegmentFactory()
