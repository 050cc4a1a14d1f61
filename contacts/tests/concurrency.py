"""Ordering two writers in a test by the database's own lock waits, not by sleeping."""

import threading
import time

from django.db import connection, transaction


def commit_once_another_waits(work) -> threading.Thread:
    """In a thread: run ``work`` in a transaction and commit only once another connection waits on a lock."""
    started = threading.Event()

    def run():
        try:
            with transaction.atomic():
                work()
                started.set()
                with connection.cursor() as cursor:
                    for _ in range(1000):  # ordering only, not timing: the other writer is blocked now
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()")
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.01)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10)
    return thread
