"""API keys in the staff UI: admins list, create (the key is shown once) and revoke them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from contacts.selectors import staff_changes
from contacts.views.staff import staff_page

from ..forms import ApiKeyForm
from ..models import ApiKey
from ..services import ApiKeyInvalid, api_key_create, api_key_revoke


@require_http_methods(["GET", "POST"])
@staff_page(view="api.view_apikey", change="api.add_apikey")
def api_key_list_page(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_key_create(acting_user=request.user, **form.cleaned_data)
        except ApiKeyInvalid as invalid:
            for field, errors in invalid.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            form = ApiKeyForm()
    context = {
        "form": form,
        "issued": issued,
        "keys": ApiKey.objects.all(),
        "staff_history": staff_changes(subject_types=("api_key",)),
    }
    response = render(request, "api/api_keys.html", context)
    if issued:
        response["Cache-Control"] = "no-store"  # the key is on this page only, once
    return response


@require_POST
@staff_page(view="api.view_apikey", change="api.change_apikey")
def api_key_revoke_page(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = api_key_revoke(acting_user=request.user, api_key=get_object_or_404(ApiKey, pk=pk))
    messages.success(request, _("Key %(name)s revoked.") % {"name": api_key.name})
    return redirect("api_keys:list")

