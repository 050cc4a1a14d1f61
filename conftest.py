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
    """Real Celery worker processes, consuming a queue of their own on the test Redis broker.

    Before the first ``start()`` a test may set ``broker_url`` (RabbitMQ) and add variables to
    ``environment`` (a short visibility timeout); it then sends tasks with ``send()``.
    """

    def __init__(self, queue: str):
        self.queue = queue
        self.processes: list[subprocess.Popen] = []
        self.broker_url: str = settings.CELERY_BROKER_URL
        self.environment: dict[str, str] = {}

    def start(self, *, concurrency: int = 1, pool: str = "prefork") -> subprocess.Popen:
        name = f"w{len(self.processes)}-{self.queue}@%h"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "preference_center", "worker", "-Q", self.queue,
             "-n", name, "-c", str(concurrency), "-P", pool, "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "WARNING"],
            cwd=BASE_DIR,
            env={**worker_environment(self.queue), "CELERY_BROKER_URL": self.broker_url, **self.environment},
            start_new_session=True,
        )
        self.processes.append(process)
        self._wait_ready(process)
        return process

    def _wait_ready(self, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}")
            if self._consumes():
                return
        raise TimeoutError("worker did not answer within a minute")

    def _consumes(self) -> bool:
        from preference_center.celery import app

        if self.broker_url == settings.CELERY_BROKER_URL:
            replies = app.control.ping(timeout=0.5) or []
            return any(self.queue in next(iter(reply)) for reply in replies)
        # Another broker (RabbitMQ): remote control would answer on this process's own broker, so
        # ask RabbitMQ whether the queue has a consumer. A fresh connection each time: asking about
        # a queue not declared yet closes the channel.
        with app.connection_for_write(self.broker_url) as broker:
            try:
                return broker.default_channel.queue_declare(self.queue, passive=True).consumer_count > 0
            except broker.channel_errors:
                time.sleep(0.2)
                return False

    def send(self, task, *args) -> None:
        """Enqueue ``task(*args)`` on the workers' broker and queue."""
        from preference_center.celery import app

        with app.connection_for_write(self.broker_url) as broker:
            task.apply_async(args, connection=broker, queue=self.queue)

    def pool_children(self, process: subprocess.Popen) -> list[int]:
        """The pids of a worker's pool processes (its children)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[1]) == process.pid:
                children.append(int(stat.parent.name))
        return children

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
        if self.broker_url.startswith("amqp") and self.processes:
            from preference_center.celery import app

            with app.connection_for_write(self.broker_url) as broker:  # queues on RabbitMQ outlive the test
                broker.default_channel.queue_delete(self.queue)


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
