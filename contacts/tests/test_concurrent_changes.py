"""Two saves of one contact's preferences at the same moment, on real PostgreSQL transactions:
the history still tells the true story (each row's old value is the previous row's new value)."""

import threading

import pytest

from contacts.models import ChannelPreference, PreferenceChange
from contacts.services import channel_frequency_set, contact_preferences_update
from contacts.services import channels as channel_services

from .concurrency import Gate, Racer, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def frequency_by_service(contact, channel, number, unit):
    channel_frequency_set(contact=contact, channel=channel, number=number, unit=unit, source="api:crm")


def frequency_by_modal(contact, channel, number, unit):
    data = {"channels": {channel.slug: {"frequency": {"number": number, "unit": unit}}}}
    contact_preferences_update(contact=contact, data=data, source="staff:alice")


@pytest.mark.parametrize("save", [frequency_by_service, frequency_by_modal], ids=["service", "modal"])
def test_two_concurrent_saves_leave_a_history_whose_old_values_chain(contact, email, monkeypatch, save):
    channel_frequency_set(contact=contact, channel=email, number=1, unit="day", source="system")
    first_stops = Gate()
    read_preference = channel_services._preference_for_update

    def read_then_maybe_stop(*args, **kwargs):
        pref = read_preference(*args, **kwargs)
        # The first save stops after reading the old value, its transaction (and locks) open.
        if threading.current_thread().name == "first":
            first_stops.stop_here()
        return pref

    monkeypatch.setattr(channel_services, "_preference_for_update", read_then_maybe_stop)
    first = Racer(lambda: save(contact, email, 3, "week"), "first").begin()
    wait_until(first_stops.reached.is_set, "the first save to read the old value")
    second = Racer(lambda: save(contact, email, 2, "day"), "second").begin()
    # Without the contact lock the second save reads the same old value and commits.
    wait_until(second.finished_or_waiting, "the second save to commit or to wait")
    first_stops.open()
    first.finish()
    second.finish()
    assert first.error is None and second.error is None, (first.error, second.error)

    history = list(
        PreferenceChange.objects.filter(contact=contact, kind="frequency").order_by("created_at", "id")
        .values_list("old_value", "new_value")
    )
    assert len(history) == 3
    for (_, previous_new), (old, _) in zip(history, history[1:]):
        assert old == previous_new, f"history does not chain: {history}"
    pref = ChannelPreference.objects.get(contact=contact, channel=email)
    assert history[-1][1] == {"number": pref.cap_number, "unit": pref.cap_unit}
