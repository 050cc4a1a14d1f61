"""Staff pages for custom field definitions: list, create, edit, delete (Editors and admins).

The form parses; ``contacts.services.field_definitions`` writes, refuses what would corrupt
contacts' values, and audits.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from contacts import selectors
from contacts.field_forms import ContactFieldForm
from contacts.models import ContactField
from contacts.selectors.fields import contact_fields_with_holders
from contacts.services.errors import FieldChangeRefused
from contacts.services.field_definitions import (
    SUBJECT_TYPE,
    field_definition_create,
    field_definition_delete,
    field_definition_update,
    field_holders_count,
)

from .staff import staff_page


@require_http_methods(["GET"])
@staff_page(view="contacts.view_contactfield")
def field_list(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/field_list.html", {"fields": contact_fields_with_holders()})


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.add_contactfield", change="contacts.add_contactfield")
def field_create(request: HttpRequest) -> HttpResponse:
    form = ContactFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        field = field_definition_create(acting_user=request.user, **form.definition_values())
        messages.success(request, _("Field %(name)s created.") % {"name": field})
        return redirect("contacts:field_list")
    return render(request, "contacts/field_form.html", {"form": form, "creating": True})


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.change_contactfield", change="contacts.change_contactfield")
def field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(ContactField, pk=pk)
    form = ContactFieldForm(request.POST or None, instance=ContactField.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        values = form.definition_values()
        values.pop("key", None)
        try:
            field_definition_update(field=field, acting_user=request.user, **values)
        except FieldChangeRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("Field %(name)s saved.") % {"name": values.get("label") or field})
            return redirect("contacts:field_list")
    context = {
        "form": form, "field": field, "creating": False, "holders": field_holders_count(field),
        "staff_history": selectors.staff_changes(subject_types=(SUBJECT_TYPE,), subject_id=field.pk),
    }
    return render(request, "contacts/field_form.html", context)


@require_http_methods(["GET", "POST"])
@staff_page(view="contacts.delete_contactfield", change="contacts.delete_contactfield")
def field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(ContactField, pk=pk)
    if request.method == "POST":
        removed = field_definition_delete(field=field, acting_user=request.user)
        messages.success(request, _("Field %(name)s deleted with %(count)d contacts' values.") % {
            "name": field, "count": removed})
        return redirect("contacts:field_list")
    return render(request, "contacts/field_confirm_delete.html", {"field": field, "holders": field_holders_count(field)})
