"""Staff pages of the CSV import: upload, mapping, dry-run report, progress, result (docs/import.md)."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from contacts.forms import ImportMappingForm, ImportUploadForm
from contacts.imports import csvfile
from contacts.imports.mapping import mapping_suggest
from contacts.imports.runner import ImportRefused, import_cancel, import_create, import_mapping_set, import_start
from contacts.models import ContactImport, ImportProblem
from contacts.spreadsheet import cell_neutralise

from .staff import staff_page

VIEW, ADD = "contacts.view_contactimport", "contacts.add_contactimport"
REPORT_SHOWN = 50


def _too_large(request: HttpRequest) -> bool:
    # Decided from the request's announced length, before Django reads the body.
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.IMPORT_MAX_BYTES + 64 * 1024


@require_http_methods(["GET", "POST"])
@staff_page(view=VIEW, change=ADD)
def import_list(request: HttpRequest) -> HttpResponse:
    form, refused = ImportUploadForm(), ""
    if request.method == "POST":
        if _too_large(request):
            refused = _("The file is larger than %(limit)s.") % {"limit": csvfile.size_limit_text()}
        else:
            form = ImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    contact_import = import_create(upload=form.cleaned_data["file"],
                                                   acting_user_name=request.user.get_username())
                except (csvfile.CsvRefused, ImportRefused) as error:
                    form.add_error("file", str(error))
                else:
                    return redirect("contacts:import_detail", pk=contact_import.pk)
    imports = ContactImport.objects.all()[:20]
    status = 400 if form.errors or refused else 200
    context = {"form": form, "imports": imports, "refused": refused}
    return render(request, "contacts/import_list.html", context, status=status)


def _report(contact_import: ContactImport, phase: str) -> dict:
    problems = contact_import.problems.filter(phase=phase)
    return {"problems": problems[:REPORT_SHOWN], "problem_count": problems.count(), "phase": phase}


@require_http_methods(["GET", "POST"])
@staff_page(view=VIEW, change=ADD)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact_import = get_object_or_404(ContactImport, pk=pk)
    form = None
    if contact_import.status in (ContactImport.Status.MAPPING, ContactImport.Status.CHECKED):
        form = ImportMappingForm(request.POST or None, header=contact_import.header,
                                 initial=mapping_suggest(contact_import.header) if contact_import.status == "mapping"
                                 else {"mapping": contact_import.mapping, "match_on": contact_import.match_on,
                                       "policy": contact_import.policy})
        if request.method == "POST" and form.is_valid():
            try:
                import_mapping_set(contact_import=contact_import, **form.mapping_arguments())
            except ImportRefused as error:
                form.add_error(None, str(error))
            else:
                return redirect("contacts:import_detail", pk=pk)
    elif request.method == "POST":
        messages.error(request, _("This import can no longer be mapped."))
        return redirect("contacts:import_detail", pk=pk)
    layout = csvfile.CsvLayout(contact_import.encoding, contact_import.delimiter, contact_import.header)
    try:
        preview = csvfile.preview_rows(Path(contact_import.stored_path), layout)
    except (OSError, csvfile.CsvRefused):
        preview = []
    context = {
        "contact_import": contact_import, "form": form, "preview": preview,
        "rows": _mapping_rows(contact_import, form, preview),
        "check": _report(contact_import, ImportProblem.Phase.CHECK),
        "result": _report(contact_import, ImportProblem.Phase.IMPORT),
    }
    return render(request, "contacts/import_detail.html", context, status=400 if form is not None and form.errors else 200)


def _mapping_rows(contact_import, form, preview) -> list[dict]:
    if form is None:
        return []
    return [{"name": name, "field": form[f"column_{index}"], "samples": [row[index] if index < len(row) else ""
                                                                            for row in preview]}
            for index, name in enumerate(contact_import.header)]


@require_http_methods(["GET"])
@staff_page(view=VIEW)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx while the import runs; the full page once it ends."""
    contact_import = get_object_or_404(ContactImport, pk=pk)
    response = render(request, "contacts/import_detail.html#progress", {"contact_import": contact_import})
    if not contact_import.running and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@staff_page(view=VIEW, change=ADD)
def import_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact_import = get_object_or_404(ContactImport, pk=pk)
    try:
        import_start(contact_import=contact_import)
    except ImportRefused as error:
        messages.error(request, str(error))
    return redirect("contacts:import_detail", pk=pk)


@require_POST
@staff_page(view=VIEW, change=ADD)
def import_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact_import = get_object_or_404(ContactImport, pk=pk)
    try:
        import_cancel(contact_import=contact_import)
    except ImportRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The import is cancelled (rows already written stay, with their history)."))
    return redirect("contacts:import_detail", pk=pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_http_methods(["GET"])
@staff_page(view=VIEW)
def import_report(request: HttpRequest, pk: int, phase: str) -> HttpResponse:
    """The report as CSV: line, column, value, reason (cells that look like formulas neutralised)."""
    contact_import = get_object_or_404(ContactImport, pk=pk)
    if phase not in ImportProblem.Phase.values:
        return HttpResponse(_("Unknown report."), status=404, content_type="text/plain")
    writer = csv.writer(_Echo())
    problems = contact_import.problems.filter(phase=phase).values_list("line", "column", "value", "reason", "kind")

    def lines():
        yield writer.writerow(["line", "column", "value", "reason", "kind"])
        for line, column, value, reason, kind in problems.iterator(chunk_size=5000):
            yield writer.writerow([line, cell_neutralise(column), cell_neutralise(value), cell_neutralise(reason), kind])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{contact_import.pk}-{phase}-report.csv"'
    return response
