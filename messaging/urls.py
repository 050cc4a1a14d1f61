from django.urls import path

from .inbound import views as webhooks
from .public import views as public
from .views import pages, staff

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
    path("<int:pk>/test/", staff.message_test_send, name="message_test_send"),
    path("<int:pk>/schedule/", staff.schedule_create, name="schedule_create"),
    path("schedules/<int:pk>/edit/", staff.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/cancel/", staff.schedule_cancel, name="schedule_cancel"),
    path("dispatches/<int:pk>/", staff.dispatch_detail, name="dispatch_detail"),
    path("dispatches/<int:pk>/cancel/", staff.deferred_cancel, name="deferred_cancel"),
    path("deferred/", staff.deferred_queue, name="deferred_queue"),
    path("outbox/", staff.outbox, name="outbox"),
    path("costs/", staff.message_costs, name="message_costs"),
    path("<int:pk>/page-preview/", pages.message_page_preview, name="message_page_preview"),
    path("reasons/", pages.leaving_reasons, name="leaving_reasons"),
    path("pages/", pages.page_list, name="page_list"),
    path("pages/new/", pages.page_create, name="page_create"),
    path("pages/<int:pk>/", pages.page_detail, name="page_detail"),
    path("pages/<int:pk>/edit/", pages.page_edit, name="page_edit"),
    path("pages/<int:pk>/blocks/<str:language>/", pages.page_version_edit, name="page_version_edit"),
    path("pages/<int:pk>/brand/", pages.page_brand_edit, name="page_brand_edit"),
    path("pages/<int:pk>/publish/", pages.page_publish, name="page_publish"),
    path("pages/<int:pk>/delete/", pages.page_delete, name="page_delete"),
    path("pages/<int:pk>/preview/", pages.page_preview, name="page_preview"),
    path("outbox/<int:pk>/", staff.outbox_detail, name="outbox_detail"),
    path("outbox/html/<str:token>/", staff.outbox_html, name="outbox_html"),
    # Public links (SPEC §4); served under /messaging/ until the site root includes them.
    path("p/<str:token>/", public.preferences, name="preferences"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("page-style/<int:pk>.css", public.page_style, name="page_style"),
    path("page-logo/<int:pk>.png", public.page_logo, name="page_logo"),
    # Opt-outs reported by the providers (docs/public-page.md).
    path("webhooks/email/<slug:esp>/tracking/", webhooks.email_tracking, name="email_tracking_webhook"),
    path("webhooks/sms/twilio/", webhooks.twilio_sms, name="twilio_sms_webhook"),
]
