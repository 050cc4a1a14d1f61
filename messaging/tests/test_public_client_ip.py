"""Behind a proxy, the public pages count and record the address the proxy saw, never one the client wrote."""

import pytest
from django.core.cache import cache

from contacts.models import PreferenceChange
from contacts.tests.factories import ContactFactory

from .test_public_page import delivered_send, page_url

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.2"  # the reverse proxy: the socket peer of every request


@pytest.fixture
def send(db):
    return delivered_send(ContactFactory(email="ada@example.org"))


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PUBLIC_RATELIMIT = "3/m"
    cache.clear()


def get(client, send, forwarded_for: str, remote_addr: str = PROXY) -> int:
    return client.get(page_url(send), REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for).status_code


def test_a_forged_left_most_entry_does_not_give_a_client_a_new_rate_limit_bucket(client, send, behind_one_proxy):
    statuses = [get(client, send, f"192.0.2.{n}, 198.51.100.60") for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_clients_behind_the_same_proxy_have_buckets_of_their_own(client, send, behind_one_proxy):
    for _ in range(3):
        get(client, send, "198.51.100.61")
    assert get(client, send, "198.51.100.61") == 429
    assert get(client, send, "198.51.100.62") == 200


def test_garbage_written_by_clients_never_pools_them_into_one_bucket(client, send, behind_one_proxy):
    for _ in range(3):
        get(client, send, "not-an-ip, 198.51.100.63")
    assert get(client, send, "not-an-ip, 198.51.100.63") == 429
    assert get(client, send, "not-an-ip, 198.51.100.64") == 200
    assert get(client, send, "%%%, 198.51.100.65") == 200


def test_a_header_that_does_not_parse_at_all_falls_back_to_the_socket_peer(client, send, behind_one_proxy):
    for _ in range(3):
        get(client, send, "garbage", remote_addr="198.51.100.66")
    assert get(client, send, "garbage", remote_addr="198.51.100.66") == 429
    assert get(client, send, "garbage", remote_addr="198.51.100.67") == 200


def test_the_history_records_the_address_the_proxy_saw(client, send, behind_one_proxy):
    response = client.post(page_url(send), {"action": "unsubscribe_all"}, REMOTE_ADDR=PROXY,
                           HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.68")
    assert response.status_code == 200
    assert set(PreferenceChange.objects.values_list("ip_address", flat=True)) == {"198.51.100.68"}


def test_without_a_trusted_proxy_the_header_is_ignored(client, send, settings):
    settings.PUBLIC_RATELIMIT = "3/m"
    cache.clear()
    statuses = [get(client, send, f"192.0.2.{n}", remote_addr="198.51.100.69") for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    client.post(page_url(send), {"action": "unsubscribe_all"}, REMOTE_ADDR="198.51.100.70",
                HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert set(PreferenceChange.objects.values_list("ip_address", flat=True)) == {"198.51.100.70"}
