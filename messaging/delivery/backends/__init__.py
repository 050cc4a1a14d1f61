"""Delivery backends: one class per way of handing a message over (SMTP, an SMS provider, …).

A channel row names its backend by dotted path, one of the ``DELIVERY_BACKENDS`` registry; adding a
channel is a row plus a class here (and its path in the registry).
``session(renderer)`` opens the provider once (one SMTP connection, one HTTP session) and yields
a function that hands over one group of ``batch_size`` deliveries and returns the error of each
send it could not hand over (an empty dict: all accepted). The delivery service records each
group as soon as it returns, so a crash re-sends at most the group in flight. ``deliver`` hands
a whole list over in one session (in-transaction backends, benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from contacts.models import Channel, delivery_backend_known

from messaging.delivery.rendering import Delivery, MessageRenderer

DEFAULT_BACKENDS = {
    Channel.AddressField.EMAIL: "messaging.delivery.backends.email.EmailBackend",
    Channel.AddressField.PHONE: "messaging.delivery.backends.sms.DevelopmentSmsBackend",
}


class ChannelBackend:
    # A backend that writes only to this database (or nowhere) hands sends over inside the
    # transaction that decides them: they are stored as ``sent`` at once, with no second write of
    # each row, and a crash rolls the decision and the hand-over back together. A backend that
    # talks to the outside world (SMTP, an HTTP provider) hands over after the decision committed.
    in_transaction = False
    # False for a backend that ignores who it delivers to (the no-op): nobody's details are loaded.
    reads_recipients = True
    # How many messages one provider call carries: 1 for SMTP (one message per DATA); a
    # provider's batch API more. It bounds what a crash can duplicate per connection.
    batch_size = 1

    def __init__(self, channel: Channel):
        self.channel = channel

    @contextmanager
    def session(self, renderer: MessageRenderer) -> Iterator[Callable[[list[Delivery]], dict[int, str]]]:
        """A backend overrides this or ``deliver`` (each falls back on the other)."""
        yield lambda deliveries: self.deliver(renderer, deliveries)

    def deliver(self, renderer: MessageRenderer, deliveries: list[Delivery]) -> dict[int, str]:
        errors: dict[int, str] = {}
        size = max(1, self.batch_size)
        with self.session(renderer) as hand_over:
            for start in range(0, len(deliveries), size):
                errors.update(hand_over(deliveries[start : start + size]))
        return errors


class UnknownBackend(ImproperlyConfigured):
    """A channel names a class outside the registry (a row written around the model's validation)."""


@lru_cache(maxsize=32)
def _backend_class(path: str) -> type[ChannelBackend]:
    return import_string(path)


def backend_for(channel: Channel) -> ChannelBackend:
    """The channel's backend; a path outside the registry is refused before anything is imported."""
    path = channel.backend or DEFAULT_BACKENDS[channel.address_field]
    if not delivery_backend_known(path):
        raise UnknownBackend(f"Channel {channel.slug!r} names {path!r}, which is not in DELIVERY_BACKENDS.")
    return _backend_class(path)(channel)
