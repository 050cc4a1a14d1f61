"""Delivery backends: one class per way of handing a message over (SMTP, an SMS provider, …).

A channel row names its backend by dotted path, one of the ``DELIVERY_BACKENDS`` registry; adding a
channel is a row plus a class here (and its path in the registry).
``deliver`` receives a whole chunk so a backend can reuse one connection for all of it, and
returns the error for each send it could not hand over (an empty dict: all delivered).
"""

from __future__ import annotations

from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from contacts.models import Channel, delivery_backend_known

from ..rendering import Delivery, MessageRenderer

DEFAULT_BACKENDS = {
    Channel.AddressField.EMAIL: "messaging.backends.email.EmailBackend",
    Channel.AddressField.PHONE: "messaging.backends.sms.DevelopmentSmsBackend",
}


class ChannelBackend:
    # A backend that writes only to this database (or nowhere) hands sends over inside the
    # transaction that decides them: they are stored as ``sent`` at once, with no second write of
    # each row, and a crash rolls the decision and the hand-over back together. A backend that
    # talks to the outside world (SMTP, an HTTP provider) hands over after the decision committed.
    in_transaction = False
    # False for a backend that ignores who it delivers to (the no-op): nobody's details are loaded.
    reads_recipients = True

    def __init__(self, channel: Channel):
        self.channel = channel

    def deliver(self, renderer: MessageRenderer, deliveries: list[Delivery]) -> dict[int, str]:
        raise NotImplementedError


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
