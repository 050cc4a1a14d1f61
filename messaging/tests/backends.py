"""Delivery backends used by the worker tests: workers load them by the path in the channel row."""

import time

from messaging.delivery.backends import ChannelBackend
from messaging.models import OutboxMessage


class SlowRecordingBackend(ChannelBackend):
    """Records each hand-over in the Outbox (as a provider would receive it), then takes its time
    before answering: the window in which an unsubscribe arrives while a message is in flight."""

    def deliver(self, renderer, deliveries):
        OutboxMessage.objects.bulk_create(
            OutboxMessage(send_id=d.send_id, channel_slug=self.channel.slug, to=d.address, body="") for d in deliveries
        )
        time.sleep(0.03 * len(deliveries))
        return {}


class RefusingOutboxBackend(ChannelBackend):
    """Hands over inside the deciding transaction and refuses everyone: what a retry starts from."""

    in_transaction = True

    def deliver(self, renderer, deliveries):
        return {d.send_id: "queue full" for d in deliveries}
