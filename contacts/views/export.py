"""CSV export of the contacts list (as filtered) and of a segment's members.

Without ``columns`` the page asks which columns to export; with them, the file is streamed
(``StreamingHttpResponse``) and a staff audit row records who exported what.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from contacts import selectors
from contacts.selectors.export import DEFAULT_COLUMNS, csv_chunks, export_columns, export_rows
from contacts.services.export import contacts_export_record

from .staff import contacts_filtered, staff_page

# The list's own parameters, carried through the export form unchanged.
FILTER_KEYS = ("q", "segment", "category", "category_status", "dnc_channel", "dnc_reason", "paused", "has_cap",
               "sort", "ff", "fo", "fv", "fv2")


class ExportForm(forms.Form):
    columns = forms.MultipleChoiceField(
        label=gettext_lazy("Columns"), widget=forms.CheckboxSelectMultiple, required=True,
        error_messages={"required": gettext_lazy("Choose at least one column.")},
    )

    def __init__(self, *args, columns, **kwargs):
        super().__init__(*args, **kwargs)
        self.available = {column.header: column for column in columns}
        self.fields["columns"].choices = [(column.header, f"{column.label} ({column.header})") for column in columns]
        self.fields["columns"].initial = [
            c.header for c in columns if c.header in DEFAULT_COLUMNS or c.source == "channel"]

    def chosen(self):
        return [self.available[header] for header in self.cleaned_data["columns"]]


def _export(request: HttpRequest, *, contacts, what: str, filters: dict, segment=None) -> HttpResponse:
    form = ExportForm(request.GET if "columns" in request.GET else None, columns=export_columns())
    if not form.is_bound or not form.is_valid():
        carried = [(key, value) for key in FILTER_KEYS for value in request.GET.getlist(key)]
        return render(request, "contacts/contact_export.html",
                      {"form": form, "carried": carried, "what": what, "segment": segment})
    columns = form.chosen()
    contacts_export_record(acting_user=request.user, what=what, filters=filters,
                           columns=[column.header for column in columns], segment=segment)
    name = f"contacts-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_chunks(export_rows(contacts, columns)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET"])
@staff_page(view="contacts.view_contact")
def contact_export(request: HttpRequest) -> HttpResponse:
    """The contacts list as filtered (the same filters, through ``contacts_filtered``)."""
    form, field_form, contacts = contacts_filtered(request.GET)
    filters = {key: value for key, value in request.GET.items() if key in FILTER_KEYS and value and key != "sort"}
    return _export(request, contacts=contacts, what=_("Contacts list"), filters=filters)


@require_http_methods(["GET"])
@staff_page(view="contacts.view_contact")
def segment_export(request: HttpRequest, pk: int) -> HttpResponse:
    """A segment's current members (not those who left)."""
    segment = get_object_or_404(selectors.segment_list(), pk=pk)
    return _export(request, contacts=selectors.segment_members(segment=segment),
                   what=_("Members of %(segment)s") % {"segment": segment.name}, filters={}, segment=segment)
