"""The one answer to "which address is this client?", for the rate limiter, the login lockout and
the history rows written by the public pages.

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, each appending the address it saw to
``CLIENT_IP_HEADER`` (X-Forwarded-For), the client is the entry the outermost trusted proxy
appended: the ``TRUSTED_PROXY_COUNT``-th from the right. Everything left of it was written by the
client and is never read. A header too short or an entry that is not an address falls back to the
socket peer (``REMOTE_ADDR``), so a forged or garbage header neither moves a client to another
rate-limit bucket nor pools clients together. With ``TRUSTED_PROXY_NETWORKS`` set, the header is
read only from a peer inside them: a request that went around the proxies is its own peer.
python-ipware does the parsing and the counting.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

# What the rate limiter counts a request under when even the socket peer has no address (a server
# misconfigured to listen on a Unix socket without passing REMOTE_ADDR): never a client's choice.
NO_ADDRESS = "0.0.0.0"


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the outermost trusted proxy saw it, else the socket peer's; None if neither parses."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies and _peer_is_a_trusted_proxy(request):
        # ipware counts the proxy entries in the header; the proxy nearest the app is the socket
        # peer and writes no entry about itself, hence one fewer than the proxies in front of us.
        ip, _routable = get_client_ip(
            request, proxy_count=proxies - 1, request_header_order=[settings.CLIENT_IP_HEADER], strict=False
        )
        if ip is not None:
            return ip
    ip, _routable = get_client_ip(request, request_header_order=["REMOTE_ADDR"], strict=False)
    return ip


def _peer_is_a_trusted_proxy(request: HttpRequest) -> bool:
    networks = settings.TRUSTED_PROXY_NETWORKS
    if not networks:
        return True
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(network) for network in networks)


def ratelimit_ip(request: HttpRequest) -> str:
    """``RATELIMIT_IP_META_KEY``: django-ratelimit needs an address string to mask (IPv6 per /64)."""
    return client_ip(request) or NO_ADDRESS
