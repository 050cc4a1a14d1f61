"""Delivery backends used by the worker tests: workers load them by the path in the channel row."""

import time

from messaging.backends import ChannelBackend
from messaging.models import OutboxMessage


class SlowRecordingBackend(ChannelBackend):
    """Records each delivery in the Outbox (inside the delivery transaction), then takes its time,
    so that a test can kill the worker half-way through a dispatch."""

    def deliver(self, renderer, deliveries):
        OutboxMessage.objects.bulk_create(
            OutboxMessage(send_id=d.send_id, channel_slug=self.channel.slug, to=d.address, body="") for d in deliveries
        )
        time.sleep(0.3)
        return {}


class RefusingOutboxBackend(ChannelBackend):
    """Hands over inside the deciding transaction and refuses everyone: what a retry starts from."""

    in_transaction = True

    def deliver(self, renderer, deliveries):
        return {d.send_id: "queue full" for d in deliveries}
