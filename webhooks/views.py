"""Staff pages of the outbound webhooks: endpoints (admins register them), the delivery log with
response codes, and "resend". Writes go through ``webhooks.services`` (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from contacts.selectors import staff_changes
from contacts.views.staff import staff_page
from webhooks import selectors, services
from webhooks.forms import DeliveryFilterForm, EndpointForm
from webhooks.models import WebhookDelivery, WebhookEndpoint

SECTION = {"section": "webhooks"}


@require_http_methods(["GET"])
@staff_page(view="webhooks.view_webhookendpoint")
def endpoint_list(request: HttpRequest) -> HttpResponse:
    return render(request, "webhooks/endpoint_list.html", {"endpoints": selectors.endpoint_list(), **SECTION})


@require_http_methods(["GET", "POST"])
@staff_page(view="webhooks.add_webhookendpoint", change="webhooks.add_webhookendpoint")
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = services.endpoint_create(acting_user=request.user, **form.cleaned_data)
        messages.success(request, _("Endpoint %(name)s created. Give its secret to the receiver.") % {"name": endpoint})
        return redirect("webhooks:endpoint_detail", endpoint.pk)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "creating": True, **SECTION})


@require_http_methods(["GET", "POST"])
@staff_page(view="webhooks.change_webhookendpoint", change="webhooks.change_webhookendpoint")
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        services.endpoint_update(endpoint=endpoint, acting_user=request.user, **form.cleaned_data)
        messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint})
        return redirect("webhooks:endpoint_detail", endpoint.pk)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "creating": False, **SECTION})


@require_http_methods(["GET"])
@staff_page(view="webhooks.view_webhookendpoint")
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    filters = DeliveryFilterForm(request.GET)
    values = filters.cleaned_data if filters.is_valid() else {}
    deliveries = selectors.delivery_log(endpoint=endpoint, status=values.get("status") or "", before=values.get("before"))
    context = {
        "endpoint": endpoint, "deliveries": deliveries, "filters": filters,
        "next_before": deliveries[-1].event_id if len(deliveries) == selectors.LOG_PAGE else None,
        "staff_history": staff_changes(subject_types=(services.SUBJECT,), subject_id=endpoint.pk), **SECTION,
    }
    return render(request, "webhooks/endpoint_detail.html", context)


@require_POST
@staff_page(view="webhooks.change_webhookendpoint", change="webhooks.change_webhookendpoint")
def endpoint_secret_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.endpoint_secret_rotate(endpoint=endpoint, acting_user=request.user)
    messages.success(request, _("A new secret is in use from the next delivery: give it to the receiver."))
    return redirect("webhooks:endpoint_detail", endpoint.pk)


@require_POST
@staff_page(view="webhooks.change_webhookendpoint", change="webhooks.change_webhookendpoint")
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    services.delivery_resend(delivery=delivery, acting_user=request.user)
    messages.success(request, _("Event %(id)s will be delivered again.") % {"id": delivery.event.message_id})
    return redirect("webhooks:endpoint_detail", delivery.endpoint_id)
