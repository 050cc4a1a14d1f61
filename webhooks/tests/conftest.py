import pytest

from webhooks.models import EventType
from webhooks.services import endpoint_create

from .receiver import Receiver


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    # The receivers of these tests listen on 127.0.0.1; test_delivery proves the refusal without this.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def endpoint_for(db):
    """An endpoint for a receiver, listening to every event type unless told otherwise."""

    def make(receiver: Receiver, events=None):
        endpoint = endpoint_create(name="CRM", url=receiver.url, events=events or EventType.values, acting_user=None)
        receiver.secret = endpoint.secret
        return endpoint

    return make
