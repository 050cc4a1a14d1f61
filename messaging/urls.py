from django.urls import path

from .inbound import views as webhooks
from .public import views as public
from .views import staff

app_name = "messaging"
urlpatterns = [
    path("", staff.message_list, name="message_list"),
    path("new/", staff.message_create, name="message_create"),
    path("<int:pk>/", staff.message_detail, name="message_detail"),
    path("<int:pk>/edit/", staff.message_edit, name="message_edit"),
    path("<int:pk>/preview/", staff.message_preview, name="message_preview"),
    path("<int:pk>/send/", staff.message_send, name="message_send"),
    path("<int:pk>/delete/", staff.message_delete, name="message_delete"),
    path("<int:pk>/archive/", staff.message_archive, name="message_archive"),
    path("dispatches/<int:pk>/", staff.dispatch_detail, name="dispatch_detail"),
    path("dispatches/<int:pk>/cancel/", staff.deferred_cancel, name="deferred_cancel"),
    path("deferred/", staff.deferred_queue, name="deferred_queue"),
    path("outbox/", staff.outbox, name="outbox"),
    path("outbox/<int:pk>/", staff.outbox_detail, name="outbox_detail"),
    path("outbox/html/<str:token>/", staff.outbox_html, name="outbox_html"),
    # Public links (SPEC §4); served under /messaging/ until the site root includes them.
    path("p/<str:token>/", public.preferences, name="preferences"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    # Opt-outs reported by the providers (docs/public-page.md).
    path("webhooks/email/<slug:esp>/tracking/", webhooks.email_tracking, name="email_tracking_webhook"),
    path("webhooks/sms/twilio/", webhooks.twilio_sms, name="twilio_sms_webhook"),
]
