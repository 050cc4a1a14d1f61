"""The page a locked-out staff login gets (django-axes ``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    # 429, not 403: the refusal is about the rate of attempts, and it ends on its own.
    return render(request, "registration/locked_out.html", context, status=429)


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The user name django-axes counts failures under: as typed, cut to the 255 characters its
    records hold (a longer one made the login a 500). No account name is longer than 150, so a cut
    name names no account and locks none."""
    field = settings.AXES_USERNAME_FORM_FIELD
    name = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return name[:255] if isinstance(name, str) else name
