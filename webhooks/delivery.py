"""Delivery of the outbox to the endpoints: signed per Standard Webhooks, in order per contact,
retried with exponential backoff until the event is a day old, then ``failed``.

One worker drains an endpoint at a time (a lease on the endpoint row, taken and released by
short statements: no lock is held while a receiver is called). A batch holds at most one
delivery per contact, the oldest still pending, so a contact's events leave in order while
different contacts' events go out side by side.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

PENDING, DELIVERED, FAILED = DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED
USER_AGENT = "PreferenceCenter-Webhooks/1"


class TargetRefused(Exception):
    """The URL points where this server must not send requests (SSRF guard)."""


def _address_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return not ip.is_global or ip.is_multicast


def target_errors(url: str) -> list[str]:
    """Why a URL may not receive webhooks: https only, and never a private, loopback or
    link-local address (resolved now), unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` (development)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return [_("Enter an https:// URL.")]
    if parts.username or parts.password:
        return [_("Leave credentials out of the URL: receivers verify the signature instead.")]
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return []
    if parts.scheme != "https":
        return [_("Enter an https:// URL.")]
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError):
        return [_("This host name does not resolve.")]
    if any(_address_private(address) for address in addresses):
        return [_("This URL points to a private, loopback or link-local address.")]
    return []


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff with full jitter on the upper half: base · 2^(n-1), capped."""
    ceiling = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)
    return datetime.timedelta(seconds=random.uniform(ceiling / 2, ceiling))


# --- The lease -----------------------------------------------------------------------------------


def _lease_take(endpoint_id: int) -> bool:
    now = timezone.now()
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .update(drain_lease_until=now + datetime.timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS))
    )


def _lease_renew(endpoint_id: int) -> bool:
    """Extend the lease; False once the endpoint was disabled meanwhile (the drain stops)."""
    return bool(WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(
        drain_lease_until=timezone.now() + datetime.timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    ))


def _lease_release(endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(drain_lease_until=None)


# --- Which deliveries go next ----------------------------------------------------------------------


def due_heads(*, endpoint_id: int, now: datetime.datetime, limit: int) -> list[WebhookDelivery]:
    """The pending deliveries that may go now: due, and the oldest pending one of their contact."""
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"), contact_id=OuterRef("contact_id"), status=PENDING,
        event_id__lt=OuterRef("event_id"),
    )
    return list(
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=PENDING, next_attempt_at__lte=now)
        .filter(~Exists(earlier))
        .select_related("event")
        .order_by("event_id")[:limit]
    )


# --- Sending ---------------------------------------------------------------------------------------

_sessions = threading.local()


def _session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass
class Attempt:
    delivery: WebhookDelivery
    at: datetime.datetime
    response_code: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


def signed_request(*, secret: str, message_id: str, body: str, at: datetime.datetime) -> dict[str, str]:
    """The Standard Webhooks headers, signed at the moment of the attempt (so a retry a day later
    still passes a receiver's five-minute timestamp check)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
    }


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Attempt:
    at = timezone.now()
    attempt = Attempt(delivery=delivery, at=at)
    try:
        if errors := target_errors(endpoint.url):
            raise TargetRefused(errors[0])
        body = json.dumps(delivery.event.payload, separators=(",", ":"), ensure_ascii=False)
        headers = signed_request(secret=endpoint.secret, message_id=delivery.event.message_id, body=body, at=at)
        response = _session().post(
            endpoint.url, data=body.encode(), headers=headers, allow_redirects=False,
            timeout=(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS),
        )
        response.close()
        attempt.response_code = response.status_code
        if not attempt.ok:
            attempt.error = f"HTTP {response.status_code}"
    except TargetRefused as error:
        attempt.error = str(error)
    except requests.RequestException as error:
        attempt.error = type(error).__name__
    return attempt


def _attempts_record(endpoint: WebhookEndpoint, attempts: list[Attempt]) -> None:
    """Record a batch's attempts: successes in one statement per response code, failures one by one
    (each with its own next attempt, or ``failed`` once past its give-up time)."""
    delivered: dict[int, list[int]] = {}
    with transaction.atomic():
        for attempt in attempts:
            delivery = attempt.delivery
            if attempt.ok:
                delivered.setdefault(attempt.response_code, []).append(delivery.pk)
                continue
            values = {"attempts": F("attempts") + 1, "last_attempt_at": attempt.at, "response_code": attempt.response_code,
                      "last_error": attempt.error[:300]}
            if attempt.at >= delivery.give_up_at:
                values["status"] = FAILED
            else:
                values["next_attempt_at"] = attempt.at + retry_delay(delivery.attempts + 1)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**values)
        if attempts:
            at = max(attempt.at for attempt in attempts)
            for code, ids in delivered.items():
                WebhookDelivery.objects.filter(pk__in=ids).update(
                    status=DELIVERED, attempts=F("attempts") + 1, last_attempt_at=at, delivered_at=at,
                    response_code=code, last_error="",
                )
        _endpoint_health_record(endpoint, attempts)


def _endpoint_health_record(endpoint: WebhookEndpoint, attempts: list[Attempt]) -> None:
    """An endpoint with no success for ``WEBHOOK_DISABLE_AFTER_SECONDS`` is disabled, with the reason."""
    if any(attempt.ok for attempt in attempts):
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        endpoint.failing_since = None
        return
    if not attempts:
        return
    now = max(attempt.at for attempt in attempts)
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    if now - endpoint.failing_since >= datetime.timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS):
        reason = _("Disabled on %(date)s: no delivery succeeded since %(since)s (last error: %(error)s).") % {
            "date": now.strftime("%Y-%m-%d %H:%M UTC"), "since": endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC"),
            "error": attempts[-1].error,
        }
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_at=now, disabled_reason=reason[:300])
        endpoint.enabled = False


def endpoint_drain(*, endpoint_id: int) -> dict:
    """Deliver everything due to one endpoint, batch after batch, until nothing is due or a
    delivery fails (the rest waits for the next round: a receiver that is down is not hammered)."""
    report = {"delivered": 0, "failed_attempts": 0, "busy": False}
    if not _lease_take(endpoint_id):
        report["busy"] = True
        return report
    try:
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        with ThreadPoolExecutor(max_workers=settings.WEBHOOK_CONCURRENCY) as pool:
            while endpoint.enabled:
                batch = due_heads(endpoint_id=endpoint_id, now=timezone.now(), limit=settings.WEBHOOK_BATCH_SIZE)
                if not batch:
                    break
                attempts = list(pool.map(lambda delivery: _attempt(endpoint, delivery), batch))
                _attempts_record(endpoint, attempts)
                report["delivered"] += sum(attempt.ok for attempt in attempts)
                report["failed_attempts"] += sum(not attempt.ok for attempt in attempts)
                if not all(attempt.ok for attempt in attempts) or not _lease_renew(endpoint_id):
                    break
    finally:
        _lease_release(endpoint_id)
    return report


def endpoints_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Enabled endpoints with a delivery due and no worker draining them: what the sweep wakes."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(endpoint_id=OuterRef("pk"), status=PENDING, next_attempt_at__lte=now)
    return list(
        WebhookEndpoint.objects.filter(enabled=True)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .filter(Exists(due))
        .values_list("pk", flat=True)
    )
