from __future__ import annotations

from messaging.delivery.backends import ChannelBackend


class NoopBackend(ChannelBackend):
    """Accepts everything and does nothing: for measuring the dispatch engine alone."""

    in_transaction = True
    reads_recipients = False

    def deliver(self, renderer, deliveries):
        return {}
