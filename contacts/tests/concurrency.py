"""Explicit interleavings of real PostgreSQL transactions, for the tests that prove a lock is needed.

A ``Racer`` runs a function in a thread of its own, hence on a database connection of its own.
A ``Gate`` stops one racer at a chosen point (inside its transaction, locks held); the test then
lets another racer run until it either finishes (commits) or waits on a lock in PostgreSQL
(``waits_on_lock``), and only then opens the gate. No sleeps decide the order: without the
lock the second racer goes through, with it the second racer waits. ``race`` does all of this
for two functions, the first held in an outer transaction once it has run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction

PATIENCE = 60  # seconds: a racer stuck longer than this is a deadlock in the test, not a slow machine


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.01)


def waits_on_lock(pid: int) -> bool:
    """Whether the backend ``pid`` is waiting for a lock held by another transaction (read live)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
        return cursor.fetchone()[0]


class Gate:
    """A point where one racer stops until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._open = threading.Event()

    def stop_here(self) -> None:
        self.reached.set()
        if not self._open.wait(PATIENCE):
            raise AssertionError("the gate was never opened")

    def open(self) -> None:
        self._open.set()


class Racer(threading.Thread):
    """``target()`` in its own thread and database connection; ``join()`` re-raises nothing,
    the outcome is in ``result`` or ``error``."""

    def __init__(self, target: Callable[[], Any], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.target_function = target
        self.pid: int | None = None
        self.connected = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            connection.ensure_connection()
            self.pid = connection.connection.get_backend_pid()
            self.connected.set()
            self.result = self.target_function()
        except BaseException as error:  # reported to the test through ``error``
            self.error = error
        finally:
            self.connected.set()
            connection.close()

    def begin(self) -> Racer:
        self.start()
        wait_until(self.connected.is_set, f"{self.name} to connect")
        return self

    def finish(self) -> Any:
        self.join(PATIENCE)
        assert not self.is_alive(), f"{self.name} did not finish"
        return self.result

    def finished_or_waiting(self) -> bool:
        """Whether this racer is done (committed or failed) or waits on a lock held by another."""
        return not self.is_alive() or waits_on_lock(self.pid)


def held(function, gate: Gate):
    """``function`` in a transaction kept open (its locks held) until the gate opens."""

    def run():
        with transaction.atomic():
            result = function()
            gate.stop_here()
        return result

    return run


def race(first, second, *, second_may_fail: bool = False) -> tuple[Racer, Racer]:
    """``first`` holds its transaction open until ``second`` has committed or waits on a lock;
    then both finish. The first must succeed; the second too unless ``second_may_fail``."""
    gate = Gate()
    one = Racer(held(first, gate), "first").begin()
    wait_until(lambda: gate.reached.is_set() or not one.is_alive(), "the first to get there")
    assert one.error is None, one.error  # it failed before getting there
    two = Racer(second, "second").begin()
    wait_until(two.finished_or_waiting, "the second to commit or to wait")
    gate.open()
    one.finish()
    two.finish()
    assert one.error is None, one.error
    assert second_may_fail or two.error is None, two.error
    return one, two


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
