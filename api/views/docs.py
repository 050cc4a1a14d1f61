"""Swagger UI from the installed sidecar package, started by a static script (no inline script: the CSP holds)."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET


@require_GET
def swagger_ui(request):
    return render(request, "api/swagger_ui.html", {"schema_url": reverse("api:schema")})
