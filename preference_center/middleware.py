"""Request guards that belong to no app."""

from __future__ import annotations

import zoneinfo

from django.contrib.admin.options import TO_FIELD_VAR
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone

from contacts.services.staff_preferences import STAFF_TIME_ZONE_SESSION_KEY


def admin_empty_to_field_refused(get_response):
    """An empty ``_to_field`` is refused with 400: Django's admin change page looks up a field
    named "" for it and answers 500 (a non-empty unknown one it already refuses with 400)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.GET.get(TO_FIELD_VAR) == "" or (
            request.method == "POST" and request.path.startswith("/admin/") and request.POST.get(TO_FIELD_VAR) == ""
        ):
            return HttpResponseBadRequest("The _to_field parameter is empty.", content_type="text/plain")
        return get_response(request)

    return middleware


def nul_in_headers_refused(get_response):
    """A request header holding a NUL character is refused with 400, as gunicorn does: behind any
    other server it would reach the log-in lockout's records or a history row's user agent, which
    PostgreSQL cannot store."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if any("\x00" in value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str)):
            return HttpResponseBadRequest("A request header holds a NUL character.", content_type="text/plain")
        return get_response(request)

    return middleware



def staff_time_zone(get_response):
    """Pages show times in the staff user's own zone (their setting, copied into the session at log-in
    and on change, so no query per request); without one, the server's ``TIME_ZONE``."""

    def middleware(request: HttpRequest) -> HttpResponse:
        zone = getattr(request, "session", {}).get(STAFF_TIME_ZONE_SESSION_KEY)
        try:
            if zone:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            else:
                timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware
