"""Staff pages for preference pages: list, create, edit a language's blocks, publish, delete, and
preview as a real contact (from the page and from a message)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contacts import selectors as contacts_selectors
from contacts.models import Channel
from contacts.views.staff import staff_page

from .. import services
from ..forms import BlockFormSet, LeavingReasonForm, NewLeavingReasonForm, PageBrandForm, PreferencePageForm, PreviewForm, block_initial
from ..models import LeavingReasonChoice, Message, PreferencePage, Send
from ..public.render import preview_page
from ..services.pages import language_name, page_problems
from .staff import _find_contact


@staff_page(view="messaging.view_preferencepage")
def page_list(request: HttpRequest) -> HttpResponse:
    pages = PreferencePage.objects.annotate(message_count=Count("messages"))
    return render(request, "messaging/page_list.html", {"pages": pages})


@staff_page(view="messaging.view_preferencepage", change="messaging.add_preferencepage")
def page_create(request: HttpRequest) -> HttpResponse:
    form = PreferencePageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        page = services.page_create(acting_user=request.user, **form.cleaned_data)
        flash.success(request, _("Page created. Add its blocks, then publish it."))
        return redirect(page)
    return render(request, "messaging/page_form.html", {"form": form, "page": None})


@staff_page(view="messaging.view_preferencepage", change="messaging.change_preferencepage")
def page_edit(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    form = PreferencePageForm(request.POST or None, instance=PreferencePage(pk=page.pk, name=page.name,
                                                                           default_language=page.default_language))
    if request.method == "POST" and form.is_valid():
        try:
            services.page_update(page=page, acting_user=request.user, values=form.cleaned_data)
        except services.PageCannotPublish as refused:
            for problem in refused.problems:
                form.add_error(None, problem)
        else:
            flash.success(request, _("Page saved."))
            return redirect(page)
    return render(request, "messaging/page_form.html", {"form": form, "page": page})


@staff_page(view="messaging.view_preferencepage")
def page_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    versions = {version.language: version.blocks for version in page.versions.all()}
    context = {
        "page": page,
        "languages": [(code, name, versions.get(code)) for code, name in settings.LANGUAGES],
        "problems": page_problems(page, versions),
        "messages_using": page.messages.order_by("name"),
        "preview_form": PreviewForm(),
        "staff_history": contacts_selectors.staff_changes(subject_types=("preference_page",), subject_id=page.pk),
    }
    return render(request, "messaging/page_detail.html", context)


@staff_page(view="messaging.view_preferencepage", change="messaging.change_preferencepage")
def page_version_edit(request: HttpRequest, pk: int, language: str) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    if language not in dict(settings.LANGUAGES):
        raise Http404
    version = page.versions.filter(language=language).first()
    blocks = BlockFormSet(request.POST or None, initial=block_initial(version.blocks if version else []), prefix="blocks")
    problems: list[str] = []
    if request.method == "POST" and blocks.is_valid():
        try:
            services.page_version_save(page=page, acting_user=request.user, language=language, blocks=blocks.blocks())
        except ValidationError as invalid:
            problems = invalid.messages
        except services.PageCannotPublish as refused:
            problems = refused.problems
        else:
            flash.success(request, _("Blocks saved."))
            return redirect(page)
    context = {"page": page, "language": language, "language_name": language_name(language), "blocks": blocks,
               "problems": problems}
    return render(request, "messaging/page_version.html", context)


@staff_page(view="messaging.view_preferencepage", change="messaging.change_preferencepage")
def page_brand_edit(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    initial = {"brand_background": page.brand_background, "brand_text": page.brand_text, "footer_text": page.footer_text}
    form = PageBrandForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.page_brand_update(
                page=page, acting_user=request.user, background=data["brand_background"], text=data["brand_text"],
                footer_text=data["footer_text"], logo=data["logo"], remove_logo=data["remove_logo"],
            )
        except ValidationError as invalid:
            form.add_error(None, invalid)
        else:
            flash.success(request, _("Branding saved."))
            return redirect(page)
    return render(request, "messaging/page_brand.html", {"page": page, "form": form})


@require_POST
@staff_page(view="messaging.view_preferencepage", change="messaging.change_preferencepage")
def page_publish(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    try:
        services.page_publish(page=page, acting_user=request.user)
    except services.PageCannotPublish as refused:
        flash.error(request, _("The page cannot be published: %(problems)s") % {"problems": " ".join(refused.problems)})
    else:
        flash.success(request, _("Page published: messages can now choose it."))
    return redirect(page)


@staff_page(view="messaging.view_preferencepage", change="messaging.delete_preferencepage")
def page_delete(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    if request.method == "POST":
        try:
            services.page_delete(page=page, acting_user=request.user)
        except services.PageInUse as refused:
            flash.error(request, str(refused))
            return redirect(page)
        flash.success(request, _("Page %(name)s deleted.") % {"name": page.name})
        return redirect("messaging:page_list")
    return render(request, "messaging/page_delete.html", {"page": page, "messages_using": page.messages.order_by("name")})


def _preview(request: HttpRequest, message: Message, back: str) -> HttpResponse:
    """The contact's page for ``message`` as the contact named in ``?contact=`` would see it now:
    nothing is written (a send that is never saved), no button works, no link names a send."""
    form = PreviewForm(request.GET or None)
    contact = _find_contact(form.cleaned_data["contact"]) if form.is_valid() else None
    if contact is None:
        flash.error(request, _("No contact with this id or email."))
        return redirect(back)
    versions = message.versions.select_related("channel") if message.pk else ()
    channels = [version.channel for version in versions] or list(Channel.objects.all())
    channel = next((c for c in channels if contact.address_for(c)), channels[0])
    send = Send(message=message, contact=contact, channel=channel)
    send.switches = message.page_switches()
    return preview_page(request, send)


@require_GET
@staff_page(view="messaging.view_preferencepage")
def page_preview(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(PreferencePage, pk=pk)
    # An unsaved message that chose this page: the page as any message's link would show it.
    return _preview(request, Message(name=page.name, preference_page=page), page.get_absolute_url())


@require_GET
@staff_page(view="messaging.view_message")
def message_page_preview(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message, pk=pk)
    return _preview(request, message, message.get_absolute_url())


# --- The reasons for leaving a contact is offered -------------------------------------------------


@staff_page(view="messaging.view_leavingreasonchoice", change="messaging.change_leavingreasonchoice")
def leaving_reasons(request: HttpRequest) -> HttpResponse:
    """The choices in staff's order, each row editable (both languages, order, offered), with one
    empty row to add a choice; the whole list is saved at once, all or nothing."""
    data = request.POST or None
    # An aggregate drops the model's ordering: staff's order is asked for again.
    choices = list(LeavingReasonChoice.objects.annotate(answer_count=Count("answers")).order_by("position", "id"))
    rows = [(choice, LeavingReasonForm(data, instance=LeavingReasonChoice(
        pk=choice.pk, label=choice.label, label_fr=choice.label_fr, position=choice.position, active=choice.active),
        prefix=f"r{choice.pk}")) for choice in choices]
    new = NewLeavingReasonForm(data, prefix="new", initial={"position": max((c.position for c in choices), default=0) + 10})
    if request.method == "POST" and all(form.is_valid() for _choice, form in rows) and new.is_valid():
        if not new.is_blank() and not request.user.has_perm("messaging.add_leavingreasonchoice"):
            raise PermissionDenied
        added = None if new.is_blank() else {**new.cleaned_data, "position": new.cleaned_data["position"] or 0}
        changed = services.leaving_reasons_save(
            acting_user=request.user, updates=[(choice, form.cleaned_data) for choice, form in rows], new=added
        )
        flash.success(request, _("Reasons saved.") if changed else _("Nothing changed."))
        return redirect("messaging:leaving_reasons")
    context = {
        "rows": rows, "new": new, "section": "reasons",
        "staff_history": contacts_selectors.staff_changes(subject_types=("leaving_reason",)),
    }
    return render(request, "messaging/leaving_reasons_edit.html", context)
