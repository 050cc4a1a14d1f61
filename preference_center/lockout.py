"""The page a locked-out staff login gets (django-axes ``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off, get_failure_limit
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
