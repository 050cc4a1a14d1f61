"""Reads for the webhook pages: a constant number of queries per page."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

LOG_PAGE = 50


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    """Endpoints with their pending and failed delivery counts."""
    return WebhookEndpoint.objects.annotate(
        pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    )


def delivery_log(*, endpoint: WebhookEndpoint, status: str = "", before: int | None = None) -> list[WebhookDelivery]:
    """The newest deliveries of an endpoint (one page, newest event first), optionally of one status."""
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-event_id")
    if status:
        rows = rows.filter(status=status)
    if before:
        rows = rows.filter(event_id__lt=before)
    return list(rows[:LOG_PAGE])
