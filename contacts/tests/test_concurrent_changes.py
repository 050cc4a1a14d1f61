"""Two saves of one contact's preferences at the same moment, on real PostgreSQL transactions:
the history still tells the true story (each row's old value is the previous row's new value)."""

import datetime
import threading
from dataclasses import dataclass
from typing import Callable

import pytest

from contacts.models import PreferenceChange
from contacts.services import (
    category_subscribe,
    category_unsubscribe,
    channel_frequency_set,
    channel_pause_set,
    contact_preferences_update,
)
from contacts.services import categories as category_services
from contacts.services import channels as channel_services

from .concurrency import Gate, Racer, wait_until
from .factories import CategoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Change:
    """Two concurrent saves of one kind, and the service step right after the old value is read."""

    kind: str
    first: Callable
    second: Callable
    read_step: tuple  # (module, name) of the function called once the old value is in hand
    before: Callable = lambda contact, email, category: None


def frequency(number, unit):
    return lambda contact, email, category: channel_frequency_set(
        contact=contact, channel=email, number=number, unit=unit, source="api:crm"
    )


def frequency_in_modal(number, unit):
    data = {"channels": {"email": {"frequency": {"number": number, "unit": unit}}}}
    return lambda contact, email, category: contact_preferences_update(contact=contact, data=data, source="staff:alice")


def pause(day):
    return lambda contact, email, category: channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, day), pause_to=datetime.date(2026, 3, 20),
        source="public_page",
    )


def subscribe(contact, email, category):
    category_subscribe(contact=contact, category=category, source="public_page")


CHANGES = {
    "frequency": Change("frequency", frequency(3, "week"), frequency(2, "day"),
                        (channel_services, "_preference_for_update"), before=frequency(1, "day")),
    "frequency-modal": Change("frequency", frequency_in_modal(3, "week"), frequency_in_modal(2, "day"),
                              (channel_services, "_preference_for_update"), before=frequency(1, "day")),
    "pause": Change("pause", pause(2), pause(3), (channel_services, "_preference_for_update"), before=pause(1)),
    "category": Change(
        "category", subscribe, subscribe, (category_services, "category_receives"),
        before=lambda contact, email, category: category_unsubscribe(contact=contact, category=category, source="system"),
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_two_concurrent_saves_leave_a_history_whose_old_values_chain(contact, email, monkeypatch, change):
    category = CategoryFactory()
    change.before(contact, email, category)
    first_stops = Gate()
    module, name = change.read_step
    step = getattr(module, name)

    def step_then_maybe_stop(*args, **kwargs):
        result = step(*args, **kwargs)
        # The first save stops once it has read the old value, its transaction (and locks) open.
        if threading.current_thread().name == "first":
            first_stops.stop_here()
        return result

    monkeypatch.setattr(module, name, step_then_maybe_stop)
    first = Racer(lambda: change.first(contact, email, category), "first").begin()
    wait_until(first_stops.reached.is_set, "the first save to read the old value")
    second = Racer(lambda: change.second(contact, email, category), "second").begin()
    # Without the contact lock the second save reads the same old value and commits.
    wait_until(second.finished_or_waiting, "the second save to commit or to wait")
    first_stops.open()
    first.finish()
    second.finish()
    assert first.error is None and second.error is None, (first.error, second.error)

    history = list(
        PreferenceChange.objects.filter(contact=contact, kind=change.kind).order_by("created_at", "id")
        .values_list("old_value", "new_value")
    )
    assert history[0][0] is None
    for (_, previous_new), (old, _) in zip(history, history[1:]):
        assert old == previous_new, f"history does not chain: {history}"
