"""``client_ip``: the address the outermost trusted proxy saw, never one the client wrote."""

import pytest
from django.test import RequestFactory

from preference_center.client_ip import NO_ADDRESS, client_ip, ratelimit_ip

PEER = "10.0.0.2"


def request(forwarded_for: str | None = None, remote_addr: str = PEER):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(("proxies", "forwarded_for", "expected"), [
    (1, "198.51.100.1", "198.51.100.1"),
    (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
    (1, "1.1.1.1, 6.6.6.6, 198.51.100.1", "198.51.100.1"),
    (1, "not-an-ip, 198.51.100.1", "198.51.100.1"),
    (1, "2001:db8::7", "2001:db8::7"),
    # Two proxies: the outer one appended the client, the inner one appended the outer one.
    (2, "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
    # Fewer entries than proxies (the request skipped one), or nothing usable: the socket peer.
    (2, "198.51.100.1", PEER),
    (1, "garbage", PEER),
    (1, "", PEER),
    (1, None, PEER),
])
def test_the_client_is_the_entry_the_outermost_trusted_proxy_appended(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request(forwarded_for)) == expected


def test_with_no_trusted_proxy_the_header_is_never_read(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request("198.51.100.1", remote_addr="203.0.113.5")) == "203.0.113.5"


def test_another_header_can_be_named(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    req = RequestFactory().get("/", REMOTE_ADDR=PEER, HTTP_X_REAL_IP="198.51.100.3", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(req) == "198.51.100.3"


def test_without_any_address_the_limiter_gets_a_fixed_placeholder_not_a_client_value(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request(remote_addr="")) is None
    assert ratelimit_ip(request(remote_addr="")) == NO_ADDRESS


def test_with_proxy_networks_set_the_header_is_read_only_from_a_peer_inside_them(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24", "fd00::/8"]
    assert client_ip(request("198.51.100.1", remote_addr="10.0.0.7")) == "198.51.100.1"
    assert client_ip(request("198.51.100.1", remote_addr="fd00::7")) == "198.51.100.1"
    # Around the proxies, straight to the app: the forged header is ignored.
    assert client_ip(request("198.51.100.1", remote_addr="203.0.113.5")) == "203.0.113.5"
